package io.havm.api;

import io.havm.config.BootstrapLoader;
import io.havm.coordination.CoordinationException;
import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.EmbeddedZooKeeper.Peer;
import io.havm.coordination.EmbeddedZooKeeper.Settings;
import io.havm.model.Bootstrap;
import io.havm.model.Bootstrap.Member;
import io.havm.model.InvalidInputException;
import io.havm.util.Args;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * {@code havm zookeeper [--bootstrap FILE] [--witness]}: one member of the ZooKeeper ensemble
 * listed in the bootstrap file's {@code ensemble:}, in the foreground, as a service of its own.
 *
 * <p>Goals: a three-host cluster needs nothing but havm installed (one member per host, next to
 * the agent); a two-host cluster adds one member on a third machine that runs no agent, the
 * witness, so that two of three votes survive the loss of either host (the seeds' "node majority
 * plus witness"). Every host's bootstrap file lists the same members; each runs the one that is
 * its own ({@code node} equal to the file's {@code node}), or the witness with {@code --witness}.
 *
 * <p>Constraints: everything that can be checked before the server starts is checked, and
 * refused as bad input (exit 2) with the file, the field or the address named: a member that is
 * not in the file, a data directory that cannot be written or holds another member's data, an
 * address that is taken or not this machine's. The last one matters more than it looks: ZooKeeper
 * binds the election port on a thread of its own and ends the JVM with a bare exit code when it
 * cannot, and the quorum port only when this member is elected leader — long after start.
 * Membership arithmetic that is legal but pointless (an even number of voters) is a warning.
 *
 * <p>Then it runs {@link EmbeddedZooKeeper} (ZooKeeper's own server entry points, so the member
 * behaves as {@code zkServer.sh} would run it) and prints one line per state it observes —
 * looking for a quorum, serving as leader or follower, the quorum lost — with the time, as the
 * agent does. SIGTERM stops it cleanly (the JVM then exits 143, as for any Java service: a
 * service unit lists 143 as a success). A server that ends on its own exits 1.
 */
final class ZooKeeperCommand {
    static final String USAGE = "havm zookeeper [--bootstrap FILE] [--witness]";

    private final PrintStream out;
    private final PrintStream err;

    ZooKeeperCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** What to run, decided from the bootstrap file alone (no I/O): the member, and warnings. */
    record Plan(Bootstrap bootstrap, Member member, List<String> warnings) {
        Bootstrap.Ensemble ensemble() {
            return bootstrap.ensemble();
        }

        boolean standalone() {
            return ensemble().members().size() == 1;
        }

        String name() {
            return "member " + member.id() + (member.witness() ? " (witness)" : " (node " + member.node() + ")");
        }
    }

    int run(List<String> argv) throws InterruptedException {
        Args a = Args.parse("havm zookeeper", argv, Set.of("--bootstrap"), Set.of("--witness"), 0, USAGE);
        Path file = a.get("--bootstrap") == null ? Bootstrap.DEFAULT_FILE : Path.of(a.get("--bootstrap"));
        Plan plan = plan(BootstrapLoader.load(file), a.flag("--witness"));
        for (String w : plan.warnings()) {
            err.println("havm zookeeper: warning: " + w);
        }
        prepareDataDir(plan);
        checkAddresses(plan);
        return serve(plan);
    }

    /**
     * The member this machine runs, or why none: {@code --witness} picks the witness, otherwise the
     * member whose {@code node} is the file's {@code node}.
     */
    static Plan plan(Bootstrap b, boolean witness) {
        String file = b.file();
        Bootstrap.Ensemble e = b.ensemble();
        if (e == null) {
            throw new InvalidInputException(file, "has no 'ensemble': havm zookeeper runs a member of the ensemble"
                    + " listed there (ensemble: {dataDir, tickTime, members: [{id, node | witness: true, host,"
                    + " clientPort, quorumPort, electionPort}, ...]}); with an external ensemble ('zookeeper: "
                    + (b.zookeeper() == null ? "host:port,..." : b.zookeeper()) + "') there is nothing to run here");
        }
        Member member;
        if (witness) {
            member = e.witness().orElseThrow(() -> new InvalidInputException(file + ": ensemble.members",
                    "--witness, but no member is 'witness: true' (members: " + describe(e.members()) + "); a witness"
                    + " is the third vote of a two-host cluster, on a machine that runs no agent"));
            if (b.node() != null && e.of(b.node()).isPresent()) {
                throw new InvalidInputException(file + ": node", "'" + b.node() + "' runs member "
                        + e.of(b.node()).get().id() + " already: the witness must run on a third machine (two"
                        + " votes on one machine are lost together, and the cluster with them)");
            }
        } else {
            if (b.node() == null) {
                throw new InvalidInputException(file + ": node", "is not set, so this machine runs no cluster"
                        + " node's member: name the node (node: NAME)" + (e.witness().isPresent()
                        ? ", or run the witness with havm zookeeper --witness" : ""));
            }
            member = e.of(b.node()).orElseThrow(() -> new InvalidInputException(file + ": ensemble.members",
                    "no member runs on node '" + b.node() + "' (members: " + describe(e.members()) + ")"
                    + (e.witness().isPresent() ? "; if this machine is the witness: havm zookeeper --witness" : "")));
        }
        List<String> warnings = new ArrayList<>();
        int n = e.members().size();
        if (n % 2 == 0) {
            int quorum = n / 2 + 1;
            warnings.add(file + ": ensemble.members: " + n + " voting members need " + quorum + " for a quorum, so"
                    + " the ensemble survives losing " + (n - quorum) + " — no more than " + (n - 1) + (n == 2 ? " member"
                    : " members") + " would, and one more machine can fail (split " + n / 2 + "|" + n / 2 + ", neither half"
                    + " serves). " + (n == 2 ? "Add a witness (witness: true, havm zookeeper --witness on a third"
                    + " machine) to survive losing either host." : "Add or remove one member."));
        }
        long tick = e.tickTime().toMillis();
        long min = 2 * tick;
        long max = 20 * tick;
        long asked = b.sessionTimeout().toMillis();
        if (asked < min || asked > max) {
            warnings.add(file + ": sessionTimeout " + asked + " ms is outside what this ensemble grants (2..20"
                    + " ticks of ensemble.tickTime " + tick + " ms: " + min + ".." + max + " ms): ZooKeeper gives"
                    + " clients " + (asked < min ? min : max) + " ms sessions instead");
        }
        return new Plan(b, member, List.copyOf(warnings));
    }

    /**
     * {@code ensemble.dataDir} made if missing, proven writable (as root too: a read-only mount),
     * and not another member's: ZooKeeper's {@code myid} there says whose data it holds.
     */
    static void prepareDataDir(Plan plan) {
        Path dir = plan.ensemble().dataDir();
        String where = plan.bootstrap().file() + ": ensemble.dataDir";
        String why = " (" + plan.name() + " keeps its snapshots, transaction log and myid there: it must be a"
                + " directory the user running havm zookeeper can write)";
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new InvalidInputException(where, dir + " cannot be created: " + reason(e) + why);
        }
        try {
            Path probe = Files.createTempFile(dir, ".havm-write-test", "");
            Files.delete(probe);
        } catch (IOException e) {
            throw new InvalidInputException(where, dir + " is not writable: " + reason(e) + why);
        }
        Path myid = dir.resolve("myid");
        if (Files.exists(myid)) {
            String found;
            try {
                found = Files.readString(myid, StandardCharsets.US_ASCII).strip();
            } catch (IOException e) {
                throw new InvalidInputException(where, myid + " cannot be read: " + reason(e) + why);
            }
            if (!found.equals(Integer.toString(plan.member().id()))) {
                throw new InvalidInputException(where, dir + " holds the data of member '" + found + "' (its myid),"
                        + " not of member " + plan.member().id() + ": a member must never start on another's"
                        + " data. Point ensemble.dataDir elsewhere, or move that data away if the ids were"
                        + " renumbered on purpose");
            }
        }
    }

    /**
     * Binds each address the member will listen on, and lets go at once. Why before the start: a
     * taken election port ends the JVM from a ZooKeeper thread with nothing said, and a taken
     * quorum port shows only when this member is elected leader. ZooKeeper binds with
     * SO_REUSEADDR, and so does this check, or a port in TIME_WAIT after a restart would be
     * refused here and not there.
     */
    static void checkAddresses(Plan plan) {
        record Port(String field, int port) {}
        Member m = plan.member();
        List<Port> ports = new ArrayList<>();
        ports.add(new Port("clientPort", m.clientPort()));
        if (!plan.standalone()) { // a standalone server elects no one and has no followers
            ports.add(new Port("quorumPort", m.quorumPort()));
            ports.add(new Port("electionPort", m.electionPort()));
        }
        String where = plan.bootstrap().file() + ": " + plan.name();
        InetAddress address;
        try {
            address = InetAddress.getByName(m.host());
        } catch (UnknownHostException e) {
            throw new InvalidInputException(where, "host '" + m.host() + "' does not resolve: " + reason(e));
        }
        for (Port p : ports) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(address, p.port()));
            } catch (IOException e) {
                String hint = !(e instanceof BindException) ? ""
                        : String.valueOf(e.getMessage()).contains("in use")
                        ? " — another process listens there (this member already running?)"
                        : " — is " + m.host() + " an address of this machine?";
                throw new InvalidInputException(where, "cannot listen on " + m.host() + ":" + p.port() + " (its "
                        + p.field() + "): " + reason(e) + hint);
            }
        }
    }

    private int serve(Plan plan) throws InterruptedException {
        Member me = plan.member();
        Bootstrap.Ensemble e = plan.ensemble();
        Settings settings = new Settings(Math.toIntExact(e.tickTime().toMillis()), -1, -1);
        EmbeddedZooKeeper zk;
        if (plan.standalone()) {
            zk = EmbeddedZooKeeper.standalone(me.host(), me.clientPort(), e.dataDir(), settings);
        } else {
            List<Peer> peers = e.members().stream()
                    .map(m -> new Peer(m.id(), m.host(), m.clientPort(), m.quorumPort(), m.electionPort())).toList();
            zk = EmbeddedZooKeeper.peer(me.id(), peers, e.dataDir(), settings);
        }
        String name = plan.name();
        int n = e.members().size();
        int quorum = n / 2 + 1;
        AtomicBoolean started = new AtomicBoolean();
        AtomicBoolean stopping = new AtomicBoolean(); // set by the hook before it stops the server
        AtomicBoolean ended = new AtomicBoolean(); // the server ended on its own: exit 1, nothing to stop
        EmbeddedZooKeeper.Role[] last = {null}; // the listener's own thread only
        zk.onStateChange(s -> {
            if (!stopping.get()) { // a member being stopped looks for a quorum on its way out: not news
                log(name + ": " + describe(last[0], s, n, quorum));
                last[0] = s.role();
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (started.get() && !ended.get()) {
                stopping.set(true);
                zk.close();
                log(name + ": stopped");
            }
        }, "zookeeper-stop"));
        log(name + " starting: client " + me.clientAddress()
                + (plan.standalone() ? "" : ", quorum " + me.host() + ":" + me.quorumPort() + ", election " + me.host()
                + ":" + me.electionPort()) + ", data " + e.dataDir() + ", tick " + e.tickTime().toMillis() + " ms; "
                + (plan.standalone() ? "standalone (a single member: ZooKeeper is down whenever this machine is)"
                : n + " voting members, a quorum is " + quorum + " (survives losing " + (n - quorum) + ")"));
        started.set(true); // before start: a SIGTERM while it starts stops it too
        try {
            zk.start();
        } catch (CoordinationException x) {
            ended.set(true);
            zk.close();
            if (cause(x, BindException.class)) { // taken between the check and the start
                throw new InvalidInputException(plan.bootstrap().file() + ": " + name, "cannot listen on "
                        + me.clientAddress() + " (its clientPort): " + x.getMessage());
            }
            err.println("havm zookeeper: " + name + " failed to start: " + x.getMessage());
            return 1;
        }
        Throwable failure = zk.awaitEnd();
        if (stopping.get()) {
            return 0; // SIGTERM: the hook stopped the server; the JVM's exit code is the signal's
        }
        ended.set(true);
        err.println("havm zookeeper: " + name + " ended on its own" + (failure == null ? "" : ": " + failure)
                + " (nothing stopped it: see ZooKeeper's messages above)");
        return 1;
    }

    private static String describe(EmbeddedZooKeeper.Role before, EmbeddedZooKeeper.State s, int members, int quorum) {
        return switch (s.role()) {
            case STANDALONE -> "serving (standalone)";
            case LEADER -> "serving as leader (at least " + quorum + " of " + members + " members, itself included,"
                    + " are in sync)";
            case FOLLOWER -> "serving as follower of member " + s.leaderId();
            case ELECTING -> "not serving: " + (before == EmbeddedZooKeeper.Role.LEADER ? "lost its quorum; "
                    : before == EmbeddedZooKeeper.Role.FOLLOWER ? "lost its leader; " : "")
                    + "looking for a quorum (" + quorum + " of " + members + " members must elect a leader)";
        };
    }

    /** One line on stdout, with the time; several threads write. */
    private void log(String line) {
        synchronized (out) {
            out.println(Instant.now() + " havm zookeeper: " + line);
            out.flush();
        }
    }

    private static boolean cause(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    private static String describe(List<Member> members) {
        return members.stream().map(m -> m.id() + (m.witness() ? " witness" : " node " + m.node()) + " at "
                + m.clientAddress()).collect(Collectors.joining(", "));
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : " " + m);
    }
}
