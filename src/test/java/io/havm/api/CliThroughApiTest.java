package io.havm.api;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.FreePorts;
import io.havm.coordination.QuietZooKeeper;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.engine.ElectedCoordinator;
import io.havm.http.ApiServer;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havm group move} with an agent's API in the configuration: the request goes through the
 * API (over TLS, the operator token from the configuration's tokens file) and the command follows
 * its operation to its end, returning 0 only once the coordinator's state has the group on its
 * target; without a token of the scope it needs, and with no agent answering, it goes to the
 * cluster store as before, saying so.
 */
@ExtendWith(QuietZooKeeper.class)
class CliThroughApiTest {
    @TempDir
    Path tmp;

    private ElectedCoordinator coordinator;
    private ZkCoordination agentZk;
    private ClusterStore cstore;
    private ApiServer api;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private Path config;
    private Path tokens;

    @BeforeEach
    void start() throws Exception {
        coordinator = new ElectedCoordinator(tmp.resolve("zk"), "/havm/clitest", "kvm1");
        cstore = coordinator.store;
        Path cert = tmp.resolve("api.crt");
        Path key = tmp.resolve("api.key");
        io.havm.util.Exec.run(Duration.ofSeconds(30), List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days",
                "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")).orThrow();
        tokens = tmp.resolve("tokens");
        Files.writeString(tokens, "read viewer r-0123456789abcdef\noperator ops o-0123456789abcdef\n");
        Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
        int apiPort = FreePorts.pick(1)[0];
        config = Files.writeString(tmp.resolve("cluster.yaml"), """
                cluster:
                  name: clitest
                  zookeeper: '%s'
                  api: {port: %d, tls: {certificate: %s, key: %s}, tokens: %s}
                  nodes:
                    - {name: kvm1, uri: 'qemu+tcp://127.0.0.1/system', memoryMiB: 8192}
                    - {name: kvm2, uri: 'qemu+tcp://127.0.0.1/system', memoryMiB: 8192}
                groups:
                  web:
                    resources:
                      vm: {type: vm, memoryMiB: 1024, properties: {domain: web}}
                """.formatted(coordinator.server.connectString(), apiPort, cert, key, tokens));
        ClusterSpec spec = ClusterConfigLoader.load(config).spec();
        coordinator.put(new ClusterState(new TreeMap<>(Map.of("kvm1", ClusterState.Node.up("kvm1"), "kvm2",
                ClusterState.Node.up("kvm2"))), new TreeMap<>(Map.of("web", web(GroupPhase.ONLINE, "kvm1"))),
                Instant.now(), Instant.now(), null));
        agentZk = coordinator.session("kvm2");
        api = new ApiServer(spec.api(), "kvm2", agentZk, spec, new PrometheusRegistry()::scrape, line -> {}).start();
    }

    @AfterEach
    void stop() {
        if (api != null) {
            api.close();
        }
        agentZk.close();
        coordinator.close();
    }

    private static ClusterState.Group web(GroupPhase phase, String node) {
        return new ClusterState.Group("web", phase, node, null, null, true, List.of(), Map.of(), Set.of(), Set.of(),
                null, null, 0, 0, null);
    }

    private CompletableFuture<Integer> havm(String... args) {
        Main m = new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return CompletableFuture.supplyAsync(() -> m.run(List.of(args)));
    }

    @Test
    void aMoveGoesThroughTheApiAndTheCommandReturnsWhenTheGroupIsOnItsTarget() throws Exception {
        CompletableFuture<Integer> move = havm("group", "move", "web", "--to", "kvm2", "--mode", "live", "--config",
                config.toString());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> !cstore.inputs().isEmpty());
        assertEquals(new Input.MoveGroup("web", "kvm2", MoveMode.LIVE), cstore.inputs().get(0).value());
        // still waiting: the move has not happened
        assertTrue(!move.isDone(), out.toString(StandardCharsets.UTF_8));
        ClusterState state = coordinator.state();
        coordinator.put(new ClusterState(state.nodes(), new TreeMap<>(Map.of("web", web(GroupPhase.ONLINE, "kvm2"))),
                state.firstNodeUpAt(), state.formedAt(), null));
        assertEquals(0, move.get(20, TimeUnit.SECONDS), out + "\n" + err);
        String said = out.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("havm group move web: operation ") && said.contains(" through https://127.0.0.1:"), said);
        assertTrue(said.strip().endsWith("havm group move web: succeeded"), said);
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void withoutAnOperatorTokenItGoesToTheClusterStoreAsBefore() throws Exception {
        Files.writeString(tokens, "read viewer r-0123456789abcdef\n");
        assertEquals(0, havm("group", "online", "web", "--config", config.toString()).get(30, TimeUnit.SECONDS),
                out + "\n" + err);
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("submitted: group online web"), out.toString());
        assertEquals(new Input.GroupOnline("web"), cstore.inputs().get(0).value());
    }

    @Test
    void withNoAgentAnsweringItSaysSoAndGoesToTheClusterStore() throws Exception {
        api.close();
        api = null;
        assertEquals(0, havm("node", "drain", "kvm1", "--config", config.toString()).get(30, TimeUnit.SECONDS),
                out + "\n" + err);
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("havm node drain: no agent's API answered"),
                err.toString());
        assertEquals(new Input.DrainNode("kvm1"), cstore.inputs().get(0).value());
    }
}
