package io.havm.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.FreePorts;
import io.havm.engine.Codec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havm agent} as a real process with {@code cluster.api}: it serves the API, and a drain
 * submitted through it is consumed by the agent's own coordinator and its operation ends
 * succeeded. libvirt's test driver for the hosts; plain HTTP on 127.0.0.1 (allowed on loopback).
 */
class AgentApiProcessTest {
    static final String OPERATOR = "o-0123456789abcdef";

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

    private Process havm(Path log, String... args) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx192m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "io.havm.api.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("HAVM_LOG");
        Process p = pb.start();
        started.add(p);
        return p;
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    private static void awaitLog(Path log, String text, int seconds) {
        try {
            await().atMost(Duration.ofSeconds(seconds)).until(() -> read(log).contains(text));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("no '" + text + "' in " + seconds + " s:\n" + read(log), e);
        }
    }

    @Test
    void anAgentServesTheApiAndItsCoordinatorCarriesOutAWrite() throws Exception {
        int[] ports = FreePorts.pick(2);
        zk = EmbeddedZooKeeper.standalone("127.0.0.1", ports[0], dir.resolve("zk"), EmbeddedZooKeeper.Settings.FAST)
                .start();
        Path tokens = dir.resolve("api-tokens");
        Files.writeString(tokens, "operator oper " + OPERATOR + "\n");
        Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
        Path config = Files.writeString(dir.resolve("cluster.yaml"), "cluster:\n  name: apiproc\n"
                + "  zookeeper: '127.0.0.1:" + ports[0] + "'\n"
                + "  timers: {sessionTimeout: 3s, zkTickTime: 500ms, startupGrace: 1s}\n"
                + "  api: {port: " + ports[1] + ", address: 127.0.0.1, tokens: " + tokens + "}\n"
                + "  nodes:\n    - {name: n1, uri: 'test:///default', memoryMiB: 4096}\n"
                + "    - {name: n2, uri: 'test:///default', memoryMiB: 4096}\n"
                + "groups: {}\n");
        Path log = dir.resolve("agent.log");
        havm(log, "agent", "--config", config.toString(), "--node", "n1", "--state-dir", dir.resolve("state")
                .toString());
        awaitLog(log, "n1 api: serving http on 127.0.0.1 port " + ports[1] + " (1 token)", 60);
        awaitLog(log, "n1 coordinator: elected", 30);

        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + ports[1];
        JsonNode cluster = Codec.json().readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/cluster"))
                .header("Authorization", "Bearer " + OPERATOR).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertEquals("apiproc", cluster.get("name").asText());
        assertEquals(1, cluster.get("configVersion").asLong());
        await().atMost(Duration.ofSeconds(30)).until(() -> Codec.json().readTree(http.send(HttpRequest
                .newBuilder(URI.create(base + "/api/v1/nodes/n1")).header("Authorization", "Bearer " + OPERATOR)
                .build(), HttpResponse.BodyHandlers.ofString()).body()).get("status").asText(), "up"::equals);

        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                .header("Authorization", "Bearer " + OPERATOR).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.body().contains("havm_build_info{"), metrics.body());

        long t0 = System.nanoTime();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/nodes/n1/drain"))
                .header("Authorization", "Bearer " + OPERATOR).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(202, r.statusCode(), r.body());
        String path = "/api/v1/operations/" + Codec.json().readTree(r.body()).get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> Codec.json().readTree(http.send(HttpRequest
                .newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + OPERATOR).build(),
                HttpResponse.BodyHandlers.ofString()).body()).get("state").asText(), "succeeded"::equals);
        System.out.printf("drain of an empty node through the API: submitted and succeeded in %d ms%n",
                (System.nanoTime() - t0) / 1_000_000);
        assertTrue(read(log).contains("n1 api: oper (operator): node drain n1: submitted as operation"), read(log));
        assertTrue(read(log).contains("succeeded: n1 is drained: no group left on it"), read(log));
    }
}
