package io.havm.sim.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.havm.model.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden-log scenarios on the real engine: each directory under
 * src/test/resources/engine-scenarios runs {@link EngineScenario}; its log must equal expected.log
 * and no line may report a violation. Regenerate on purpose with
 * {@code mvn test -Dtest=EngineScenarioTest -Dhavm.updateGolden=true} and review the diff; a
 * scenario without expected.log fails rather than creating one silently.
 */
class EngineScenarioTest {
    static final Path ROOT = Path.of("src/test/resources/engine-scenarios");
    static final boolean UPDATE = Boolean.getBoolean("havm.updateGolden");

    @TestFactory
    Stream<DynamicTest> scenarios() throws IOException {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(ROOT)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        }
        return dirs.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
    }

    private void check(Path dir) throws IOException {
        assertTrue(Files.exists(dir.resolve("README.md")), dir + ": every scenario says what it shows in README.md");
        List<String> log = EngineScenario.run(dir);
        String actual = String.join("\n", log) + "\n";
        assertTrue(log.stream().noneMatch(l -> l.contains("VIOLATION")), dir + ":\n" + actual);
        Path golden = dir.resolve("expected.log");
        if (UPDATE) {
            Files.writeString(golden, actual);
            return;
        }
        if (!Files.exists(golden)) {
            fail(dir + " has no expected.log: run with -Dhavm.updateGolden=true, then review it");
        }
        assertEquals(Files.readString(golden), actual, dir + ": log differs from expected.log");
    }

    @Test
    void aScriptNamedLikeAVmDomainIsRejectedWithTheFileAndTheField(@TempDir Path dir) throws IOException {
        String yaml = Files.readString(ROOT.resolve("storage-lost-alone/cluster.yaml"));
        int groups = yaml.indexOf("groups:");
        Files.writeString(dir.resolve("cluster.yaml"), yaml.substring(0, groups) + "groups:\n  web:\n    resources:\n"
                + "      web-vm: {type: vm, memoryMiB: 256}\n  ip:\n    resources:\n"
                + "      web-vm: {type: script, properties: {agent: \"ocf:heartbeat:Dummy\"}}\n");
        Files.writeString(dir.resolve("events.txt"), "10 end\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(dir.resolve("cluster.yaml") + ": groups.web.resources.web-vm: 'web-vm' is also"
                + " groups.ip.resources.web-vm: the simulator knows scripts and VM domains by name; rename one",
                e.getMessage());
    }

    @Test
    void aBadEventLineIsRejectedWithItsFileLineAndTheAllowedVerbs(@TempDir Path dir) throws IOException {
        Files.copy(ROOT.resolve("storage-lost-alone/cluster.yaml"), dir.resolve("cluster.yaml"));
        Path events = dir.resolve("events.txt");

        Files.writeString(events, "# comment\n8 power-off host1\n\n10 zk-down\n30 end\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ":4", e.where());
        assertTrue(e.getMessage().contains("unknown verb 'zk-down' (allowed: power-off N, power-on N,"), e.getMessage());
        assertTrue(e.getMessage().contains("zk-stall, zk-stall-end,"), e.getMessage());
        assertTrue(e.getMessage().contains("move G N live|quick|offline"), e.getMessage());
        assertTrue(e.getMessage().endsWith("storage-hang N, storage-unhang N, config FILE, vm-import FILE G N,"
                + " vm-release FILE G, end)"), e.getMessage());
        assertTrue(e.getMessage().contains("script-crash SCRIPT, "), e.getMessage());

        Files.writeString(events, "8 vm-import cluster.yaml web host2\n30 end\n");
        e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ":1: vm-import: group 'web' exists already: the file must add it", e.getMessage());

        Files.writeString(events, "8 partition host9\n30 end\n");
        e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ":1: partition: unknown node 'host9' (nodes: host1, host2, host3)", e.getMessage());

        Files.writeString(events, "8 start-fails host2\n30 end\n");
        e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ":1: 'start-fails host2': start-fails takes 'N COUNT'", e.getMessage());

        Files.writeString(events, "8 move web host2 fast\n30 end\n");
        e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ":1: move mode: 'fast' is not allowed (allowed: live, quick, offline)", e.getMessage());

        Files.writeString(events, "8 guest-crash web\n30 end\n");
        e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ":1: guest-crash: unknown domain 'web' (domains: db-vm, web-vm)", e.getMessage());

        Files.writeString(events, "10 zk-crash\n8 zk-restart\n30 end\n");
        e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ":2: time 8 is before the previous event (10.0)", e.getMessage());

        Files.writeString(events, "30 end\n40 heal host1\n");
        e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ":2: nothing may follow 'end' (line 1)", e.getMessage());

        Files.writeString(events, "10 zk-crash\n");
        e = assertThrows(InvalidInputException.class, () -> EngineScenario.run(dir));
        assertEquals(events + ": must end with '<seconds> end'", e.getMessage());
    }

    @Test
    void theOutageAndFencingScenariosAreAllThere() {
        for (String s : List.of("zookeeper-stall-shorter-than-session", "zookeeper-crash-20s-restart",
                "zookeeper-crash-3min-restart", "zookeeper-restart-slow-reconnect", "no-second-channel-power-fencing-outage",
                "no-second-channel-recovery-without-fence-outage", "partition-owner-storage-fencing",
                "isolate-owner-storage-fencing", "paused-owner-watchdog", "storage-lost-alone", "terminate-libvirtd-down",
                "coordinator-isolated-storage-fencing")) {
            assertTrue(Files.isDirectory(ROOT.resolve(s)), s);
        }
    }
}
