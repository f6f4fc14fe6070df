package io.havm.api;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.FreePorts;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havm agent --bootstrap} as the service runs it, as a real process against a real
 * ZooKeeper (libvirt's test driver for the hosts: nothing here is about VMs): it starts from the
 * configuration stored by {@code havm cluster init}, follows a new version without a restart, and,
 * restarted while ZooKeeper is down, starts anyway from the last version it used and joins once
 * ZooKeeper is back, instead of exiting.
 */
class AgentProcessTest {
    @TempDir
    Path dir;
    EmbeddedZooKeeper zk;
    final List<Process> started = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        if (zk != null) {
            zk.close();
        }
    }

    private int cli(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main(Path.of("").toAbsolutePath(), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(List.of(args));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        return code;
    }

    private Process agent(Path boot, Path log) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-Xmx192m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "agent", "--bootstrap", boot.toString(), "--state-dir", dir.resolve("state").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("HAVM_LOG");
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** Waits for {@code text} in the agent's log; on timeout, fails showing the log. */
    private static void awaitLog(Path log, String text, int seconds) {
        try {
            await().atMost(Duration.ofSeconds(seconds)).until(() -> read(log).contains(text));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("no '" + text + "' in " + seconds + " s:\n" + read(log), e);
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    void startsFromTheStoreFollowsItLiveAndStartsDuringAnOutageFromItsCache() throws Exception {
        int port = FreePorts.pick(1)[0];
        zk = EmbeddedZooKeeper.standalone("127.0.0.1", port, dir.resolve("zk"), EmbeddedZooKeeper.Settings.FAST).start();
        String nodes = "  nodes:\n    - {name: n1, uri: 'test:///default', memoryMiB: 4096}\n"
                + "    - {name: n2, uri: 'test:///default', memoryMiB: 4096}\n";
        String timers = "  timers: {sessionTimeout: 3s, zkTickTime: 500ms}\n";
        Path v1 = Files.writeString(dir.resolve("cluster.yaml"), "cluster:\n  name: proc\n" + timers + nodes
                + "groups: {}\n");
        Path boot = Files.writeString(dir.resolve("agent.yaml"), "node: n1\ncluster: proc\nzookeeper: '127.0.0.1:"
                + port + "'\nsessionTimeout: 3s\n");
        cli("cluster", "init", "--config", v1.toString(), "--bootstrap", boot.toString());

        Path log1 = dir.resolve("agent1.log");
        Process a = agent(boot, log1);
        awaitLog(log1, "n1 agent: joined", 60);
        assertTrue(read(log1).contains("n1 agent: configuration version 1 in force"), read(log1));
        awaitLog(log1, "n1 coordinator: elected", 30);

        // A new version is followed live: same process.
        Path v2 = Files.writeString(dir.resolve("v2.yaml"), Files.readString(v1).replace("name: proc\n",
                "name: proc\n  migrationsPerHost: 2\n"));
        cli("config", "apply", v2.toString(), "--bootstrap", boot.toString());
        awaitLog(log1, "n1 agent: configuration version 2 in force", 30);
        assertTrue(a.isAlive());

        // The agent crashes and ZooKeeper goes down; the agent is started again (systemd would).
        a.destroyForcibly();
        a.waitFor(10, TimeUnit.SECONDS);
        zk.stop();
        Path log2 = dir.resolve("agent2.log");
        Process b = agent(boot, log2);
        awaitLog(log2, "starting from configuration version 2, the last used here", 60);
        awaitLog(log2, "n1 agent: cannot join yet", 30);
        assertTrue(b.isAlive(), "the agent runs on through the outage:\n" + read(log2));
        zk.start();
        awaitLog(log2, "n1 agent: joined", 60);
        assertTrue(b.isAlive(), read(log2));
    }
}
