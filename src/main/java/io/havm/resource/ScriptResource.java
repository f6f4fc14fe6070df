package io.havm.resource;

import io.havm.model.InvalidInputException;
import io.havm.model.Result;
import io.havm.port.Processes;
import io.havm.port.Resource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A script resource: any executable, called once per entry point, with a timeout.
 *
 * <p>Two dialects:
 * <ul>
 *   <li><b>generic</b>: {@code <exe> <entry-point>} with entry points named open, online,
 *       looks-alive, is-alive, offline, terminate, close; exit 0 is Ok, anything else Failed;
 *       parameters arrive as {@code HAVM_<NAME>} environment variables.</li>
 *   <li><b>ocf</b>: an OCF resource agent (e.g. {@code ocf:heartbeat:Dummy} from Debian's
 *       resource-agents), run unchanged: Open = validate-all, Online = start, LooksAlive =
 *       monitor with OCF_CHECK_LEVEL=0, IsAlive = monitor with OCF_CHECK_LEVEL=20, Offline and
 *       Terminate = stop (OCF has no separate forced stop; Terminate gets a short budget),
 *       parameters as {@code OCF_RESKEY_<name>}, OCF exit codes mapped to results.</li>
 * </ul>
 */
public final class ScriptResource implements Resource {

    /** Which calling convention the executable speaks. */
    public enum Dialect {
        /** {@code exe <entry-point>}, exit 0 = ok. */
        GENERIC,
        /** OCF resource agent API 1.0/1.1. */
        OCF
    }

    public static final Path DEFAULT_OCF_ROOT = Path.of("/usr/lib/ocf");

    private final Processes processes;
    private final String name;
    private final Path executable;
    private final Dialect dialect;
    private final Map<String, String> params;
    private final Duration timeout;
    private final Duration terminateTimeout;
    private final Path ocfRoot;

    public ScriptResource(Processes processes, String name, Path executable, Dialect dialect,
            Map<String, String> params, Duration timeout, Duration terminateTimeout, Path ocfRoot) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
            throw new InvalidInputException("name", "'" + name + "' is not a valid resource name");
        }
        if (!processes.executable(executable)) {
            throw new InvalidInputException("script", executable + " is not an executable file");
        }
        for (String k : params.keySet()) {
            if (!k.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new InvalidInputException("params." + k, "parameter names are letters, digits and '_'");
            }
        }
        this.processes = processes;
        this.name = name;
        this.executable = executable;
        this.dialect = dialect;
        this.params = new TreeMap<>(params);
        this.timeout = timeout;
        this.terminateTimeout = terminateTimeout;
        this.ocfRoot = ocfRoot;
    }

    /**
     * An OCF agent named like Pacemaker does: {@code ocf:<provider>:<type>}, found under
     * {@code <ocfRoot>/resource.d/<provider>/<type>}.
     */
    public static ScriptResource ocf(Processes processes, String name, String agent, Map<String, String> params,
            Duration timeout) {
        String[] parts = agent.split(":");
        if (parts.length != 3 || !parts[0].equals("ocf") || parts[1].isEmpty() || parts[2].isEmpty()) {
            throw new InvalidInputException("agent", "'" + agent + "' is not of the form ocf:<provider>:<type>");
        }
        Path exe = DEFAULT_OCF_ROOT.resolve("resource.d").resolve(parts[1]).resolve(parts[2]);
        if (!processes.executable(exe)) {
            throw new InvalidInputException("agent", "'" + agent + "': " + exe
                    + " not found (is Debian's resource-agents package installed? ci/install-deps)");
        }
        return new ScriptResource(processes, name, exe, Dialect.OCF, params, timeout, Duration.ofSeconds(20), DEFAULT_OCF_ROOT);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Result open() {
        if (dialect == Dialect.OCF) {
            Outcome o = run("validate-all", timeout, null);
            // Agents that do not implement validate-all (exit 3) are fine.
            return o.timedOut ? timeout("validate-all", timeout) : o.code == 0 || o.code == 3
                    ? new Result.Ok(name + ": validated") : ocfFailure("validate-all", o);
        }
        return generic("open", timeout);
    }

    @Override
    public Result online() {
        return dialect == Dialect.OCF ? ocfAction("start", timeout, null) : generic("online", timeout);
    }

    @Override
    public Result looksAlive() {
        return dialect == Dialect.OCF ? ocfAction("monitor", timeout, "0") : generic("looks-alive", timeout);
    }

    @Override
    public Result isAlive() {
        return dialect == Dialect.OCF ? ocfAction("monitor", timeout, "20") : generic("is-alive", timeout);
    }

    @Override
    public Result offline() {
        return dialect == Dialect.OCF ? ocfAction("stop", timeout, null) : generic("offline", timeout);
    }

    @Override
    public Result terminate() {
        return dialect == Dialect.OCF ? ocfAction("stop", terminateTimeout, null)
                : generic("terminate", terminateTimeout);
    }

    @Override
    public Result close() {
        return dialect == Dialect.OCF ? new Result.Ok(name + ": closed") : generic("close", timeout);
    }

    private Result generic(String entryPoint, Duration budget) {
        Outcome o = run(entryPoint, budget, null);
        if (o.timedOut) {
            return timeout(entryPoint, budget);
        }
        if (o.code == 0) {
            return new Result.Ok(name + " " + entryPoint + ": ok");
        }
        String why = name + " " + entryPoint + ": exit " + o.code + tail(o.output);
        // The generic contract: a monitor's non-zero exit says "not alive"; but 126/127 mean the
        // script itself could not be run, which says nothing about the service.
        boolean monitor = entryPoint.equals("looks-alive") || entryPoint.equals("is-alive");
        return monitor && o.code != 126 && o.code != 127 ? new Result.NotRunning(why) : new Result.Failed(why);
    }

    private Result ocfAction(String action, Duration budget, String checkLevel) {
        Outcome o = run(action, budget, checkLevel);
        if (o.timedOut) {
            return timeout(action, budget);
        }
        if (o.code == 0) {
            return new Result.Ok(name + " " + action + ": OCF_SUCCESS");
        }
        Result failed = ocfFailure(action, o);
        // OCF_NOT_RUNNING from a monitor is the one answer that says the resource is stopped
        return action.equals("monitor") && o.code == 7 ? new Result.NotRunning(failed.detail()) : failed;
    }

    private Result timeout(String what, Duration budget) {
        return new Result.Timeout(name + " " + what + ": no answer within " + budget.toSeconds() + " s", budget);
    }

    private Result ocfFailure(String action, Outcome o) {
        String meaning = OcfExit.describe(o.code);
        return new Result.Failed(name + " " + action + ": " + meaning + " (exit " + o.code + ")" + tail(o.output));
    }

    private static String tail(String output) {
        String t = output.strip();
        if (t.isEmpty()) {
            return "";
        }
        return ": " + (t.length() > 400 ? "…" + t.substring(t.length() - 400) : t);
    }

    private record Outcome(int code, boolean timedOut, String output) {}

    private Outcome run(String action, Duration budget, String checkLevel) {
        Map<String, String> env = new HashMap<>();
        if (dialect == Dialect.OCF) {
            env.put("OCF_ROOT", ocfRoot.toString());
            env.put("OCF_FUNCTIONS_DIR", ocfRoot.resolve("lib/heartbeat").toString());
            env.put("OCF_RESOURCE_INSTANCE", name);
            env.put("OCF_RESOURCE_TYPE", executable.getFileName().toString());
            env.put("OCF_RA_VERSION_MAJOR", "1");
            env.put("OCF_RA_VERSION_MINOR", "1");
            env.put("OCF_RESKEY_CRM_meta_timeout", Long.toString(budget.toMillis()));
            if (checkLevel != null) {
                env.put("OCF_CHECK_LEVEL", checkLevel);
            }
            params.forEach((k, v) -> env.put("OCF_RESKEY_" + k, v));
        } else {
            env.put("HAVM_RESOURCE", name);
            params.forEach((k, v) -> env.put("HAVM_" + k.toUpperCase(), v));
        }
        Processes.Outcome o = processes.run(List.of(executable.toString(), action), env, budget);
        return new Outcome(o.code(), o.timedOut(), o.out() + o.err());
    }

    /** OCF exit codes (resource-agents' ocf-returncodes). */
    static final class OcfExit {
        private OcfExit() {}

        static String describe(int code) {
            return switch (code) {
                case 0 -> "OCF_SUCCESS";
                case 1 -> "OCF_ERR_GENERIC: generic error";
                case 2 -> "OCF_ERR_ARGS: invalid parameters";
                case 3 -> "OCF_ERR_UNIMPLEMENTED: action not implemented";
                case 4 -> "OCF_ERR_PERM: insufficient privileges";
                case 5 -> "OCF_ERR_INSTALLED: required software not installed";
                case 6 -> "OCF_ERR_CONFIGURED: misconfigured";
                case 7 -> "OCF_NOT_RUNNING: not running";
                case 8 -> "OCF_RUNNING_PROMOTED: running as promoted";
                case 9 -> "OCF_FAILED_PROMOTED: failed while promoted";
                default -> "unknown exit code";
            };
        }
    }
}
