package io.havm.coordination;

import io.havm.model.InvalidInputException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.security.sasl.SaslException;
import org.apache.zookeeper.server.DatadirCleanupManager;
import org.apache.zookeeper.server.ServerConfig;
import org.apache.zookeeper.server.ZooKeeperServer;
import org.apache.zookeeper.server.ZooKeeperServerMain;
import org.apache.zookeeper.server.quorum.QuorumPeer;
import org.apache.zookeeper.server.quorum.QuorumPeerConfig;
import org.apache.zookeeper.server.quorum.QuorumPeerMain;

/**
 * A real ZooKeeper server in this JVM: standalone, or one peer of an ensemble (see
 * {@link EmbeddedEnsemble} for three peers in one JVM). Used by {@code havm zookeeper} (a member of
 * a production ensemble, configured from the bootstrap file), by {@code havm lab up} (bound on the
 * lab bridge, through {@link #main}), and by tests.
 *
 * <p>Why ZooKeeper's own entry points ({@link ZooKeeperServerMain}, {@link QuorumPeerMain}) and not
 * a hand-built {@code ZooKeeperServer}: the server then runs exactly as {@code zkServer.sh} would
 * run it (metrics, container cleanup, session restore from the data dir), and a stopped server
 * restarted on the same data dir revives the sessions it had — which is what lets tests show
 * SUSPENDED → RECONNECTED.
 *
 * <p>The Jetty admin server is switched off ({@code zookeeper.admin.enableServer=false}): Jetty is
 * not on our classpath, and havm has no use for it.
 */
public final class EmbeddedZooKeeper implements AutoCloseable {

    /** One server of an ensemble: its id and its three ports, all on {@code host}. */
    public record Peer(int id, String host, int clientPort, int quorumPort, int electionPort) {
        public String connectString() {
            return host + ":" + clientPort;
        }
    }

    /**
     * Server timing. The server accepts session timeouts between {@code minSessionTimeoutMs} and
     * {@code maxSessionTimeoutMs}; -1 means ZooKeeper's defaults of 2 and 20 ticks.
     */
    public record Settings(int tickTimeMs, int minSessionTimeoutMs, int maxSessionTimeoutMs) {
        /** ZooKeeper's own defaults: 2 s tick, sessions of 4 to 40 s. */
        public static final Settings DEFAULT = new Settings(2000, -1, -1);

        /** A fast server for tests: 200 ms tick, sessions of 0.4 to 4 s. */
        public static final Settings FAST = new Settings(200, -1, -1);

        public Settings {
            if (tickTimeMs <= 0) {
                throw new InvalidInputException("ZooKeeper tick time", tickTimeMs + " ms: must be > 0");
            }
        }
    }

    /** What a server does, as far as its clients are concerned. */
    public enum Role {
        /** A single server: it serves as soon as it has started, with no quorum to keep. */
        STANDALONE,
        /** A peer elected leader, serving: a majority of the ensemble has synchronised with it. */
        LEADER,
        /** A peer serving in a quorum led by another peer. */
        FOLLOWER,
        /** A peer not serving: it has no quorum (at start, or after losing its leader or followers). */
        ELECTING
    }

    /**
     * A change of what the server does.
     *
     * @param leaderId the leader's id when {@code role} is LEADER or FOLLOWER, else 0
     */
    public record State(Role role, long leaderId) {}

    private static final long START_WAIT_MS = 30_000;
    private static final long STOP_WAIT_MS = 30_000;

    private final String host;
    private final int clientPort;
    private final Path dataDir;
    private final Settings settings;
    private final int myId; // 0: standalone
    private final List<Peer> peers;

    private Thread thread; // guarded by this
    private Standalone standalone; // guarded by this
    private Quorum quorum; // guarded by this
    private DatadirCleanupManager purge; // guarded by this
    private volatile Throwable failure;
    private volatile Consumer<State> stateListener;
    /** Delivers {@link State}s; never locked on from ZooKeeper's threads, which stop() joins holding this. */
    private volatile ExecutorService stateEvents;
    /** The last state delivered; touched by the {@link #stateEvents} thread only. */
    private State delivered;

    private EmbeddedZooKeeper(String host, int clientPort, Path dataDir, Settings settings, int myId, List<Peer> peers) {
        this.host = host;
        this.clientPort = clientPort;
        this.dataDir = dataDir;
        this.settings = settings;
        this.myId = myId;
        this.peers = List.copyOf(peers);
    }

    /** A standalone server on {@code bindAddress:port}, keeping its data in {@code dataDir}. */
    public static EmbeddedZooKeeper standalone(String bindAddress, int port, Path dataDir, Settings settings) {
        checkPort("ZooKeeper client port", port);
        return new EmbeddedZooKeeper(bindAddress, port, dataDir, settings, 0, List.of());
    }

    /** Peer {@code myId} of {@code ensemble} (which lists every peer, this one included). */
    public static EmbeddedZooKeeper peer(int myId, List<Peer> ensemble, Path dataDir, Settings settings) {
        Peer me = ensemble.stream().filter(p -> p.id() == myId).findFirst()
                .orElseThrow(() -> new InvalidInputException("ZooKeeper peer id " + myId, "not among the ensemble's ids "
                        + ensemble.stream().map(Peer::id).toList()));
        for (Peer p : ensemble) {
            if (p.id() < 1 || p.id() > 255) {
                throw new InvalidInputException("ZooKeeper peer id " + p.id(), "must be 1..255");
            }
            checkPort("client port of peer " + p.id(), p.clientPort());
            checkPort("quorum port of peer " + p.id(), p.quorumPort());
            checkPort("election port of peer " + p.id(), p.electionPort());
        }
        return new EmbeddedZooKeeper(me.host(), me.clientPort(), dataDir, settings, myId, ensemble);
    }

    /** {@code host:port} of this server's client port. */
    public String connectString() {
        return host + ":" + clientPort;
    }

    public int port() {
        return clientPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    /**
     * Starts the server. A standalone server is serving when this returns; a peer has started and
     * serves once the ensemble has a quorum and a leader ({@link #awaitServing}). Starting again
     * after {@link #stop} reuses the data dir, and with it the sessions that have not expired.
     *
     * @throws CoordinationException if the server fails to start (port taken, bad data dir, …)
     */
    public synchronized EmbeddedZooKeeper start() {
        if (thread != null) {
            return this;
        }
        serverDefaults();
        failure = null;
        CountDownLatch settled = new CountDownLatch(1);
        ServerConfig standaloneConfig;
        QuorumPeerConfig peerConfig;
        try {
            Files.createDirectories(dataDir);
            QuorumPeerConfig parsed = new QuorumPeerConfig();
            parsed.parseProperties(properties());
            if (myId == 0) {
                standaloneConfig = new ServerConfig();
                standaloneConfig.readFrom(parsed);
                peerConfig = null;
            } else {
                standaloneConfig = null;
                peerConfig = parsed;
            }
            // runFromConfig, unlike ZooKeeper's own main, does not purge: start it as that main does
            purge = new DatadirCleanupManager(parsed.getDataDir(), parsed.getDataLogDir(), parsed.getSnapRetainCount(),
                    parsed.getPurgeInterval());
            purge.start();
        } catch (IOException | QuorumPeerConfig.ConfigException e) {
            throw new CoordinationException("ZooKeeper " + describe() + ": bad configuration: " + e.getMessage(), e);
        }
        Runnable body;
        if (standaloneConfig != null) {
            Standalone s = new Standalone(settled, this::changed);
            standalone = s;
            body = () -> {
                try {
                    s.runFromConfig(standaloneConfig);
                } catch (Throwable t) {
                    failure = t;
                }
            };
        } else {
            Quorum q = new Quorum(settled, this::changed);
            quorum = q;
            body = () -> {
                try {
                    q.runFromConfig(peerConfig);
                } catch (Throwable t) {
                    failure = t;
                }
            };
        }
        Thread t = new Thread(() -> {
            try {
                body.run();
            } finally {
                settled.countDown();
            }
        }, "zookeeper-" + (myId == 0 ? "standalone" : "peer" + myId) + "-" + clientPort);
        t.setDaemon(true);
        thread = t;
        t.start();
        try {
            if (!settled.await(START_WAIT_MS, TimeUnit.MILLISECONDS)) {
                throw new CoordinationException("ZooKeeper " + describe() + " did not start within " + START_WAIT_MS + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CoordinationException("interrupted while starting ZooKeeper " + describe(), e);
        }
        if (!t.isAlive() || failure != null) {
            Throwable f = failure;
            stop();
            throw new CoordinationException("ZooKeeper " + describe() + " failed to start: " + f, f);
        }
        return this;
    }

    /**
     * Stops the server (idempotent): its clients are disconnected at once; data and sessions stay
     * in the data dir for the next {@link #start}.
     */
    public synchronized void stop() {
        Thread t = thread;
        if (t == null) {
            return;
        }
        try {
            if (standalone != null) {
                // Not ZooKeeperServerMain.close(): it joins the connection threads and hangs for
                // good if the server thread already died. shutdown() closes the connections, which
                // also ends runFromConfig's wait, whatever state the server is in.
                standalone.halt();
            }
            if (quorum != null) {
                quorum.close();
            }
            t.join(STOP_WAIT_MS);
            if (t.isAlive()) {
                throw new CoordinationException("ZooKeeper " + describe() + " did not stop within " + STOP_WAIT_MS + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CoordinationException("interrupted while stopping ZooKeeper " + describe(), e);
        } finally {
            if (!t.isAlive()) {
                thread = null;
                standalone = null;
                quorum = null;
                if (purge != null) {
                    purge.shutdown();
                    purge = null;
                }
                changed(null); // a restarted server reports its first state again
            }
        }
    }

    @Override
    public void close() {
        stop();
        ExecutorService e = stateEvents;
        if (e != null) {
            e.shutdown();
        }
    }

    /**
     * Tells {@code listener} every change of the server's {@link State}, in order, on a thread of
     * its own (never ZooKeeper's: a slow listener must not stall the quorum). Set before
     * {@link #start}. A peer reports LEADER or FOLLOWER once it serves (ZooKeeper's BROADCAST
     * phase: synchronised with a quorum), and ELECTING whenever it stops serving (ZooKeeper's
     * ELECTION); it starts not serving without a report. A state repeated by ZooKeeper (an election
     * that fails to sync and starts over) is told once. {@link #close} ends the reports.
     */
    public synchronized EmbeddedZooKeeper onStateChange(Consumer<State> listener) {
        if (stateEvents == null) {
            stateEvents = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "zookeeper-state-" + clientPort);
                t.setDaemon(true);
                return t;
            });
        }
        this.stateListener = listener;
        return this;
    }

    /**
     * Waits until the server ends — after {@link #stop}, or because it died — and returns what
     * killed it, if anything did (null: it stopped, or ended without an error of its own).
     */
    public Throwable awaitEnd() throws InterruptedException {
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            t.join();
        }
        return failure;
    }

    /** From ZooKeeper's threads: hand the change over, never call out from there. */
    private void changed(State s) {
        ExecutorService e = stateEvents;
        Consumer<State> l = stateListener;
        if (e != null && l != null) {
            try {
                e.execute(() -> {
                    // ZooKeeper repeats a phase (an election that failed to sync starts over): one line each
                    if (s == null || !s.equals(delivered)) {
                        delivered = s;
                        if (s != null) {
                            l.accept(s);
                        }
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                // closed: nobody listens any more
            }
        }
    }

    /** True while the server answers clients (a peer: only while it is in a quorum). */
    public synchronized boolean isServing() {
        if (thread == null || !thread.isAlive()) {
            return false;
        }
        if (standalone != null) {
            return standalone.serving;
        }
        QuorumPeer p = quorum.peer;
        if (p == null || !p.isRunning()) {
            return false;
        }
        ZooKeeperServer active = p.getActiveServer();
        return active != null && active.isRunning()
                && (p.getPeerState() == QuorumPeer.ServerState.LEADING || p.getPeerState() == QuorumPeer.ServerState.FOLLOWING);
    }

    /**
     * Asks a ZooKeeper server (any, also one in another process) whether it serves, with the
     * {@code srvr} four-letter word, which every ZooKeeper allows.
     */
    public static boolean answers(String host, int port, Duration timeout) {
        try (Socket s = new Socket()) {
            int ms = Math.toIntExact(timeout.toMillis());
            s.connect(new InetSocketAddress(host, port), ms);
            s.setSoTimeout(ms);
            OutputStream out = s.getOutputStream();
            out.write("srvr".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String reply = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return reply.contains("Mode: ");
        } catch (IOException e) {
            return false;
        }
    }

    private Properties properties() throws IOException {
        Properties p = new Properties();
        p.setProperty("dataDir", dataDir.toAbsolutePath().toString());
        p.setProperty("clientPort", Integer.toString(clientPort));
        p.setProperty("clientPortAddress", host);
        p.setProperty("tickTime", Integer.toString(settings.tickTimeMs()));
        p.setProperty("minSessionTimeout", Integer.toString(settings.minSessionTimeoutMs()));
        p.setProperty("maxSessionTimeout", Integer.toString(settings.maxSessionTimeoutMs()));
        // ZooKeeper keeps every snapshot and transaction log unless told otherwise: a server that
        // runs for months (havm zookeeper as a service) would fill its disk. Keep the last three.
        p.setProperty("autopurge.snapRetainCount", "3");
        p.setProperty("autopurge.purgeInterval", "1"); // hours
        if (myId != 0) {
            p.setProperty("initLimit", "10");
            p.setProperty("syncLimit", "5");
            for (Peer peer : peers) {
                String h = peer.host().contains(":") ? "[" + peer.host() + "]" : peer.host(); // IPv6
                p.setProperty("server." + peer.id(), h + ":" + peer.quorumPort() + ":" + peer.electionPort());
            }
            Files.writeString(dataDir.resolve("myid"), Integer.toString(myId) + "\n");
        }
        return p;
    }

    private String describe() {
        return (myId == 0 ? "standalone" : "peer " + myId) + " on " + connectString() + " (data " + dataDir + ")";
    }

    private static void checkPort(String what, int port) {
        if (port < 1 || port > 65535) {
            throw new InvalidInputException(what, port + " is not a TCP port (1..65535)");
        }
    }

    /** ZooKeeper reads this from a system property only; set unless the operator set it. */
    private static void serverDefaults() {
        if (System.getProperty("zookeeper.admin.enableServer") == null) {
            System.setProperty("zookeeper.admin.enableServer", "false");
        }
    }

    /** ZooKeeperServerMain that says when it serves. */
    private static final class Standalone extends ZooKeeperServerMain {
        private final CountDownLatch settled;
        private final Consumer<State> changes;
        volatile boolean serving;

        Standalone(CountDownLatch settled, Consumer<State> changes) {
            this.settled = settled;
            this.changes = changes;
        }

        @Override
        protected void serverStarted() {
            serving = true;
            changes.accept(new State(Role.STANDALONE, 0));
            settled.countDown();
        }

        void halt() {
            serving = false;
            shutdown();
        }
    }

    /** QuorumPeerMain that hands out its peer once the peer's threads run, and reports its states. */
    private static final class Quorum extends QuorumPeerMain {
        private final CountDownLatch settled;
        private final Consumer<State> changes;
        volatile QuorumPeer peer;

        Quorum(CountDownLatch settled, Consumer<State> changes) {
            this.settled = settled;
            this.changes = changes;
        }

        @Override
        protected QuorumPeer getQuorumPeer() throws SaslException {
            QuorumPeer p = new QuorumPeer() {
                /** Written under the peer's lock (setPeerState is synchronized), read without it. */
                private volatile ServerState lastPeerState = ServerState.LOOKING;

                @Override
                public synchronized void start() {
                    super.start();
                    settled.countDown();
                }

                @Override
                public synchronized void setPeerState(ServerState newState) {
                    lastPeerState = newState;
                    super.setPeerState(newState);
                }

                /**
                 * ZooKeeper's own phases: ELECTION whenever the peer looks for a leader (at start,
                 * after losing its quorum), BROADCAST once it serves. Called from the peer's and
                 * the leader's threads, some holding the peer's lock: nothing here may take a lock.
                 */
                @Override
                public void setZabState(ZabState zabState) {
                    super.setZabState(zabState);
                    if (zabState == ZabState.ELECTION) {
                        changes.accept(new EmbeddedZooKeeper.State(Role.ELECTING, 0));
                    } else if (zabState == ZabState.BROADCAST) {
                        boolean leading = lastPeerState == ServerState.LEADING;
                        changes.accept(new EmbeddedZooKeeper.State(leading ? Role.LEADER : Role.FOLLOWER,
                                leading ? getMyId() : getLeaderId()));
                    }
                }
            };
            peer = p;
            return p;
        }

        @Override
        public void close() {
            QuorumPeer p = peer;
            if (p != null) {
                p.shutdown();
            }
            super.close();
        }
    }

    // ------------------------------------------------------------------ command line

    private static final String USAGE = """
            usage: EmbeddedZooKeeper --data DIR [--bind ADDR] [--port N] [--tick-ms N]
                                     [--id N --peer ID=HOST:CLIENTPORT:QUORUMPORT:ELECTIONPORT ...]
              standalone by default (bind 127.0.0.1, port 2181, tick 2000 ms);
              with --id and one --peer per ensemble member (itself included): that peer of an ensemble""";

    /**
     * Runs a server until the process is told to stop: SIGTERM/SIGINT stop the server cleanly
     * (exit code 143/130, the JVM's). Exit codes of its own: 1 the server failed, 2 bad arguments.
     * Prints one line when the server has started.
     */
    public static void main(String[] args) {
        EmbeddedZooKeeper zk;
        try {
            zk = fromArgs(args);
        } catch (InvalidInputException e) {
            System.err.println("havm zookeeper: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(zk::stop, "zookeeper-stop"));
        try {
            zk.start();
        } catch (CoordinationException e) {
            System.err.println("havm zookeeper: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.println("havm zookeeper: " + zk.describe() + " started");
        System.out.flush();
        Thread t;
        synchronized (zk) {
            t = zk.thread;
        }
        try {
            if (t != null) {
                t.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (zk.failure != null) {
            System.err.println("havm zookeeper: " + zk.describe() + " stopped: " + zk.failure);
            System.exit(1);
        }
    }

    static EmbeddedZooKeeper fromArgs(String[] args) {
        String bind = "127.0.0.1";
        int port = 2181;
        Path data = null;
        int tick = Settings.DEFAULT.tickTimeMs();
        int id = 0;
        List<Peer> peers = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String opt = args[i];
            if (i + 1 >= args.length) {
                throw new InvalidInputException(opt, "needs a value");
            }
            String value = args[++i];
            switch (opt) {
                case "--bind" -> bind = value;
                case "--port" -> port = intArg(opt, value);
                case "--data" -> data = Path.of(value);
                case "--tick-ms" -> tick = intArg(opt, value);
                case "--id" -> id = intArg(opt, value);
                case "--peer" -> peers.add(peerArg(value));
                default -> throw new InvalidInputException(opt, "unknown option");
            }
        }
        if (data == null) {
            throw new InvalidInputException("--data", "is required: the directory for snapshots and logs");
        }
        Settings settings = new Settings(tick, -1, -1);
        if (id == 0 && peers.isEmpty()) {
            return standalone(bind, port, data, settings);
        }
        if (id == 0 || peers.isEmpty()) {
            throw new InvalidInputException("--id/--peer", "an ensemble member needs both --id and one --peer per member");
        }
        return peer(id, peers, data, settings);
    }

    private static int intArg(String opt, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new InvalidInputException(opt, "'" + value + "' is not a whole number");
        }
    }

    private static Peer peerArg(String value) {
        String[] idAndRest = value.split("=", 2);
        String[] parts = idAndRest.length == 2 ? idAndRest[1].split(":") : new String[0];
        if (parts.length != 4) {
            throw new InvalidInputException("--peer " + value, "expected ID=HOST:CLIENTPORT:QUORUMPORT:ELECTIONPORT");
        }
        String where = "--peer " + value;
        return new Peer(intArg(where, idAndRest[0]), parts[0], intArg(where, parts[1]), intArg(where, parts[2]),
                intArg(where, parts[3]));
    }
}
