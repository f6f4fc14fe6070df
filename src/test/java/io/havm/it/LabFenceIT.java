package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.Fencer;
import io.havm.fencing.FenceAgentRunner;
import io.havm.fencing.FenceDevice;
import io.havm.lab.Lab;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lab's fence agent (ci/fence_havm_lab), run through FenceAgentRunner exactly as the cluster
 * will run fence_ipmilan or fence_redfish, against the real lab: off really powers the host off
 * (every process killed), status sees it, on brings it back.
 */
class LabFenceIT {
    final RealLab lab = RealLab.get();
    RealLab.TestVm vm;

    @AfterEach
    void cleanUp() {
        lab.restoreAllHosts();
        if (vm != null) {
            lab.remove(vm.name());
        }
    }

    @Test
    void theLabFenceAgentPowersAHostOffConfirmedAndOnAgain() {
        vm = lab.newVm("it-fence");
        assertTrue(lab.resource(vm, "host3").online().ok());
        FenceDevice device = new FenceDevice(lab.home.resolve("ci/fence_havm_lab").toString(),
                Map.of("plug", "host3"), Duration.ofSeconds(60));
        FenceAgentRunner.validate("LabFenceIT", device);
        Fencer fencer = new FenceAgentRunner(Map.of("host3", device));

        assertEquals(Fencer.Outcome.ON, fencer.fence("host3", Fencer.Action.STATUS).outcome());
        Fencer.Result off = fencer.fence("host3", Fencer.Action.OFF);
        assertEquals(Fencer.Outcome.OFF, off.outcome(), off.detail());
        assertEquals("off", lab.lab.host("host3").state());
        assertEquals(List.of(), lab.activeOn(vm.name()), "the VM died with its host");

        Fencer.Result on = fencer.fence("host3", Fencer.Action.ON);
        assertEquals(Fencer.Outcome.OK, on.outcome(), on.detail());
        assertTrue(lab.lab.host("host3").up());
        assertEquals(Fencer.Outcome.ON, fencer.fence("host3", Fencer.Action.STATUS).outcome());
    }

    @Test
    void fencingAnUnknownLabHostFailsWithTheAgentsReason() {
        FenceDevice device = new FenceDevice(lab.home.resolve("ci/fence_havm_lab").toString(),
                Map.of("plug", "host9"), Duration.ofSeconds(30));
        Fencer.Result r = new FenceAgentRunner(Map.of("host9", device)).fence("host9", Fencer.Action.OFF);
        assertEquals(Fencer.Outcome.FAILED, r.outcome());
        assertTrue(r.detail().contains("host9"), r.detail());
        assertEquals(3, lab.lab.status().stream().filter(Lab.Host::up).count(), "nothing else was touched");
    }
}
