package io.havm.api;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.BootstrapLoader;
import io.havm.coordination.CoordinationException;
import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.FreePorts;
import io.havm.coordination.QuietZooKeeper;
import io.havm.coordination.ZkCoordination;
import io.havm.model.Bootstrap;
import io.havm.port.Coordination;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real thing: every member is a {@code havm zookeeper --bootstrap F} JVM of its own, with its
 * own bootstrap file (node host1..host3, or the witness), data dir and ports on 127.0.0.1, killed
 * with SIGKILL by its pid as a host losing power would be. A client connects with the connect
 * string the bootstrap file derives from the members, as an agent does.
 *
 * <p>Why processes and not {@link io.havm.coordination.EmbeddedEnsemble}: what is under test is the
 * command — the member it picks from the file, its data dir and myid, its addresses, its state
 * lines, its exit on SIGTERM — and a killed JVM is the loss of a member with nothing left behind
 * (threads, sockets), which stopping a peer in-process does not show.
 */
@ExtendWith(QuietZooKeeper.class)
class ZooKeeperProcessTest {
    private static final Duration START = Duration.ofSeconds(40); // three JVMs on a busy 2-core machine
    private static final String CLUSTER = "zk";

    @TempDir
    Path dir;

    private final List<Member> started = new ArrayList<>();
    private ZkCoordination client;

    /** One {@code havm zookeeper} process and what it needs: its file, and its stdout and stderr. */
    private final class Member {
        final String name;
        final Path file;
        final boolean witness;
        final int clientPort;
        Process process;
        int runs;

        Member(String name, Path file, boolean witness, int clientPort) {
            this.name = name;
            this.file = file;
            this.witness = witness;
            this.clientPort = clientPort;
        }

        Member start() throws IOException {
            runs++;
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            List<String> cmd = new ArrayList<>(List.of(java.toString(),
                    // a small server starts faster on a small, busy machine; nothing here needs C2
                    "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "zookeeper", "--bootstrap", file.toString()));
            if (witness) {
                cmd.add("--witness");
            }
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .redirectOutput(dir.resolve(name + "." + runs + ".out").toFile())
                    .redirectError(dir.resolve(name + "." + runs + ".err").toFile());
            pb.environment().remove("HAVM_LOG");
            process = pb.start();
            started.add(this);
            return this;
        }

        String out() {
            try {
                return Files.readString(dir.resolve(name + "." + runs + ".out"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        String err() {
            try {
                return Files.readString(dir.resolve(name + "." + runs + ".err"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Answers clients: ZooKeeper's {@code srvr} says a mode only while the member serves. */
        boolean serving() {
            return EmbeddedZooKeeper.answers("127.0.0.1", clientPort, Duration.ofMillis(500));
        }

        /** SIGKILL to its pid: a host that loses power says nothing to anyone. */
        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL to process.pid(), and only to it
            assertTrue(process.waitFor(10, TimeUnit.SECONDS), name + " did not die");
        }

        @Override
        public String toString() {
            return name + " (pid " + (process == null ? "-" : process.pid()) + ")\n--- stdout\n" + out()
                    + "--- stderr (last 3000)\n" + tail(err(), 3000);
        }
    }

    @AfterEach
    void stopAll() throws InterruptedException {
        if (client != null) {
            client.close();
        }
        for (Member m : started) {
            if (m.process.isAlive()) {
                m.process.destroyForcibly();
                m.process.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * One bootstrap file per machine, all listing the same members with free ports; each member's
     * data in its own dir (one machine here plays all of them).
     *
     * @param nodes the nodes running a member; {@code withWitness}: one more member, the witness
     */
    private Map<String, Member> ensemble(List<String> nodes, boolean withWitness) throws IOException {
        List<String> names = new ArrayList<>(nodes);
        if (withWitness) {
            names.add("witness");
        }
        int[] ports = FreePorts.pick(3 * names.size());
        StringBuilder members = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            members.append("    - {id: ").append(i + 1).append(", ")
                    .append(names.get(i).equals("witness") ? "witness: true" : "node: " + names.get(i))
                    .append(", host: 127.0.0.1, clientPort: ").append(ports[3 * i]).append(", quorumPort: ")
                    .append(ports[3 * i + 1]).append(", electionPort: ").append(ports[3 * i + 2]).append("}\n");
        }
        Map<String, Member> out = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            boolean witness = n.equals("witness");
            // 300 ms ticks: a lost leader is noticed within syncLimit (5 ticks); sessions of 0.6..6 s
            String yaml = (witness ? "" : "node: " + n + "\n") + "cluster: " + CLUSTER + "\nsessionTimeout: 4s\n"
                    + "ensemble:\n  dataDir: " + dir.resolve("data-" + n) + "\n  tickTime: 300ms\n  members:\n" + members;
            out.put(n, new Member(n, Files.writeString(dir.resolve(n + ".yaml"), yaml), witness, ports[3 * i]));
        }
        return out;
    }

    /** Awaits {@code condition}; on timeout the failure shows every member's output. */
    private void within(Duration d, String what, Callable<Boolean> condition) {
        try {
            await(what).atMost(d).pollInterval(Duration.ofMillis(100)).until(condition);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(what + ": not within " + d.toSeconds() + " s\n" + started, e);
        }
    }

    /** Connects as an agent would: the bootstrap file's derived connect string and session timeout. */
    private ZkCoordination connect(Path bootstrap) {
        Bootstrap b = BootstrapLoader.load(bootstrap);
        // a short connection timeout: a write without a quorum fails after Curator's retries, ~4 s
        return new ZkCoordination(b.connectString(), b.root(), b.sessionTimeout(), Duration.ofSeconds(1));
    }

    /** A create that may have to wait for a re-election; a retry after a landed first attempt is fine. */
    private void write(String key, String value, Duration within) {
        within(within, "write " + key, () -> {
            try {
                client.put(key, value.getBytes(UTF_8), -1);
            } catch (Coordination.ConflictException alreadyThere) {
                // the attempt before this one landed, but its answer was lost with the member
            } catch (CoordinationException noQuorumYet) {
                return false;
            }
            return true;
        });
        assertArrayEquals(value.getBytes(UTF_8), client.get(key).orElseThrow().value(), key);
    }

    @Test
    void threeHostsServeWithTwoMembersNotWithOneAndRecoverWithTheirData() throws Exception {
        Map<String, Member> ms = ensemble(List.of("host1", "host2", "host3"), false);
        for (Member m : ms.values()) {
            m.start();
        }
        within(START, "every member serving", () -> ms.values().stream().allMatch(Member::serving));
        // each says what it does, one line a state: one leader, two followers of it
        within(Duration.ofSeconds(5), "a state line from each", () -> ms.values().stream()
                .allMatch(m -> m.out().contains(": serving as ")));
        List<Member> leaders = ms.values().stream().filter(m -> m.out().contains("serving as leader")).toList();
        assertEquals(1, leaders.size(), ms.values().toString());
        Member leader = leaders.get(0);
        String leaderId = leader.name.substring(4);
        for (Member m : ms.values()) {
            assertTrue(m == leader || m.out().contains("serving as follower of member " + leaderId), m.toString());
        }
        for (Member m : ms.values()) {
            assertTrue(m.out().contains("havm zookeeper: member " + m.name.substring(4) + " (node " + m.name
                    + ") starting: client 127.0.0.1:" + m.clientPort), m.toString());
            assertTrue(Files.readString(dir.resolve("data-" + m.name).resolve("myid")).strip()
                    .equals(m.name.substring(4)), "myid of " + m.name);
        }
        assertEquals(ms.values().stream().map(m -> "127.0.0.1:" + m.clientPort).toList(),
                List.of(BootstrapLoader.load(ms.get("host1").file).connectString().split(",")));

        client = connect(ms.get("host1").file);
        write("before", "1", Duration.ofSeconds(5));

        // The leader's host loses power: the other two elect a leader among themselves and serve.
        leader.kill();
        List<Member> left = ms.values().stream().filter(m -> m != leader).toList();
        within(Duration.ofSeconds(20), "the two left serving", () -> left.stream().allMatch(Member::serving));
        write("with-two", "2", Duration.ofSeconds(20));
        assertArrayEquals("1".getBytes(UTF_8), client.get("before").orElseThrow().value());
        within(Duration.ofSeconds(5), "the two left saying they lost their leader and serve again", () -> left.stream()
                .allMatch(m -> m.out().matches("(?s).*not serving: lost its leader; looking for a quorum \\(2 of 3"
                        + " members must elect a leader\\)\n.*: serving as .*")));
        // A second host down: the last member alone is no quorum. It stops serving, says so, and
        // a write fails (it is not taken by a minority).
        Member second = left.get(0);
        Member last = left.get(1);
        second.kill();
        within(Duration.ofSeconds(15), "the last one not serving", () -> !last.serving());
        within(Duration.ofSeconds(5), "the last one saying it lost the quorum", () -> last.out().matches("(?s).*not serving: lost its (leader|quorum);"
                + " looking for a quorum.*serving as .*not serving: lost its (leader|quorum).*"));
        assertThrows(CoordinationException.class, () -> client.put("alone", "3".getBytes(UTF_8), -1));
        assertTrue(last.process.isAlive(), "a member without a quorum waits for one, it does not exit:\n" + last);

        // One comes back on its data dir: a quorum again, and everything written before is there.
        second.start();
        within(START, "a quorum again", () -> second.serving() && last.serving());
        assertArrayEquals("1".getBytes(UTF_8), client.get("before").orElseThrow().value());
        assertArrayEquals("2".getBytes(UTF_8), client.get("with-two").orElseThrow().value());
        assertFalse(client.get("alone").isPresent(), "the write without a quorum never landed");
        write("after", "4", Duration.ofSeconds(10));

        // SIGTERM: a clean stop, said in one line; the JVM's exit code for the signal
        last.process.destroy();
        assertTrue(last.process.waitFor(20, TimeUnit.SECONDS), last.toString());
        assertEquals(143, last.process.exitValue(), last.toString());
        assertTrue(last.out().strip().endsWith("stopped"), last.toString());
    }

    @Test
    void twoHostsAndAWitnessSurviveTheLossOfEitherHost() throws Exception {
        Map<String, Member> ms = ensemble(List.of("host1", "host2"), true);
        for (Member m : ms.values()) {
            m.start();
        }
        Member host1 = ms.get("host1");
        Member host2 = ms.get("host2");
        Member witness = ms.get("witness");
        within(START, "every member serving", () -> ms.values().stream().allMatch(Member::serving));
        assertTrue(witness.out().contains("member 3 (witness) starting: client 127.0.0.1:" + witness.clientPort),
                witness.toString());
        for (Member m : ms.values()) {
            assertFalse(m.err().contains("warning: "), "three votes: no warning\n" + m);
        }

        client = connect(host2.file);
        write("before", "1", Duration.ofSeconds(5));

        // host1 loses power: host2 and the witness are two votes of three
        host1.kill();
        within(Duration.ofSeconds(20), "host2 and the witness serving", () -> host2.serving() && witness.serving());
        write("host1-gone", "2", Duration.ofSeconds(20));
        assertArrayEquals("1".getBytes(UTF_8), client.get("before").orElseThrow().value());

        // host1 back, then host2 lost: host1 and the witness carry on, with everything written
        host1.start();
        within(START, "host1 serving again", host1::serving);
        host2.kill();
        within(Duration.ofSeconds(20), "host1 and the witness serving", () -> host1.serving() && witness.serving());
        write("host2-gone", "3", Duration.ofSeconds(20));
        assertArrayEquals("2".getBytes(UTF_8), client.get("host1-gone").orElseThrow().value());
    }

    @Test
    void aSingleMemberServesStandaloneAndStopsOnSigterm() throws Exception {
        Member m = ensemble(List.of("host1"), false).get("host1");
        m.start();
        within(START, "serving", m::serving);
        // the line follows the server's start: it may come a moment after the first answer
        within(Duration.ofSeconds(5), "the state line", () -> m.out().contains("member 1 (node host1): serving"
                + " (standalone)"));
        assertTrue(m.out().contains("standalone (a single member: ZooKeeper is down whenever this machine is)"),
                m.toString());
        client = connect(m.file);
        write("k", "v", Duration.ofSeconds(5));
        client.close();
        client = null;

        m.process.destroy();
        assertTrue(m.process.waitFor(20, TimeUnit.SECONDS), m.toString());
        assertEquals(143, m.process.exitValue(), m.toString());
        assertTrue(m.out().strip().endsWith("member 1 (node host1): stopped"), m.toString());
        assertFalse(m.serving());
    }

    private static String tail(String s, int n) {
        return s.length() <= n ? s : s.substring(s.length() - n);
    }
}
