package io.havm.coordination;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free TCP ports on 127.0.0.1 for test servers, chosen <em>below</em> the kernel's ephemeral range.
 * Why: tests stop a server and start it again on the same port; while it is down, its clients keep
 * reconnecting from ephemeral ports, and a client whose own source port equals the server's port
 * connects to itself (TCP simultaneous open) — the restarted server then cannot bind. Ports outside
 * the ephemeral range are never a client's source port. Ports are never handed out twice per JVM.
 * Public for the tests of {@code havm zookeeper} (io.havm.api), whose members are processes.
 */
public final class FreePorts {
    private static final Set<Integer> HANDED_OUT = new HashSet<>();

    private FreePorts() {}

    public static synchronized int[] pick(int count) {
        int high = ephemeralLow() - 1;
        int low = Math.max(1024, high - 12_000);
        int[] ports = new int[count];
        int found = 0;
        int candidate = ThreadLocalRandom.current().nextInt(low, high);
        for (int tries = 0; found < count && tries < high - low; tries++) {
            candidate = candidate >= high ? low : candidate + 1;
            if (!HANDED_OUT.contains(candidate) && bindable(candidate)) {
                HANDED_OUT.add(candidate);
                ports[found++] = candidate;
            }
        }
        if (found < count) {
            throw new IllegalStateException("only " + found + " free ports in " + low + ".." + high);
        }
        return ports;
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int ephemeralLow() {
        try {
            // Not Files.readString: procfs reports a bogus size, and the read comes back truncated.
            try (BufferedReader in = Files.newBufferedReader(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))) {
                int low = Integer.parseInt(in.readLine().trim().split("\\s+")[0]);
                return low > 11_000 ? low : 32768;
            }
        } catch (IOException | RuntimeException e) {
            return 32768;
        }
    }
}
