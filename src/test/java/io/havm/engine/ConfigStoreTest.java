package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.port.Coordination;
import io.havm.sim.engine.SimCoordinationService;
import io.havm.sim.engine.SimScheduler;
import io.havm.sim.engine.VirtualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The configuration store on the simulator's coordination service, which enforces ZooKeeper's
 * 1 MiB limits: versions round-trip whole, a stale writer changes nothing, and 20,000 groups stay
 * far below the limit in every znode.
 */
class ConfigStoreTest {
    private static final Instant T = Instant.parse("2026-12-06T10:00:00Z");
    private SimCoordinationService.Client zk;

    @BeforeEach
    void start() {
        VirtualClock vc = new VirtualClock(T);
        SimCoordinationService svc = new SimCoordinationService(new SimScheduler(vc), vc, Duration.ofSeconds(4), l -> { });
        zk = svc.connect("cli");
    }

    private static String config(int groups) {
        StringBuilder y = new StringBuilder("cluster:\n  name: big\n  admission: warn\n  nodes:\n");
        for (int n = 1; n <= 1000; n++) {
            y.append("    - {name: host").append(n).append(", uri: 'qemu+tls://host").append(n)
                    .append(".example.org/system', memoryMiB: 262144}\n");
        }
        y.append("groups:\n");
        for (int g = 1; g <= groups; g++) {
            y.append("  vm").append(g).append(":\n    preferredOwners: [host").append(1 + g % 1000)
                    .append("]\n    failback: window 22-06\n    resources:\n      vm").append(g)
                    .append(": {type: vm, memoryMiB: 2048, properties: {domain: tenant-").append(g).append("-vm}}\n");
        }
        return y.toString();
    }

    @Test
    void versionsRoundTripAndTheHistoryKeepsEach() {
        ConfigStore cs = new ConfigStore(zk);
        Map<String, String> v1 = new LinkedHashMap<>();
        v1.put("cluster.yaml", "cluster: {name: a}\n");
        v1.put("cluster.d/gc.yaml", "groups: {}\n");
        assertEquals(1, cs.store(v1, 0, "op@h", "first", T).version());
        Map<String, String> v2 = Map.of("cluster.yaml", "cluster: {name: b}\n");
        assertEquals(2, cs.store(v2, 1, "op@h", "second", T).version());
        assertEquals(v1, cs.version(1).files());
        assertEquals(List.copyOf(v1.keySet()), List.copyOf(cs.version(1).files().keySet()), "order kept: main first");
        assertEquals(v2, cs.current().orElseThrow().files());
        assertEquals(List.of(1L, 2L), cs.history().stream().map(ConfigStore.Meta::version).toList());
        assertEquals("second", cs.history().get(1).comment());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cs.version(7));
        assertEquals("there is no configuration version 7 (stored: [1, 2])", e.getMessage());
    }

    @Test
    void aWriterThatDidNotSeeTheLatestVersionChangesNothing() {
        ConfigStore cs = new ConfigStore(zk);
        cs.store(Map.of("cluster.yaml", "a\n"), 0, "op1", "", T);
        cs.store(Map.of("cluster.yaml", "b\n"), 1, "op2", "", T);
        Coordination.ConflictException e = assertThrows(Coordination.ConflictException.class,
                () -> cs.store(Map.of("cluster.yaml", "c\n"), 1, "op1", "", T));
        assertTrue(e.getMessage().startsWith("configuration version 2 is in force, not 1"), e.getMessage());
        assertEquals(2, cs.currentNumber().orElseThrow());
        assertEquals("b\n", cs.current().orElseThrow().mainText());
    }

    @Test
    void aStoreThatLosesTheRaceToPutItsVersionInForceLeavesNoVersionBehind() {
        ConfigStore other = new ConfigStore(zk);
        boolean[] raced = {false};
        // Two agents starting at once with their local file: the other one puts its version in
        // force between this store's read of config/current and its compare-and-set.
        Coordination racing = (Coordination) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Coordination.class}, (proxy, method, args) -> {
                    if (method.getName().equals("put") && "config/current".equals(args[0]) && !raced[0]) {
                        raced[0] = true;
                        other.store(Map.of("cluster.yaml", "theirs\n"), 0, "host3 agent", "", T);
                    }
                    try {
                        return method.invoke(zk, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        ConfigStore mine = new ConfigStore(racing);
        assertThrows(Coordination.ConflictException.class,
                () -> mine.store(Map.of("cluster.yaml", "mine\n"), 0, "host1 agent", "", T));
        // the loser wrote version 1 first; the winner took 2 and put it in force; 1 is gone
        assertEquals(List.of(2L), other.history().stream().map(ConfigStore.Meta::version).toList(),
                "only the version in force: the loser's is gone");
        assertEquals("theirs\n", other.current().orElseThrow().mainText());
        assertEquals(3, other.store(Map.of("cluster.yaml", "next\n"), 2, "op", "", T).version());
    }

    @Test
    void twentyThousandGroupsStayFarBelowTheZnodeLimit() {
        String text = config(20_000);
        assertTrue(text.length() > 2 * 1024 * 1024, "the text alone is " + text.length() + " bytes: over 1 MiB");
        Map<String, String> files = Map.of("cluster.yaml", text);
        // It is a configuration the loader accepts (the store keeps what config apply validated).
        assertEquals(20_000, ClusterConfigLoader.parse(files).spec().groups().size());
        ConfigStore cs = new ConfigStore(zk);
        ConfigStore.Meta m = cs.store(files, 0, "op", "", T);
        int largest = cs.sizes(m.version()).values().stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertTrue(largest <= ConfigStore.CHUNK, "largest znode " + largest + " bytes");
        assertEquals(text, cs.current().orElseThrow().mainText());
        System.out.printf("ConfigStoreTest: 20,000 groups: %d bytes of YAML stored as %d bytes in %d chunk(s),"
                + " largest znode %d bytes%n", text.length(), m.bytes(), m.chunks(), largest);
    }
}
