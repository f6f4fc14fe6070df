package io.havm.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.havm.engine.Codec;
import io.havm.model.ApiSpec;
import io.havm.model.ClusterSpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
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
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
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
    static final Duration POLL = Duration.ofMillis(50);

    /** How long an agent may take to answer one request. */
    static final Duration READ = Duration.ofSeconds(10);

    private final SSLSocketFactory tls;
    private final List<String> urls;
    private final String token;

    private ApiClient(SSLSocketFactory tls, List<String> urls, String token) {
        this.tls = tls;
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
        SSLSocketFactory tls = null; // null: the system's trust store, as any HTTPS client
        if (api.tls() && api.certificate() != null && Files.isReadable(api.certificate())) {
            tls = trustingCached(api.certificate());
        }
        return Optional.of(new ApiClient(tls, urls, token.strip()));
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

    /** TLS contexts by certificate file and version: a resident client's commands resume their TLS sessions. */
    private static final java.util.concurrent.ConcurrentHashMap<String, SSLSocketFactory> CONTEXTS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static SSLSocketFactory trustingCached(Path certificate) {
        String key;
        try {
            key = certificate.toAbsolutePath() + " " + Files.getLastModifiedTime(certificate).toMillis() + " "
                    + Files.size(certificate);
        } catch (IOException e) {
            return trusting(certificate).getSocketFactory();
        }
        return CONTEXTS.computeIfAbsent(key, k -> trusting(certificate).getSocketFactory());
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
    Answer post(String path, Map<String, Object> body) throws Unreachable {
        byte[] json = (body == null ? "" : Codec.json().valueToTree(body).toString()).getBytes(StandardCharsets.UTF_8);
        return send("POST", path, json);
    }

    /** GETs {@code path} from the first agent that answers. */
    Answer get(String path) throws Unreachable {
        return send("GET", path, null);
    }

    /**
     * One request on the first agent that answers. {@link HttpURLConnection}, not the JDK's
     * {@code java.net.http} client: that one builds the default TLS context (the system's whole
     * trust store) and an executor before its first request, about a third of a second of a
     * command's start here; this one keeps its connection alive between the calls of a command.
     */
    private Answer send(String method, String path, byte[] body) throws Unreachable {
        List<String> why = new ArrayList<>();
        for (String u : urls) {
            HttpURLConnection c = null;
            try {
                c = (HttpURLConnection) URI.create(u + path).toURL().openConnection();
                if (c instanceof HttpsURLConnection https && tls != null) {
                    https.setSSLSocketFactory(tls);
                }
                c.setConnectTimeout((int) CONNECT.toMillis());
                c.setReadTimeout((int) READ.toMillis());
                c.setRequestMethod(method);
                c.setRequestProperty("Authorization", "Bearer " + token);
                c.setRequestProperty("Accept", "application/json");
                if (body != null) {
                    c.setDoOutput(true);
                    c.setRequestProperty("Content-Type", "application/json");
                    c.setFixedLengthStreamingMode(body.length);
                    try (OutputStream o = c.getOutputStream()) {
                        o.write(body);
                    }
                }
                int status = c.getResponseCode();
                byte[] answer;
                try (InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
                    answer = in == null ? new byte[0] : in.readAllBytes();
                }
                if (status == 503) { // that agent is cut off from ZooKeeper: another may not be
                    why.add(u + ": 503");
                    continue;
                }
                String text = new String(answer, StandardCharsets.UTF_8);
                JsonNode json;
                try {
                    json = Codec.json().readTree(text.isEmpty() ? "{}" : text);
                } catch (IOException e) {
                    json = Codec.json().createObjectNode().put("error", text);
                }
                return new Answer(status, json, u);
            } catch (IOException | IllegalArgumentException e) {
                why.add(u + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
                if (c != null) {
                    c.disconnect();
                }
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
