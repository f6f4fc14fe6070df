package io.havm.config;

import io.havm.model.ApiSpec;
import io.havm.model.ClusterSpec;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;

/** {@code cluster.api} and {@code cluster.nodes[].api}: the REST API every agent serves. */
final class ApiConfig {
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
            + "(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    private ApiConfig() {}

    /** The API, or null when {@code n} is absent (then no node may name an {@code api} URL). */
    static ApiSpec api(Yaml y, Node n, List<ClusterSpec.NodeSpec> nodes, Map<String, Node> nodeApis) {
        if (n == null) {
            if (!nodeApis.isEmpty()) {
                Map.Entry<String, Node> e = nodeApis.entrySet().iterator().next();
                throw y.error(e.getValue(), "cluster.nodes." + e.getKey() + ".api", "is given but cluster.api is"
                        + " absent: the agents serve no API (add cluster.api: {port: 8440, ...})");
            }
            return null;
        }
        String f = "cluster.api";
        Map<String, Node> m = y.mapping(n, f, Set.of("port", "address", "tls", "tokens"));
        if (!m.containsKey("port")) {
            throw y.error(n, f + ".port", "is required: the port every agent listens on, e.g. 8440");
        }
        int port = (int) y.integer(m, "port", f + ".port", 0, 1, 65535);
        String address = null;
        InetAddress inet = null;
        if (m.containsKey("address")) {
            address = y.text(m, "address", f + ".address", null);
            if (!IPV4.matcher(address).matches() && !IPV6.matcher(address).matches()) {
                throw y.error(m.get("address"), f + ".address", "'" + address + "' is not an IP address (e.g."
                        + " 10.0.0.11, 127.0.0.1 or ::1; absent: every address)");
            }
            try {
                inet = InetAddress.getByName(address); // a literal: no lookup
            } catch (UnknownHostException e) {
                throw y.error(m.get("address"), f + ".address", "'" + address + "' is not an IP address (e.g."
                        + " 10.0.0.11, 127.0.0.1 or ::1; absent: every address)");
            }
        }
        Path cert = null;
        Path key = null;
        if (m.containsKey("tls")) {
            Map<String, Node> t = y.mapping(m.get("tls"), f + ".tls", Set.of("certificate", "key"));
            cert = absolute(y, t, "certificate", f + ".tls.certificate", m.get("tls"), "/etc/havm/api.crt");
            key = absolute(y, t, "key", f + ".tls.key", m.get("tls"), "/etc/havm/api.key");
        } else if (inet == null || !inet.isLoopbackAddress()) {
            throw y.error(n, f + ".tls", "is required unless cluster.api.address is a loopback address (127.0.0.1"
                    + " or ::1): plain HTTP would carry the bearer tokens in clear (tls: {certificate:"
                    + " /etc/havm/api.crt, key: /etc/havm/api.key}, PEM, the key PKCS#8)");
        }
        Path tokens = absolute(y, m, "tokens", f + ".tokens", n, "/etc/havm/api-tokens");
        Map<String, String> urls = new TreeMap<>();
        for (ClusterSpec.NodeSpec node : nodes) {
            Node at = nodeApis.get(node.name());
            urls.put(node.name(), at != null ? url(y, at, "cluster.nodes." + node.name() + ".api")
                    : (cert != null ? "https" : "http") + "://" + host(node.uri(), address) + ":" + port);
        }
        return new ApiSpec(port, address, cert, key, tokens, urls);
    }

    private static Path absolute(Yaml y, Map<String, Node> m, String key, String field, Node parent, String example) {
        if (!m.containsKey(key)) {
            throw y.error(parent, field, "is required (an absolute path, e.g. " + example + ")");
        }
        String v = y.text(m, key, field, null);
        if (!v.startsWith("/")) {
            throw y.error(m.get(key), field, "'" + v + "' is not an absolute path (e.g. " + example + ")");
        }
        return Path.of(v);
    }

    private static String url(Yaml y, Node at, String field) {
        String v = y.scalar(at, field);
        String problem = "'" + v + "' is not an http(s) URL with a host (e.g. https://kvm1.example.org:8440)";
        try {
            URI u = new URI(v);
            if (u.getScheme() == null || !(u.getScheme().equals("https") || u.getScheme().equals("http"))
                    || u.getHost() == null || u.getQuery() != null || u.getFragment() != null
                    || u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/")) {
                throw y.error(at, field, problem);
            }
        } catch (URISyntaxException e) {
            throw y.error(at, field, problem);
        }
        return v.endsWith("/") ? v.substring(0, v.length() - 1) : v;
    }

    /** The host of a libvirt URI; for a local one (qemu:///system) the API's address, or localhost. */
    private static String host(String libvirtUri, String address) {
        String h = null;
        try {
            h = new URI(libvirtUri).getHost();
        } catch (URISyntaxException e) {
            // the loader checked its shape; a host it cannot parse is treated as local
        }
        if (h == null || h.isEmpty()) {
            return address == null ? "localhost" : address.contains(":") ? "[" + address + "]" : address;
        }
        return h;
    }
}
