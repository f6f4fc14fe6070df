package io.havm.lab;

import io.havm.port.Hypervisor;
import io.havm.libvirt.GuestImage;
import io.havm.libvirt.AccelProbe;
import io.havm.model.DomainType;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@code havm bench failover}: host power loss to the HA VM running on a survivor, measured on the
 * real lab, run after run, side by side with its baseline: the detection time the cluster itself
 * measured plus a raw libvirt start of an identical VM on the same survivor, timed just before the
 * plug is pulled. What is left over is havm's orchestration: waking up, fencing, placing, sending
 * the command, the agent's Online. libvirt is the referee for "running": the benchmark polls every
 * survivor's libvirtd itself.
 */
public final class Bench {
    static final String VM = "havm-bench";
    static final String RAW = "havm-bench-raw";
    private static final Duration BUDGET = Duration.ofSeconds(120);
    private static final Duration TARGET_TOTAL = Duration.ofSeconds(4);
    private static final Duration TARGET_OVERHEAD = Duration.ofMillis(500);

    record Run(int run, String from, boolean coordinatorLost, String to, double detectionS, double fenceS, double plugToRunningS,
            double rawStartS, double overheadS, double ratio) {}

    private final Path home;
    private final PrintStream out;
    private final Map<String, Hypervisor> hosts = new TreeMap<>();

    public Bench(Path home, PrintStream out) {
        this.home = home;
        this.out = out;
    }

    /**
     * {@code havm bench failover}: {@code runs} power losses, then {@code isolationRuns} isolations
     * with storage fencing; the report goes to {@code json} too when given.
     */
    public int failover(int runs, int isolationRuns, Path json) throws InterruptedException {
        isolations = isolationRuns;
        return failover(runs, json);
    }

    private int isolations;

    /** One isolation run: the owner's network cut, storage fencing only (no power fence agent). */
    record Isolation(int run, String from, String to, double detectionS, double fenceS, double cutToRunningS) {}

    /**
     * Isolation with storage fencing only, side by side with the power-loss runs: the owner's
     * cluster network is cut (its storage network stays), it reads that it is lost on the heartbeat
     * storage, stops its VM and acknowledges the fence request; then the VM starts on a survivor.
     */
    private List<Isolation> isolation(Lab lab, LabVm vm, int runs, int boots0) throws InterruptedException {
        List<Isolation> out2 = new ArrayList<>();
        if (runs == 0) {
            return out2;
        }
        Path cfg = LabCluster.writeConfig(lab.facts().root().resolve("bench/cluster-storage.yaml"), home,
                "benchsf" + ProcessHandle.current().pid(), lab.status(), LabCluster.FAST_TIMERS, "",
                LabCluster.vmGroup("web", VM, vm.definition(), lab.sharedDir().resolve("save"), List.of("host1"),
                        "    failover: {threshold: 1000, period: 1h}\n", ""), LabCluster.Fencing.STORAGE, null);
        try (LabCluster cluster = LabCluster.of(home, cfg)) {
            cluster.startAgents();
            out.printf("%nisolation, storage fencing only (no power fence agent): %d runs%n", runs);
            out.printf("%-4s %-6s %-6s %10s %7s %13s%n", "run", "from", "to", "detection", "fence", "cut->running");
            int boots = boots0;
            for (int i = 1; i <= runs; i++) {
                String owner = awaitSteady(cluster, vm, boots);
                List<Hypervisor> survivors = hosts.entrySet().stream().filter(e -> !e.getKey().equals(owner))
                        .map(Map.Entry::getValue).toList();
                java.util.concurrent.CompletableFuture<String> running = java.util.concurrent.CompletableFuture
                        .supplyAsync(() -> firstRunning(survivors));
                long t0 = System.nanoTime();
                Instant cut = Instant.now();
                lab.isolate(owner);
                String to;
                try {
                    to = running.get(BUDGET.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    to = null;
                }
                if (to == null) {
                    out.println("isolation run " + i + ": " + VM + " did not run on a survivor within " + BUDGET.toSeconds()
                            + " s\n" + cluster.agentLogs());
                    lab.heal(owner);
                    return null;
                }
                double total = (runningAt - t0) / 1e9;
                List<String> ev = awaitEvent(cluster, owner + " node: lost -> fenced", cut);
                Instant lost = LabCluster.eventTime(ev, owner + " node: up -> lost", cut).orElseThrow();
                Instant fenced = LabCluster.eventTime(ev, owner + " node: lost -> fenced", cut).orElseThrow();
                Isolation r = new Isolation(i, owner, to, Duration.between(cut, lost).toMillis() / 1000.0,
                        Duration.between(lost, fenced).toMillis() / 1000.0, total);
                out2.add(r);
                out.printf("%-4d %-6s %-6s %9.2fs %6.2fs %12.2fs%n", i, owner, to, r.detectionS(), r.fenceS(),
                        r.cutToRunningS());
                boots++;
                lab.heal(owner); // its agent, alive all along, joins again by itself
                connect(lab);
            }
        }
        return out2;
    }

    private int failover(int runs, Path json) throws InterruptedException {
        Lab lab = new Lab(home, null);
        List<Run> results = new ArrayList<>();
        LabCluster cluster = null;
        try {
            GuestImage guest = GuestImage.ensure(home);
            lab.up(3);
            connect(lab);
            DomainType type = AccelProbe.resolve(System.getenv("HAVM_DOMAIN_TYPE"), guest.kernel(), guest.initrd(),
                    Path.of("/var/cache/havm"));
            LabVm vm = LabVm.create(home, lab, hosts.values(), VM, type, guest, "16M");
            LabVm raw = LabVm.create(home, lab, hosts.values(), RAW, type, guest, "16M");
            Path cfg = LabCluster.writeConfig(lab.facts().root().resolve("bench/cluster.yaml"), home,
                    "bench" + ProcessHandle.current().pid(), lab.status(), LabCluster.FAST_TIMERS,
                    LabCluster.vmGroup("web", VM, vm.definition(), lab.sharedDir().resolve("save"), List.of("host1"),
                            "    failover: {threshold: 1000, period: 1h}\n", ""));
            cluster = LabCluster.of(home, cfg);
            cluster.startAgents();
            out.printf("havm bench failover: %d runs; session timeout %.2f s; fence: ci/fence_havm_lab; domain type"
                    + " %s; 128 MiB guest%n", runs, cluster.spec().timers().sessionTimeout().toMillis() / 1000.0,
                    type.word);
            out.printf("%-4s %-13s %-6s %10s %7s %14s %10s %9s %6s%n", "run", "from", "to", "detection", "fence",
                    "plug->running", "raw start", "overhead", "ratio");
            int boots = 1;
            for (int i = 1; i <= runs; i++) {
                // Odd runs lose a plain host, even runs the coordinator's own host (the VM is moved
                // there live first): two cases, two medians.
                String steady = awaitSteady(cluster, vm, boots);
                String coordinator = cluster.coordinator().orElseThrow();
                boolean loseCoordinator = i % 2 == 0;
                String placed = steady;
                if (loseCoordinator != steady.equals(coordinator)) {
                    String to = loseCoordinator ? coordinator : hosts.keySet().stream()
                            .filter(h -> !h.equals(coordinator)).findFirst().orElseThrow();
                    cluster.submit(new io.havm.policy.Input.MoveGroup("web", to, io.havm.model.MoveMode.LIVE));
                    if (!cluster.await(BUDGET, st -> st.groups().get("web").phase() == io.havm.policy.GroupPhase.ONLINE
                            && to.equals(st.groups().get("web").node()))) {
                        out.println("run " + i + ": web did not move to " + to + "\n" + cluster.agentLogs());
                        return 1;
                    }
                    placed = to;
                }
                final String owner = placed;
                boolean coordinatorLost = owner.equals(coordinator);
                Map<String, Double> rawStart = new TreeMap<>();
                for (String h : hosts.keySet()) {
                    if (!h.equals(owner)) {
                        rawStart.put(h, rawStart(hosts.get(h), raw));
                    }
                }
                // The referee polls the survivors from its own thread, started before the plug is pulled,
                // so that nothing the power-off or closing the dead host's connection costs can delay it.
                List<Hypervisor> survivors = hosts.entrySet().stream().filter(e -> !e.getKey().equals(owner))
                        .map(Map.Entry::getValue).toList();
                java.util.concurrent.CompletableFuture<String> running = java.util.concurrent.CompletableFuture
                        .supplyAsync(() -> firstRunning(survivors));
                long t0 = System.nanoTime();
                Instant asked = Instant.now();
                Instant pulled = lab.pullPlug(owner);
                // On nanoTime's scale: when the link actually went down (the script's start-up excluded).
                t0 += Duration.between(asked, pulled).toNanos();
                Hypervisor dead = hosts.remove(owner);
                new Thread(dead::close, "close-" + owner).start();
                String to;
                try {
                    to = running.get(BUDGET.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    to = null;
                }
                long tRunning = runningAt;
                double total = (tRunning - t0) / 1e9;
                if (to == null) {
                    out.println("run " + i + ": " + VM + " did not run on a survivor within " + BUDGET.toSeconds() + " s\n"
                            + cluster.agentLogs());
                    return 1;
                }
                List<String> ev = awaitEvent(cluster, owner + " node: lost -> fenced", pulled);
                Instant lost = LabCluster.eventTime(ev, owner + " node: up -> lost", pulled).orElseThrow();
                Instant fenced = LabCluster.eventTime(ev, owner + " node: lost -> fenced", pulled).orElseThrow();
                double detection = Duration.between(pulled, lost).toMillis() / 1000.0;
                double fence = Duration.between(lost, fenced).toMillis() / 1000.0;
                double rawS = rawStart.get(to);
                Run r = new Run(i, owner, coordinatorLost, to, detection, fence, total, rawS, total - detection - rawS,
                        total / (detection + rawS));
                results.add(r);
                out.printf("%-4d %-13s %-6s %9.2fs %6.2fs %13.2fs %9.2fs %8.2fs %6.2f%n", i, owner
                        + (coordinatorLost ? " (coord.)" : ""), to, detection, fence, total, rawS, r.overheadS(),
                        r.ratio());
                if (r.overheadS() > 1.0) {
                    out.println("     run " + i + ": overhead above 1 s; the cluster's timeline:");
                    ev.stream().filter(l -> !Instant.parse(l.substring(0, l.indexOf(' '))).isBefore(pulled))
                            .forEach(l -> out.println("       " + l));
                }
                boots++;
                // Power the host back on and let its agent rejoin before the next run.
                lab.up(3);
                connect(lab);
                cluster.startAgents(owner);
            }
            cluster.stopAgents();
            cluster.close();
            cluster = null;
            List<Isolation> iso = isolation(lab, vm, isolations, boots);
            if (iso == null) {
                return 1;
            }
            List<Run> plain = results.stream().filter(r -> !r.coordinatorLost()).toList();
            List<Run> coord = results.stream().filter(Run::coordinatorLost).toList();
            Run median = median(plain);
            printMedian("median, host lost", median);
            if (!coord.isEmpty()) {
                printMedian("median, coordinator lost", median(coord));
            }
            if (!iso.isEmpty()) {
                double[] v = iso.stream().mapToDouble(Isolation::cutToRunningS).sorted().toArray();
                double m = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
                double session = 2 * io.havm.config.ClusterConfigLoader.load(
                        lab.facts().root().resolve("bench/cluster.yaml")).spec().timers().sessionTimeout().toMillis() / 1000.0;
                out.printf("side by side: host power loss (power fence) plug->running median %.2f s; isolation (storage"
                        + " fencing only) cut->running median %.2f s; aim <= 2 x session timeout = %.1f s: %s%n",
                        median.plugToRunningS(), m, session, m <= session ? "met" : "NOT met");
            }
            out.printf("target (a host lost): plug->running <= %.1f s: %s (median %.2f s); overhead beyond detection"
                    + " + raw start <= %.1f s: %s (median %.2f s)%n", TARGET_TOTAL.toMillis() / 1000.0,
                    median.plugToRunningS() <= TARGET_TOTAL.toMillis() / 1000.0 ? "met" : "NOT met",
                    median.plugToRunningS(), TARGET_OVERHEAD.toMillis() / 1000.0,
                    median.overheadS() <= TARGET_OVERHEAD.toMillis() / 1000.0 ? "met" : "NOT met", median.overheadS());
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("runs", results);
            doc.put("medianHostLost", median);
            if (!coord.isEmpty()) {
                doc.put("medianCoordinatorLost", median(coord));
            }
            doc.put("isolationStorageFencing", iso);
            doc.put("targets", Map.of("plugToRunningS", TARGET_TOTAL.toMillis() / 1000.0, "overheadS",
                    TARGET_OVERHEAD.toMillis() / 1000.0));
            BenchSupport.writeJson(json, doc, out, "failover");
            return 0;
        } finally {
            if (cluster != null) {
                cluster.close();
            }
            hosts.values().forEach(Hypervisor::close);
            lab.down();
        }
    }

    private volatile long runningAt;

    /** Polls the hosts until one runs the VM; returns its name and sets {@link #runningAt} (nanoTime). */
    private String firstRunning(List<Hypervisor> survivors) {
        String[] on = new String[1];
        Long at = BenchSupport.until(() -> {
            for (Hypervisor hv : survivors) {
                if (BenchSupport.running(hv, VM)) {
                    on[0] = hv.host();
                    return true;
                }
            }
            return false;
        });
        if (at == null) {
            return null;
        }
        runningAt = at;
        return on[0];
    }

    private void connect(Lab lab) {
        BenchSupport.connect(lab, hosts);
    }

    /** The group online, on one host only, its guest booted {@code boots} times: a steady start for a run. */
    private String awaitSteady(LabCluster cluster, LabVm vm, int boots) throws InterruptedException {
        long deadline = System.nanoTime() + BUDGET.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<String> on = cluster.onlineOn("web");
            ConsoleLog c = ConsoleLog.read(vm.console());
            if (on.isPresent() && c.booted() == boots && c.lastTick() >= 1 && cluster.members().size() == 3) {
                return on.get();
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("web did not settle (online, guest booted " + boots + "x, 3 members) within "
                + BUDGET.toSeconds() + " s: " + cluster.summary() + "\n" + cluster.agentLogs());
    }

    private static List<String> awaitEvent(LabCluster cluster, String needle, Instant since)
            throws InterruptedException {
        long deadline = System.nanoTime() + BUDGET.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> ev = cluster.events();
            if (LabCluster.eventTime(ev, needle, since).isPresent()) {
                return ev;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("no event '" + needle + "' within " + BUDGET.toSeconds() + " s");
    }

    /** A raw libvirt start of an identical VM: define, start, poll until running; then destroy and undefine. */
    private static double rawStart(Hypervisor hv, LabVm raw) throws InterruptedException {
        hv.define(raw.xml());
        try {
            long t0 = System.nanoTime();
            hv.start(raw.name());
            while (!BenchSupport.running(hv, raw.name())) {
                Thread.sleep(10);
            }
            return (System.nanoTime() - t0) / 1e9;
        } finally {
            hv.destroy(raw.name());
            hv.undefine(raw.name());
        }
    }

    private void printMedian(String label, Run m) {
        out.printf("%-25s %9.2fs %6.2fs %13.2fs %9.2fs %8.2fs %6.2f%n", label, m.detectionS(), m.fenceS(),
                m.plugToRunningS(), m.rawStartS(), m.overheadS(), m.ratio());
    }

    private static Run median(List<Run> rs) {
        return new Run(0, "-", false, "-", med(rs, Run::detectionS), med(rs, Run::fenceS), med(rs, Run::plugToRunningS),
                med(rs, Run::rawStartS), med(rs, Run::overheadS), med(rs, Run::ratio));
    }

    private static double med(List<Run> rs, java.util.function.ToDoubleFunction<Run> f) {
        double[] v = rs.stream().mapToDouble(f).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
