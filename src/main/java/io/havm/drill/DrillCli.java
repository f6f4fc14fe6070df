package io.havm.api;

import io.havm.config.ClusterConfigLoader;
import io.havm.config.PlaybookLoader;
import io.havm.drill.DrillReport;
import io.havm.drill.DrillRunner;
import io.havm.drill.SimTarget;
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
 * {@code havm drill check PLAYBOOK} and {@code havm drill run PLAYBOOK --sim}: playbooks (playbooks/README.md)
 * checked, and rehearsed in the simulator on the real engine with the same referees and reports a
 * real run has.
 */
final class DrillCommands {
    static final String USAGE = "havm drill check PLAYBOOK... | havm drill run PLAYBOOK --sim [--config cluster.yaml]"
            + " [--report DIR]";
    /** The simulator's sampling interval (virtual time). */
    private static final Duration SIM_SAMPLE = Duration.ofMillis(100);

    private final PrintStream out;

    DrillCommands(PrintStream out) {
        this.out = out;
    }

    int run(List<String> args) {
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
        Args a = Args.parse("havm drill run", args, Set.of("--config", "--report"), Set.of("--sim"), 1, USAGE);
        Playbook p = PlaybookLoader.load(Path.of(a.positional.get(0)));
        if (!a.flag("--sim")) {
            throw new InvalidInputException("havm drill run", "a run on real hosts (the lab, or a cluster) is not"
                    + " built yet: rehearse it in the simulator with --sim");
        }
        SimTarget target;
        if (a.get("--config") != null) {
            ClusterSpec spec = ClusterConfigLoader.load(Path.of(a.get("--config"))).spec();
            SimTarget.requireGroups(p, spec, a.get("--config"));
            target = SimTarget.of(spec);
        } else {
            target = SimTarget.labShape(p);
        }
        DrillReport r;
        try (SimTarget t = target) {
            r = new DrillRunner(t, SIM_SAMPLE, out::println).run(p);
        }
        for (DrillReport.Recovery x : r.recoveries()) {
            out.println(x.seconds() == null ? "  " + x.group() + ": disrupted at " + x.disrupted() + " s, not recovered"
                    : String.format("  %s: fault at %.2f s, recovered on %s %.2f s later (predicted)", x.group(),
                            x.fault(), x.on(), x.seconds()));
        }
        r.disagreements().forEach(d -> out.println("  DISAGREEMENT " + d));
        if (a.get("--report") != null) {
            Path dir = Path.of(a.get("--report"));
            r.write(dir);
            out.println("havm drill: wrote " + dir.resolve("report.json") + " and " + dir.resolve("junit.xml"));
        }
        out.println("havm drill: " + p.name() + (r.passed() ? ": passed" : ": FAILED") + " (rehearsed in the simulator)");
        return r.passed() ? 0 : 1;
    }
}
