package io.havm.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.havm.engine.FenceConfirmation;
import io.havm.engine.Mover;
import io.havm.engine.Whereabouts;
import io.havm.engine.port.Clock;
import io.havm.engine.port.Hypervisor;
import io.havm.engine.port.MigrationOptions;
import io.havm.lab.ConsoleLog;
import io.havm.lab.GuestImage;
import io.havm.lab.Lab;
import io.havm.libvirt.AccelProbe;
import io.havm.libvirt.DomainSpec;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.DomainType;
import io.havm.model.Result;
import io.havm.resource.VmProperties;
import io.havm.resource.VmResource;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * {@code havm demo}: the whole floor on a real 3-host lab. One VM with its qcow2 disk on the shared
 * directory: online on host1, live-migrate to host2, quick-migrate to host3, power off host3,
 * recover on host1. The guest's own console and disk are the referee: one BOOTED and rising TICKs
 * through both moves; the boot counter on the disk reads 2 after the recovery.
 */
final class Demo {
    static final String VM = "havm-demo";
    private static final Duration BOOT_BUDGET = Duration.ofSeconds(90);

    record Step(String name, boolean ok, double seconds, String host, String detail) {}

    private final Path home;
    private final PrintStream out;
    private final Path jsonFile;
    private final boolean keep;
    private final List<Step> steps = new ArrayList<>();
    private final Map<String, Hypervisor> hosts = new TreeMap<>();
    private final Clock clock = Clock.SYSTEM;

    Demo(Path home, PrintStream out, Path jsonFile, boolean keep) {
        this.home = home;
        this.out = out;
        this.jsonFile = jsonFile;
        this.keep = keep;
    }

    int run() {
        Lab lab = new Lab(home, null);
        Map<String, Object> proof = new LinkedHashMap<>();
        boolean labStarted = false;
        try {
            out.println("havm demo: one VM, three hosts, live + quick moves, then a host power loss");
            GuestImage guest = step("build test guest image", "-", () -> {
                GuestImage g = GuestImage.ensure(home);
                return new Outcome<>(g, true, g.dir().toString());
            });
            step("lab up (3 hosts)", "-", () -> {
                List<Lab.Host> hs = lab.up(3);
                boolean ok = hs.size() >= 3 && hs.stream().allMatch(Lab.Host::up);
                return new Outcome<>(hs, ok, String.join(" ", hs.stream().map(h -> h.name() + "=" + h.uri()).toList()));
            });
            labStarted = true;
            for (Lab.Host h : lab.status()) {
                hosts.put(h.name(), new LibvirtHypervisor(h.name(), h.uri()));
            }
            DomainType type = step("choose domain type (probe)", "-", () -> {
                DomainType t = AccelProbe.resolve(System.getenv("HAVM_DOMAIN_TYPE"), guest.kernel(), guest.initrd(),
                        Path.of("/var/cache/havm"));
                return new Outcome<>(t, true, t.word + (t == DomainType.QEMU ? " (TCG: no usable KVM here)" : ""));
            });
            Path shared = lab.sharedDir();
            Path disk = shared.resolve("images").resolve(VM + ".qcow2");
            Path console = shared.resolve("console").resolve(VM + ".log");
            VmProperties vm = step("create qcow2 disk on shared storage", "-", () -> {
                // A leftover of an earlier --keep run must not run twice.
                Whereabouts.removeEverywhere(hosts.values(), VM);
                Files.createDirectories(disk.getParent());
                Files.createDirectories(console.getParent());
                Files.deleteIfExists(disk);
                Files.deleteIfExists(console);
                Exec.run(Duration.ofSeconds(30), List.of("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(),
                        "64M")).orThrow();
                DomainSpec spec = new DomainSpec(VM, null, 128, 1, type, guest.kernel(), guest.initrd(), null,
                        List.of(new DomainSpec.Disk(disk, "qcow2")), null, console, Map.of());
                String xml = spec.render(home.resolve("vm-templates/lab-direct-kernel.xml"));
                VmProperties p = VmProperties.defaults(VM, xml, shared.resolve("save"));
                Files.deleteIfExists(p.stateFile());
                return new Outcome<>(p, true, disk + " (64 MiB), mac " + spec.mac());
            });
            Mover mover = new Mover(clock, new MigrationOptions(true, 0, 0));

            step("online on host1 (until guest userspace)", "host1", () -> {
                Result r = new VmResource(vm, hosts.get("host1"), clock).online();
                if (!r.ok()) {
                    return new Outcome<>(null, false, r.word() + ": " + r.detail());
                }
                boolean up = awaitConsole(console, c -> c.booted() == 1 && c.lastTick() >= 1);
                return new Outcome<>(null, up, r.detail() + (up ? "; guest printed BOOTED" : "; no BOOTED on console"));
            });
            moveStep(mover, io.havm.model.MoveMode.LIVE, vm, "host1", "host2", console);
            moveStep(mover, io.havm.model.MoveMode.QUICK, vm, "host2", "host3", console);
            int ticksBeforeLoss = ConsoleLog.read(console).lastTick();
            FenceConfirmation fence = step("power off host3 (fenced)", "host3", () -> {
                FenceConfirmation f = lab.powerOff("host3");
                return new Outcome<>(f, true, f.method());
            });
            hosts.remove("host3").close();
            step("recover on host1 (until guest userspace)", "host1", () -> {
                Mover.Report r = mover.recover(vm, "host3", null, hosts.get("host1"), fence);
                if (!r.ok()) {
                    return new Outcome<>(null, false, r.detail());
                }
                boolean up = awaitConsole(console, c -> c.booted() == 2 && c.lastTick() >= 1);
                return new Outcome<>(null, up, r.detail() + (up ? "; guest printed BOOTED again" : "; no second BOOTED"));
            });
            step("verify guest console and disk", "-", () -> {
                ConsoleLog c = ConsoleLog.read(console);
                boolean oneBootThroughMoves = c.booted() == 2 && c.ticksContinuous(0);
                boolean diskSurvived = c.bootCounts().equals(List.of(1, 2));
                proof.put("booted_lines", c.booted());
                proof.put("ticks_first_boot", c.ticksPerBoot().get(0).size());
                proof.put("ticks_continuous_through_live_and_quick", c.ticksContinuous(0));
                proof.put("last_tick_before_power_loss", ticksBeforeLoss);
                proof.put("boot_counts_on_disk", c.bootCounts());
                boolean running = Whereabouts.activeOn(hosts.values(), VM).equals(List.of("host1"));
                proof.put("runs_only_on_host1", running);
                return new Outcome<>(null, oneBootThroughMoves && diskSurvived && running,
                        "BOOTED before power loss: 1, TICKs 1.." + ticksBeforeLoss + " without a gap through live "
                                + "and quick moves: " + c.ticksContinuous(0) + "; boot counter on disk "
                                + c.bootCounts() + " (expected [1, 2])");
            });
        } catch (StepFailed e) {
            out.println("havm demo: stopped: " + e.getMessage());
        } finally {
            if (!keep && labStarted) {
                step("tear down (lab down)", "-", () -> {
                    hosts.values().forEach(Hypervisor::close);
                    lab.down();
                    return new Outcome<>(null, true, "no namespace, process, mount or bridge of the lab left");
                }, false);
            } else {
                hosts.values().forEach(Hypervisor::close);
                if (keep && labStarted) {
                    out.println("havm demo: --keep: lab left running; stop it with ./havm lab down");
                }
            }
            writeJson(proof);
        }
        boolean ok = !steps.isEmpty() && steps.stream().allMatch(Step::ok) && steps.size() >= 10;
        out.println(ok ? "havm demo: all steps ok" : "havm demo: FAILED");
        return ok ? 0 : 1;
    }

    private void moveStep(Mover mover, io.havm.model.MoveMode mode, VmProperties vm, String from, String to,
            Path console) {
        step(mode.word + " migrate " + from + " -> " + to, to, () -> {
            int before = ConsoleLog.read(console).lastTick();
            Mover.Report r = mover.move(mode, vm, hosts.get(from), hosts.get(to), null);
            if (!r.ok()) {
                return new Outcome<>(null, false, r.detail());
            }
            boolean ticking = awaitConsole(console, c -> c.booted() == 1 && c.lastTick() > before);
            return new Outcome<>(null, ticking, String.format("%s; move took %.2f s; guest kept ticking (TICK %d -> %d)",
                    r.detail(), r.took().toMillis() / 1000.0, before, ConsoleLog.read(console).lastTick()));
        });
    }

    private boolean awaitConsole(Path console, Predicate<ConsoleLog> condition) {
        Instant deadline = clock.now().plus(BOOT_BUDGET);
        while (clock.now().isBefore(deadline)) {
            if (condition.test(ConsoleLog.read(console))) {
                return true;
            }
            try {
                clock.pause(Duration.ofMillis(100));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- step bookkeeping

    record Outcome<T>(T value, boolean ok, String detail) {}

    interface Body<T> {
        Outcome<T> run() throws Exception;
    }

    static final class StepFailed extends RuntimeException {
        StepFailed(String m) {
            super(m);
        }
    }

    private <T> T step(String name, String host, Body<T> body) {
        return step(name, host, body, true);
    }

    private <T> T step(String name, String host, Body<T> body, boolean stopOnFailure) {
        Instant t0 = clock.now();
        Outcome<T> o;
        try {
            o = body.run();
        } catch (Exception e) {
            o = new Outcome<>(null, false, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        double s = Duration.between(t0, clock.now()).toMillis() / 1000.0;
        steps.add(new Step(name, o.ok(), s, host, o.detail()));
        out.printf("  %-4s %7.2f s  %-6s %s%n         %s%n", o.ok() ? "ok" : "FAIL", s, host, name, o.detail());
        out.flush();
        if (!o.ok() && stopOnFailure) {
            throw new StepFailed(name + ": " + o.detail());
        }
        return o.value();
    }

    private void writeJson(Map<String, Object> proof) {
        if (jsonFile == null) {
            return;
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("ok", steps.stream().allMatch(Step::ok));
        doc.put("steps", steps);
        doc.put("proof", proof);
        try {
            if (jsonFile.getParent() != null) {
                Files.createDirectories(jsonFile.getParent());
            }
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(jsonFile.toFile(), doc);
            out.println("havm demo: wrote " + jsonFile);
        } catch (IOException e) {
            out.println("havm demo: cannot write " + jsonFile + ": " + e.getMessage());
        }
    }
}
