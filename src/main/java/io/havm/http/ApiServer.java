package io.havm.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.engine.MoveProgress;
import io.havm.engine.Codec;
import io.havm.engine.ConfigStore;
import io.havm.policy.Requests;
import io.havm.model.ApiSpec;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.Input;
import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.sse.SseClient;
import io.javalin.http.staticfiles.Location;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API every agent serves ({@code cluster.api}), under {@code /api/v1}; the OpenAPI
 * document {@code /api/v1/openapi.json} describes it. Reads come from the cluster store in
 * ZooKeeper (the coordinator's state and timeline, the configuration in force, the members), so
 * every agent answers the same. Writes are checked as the CLI checks them ({@link Requests}) and
 * submitted as inputs to the cluster store, which the coordinator consumes: that hand-off is how
 * a write reaches the coordinator, whichever agent took it. Each write is an {@link Operation}
 * stored under {@code operations/}, followed to its end ({@link OperationTracker}).
 *
 * <p>Every call but {@code GET /healthz}, the OpenAPI document and the dashboard's files needs
 * {@code Authorization: Bearer TOKEN} of a scope that allows it ({@link Tokens}): 401 without a
 * known token, 403 under-scoped, and nothing is submitted on any refusal.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    /** The largest request body read. */
    static final int MAX_BODY = 64 * 1024;
    static final String BASE = "/api/v1";
    /** How often the follower looks at the store when nothing woke it. */
    static final long POLL_MS = 500;
    static final long KEEP_ALIVE_MS = 15_000;

    /** A route the server registers, and who may call it (null: anyone). */
    public record Route(String method, String path, Tokens.Scope scope) {}

    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final ApiSpec api;
    private final String node;
    private final ZkCoordination zk;
    private final ClusterSpec fallback;
    private final Supplier<MetricSnapshots> metrics;
    private final Consumer<String> log;
    private final ClusterStore store;
    private final ConfigStore configs;
    private final OperationStore operations;
    private final OperationTracker tracker;
    private final List<Route> routes = new ArrayList<>();
    private final List<Stream> streams = new CopyOnWriteArrayList<>();
    private final Object wake = new Object();
    private volatile String zkState = "connected";
    private volatile boolean closed;
    private Tokens tokens;
    private Javalin app;
    private Thread follower;
    private int port;
    /** The configuration in force as last parsed, with its version. */
    private volatile long specVersion = -1;
    private volatile ClusterSpec spec;

    /**
     * @param api the configuration's {@code cluster.api}
     * @param node this agent's node
     * @param fallback the configuration to answer with while the cluster store holds none
     * @param metrics what {@code GET /metrics} exposes
     */
    public ApiServer(ApiSpec api, String node, ZkCoordination zk, ClusterSpec fallback,
            Supplier<MetricSnapshots> metrics, Consumer<String> log) {
        this.api = api;
        this.node = node;
        this.zk = zk;
        this.fallback = fallback;
        this.spec = fallback;
        this.metrics = metrics;
        this.log = log;
        this.store = new ClusterStore(zk, node + "-api", Clock.SYSTEM);
        this.configs = new ConfigStore(zk);
        this.operations = new OperationStore(zk, node);
        this.tracker = new OperationTracker(operations, node, log);
    }

    /**
     * Reads the tokens (and the TLS files), then listens.
     *
     * @throws InvalidInputException naming the file and line of a bad token, certificate or key
     */
    public synchronized ApiServer start() {
        tokens = Tokens.load(api.tokens());
        org.eclipse.jetty.util.ssl.SslContextFactory.Server ssl = api.tls() ? Pem.sslContext(api.certificate(),
                api.key()) : null;
        app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.http.maxRequestSize = MAX_BODY;
            config.jetty.addConnector((server, http) -> {
                ServerConnector c;
                if (ssl != null) {
                    SecureRequestCustomizer src = new SecureRequestCustomizer();
                    src.setSniHostCheck(false); // clients check the name; one certificate here
                    http.addCustomizer(src);
                    c = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"),
                            new HttpConnectionFactory(http));
                } else {
                    c = new ServerConnector(server, new HttpConnectionFactory(http));
                }
                c.setHost(api.address());
                c.setPort(api.port());
                return c;
            });
            config.staticFiles.add(s -> {
                s.hostedPath = "/";
                s.directory = "/io/havm/http/dashboard";
                s.location = Location.CLASSPATH;
            });
            routes(config.routes);
            config.routes.exception(ApiError.class, (e, ctx) -> error(ctx, e));
            // Javalin's own answers (no such endpoint, a method the path does not take) in the API's shape
            config.routes.exception(io.javalin.http.HttpResponseException.class, (e, ctx) -> error(ctx,
                    new ApiError(e.getStatus(), e.getStatus() == 404 ? "no endpoint " + ctx.method() + " "
                            + ctx.path() + " (the endpoints are in /api/v1/openapi.json)" : e.getMessage(), null)));
            config.routes.exception(Requests.Unknown.class, (e, ctx) -> error(ctx, new ApiError(404, e.getMessage(),
                    e.kind(), null, e.known())));
            config.routes.exception(InvalidInputException.class, (e, ctx) -> error(ctx, new ApiError(400,
                    e.getMessage(), e.where())));
            config.routes.exception(io.havm.coordination.CoordinationException.class, (e, ctx) -> {
                log.accept(node + " api: " + ctx.method() + " " + ctx.path() + ": the cluster store does not answer: "
                        + e.getMessage());
                error(ctx, new ApiError(503, "the cluster store (ZooKeeper) does not answer: " + e.getMessage(), null));
            });
            config.routes.exception(Exception.class, (e, ctx) -> {
                LOG.warn("{} api: {} {} failed", node, ctx.method(), ctx.path(), e);
                log.accept(node + " api: " + ctx.method() + " " + ctx.path() + " failed: " + e);
                error(ctx, new ApiError(500, "internal error (" + e.getClass().getSimpleName() + "); the agent's log"
                        + " has the details", null));
            });
        });
        app.start();
        for (org.eclipse.jetty.server.Connector c : app.jettyServer().server().getConnectors()) {
            if (c instanceof ServerConnector sc) {
                port = sc.getLocalPort();
            }
        }
        zk.onConnectionState(s -> {
            zkState = switch (s) {
                case CONNECTED, RECONNECTED -> "connected";
                case SUSPENDED -> "suspended";
                case LOST -> "lost";
            };
            poke();
        });
        for (String key : List.of("events", "state", ClusterStore.PROGRESS, OperationStore.ROOT)) {
            zk.watchChildren(key, this::poke);
        }
        follower = new Thread(this::follow, "havm-api-" + node);
        follower.setDaemon(true);
        follower.start();
        log.accept(node + " api: serving " + (api.tls() ? "https" : "http") + " on "
                + (api.address() == null ? "every address" : api.address()) + " port " + port + " ("
                + tokens.size() + " token" + (tokens.size() == 1 ? "" : "s") + ")");
        return this;
    }

    /**
     * What an agent does at start: serves the API {@code spec} configures, or says it serves none.
     * A server that cannot start (a bad tokens file, certificate or key, a port in use) is said in
     * one line and the agent runs on without it: the API is no reason to stop protecting VMs.
     *
     * @return the running server, or null
     */
    public static ApiServer startFor(ClusterSpec spec, String node, ZkCoordination zk,
            Supplier<MetricSnapshots> metrics, Consumer<String> log) {
        if (spec.api() == null) {
            log.accept(node + " api: none (the configuration has no cluster.api)");
            return null;
        }
        ApiServer s = new ApiServer(spec.api(), node, zk, spec, metrics, log);
        try {
            return s.start();
        } catch (RuntimeException e) {
            s.close();
            log.accept(node + " api: not serving: " + (e instanceof InvalidInputException ? e.getMessage()
                    : e.toString()));
            return null;
        }
    }

    /** The port it listens on (the configured one, or the one chosen for port 0). */
    public int port() {
        return port;
    }

    /** Every route, in the order registered. */
    public List<Route> routes() {
        return List.copyOf(routes);
    }

    @Override
    public synchronized void close() {
        closed = true;
        poke();
        if (follower != null) {
            follower.interrupt();
            try {
                follower.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Stream s : streams) {
            s.client.close();
        }
        if (app != null) {
            app.stop();
        }
    }

    private void poke() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    // ------------------------------------------------------------------ routes

    private void route(io.javalin.config.RoutesConfig r, HandlerType method, String path, Tokens.Scope scope,
            Handler h) {
        routes.add(new Route(method.name(), path, scope));
        boolean store = scope != null && path.startsWith(BASE);
        r.addHttpHandler(method, path, scope == null ? h : ctx -> {
            authorize(ctx, scope);
            if (store) {
                requireStore();
            }
            h.handle(ctx);
        });
    }

    private void routes(io.javalin.config.RoutesConfig r) {
        route(r, HandlerType.GET, "/healthz", null, ctx -> json(ctx, 200, ordered("status", "ok", "node", node)));
        route(r, HandlerType.GET, BASE + "/openapi.json", null, ctx -> {
            try (InputStream in = ApiServer.class.getResourceAsStream("openapi.json")) {
                ctx.contentType("application/json").result(in.readAllBytes());
            }
        });
        route(r, HandlerType.GET, BASE + "/cluster", Tokens.Scope.READ, ctx -> json(ctx, 200, cluster()));
        route(r, HandlerType.GET, BASE + "/nodes", Tokens.Scope.READ, ctx -> json(ctx, 200, nodes(state(),
                specInForce())));
        route(r, HandlerType.GET, BASE + "/nodes/{node}", Tokens.Scope.READ, ctx -> {
            ClusterSpec sp = specInForce();
            String n = ctx.pathParam("node");
            Requests.requireNode(sp, "node", n);
            json(ctx, 200, node(sp, state(), zk.members(), n));
        });
        route(r, HandlerType.GET, BASE + "/groups", Tokens.Scope.READ, ctx -> json(ctx, 200, groups(state(),
                specInForce())));
        route(r, HandlerType.GET, BASE + "/groups/{group}", Tokens.Scope.READ, ctx -> {
            String g = ctx.pathParam("group");
            ClusterSpec sp = specInForce();
            ClusterState st = state();
            json(ctx, 200, group(g, sp, st, sp.groups().containsKey(g) ? migrations() : Map.of()));
        });
        route(r, HandlerType.GET, BASE + "/events", Tokens.Scope.READ, this::events);
        route(r, HandlerType.GET, BASE + "/incidents", Tokens.Scope.READ, ctx -> json(ctx, 200,
                Map.of("incidents", Incidents.of(lines()))));
        route(r, HandlerType.GET, BASE + "/operations", Tokens.Scope.READ, ctx -> {
            List<Operation> all = new ArrayList<>();
            operations.all().forEach(s -> all.add(s.op()));
            json(ctx, 200, Map.of("operations", all));
        });
        route(r, HandlerType.GET, BASE + "/operations/{id}", Tokens.Scope.READ, ctx -> {
            String id = ctx.pathParam("id");
            if (!id.matches("[0-9]{13}-[A-Za-z0-9_.-]{1,64}-[0-9]{1,19}")) {
                throw new ApiError(404, "no operation '" + id + "' (an id looks like 1765110000000-kvm1-1)", "id");
            }
            Operation op = operations.get(id).map(OperationStore.Stored::op)
                    .orElseThrow(() -> new ApiError(404, "no operation '" + id + "'", "id"));
            json(ctx, 200, op);
        });
        route(r, HandlerType.GET, "/metrics", Tokens.Scope.READ, ctx -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrometheusTextFormatWriter.create().write(out, metrics.get());
            ctx.contentType(PrometheusTextFormatWriter.CONTENT_TYPE).result(out.toByteArray());
        });
        for (String verb : Requests.GROUP_VERBS) {
            route(r, HandlerType.POST, BASE + "/groups/{group}/" + verb, Tokens.Scope.OPERATOR,
                    ctx -> write(ctx, "group", verb, ctx.pathParam("group")));
        }
        for (String verb : Requests.NODE_VERBS) {
            route(r, HandlerType.POST, BASE + "/nodes/{node}/" + verb, verb.equals("shutdown") ? Tokens.Scope.ADMIN
                    : Tokens.Scope.OPERATOR, ctx -> write(ctx, "node", verb, ctx.pathParam("node")));
        }
        routes.add(new Route("GET", BASE + "/events/stream", Tokens.Scope.READ));
        r.before(BASE + "/events/stream", ctx -> {
            authorize(ctx, Tokens.Scope.READ);
            requireStore();
            String accept = ctx.header("Accept");
            if (accept == null || !accept.contains("text/event-stream")) {
                throw new ApiError(406, "this is a server-sent event stream: send Accept: text/event-stream",
                        "Accept", List.of("text/event-stream"), null);
            }
        });
        r.sse(BASE + "/events/stream", this::stream);
    }

    /**
     * 503 at once while this agent's ZooKeeper session is suspended or lost, rather than a call
     * that waits for the client's retries: nothing can be read or submitted then.
     */
    private void requireStore() {
        String z = zkState;
        if (!z.equals("connected")) {
            throw new ApiError(503, "the cluster store (ZooKeeper) does not answer: this agent's session is " + z
                    + "; ask another agent, or retry", null);
        }
    }

    private Tokens.Holder authorize(Context ctx, Tokens.Scope scope) {
        String h = ctx.header("Authorization");
        String token = h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).strip() : null;
        Optional<Tokens.Holder> who = tokens.holder(token);
        if (who.isEmpty()) {
            ctx.header("WWW-Authenticate", "Bearer realm=\"havm\"" + (token == null ? "" : ", error=\"invalid_token\""));
            throw new ApiError(401, h == null ? "a bearer token is required (Authorization: Bearer TOKEN)"
                    : token == null ? "the Authorization header must be 'Bearer TOKEN'" : "unknown token",
                    "Authorization");
        }
        if (!who.get().scope().allows(scope)) {
            throw new ApiError(403, "this needs a token of scope " + scope.word() + " or above; "
                    + who.get().name() + "'s is " + who.get().scope().word(), "Authorization");
        }
        ctx.attribute("havm.holder", who.get());
        return who.get();
    }

    // ------------------------------------------------------------------ reads

    private ClusterState state() {
        return store.state().orElse(null);
    }

    /** The configuration in force: parsed again only when its version changed. */
    ClusterSpec specInForce() {
        Optional<Long> v = configs.currentNumber();
        if (v.isEmpty()) {
            return fallback;
        }
        if (v.get() != specVersion) {
            synchronized (this) {
                if (v.get() != specVersion) {
                    spec = io.havm.config.ClusterConfigLoader.parse(configs.version(v.get()).files()).spec();
                    specVersion = v.get();
                }
            }
        }
        return spec;
    }

    private Map<String, Object> cluster() {
        ClusterState s = state();
        ClusterSpec sp = specInForce();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", sp.name());
        m.put("configVersion", configs.currentNumber().orElse(null));
        m.put("formed", s != null && s.formed());
        m.put("coordinator", zk.leader().orElse(null));
        m.put("epoch", zk.currentEpoch());
        m.put("members", zk.members());
        m.put("zookeeper", zkState);
        m.put("node", node);
        return m;
    }

    private Map<String, Object> nodes(ClusterState s, ClusterSpec sp) {
        Set<String> members = zk.members();
        List<Object> out = new ArrayList<>();
        for (String n : sp.nodeNames()) {
            out.add(node(sp, s, members, n));
        }
        return Map.of("nodes", out);
    }

    private Map<String, Object> node(ClusterSpec sp, ClusterState s, Set<String> members, String name) {
        ClusterState.Node n = s == null ? null : s.nodes().get(name);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("status", n == null ? "unknown" : n.status().word());
        m.put("member", members.contains(name));
        m.put("paused", n != null && n.paused());
        m.put("draining", n != null && n.draining());
        m.put("unresponsive", n != null && n.unresponsive());
        List<String> groups = new ArrayList<>();
        if (s != null) {
            s.groups().values().forEach(g -> {
                if (name.equals(g.node())) {
                    groups.add(g.name());
                }
            });
        }
        m.put("groups", groups);
        if (sp.api() != null && sp.api().urls().containsKey(name)) {
            m.put("api", sp.api().urls().get(name));
        }
        return m;
    }

    private Map<String, Object> groups(ClusterState s, ClusterSpec sp) {
        Map<String, MoveProgress> moving = migrations();
        List<Object> out = new ArrayList<>();
        for (String g : sp.groups().keySet()) {
            out.add(group(g, sp, s, moving));
        }
        return Map.of("groups", out);
    }

    /** The live migrations under way as their source agents publish them, by group. */
    private Map<String, MoveProgress> migrations() {
        return store.progress();
    }

    /** A live migration's progress as the API shows it. */
    private static Map<String, Object> migration(MoveProgress p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", p.mode());
        m.put("domain", p.domain());
        m.put("from", p.from());
        m.put("to", p.to());
        m.put("memoryTotalBytes", p.memoryTotalBytes());
        m.put("memoryRemainingBytes", p.memoryRemainingBytes());
        m.put("dataTotalBytes", p.dataTotalBytes());
        m.put("dataProcessedBytes", p.dataProcessedBytes());
        m.put("dataRemainingBytes", p.dataRemainingBytes());
        m.put("elapsedMs", p.elapsedMs());
        m.put("expectedDowntimeMs", p.expectedDowntimeMs());
        m.put("updatedAt", p.updatedAt() == null ? null : p.updatedAt().toString());
        return m;
    }

    private Map<String, Object> group(String name, ClusterSpec sp, ClusterState s, Map<String, MoveProgress> moving) {
        io.havm.model.GroupSpec gs = sp.groups().get(name);
        if (gs == null) {
            throw new ApiError(404, "unknown group '" + name + "' (groups: " + String.join(", ", sp.groups().keySet())
                    + ")", "group", null, List.copyOf(sp.groups().keySet()));
        }
        ClusterState.Group g = s == null ? null : s.groups().get(name);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("phase", g == null ? "unknown" : g.phase().word());
        m.put("node", g == null ? null : g.node());
        if (g != null && g.work() instanceof ClusterState.Moving mv) {
            m.put("from", mv.from());
            m.put("mode", mv.mode().word);
        }
        m.put("wantOnline", g == null ? null : g.wantOnline());
        MoveProgress p = moving.get(name);
        if (p != null) {
            m.put("migration", migration(p)); // absent when no live migration of it is under way
        }
        List<Object> res = new ArrayList<>();
        gs.resources().values().forEach(r -> res.add(ordered("name", r.name(), "kind",
                r.type().name().toLowerCase(java.util.Locale.ROOT))));
        m.put("resources", res);
        if (!gs.antiAffinity().isEmpty()) {
            List<Object> aa = new ArrayList<>();
            gs.antiAffinity().forEach(a -> aa.add(ordered("class", a.className(), "hard", a.hard())));
            m.put("antiAffinity", aa);
        }
        return m;
    }

    /** A JSON object whose fields come in the order given. */
    private static Map<String, Object> ordered(String k1, Object v1, String k2, Object v2) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }

    private List<EventLine> lines() {
        ClusterStore.Timeline t = store.timeline();
        List<String> raw = t.lines();
        List<EventLine> out = new ArrayList<>(raw.size());
        for (int i = 0; i < raw.size(); i++) {
            out.add(EventLine.parse(t.first() + i, raw.get(i))); // a line's number stays once older ones are pruned
        }
        return out;
    }

    static Map<String, Object> event(EventLine e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", e.seq());
        m.put("time", e.time());
        m.put("text", e.text());
        if (e.group() != null) {
            m.put("group", e.group());
        }
        if (e.node() != null) {
            m.put("node", e.node());
        }
        m.put("raw", e.raw());
        return m;
    }

    private void events(Context ctx) {
        for (String q : ctx.queryParamMap().keySet()) {
            if (!Set.of("since", "group", "node", "limit").contains(q)) {
                throw new ApiError(400, "unknown query parameter '" + q + "'", q, List.of("since", "group", "node",
                        "limit"), null);
            }
        }
        long since = number(ctx, "since", 0, 0, Long.MAX_VALUE);
        long limit = number(ctx, "limit", 1000, 1, 10_000);
        String group = ctx.queryParam("group");
        String node = ctx.queryParam("node");
        List<Object> out = new ArrayList<>();
        long next = since;
        for (EventLine e : lines()) { // next: the last line looked at, so that a filtered read moves on
            if (e.seq() <= since) {
                continue;
            }
            if (out.size() >= limit) {
                break;
            }
            next = e.seq();
            if ((group == null || group.equals(e.group())) && (node == null || node.equals(e.node()))) {
                out.add(event(e));
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("events", out);
        m.put("next", next);
        json(ctx, 200, m);
    }

    private static long number(Context ctx, String name, long dflt, long min, long max) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return dflt;
        }
        try {
            long x = Long.parseLong(v);
            if (x >= min && x <= max) {
                return x;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new ApiError(400, name + " '" + v + "' is not a whole number in " + min + ".."
                + (max == Long.MAX_VALUE ? "" : max), name, List.of(min + ".." + (max == Long.MAX_VALUE ? "" : max)),
                null);
    }

    // ------------------------------------------------------------------ writes

    private void write(Context ctx, String noun, String verb, String name) throws IOException {
        Tokens.Holder who = ctx.attribute("havm.holder");
        JsonNode body = body(ctx);
        Map<String, Object> params = new LinkedHashMap<>();
        Input in;
        ClusterSpec sp = specInForce();
        if (noun.equals("group")) {
            Set<String> allowed = verb.equals("move") ? Set.of("to", "mode") : Set.of();
            fields(body, allowed);
            String to = text(body, "to");
            String mode = text(body, "mode");
            if (verb.equals("move")) {
                if (to == null) {
                    if (!sp.groups().containsKey(name)) {
                        in = Requests.group(sp, "group", verb, name, to, "to", mode, "mode"); // 404 first
                    }
                    throw new ApiError(400, "to: is required: the node to move " + name + " to", "to",
                            sp.nodeNames(), null);
                }
                if (mode != null && Arrays.stream(MoveMode.values()).noneMatch(m -> m.word.equals(mode))) {
                    throw new ApiError(400, "mode: '" + mode + "' is not allowed (allowed: live, quick, offline)",
                            "mode", List.of("live", "quick", "offline"), null);
                }
                params.put("to", to);
                params.put("mode", mode == null ? "live" : mode);
            }
            in = Requests.group(sp, "group", verb, name, to, "to", mode, "mode");
        } else {
            fields(body, verb.equals("resume") ? Set.of("failback") : Set.of());
            JsonNode fb = body == null ? null : body.get("failback");
            if (fb != null && !fb.isBoolean()) {
                throw new ApiError(400, "failback: must be true or false", "failback", List.of("true", "false"), null);
            }
            boolean failback = fb != null && fb.asBoolean();
            if (verb.equals("resume")) {
                params.put("failback", failback);
            }
            in = Requests.node(sp, "node", verb, name, failback);
        }
        ClusterState s = state();
        Instant now = Instant.now();
        ClusterStore.Timeline timeline = store.timeline();
        long eventsAt = timeline.first() - 1 + timeline.lines().size(); // the number of its last line
        Operation op = new Operation(operations.newId(now), verb, name, params, Operation.PENDING,
                "submitted to the coordinator", Map.of(), now, now, who.name(), node,
                OperationTracker.deadline(sp, s, verb, name, now), eventsAt);
        operations.create(op);
        try {
            store.submit(in);
        } catch (RuntimeException e) {
            operations.get(op.id()).ifPresent(st -> operations.update(st.op().with(Operation.FAILED,
                    "could not be submitted: " + e.getMessage(), Map.of(), Instant.now()), st.version()));
            throw e;
        }
        log.accept(node + " api: " + who.name() + " (" + who.scope().word() + "): " + noun + " " + verb + " " + name
                + (params.isEmpty() ? "" : " " + params) + ": submitted as operation " + op.id());
        poke();
        ctx.header("Location", BASE + "/operations/" + op.id());
        json(ctx, 202, op);
    }

    /** The request's JSON object, or null when it has no body; 413 over {@link #MAX_BODY}. */
    private static JsonNode body(Context ctx) throws IOException {
        long declared = ctx.req().getContentLengthLong();
        if (declared > MAX_BODY) {
            discard(ctx);
            throw new ApiError(413, "the body is " + declared + " bytes: at most " + MAX_BODY + " are read", "body");
        }
        byte[] b = ctx.req().getInputStream().readNBytes(MAX_BODY + 1);
        if (b.length > MAX_BODY) {
            discard(ctx);
            throw new ApiError(413, "the body is over " + MAX_BODY + " bytes: at most " + MAX_BODY + " are read", "body");
        }
        if (new String(b, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
            return null;
        }
        JsonNode n;
        try {
            n = STRICT.readTree(b);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new ApiError(400, "the body is not JSON" + (loc == null ? "" : " (line " + loc.getLineNr()
                    + ", column " + loc.getColumnNr() + ")") + ": " + e.getOriginalMessage(), "body");
        }
        if (!(n instanceof ObjectNode)) {
            throw new ApiError(400, "the body must be a JSON object", "body");
        }
        return n;
    }

    /**
     * Reads and drops the rest of a body too large (up to {@link #DISCARD} bytes), so that a client
     * still sending it reads the 413 instead of a connection closed under it.
     */
    private static void discard(Context ctx) throws IOException {
        InputStream in = ctx.req().getInputStream();
        long left = DISCARD;
        byte[] buf = new byte[8192];
        int n;
        while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
            left -= n;
        }
    }

    /** The most of a refused body read and dropped; beyond it the connection is closed under the client. */
    static final long DISCARD = 4L * 1024 * 1024;

    private static void fields(JsonNode body, Set<String> allowed) {
        if (body == null) {
            return;
        }
        var it = body.fieldNames();
        while (it.hasNext()) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new ApiError(400, f + ": unknown field" + InvalidInputException.didYouMean(f, allowed)
                        + " (allowed: " + (allowed.isEmpty() ? "none" : String.join(", ", new TreeSet<>(allowed))) + ")",
                        f, List.copyOf(new TreeSet<>(allowed)), null);
            }
        }
    }

    private static String text(JsonNode body, String field) {
        JsonNode n = body == null ? null : body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new ApiError(400, field + ": must be a string", field);
        }
        return n.asText();
    }

    // ------------------------------------------------------------------ answers

    private static void json(Context ctx, int status, Object body) {
        ctx.status(status).contentType("application/json").result(Codec.json().valueToTree(body).toString());
    }

    private static void error(Context ctx, ApiError e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", e.getMessage());
        if (e.field != null) {
            m.put("field", e.field);
        }
        if (e.allowed != null) {
            m.put("allowed", e.allowed);
        }
        if (e.known != null) {
            m.put("known", e.known);
        }
        json(ctx, e.status, m);
    }

    // ------------------------------------------------------------------ live events, operations

    /** One SSE client and the last timeline line it was sent. */
    private static final class Stream {
        final SseClient client;
        volatile long lastSeq;
        volatile String lastState;

        Stream(SseClient client, long lastSeq) {
            this.client = client;
            this.lastSeq = lastSeq;
        }
    }

    private void stream(SseClient client) {
        try {
            open(client);
        } catch (RuntimeException e) {
            LOG.warn("{} api: event stream failed", node, e);
            log.accept(node + " api: an event stream failed: " + e);
            client.close();
        }
    }

    private void open(SseClient client) {
        long from;
        String last = client.ctx().header("Last-Event-ID");
        List<EventLine> lines = lines();
        if (last != null && last.matches("[0-9]{1,18}")) {
            from = Long.parseLong(last);
        } else {
            from = lines.isEmpty() ? 0 : lines.get(lines.size() - 1).seq(); // new lines only
        }
        client.keepAlive();
        Stream s = new Stream(client, from);
        client.onClose(() -> streams.remove(s));
        synchronized (s) {
            sendLines(s, lines);
            String st = snapshot();
            s.lastState = st;
            client.sendEvent("state", st);
        }
        streams.add(s);
        poke();
    }

    private void sendLines(Stream s, List<EventLine> lines) {
        for (EventLine e : lines) {
            if (e.seq() > s.lastSeq) {
                s.client.sendEvent("timeline", Codec.json().valueToTree(event(e)).toString(), Long.toString(e.seq()));
                s.lastSeq = e.seq();
            }
        }
    }

    /** The /cluster, /nodes and /groups answers as one JSON document. */
    private String snapshot() {
        ClusterState s = state();
        ClusterSpec sp = specInForce();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cluster", cluster());
        m.put("nodes", nodes(s, sp).get("nodes"));
        m.put("groups", groups(s, sp).get("groups"));
        return Codec.json().valueToTree(m).toString();
    }

    /**
     * The follower: on every change the store reports (or every {@link #POLL_MS}), follows the
     * operations and sends the SSE clients what is new.
     */
    private void follow() {
        Map<String, Integer> opVersions = new java.util.HashMap<>();
        long lastKeepAlive = System.currentTimeMillis();
        while (!closed) {
            try {
                ClusterState s = state();
                List<EventLine> lines = lines();
                tracker.step(s, lines, zk.members(), Instant.now());
                if (!streams.isEmpty()) {
                    String snap = snapshot();
                    List<OperationStore.Stored> ops = operations.all();
                    List<String> changed = new ArrayList<>();
                    for (OperationStore.Stored o : ops) {
                        Integer before = opVersions.put(o.op().id(), o.version());
                        if (before == null || before != o.version()) {
                            changed.add(Codec.json().valueToTree(o.op()).toString());
                        }
                    }
                    boolean keepAlive = System.currentTimeMillis() - lastKeepAlive > KEEP_ALIVE_MS;
                    for (Stream st : streams) {
                        if (st.client.terminated()) {
                            streams.remove(st);
                            continue;
                        }
                        synchronized (st) {
                            sendLines(st, lines);
                            if (!snap.equals(st.lastState)) {
                                st.client.sendEvent("state", snap);
                                st.lastState = snap;
                            }
                            changed.forEach(o -> st.client.sendEvent("operation", o));
                            if (keepAlive) {
                                st.client.sendComment("keep-alive");
                            }
                        }
                    }
                    if (keepAlive) {
                        lastKeepAlive = System.currentTimeMillis();
                    }
                } else {
                    operations.all().forEach(o -> opVersions.put(o.op().id(), o.version()));
                }
            } catch (RuntimeException e) {
                if (!closed) {
                    LOG.debug("{} api follower", node, e);
                }
            }
            synchronized (wake) {
                if (closed) {
                    break;
                }
                try {
                    wake.wait(POLL_MS);
                } catch (InterruptedException e) {
                    break;
                }
            }
        }
    }
}
