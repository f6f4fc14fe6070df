package io.havm.api;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;

/**
 * The training run of {@code ci/cds-archive}: one {@code havm group move} as an operator runs it
 * against a cluster's API, so that the class-data-sharing archive holds what such a command loads
 * (picocli aside: its classes are of Java 5, which CDS does not archive), TLS included. The API
 * is a stand-in HTTPS server on a loopback port in this process that accepts the move and says
 * it succeeded; nothing outside this process is asked anything.
 *
 * <p>Usage: {@code java -XX:ArchiveClassesAtExit=A -cp havm.jar io.havm.api.CdsTraining DIR},
 * DIR holding {@code cert.pem} and {@code key.pem} (a self-signed loopback certificate, PKCS#8
 * key; without them the stand-in is plain HTTP on loopback, and the archive holds no TLS). Exits 0
 * when the command went through the stand-in as a real one would.
 */
public final class CdsTraining {
    private CdsTraining() {}

    public static void main(String[] argv) throws IOException {
        System.exit(train(Path.of(argv[0]), System.err));
    }

    /**
     * One training command through the stand-in (the resident client warms itself with it too): its
     * exit code, 0 when it went through as a real one would; what it says on stderr goes to {@code err}.
     */
    static int train(Path dir, PrintStream err) throws IOException {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        boolean tls = Files.isRegularFile(cert) && Files.isRegularFile(key); // else plain HTTP (loopback)
        HttpServer server;
        if (tls) {
            HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            https.setHttpsConfigurator(new HttpsConfigurator(io.havm.http.Pem.serverContext(cert, key)));
            server = https;
        } else {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        }
        server.createContext("/api/v1/groups/g/move", x -> answer(x, 202, "{\"id\":\"training\",\"kind\":\"move\","
                + "\"target\":\"g\",\"state\":\"pending\",\"message\":\"g is online on n1\",\"deadline\":\""
                + Instant.now().plusSeconds(60) + "\"}"));
        server.createContext("/api/v1/operations/training", x -> answer(x, 200, "{\"id\":\"training\",\"kind\":"
                + "\"move\",\"target\":\"g\",\"state\":\"succeeded\",\"message\":\"g online on n1\"}"));
        server.start();
        int code;
        try {
            Path tokens = dir.resolve("tokens");
            Files.writeString(tokens, "operator training 0000000000000000\n");
            Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
            String url = (tls ? "https://" : "http://") + InetAddress.getLoopbackAddress().getHostAddress() + ":"
                    + server.getAddress().getPort();
            Path cfg = dir.resolve("cluster.yaml");
            Files.writeString(cfg, String.join("\n",
                    "cluster:",
                    "  name: cds-training",
                    "  api: {port: " + server.getAddress().getPort() + (tls ? ", tls: {certificate: " + cert + ", key: "
                            + key + "}" : ", address: " + InetAddress.getLoopbackAddress().getHostAddress())
                            + ", tokens: " + tokens + "}",
                    "  nodes:",
                    "    - {name: n1, uri: 'test:///default', memoryMiB: 1024, api: '" + url + "'}",
                    "groups:",
                    "  g:",
                    "    resources:",
                    "      vm: {type: vm, memoryMiB: 128, properties: {domain: g}}",
                    ""));
            PrintStream quiet = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
            code = new Main(dir, quiet, err).run(List.of("group", "move", "g", "--to", "n1", "--config",
                    cfg.toString()));
        } finally {
            server.stop(0);
        }
        return code;
    }

    private static void answer(HttpExchange x, int status, String json) throws IOException {
        x.getRequestBody().readAllBytes();
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.sendResponseHeaders(status, b.length);
        try (OutputStream o = x.getResponseBody()) {
            o.write(b);
        }
    }
}
