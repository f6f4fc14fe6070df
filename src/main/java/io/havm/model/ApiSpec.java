package io.havm.model;

import java.nio.file.Path;
import java.util.Map;

/**
 * {@code cluster.api}: the REST API every agent serves (see io.havm.http.ApiServer).
 *
 * @param port the port every agent listens on
 * @param address the address it listens on; null: all addresses
 * @param certificate the server certificate (PEM), null with {@code key}: plain HTTP, allowed only
 *        on a loopback {@code address}
 * @param key its private key (PEM, PKCS#8)
 * @param tokens the root-only file of bearer tokens, one {@code SCOPE NAME TOKEN} per line
 * @param urls where clients reach each node's agent, by node name (every node: the configured
 *        {@code cluster.nodes[].api}, else the scheme, the host of the node's libvirt URI and the port)
 */
public record ApiSpec(int port, String address, Path certificate, Path key, Path tokens, Map<String, String> urls) {
    public ApiSpec {
        urls = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(urls));
    }

    public boolean tls() {
        return certificate != null;
    }
}
