package io.havm.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.havm.engine.Codec;
import io.havm.model.ApiSpec;
import io.havm.model.ClusterSpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The command line's way to the cluster through an agent's REST API: a write becomes an
 * operation the CLI follows to its end, instead of an input left in ZooKeeper. Used when the
 * configuration has {@code cluster.api}, a token is at hand ({@code HAVM_API_TOKEN}, or the
 * configuration's tokens file where this user may read it: on a cluster host, as root) and an
 * agent answers; otherwise the command goes to the cluster store directly, as before.
 *
 * <p>TLS trusts the configuration's API certificate when it is readable here (the cluster's own),
 * else the system's trust store. Agents are tried in the configuration's order, each connection
 * bounded at one second, so a host that is down costs at most that.
 */
final class ApiClient {
    static final Duration CONNECT = Duration.ofSeconds(1);
    /** How often an operation is asked about while the CLI follows it. */
    static final Duration POLL = Duration.ofMillis(100);

    private final HttpClient http;
    private final List<String> urls;
    private final String token;

    private ApiClient(HttpClient http, List<String> urls, String token) {
        this.http = http;
        this.urls = urls;
        this.token = token;
    }

    /** An answer of the API: its status and JSON body. */
    record Answer(int status, JsonNode body, String url) {}

    /** Thrown when no agent answered: the caller goes to the cluster store instead. */
    static final class Unreachable extends Exception {
        Unreachable(String why) {
            super(why);
        }
    }

    /**
     * A client for {@code spec}'s API with a token of at least {@code scope} (operator, admin), or
     * empty: no API configured, or no token at hand.
     */
    static Optional<ApiClient> of(ClusterSpec spec, String scope, Map<String, String> env) {
        ApiSpec api = spec.api();
        if (api == null) {
            return Optional.empty();
        }
        String token = env.get("HAVM_API_TOKEN");
        if (token == null || token.isBlank()) {
            token = tokenFrom(api.tokens(), scope);
        }
        if (token == null) {
            return Optional.empty();
        }
        List<String> urls = new ArrayList<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            String u = api.urls().get(n.name());
            if (u != null) {
                urls.add(u.endsWith("/") ? u.substring(0, u.length() - 1) : u);
            }
        }
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(CONNECT);
        if (api.tls() && api.certificate() != null && Files.isReadable(api.certificate())) {
            b.sslContext(trusting(api.certificate()));
        }
        return Optional.of(new ApiClient(b.build(), urls, token.strip()));
    }

    /** The first token of {@code scope} or above in the tokens file, if this user may read it. */
    static String tokenFrom(Path tokens, String scope) {
        if (tokens == null || !Files.isReadable(tokens)) {
            return null;
        }
        List<String> enough = scope.equals("admin") ? List.of("admin") : List.of("operator", "admin");
        try {
            for (String scopeWanted : enough) {
                for (String line : Files.readAllLines(tokens)) {
                    String[] f = line.strip().split("\\s+");
                    if (f.length == 3 && f[0].equals(scopeWanted)) {
                        return f[2];
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    private static SSLContext trusting(Path certificate) {
        try (InputStream in = Files.newInputStream(certificate)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            ks.setCertificateEntry("havm-api", CertificateFactory.getInstance("X.509").generateCertificate(in));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new io.havm.model.InvalidInputException(certificate.toString(), "is not a PEM certificate the API"
                    + " client can trust: " + e.getMessage());
        }
    }

    /** POSTs {@code body} (null: none) to {@code path} on the first agent that answers. */
    Answer post(String path, Map<String, Object> body) throws Unreachable, InterruptedException {
        String json = body == null ? "" : Codec.json().valueToTree(body).toString();
        return send(u -> HttpRequest.newBuilder(URI.create(u + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    /** GETs {@code path} from the first agent that answers. */
    Answer get(String path) throws Unreachable, InterruptedException {
        return send(u -> HttpRequest.newBuilder(URI.create(u + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + token).GET().build());
    }

    private Answer send(java.util.function.Function<String, HttpRequest> request)
            throws Unreachable, InterruptedException {
        List<String> why = new ArrayList<>();
        for (String u : urls) {
            try {
                HttpResponse<String> r = http.send(request.apply(u), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 503) { // that agent is cut off from ZooKeeper: another may not be
                    why.add(u + ": 503");
                    continue;
                }
                JsonNode body;
                try {
                    body = Codec.json().readTree(r.body().isEmpty() ? "{}" : r.body());
                } catch (IOException e) {
                    body = Codec.json().createObjectNode().put("error", r.body());
                }
                return new Answer(r.statusCode(), body, u);
            } catch (IOException e) {
                why.add(u + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
            }
        }
        throw new Unreachable(String.join("; ", why));
    }

    /**
     * Follows operation {@code id} until it succeeded or failed (or {@code within} passed), telling
     * {@code change} of every new state or message; the last answer.
     */
    JsonNode follow(String id, Duration within, Consumer<JsonNode> change) throws Unreachable, InterruptedException {
        Instant end = Instant.now().plus(within);
        String said = null;
        while (true) {
            Answer a = get("/api/v1/operations/" + id);
            JsonNode op = a.body();
            String now = op.path("state").asText() + " " + op.path("message").asText();
            if (!now.equals(said)) {
                change.accept(op);
                said = now;
            }
            String state = op.path("state").asText();
            if (a.status() != 200 || state.equals("succeeded") || state.equals("failed")
                    || Instant.now().isAfter(end)) {
                return op;
            }
            Thread.sleep(POLL.toMillis());
        }
    }
}
