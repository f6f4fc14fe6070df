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
    public static final String USAGE = "havm drill check PLAYBOOK... | havm drill run PLAYBOOK [--sim [--config"
            + " cluster.yaml]] [--report DIR] [--force]";
    /** The referee's sampling interval on real hosts (libvirt asked on every host each time). */
    private static final Duration REAL_SAMPLE = Duration.ofMillis(500);
    /** The simulator's sampling interval (virtual time). */
    private static final Duration SIM_SAMPLE = Duration.ofMillis(100);

    private final PrintStream out;
    private final java.util.function.Supplier<DrillTarget> realHosts;

    /**
     * @param realHosts the target of a run without --sim (the lab, from the lab's launcher); it may
     *        refuse with an InvalidInputException saying where real runs are possible
     */
    public DrillCli(PrintStream out, java.util.function.Supplier<DrillTarget> realHosts) {
        this.out = out;
        this.realHosts = realHosts;
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
        Args a = Args.parse("havm drill check", args, Set.of(), Set.of(), Args.ANY, USAGE);
        if (a.positional.isEmpty()) {
            throw new InvalidInputException("havm drill check", "names no playbook (usage: " + USAGE + ")");
        }
        for (String f : a.positional) {
            Playbook p = PlaybookLoader.load(Path.of(f));
            out.println("ok: " + f + ": playbook " + p.name() + ": " + p.groups().size() + " group"
                    + (p.groups().size() == 1 ? "" : "s") + ", " + p.steps().size() + " steps");
        }
        return 0;
    }

    private int runOne(List<String> args) {
        Args a = Args.parse("havm drill run", args, Set.of("--config", "--report"), Set.of("--sim", "--force"), 1,
                USAGE);
        Playbook p = PlaybookLoader.load(Path.of(a.positional.get(0)));
        DrillTarget target;
        Duration sample;
        if (!a.flag("--sim")) {
            if (a.get("--config") != null) {
                throw new InvalidInputException("havm drill run --config", "a cluster's own hosts are not a drill"
                        + " target yet (the lab is): rehearse it with --sim --config");
            }
            target = realHosts.get();
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
        target.check(p); // what it cannot do is refused before anything is done
        List<DrillReport.Recovery> predicted = List.of();
        if (!target.simulated()) {
            // the same playbook on the real engine in the simulator first: its prediction goes in the report
            try (SimTarget sim = SimTarget.labShape(p)) {
                predicted = new DrillRunner(sim, SIM_SAMPLE, line -> { }).run(p).recoveries();
            }
        }
        DrillReport r;
        try (DrillTarget t = target) {
            r = new DrillRunner(t, sample, out::println).force(a.flag("--force")).run(p).withPredicted(predicted);
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
        return r.passed() ? 0 : 1;
    }
}
