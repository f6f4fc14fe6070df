package io.havm.lab;

import io.havm.model.InvalidInputException;
import io.havm.util.Args;
import io.havm.util.Cli;
import io.havm.util.Exec;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The lab's own commands, {@code havm demo} and {@code havm bench}: they boot the lab they run on,
 * so they live with it and not in the {@code havm} command of production hosts (the {@code ./havm}
 * launcher sends them here). Bad arguments: a precise message and exit 2.
 */
public final class LabMain {
    private final Path home;
    private final PrintStream out;
    private final PrintStream err;

    public LabMain(Path home, PrintStream out, PrintStream err) {
        this.home = home;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] argv) {
        int code = new LabMain(Exec.projectHome(), System.out, System.err).run(Arrays.asList(argv));
        System.out.flush();
        System.exit(code);
    }

    public int run(List<String> argv) {
        String cmd = argv.isEmpty() ? "" : argv.get(0);
        List<String> rest = argv.isEmpty() ? List.of() : argv.subList(1, argv.size());
        return Cli.exitCode(err, () -> {
            // --help at any level answers from the command tree havm's own command uses
            java.util.Optional<Integer> answered = io.havm.util.CommandTree.answer(argv, out);
            return answered.isPresent() ? answered.get() : dispatch(cmd, rest);
        });
    }

    private int dispatch(String cmd, List<String> rest) throws InterruptedException {
        return switch (cmd) {
            case "demo" -> demo(rest);
            case "bench" -> bench(rest);
            case "drill" -> new io.havm.drill.DrillCli(out, () -> new LabTarget(home, rest.contains("--json") ? err
                    : out), (config, destructive) -> {
                throw new InvalidInputException("havm drill run --config", "a cluster's own hosts are the production"
                        + " command's target: havm drill run PLAYBOOK --config " + config + " (./havm sends a run with"
                        + " --config there)");
            }).progressTo(err).run(rest);
            default -> throw new InvalidInputException("havm", "'" + cmd + "' is not a lab command (lab commands:"
                    + " demo, bench, drill)");
        };
    }

    private int demo(List<String> args) {
        Args a = Args.parse("havm demo", args, Set.of("--json"), Set.of("--keep"), 0, "havm demo [--json FILE] [--keep]");
        Path json = a.get("--json") == null ? null : Path.of(a.get("--json"));
        return new Demo(home, out, json, a.flag("--keep")).run();
    }

    private int bench(List<String> args) throws InterruptedException {
        String name = args.isEmpty() ? "" : args.get(0);
        List<String> rest = args.isEmpty() ? List.of() : args.subList(1, args.size());
        return switch (name) {
            case "failover" -> failover(rest);
            case "scale" -> scale(rest);
            case "migrate" -> MigrateBench.main(home, out, rest);
            case "drain" -> DrainBench.main(home, out, rest);
            case "agent" -> AgentBench.main(home, out, rest);
            default -> throw new InvalidInputException("havm bench", (name.isEmpty() ? "a benchmark is required"
                    : "unknown benchmark '" + name + "'") + " (benchmarks: failover, scale, migrate, drain, agent)");
        };
    }

    private int failover(List<String> args) throws InterruptedException {
        String usage = "havm bench failover [--runs N] [--isolation-runs N] [--json FILE]";
        Args a = Args.parse("havm bench failover", args,
                Set.of("--runs", "--isolation-runs", "--json"), Set.of(), 0, usage);
        int runs = 5;
        if (a.get("--runs") != null) {
            String v = a.get("--runs");
            if (!v.matches("[1-9][0-9]?")) {
                throw new InvalidInputException("--runs", "'" + v + "' is not a number of runs (allowed: 1..99)");
            }
            runs = Integer.parseInt(v);
        }
        int isolationRuns = 2;
        if (a.get("--isolation-runs") != null) {
            String v = a.get("--isolation-runs");
            if (!v.matches("\\d{1,2}")) {
                throw new InvalidInputException("--isolation-runs", "'" + v + "' is not a number of runs (allowed: 0..99)");
            }
            isolationRuns = Integer.parseInt(v);
        }
        Path json = a.get("--json") == null ? null : Path.of(a.get("--json"));
        return new Bench(home, out).failover(runs, isolationRuns, json);
    }


    private int scale(List<String> args) {
        String usage = "havm bench scale [--hosts N] [--groups M] [--on-lost K] [--runs R]"
                + " [--pacemaker default|balanced|none] [--json FILE]";
        Args a = Args.parse("havm bench scale", args, Set.of("--hosts", "--groups", "--on-lost", "--runs", "--json",
                "--pacemaker"), Set.of(), 0, usage);
        int hosts = number(a, "--hosts", 100, 2, 100_000);
        int groups = number(a, "--groups", hosts * 20, 1, 1_000_000);
        int onLost = number(a, "--on-lost", Math.min(groups, 20), 1, groups);
        if ((long) onLost * 2112 > 262144) {
            throw new InvalidInputException("--on-lost", onLost + " groups of 2 GiB do not fit on one 256 GiB host"
                    + " (allowed: 1..124)");
        }
        int runs = number(a, "--runs", 5, 1, 99);
        String pacemaker = a.get("--pacemaker") == null ? "default" : a.get("--pacemaker");
        if (!List.of("default", "balanced", "none").contains(pacemaker)) {
            throw new InvalidInputException("--pacemaker", "'" + pacemaker + "' is not a baseline (allowed: default,"
                    + " balanced, none)");
        }
        Path json = a.get("--json") == null ? null : Path.of(a.get("--json"));
        Path work = home.resolve("target/bench-scale");
        try {
            new ScaleBench(out, runs, pacemaker.equals("none") ? null : pacemaker, work)
                    .run(new ScaleBench.Shape(hosts, groups, onLost), json);
        } catch (java.io.IOException e) {
            err.println("havm: bench scale: cannot write " + json + ": " + e.getMessage());
            return 1;
        } catch (PacemakerBaseline.BaselineException e) {
            err.println("havm: bench scale: Pacemaker baseline: " + e.getMessage());
            return 1;
        }
        return 0;
    }

    private static int number(Args a, String flag, int dflt, int min, int max) {
        String v = a.get(flag);
        if (v == null) {
            return dflt;
        }
        if (!v.matches("[0-9]{1,9}") || Long.parseLong(v) < min || Long.parseLong(v) > max) {
            throw new InvalidInputException(flag, "'" + v + "' is not a number within " + min + ".." + max);
        }
        return Integer.parseInt(v);
    }
}
