package io.havm.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.QuietZooKeeper;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.engine.Codec;
import io.havm.engine.ElectedCoordinator;
import io.havm.model.ApiSpec;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.port.Clock;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API over TLS against a real ZooKeeper: the state and timeline written as the coordinator
 * writes them, called with java.net.http as a client would.
 */
@ExtendWith(QuietZooKeeper.class)
class ApiServerTest {
    static final String READ = "r-0123456789abcdef";
    static final String OPERATOR = "o-0123456789abcdef";
    static final String ADMIN = "a-0123456789abcdef";
    static final String ROOT = "/havm/apitest";

    @TempDir
    Path tmp;

    private EmbeddedZooKeeper server;
    private ZkCoordination coord;
    private ZkCoordination agentZk;
    private ClusterStore cstore;
    private ElectedCoordinator coordinator;
    private ApiServer api;
    private HttpClient http;
    private String base;
    private final List<String> log = new CopyOnWriteArrayList<>();
    private volatile boolean metricsFail;

    static final String YAML = """
            cluster:
              name: apitest
              nodes:
                - {name: kvm1, uri: 'test:///default', memoryMiB: 8192}
                - {name: kvm2, uri: 'test:///default', memoryMiB: 8192}
            groups:
              web:
                resources:
                  vm: {type: vm, memoryMiB: 1024}
              db:
                resources:
                  vm: {type: vm, memoryMiB: 1024}
            """;

    @BeforeEach
    void start() throws Exception {
        coordinator = new ElectedCoordinator(tmp.resolve("zk"), ROOT, "kvm1");
        server = coordinator.server; // closed by itself where a test stops ZooKeeper
        coord = coordinator.zk;
        cstore = coordinator.store;
        coordinator.put(new ClusterState(new TreeMap<>(Map.of("kvm1", ClusterState.Node.up("kvm1"), "kvm2",
                ClusterState.Node.up("kvm2"))), new TreeMap<>(Map.of("web", group("web", GroupPhase.ONLINE, "kvm1", null),
                "db", group("db", GroupPhase.ONLINE, "kvm2", null))), Instant.now(), Instant.now(), null));
        coordinator.events(Instant.now() + " kvm1 group web: none -> online on kvm1 (adopted)");

        agentZk = coordinator.session("kvm2");
        Path cert = tmp.resolve("api.crt");
        Path key = tmp.resolve("api.key");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days",
                "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("openssl.log").toFile()).start();
        assertEquals(0, p.waitFor(), Files.readString(tmp.resolve("openssl.log")));
        Path tokens = tmp.resolve("api-tokens");
        Files.writeString(tokens, "# scope name token\nread reader " + READ + "\noperator oper " + OPERATOR
                + "\n\nadmin root " + ADMIN + "\n");
        Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
        ClusterSpec spec = ClusterConfigLoader.parse("c.yaml", YAML).spec();
        PrometheusRegistry registry = new PrometheusRegistry();
        Counter.builder().name("havm_test_calls").help("a test counter").register(registry).inc();
        api = new ApiServer(new ApiSpec(0, "127.0.0.1", cert, key, tokens, Map.of()), "kvm2", agentZk, spec, () -> {
            if (metricsFail) {
                throw new IllegalStateException("the registry broke");
            }
            return registry.scrape();
        }, log::add).start();
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(cert)) {
            trust.setCertificateEntry("api", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        http = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
        base = "https://localhost:" + api.port();
    }

    @AfterEach
    void stop() {
        if (api != null) {
            api.close();
        }
        if (agentZk != null) {
            agentZk.close();
        }
        if (coord != null) {
            coord.close();
        }
        if (server != null) {
            server.close();
        }
    }

    static ClusterState.Group group(String name, GroupPhase phase, String node, String from) {
        return new ClusterState.Group(name, phase, node, from, phase == GroupPhase.MOVING ? MoveMode.LIVE : null, true,
                List.of(), Map.of(), Set.of(), Set.of(), null, null, 0, 0, null);
    }

    private void put(ClusterState next) {
        coordinator.put(next);
    }

    private ClusterState withGroup(ClusterState.Group g) {
        ClusterState state = coordinator.state();
        TreeMap<String, ClusterState.Group> groups = new TreeMap<>(state.groups());
        groups.put(g.name(), g);
        return new ClusterState(state.nodes(), groups, state.firstNodeUpAt(), state.formedAt(), state.failbackTo());
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return Codec.json().readTree(r.body());
    }

    /** What a write may change in the store: the inputs for the coordinator and the operations. */
    private List<Object> submitted() {
        List<Object> out = new ArrayList<>();
        cstore.inputs().forEach(k -> out.add(k.value()));
        new OperationStore(coord, "check").all().forEach(s -> out.add(s.op().id()));
        return out;
    }

    @Test
    void readsAnswerFromTheClusterStore() throws Exception {
        JsonNode c = json(get("/api/v1/cluster", READ));
        assertEquals("apitest", c.get("name").asText());
        assertTrue(c.get("formed").asBoolean());
        assertEquals("kvm1", c.get("coordinator").asText());
        assertEquals(coordinator.epoch(), c.get("epoch").asLong());
        assertEquals("[\"kvm1\",\"kvm2\"]", c.get("members").toString());
        assertEquals("connected", c.get("zookeeper").asText());

        JsonNode n = json(get("/api/v1/nodes/kvm1", READ));
        assertEquals("{\"name\":\"kvm1\",\"status\":\"up\",\"member\":true,\"paused\":false,\"draining\":false,"
                + "\"unresponsive\":false,\"groups\":[\"web\"]}", n.toString());
        assertEquals(2, json(get("/api/v1/nodes", READ)).get("nodes").size());
        JsonNode g = json(get("/api/v1/groups/web", READ));
        assertEquals("{\"name\":\"web\",\"phase\":\"online\",\"node\":\"kvm1\",\"wantOnline\":true,"
                + "\"resources\":[{\"name\":\"vm\",\"kind\":\"vm\"}]}", g.toString());
        List<String> names = new ArrayList<>();
        json(get("/api/v1/groups", READ)).get("groups").forEach(x -> names.add(x.get("name").asText()));
        assertEquals(List.of("db", "web"), names);

        HttpResponse<String> unknown = get("/api/v1/groups/mail", READ);
        assertEquals(404, unknown.statusCode());
        assertEquals("{\"error\":\"unknown group 'mail' (groups: db, web)\",\"field\":\"group\",\"known\":[\"db\","
                + "\"web\"]}", unknown.body());
        assertEquals("[\"kvm1\",\"kvm2\"]", json(get("/api/v1/nodes/kvm9", READ)).get("known").toString());
        HttpResponse<String> noEndpoint = get("/api/v1/grups", READ); // a tool's typo: JSON, as every answer
        assertEquals(404, noEndpoint.statusCode());
        assertEquals("{\"error\":\"no endpoint GET /api/v1/grups (the endpoints are in /api/v1/openapi.json)\"}",
                noEndpoint.body());
        assertTrue(noEndpoint.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));

        JsonNode ev = json(get("/api/v1/events?since=0&group=web", READ));
        assertEquals(1, ev.get("events").size());
        JsonNode e = ev.get("events").get(0);
        assertEquals(1, e.get("seq").asLong());
        assertEquals("web", e.get("group").asText());
        assertEquals("kvm1", e.get("node").asText());
        assertEquals("kvm1 group web: none -> online on kvm1 (adopted)", e.get("text").asText());
        assertEquals(1, ev.get("next").asLong());
        assertEquals(0, json(get("/api/v1/events?since=1", READ)).get("events").size());
        cstore.events(List.of(Instant.now() + " kvm2 group db: none -> online on kvm2 (adopted)",
                Instant.now() + " kvm1 node: up -> up/paused (operator)", Instant.now() + " kvm1 group web: x"), coordinator.epoch());
        JsonNode paged = json(get("/api/v1/events?limit=2", READ));
        assertEquals("[1, 2]", paged.findValues("seq").toString());
        assertEquals(2, paged.get("next").asLong());
        paged = json(get("/api/v1/events?since=2&node=kvm1", READ));
        assertEquals("[3, 4]", paged.findValues("seq").toString());
        assertEquals(4, paged.get("next").asLong());
        assertEquals("[2]", json(get("/api/v1/events?group=db", READ)).findValues("seq").toString());
        HttpResponse<String> badSince = get("/api/v1/events?since=-3", READ);
        assertEquals(400, badSince.statusCode());
        assertEquals("since", json(badSince).get("field").asText());

        assertEquals(200, get("/healthz", null).statusCode());
        assertEquals("3.0.3", json(get("/api/v1/openapi.json", null)).get("openapi").asText());
        HttpResponse<String> page = get("/", null);
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<html"), page.body());
        for (String path : List.of("/api/v1/cluster", "/api/v1/nodes", "/api/v1/groups/web", "/api/v1/events",
                "/api/v1/incidents", "/api/v1/operations", "/metrics")) {
            HttpResponse<String> r = get(path, null);
            assertEquals(401, r.statusCode(), path);
            assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), path);
            assertEquals(401, get(path, "not-a-token-0123456789").statusCode(), path);
        }
    }

    @Test
    void theConfigurationInForceIsTheStoredVersion() throws Exception {
        assertEquals(404, get("/api/v1/groups/mail", READ).statusCode());
        String withMail = YAML + """
                  mail:
                    resources:
                      vm: {type: vm, memoryMiB: 512}
                """;
        new io.havm.engine.ConfigStore(coord).store(Map.of("cluster.yaml", withMail), 0, "test", "a group more",
                Instant.now());
        JsonNode g = json(get("/api/v1/groups/mail", READ));
        assertEquals("unknown", g.get("phase").asText(), "configured, not yet in the coordinator's state");
        assertEquals(1, json(get("/api/v1/cluster", READ)).get("configVersion").asLong());
        List<Object> before = submitted();
        HttpResponse<String> r = post("/api/v1/groups/mail/online", OPERATOR, null);
        assertEquals(202, r.statusCode());
        assertEquals(before.size() + 2, submitted().size(), "the input and its operation");
        String path = "/api/v1/operations/" + json(r).get("id").asText();
        // the tracker looks at it (twice a second): not in the state yet is pending, not failed
        await().atMost(Duration.ofSeconds(10)).until(() -> json(get(path, READ)).get("message").asText(),
                "group mail is not in the coordinator's state yet"::equals);
        assertEquals("pending", json(get(path, READ)).get("state").asText());
        put(withGroup(group("mail", GroupPhase.ONLINE, "kvm2", null)));
        await().atMost(Duration.ofSeconds(10)).until(() -> json(get(path, READ)).get("state").asText(),
                "succeeded"::equals);
    }

    @Test
    void metricsAreScrapedInPrometheusTextFormat() throws Exception {
        HttpResponse<String> m = get("/metrics", READ);
        assertEquals(200, m.statusCode());
        assertTrue(m.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), m.headers().toString());
        assertTrue(m.body().contains("# TYPE havm_test_calls_total counter\nhavm_test_calls_total 1.0\n"), m.body());

        metricsFail = true; // an unexpected failure: one line to the client, the details to the log
        HttpResponse<String> broken = get("/metrics", READ);
        assertEquals(500, broken.statusCode());
        assertEquals("{\"error\":\"internal error (IllegalStateException); the agent's log has the details\"}",
                broken.body());
        assertTrue(log.stream().anyMatch(l -> l.equals("kvm2 api: GET /metrics failed:"
                + " java.lang.IllegalStateException: the registry broke")), log.toString());
    }

    @Test
    void withZooKeeperGoneReadsAndWritesAnswer503AndOneLine() throws Exception {
        server.close();
        server = null;
        long t0 = System.nanoTime();
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> get("/api/v1/groups", READ).statusCode(),
                c -> c == 503);
        HttpResponse<String> r = get("/api/v1/groups", READ);
        assertEquals(503, r.statusCode(), r.body());
        assertTrue(json(r).get("error").asText().startsWith("the cluster store (ZooKeeper) does not answer"), r.body());
        assertFalse(r.body().contains("\n\tat "), r.body());
        r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\":\"kvm2\"}");
        assertEquals(503, r.statusCode(), r.body());
        assertEquals(200, get("/healthz", null).statusCode());
        System.out.printf("ZooKeeper gone: reads and writes answered 503 after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    @Test
    void everyWriteNeedsItsScopeAndIsSubmittedOnlyThen() throws Exception {
        Map<String, String> writes = new java.util.LinkedHashMap<>();
        writes.put("/api/v1/groups/web/move", "{\"to\":\"kvm2\",\"mode\":\"quick\"}");
        writes.put("/api/v1/groups/web/online", null);
        writes.put("/api/v1/groups/web/offline", "{}");
        writes.put("/api/v1/nodes/kvm1/drain", null);
        writes.put("/api/v1/nodes/kvm1/resume", "{\"failback\":true}");
        writes.put("/api/v1/nodes/kvm1/shutdown", null);
        List<Input> expected = List.of(new Input.MoveGroup("web", "kvm2", MoveMode.QUICK), new Input.GroupOnline("web"),
                new Input.GroupOffline("web"), new Input.DrainNode("kvm1"), new Input.ResumeNode("kvm1", true),
                new Input.ShutdownNode("kvm1"));
        int i = 0;
        for (Map.Entry<String, String> w : writes.entrySet()) {
            List<Object> before = submitted();
            HttpResponse<String> none = post(w.getKey(), null, w.getValue());
            assertEquals(401, none.statusCode(), w.getKey());
            assertEquals("Bearer realm=\"havm\"", none.headers().firstValue("WWW-Authenticate").orElse(null));
            assertEquals(403, post(w.getKey(), READ, w.getValue()).statusCode(), w.getKey());
            boolean admin = w.getKey().endsWith("/shutdown");
            if (admin) {
                HttpResponse<String> under = post(w.getKey(), OPERATOR, w.getValue());
                assertEquals(403, under.statusCode());
                assertEquals("this needs a token of scope admin or above; oper's is operator", json(under)
                        .get("error").asText());
            }
            assertEquals(before, submitted(), "nothing submitted by a refused " + w.getKey());
            HttpResponse<String> ok = post(w.getKey(), admin ? ADMIN : OPERATOR, w.getValue());
            assertEquals(202, ok.statusCode(), w.getKey() + ": " + ok.body());
            JsonNode op = json(ok);
            assertEquals(admin ? "root" : "oper", op.get("by").asText());
            assertEquals("/api/v1/operations/" + op.get("id").asText(), ok.headers().firstValue("Location").orElse(null));
            List<Input> inputs = new ArrayList<>();
            cstore.inputs().forEach(k -> inputs.add(k.value()));
            assertEquals(expected.get(i), inputs.get(inputs.size() - 1), w.getKey());
            assertEquals(op.get("id").asText(), json(get("/api/v1/operations/" + op.get("id").asText(), READ))
                    .get("id").asText());
            i++;
        }
        assertEquals(6, cstore.inputs().size());
        assertEquals(6, json(get("/api/v1/operations", READ)).get("operations").size());
    }

    @Test
    void badInputGetsTheFieldAndWhatIsAllowedAndChangesNothing() throws Exception {
        List<Object> before = submitted();
        HttpResponse<String> r = post("/api/v1/groups/mail/move", OPERATOR, "{\"to\":\"kvm2\"}");
        assertEquals(404, r.statusCode());
        assertEquals("{\"error\":\"group: unknown group 'mail' (groups: db, web)\",\"field\":\"group\",\"known\":[\"db\","
                + "\"web\"]}", r.body());
        r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\":\"kvm7\"}");
        assertEquals(404, r.statusCode());
        assertEquals("[\"kvm1\",\"kvm2\"]", json(r).get("known").toString());
        r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\":\"kvm2\",\"mode\":\"fast\"}");
        assertEquals(400, r.statusCode());
        assertEquals("{\"error\":\"mode: 'fast' is not allowed (allowed: live, quick, offline)\",\"field\":\"mode\","
                + "\"allowed\":[\"live\",\"quick\",\"offline\"]}", r.body());
        r = post("/api/v1/groups/web/move", OPERATOR, "{}");
        assertEquals(400, r.statusCode());
        assertEquals("to", json(r).get("field").asText());
        r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\": 5}");
        assertEquals(400, r.statusCode());
        assertEquals("{\"error\":\"to: must be a string\",\"field\":\"to\"}", r.body());
        r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\":\"kvm2\",\"mdoe\":\"live\"}");
        assertEquals(400, r.statusCode());
        assertEquals("{\"error\":\"mdoe: unknown field: did you mean 'mode'? (allowed: mode, to)\",\"field\":\"mdoe\","
                + "\"allowed\":[\"mode\",\"to\"]}", r.body());
        r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\":\"kvm2\",");
        assertEquals(400, r.statusCode());
        assertEquals("body", json(r).get("field").asText());
        assertTrue(json(r).get("error").asText().startsWith("the body is not JSON (line 1, column "), r.body());
        r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\":\"kvm2\",\"to\":\"kvm1\"}");
        assertEquals(400, r.statusCode());
        r = post("/api/v1/groups/web/move", OPERATOR, "[\"kvm2\"]");
        assertEquals(400, r.statusCode());
        r = post("/api/v1/nodes/kvm1/resume", OPERATOR, "{\"failback\":\"yes\"}");
        assertEquals(400, r.statusCode());
        assertEquals("failback", json(r).get("field").asText());
        r = post("/api/v1/nodes/kvm1/drain", OPERATOR, "{\"now\":true}");
        assertEquals(400, r.statusCode());
        assertEquals("[]", json(r).get("allowed").toString());
        r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\":\"kvm2\",\"pad\":\"" + "x".repeat(70_000) + "\"}");
        assertEquals(413, r.statusCode());
        assertEquals("body", json(r).get("field").asText());
        r = get("/api/v1/operations/nope", READ);
        assertEquals(404, r.statusCode());
        r = get("/api/v1/events?colour=red", READ);
        assertEquals(400, r.statusCode());
        assertEquals(before, submitted(), "no bad input submitted anything");
        for (String line : log) {
            assertFalse(line.contains("Exception"), line);
        }
    }

    @Test
    void anOperationGoesFromPendingToSucceededAsTheCoordinatorMovesTheGroup() throws Exception {
        HttpResponse<String> r = post("/api/v1/groups/web/move", OPERATOR, "{\"to\":\"kvm2\"}");
        assertEquals(202, r.statusCode(), r.body());
        JsonNode op = json(r);
        assertEquals("pending", op.get("state").asText());
        assertEquals("{\"to\":\"kvm2\",\"mode\":\"live\"}", op.get("params").toString());
        String path = "/api/v1/operations/" + op.get("id").asText();
        // the coordinator consumes the input and starts the move
        put(withGroup(group("web", GroupPhase.MOVING, "kvm2", "kvm1")));
        await().atMost(Duration.ofSeconds(10)).until(() -> json(get(path, READ)).get("state").asText(),
                "running"::equals);
        assertEquals("{\"phase\":\"moving\",\"node\":\"kvm2\",\"from\":\"kvm1\",\"began\":true}",
                json(get(path, READ)).get("progress").toString());
        put(withGroup(group("web", GroupPhase.ONLINE, "kvm2", null)));
        await().atMost(Duration.ofSeconds(10)).until(() -> json(get(path, READ)).get("state").asText(),
                "succeeded"::equals);
        assertEquals("web online on kvm2", json(get(path, READ)).get("message").asText());

        // a move the coordinator refuses fails with its words
        r = post("/api/v1/groups/db/move", OPERATOR, "{\"to\":\"kvm1\"}");
        String refused = "/api/v1/operations/" + json(r).get("id").asText();
        cstore.events(List.of(Instant.now() + " kvm1 refused: move db to kvm1: not a usable owner now (candidates:"
                + " none)"), coordinator.epoch());
        await().atMost(Duration.ofSeconds(10)).until(() -> json(get(refused, READ)).get("state").asText(),
                "failed"::equals);
        assertTrue(json(get(refused, READ)).get("message").asText().startsWith("the coordinator refused it: kvm1"
                + " refused: move db to kvm1"));
    }

    @Test
    void anOperationWhoseAgentLeftIsAdoptedByAnother() throws Exception {
        OperationStore ops = new OperationStore(coord, "kvm3");
        Instant now = Instant.now();
        Operation orphan = new Operation(ops.newId(now), "move", "web", Map.of("to", "kvm2", "mode", "live"),
                Operation.PENDING, "submitted to the coordinator", Map.of(), now, now, "oper", "kvm3",
                now.plusSeconds(600), 1);
        ops.create(orphan);
        put(withGroup(group("web", GroupPhase.ONLINE, "kvm2", null)));
        await().atMost(Duration.ofSeconds(10)).until(() -> json(get("/api/v1/operations/" + orphan.id(), READ)),
                o -> o.get("state").asText().equals("succeeded") && o.get("agent").asText().equals("kvm2"));
        assertTrue(log.stream().anyMatch(l -> l.contains("adopted: kvm3's agent is no longer a member")), log.toString());
    }

    @Test
    void theStreamSendsTimelineLinesStateChangesAndOperations() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/api/v1/events/stream"))
                .header("Authorization", "Bearer " + READ).header("Last-Event-ID", "0")
                .header("Accept", "text/event-stream").build();
        assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/events/stream")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        HttpResponse<String> noAccept = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/events/stream"))
                .header("Authorization", "Bearer " + READ).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(406, noAccept.statusCode());
        assertEquals("Accept", json(noAccept).get("field").asText());
        var future = http.sendAsync(req, HttpResponse.BodyHandlers.ofLines());
        HttpResponse<java.util.stream.Stream<String>> resp = future.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(200, resp.statusCode());
        Thread reader = new Thread(() -> {
            try {
                resp.body().forEach(got::add);
            } catch (RuntimeException e) {
                // the server closed the stream
            }
        });
        reader.setDaemon(true);
        reader.start();
        // Last-Event-ID 0: the line written before is sent again, with its seq as id
        await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("id: 1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("event: state"));
        cstore.events(List.of(Instant.now() + " kvm1 node: up -> up/draining (operator drain)"), coordinator.epoch());
        await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("id: 2"));
        assertTrue(got.stream().anyMatch(l -> l.startsWith("data: ") && l.contains("\"seq\":2")
                && l.contains("up/draining")), got.toString());
        put(withGroup(group("db", GroupPhase.STOPPING, "kvm2", null)));
        await().atMost(Duration.ofSeconds(10)).until(() -> got.stream().anyMatch(l -> l.startsWith("data: ")
                && l.contains("\"name\":\"db\",\"phase\":\"stopping\"")));
        post("/api/v1/groups/db/offline", OPERATOR, null);
        await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("event: operation"));
        api.close();
        reader.join(10_000);
    }

    @Test
    void aLiveMigrationsPublishedProgressShowsInItsGroupAndTheStream() throws Exception {
        put(withGroup(group("web", GroupPhase.MOVING, "kvm2", "kvm1")));
        List<String> got = new CopyOnWriteArrayList<>();
        HttpResponse<java.util.stream.Stream<String>> resp = http.sendAsync(HttpRequest.newBuilder(
                URI.create(base + "/api/v1/events/stream")).header("Authorization", "Bearer " + READ)
                .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofLines())
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
        Thread reader = new Thread(() -> {
            try {
                resp.body().forEach(got::add);
            } catch (RuntimeException e) {
                // the server closed the stream
            }
        });
        reader.setDaemon(true);
        reader.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("event: state"));
        assertFalse(json(get("/api/v1/groups/web", READ)).has("migration"), "none before the move publishes any");

        // The source's agent (kvm1) publishes, as Agent#publishProgress does, under its own session.
        ZkCoordination sourceZk = new ZkCoordination(server.connectString(), ROOT, Duration.ofSeconds(4),
                Duration.ofSeconds(4));
        try {
            ClusterStore source = new ClusterStore(sourceZk, "kvm1", Clock.SYSTEM);
            Instant at = Instant.parse("2026-12-07T13:00:00.500Z");
            source.putProgress(new io.havm.engine.MoveProgress("web", "web-vm", "live", "kvm1", "kvm2", 1L << 30,
                    256L << 20, (1L << 30) + 8192, 768L << 20, (256L << 20) + 8192, 2_500, 48, at));
            JsonNode m = json(get("/api/v1/groups/web", READ)).get("migration");
            assertEquals("{\"mode\":\"live\",\"domain\":\"web-vm\",\"from\":\"kvm1\",\"to\":\"kvm2\","
                    + "\"memoryTotalBytes\":1073741824,\"memoryRemainingBytes\":268435456,"
                    + "\"dataTotalBytes\":1073750016,\"dataProcessedBytes\":805306368,"
                    + "\"dataRemainingBytes\":268443648,\"elapsedMs\":2500,\"expectedDowntimeMs\":48,"
                    + "\"updatedAt\":\"2026-12-07T13:00:00.500Z\"}", String.valueOf(m));
            JsonNode all = json(get("/api/v1/groups", READ)).get("groups");
            assertEquals("web", all.get(1).get("name").asText());
            assertEquals(268435456L, all.get(1).get("migration").get("memoryRemainingBytes").asLong());
            assertFalse(all.get(0).has("migration"), "db does not move");
            // the SSE clients get it as a state change
            await().atMost(Duration.ofSeconds(10)).until(() -> got.stream().anyMatch(l -> l.startsWith("data: ")
                    && l.contains("\"memoryRemainingBytes\":268435456")));

            source.clearProgress("web"); // the move ended
            assertFalse(json(get("/api/v1/groups/web", READ)).has("migration"));
            source.putProgress(new io.havm.engine.MoveProgress("web", "web-vm", "live", "kvm1", "kvm2", 1L << 30,
                    1L << 20, 1L << 30, 1L << 30, 1L << 20, 3_000, 30, at.plusMillis(500)));
            assertTrue(json(get("/api/v1/groups/web", READ)).has("migration"));
        } finally {
            sourceZk.close(); // the source agent's session ends: its progress with it
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !json(get("/api/v1/groups/web", READ)).has("migration"));
        api.close();
        reader.join(10_000);
    }

    @Test
    void theOpenApiDocumentDescribesEveryRouteAndNoOther() throws Exception {
        JsonNode doc = json(get("/api/v1/openapi.json", null));
        Set<String> documented = new HashSet<>();
        doc.get("paths").fields().forEachRemaining(p -> p.getValue().fieldNames()
                .forEachRemaining(m -> documented.add(m.toUpperCase() + " " + p.getKey())));
        Set<String> served = new HashSet<>();
        for (ApiServer.Route r : api.routes()) {
            served.add(r.method() + " " + r.path());
            JsonNode op = doc.get("paths").get(r.path()).get(r.method().toLowerCase());
            String scope = op.has("x-havm-scope") ? op.get("x-havm-scope").asText() : null;
            assertEquals(r.scope() == null ? null : r.scope().word(), scope, r.toString());
        }
        assertEquals(new java.util.TreeSet<>(served), new java.util.TreeSet<>(documented));
        assertNull(null);
    }
}
