package io.havm.fencing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Just enough of a Redfish BMC (DMTF Redfish: service root, Systems collection, one ComputerSystem
 * with PowerState and the ComputerSystem.Reset action) for Debian's real fence_redfish to fence
 * "a server" on 127.0.0.1 over HTTPS with a self-signed certificate (agent option ssl_insecure=1).
 * Basic auth is checked, so a test proves username and password reached the agent via stdin.
 */
final class FakeRedfishBmc implements AutoCloseable {
    static final String USER = "admin";
    static final String PASSWORD = "bmc-S3cret!";
    private static final String SYSTEM = "/redfish/v1/Systems/1";
    private static final String RESET = SYSTEM + "/Actions/ComputerSystem.Reset";
    private static final char[] STORE_PASS = "changeit".toCharArray();

    private final HttpsServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    volatile String powerState = "On";
    /** When true, ForceOff is accepted (204) but the power state does not change: a broken BMC. */
    volatile boolean ignoreReset;
    final List<String> resets = new CopyOnWriteArrayList<>();

    /** A PKCS12 key store with a self-signed certificate for 127.0.0.1, made with the JDK's keytool. */
    static Path makeKeyStore(Path dir) {
        Path ks = dir.resolve("bmc.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Exec.run(Duration.ofSeconds(60), List.of(keytool.toString(), "-genkeypair", "-alias", "bmc", "-keyalg", "RSA",
                "-keysize", "2048", "-validity", "2", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1",
                "-storetype", "PKCS12", "-keystore", ks.toString(), "-storepass", new String(STORE_PASS))).orThrow();
        return ks;
    }

    FakeRedfishBmc(Path keyStore) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            ks.load(in, STORE_PASS);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, STORE_PASS);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf.getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(ssl));
        server.createContext("/", this::handle);
        server.setExecutor(pool);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String expected = "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
            if (!expected.equals(x.getRequestHeaders().getFirst("Authorization"))) {
                reply(x, 401, "{\"error\":{\"message\":\"authentication required\"}}");
                return;
            }
            String path = x.getRequestURI().getPath();
            String method = x.getRequestMethod();
            if (method.equals("GET") && path.equals("/redfish/v1")) {
                reply(x, 200, "{\"Systems\":{\"@odata.id\":\"/redfish/v1/Systems\"}}");
            } else if (method.equals("GET") && path.equals("/redfish/v1/Systems")) {
                reply(x, 200, "{\"Members\":[{\"@odata.id\":\"" + SYSTEM + "\"}]}");
            } else if (method.equals("GET") && path.equals(SYSTEM)) {
                reply(x, 200, "{\"PowerState\":\"" + powerState + "\",\"Actions\":{\"#ComputerSystem.Reset\":"
                        + "{\"target\":\"" + RESET + "\"}}}");
            } else if (method.equals("POST") && path.equals(RESET)) {
                String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                resets.add(body);
                if (!ignoreReset) {
                    if (body.contains("\"ForceOff\"")) {
                        powerState = "Off";
                    } else if (body.contains("\"On\"")) {
                        powerState = "On";
                    }
                }
                x.sendResponseHeaders(204, -1);
            } else {
                reply(x, 404, "{\"error\":{\"message\":\"no " + method + " " + path + "\"}}");
            }
        }
    }

    private static void reply(HttpExchange x, int code, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.sendResponseHeaders(code, b.length);
        x.getResponseBody().write(b);
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
