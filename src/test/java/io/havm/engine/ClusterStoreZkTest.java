package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.awaitility.Awaitility.await;

import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.QuietZooKeeper;
import io.havm.coordination.ZkCoordination;
import io.havm.port.Coordination;
import io.havm.port.Coordination.Op;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's contract against a real standalone ZooKeeper on 127.0.0.1 with its default limits
 * (jute.maxbuffer 1 MiB), one fresh server per test. Prints the measured figures.
 */
@ExtendWith(QuietZooKeeper.class)
class ClusterStoreZkTest extends StoreContract {
    private static final String ROOT = "/havm/store";

    @TempDir
    Path tmp;

    private EmbeddedZooKeeper server;
    private ZkCoordination zk;
    private ZooKeeper raw;
    private final AtomicLong epoch = new AtomicLong();

    @BeforeEach
    void start() throws Exception {
        server = EmbeddedZooKeeper.standalone("127.0.0.1", freePort(), tmp.resolve("zk"),
                EmbeddedZooKeeper.Settings.FAST).start();
        zk = new ZkCoordination(server.connectString(), ROOT, Duration.ofSeconds(4), Duration.ofSeconds(4));
        zk.elect("c1", new Coordination.Leadership() {
            @Override
            public void elected(long e) {
                epoch.set(e);
            }

            @Override
            public void revoked() {}
        });
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> epoch.get() > 0);
        raw = new ZooKeeper(server.connectString(), 4_000, e -> {});
    }

    @AfterEach
    void stop() throws Exception {
        if (raw != null) {
            raw.close();
        }
        if (zk != null) {
            zk.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    Coordination coordinator() {
        return zk;
    }

    @Override
    long epoch() {
        return epoch.get();
    }

    /** A successor raises the epoch znode behind this coordinator's back (its cached stamp goes stale). */
    @Override
    void supersede() {
        try {
            raw.setData(ROOT + "/epoch", Long.toString(epoch.get() + 1).getBytes(StandardCharsets.UTF_8), -1);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        epoch.incrementAndGet();
    }

    /** Every znode under the store, by ZooKeeper's own stat: children asked all at once per directory. */
    @Override
    SortedMap<String, Integer> sizes() {
        SortedMap<String, Integer> out = new TreeMap<>();
        try {
            walk(ROOT + "/store", "", out);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return out;
    }

    private void walk(String path, String key, SortedMap<String, Integer> out) throws Exception {
        List<String> names = raw.getChildren(path, false);
        List<java.util.concurrent.CompletableFuture<Stat>> stats = new ArrayList<>();
        for (String n : names) {
            java.util.concurrent.CompletableFuture<Stat> f = new java.util.concurrent.CompletableFuture<>();
            raw.exists(path + "/" + n, false, (rc, p, ctx, stat) -> f.complete(stat), null);
            stats.add(f);
        }
        for (int i = 0; i < names.size(); i++) {
            Stat st = stats.get(i).get();
            String k = key.isEmpty() ? names.get(i) : key + "/" + names.get(i);
            out.put(k, st.getDataLength());
            if (st.getNumChildren() > 0) {
                walk(path + "/" + names.get(i), k, out);
            }
        }
    }

    @Override
    void figure(String what, long nanos) {
        System.out.printf("ClusterStoreZkTest: %s: %s%n", what,
                what.contains("bytes") ? nanos + " bytes" : String.format("%.1f ms", nanos / 1e6));
    }

    @Test
    void twentyThousandSmallKeysAreReadInWellUnderASecond() {
        List<Op> ops = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            ops.add(Op.put("many/k" + i, ("value " + i).getBytes(StandardCharsets.UTF_8)));
            if (ops.size() == 2_000) {
                zk.commitFenced(ops, epoch());
                ops.clear();
            }
        }
        zk.getAll("many"); // warm up the JIT once
        long t0 = System.nanoTime();
        SortedMap<String, Coordination.Versioned> all = zk.getAll("many");
        long took = System.nanoTime() - t0;
        figure("getAll of 20,000 small znodes", took);
        assertEquals(20_000, all.size());
        assertEquals("value 7", new String(all.get("k7").value(), StandardCharsets.UTF_8));
    }

    private static MoveProgress progress(String group, long remaining, java.time.Instant at) {
        return new MoveProgress(group, group + "-vm", "live", "kvm1", "kvm2", 1L << 30, remaining, (1L << 30) + 4096,
                (1L << 30) - remaining, remaining + 4096, 1_200, 35, at);
    }

    @Test
    void aMovesProgressIsEphemeralReplacedAndCleared() throws Exception {
        ClusterStore reader = new ClusterStore(zk, "api", io.havm.port.Clock.SYSTEM);
        ZkCoordination agentZk = new ZkCoordination(server.connectString(), ROOT, Duration.ofSeconds(4),
                Duration.ofSeconds(4));
        ClusterStore agent = new ClusterStore(agentZk, "kvm1", io.havm.port.Clock.SYSTEM);
        java.time.Instant t = java.time.Instant.parse("2026-12-07T13:00:00.250Z");
        assertEquals(java.util.Map.of(), reader.progress());

        agent.putProgress(progress("web", 800L << 20, t));
        agent.putProgress(progress("web", 300L << 20, t.plusMillis(500))); // an update replaces it
        agent.putProgress(progress("db", 100L << 20, t));
        assertEquals(java.util.Map.of("web", progress("web", 300L << 20, t.plusMillis(500)), "db",
                progress("db", 100L << 20, t)), reader.progress());
        long agentSession = raw.exists(ROOT + "/store/progress/web", false).getEphemeralOwner();
        assertTrue(agentSession != 0, "ephemeral");
        assertEquals(agentSession, raw.exists(ROOT + "/store/progress/db", false).getEphemeralOwner());

        agent.clearProgress("web"); // the move ended
        assertEquals(java.util.List.of("db"), List.copyOf(reader.progress().keySet()));

        // Another agent (a source after a restart) takes over what an earlier session left.
        ClusterStore other = new ClusterStore(zk, "kvm1-again", io.havm.port.Clock.SYSTEM);
        other.putProgress(progress("db", 50L << 20, t.plusSeconds(1)));
        long otherSession = raw.exists(ROOT + "/store/progress/db", false).getEphemeralOwner();
        assertTrue(otherSession != 0 && otherSession != agentSession, "now the other session's");
        other.clearProgress("db");
        agent.putProgress(progress("db", 10L << 20, t.plusSeconds(2)));
        assertEquals(10L << 20, reader.progress().get("db").memoryRemainingBytes());

        agentZk.close(); // the source agent's session ends: its progress goes with it, nobody deletes it
        await().atMost(Duration.ofSeconds(10)).until(() -> reader.progress().isEmpty());
        assertEquals(null, raw.exists(ROOT + "/store/progress/db", false));
    }
}
