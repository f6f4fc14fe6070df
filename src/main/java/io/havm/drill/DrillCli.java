package io.havm.drill;

import io.havm.config.ClusterConfigLoader;
import io.havm.config.PlaybookLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.Playbook;
import io.havm.util.Args;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * {@code havm drill check PLAYBOOK} and {@code havm drill run PLAYBOOK [--sim]}: playbooks
 * (playbooks/README.md) checked, rehearsed in the simulator on the real engine, or run on real
 * hosts, with the same referees and reports either way.
 */
public final class DrillCli {
    public static final String USAGE = "havm drill check PLAYBOOK... [--json] | havm drill run PLAYBOOK [--sim] [--config"
            + " cluster.yaml [--destructive]] [--report DIR] [--force] [--json]";
    /** The referee's sampling interval on real hosts (libvirt asked on every host each time). */
    private static final Duration REAL_SAMPLE = Duration.ofMillis(500);
    /** The simulator's sampling interval (virtual time). */
    private static final Duration SIM_SAMPLE = Duration.ofMillis(100);

    private final PrintStream out;
    /** Where a run with --json says its progress (stderr): stdout holds the report. */
    private PrintStream progressOut = System.err;
    private final java.util.function.Supplier<DrillTarget> realHosts;
    private final ClusterHosts clusterHosts;

    /** Makes the target of a run on a cluster's own hosts (--config without --sim). */
    @FunctionalInterface
    public interface ClusterHosts {
        /**
         * @param config the cluster's cluster.yaml
         * @param destructive the run allows destructive steps (--destructive)
         */
        DrillTarget of(Path config, boolean destructive);
    }

    /**
     * @param realHosts the target of a run without --sim or --config (the lab, from the lab's
     *        launcher); it may refuse with an InvalidInputException saying where real runs are possible
     * @param clusterHosts the target of a run with --config and without --sim (a cluster's own
     *        hosts, from the production command); it may refuse likewise
     */
    public DrillCli(PrintStream out, java.util.function.Supplier<DrillTarget> realHosts, ClusterHosts clusterHosts) {
        this.out = out;
        this.realHosts = realHosts;
        this.clusterHosts = clusterHosts;
    }

    /** Where a run with --json prints its progress lines (default: System.err). */
    public DrillCli progressTo(PrintStream err) {
        this.progressOut = err;
        return this;
    }

    public int run(List<String> args) {
        if (args.isEmpty()) {
            throw new InvalidInputException("havm drill", "a subcommand is required (allowed: check, run; usage: "
                    + USAGE + ")");
        }
        String verb = args.get(0);
        List<String> rest = args.subList(1, args.size());
        return switch (verb) {
            case "check" -> check(rest);
            case "run" -> runOne(rest);
            default -> throw new InvalidInputException("havm drill", "unknown subcommand '" + verb
                    + "' (allowed: check, run)");
        };
    }

    private int check(List<String> args) {
        Args a = Args.parse("havm drill check", args, Set.of(), Set.of("--json"), Args.ANY, USAGE);
        if (a.positional.isEmpty()) {
            throw new InvalidInputException("havm drill check", "names no playbook (usage: " + USAGE + ")");
        }
        List<java.util.Map<String, Object>> checked = new java.util.ArrayList<>();
        for (String f : a.positional) {
            Playbook p = PlaybookLoader.load(Path.of(f));
            checked.add(java.util.Map.of("file", f, "playbook", p.name(), "groups", p.groups().size(), "steps",
                    p.steps().size()));
            if (!a.flag("--json")) {
                out.println("ok: " + f + ": playbook " + p.name() + ": " + p.groups().size() + " group"
                        + (p.groups().size() == 1 ? "" : "s") + ", " + p.steps().size() + " steps");
            }
        }
        if (a.flag("--json")) {
            out.println(io.havm.util.Json.write(java.util.Map.of("ok", true, "playbooks", checked)));
        }
        return 0;
    }

    private int runOne(List<String> args) {
        Args a = Args.parse("havm drill run", args, Set.of("--config", "--report"), Set.of("--sim", "--force",
                "--destructive", "--json"), 1, USAGE);
        // with --json stdout holds the report alone: the progress lines go to stderr
        PrintStream out = a.flag("--json") ? progressOut : this.out;
        if (a.flag("--destructive") && (a.flag("--sim") || a.get("--config") == null)) {
            throw new InvalidInputException("havm drill run --destructive", "is for a run on a cluster's own hosts"
                    + " (--config without --sim): the simulator and the lab are there to be broken");
        }
        Playbook p = PlaybookLoader.load(Path.of(a.positional.get(0)));
        DrillTarget target;
        Duration sample;
        if (!a.flag("--sim")) {
            target = a.get("--config") != null ? clusterHosts.of(Path.of(a.get("--config")), a.flag("--destructive"))
                    : realHosts.get();
            sample = REAL_SAMPLE;
        } else if (a.get("--config") != null) {
            ClusterSpec spec = ClusterConfigLoader.load(Path.of(a.get("--config"))).spec();
            SimTarget.requireGroups(p, spec, a.get("--config"));
            target = SimTarget.of(spec);
            sample = SIM_SAMPLE;
        } else {
            target = SimTarget.labShape(p);
            sample = SIM_SAMPLE;
        }
        try {
            target.check(p); // what it cannot do is refused before anything is done
        } catch (RuntimeException e) {
            target.close(); // nothing was done: closing only lets go of what the target holds
            throw e;
        }
        List<DrillReport.Recovery> predicted = List.of();
        if (!target.simulated()) {
            // the same playbook on the real engine in the simulator first (the lab's shape, or the
            // cluster's own configuration): its prediction goes in the report
            try (SimTarget sim = a.get("--config") == null ? SimTarget.labShape(p) : SimTarget.of(target.spec())) {
                predicted = new DrillRunner(sim, SIM_SAMPLE, line -> { }).run(p).recoveries();
            } catch (RuntimeException e) {
                if (a.get("--config") == null) {
                    throw e;
                }
                out.println("havm drill: " + p.name() + ": no prediction (its rehearsal in the simulator did not run: "
                        + e.getMessage() + ")");
            }
        }
        DrillReport r;
        // on a terminal the step under way shows its elapsed seconds; piped, plain lines
        try (DrillTarget t = target; io.havm.util.Progress progress = io.havm.util.Progress.to(out)) {
            r = new DrillRunner(t, sample, progress).force(a.flag("--force")).run(p).withPredicted(predicted);
        } catch (InvalidInputException e) {
            throw e;
        } catch (RuntimeException e) {
            // the target could not be prepared or torn down (the lab did not come up, a group did
            // not come online): said in one paragraph, no stack trace, exit 1
            out.println("havm drill: " + p.name() + ": could not be run: "
                    + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        }
        for (DrillReport.Recovery x : r.recoveries()) {
            Double predictedNow = r.predictedSeconds(x);
            String pred = predictedNow == null ? "" : String.format(" (predicted %.2f s)", predictedNow);
            out.println(x.seconds() == null ? "  " + x.group() + ": disrupted at " + x.disrupted() + " s, not recovered"
                    : String.format("  %s: fault at %.2f s, recovered on %s %.2f s later%s%s", x.group(),
                            x.fault(), x.on(), x.seconds(), r.simulated() ? " (predicted)" : pred,
                            x.answered() == null ? "" : String.format("; the guest answered after %.2f s",
                                    x.answered())));
        }
        r.disagreements().forEach(d -> out.println("  DISAGREEMENT " + d));
        if (a.get("--report") != null) {
            Path dir = Path.of(a.get("--report"));
            r.write(dir);
            out.println("havm drill: wrote " + dir.resolve("report.html") + ", report.json and junit.xml");
        }
        out.println("havm drill: " + p.name() + (r.passed() ? ": passed" : ": FAILED")
                + (r.simulated() ? " (rehearsed in the simulator)" : " (on " + r.target() + ")"));
        if (a.flag("--json")) {
            this.out.println(r.json(false));
        }
        return r.passed() ? 0 : 1;
    }
}
