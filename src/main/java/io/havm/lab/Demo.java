package io.havm.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.havm.config.ClusterConfigLoader;
import io.havm.engine.Whereabouts;
import io.havm.port.Clock;
import io.havm.port.Hypervisor;
import io.havm.libvirt.GuestImage;
import io.havm.libvirt.AccelProbe;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.DomainType;
import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
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
 * {@code havm demo}: the cluster on a real 3-host lab, with no operator in the failover. An agent
 * runs in each host's namespaces, coordinating through the lab's ZooKeeper. One HA group holds a VM
 * whose qcow2 disk is on the shared directory. The cluster places it; an operator moves it live
 * and quick, and drains its host; then its host loses power and the cluster detects, fences and
 * restarts it on a survivor. The guest's own console and disk are the referee: one BOOTED and rising
 * TICKs through every planned move; the boot counter on the disk reads 2 after the power loss.
 */
public final class Demo {
    static final String VM = "havm-demo";
    static final String GROUP = "web";
    private static final Duration BOOT_BUDGET = Duration.ofSeconds(90);

    record Step(String name, boolean ok, double seconds, String host, String detail) {}

    private final Path home;
    private final PrintStream out;
    private final Path jsonFile;
    private final boolean keep;
    private final List<Step> steps = new ArrayList<>();
    private final Map<String, Hypervisor> hosts = new TreeMap<>();
    private final Clock clock = Clock.SYSTEM;
    private LabCluster cluster;

    public Demo(Path home, PrintStream out, Path jsonFile, boolean keep) {
        this.home = home;
        this.out = out;
        this.jsonFile = jsonFile;
        this.keep = keep;
    }

    public int run() {
        Lab lab = new Lab(home, null);
        Map<String, Object> proof = new LinkedHashMap<>();
        boolean labStarted = false;
        try {
            out.println("havm demo: a 3-host cluster keeps one VM available: placed, moved live and quick, drained,"
                    + " then its host loses power");
            GuestImage guest = step("build test guest image", "-", () -> {
                GuestImage g = GuestImage.ensure(home);
                return new Outcome<>(g, true, g.dir().toString());
            });
            step("lab up (3 hosts + ZooKeeper)", "-", () -> {
                List<Lab.Host> hs = lab.up(3);
                boolean ok = hs.size() >= 3 && hs.stream().allMatch(Lab.Host::up);
                return new Outcome<>(hs, ok, String.join(" ", hs.stream().map(h -> h.name() + "=" + h.uri()).toList())
                        + "; zookeeper " + lab.facts().zookeeper());
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
            LabVm vm = step("create the VM's qcow2 disk and definition on shared storage", "-", () -> {
                LabVm v = LabVm.create(home, lab, hosts.values(), VM, type, guest, "64M");
                return new Outcome<>(v, true, v.disk() + " (64 MiB), " + v.definition() + ", mac " + v.mac());
            });
            Path console = vm.console();
            Path cfg = step("write and check the cluster configuration", "-", () -> {
                String groups = LabCluster.vmGroup(GROUP, VM, vm.definition(), lab.sharedDir().resolve("save"),
                        List.of("host1"), "", "        looksAlive: 2s\n        isAlive: 30s\n");
                Path f = LabCluster.writeConfig(lab.facts().root().resolve("demo/cluster.yaml"), home, "demo",
                        lab.status(), LabCluster.FAST_TIMERS, groups);
                ClusterConfigLoader.Loaded l = ClusterConfigLoader.load(f);
                return new Outcome<>(f, true, f + ": 3 nodes fenced by ci/fence_havm_lab, group " + GROUP
                        + " (preferred host1), session timeout " + l.spec().timers().sessionTimeout().toMillis()
                        + " ms" + (l.warnings().isEmpty() ? "" : "; warnings: " + l.warnings()));
            });
            cluster = LabCluster.of(home, cfg);
            step("start an agent inside each host (ci/lab agents start)", "-", () -> {
                cluster.startAgents();
                java.util.SortedSet<String> members = cluster.awaitMembers(3, java.time.Duration.ofSeconds(10));
                return new Outcome<>(null, members.size() == 3, "members " + members + "; logs in "
                        + lab.facts().agentsDir());
            });
            String first = step("the cluster places " + GROUP + " and brings it online (until guest userspace)", "-",
                    () -> {
                        boolean up = awaitGroup(g -> g.isPresent()) && awaitConsole(console, c -> c.booted() == 1
                                && c.lastTick() >= 1);
                        String on = cluster.onlineOn(GROUP).orElse("?");
                        return new Outcome<>(on, up && runsOnlyOn(on), "online on " + on
                                + (up ? "; guest printed BOOTED" : "; no BOOTED on console"));
                    });
            String second = other(first, null);
            move(MoveMode.LIVE, first, second, console);
            String third = other(first, second);
            move(MoveMode.QUICK, second, third, console);
            step("drain " + third + ": " + GROUP + " live-migrates away (havm node drain)", third, () -> {
                int before = ConsoleLog.read(console).lastTick();
                cluster.submit(new Input.DrainNode(third));
                boolean drained = cluster.await(BOOT_BUDGET, s -> s.nodes().get(third).paused()
                        && !s.nodes().get(third).draining());
                String on = cluster.onlineOn(GROUP).orElse("?");
                boolean ticking = awaitConsole(console, c -> c.booted() == 1 && c.lastTick() > before);
                return new Outcome<>(null, drained && !on.equals(third) && ticking && runsOnlyOn(on), "now on " + on
                        + "; " + third + " paused; no reboot (TICK " + before + " -> "
                        + ConsoleLog.read(console).lastTick() + ")");
            });
            step("resume " + third + " (havm node resume)", third, () -> {
                cluster.submit(new Input.ResumeNode(third, false));
                boolean resumed = cluster.await(BOOT_BUDGET, s -> !s.nodes().get(third).paused());
                return new Outcome<>(null, resumed, third + " takes groups again");
            });
            String owner = cluster.onlineOn(GROUP).orElseThrow();
            int ticksBeforeLoss = ConsoleLog.read(console).lastTick();
            Instant pulled = step("pull the plug on " + owner + " (no operator from here on)", owner, () -> {
                Instant t = lab.pullPlug(owner);
                return new Outcome<>(t, "off".equals(lab.host(owner).state()), "every process of " + owner + " killed: agent, libvirtd, QEMU");
            });
            hosts.remove(owner).close();
            String survivor = step("the cluster detects, fences and restarts " + GROUP + " (until guest userspace)", "-",
                    () -> {
                        boolean back = awaitGroup(g -> g.filter(n -> !n.equals(owner)).isPresent());
                        String on = cluster.onlineOn(GROUP).orElse("?");
                        boolean up = back && awaitConsole(console, c -> c.booted() == 2 && c.lastTick() >= 1);
                        return new Outcome<>(on, up && runsOnlyOn(on), "online on " + on
                                + (up ? "; guest printed BOOTED again" : "; no second BOOTED"));
                    });
            step("timeline (havm events, the cluster's own clock)", "-", () -> {
                List<String> ev = cluster.events();
                Map<String, Object> t = new LinkedHashMap<>();
                Instant lost = LabCluster.eventTime(ev, owner + " node: up -> lost", pulled).orElse(null);
                Instant fenced = LabCluster.eventTime(ev, owner + " node: lost -> fenced", pulled).orElse(null);
                Instant online = LabCluster.eventTime(ev, "-> online on " + survivor, pulled).orElse(null);
                boolean ok = lost != null && fenced != null && online != null;
                for (String l : ev) {
                    Instant at = Instant.parse(l.substring(0, l.indexOf(' ')));
                    if (!at.isBefore(pulled)) {
                        out.printf("         +%6.2f s  %s%n", secs(pulled, at), l.substring(l.indexOf(' ') + 1));
                    }
                }
                if (ok) {
                    t.put("detection_s", secs(pulled, lost));
                    t.put("fence_s", secs(lost, fenced));
                    t.put("start_s", secs(fenced, online));
                    t.put("plug_to_online_s", secs(pulled, online));
                }
                proof.put("power_loss_timeline", t);
                return new Outcome<>(null, ok, ok ? String.format("plug pulled -> lost %.2f s -> fenced %.2f s -> online"
                        + " on %s %.2f s: %.2f s in all", secs(pulled, lost), secs(lost, fenced), survivor,
                        secs(fenced, online), secs(pulled, online)) : "the timeline misses lost, fenced or online");
            });
            step("verify guest console and disk", "-", () -> {
                ConsoleLog c = ConsoleLog.read(console);
                boolean oneBootThroughMoves = c.booted() == 2 && c.ticksContinuous(0);
                boolean diskSurvived = c.bootCounts().equals(List.of(1, 2));
                proof.put("booted_lines", c.booted());
                proof.put("ticks_continuous_through_live_quick_and_drain", c.ticksContinuous(0));
                proof.put("last_tick_before_power_loss", ticksBeforeLoss);
                proof.put("boot_counts_on_disk", c.bootCounts());
                proof.put("runs_only_on", Whereabouts.activeOn(hosts.values(), VM));
                return new Outcome<>(null, oneBootThroughMoves && diskSurvived && runsOnlyOn(survivor),
                        "BOOTED before power loss: 1, TICKs 1.." + ticksBeforeLoss + " without a gap through live, "
                                + "quick and drain: " + c.ticksContinuous(0) + "; boot counter on disk "
                                + c.bootCounts() + " (expected [1, 2]); runs only on " + survivor);
            });
        } catch (StepFailed e) {
            out.println("havm demo: stopped: " + e.getMessage());
            if (cluster != null) {
                out.println(cluster.agentLogs());
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
            if (!keep && labStarted) {
                step("tear down (agents stopped, lab down)", "-", () -> {
                    hosts.values().forEach(Hypervisor::close);
                    lab.down();
                    return new Outcome<>(null, true, "no namespace, process, mount or bridge of the lab left");
                }, false);
            } else {
                hosts.values().forEach(Hypervisor::close);
                if (keep && labStarted) {
                    out.println("havm demo: --keep: lab and agents left running (config "
                            + lab.facts().root().resolve("demo/cluster.yaml") + "); stop them with ./havm lab down");
                }
            }
            writeJson(proof);
        }
        boolean ok = !steps.isEmpty() && steps.stream().allMatch(Step::ok) && steps.size() >= 14;
        out.println(ok ? "havm demo: all steps ok" : "havm demo: FAILED");
        return ok ? 0 : 1;
    }

    private static double secs(Instant a, Instant b) {
        return Duration.between(a, b).toMillis() / 1000.0;
    }

    private String other(String a, String b) {
        return hosts.keySet().stream().filter(h -> !h.equals(a) && !h.equals(b)).findFirst().orElseThrow();
    }

    private boolean runsOnlyOn(String host) {
        return Whereabouts.activeOn(hosts.values(), VM).equals(List.of(host));
    }

    /** Waits until the group is online and {@code where} holds for the node it is online on. */
    private boolean awaitGroup(Predicate<java.util.Optional<String>> where) throws InterruptedException {
        return cluster.await(BOOT_BUDGET, s -> {
            ClusterState.Group g = s.groups().get(GROUP);
            return g != null && g.phase() == GroupPhase.ONLINE && where.test(java.util.Optional.of(g.node()));
        });
    }

    private void move(MoveMode mode, String from, String to, Path console) {
        step(mode.word + " move " + GROUP + " " + from + " -> " + to + " (havm group move)", to, () -> {
            int before = ConsoleLog.read(console).lastTick();
            cluster.submit(new Input.MoveGroup(GROUP, to, mode));
            boolean moved = awaitGroup(g -> g.filter(to::equals).isPresent());
            boolean ticking = moved && awaitConsole(console, c -> c.booted() == 1 && c.lastTick() > before);
            return new Outcome<>(null, ticking && runsOnlyOn(to), String.format("online on %s; guest kept ticking"
                    + " (TICK %d -> %d)", cluster.onlineOn(GROUP).orElse("?"), before,
                    ConsoleLog.read(console).lastTick()));
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
