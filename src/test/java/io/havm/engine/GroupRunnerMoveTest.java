package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.MigrationOptions;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source's half of a move, with real OCF Dummy agents for the group's scripts: each stops in
 * its turn around the VMs, and a move that fails is undone so that the group runs whole, once.
 */
class GroupRunnerMoveTest {
    @TempDir
    Path dir;
    FakeHypervisor h1;
    FakeHypervisor h2;
    GroupRunner runner;
    final List<String> steps = new CopyOnWriteArrayList<>();
    /** Domains whose live migration fails, per source host. */
    final Set<String> failMigrationFromH1 = new java.util.HashSet<>();
    final Set<String> failMigrationFromH2 = new java.util.HashSet<>();

    /** The storage a VM needs (below it), one VM on it, a second VM, and an address above both. */
    static final String YAML = """
            cluster:
              nodes:
                - {name: host1, uri: qemu+tcp://10.77.0.11/system, memoryMiB: 2048}
                - {name: host2, uri: qemu+tcp://10.77.0.12/system, memoryMiB: 2048}
            groups:
              web:
                resources:
                  mount: {type: script, properties: {agent: "ocf:heartbeat:Dummy", state: DIR/mount.state}}
                  vm1: {type: vm, dependsOn: [mount], properties: {domain: vm1, definition: DIR/vm1.xml, stateDir: DIR}}
                  vm2: {type: vm, dependsOn: [vm1], properties: {domain: vm2, definition: DIR/vm2.xml, stateDir: DIR}}
                  ip: {type: script, dependsOn: [vm2], properties: {agent: "ocf:heartbeat:Dummy", state: DIR/ip.state}}
              stuck:
                resources:
                  vm: {type: vm, properties: {domain: vm3, definition: DIR/vm3.xml, stateDir: DIR}}
                  svc: {type: script, dependsOn: [vm], properties: {script: DIR/stuck.sh}}
            """;

    final class Failing extends FakeHypervisor {
        final Set<String> failing;

        Failing(String host, Set<String> failing) {
            super(host);
            this.failing = failing;
        }

        @Override
        public void migrateLive(String d, Hypervisor target, MigrationOptions o) {
            if (failing.contains(d)) {
                calls.add("migrate " + d + " " + target.host() + " (fails)");
                throw new HypervisorException(HypervisorException.Kind.MIGRATION_FAILED, host, "injected: migration of " + d
                        + " failed");
            }
            super.migrateLive(d, target, o);
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        ClusterSpec spec = ClusterConfigLoader.parse("c.yaml", YAML.replace("DIR", dir.toString())).spec();
        for (String d : List.of("vm1", "vm2", "vm3")) {
            Files.writeString(dir.resolve(d + ".xml"), "<domain type='kvm'><name>" + d + "</name></domain>");
        }
        Path stuck = dir.resolve("stuck.sh");
        // A generic script whose Offline and Terminate both fail: it cannot be stopped.
        Files.writeString(stuck, "#!/bin/sh\ncase \"$1\" in offline|terminate) echo 'held by pid 4242' >&2; exit 1;;"
                + " *) exit 0;; esac\n");
        Files.setPosixFilePermissions(stuck, PosixFilePermissions.fromString("rwxr-xr-x"));
        h1 = new Failing("host1", failMigrationFromH1);
        h2 = new Failing("host2", failMigrationFromH2);
        runner = new GroupRunner(spec, "host1", Map.of("host1", h1, "host2", h2), new ManualClock(),
                TestPorts.resources(spec, "host1", h1, new ManualClock()))
                .logTo(steps::add);
    }

    private boolean runs(FakeHypervisor h, String d) {
        return h.domains.containsKey(d) && h.domains.get(d).active();
    }

    private boolean online(String script) {
        return Files.exists(dir.resolve(script + ".state"));
    }

    private void webOnlineOnHost1() {
        assertTrue(runner.online("web").ok());
        assertTrue(runs(h1, "vm1") && runs(h1, "vm2") && online("mount") && online("ip"));
        steps.clear();
    }

    @Test
    void scriptsStopInTheirTurnAroundTheVmsThatLeave() {
        webOnlineOnHost1();
        Mover.Report r = runner.move("web", "host2", MoveMode.LIVE);
        assertTrue(r.ok(), r.detail());
        assertTrue(runs(h2, "vm1") && runs(h2, "vm2"), h2.domains.toString());
        assertFalse(h1.domains.containsKey("vm1") || h1.domains.containsKey("vm2"), h1.domains.toString());
        // ip (above the VMs) stops before they leave; mount (below them) only after they have left.
        assertEquals(List.of("host1 offline web/ip: ok", "host1 offline web/mount: ok"), steps);
        assertEquals(List.of("migrate vm2 host2", "migrate vm1 host2"),
                h1.calls.stream().filter(c -> c.startsWith("migrate")).toList());
        assertFalse(online("ip") || online("mount"), "the target brings them online, not the source");
    }

    @Test
    void aFailedMoveIsUndoneLastStepFirstAndTheGroupRunsWholeOnTheSource() {
        webOnlineOnHost1();
        failMigrationFromH1.add("vm1"); // vm2 leaves first, then vm1 fails
        Mover.Report r = runner.move("web", "host2", MoveMode.LIVE);
        assertFalse(r.ok());
        assertTrue(r.detail().contains("injected: migration of vm1 failed"), r.detail());
        assertTrue(r.detail().contains("vm2 moved back to host1"), r.detail());
        assertTrue(r.detail().contains("ip online again on host1"), r.detail());
        assertTrue(runs(h1, "vm1") && runs(h1, "vm2"), h1.domains.toString());
        assertFalse(runs(h2, "vm1") || runs(h2, "vm2"), h2.domains.toString());
        assertTrue(online("ip") && online("mount"));
        assertEquals(List.of("host1 offline web/ip: ok", "host1 online web/ip: ok"), steps,
                "vm2 comes back before ip, which needs it, comes online again");
        List<String> h2Calls = h2.calls.stream().filter(c -> c.startsWith("migrate")).toList();
        assertEquals(List.of("migrate vm2 host1"), h2Calls);
    }

    @Test
    void aVmThatCannotComeBackIsDestroyedOnTheTargetRatherThanRunTwice() {
        webOnlineOnHost1();
        failMigrationFromH1.add("vm1");
        failMigrationFromH2.add("vm2"); // and vm2 cannot come back
        Mover.Report r = runner.move("web", "host2", MoveMode.LIVE);
        assertFalse(r.ok());
        assertTrue(r.detail().contains("vm2 could not move back"), r.detail());
        assertTrue(r.detail().contains("destroyed on host2"), r.detail());
        assertFalse(runs(h2, "vm2"), "nothing of the group runs on the target: " + h2.domains);
        assertFalse(runs(h1, "vm2"), "vm2 is down: the source's monitor finds it so and restarts it there");
        assertTrue(runs(h1, "vm1"));
    }

    @Test
    void aScriptThatCannotBeStoppedFailsTheMoveBeforeAnyVmLeaves() {
        h1.put("vm3", true);
        Mover.Report r = runner.move("stuck", "host2", MoveMode.LIVE);
        assertFalse(r.ok());
        assertTrue(r.detail().contains("svc could not be stopped on host1"), r.detail());
        assertTrue(r.detail().contains("held by pid 4242"), r.detail());
        assertTrue(runs(h1, "vm3"));
        assertFalse(h2.domains.containsKey("vm3"));
        assertEquals(List.of("host1 offline stuck/svc: failed (svc offline: exit 1: held by pid 4242)",
                "host1 terminate stuck/svc: failed (svc terminate: exit 1: held by pid 4242)"), new ArrayList<>(steps));
    }
}
