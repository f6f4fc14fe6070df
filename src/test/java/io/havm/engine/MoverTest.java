package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.MigrationOptions;
import io.havm.model.MoveMode;
import io.havm.port.VmProperties;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Safety rules of moves on fake hypervisors; MoveIT runs the same moves on the real lab. */
class MoverTest {
    @TempDir
    Path state;
    FakeHypervisor a;
    FakeHypervisor b;
    VmProperties vm;
    Mover mover;

    @BeforeEach
    void setUp() {
        a = new FakeHypervisor("host1");
        b = new FakeHypervisor("host2");
        vm = VmProperties.defaults("web", "<domain><name>web</name></domain>", state);
        mover = new Mover(new ManualClock(), MigrationOptions.defaults(),
                TestPorts.resources(null, "host1", a, new ManualClock()));
        a.put("web", true);
    }

    @Test
    void everyModeEndsWithTheVmOnTheTargetOnlyAndNoStateFileLeft() {
        for (MoveMode m : MoveMode.values()) {
            Mover.Report r = mover.move(m, vm, a, b, null);
            assertTrue(r.ok(), m + ": " + r.detail());
            assertTrue(b.domains.get("web").active(), m.word);
            assertFalse(a.domains.containsKey("web"), m + ": source must forget the definition");
            assertFalse(Files.exists(vm.stateFile()), m + ": state file must be consumed");
            // and back, for the next mode
            FakeHypervisor t = a;
            a = b;
            b = t;
        }
    }

    @Test
    void refusesToMoveOntoAHostWhereTheVmAlreadyRuns() {
        b.put("web", true);
        Mover.Report r = mover.live(vm, a, b, null);
        assertFalse(r.ok());
        assertTrue(r.detail().contains("already runs on host2"), r.detail());
        assertFalse(a.calls.stream().anyMatch(c -> c.startsWith("migrate")));
    }

    @Test
    void quickMoveRestoresOnTheSourceWhenTheTargetCannotRestore() {
        b.unreachable = false;
        FakeHypervisor broken = new FakeHypervisor("host2") {
            @Override
            public void restore(Path file) {
                throw new io.havm.port.HypervisorException(
                        io.havm.port.HypervisorException.Kind.OTHER, "host2", "restore failed");
            }
        };
        Mover.Report r = mover.quick(vm, a, broken);
        assertFalse(r.ok());
        assertTrue(r.detail().contains("restored again on host1"), r.detail());
        assertTrue(a.domains.get("web").active(), "the VM keeps running where it was");
        assertFalse(broken.domains.containsKey("web"), "no stale definition left on the target");
    }

    @Test
    void recoveryRequiresAFenceConfirmationForThatHost() {
        a.unreachable = true;
        assertFalse(mover.recover(vm, "host1", a, b, null).ok());
        assertFalse(mover.recover(vm, "host1", a, b, new FenceConfirmation("host3", "x", Instant.EPOCH)).ok());
        assertFalse(b.domains.containsKey("web"), "nothing started without a fence");
        Mover.Report r = mover.recover(vm, "host1", a, b, new FenceConfirmation("host1", "lab", Instant.EPOCH));
        assertTrue(r.ok(), r.detail());
        assertTrue(b.domains.get("web").active());
    }

    @Test
    void recoveryIsRefusedWhileTheFencedHostStillAnswers() {
        Mover.Report r = mover.recover(vm, "host1", a, b, new FenceConfirmation("host1", "lab", Instant.EPOCH));
        assertFalse(r.ok());
        assertTrue(r.detail().contains("still answers"), r.detail());
        assertEquals(0, b.calls.stream().filter(c -> c.startsWith("start")).count());
    }
}
