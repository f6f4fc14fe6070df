package io.havm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havm.model.ApiSpec;
import io.havm.model.InvalidInputException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** cluster.api and cluster.nodes[].api: errors name file, line, field and what is allowed. */
class ApiConfigTest {
    private static final String GROUPS = """
            groups:
              web:
                resources:
                  web-vm: {type: vm}
            """;

    private static String yaml(String api, String host1Extra) {
        return "cluster:\n" + api + """
                  nodes:
                    - {name: host1, uri: qemu+tls://kvm1.example.org/system, memoryMiB: 2048%s}
                    - {name: host2, uri: qemu:///system, memoryMiB: 2048}
                """.formatted(host1Extra) + GROUPS;
    }

    private static String error(String yaml) {
        return assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.parse("c.yaml", yaml)).getMessage();
    }

    @Test
    void absentMeansNoApi() {
        assertNull(ClusterConfigLoader.parse("c.yaml", yaml("", "")).spec().api());
        assertEquals("c.yaml:3: cluster.nodes.host1.api: is given but cluster.api is absent: the agents serve no API"
                + " (add cluster.api: {port: 8440, ...})", error(yaml("", ", api: 'https://kvm1:8440'")));
    }

    @Test
    void tlsTokensAndEachNodesAddress() {
        ApiSpec a = ClusterConfigLoader.parse("c.yaml", yaml("""
                  api:
                    port: 8440
                    tls: {certificate: /etc/havm/api.crt, key: /etc/havm/api.key}
                    tokens: /etc/havm/api-tokens
                """, "")).spec().api();
        assertEquals(new ApiSpec(8440, null, Path.of("/etc/havm/api.crt"), Path.of("/etc/havm/api.key"),
                Path.of("/etc/havm/api-tokens"), Map.of("host1", "https://kvm1.example.org:8440",
                "host2", "https://localhost:8440")), a);
        ApiSpec b = ClusterConfigLoader.parse("c.yaml", yaml("""
                  api: {port: 8441, address: 127.0.0.1, tokens: /etc/havm/api-tokens}
                """, ", api: 'http://127.0.0.1:8441/'")).spec().api();
        assertEquals(Map.of("host1", "http://127.0.0.1:8441", "host2", "http://127.0.0.1:8441"), b.urls());
    }

    @Test
    void badValuesAreRefusedWithTheLineAndWhatIsAllowed() {
        assertEquals("c.yaml:2: cluster.api.tls: is required unless cluster.api.address is a loopback address"
                + " (127.0.0.1 or ::1): plain HTTP would carry the bearer tokens in clear (tls: {certificate:"
                + " /etc/havm/api.crt, key: /etc/havm/api.key}, PEM, the key PKCS#8)",
                error(yaml("  api: {port: 8440, address: 10.0.0.1, tokens: /etc/t}\n", "")));
        assertEquals("c.yaml:2: cluster.api.port: 70000 is out of range (allowed: 1..65535)",
                error(yaml("  api: {port: 70000, address: 127.0.0.1, tokens: /etc/t}\n", "")));
        assertEquals("c.yaml:2: cluster.api.port: is required: the port every agent listens on, e.g. 8440",
                error(yaml("  api: {address: 127.0.0.1, tokens: /etc/t}\n", "")));
        assertEquals("c.yaml:2: cluster.api.address: 'kvm1.example.org' is not an IP address (e.g. 10.0.0.11,"
                + " 127.0.0.1 or ::1; absent: every address)",
                error(yaml("  api: {port: 8440, address: kvm1.example.org, tokens: /etc/t}\n", "")));
        assertEquals("c.yaml:2: cluster.api.tokens: 'tokens.txt' is not an absolute path (e.g. /etc/havm/api-tokens)",
                error(yaml("  api: {port: 8440, address: 127.0.0.1, tokens: tokens.txt}\n", "")));
        assertEquals("c.yaml:2: cluster.api.tokens: is required (an absolute path, e.g. /etc/havm/api-tokens)",
                error(yaml("  api: {port: 8440, address: '::1'}\n", "")));
        assertEquals("c.yaml:2: cluster.api.tls.key: is required (an absolute path, e.g. /etc/havm/api.key)",
                error(yaml("  api: {port: 8440, tls: {certificate: /c}, tokens: /t}\n", "")));
        assertEquals("c.yaml:2: cluster.api.tsl: unknown field: did you mean 'tls'? (allowed: address, port, tls,"
                + " tokens)", error(yaml("  api: {port: 8440, tsl: {}, tokens: /t}\n", "")));
        assertEquals("c.yaml:4: cluster.nodes.host1.api: 'ftp://kvm1' is not an http(s) URL with a host (e.g."
                + " https://kvm1.example.org:8440)", error(yaml("  api: {port: 8440, address: 127.0.0.1, tokens: /t}\n",
                ", api: 'ftp://kvm1'")));
    }

    @Test
    void theExamplesCommentedApiSectionLoadsOnceUncommented() throws Exception {
        String text = java.nio.file.Files.readString(Path.of("examples/cluster.yaml"));
        String on = text.replace("  # api:\n", "  api:\n").replace("  #   port:", "    port:")
                .replace("  #   tls:", "    tls:").replace("  #   tokens:", "    tokens:");
        assertNull(ClusterConfigLoader.parse("cluster.yaml", text).spec().api());
        ApiSpec a = ClusterConfigLoader.parse("cluster.yaml", on).spec().api();
        assertEquals(8440, a.port());
        assertEquals("https://kvm2.example.org:8440", a.urls().get("kvm2"));
    }
}
