package io.havm.lab;

import io.havm.policy.GroupPhase;
import io.havm.port.Hypervisor;
import io.havm.util.Args;
import io.havm.util.Exec;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code havm bench drain --vms N}: {@code havm node drain host1} with N VMs on it, against its
 * baseline measured in the same run on the same VMs: each VM's raw live migration
 * ({@code virsh migrate --live --p2p}, havm's flags) from host1 to host2, one at a time, summed and
 * divided by the concurrency the cluster allows ({@code cluster.migrationsPerHost}). The raw
 * migrations run first, on the guests started with plain libvirt before any agent runs (each
 * goes out and comes back); then the agents start and find them running on host1, and the drain
 * follows. The drain's own time is the coordinator's, from "up -> up/draining" to "up/draining
 * -> up/paused (drained)" in {@code havm events}; the CLI's wall time runs from launching
 * {@code havm node drain} until libvirt shows every VM running off host1.
 */
final class DrainBench {
    static final double TARGET = 1.2;
    static final String USAGE = "havm bench drain [--vms N] [--migrations-per-host K] [--json FILE]";
    private static final String DRAINED = "host1";

    record Raw(String vm, double outS, double backS) {}

    record GroupMove(String group, String to, double seconds) {}

    private final Path home;
    private final PrintStream out;

    private DrainBench(Path home, PrintStream out) {
        this.home = home;
        this.out = out;
    }

    static int main(Path home, PrintStream out, List<String> args) throws InterruptedException {
        Args a = Args.parse("havm bench drain", args, Set.of("--vms", "--migrations-per-host", "--json"), Set.of(), 0,
                USAGE);
        int vms = BenchSupport.count(a, "--vms", 3, 1, 12, "VMs");
        int k = BenchSupport.count(a, "--migrations-per-host", 1, 1, 16, "concurrent migrations");
        return new DrainBench(home, out).run(vms, k, BenchSupport.json(a));
    }

    private int run(int n, int k, Path json) throws InterruptedException {
        try (BenchSupport.BenchLab bl = new BenchSupport.BenchLab(home, 3)) {
            Map<String, Hypervisor> hosts = bl.hosts;
            List<LabVm> vms = new ArrayList<>();
            StringBuilder groups = new StringBuilder();
            for (int i = 1; i <= n; i++) {
                LabVm v = bl.vm("havm-drain-" + i);
                vms.add(v);
                groups.append(LabCluster.vmGroup("g" + i, v.name(), v.definition(), bl.saveDir(), List.of(DRAINED),
                        "", ""));
            }
            Hypervisor h1 = hosts.get(DRAINED);
            Hypervisor h2 = hosts.get("host2");
            BenchSupport.startRaw(h1, vms);
            out.printf("havm bench drain: %d VMs on %s, cluster.migrationsPerHost %d, domain type %s, 128 MiB guests%n",
                    n, DRAINED, k, bl.type.word);
            List<Raw> raws = new ArrayList<>();
            for (LabVm v : vms) {
                double o = BenchSupport.virshMigrateLive(v.name(), h1, h2);
                double b = BenchSupport.virshMigrateLive(v.name(), h2, h1);
                raws.add(new Raw(v.name(), o, b));
                out.printf("  raw live migration %s: %s->host2 %.2f s (back %.2f s)%n", v.name(), DRAINED, o, b);
            }
            double sum = raws.stream().mapToDouble(Raw::outS).sum();
            double baseline = sum / k;
            // migrationsPerHost is a cluster key; writeConfig's timers line is the last one before the nodes
            Path cfg = LabCluster.writeConfig(bl.lab.facts().root().resolve("bench/drain.yaml"), home,
                    "benchdrain" + ProcessHandle.current().pid(), bl.lab.status(), LabCluster.FAST_TIMERS
                            + "\n  migrationsPerHost: " + k, groups.toString());
            try (LabCluster cluster = LabCluster.of(home, cfg)) {
                cluster.startAgents();
                BenchSupport.poll("all " + n + " groups online on " + DRAINED, () -> cluster.state().map(s ->
                        s.groups().values().stream().filter(g -> g.phase() == GroupPhase.ONLINE
                                && DRAINED.equals(g.node())).count() == n).orElse(false));
                BenchSupport.Referee referee = new BenchSupport.Referee(() -> vms.stream().allMatch(v ->
                        !BenchSupport.active(h1, v.name()) && hosts.values().stream().anyMatch(h -> h != h1
                                && BenchSupport.running(h, v.name()))));
                Instant asked = Instant.now();
                long t0 = System.nanoTime();
                Exec.Outcome cli = Exec.run(BenchSupport.BUDGET, BenchSupport.havm(home, "node", "drain", DRAINED,
                        "--config", cfg.toString()));
                long returned = System.nanoTime();
                Long running = referee.at();
                if (!cli.ok() || running == null) {
                    out.println("havm did not drain " + DRAINED + " within " + BenchSupport.BUDGET.toSeconds() + " s: "
                            + cli.err().strip() + "; " + cluster.summary() + "\n" + cluster.agentLogs());
                    return 1;
                }
                Instant began = BenchSupport.awaitEvent(cluster, DRAINED + " node: up -> up/draining", asked);
                Instant done = BenchSupport.awaitEvent(cluster, DRAINED + " node: up/draining -> up/paused", asked);
                List<String> ev = cluster.events();
                List<GroupMove> moves = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    String g = "g" + i;
                    Instant from = LabCluster.eventTime(ev, "group " + g + ": online on " + DRAINED + " -> moving",
                            asked).orElse(began);
                    Instant to = LabCluster.eventTime(ev, "group " + g + ": moving " + DRAINED + "->", asked)
                            .orElse(done);
                    moves.add(new GroupMove(g, cluster.onlineOn(g).orElse("?"), BenchSupport.secs(from, to)));
                }
                for (int i = 0; i < vms.size(); i++) {
                    BenchSupport.awaitBooted(vms.get(i), 1); // no reboot: they moved live
                }
                double drain = BenchSupport.secs(began, done);
                double toRunning = (running - t0) / 1e9;
                out.printf("%-34s %8s%n", "", "seconds");
                out.printf("%-34s %7.2fs%n", "raw migrations, sum of " + n, sum);
                out.printf("%-34s %7.2fs%n", "baseline = sum / " + k, baseline);
                out.printf("%-34s %7.2fs   ratio %.2f%n", "havm drain (coordinator)", drain, drain / baseline);
                out.printf("%-34s %7.2fs   ratio %.2f%n", "havm node drain: CLI -> all running", toRunning,
                        toRunning / baseline);
                out.printf("%-34s %7.2fs%n", "havm node drain: CLI returns", (returned - t0) / 1e9);
                moves.forEach(m -> out.printf("  %s -> %s: %.2f s (moving -> moved)%n", m.group(), m.to(), m.seconds()));
                out.printf("target: drain <= %.1f x baseline: %s (ratio %.2f)%n", TARGET, drain / baseline <= TARGET
                        ? "met" : "NOT met", drain / baseline);
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("vms", n);
                doc.put("migrationsPerHost", k);
                doc.put("raw", raws);
                doc.put("rawSumS", sum);
                doc.put("baselineS", baseline);
                doc.put("drainS", drain);
                doc.put("cliReturnS", (returned - t0) / 1e9);
                doc.put("cliToRunningS", toRunning);
                doc.put("ratio", drain / baseline);
                doc.put("cliRatio", toRunning / baseline);
                doc.put("moves", moves);
                doc.put("target", Map.of("ratio", TARGET));
                BenchSupport.writeJson(json, doc, out, "drain");
                return 0;
            }
        }
    }
}
