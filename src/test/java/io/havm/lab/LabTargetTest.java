package io.havm.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havm.config.PlaybookLoader;
import io.havm.drill.SimTarget;
import io.havm.model.InvalidInputException;
import io.havm.model.Playbook;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What the lab cannot inject is refused before the lab is touched. */
class LabTargetTest {
    @Test
    void aFaultTheLabCannotInjectIsRefusedWithItsLine() {
        Playbook p = PlaybookLoader.parse("p.yaml", "name: x\ndescription: d\ngroups: {web: {on: host1}}\nsteps:\n"
                + "  - pause: 1s\n  - fault: storage-cut\n    host: host1\n");
        LabTarget t = new LabTarget(Path.of("").toAbsolutePath(), System.out);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> t.check(p));
        assertEquals("p.yaml:6: fault: 'storage-cut' cannot be injected on the lab yet (the lab can: power-loss,"
                + " power-on, isolate, heal, libvirtd-restart, qemu-kill, guest-crash, guest-agent-stop, agent-pause, agent-resume,"
                + " agent-kill, agent-start, zookeeper-stop, zookeeper-start, zookeeper-pause, zookeeper-resume,"
                + " zookeeper-restart, fence-fails, lun-remove, lun-restore); rehearse it with --sim", e.getMessage());
        t.close(); // never touched the lab: nothing to undo
    }

    @Test
    void aDiskFaultNeedsAGroupWithALun() {
        Playbook p = PlaybookLoader.parse("p.yaml", "name: x\ndescription: d\ngroups: {web: {on: host1}}\nsteps:\n"
                + "  - fault: lun-remove\n    disk: web-os\n");
        LabTarget t = new LabTarget(Path.of("").toAbsolutePath(), System.out);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> t.check(p));
        assertEquals("p.yaml:5: disk: unknown disk 'web-os': on the lab a drill's VM has a LUN only when its group"
                + " says lun: N (groups: {web: {lun: 4}} gives disk web-lun)", e.getMessage());
        t.check(PlaybookLoader.parse("p.yaml", "name: x\ndescription: d\ngroups: {web: {on: host1, lun: 4}}\n"
                + "steps:\n  - fault: lun-remove\n    disk: web-lun\n"));
        t.close();
    }

    @Test
    void theSimulatorRehearsesWithTheLabsTimers() {
        assertEquals(LabCluster.FAST_TIMERS, SimTarget.LAB_TIMERS);
    }
}
