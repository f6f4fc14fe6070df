package io.havm.lab;

import io.havm.policy.GroupPhase;
import io.havm.util.Args;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code havm bench agent --vms N}: one agent's CPU (utime + stime of its process, as % of one
 * core) and RSS while it monitors N VMs (LooksAlive 1 s, IsAlive 5 s), side by side with the same
 * agent idle (its cluster has no groups), both measured over the same window. Each agent runs in a
 * two-node cluster of its own whose other node, started first, is the coordinator, so the measured
 * agent is a plain member as on most hosts. Two pairs: real lab guests on host2 ({@code --lab-vms},
 * QEMU TCG, the guest agent answering IsAlive's ping), and N simulated VMs on libvirt's in-process
 * test driver ({@code test:///FILE}, running domains declared in the file), where 50+ VMs fit. The
 * agents are started by the benchmark itself (same command line as {@code ci/lab agents start}, in
 * the root namespace: libvirtd and ZooKeeper are reached over the lab bridge) and stopped by pid.
 */
final class AgentBench {
    static final double TARGET_PCT = 2.0;
    static final String USAGE = "havm bench agent [--vms N] [--lab-vms M] [--seconds S] [--json FILE]";
    private static final Duration WARM_UP = Duration.ofSeconds(15);
    /** The measured agent's node only: nothing is ever placed on the coordinator's node. */
    private static final String OWNERS = "    possibleOwners: [agent]\n";
    private static final String GROUP_EXTRA = "        looksAlive: 1s\n        isAlive: 5s\n";

    /** One agent process over the window. */
    record Usage(double cpuPct, long rssKiB, long maxRssKiB) {}

    /** One side-by-side measurement. */
    record Pair(String driver, int vms, double seconds, Usage monitoring, Usage idle, Usage coordinatorMonitoring,
            Usage coordinatorIdle, double overheadPct, double cpuRatio, String disturbed) {}

    private final Path home;
    private final PrintStream out;
    private final long ticks = clockTicks();
    private int attempts;

    private AgentBench(Path home, PrintStream out) {
        this.home = home;
        this.out = out;
    }

    static int main(Path home, PrintStream out, List<String> args) throws InterruptedException {
        Args a = Args.parse("havm bench agent", args, Set.of("--vms", "--lab-vms", "--seconds", "--json"), Set.of(), 0,
                USAGE);
        int vms = BenchSupport.count(a, "--vms", 50, 1, 5000, "simulated VMs");
        int labVms = BenchSupport.count(a, "--lab-vms", 2, 0, 3, "lab guests");
        int seconds = BenchSupport.count(a, "--seconds", 60, 10, 3600, "seconds");
        return new AgentBench(home, out).run(vms, labVms, seconds, BenchSupport.json(a));
    }

    private int run(int vms, int labVms, int seconds, Path json) throws InterruptedException {
        List<Pair> pairs = new ArrayList<>();
        try (BenchSupport.BenchLab bl = new BenchSupport.BenchLab(home, 2)) {
            Lab lab = bl.lab;
            Path dir = lab.facts().root().resolve("bench/agent");
            Files.createDirectories(dir.resolve("defs"));
            out.printf("havm bench agent: CPU (%% of one core) and RSS of an agent monitoring VMs (LooksAlive 1 s,"
                    + " IsAlive 5 s) side by side with an idle one, %d s window after %d s warm-up%n", seconds,
                    WARM_UP.toSeconds());
            out.printf("%-10s %5s %14s %12s %10s %10s %10s %9s%n", "driver", "VMs", "monitoring", "idle",
                    "overhead", "RSS mon.", "RSS idle", "cpu ratio");
            if (labVms > 0) {
                List<LabVm> guests = new ArrayList<>();
                StringBuilder groups = new StringBuilder();
                for (int i = 1; i <= labVms; i++) {
                    LabVm v = bl.vm("havm-agent-" + i);
                    guests.add(v);
                    groups.append(LabCluster.vmGroup("g" + i, v.name(), v.definition(), bl.saveDir(), List.of("agent"),
                            OWNERS, GROUP_EXTRA));
                }
                BenchSupport.startRaw(bl.host("host2"), guests);
                String c = lab.host("host1").uri();
                String m = lab.host("host2").uri();
                Pair p = measureClean(lab, dir, "lab", labVms, seconds, c, m, groups.toString());
                if (p == null) {
                    return 1;
                }
                pairs.add(p);
            }
            Path node = dir.resolve("node-" + vms + ".xml");
            Path empty = dir.resolve("coordinator.xml");
            StringBuilder xml = new StringBuilder("<node>\n");
            StringBuilder groups = new StringBuilder();
            for (int i = 1; i <= vms; i++) {
                String d = "sim-" + i;
                String domain = "<domain type='test'><name>" + d + "</name><memory unit='MiB'>128</memory>"
                        + "<os><type>hvm</type></os></domain>\n";
                xml.append(domain);
                Path def = Files.writeString(dir.resolve("defs/" + d + ".xml"), domain);
                groups.append(LabCluster.vmGroup("g" + i, d, def, dir.resolve("save"), List.of("agent"), OWNERS,
                        GROUP_EXTRA));
            }
            Files.writeString(node, xml.append("</node>\n").toString());
            Files.writeString(empty, "<node>\n</node>\n");
            Pair p = measureClean(lab, dir, "test", vms, seconds, "test://" + empty, "test://" + node,
                    groups.toString());
            if (p == null) {
                return 1;
            }
            pairs.add(p);
            Pair sim = p;
            out.printf("target (50 VMs): monitoring costs <= %.1f %% of one core beyond the idle agent: %s here with %d"
                    + " VMs (%.2f %%; the agent in all: %.2f %%)%n", TARGET_PCT, sim.overheadPct() <= TARGET_PCT ? "met"
                    : "NOT met", sim.vms(), sim.overheadPct(), sim.monitoring().cpuPct());
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("windowS", seconds);
            doc.put("warmUpS", WARM_UP.toSeconds());
            doc.put("pairs", pairs);
            doc.put("target", Map.of("overheadPctOfOneCoreWith50Vms", TARGET_PCT));
            BenchSupport.writeJson(json, doc, out, "agent");
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A measurement; once more when the first was disturbed (then the second is reported, disturbed or not). */
    private Pair measureClean(Lab lab, Path dir, String driver, int vms, int seconds, String coordinatorUri,
            String agentUri, String groups) throws InterruptedException, IOException {
        Pair p = measure(lab, dir, driver, vms, seconds, coordinatorUri, agentUri, groups);
        if (p != null && !p.disturbed().isEmpty()) {
            out.println(driver + ": measuring again");
            p = measure(lab, dir, driver, vms, seconds, coordinatorUri, agentUri, groups);
        }
        return p;
    }

    /**
     * Two clusters on the same node URIs: one with the groups, one without. In each the coordinator
     * node starts first (and is elected), then the measured agent; then the window.
     */
    private Pair measure(Lab lab, Path dir, String driver, int vms, int seconds, String coordinatorUri,
            String agentUri, String groups) throws InterruptedException, IOException {
        String id = ProcessHandle.current().pid() + "-" + (++attempts); // a fresh cluster (store, heartbeats) each time
        Path monCfg = config(lab, dir.resolve(driver + "-monitoring.yaml"), "benchagent" + driver + id,
                coordinatorUri, agentUri, groups);
        Path idleCfg = config(lab, dir.resolve(driver + "-idle.yaml"), "benchidle" + driver + id, coordinatorUri,
                agentUri, "");
        List<Process> started = new ArrayList<>();
        try (LabCluster mon = LabCluster.of(home, monCfg)) {
            Process monCoord = agent(started, dir, monCfg, "coordinator", driver + "-mon-coordinator");
            Process idleCoord = agent(started, dir, idleCfg, "coordinator", driver + "-idle-coordinator");
            awaitLog(dir, driver + "-mon-coordinator", "coordinator coordinator: elected");
            awaitLog(dir, driver + "-idle-coordinator", "coordinator coordinator: elected");
            Process monAgent = agent(started, dir, monCfg, "agent", driver + "-mon-agent");
            Process idleAgent = agent(started, dir, idleCfg, "agent", driver + "-idle-agent");
            awaitLog(dir, driver + "-mon-agent", "agent agent: joined");
            awaitLog(dir, driver + "-idle-agent", "agent agent: joined");
            BenchSupport.poll(vms + " groups online on the monitoring agent's node", () -> online(mon) == vms);
            long end = System.nanoTime() + WARM_UP.toNanos();
            while (System.nanoTime() < end) {
                Thread.sleep(100);
            }
            List<Process> all = List.of(monAgent, idleAgent, monCoord, idleCoord);
            long[] cpu0 = new long[all.size()];
            long[] maxRss = new long[all.size()];
            for (int i = 0; i < all.size(); i++) {
                cpu0[i] = cpuTicks(all.get(i).pid());
            }
            long t0 = System.nanoTime();
            end = t0 + Duration.ofSeconds(seconds).toNanos();
            while (System.nanoTime() < end) {
                for (int i = 0; i < all.size(); i++) {
                    maxRss[i] = Math.max(maxRss[i], rssKiB(all.get(i).pid()));
                }
                Thread.sleep(Math.min(1000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            Usage[] u = new Usage[all.size()];
            for (int i = 0; i < all.size(); i++) {
                long rss = rssKiB(all.get(i).pid());
                u[i] = new Usage(100.0 * (cpuTicks(all.get(i).pid()) - cpu0[i]) / ticks / wall, rss,
                        Math.max(rss, maxRss[i]));
            }
            String disturbed = disturbed(dir, driver);
            if (!disturbed.isEmpty()) {
                out.println("NOTE " + driver + ": the window was disturbed, its figures are not clean: " + disturbed);
            }
            if (online(mon) != vms) {
                out.println(driver + ": not every group stayed online through the window: " + mon.summary());
                return null;
            }
            double overhead = u[0].cpuPct() - u[1].cpuPct();
            Pair p = new Pair(driver, vms, wall, u[0], u[1], u[2], u[3], overhead,
                    u[1].cpuPct() > 0 ? u[0].cpuPct() / u[1].cpuPct() : Double.NaN, disturbed);
            out.printf("%-10s %5d %12.2f %% %10.2f %% %8.2f %% %7d MiB %6d MiB %9.2f%n", driver, vms,
                    u[0].cpuPct(), u[1].cpuPct(), overhead, u[0].rssKiB() / 1024, u[1].rssKiB() / 1024, p.cpuRatio());
            out.printf("%-10s %5s %12.2f %% %10.2f %%   (their coordinators)%n", "", "", u[2].cpuPct(), u[3].cpuPct());
            return p;
        } finally {
            for (Process p : started) {
                p.destroy(); // SIGTERM: a clean stop
            }
            for (Process p : started) {
                if (!p.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
                }
            }
        }
    }

    private static long online(LabCluster c) {
        return c.state().map(s -> s.groups().values().stream().filter(g -> g.phase() == GroupPhase.ONLINE
                && "agent".equals(g.node())).count()).orElse(0L);
    }

    /** A two-node cluster (coordinator, agent) with the lab's ZooKeeper and heartbeats on the shared directory; no fencing. */
    private static Path config(Lab lab, Path file, String name, String coordinatorUri, String agentUri, String groups)
            throws IOException {
        Path hb = LabCluster.heartbeats(lab.facts()).resolve(name);
        Files.createDirectories(hb);
        String y = "cluster:\n  name: " + name + "\n  zookeeper: '" + lab.facts().zookeeper() + "'\n"
                + "  heartbeat: {dir: " + hb + ", interval: 500ms, timeout: 1s}\n"
                + "  timers: " + LabCluster.FAST_TIMERS + "\n  nodes:\n"
                + "    - {name: coordinator, uri: '" + coordinatorUri + "', memoryMiB: 1048576}\n"
                + "    - {name: agent, uri: '" + agentUri + "', memoryMiB: 1048576}\n"
                + "groups:\n" + (groups.isEmpty() ? "  {}\n" : groups);
        return Files.writeString(file, y);
    }

    /** Starts an agent as {@code ci/lab agents start} does (same JVM options), logging to {@code <log>.log}. */
    private Process agent(List<Process> started, Path dir, Path cfg, String node, String log) throws IOException {
        Path jar = home.resolve("target/havm.jar");
        ProcessBuilder pb = new ProcessBuilder("java", "-Xmx256m", "-Dhavm.home=" + home, "-cp",
                jar + ":" + home.resolve("target/lib") + "/*", "io.havm.api.Main", "agent", "--config", cfg.toString(),
                "--node", node);
        pb.redirectErrorStream(true);
        pb.redirectOutput(dir.resolve(log + ".log").toFile()); // a fresh log per run
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /**
     * What disturbed a measurement, from the measured agents' logs: a ZooKeeper stall (the lab's
     * server shares two cores with TCG guests) or a measured agent elected coordinator. Empty: clean.
     */
    private static String disturbed(Path dir, String driver) {
        List<String> why = new ArrayList<>();
        for (String side : List.of("mon", "idle")) {
            String log;
            try {
                log = Files.readString(dir.resolve(driver + "-" + side + "-agent.log"));
            } catch (IOException e) {
                log = "";
            }
            if (log.contains("agent coordinator: elected")) {
                why.add("the " + side + " cluster's measured agent became its coordinator");
            }
            if (log.contains("zookeeper suspended") || log.contains("zookeeper session lost")) {
                why.add("the " + side + " cluster's measured agent lost ZooKeeper for a while");
            }
        }
        return String.join("; ", why);
    }

    private static void awaitLog(Path dir, String log, String needle) throws InterruptedException {
        Path f = dir.resolve(log + ".log");
        BenchSupport.poll("'" + needle + "' in " + f, () -> {
            try {
                return Files.exists(f) && Files.readString(f).contains(needle);
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15). */
    static long cpuTicks(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException e) {
            throw new UncheckedIOException("process " + pid + " is gone", e);
        }
    }

    /** VmRSS of a process in KiB (0 when it is gone). */
    static long rssKiB(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return 0;
    }

    private static long clockTicks() {
        Exec.Outcome o = Exec.run(Duration.ofSeconds(10), List.of("getconf", "CLK_TCK"));
        return o.ok() ? Long.parseLong(o.out().strip()) : 100;
    }
}
