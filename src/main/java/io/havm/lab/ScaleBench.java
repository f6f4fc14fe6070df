package io.havm.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.havm.model.ClusterSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Coordinator;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * {@code havm bench scale --hosts N --groups M}: the coordinator's own cost at a cluster's size,
 * driving {@link Coordinator} exactly as the engine does (inputs in, state and commands out), on a
 * generated configuration: M one-VM groups over N hosts, {@code onLost} of them preferring the
 * first host, every tenth pair of groups a guest cluster with anti-affinity.
 *
 * <p>Figures, each the median of several runs after a warm-up (the policy is a pure function, so
 * every run starts from the same state): loading and checking the configuration (with the N+1
 * admission check), cluster formation (every node joins, every group placed in one step), the
 * answers coming in, a full reconcile (every node reports what runs there again), the decision
 * for a lost host, the placement of its groups once it is fenced, a quiet tick; then the state in
 * the store (write, read back by a new coordinator, largest record) and the heap the state takes.
 * Side by side, when Pacemaker's {@code crm_simulate} is installed, its scheduler on the same
 * shape: the baseline the ratio is against.
 */
public final class ScaleBench {
    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    static final long HOST_MEMORY_MIB = 262144;
    static final long VM_MEMORY_MIB = 2048;

    /** A cluster's shape: hosts, groups, and how many groups run on the host that is lost. */
    public record Shape(int hosts, int groups, int onLost) {
        public Shape {
            if (hosts < 2) {
                throw new IllegalArgumentException("at least 2 hosts");
            }
            if (onLost < 1 || onLost > groups) {
                throw new IllegalArgumentException("groups on the lost host must be within 1.." + groups);
            }
        }
    }

    /** One measured figure: medians over the runs. */
    public record Figure(String name, double wallMs, double cpuMs, double allocatedMiB, String detail) {}

    /** Pacemaker's side of one scenario: crm_simulate's CPU and wall time (medians), against havm's CPU. */
    public record Baseline(String scenario, String pacemaker, String placementStrategy, double cpuMs, double wallMs,
            double havmCpuMs, double ratio, int placed, List<String> command) {}

    private final PrintStream out;
    private final int runs;
    private final String strategy;
    private final Path workDir;

    /**
     * @param strategy Pacemaker's placement strategy for the baseline ({@code default}, the faster
     *        one; {@code balanced} is havm's own rule), or null for no baseline
     * @param workDir where the baseline's CIB files go
     */
    public ScaleBench(PrintStream out, int runs, String strategy, Path workDir) {
        this.out = out;
        this.runs = runs;
        this.strategy = strategy;
        this.workDir = workDir;
    }

    /** The configuration for {@code s}, as a cluster.yaml an operator would write. */
    static String config(Shape s) {
        // Hosts of 256 GiB; VMs of 2 GiB; the lost host's groups fit on it, and the others spread.
        StringBuilder y = new StringBuilder("cluster:\n  name: scale\n  zookeeper: 127.0.0.1:2181\n"
                + "  timers: {sessionTimeout: 3s, zkTickTime: 500ms, selfFenceAfter: 0s, selfFenceDuration: 1s,"
                + " safetyMargin: 500ms}\n  nodes:\n");
        for (int i = 1; i <= s.hosts(); i++) {
            String h = host(i);
            y.append("    - {name: ").append(h).append(", uri: 'qemu+tcp://").append(h)
                    .append("/system', memoryMiB: ").append(HOST_MEMORY_MIB).append(", fencing: {agent: fence_havm_lab, options: {plug: ")
                    .append(h).append("}}}\n");
        }
        y.append("groups:\n");
        for (int g = 1; g <= s.groups(); g++) {
            y.append("  ").append(group(g)).append(": {");
            if (g <= s.onLost()) {
                y.append("preferredOwners: [").append(host(1)).append("], ");
            }
            if (g <= s.onLost()) {
                // no anti-affinity: they all fit on the host that is lost
            } else if (g % 10 == 1 && g < s.groups()) {
                // a two-VM guest cluster: this group and the next keep apart
                y.append("antiAffinity: [{class: gc").append(g).append(", hard: true}], ");
            } else if (g % 10 == 2 && g - 1 > s.onLost()) {
                y.append("antiAffinity: [{class: gc").append(g - 1).append(", hard: true}], ");
            }
            y.append("resources: {vm: {type: vm, memoryMiB: ").append(VM_MEMORY_MIB).append("}}}\n");
        }
        return y.toString();
    }

    static String host(int i) {
        return String.format("h%04d", i);
    }

    static String group(int g) {
        return String.format("g%05d", g);
    }

    /** Runs every figure for {@code s}; writes {@code json} when given. */
    public List<Figure> run(Shape s, Path json) throws IOException {
        List<Figure> figures = new ArrayList<>();
        out.printf("havm bench scale: %d hosts x %d groups (%d on the host that is lost), median of %d runs%n",
                s.hosts(), s.groups(), s.onLost(), runs);
        String yaml = config(s);
        ClusterSpec[] spec = new ClusterSpec[1];
        figures.add(measure("load and check the configuration (N+1 admission)", () -> {
            ClusterConfigLoader.Loaded l = ClusterConfigLoader.parse("scale.yaml", yaml);
            spec[0] = l.spec();
            return l.warnings().stream().filter(w -> w.startsWith("N+1")).count() + " N+1 warnings";
        }));
        Coordinator policy = new Coordinator(spec[0]);
        List<Input> joins = new ArrayList<>();
        for (ClusterSpec.NodeSpec n : spec[0].nodes()) {
            joins.add(new Input.NodeUp(n.name(), Set.of()));
        }
        ClusterState initial = policy.initial();
        Coordinator.Step[] formed = new Coordinator.Step[1];
        figures.add(measure("cluster formation: every node joins, every group placed", () -> {
            formed[0] = policy.apply(initial, joins, T0);
            return count(formed[0].commands(), Command.Online.class) + " online commands";
        }));
        expect(count(formed[0].commands(), Command.Online.class) == s.groups(), "formation placed "
                + count(formed[0].commands(), Command.Online.class) + " of " + s.groups() + " groups");
        List<Input> answers = new ArrayList<>();
        for (Command c : formed[0].commands()) {
            Command.Online o = (Command.Online) c;
            answers.add(new Input.Onlined(o.group(), o.node(), true, "started", o.attempt()));
        }
        Coordinator.Step[] online = new Coordinator.Step[1];
        figures.add(measure("every group's online answer", () -> {
            online[0] = policy.apply(formed[0].state(), answers, T0.plusSeconds(5));
            return phases(online[0].state());
        }));
        ClusterState running = online[0].state();
        expect(running.groups().values().stream().allMatch(g -> g.phase() == GroupPhase.ONLINE),
                "not every group online: " + phases(running));
        String lost = host(1);
        long onLost = running.groups().values().stream().filter(g -> lost.equals(g.node())).count();
        expect(onLost == s.onLost(), lost + " runs " + onLost + " groups, not " + s.onLost());

        List<Input> reports = new ArrayList<>();
        Map<String, Set<String>> where = new TreeMap<>();
        running.groups().values().forEach(g -> where.computeIfAbsent(g.node(), k -> new TreeSet<>()).add(g.name()));
        for (ClusterSpec.NodeSpec n : spec[0].nodes()) {
            reports.add(new Input.NodeUp(n.name(), where.getOrDefault(n.name(), Set.of())));
        }
        figures.add(measure("full reconcile: every node reports what it runs", () -> {
            Coordinator.Step r = policy.apply(running, reports, T0.plusSeconds(10));
            expect(r.commands().isEmpty(), "a reconcile that matches the state sends nothing, sent "
                    + r.commands().size());
            return phases(r.state());
        }));
        figures.add(measure("quiet tick (every group looked at by scheduling)", () -> {
            Coordinator.Step r = policy.apply(running, List.of(new Input.Tick()), T0.plusSeconds(10));
            return r.commands().size() + " commands";
        }));
        // As a coordinator in office runs them: each step continues from the state the previous one
        // returned (a quiet tick first, untimed), so the policy starts from its own last table.
        Coordinator.Step[] down = new Coordinator.Step[1];
        ClusterState[] lastQuiet = new ClusterState[1];
        figures.add(measure("host lost: decision (its groups await the fence; fence sent)", () -> {
            lastQuiet[0] = policy.apply(running, List.of(new Input.Tick()), T0.plusSeconds(19)).state();
            return null;
        }, () -> {
            down[0] = policy.apply(lastQuiet[0], List.of(new Input.NodeLost(lost)), T0.plusSeconds(20));
            return count(down[0].commands(), Command.Fence.class) + " fence";
        }));
        Coordinator.Step[] placed = new Coordinator.Step[1];
        figures.add(measure("fence confirmed: the lost host's groups placed", () -> {
            down[0] = policy.apply(running, List.of(new Input.NodeLost(lost)), T0.plusSeconds(20));
            return null;
        }, () -> {
            placed[0] = policy.apply(down[0].state(), List.of(new Input.Fenced(lost, true, "off")),
                    T0.plusSeconds(21));
            return count(placed[0].commands(), Command.Online.class) + " online commands";
        }));
        figures.add(measure("a new coordinator's first step (indexes every group)", () -> {
            Coordinator fresh = new Coordinator(spec[0]);
            Coordinator.Step r = fresh.apply(running, List.of(new Input.Elected(), new Input.Tick()),
                    T0.plusSeconds(30));
            return r.commands().size() + " commands";
        }));
        expect(count(placed[0].commands(), Command.Online.class) == s.onLost(), "after the fence "
                + count(placed[0].commands(), Command.Online.class) + " of " + s.onLost() + " groups placed");
        Set<String> targets = new TreeSet<>();
        placed[0].commands().forEach(c -> targets.add(((Command.Online) c).node()));
        out.printf("  its %d groups went to %d hosts%n", s.onLost(), targets.size());
        figures.addAll(store(running, down[0].state()));
        figures.add(heap(running));
        List<Baseline> baselines = new ArrayList<>();
        String why = null;
        if (strategy == null) {
            why = "not asked for (--pacemaker none)";
        } else if (!PacemakerBaseline.available()) {
            why = "crm_simulate is not installed (Debian's pacemaker-cli-utils; ci/install-deps installs it)";
        } else {
            double lostCpu = cpu(figures, "host lost: decision") + cpu(figures, "fence confirmed");
            baselines.add(pacemaker(s, PacemakerBaseline.Scenario.HOST_LOST, lostCpu));
            baselines.add(pacemaker(s, PacemakerBaseline.Scenario.FORMATION, cpu(figures, "cluster formation")));
        }
        if (why != null) {
            out.println("  no Pacemaker baseline: " + why);
        }
        if (json != null) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("benchmark", "scale");
            doc.put("shape", s);
            doc.put("runs", runs);
            doc.put("figures", figures);
            doc.put("pacemaker", baselines);
            if (why != null) {
                doc.put("noPacemaker", why);
            }
            Path parent = json.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), doc);
            out.println("  written: " + json);
        }
        return figures;
    }

    /**
     * The state in a real ZooKeeper (standalone, in this JVM, default limits: 1 MiB per request):
     * the running cluster written whole, a host-lost step written as its difference, the state
     * read back as a new coordinator reads it when it takes over, and the largest key. Wall times
     * (the server shares the process).
     */
    List<Figure> store(ClusterState running, ClusterState lost) throws IOException {
        List<Figure> out2 = new ArrayList<>();
        Path dir = Files.createTempDirectory("havm-bench-zk");
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        try (EmbeddedZooKeeper server = EmbeddedZooKeeper.standalone("127.0.0.1", port, dir.resolve("zk"),
                EmbeddedZooKeeper.Settings.DEFAULT).start();
                ZkCoordination zk = new ZkCoordination(server.connectString(), "/havm-bench", Duration.ofSeconds(20),
                        Duration.ofSeconds(20))) {
            long epoch = elect(zk);
            ClusterStore store = new ClusterStore(zk, "bench", Clock.SYSTEM);
            out2.add(wallOnce("store: the running cluster written whole", () -> store.putState(null, running, epoch),
                    running.nodes().size() + " node and " + running.groups().size() + " group records"));
            boolean[] there = {false};
            out2.add(measure("store: a host-lost step written (what changed only)", () -> {
                if (there[0]) {
                    store.putState(lost, running, epoch); // back, untimed
                }
                return null;
            }, () -> {
                store.putState(running, lost, epoch);
                there[0] = true;
                return changed(running, lost) + " records changed";
            }));
            store.putState(lost, running, epoch);
            out2.add(measure("store: read back by a new coordinator taking over", () -> {
                Optional<ClusterState> back = new ClusterStore(zk, "successor", Clock.SYSTEM).state();
                expect(back.isPresent() && back.get().equals(running), "the state read back differs from the one written");
                return back.get().groups().size() + " groups";
            }));
            long largest = 0;
            String which = "";
            for (String parent : List.of("state/nodes", "state/groups", "state/placed")) {
                for (Map.Entry<String, Coordination.Versioned> e : zk.getAll(parent).entrySet()) {
                    if (e.getValue().value().length > largest) {
                        largest = e.getValue().value().length;
                        which = parent + "/" + e.getKey();
                    }
                }
            }
            long meta = zk.get("state/meta").map(v -> (long) v.value().length).orElse(0L);
            if (meta > largest) {
                largest = meta;
                which = "state/meta";
            }
            Figure f = new Figure("store: largest key (ZooKeeper refuses over 1 MiB)", 0, 0, largest / (1024.0 * 1024.0),
                    largest + " bytes: " + which);
            out.printf("  %-62s %10d bytes (%s)%n", f.name(), largest, which);
            out2.add(f);
        } finally {
            deleteTree(dir);
        }
        return out2;
    }

    static long changed(ClusterState a, ClusterState b) {
        long n = 0;
        for (var e : b.groups().entrySet()) {
            n += e.getValue().equals(a.groups().get(e.getKey())) ? 0 : 1;
        }
        for (var e : b.nodes().entrySet()) {
            n += e.getValue().equals(a.nodes().get(e.getKey())) ? 0 : 1;
        }
        return n;
    }

    /** This benchmark's own coordinator epoch: it wins the election alone. */
    static long elect(ZkCoordination zk) {
        java.util.concurrent.CompletableFuture<Long> won = new java.util.concurrent.CompletableFuture<>();
        zk.elect("bench", new Coordination.Leadership() {
            @Override
            public void elected(long epoch) {
                won.complete(epoch);
            }

            @Override
            public void revoked() {}
        });
        try {
            return won.get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("scale benchmark: not elected in ZooKeeper within 60 s: " + e);
        }
    }

    Figure wallOnce(String name, Runnable work, String detail) {
        long w0 = System.nanoTime();
        work.run();
        Figure f = new Figure(name, (System.nanoTime() - w0) / 1e6, 0, 0, detail);
        out.printf("  %-62s %10.1f ms  (once)  %s%n", name, f.wallMs(), detail);
        return f;
    }

    static void deleteTree(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static double cpu(List<Figure> figures, String prefix) {
        return figures.stream().filter(f -> f.name().startsWith(prefix)).findFirst().orElseThrow().cpuMs();
    }

    /**
     * crm_simulate on the same shape (same host and VM memory), median of up to 3 runs, each
     * checked to decide what the scenario claims; the ratio is its CPU time over havm's.
     */
    Baseline pacemaker(Shape s, PacemakerBaseline.Scenario sc, double havmCpuMs) {
        PacemakerBaseline.Shape ps = new PacemakerBaseline.Shape(s.hosts(), s.groups(), s.onLost(), HOST_MEMORY_MIB,
                VM_MEMORY_MIB, strategy);
        int n = Math.min(runs, 3);
        double[] cpu = new double[n];
        double[] wall = new double[n];
        PacemakerBaseline.Result r = null;
        for (int i = 0; i < n; i++) {
            r = PacemakerBaseline.run(ps, sc, workDir);
            wall[i] = r.wall().toNanos() / 1e6;
            cpu[i] = r.cpu() == null ? wall[i] : r.cpu().toNanos() / 1e6;
        }
        double c = median(cpu);
        Baseline b = new Baseline(sc.label(), r.version(), strategy, c, median(wall), havmCpuMs,
                c / Math.max(havmCpuMs, 0.001), r.placed(), r.command());
        out.printf("  Pacemaker %-9s %s, %s placement: %10.1f ms cpu (%8.1f ms wall), %d placed;"
                + " havm %.1f ms cpu: %.0fx faster%n", sc.label(), b.pacemaker(), strategy, b.cpuMs(), b.wallMs(),
                b.placed(), havmCpuMs, b.ratio());
        return b;
    }

    /** A run that does not do what the figure claims fails the benchmark: its time would mean nothing. */
    static void expect(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("scale benchmark: " + what);
        }
    }

    static long count(List<Command> cs, Class<? extends Command> type) {
        return cs.stream().filter(type::isInstance).count();
    }

    static String phases(ClusterState s) {
        Map<GroupPhase, Integer> m = new TreeMap<>();
        s.groups().values().forEach(g -> m.merge(g.phase(), 1, Integer::sum));
        return m.toString();
    }

    /** One warm-up, then {@code runs} timed runs: medians of wall time, thread CPU and allocation. */
    Figure measure(String name, Supplier<String> work) {
        return measure(name, () -> null, work);
    }

    /** As {@link #measure(String, Supplier)}, with an untimed {@code setup} before each run. */
    Figure measure(String name, Supplier<String> setup, Supplier<String> work) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        setup.get();
        work.get();
        double[] wall = new double[runs];
        double[] cpu = new double[runs];
        double[] alloc = new double[runs];
        String detail = "";
        for (int i = 0; i < runs; i++) {
            setup.get();
            long a0 = threads.getThreadAllocatedBytes(id);
            long c0 = threads.getCurrentThreadCpuTime();
            long w0 = System.nanoTime();
            detail = work.get();
            wall[i] = (System.nanoTime() - w0) / 1e6;
            cpu[i] = (threads.getCurrentThreadCpuTime() - c0) / 1e6;
            alloc[i] = (threads.getThreadAllocatedBytes(id) - a0) / (1024.0 * 1024.0);
        }
        Figure f = new Figure(name, median(wall), median(cpu), median(alloc), detail);
        out.printf("  %-62s %10.1f ms  (cpu %8.1f ms, %8.1f MiB allocated)  %s%n", name, f.wallMs(), f.cpuMs(),
                f.allocatedMiB(), detail);
        return f;
    }

    /** The heap the coordinator's state takes once the cluster runs (after a full collection). */
    Figure heap(ClusterState keep) {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long used = rt.totalMemory() - rt.freeMemory();
        Figure f = new Figure("heap in use with the state held (after GC)", 0, 0, used / (1024.0 * 1024.0),
                keep.groups().size() + " groups held");
        out.printf("  %-62s %10.0f MiB%n", f.name(), f.allocatedMiB());
        return f;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static Duration ms(double v) {
        return Duration.ofNanos(Math.round(v * 1e6));
    }
}
