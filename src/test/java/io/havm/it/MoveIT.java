package io.havm.it;

import io.havm.port.Scheduler;
import io.havm.resource.NodeResources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.engine.FenceConfirmation;
import io.havm.engine.Mover;
import io.havm.port.Clock;
import io.havm.port.MigrationOptions;
import io.havm.port.MigrationProgress;
import io.havm.model.MoveMode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Live, quick and offline moves and recovery after a host power loss, on the real lab. */
class MoveIT {
    final RealLab lab = RealLab.get();
    // The lab's shared directory is one local path libvirt cannot recognise as shared (LAB.md).
    final Mover mover = new Mover(Clock.SYSTEM, new MigrationOptions(true, 0, 0),
            NodeResources.vmsOnHost(Clock.SYSTEM), Scheduler.threads(Clock.SYSTEM));
    RealLab.TestVm vm;

    @AfterEach
    void cleanUp() {
        lab.restoreAllHosts();
        if (vm != null) {
            lab.remove(vm.name());
        }
    }

    private void move(MoveMode mode, String from, String to, List<MigrationProgress> progress) {
        int tick = vm.log().lastTick();
        Mover.Report r = mover.move(mode, vm.props(), lab.hv(from), lab.hv(to), progress == null ? null : progress::add);
        assertTrue(r.ok(), mode + ": " + r.detail());
        assertEquals(List.of(to), lab.activeOn(vm.name()), mode + ": runs on the target only");
        assertFalse(lab.hv(from).state(vm.name()).isPresent(), mode + ": the source forgot the definition");
        lab.awaitConsole(vm, "ticks after " + mode.word + " move", c -> c.lastTick() > tick);
        assertEquals(1, vm.log().booted(), mode + ": the guest kept running (no second BOOTED)");
    }

    @Test
    void aVmKeepsRunningThroughLiveQuickAndOfflineMovesAndIsRecoveredAfterAHostPowerLoss() {
        vm = lab.newVm("it-moves");
        assertTrue(lab.resource(vm, "host1").online().ok());
        lab.awaitBooted(vm, 1);

        List<MigrationProgress> progress = new CopyOnWriteArrayList<>();
        move(MoveMode.LIVE, "host1", "host2", progress);
        move(MoveMode.QUICK, "host2", "host3", null);
        move(MoveMode.OFFLINE, "host3", "host1", null); // offline action save: restored on the target
        assertTrue(vm.log().ticksContinuous(0), "no tick lost or repeated: " + vm.log().ticksPerBoot().get(0));

        FenceConfirmation fence = lab.lab.powerOff("host1");
        Mover.Report refused = mover.recover(vm.props(), "host1", lab.hv("host1"), lab.hv("host2"),
                new FenceConfirmation("host3", "wrong host", Instant.now()));
        assertFalse(refused.ok(), "a fence of another host proves nothing");
        Mover.Report r = mover.recover(vm.props(), "host1", lab.hv("host1"), lab.hv("host2"), fence);
        assertTrue(r.ok(), r.detail());
        lab.awaitBooted(vm, 2);
        assertEquals(List.of(1, 2), vm.log().bootCounts(), "the disk kept the boot counter");
        assertEquals(List.of("host2"), lab.activeOn(vm.name()));
    }

    @Test
    void liveMigrationReportsProgressAndAnAbortedMigrationLeavesTheVmOnTheSource() throws Exception {
        vm = lab.newVm("it-abort");
        assertTrue(lab.resource(vm, "host2").online().ok());
        lab.awaitBooted(vm, 1);
        // 1 MiB/s makes the copy of 128 MiB take long enough to watch and abort it.
        Mover slow = new Mover(Clock.SYSTEM, new MigrationOptions(true, 1, 0),
                NodeResources.vmsOnHost(Clock.SYSTEM), Scheduler.threads(Clock.SYSTEM));
        List<MigrationProgress> seen = new ArrayList<>();
        List<Mover.Report> result = new CopyOnWriteArrayList<>();
        Thread t = new Thread(() -> result.add(slow.live(vm.props(), lab.hv("host2"), lab.hv("host3"), p -> {
            synchronized (seen) {
                seen.add(p);
            }
        })));
        t.start();
        org.awaitility.Awaitility.await("migration progress").atMost(java.time.Duration.ofSeconds(30))
                .until(() -> {
                    synchronized (seen) {
                        return seen.stream().anyMatch(p -> p.dataProcessed() > 0);
                    }
                });
        lab.hv("host2").abortJob(vm.name());
        t.join(60_000);
        assertFalse(result.get(0).ok());
        assertTrue(result.get(0).detail().contains("live migration failed"), result.get(0).detail());
        assertEquals(List.of("host2"), lab.activeOn(vm.name()));
        assertFalse(lab.hv("host3").state(vm.name()).isPresent());
        int tick = vm.log().lastTick();
        lab.awaitConsole(vm, "ticks on the source", c -> c.lastTick() > tick);
    }
}
