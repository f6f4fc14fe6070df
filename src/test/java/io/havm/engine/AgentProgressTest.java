package io.havm.engine;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.QuietZooKeeper;
import io.havm.coordination.ZkCoordination;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import io.havm.port.Clock;
import io.havm.port.Fencer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent publishes the progress of a live move it runs as the source in the cluster store on a
 * real ZooKeeper, removes it when the move ends, and a store it cannot write does not disturb the move.
 */
@ExtendWith(QuietZooKeeper.class)
class AgentProgressTest {
    static final String ROOT = "/havm/progress";

    @TempDir
    Path dir;

    EmbeddedZooKeeper server;
    ZkCoordination agentZk;
    ZkCoordination readerZk;
    Agent agent;
    final List<String> log = new CopyOnWriteArrayList<>();
    GroupRunnerProgressTest.Migrating h1;
    GroupRunnerProgressTest.Target h2;
    GroupRunner runner;

    @BeforeEach
    void start() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        server = EmbeddedZooKeeper.standalone("127.0.0.1", port, dir.resolve("zk"), EmbeddedZooKeeper.Settings.FAST)
                .start();
        agentZk = new ZkCoordination(server.connectString(), ROOT, Duration.ofSeconds(4), Duration.ofSeconds(4));
        readerZk = new ZkCoordination(server.connectString(), ROOT, Duration.ofSeconds(4), Duration.ofSeconds(4));
        ClusterSpec spec = ClusterConfigLoader.parse("c.yaml", GroupRunnerProgressTest.YAML.replace("DIR",
                dir.toString())).spec();
        Files.writeString(dir.resolve("vm1.xml"), "<domain type='kvm'><name>vm1</name></domain>");
        h1 = new GroupRunnerProgressTest.Migrating("host1");
        h2 = new GroupRunnerProgressTest.Target("host2");
        h1.put("vm1", true);
        runner = new GroupRunner(spec, "host1", Map.of("host1", h1, "host2", h2), Clock.SYSTEM,
                TestPorts.resources(spec, "host1", h1, Clock.SYSTEM));
        agent = new Agent(spec, "host1", agentZk, runner, (n, a) -> new Fencer.Result(Fencer.Outcome.FAILED, "none"),
                Clock.SYSTEM, log::add).publishProgress();
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        if (readerZk != null) {
            readerZk.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aLiveMovesProgressIsInTheStoreWhileItRunsAndGoneAfter() {
        ClusterStore reader = new ClusterStore(readerZk, "api", Clock.SYSTEM);
        h1.at = 1;
        List<Long> seen = new CopyOnWriteArrayList<>();
        h1.during = () -> {
            await().atMost(Duration.ofSeconds(10)).until(() -> reader.progress().containsKey("web"));
            MoveProgress p = reader.progress().get("web");
            seen.add(p.memoryRemainingBytes());
            assertEquals("host1 -> host2 live vm1", p.from() + " -> " + p.to() + " " + p.mode() + " " + p.domain());
            assertEquals(310, p.expectedDowntimeMs());
        };
        assertTrue(runner.move("web", "host2", MoveMode.LIVE).ok());
        assertEquals(List.of(344L << 20), seen);
        assertEquals(Map.of(), reader.progress(), "removed when the move ended");
        assertEquals(List.of(), log);
    }

    @Test
    void aStoreItCannotWriteIsLoggedOnceAndTheMoveGoesOn() {
        agentZk.close(); // every write of the agent fails from now on
        h1.at = 1;
        h1.during = () -> await().atMost(Duration.ofSeconds(30)).until(() -> !log.isEmpty());
        assertTrue(runner.move("web", "host2", MoveMode.LIVE).ok());
        assertTrue(h2.domains.containsKey("vm1"));
        List<String> about = log.stream().filter(l -> l.contains("progress")).toList();
        assertEquals(1, about.size(), log.toString());
        assertTrue(about.get(0).startsWith("host1 agent: cannot publish the progress of the move of web ("),
                about.get(0));
    }
}
