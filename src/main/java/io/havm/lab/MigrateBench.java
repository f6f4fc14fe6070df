package io.havm.lab;

import io.havm.model.InvalidInputException;
import io.havm.model.MoveMode;
import io.havm.port.Hypervisor;
import io.havm.util.Args;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code havm bench migrate --mode live|quick}: havm's move of one VM ({@code havm group move} to a
 * running 3-host cluster) against the raw libvirt operation on an identical VM ({@code virsh
 * migrate --live --p2p} with havm's flags; {@code virsh save} + {@code virsh restore} on the
 * other host), in alternating pairs on the same source and target hosts. Per pair it reports the
 * move's own time (the coordinator's: from its "moving" transition to its applying the agent's
 * answer, as {@code havm events} shows them), the agent's part (from the agent starting the Move
 * to that answer applied), and the CLI's wall time (the command launched until it returns, and
 * until libvirt shows the VM running on the target and gone from the source).
 *
 * <p>The raw operation cannot run on havm's own domain while havm manages it: the agent's
 * LooksAlive sees the domain leave its host (libvirt's Stopped/Migrated event) and reports a
 * failure. So the raw side moves a twin: same domain XML template, memory, guest image and disk
 * size, booted at the same time, running through the whole benchmark, moved between the same
 * hosts right after havm's move.
 */
final class MigrateBench {
    static final String VM = "havm-bench-move";
    static final String TWIN = "havm-bench-move-raw";
    static final String GROUP = "web";
    static final double TARGET = 1.10;
    /** The command line's own part of {@code havm group move}, beyond the move (issue 13). */
    static final double CLI_OVERHEAD_TARGET_S = 0.3;
    static final String USAGE = "havm bench migrate --mode live|quick [--pairs N] [--json FILE]";

    /** @param cliOverheadS the CLI's wall time beyond the move's own: cliReturnS - moveS (it follows the operation to its end) */
    record Pair(int pair, String from, String to, double moveS, double agentS, double cliReturnS, double cliToRunningS,
            double rawS, double ratio, double cliRatio, double cliOverheadS) {}

    private final Path home;
    private final PrintStream out;

    private MigrateBench(Path home, PrintStream out) {
        this.home = home;
        this.out = out;
    }

    /** Parses the arguments (bad input: InvalidInputException, nothing touched) and runs. */
    static int main(Path home, PrintStream out, List<String> args) throws InterruptedException {
        Args a = Args.parse("havm bench migrate", args, Set.of("--mode", "--pairs", "--json"), Set.of(), 0, USAGE);
        String m = a.require("havm bench migrate", "--mode", USAGE);
        MoveMode mode = switch (m) {
            case "live" -> MoveMode.LIVE;
            case "quick" -> MoveMode.QUICK;
            default -> throw new InvalidInputException("--mode", "'" + m + "' is not a move with a raw libvirt"
                    + " counterpart (allowed: live, quick)");
        };
        int pairs = BenchSupport.count(a, "--pairs", 3, 1, 99, "pairs");
        return new MigrateBench(home, out).run(mode, pairs, BenchSupport.json(a));
    }

    private int run(MoveMode mode, int pairs, Path json) throws InterruptedException {
        try (BenchSupport.BenchLab bl = new BenchSupport.BenchLab(home, 3)) {
            Map<String, Hypervisor> hosts = bl.hosts;
            LabVm vm = bl.vm(VM);
            LabVm twin = bl.vm(TWIN);
            Path save = bl.saveDir();
            Path cfg = LabCluster.writeConfig(bl.lab.facts().root().resolve("bench/migrate.yaml"), home,
                    "benchmove" + ProcessHandle.current().pid(), bl.lab.status(), LabCluster.FAST_TIMERS,
                    LabCluster.vmGroup(GROUP, VM, vm.definition(), save, List.of("host1"), "", ""));
            try (LabCluster cluster = LabCluster.of(home, cfg);
                    BenchSupport.Launcher havm = new BenchSupport.Launcher(home,
                            bl.lab.facts().root().resolve("bench/resident"))) {
                cluster.startAgents();
                BenchSupport.startRaw(hosts.get("host1"), List.of(twin));
                BenchSupport.poll(GROUP + " online on host1", () -> cluster.onlineOn(GROUP).filter("host1"::equals)
                        .isPresent());
                BenchSupport.awaitBooted(vm, 1);
                // the operator's first command of the day, in a JVM of its own: it starts the resident client
                havm.run(true, "group", "online", GROUP, "--config", cfg.toString()).orThrow();
                havm.awaitResident();
                out.printf("havm bench migrate --mode %s: %d pairs (havm, then raw virsh on an identical VM), domain"
                        + " type %s, 128 MiB guests%n", mode.word, pairs, bl.type.word);
                out.printf("%-4s %-13s %8s %8s %10s %12s %8s %7s %9s %12s%n", "pair", "move", "havm", "agent",
                        "cli return", "cli->running", "raw", "ratio", "cli ratio", "cli overhead");
                List<Pair> results = new ArrayList<>();
                List<String> names = new ArrayList<>(hosts.keySet());
                String from = "host1";
                for (int i = 1; i <= pairs; i++) {
                    String to = names.get((names.indexOf(from) + 1) % names.size());
                    Pair p = pair(i, cluster, havm, true, cfg, mode, hosts.get(from), hosts.get(to), twin, save);
                    if (p == null) {
                        return 1;
                    }
                    results.add(p);
                    out.printf("%-4d %-13s %7.2fs %7.2fs %9.2fs %11.2fs %7.2fs %7.2f %9.2f %11.2fs%n", i,
                            from + "->" + to, p.moveS(), p.agentS(), p.cliReturnS(), p.cliToRunningS(), p.rawS(),
                            p.ratio(), p.cliRatio(), p.cliOverheadS());
                    from = to;
                }
                // the same move from a command in a JVM of its own (HAVM_RESIDENT=0): what the resident saves
                String ownTo = names.get((names.indexOf(from) + 1) % names.size());
                Pair own = pair(pairs + 1, cluster, havm, false, cfg, mode, hosts.get(from), hosts.get(ownTo), twin,
                        save);
                if (own == null) {
                    return 1;
                }
                out.printf("%-4s %-13s %7.2fs %7.2fs %9.2fs %11.2fs %7.2fs %7.2f %9.2f %11.2fs  (own JVM,"
                        + " HAVM_RESIDENT=0)%n", "own", from + "->" + ownTo, own.moveS(), own.agentS(), own.cliReturnS(),
                        own.cliToRunningS(), own.rawS(), own.ratio(), own.cliRatio(), own.cliOverheadS());
                Map<String, Double> med = new LinkedHashMap<>();
                med.put("moveS", BenchSupport.median(results.stream().map(Pair::moveS).toList()));
                med.put("agentS", BenchSupport.median(results.stream().map(Pair::agentS).toList()));
                med.put("cliReturnS", BenchSupport.median(results.stream().map(Pair::cliReturnS).toList()));
                med.put("cliToRunningS", BenchSupport.median(results.stream().map(Pair::cliToRunningS).toList()));
                med.put("rawS", BenchSupport.median(results.stream().map(Pair::rawS).toList()));
                med.put("ratio", BenchSupport.median(results.stream().map(Pair::ratio).toList()));
                med.put("cliRatio", BenchSupport.median(results.stream().map(Pair::cliRatio).toList()));
                med.put("cliOverheadS", BenchSupport.median(results.stream().map(Pair::cliOverheadS).toList()));
                out.printf("%-18s %7.2fs %7.2fs %9.2fs %11.2fs %7.2fs %7.2f %9.2f %11.2fs%n", "median", med.get("moveS"),
                        med.get("agentS"), med.get("cliReturnS"), med.get("cliToRunningS"), med.get("rawS"),
                        med.get("ratio"), med.get("cliRatio"), med.get("cliOverheadS"));
                out.printf("target: havm group move's own overhead (./havm through its resident client; it returns"
                        + " when the move's operation ended) <= %.1f s: %s (median %.2f s; in a JVM of its own %.2f s)%n",
                        CLI_OVERHEAD_TARGET_S, med.get("cliOverheadS") <= CLI_OVERHEAD_TARGET_S ? "met" : "NOT met",
                        med.get("cliOverheadS"), own.cliOverheadS());
                out.printf("target: havm's %s move / raw <= %.2f: %s (median ratio %.2f)%n", mode.word, TARGET,
                        med.get("ratio") <= TARGET ? "met" : "NOT met", med.get("ratio"));
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("mode", mode.word);
                doc.put("raw", mode == MoveMode.LIVE ? "virsh migrate --live --p2p --persistent --undefinesource"
                        + " --abort-on-error --unsafe (an identical VM)" : "virsh save + virsh restore on the target"
                        + " (an identical VM)");
                doc.put("pairs", results);
                doc.put("ownJvm", own);
                doc.put("median", med);
                doc.put("cliOverheadTargetS", CLI_OVERHEAD_TARGET_S);
                doc.put("target", Map.of("ratio", TARGET));
                BenchSupport.writeJson(json, doc, out, "migrate");
                return 0;
            }
        }
    }

    /** One pair: havm moves the VM from -> to, then virsh moves the twin the same way. Null: havm's move did not happen. */
    private Pair pair(int i, LabCluster cluster, BenchSupport.Launcher havm, boolean resident, Path cfg, MoveMode mode,
            Hypervisor src, Hypervisor dst, LabVm twin, Path save) throws InterruptedException {
        String from = src.host();
        String to = dst.host();
        BenchSupport.Referee referee = new BenchSupport.Referee(() -> BenchSupport.running(dst, VM)
                && !BenchSupport.active(src, VM));
        Instant asked = Instant.now();
        long t0 = System.nanoTime();
        Exec.Outcome cli = havm.run(resident, "group", "move", GROUP, "--to", to, "--mode", mode.word, "--config",
                cfg.toString());
        long returned = System.nanoTime();
        Long running = referee.at();
        if (!cli.ok() || running == null) {
            out.println("pair " + i + ": havm did not move " + VM + " " + from + " -> " + to + " within "
                    + BenchSupport.BUDGET.toSeconds() + " s: " + cli.err().strip() + "\n" + cluster.agentLogs());
            return null;
        }
        Instant began = BenchSupport.awaitEvent(cluster, "group " + GROUP + ": online on " + from + " -> moving "
                + from + "->" + to, asked);
        Instant done = BenchSupport.awaitEvent(cluster, "group " + GROUP + ": moving " + from + "->" + to + " "
                + mode.word + " -> online on " + to, asked);
        Instant agentStarted = BenchSupport.logTime(cluster.agentLog(from), from + " agent: Move[group=" + GROUP
                + ", from=" + from + ", to=" + to, asked).orElse(began);
        double raw;
        if (mode == MoveMode.LIVE) {
            raw = BenchSupport.virshMigrateLive(TWIN, src, dst);
        } else {
            try {
                raw = BenchSupport.virshSaveRestore(TWIN, save.resolve(TWIN + ".raw.sav"), src, dst);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        if (!BenchSupport.running(dst, TWIN)) {
            throw new IllegalStateException("raw " + mode.word + " move of " + TWIN + " to " + to + " left it not running");
        }
        double move = BenchSupport.secs(began, done);
        double toRunning = (running - t0) / 1e9;
        double cliReturn = (returned - t0) / 1e9;
        return new Pair(i, from, to, move, BenchSupport.secs(agentStarted, done), cliReturn, toRunning,
                raw, move / raw, toRunning / raw, cliReturn - move);
    }
}
