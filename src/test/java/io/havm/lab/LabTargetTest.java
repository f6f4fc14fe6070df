package io.havm.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havm.config.PlaybookLoader;
import io.havm.drill.SimTarget;
import io.havm.model.InvalidInputException;
import io.havm.model.Playbook;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What the lab cannot do is refused before the lab is touched. */
class LabTargetTest {
    @Test
    void everyFaultOfAPlaybookCanBeInjectedOnTheLab() {
        // a fault kind added later and not built on the lab is refused up front, naming its line
        assertEquals(java.util.EnumSet.allOf(Playbook.FaultKind.class), LabTarget.CAN);
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
