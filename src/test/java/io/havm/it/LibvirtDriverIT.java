package io.havm.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.HypervisorException.Kind;
import io.havm.port.VmEvent;
import io.havm.libvirt.LibvirtHypervisor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The libvirt driver itself against real libvirtd: events, state reasons, managed save, errors, reconnects. */
class LibvirtDriverIT {
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
    void lifecycleEventsArriveTyped() {
        vm = lab.newVm("it-events");
        List<VmEvent> events = new CopyOnWriteArrayList<>();
        try (Hypervisor h = new LibvirtHypervisor("host1", lab.hv("host1").uri())) {
            h.addListener(events::add);
            h.ping(); // opens the connection and registers for events
            h.define(vm.props().definitionXml());
            h.start(vm.name());
            h.destroy(vm.name());
            await("started and stopped events").atMost(Duration.ofSeconds(20)).until(() ->
                    has(events, VmEvent.Type.STARTED, "booted") && has(events, VmEvent.Type.STOPPED, "destroyed"));
            assertTrue(has(events, VmEvent.Type.DEFINED, "added"), events.toString());
        }
    }

    private boolean has(List<VmEvent> events, VmEvent.Type type, String detail) {
        return events.stream().anyMatch(e -> e instanceof VmEvent.Lifecycle l && l.domain().equals(vm.name())
                && l.type() == type && l.detail().equals(detail));
    }

    @Test
    void managedSaveKeepsTheGuestRunningStateOnTheSameHost() {
        vm = lab.newVm("it-msave");
        Hypervisor h = lab.hv("host1");
        h.define(vm.props().definitionXml());
        h.start(vm.name());
        lab.awaitBooted(vm, 1);
        h.managedSave(vm.name());
        assertTrue(h.hasManagedSave(vm.name()));
        assertEquals("shutoff (saved)", h.state(vm.name()).orElseThrow().toString());
        int tick = vm.log().lastTick();
        h.start(vm.name());
        assertEquals("running (restored)", h.state(vm.name()).orElseThrow().toString());
        lab.awaitConsole(vm, "ticks after managed-save restore", c -> c.lastTick() > tick);
        assertEquals(1, vm.log().booted());
        assertFalse(h.hasManagedSave(vm.name()));
    }

    @Test
    void errorsAreClassifiedNeverSwallowed() {
        Hypervisor h = lab.hv("host1");
        assertTrue(h.state("no-such-domain").isEmpty());
        assertEquals(Kind.NO_DOMAIN, assertThrows(HypervisorException.class, () -> h.destroy("no-such-domain")).kind());
        assertEquals(Kind.INVALID_DEFINITION, assertThrows(HypervisorException.class,
                () -> h.define("<domain type='qemu'><name>x</name>")).kind());
        vm = lab.newVm("it-errors");
        h.define(vm.props().definitionXml());
        h.start(vm.name());
        assertEquals(Kind.WRONG_STATE, assertThrows(HypervisorException.class, () -> h.start(vm.name())).kind());
        try (Hypervisor nowhere = new LibvirtHypervisor("host9", "qemu+tcp://10.77.0.99/system")) {
            HypervisorException e = assertThrows(HypervisorException.class, nowhere::ping);
            assertEquals(Kind.HOST_UNREACHABLE, e.kind(), e.getMessage());
        }
    }

    @Test
    void anIsolatedHostBecomesUnreachableWithinTheKeepaliveBoundAndIsReconnectedAfterHealing() {
        Hypervisor h = lab.hv("host3");
        List<VmEvent> events = new CopyOnWriteArrayList<>();
        h.addListener(events::add);
        h.ping();
        lab.lab.isolate("host3");
        // keepalive 2 s x (3 + 1) = 8 s; the call in flight fails, or the next one does.
        await("host3 unreachable").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(() -> {
            try {
                h.ping();
                return false;
            } catch (HypervisorException e) {
                return e.kind() == Kind.HOST_UNREACHABLE;
            }
        });
        assertTrue(events.stream().anyMatch(e -> e instanceof VmEvent.HostDisconnected), events.toString());
        lab.lab.heal("host3");
        await("host3 reconnected").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
            try {
                h.ping();
                return true;
            } catch (HypervisorException e) {
                return false;
            }
        });
        assertTrue(events.stream().anyMatch(e -> e instanceof VmEvent.HostConnected));
    }

    @Test
    void aLibvirtdRestartLeavesItsGuestsRunningAndTheDriverReconnects() {
        vm = lab.newVm("it-restart");
        Hypervisor h = lab.hv("host2");
        h.define(vm.props().definitionXml());
        h.start(vm.name());
        lab.awaitBooted(vm, 1);
        lab.lab.restartLibvirtd("host2");
        await("host2 answers again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
            try {
                return h.state(vm.name()).map(DomainState::kind).orElse(null) == DomainState.Kind.RUNNING;
            } catch (HypervisorException e) {
                return false;
            }
        });
        int tick = vm.log().lastTick();
        lab.awaitConsole(vm, "ticks after libvirtd restart", c -> c.lastTick() > tick);
        assertEquals(1, vm.log().booted(), "the guest was not restarted");
    }
}
