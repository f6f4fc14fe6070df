package io.havm.sim.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.FreePorts;
import io.havm.coordination.QuietZooKeeper;
import io.havm.coordination.ZkCoordination;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulator's ZooKeeper expires a silent session when the real one does. Measured side by
 * side: clients of a real ZooKeeper (tick 250 ms, 3 s sessions, the lab's timers) go silent at
 * staggered moments behind a relay that stops passing bytes (what a SIGSTOP'd agent or a silent
 * partition looks like to the server), and the same pattern runs in {@link SimCoordinationService}.
 * An idle client is heard only by its pings, one per third of the session timeout, so its session
 * can expire up to that much sooner than a session timeout after it fell silent; the lab showed it
 * (a 2.5 s pause of an agent expired its 3 s session) while the simulator, counting from the
 * moment of the cut, predicted nothing would happen.
 */
@ExtendWith(QuietZooKeeper.class)
class SessionExpiryMeasuredTest {
    private static final Duration SESSION = Duration.ofSeconds(3);
    private static final Duration TICK = Duration.ofMillis(250);
    private static final int CLIENTS = 5;
    /** Cuts 200 ms apart: over the 1 s ping interval, the silent clients were last heard at every phase. */
    private static final Duration STAGGER = Duration.ofMillis(200);
    /** No expiry sooner than the session timeout less one ping interval, less scheduling noise. */
    private static final Duration EARLIEST = SESSION.minus(SESSION.dividedBy(3)).minusMillis(100);
    /** Nor later than the timeout plus a tick, plus the observer's watch and poll. */
    private static final Duration LATEST = SESSION.plus(TICK).plusMillis(500);

    @TempDir
    Path tmp;

    @Test
    void aSilentIdleClientsSessionExpiresBetweenTwoThirdsOfTheTimeoutAndATickPastItInBoth() throws Exception {
        List<Duration> real = measureReal();
        List<Duration> sim = measureSim();
        for (List<Duration> m : List.of(real, sim)) {
            String which = m == real ? "real ZooKeeper" : "simulator";
            for (Duration d : m) {
                assertTrue(d.compareTo(EARLIEST) >= 0 && d.compareTo(LATEST) <= 0,
                        which + ": a session expired " + d.toMillis() + " ms after its client fell silent, outside ["
                                + EARLIEST.toMillis() + ", " + LATEST.toMillis() + "] ms: " + m);
            }
            Duration soonest = m.stream().min(Duration::compareTo).orElseThrow();
            assertTrue(soonest.compareTo(SESSION.minusMillis(300)) < 0, which + ": some client, silent since well"
                    + " after its last ping, must lose its session before a full session timeout of silence: " + m);
        }
    }

    private List<Duration> measureReal() throws Exception {
        EmbeddedZooKeeper zk = EmbeddedZooKeeper.standalone("127.0.0.1", FreePorts.pick(1)[0], tmp.resolve("zk"),
                new EmbeddedZooKeeper.Settings((int) TICK.toMillis(), -1, -1)).start();
        List<Relay> relays = new ArrayList<>();
        List<ZkCoordination> clients = new ArrayList<>();
        try {
            ZkCoordination observer = new ZkCoordination(zk.connectString(), "/m", SESSION, SESSION);
            clients.add(observer);
            for (int i = 0; i < CLIENTS; i++) {
                Relay r = new Relay(zk.port());
                relays.add(r);
                ZkCoordination c = new ZkCoordination("127.0.0.1:" + r.port(), "/m", SESSION, SESSION);
                clients.add(c);
                c.join("c" + i, new byte[0]);
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (observer.members().size() < CLIENTS) {
                assertTrue(System.nanoTime() < deadline, "members never all seen: " + observer.members());
                Thread.sleep(10); // polling the observer with a deadline
            }
            long start = System.nanoTime() + Duration.ofMillis(1500).toNanos(); // idle: only pings from now
            long[] cut = new long[CLIENTS];
            long[] gone = new long[CLIENTS];
            int next = 0;
            deadline = start + STAGGER.multipliedBy(CLIENTS).plus(LATEST).plusSeconds(2).toNanos();
            while (true) {
                long now = System.nanoTime();
                if (next < CLIENTS && now >= start + STAGGER.toNanos() * next) {
                    relays.get(next).freeze();
                    cut[next] = System.nanoTime();
                    next++;
                }
                var members = observer.members();
                boolean all = next == CLIENTS;
                for (int i = 0; i < next; i++) {
                    if (gone[i] == 0 && !members.contains("c" + i)) {
                        gone[i] = now;
                    }
                    all &= gone[i] != 0;
                }
                if (all) {
                    break;
                }
                assertTrue(now < deadline, "sessions not all expired in time: " + members);
                Thread.sleep(5); // sampling the observer's view on a fixed interval until the deadline
            }
            List<Duration> out = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                out.add(Duration.ofNanos(gone[i] - cut[i]));
            }
            return out;
        } finally {
            relays.forEach(Relay::close); // first: a client whose link is gone closes at once
            clients.forEach(ZkCoordination::close);
            zk.close();
        }
    }

    private static List<Duration> measureSim() {
        VirtualClock clock = new VirtualClock(Instant.parse("2026-12-07T10:00:00.123Z"));
        SimScheduler sched = new SimScheduler(clock);
        SimCoordinationService svc = new SimCoordinationService(sched, clock, SESSION, TICK, l -> { });
        SimCoordinationService.Client observer = svc.connect("observer");
        for (int i = 0; i < CLIENTS; i++) {
            svc.connect("c" + i).join("c" + i, new byte[0]);
        }
        Instant start = clock.now().plusMillis(1500);
        Instant[] cut = new Instant[CLIENTS];
        Instant[] gone = new Instant[CLIENTS];
        Instant end = start.plus(STAGGER.multipliedBy(CLIENTS)).plus(LATEST).plusSeconds(2);
        for (int i = 0; i < CLIENTS; i++) {
            int k = i;
            sched.at(start.plus(STAGGER.multipliedBy(i)), "test", () -> {
                svc.partition("c" + k);
                cut[k] = clock.now();
            });
        }
        for (Instant t = clock.now(); t.isBefore(end); t = t.plusMillis(5)) {
            Instant at = t;
            sched.at(at, "probe", () -> {
                for (int i = 0; i < CLIENTS; i++) {
                    if (cut[i] != null && gone[i] == null && !svc.liveMembers().contains("c" + i)) {
                        gone[i] = at;
                    }
                }
            });
        }
        while (sched.runOne(end)) {
            // virtual time: every event up to the end
        }
        List<Duration> out = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            assertTrue(gone[i] != null, "simulator: c" + i + "'s session never expired");
            out.add(Duration.between(cut[i], gone[i]));
        }
        observer.close();
        return out;
    }

    /**
     * A TCP relay to ZooKeeper that can go silent: after {@link #freeze()} it passes no byte either
     * way and keeps the connections open, as a stopped process or a dropped link would.
     */
    private static final class Relay implements AutoCloseable {
        private final ServerSocket server;
        private final int target;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private volatile boolean frozen;

        Relay(int target) throws IOException {
            this.target = target;
            this.server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::accept, "relay-" + server.getLocalPort());
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        void freeze() {
            frozen = true;
        }

        private void accept() {
            try {
                while (true) {
                    Socket in = server.accept();
                    Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
                    sockets.add(in);
                    sockets.add(out);
                    pump(in, out);
                    pump(out, in);
                }
            } catch (IOException closed) {
                // the relay was closed
            }
        }

        private void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                try {
                    InputStream i = from.getInputStream(); // not closed here: closing them closes the sockets
                    OutputStream o = to.getOutputStream();
                    int n;
                    while ((n = i.read(buf)) >= 0) {
                        if (frozen) {
                            return; // silent from now on: the bytes go nowhere, the sockets stay open
                        }
                        o.write(buf, 0, n);
                        o.flush();
                    }
                } catch (IOException closed) {
                    // either side closed
                }
            }, "relay-pump");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() {
            try {
                server.close();
            } catch (IOException ignored) {
                // closing
            }
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }
    }
}
