package io.havm.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.storage.HostStorage;
import io.havm.port.DomainState;
import io.havm.port.HypervisorException;
import io.havm.model.OfflineAction;
import io.havm.model.Result;
import io.havm.port.VmProperties;
import io.havm.resource.VmResource;
import io.havm.port.Clock;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every entry point of the VM resource on the real lab, failures included. */
class VmResourceIT {
    final RealLab lab = RealLab.get();
    RealLab.TestVm vm;

    @AfterEach
    void cleanUp() {
        if (vm != null) {
            lab.remove(vm.name());
        }
    }

    @Test
    void onlineWhereTheVmAlreadyRunsIsAlreadyRunningAndTheTerminateThatFollowsSavesIt() {
        vm = lab.newVm("it-already");
        VmResource r = lab.resource(vm, "host1");
        assertTrue(r.open().ok());
        Result first = r.online();
        assertInstanceOf(Result.Ok.class, first, first.detail());
        lab.awaitBooted(vm, 1);

        Result again = r.online();
        assertInstanceOf(Result.AlreadyRunning.class, again, again.detail());
        assertTrue(r.terminate().ok());
        DomainState s = lab.hv("host1").state(vm.name()).orElseThrow();
        assertEquals("shutoff (saved)", s.toString());
        assertTrue(Files.exists(vm.props().stateFile()));

        // The next Online restores the saved guest: same boot, ticks go on.
        int tick = vm.log().lastTick();
        assertTrue(r.online().detail().contains("restored"));
        lab.awaitConsole(vm, "ticks after restore", c -> c.lastTick() > tick);
        assertEquals(1, vm.log().booted(), "restored, not rebooted");
    }

    @Test
    void aStartOnAnotherHostWhileTheVmRunsIsRefusedByTheLease() {
        vm = lab.newVm("it-lease");
        assertTrue(lab.resource(vm, "host1").online().ok());
        lab.awaitBooted(vm, 1);

        Result second = lab.resource(vm, "host2").online();
        assertInstanceOf(Result.WrongNode.class, second, second.detail());
        assertTrue(lab.hv("host2").state(vm.name()).isEmpty(), "no stray definition left on host2");
        lab.hv("host2").define(vm.props().definitionXml());
        HypervisorException e = assertThrows(HypervisorException.class, () -> lab.hv("host2").start(vm.name()));
        assertEquals(HypervisorException.Kind.LEASE_REFUSED, e.kind(), e.getMessage());
        assertEquals(List.of("host1"), lab.activeOn(vm.name()));
        int tick = vm.log().lastTick();
        lab.awaitConsole(vm, "still ticking", c -> c.lastTick() > tick);
        assertEquals(1, vm.log().booted());
    }

    @Test
    void isAliveGoesFalseWhenTheGuestKernelCrashesWhileLooksAliveStillSeesARunningDomain() {
        // panic=0: the crashed kernel hangs instead of rebooting, like a wedged guest in production;
        // its pvpanic driver kept from loading, so the host is not told (the lab's guests otherwise
        // report a panic to libvirt, which destroys them: the guest-crash playbook's case).
        vm = lab.newVm("it-crash", "console=ttyS0 quiet panic=0 module_blacklist=pvpanic,pvpanic_mmio");
        VmResource r = lab.resource(vm, "host2");
        assertTrue(r.online().ok());
        lab.awaitAgent(r);

        lab.hv("host2").agentCommand(vm.name(), "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/sh\","
                + "\"arg\":[\"-c\",\"echo c > /proc/sysrq-trigger\"]}}", Duration.ofSeconds(5));
        await("IsAlive fails").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                .until(() -> r.isAlive() instanceof Result.Failed);
        assertTrue(r.looksAlive().ok(), "QEMU still runs the hung guest: only the deep check sees it");
        Result t = r.terminate();
        assertTrue(t.detail().contains("turned off"), t.detail());
        assertEquals("shutoff (destroyed)", lab.hv("host2").state(vm.name()).orElseThrow().toString());
    }

    @ParameterizedTest
    @EnumSource(OfflineAction.class)
    void offlineWorksWithEachOfflineAction(OfflineAction action) {
        vm = lab.newVm("it-off-" + action.word);
        VmProperties p = vm.props().withOfflineAction(action);
        VmResource r = new VmResource(p, lab.hv("host3"), Clock.SYSTEM, HostStorage.INSTANCE);
        assertTrue(r.online().ok());
        lab.awaitAgent(r); // graceful shutdown goes through the guest agent

        Result off = r.offline();
        assertTrue(off.ok(), off.detail());
        DomainState s = lab.hv("host3").state(vm.name()).orElseThrow();
        assertEquals(DomainState.Kind.SHUTOFF, s.kind());
        String expectedReason = switch (action) {
            case SAVE -> "saved";
            case SHUTDOWN, FORCED_SHUTDOWN -> "shutdown";
            case TURN_OFF -> "destroyed";
        };
        assertEquals(expectedReason, s.reason());
        assertEquals(action == OfflineAction.SAVE, Files.exists(p.stateFile()));
        assertInstanceOf(Result.Failed.class, r.looksAlive());
    }

    @Test
    void looksAliveFailsWhenTheDomainIsTurnedOffBehindTheClustersBack() {
        vm = lab.newVm("it-behind");
        VmResource r = lab.resource(vm, "host1");
        assertTrue(r.online().ok());
        assertTrue(r.looksAlive().ok());
        lab.hv("host1").destroy(vm.name());
        Result la = r.looksAlive();
        assertInstanceOf(Result.Failed.class, la);
        assertTrue(la.detail().contains("shutoff (destroyed)"), la.detail());
    }
}
