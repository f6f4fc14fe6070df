package io.havm.it;

import static org.awaitility.Awaitility.await;

import io.havm.storage.HostStorage;
import io.havm.engine.Whereabouts;
import io.havm.port.Clock;
import io.havm.port.Hypervisor;
import io.havm.lab.ConsoleLog;
import io.havm.libvirt.GuestImage;
import io.havm.lab.Lab;
import io.havm.libvirt.AccelProbe;
import io.havm.libvirt.DomainSpec;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.DomainType;
import io.havm.port.VmProperties;
import io.havm.resource.VmResource;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The real 3-host lab shared by every integration test of one JVM: brought up once (and torn
 * down at JVM exit if this run brought it up; ci/test tears it down anyway), real libvirtd per
 * host, real QEMU guests.
 */
final class RealLab {
    static final int HOSTS = 3;
    static final Duration BOOT = Duration.ofSeconds(90);
    private static RealLab instance;

    final Lab lab = Lab.fromProjectHome();
    final Path home = Exec.projectHome();
    final GuestImage guest;
    final DomainType type;
    final Map<String, Hypervisor> hosts = new TreeMap<>();

    /** A VM made for one test: its resource properties, disk and console log. */
    record TestVm(String name, VmProperties props, Path disk, Path console) {
        ConsoleLog log() {
            return ConsoleLog.read(console);
        }
    }

    private RealLab() {
        boolean wasUp = lab.status().stream().filter(Lab.Host::up).count() >= HOSTS;
        lab.up(HOSTS);
        if (!wasUp) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                hosts.values().forEach(Hypervisor::close);
                lab.down();
            }));
        }
        guest = GuestImage.ensure(home);
        type = AccelProbe.resolve(System.getenv("HAVM_DOMAIN_TYPE"), guest.kernel(), guest.initrd(),
                Path.of("/var/cache/havm"));
        connect();
    }

    static synchronized RealLab get() {
        if (instance == null) {
            instance = new RealLab();
        }
        return instance;
    }

    private void connect() {
        hosts.values().forEach(Hypervisor::close);
        hosts.clear();
        for (Lab.Host h : lab.status()) {
            hosts.put(h.name(), new LibvirtHypervisor(h.name(), h.uri()));
        }
    }

    /** Reconnect to every host (after a host went away, its connection is dead until it returns). */
    void restoreConnections() {
        connect();
    }

    Hypervisor hv(String host) {
        return hosts.get(host);
    }

    /** Power every host back on and heal links (after a power-off or isolation test). */
    void restoreAllHosts() {
        for (Lab.Host h : lab.status()) {
            if ("isolated".equals(h.state())) {
                lab.heal(h.name());
            }
        }
        lab.up(HOSTS);
        connect();
    }

    TestVm newVm(String name, String cmdline) {
        remove(name);
        Path shared = lab.sharedDir();
        Path disk = shared.resolve("images").resolve(name + ".qcow2");
        Path console = shared.resolve("console").resolve(name + ".log");
        try {
            Files.createDirectories(disk.getParent());
            Files.createDirectories(console.getParent());
            Files.deleteIfExists(disk);
            Files.deleteIfExists(console);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Exec.run(Duration.ofSeconds(30), List.of("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), "16M"))
                .orThrow();
        DomainSpec spec = new DomainSpec(name, null, 128, 1, type, guest.kernel(), guest.initrd(), cmdline,
                List.of(new DomainSpec.Disk(disk, "qcow2")), null, console, Map.of());
        String xml = spec.render(home.resolve("vm-templates/lab-direct-kernel.xml"));
        VmProperties props = VmProperties.defaults(name, xml, shared.resolve("save"))
                .withTimeouts(Duration.ofSeconds(60), Duration.ofSeconds(60));
        try {
            Files.deleteIfExists(props.stateFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TestVm(name, props, disk, console);
    }

    TestVm newVm(String name) {
        return newVm(name, null);
    }

    VmResource resource(TestVm vm, String host) {
        return new VmResource(vm.props(), hv(host), Clock.SYSTEM, HostStorage.INSTANCE);
    }

    /** Waits until the guest's console satisfies {@code condition}. */
    void awaitConsole(TestVm vm, String what, Predicate<ConsoleLog> condition) {
        await(vm.name() + ": " + what).atMost(BOOT).pollInterval(Duration.ofMillis(200))
                .until(() -> condition.test(vm.log()));
    }

    void awaitBooted(TestVm vm, int boots) {
        awaitConsole(vm, "BOOTED #" + boots, c -> c.booted() == boots && c.lastTick() >= 1);
    }

    /** Waits until the guest agent has answered a ping (IsAlive's heartbeat is armed). */
    void awaitAgent(VmResource r) {
        await(r.name() + ": guest agent answers").atMost(BOOT).pollInterval(Duration.ofMillis(500))
                .until(() -> r.isAlive().detail().contains("guest agent answered"));
    }

    /** Hosts on which the domain is active (running, paused …): the referee for "never twice". */
    List<String> activeOn(String domain) {
        return Whereabouts.activeOn(hosts.values(), domain);
    }

    /** Turn the domain off and forget it on every reachable host; delete its state file. */
    void remove(String domain) {
        Whereabouts.removeEverywhere(hosts.values(), domain);
        try {
            Files.deleteIfExists(lab.sharedDir().resolve("save").resolve(domain + ".sav"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
