package io.havm.fencing;

import io.havm.port.Fencer;
import io.havm.model.InvalidInputException;
import io.havm.util.Exec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Fencer} for real clusters: runs fence agents (Debian's fence-agents: fence_ipmilan,
 * fence_redfish, fence_virsh, …, or the lab's {@code ci/fence_havm_lab}) one {@link FenceDevice} per node.
 *
 * <h2>Protocol (fence-agents' doc/FenceAgentAPI.md, checked against fencing.py 4.12.1)</h2>
 * <ul>
 *   <li>The agent is executed with no arguments (fencing.py reads stdin only when {@code argv} is
 *       empty) and gets one {@code name=value} line per parameter on stdin, then end-of-file:
 *       {@code action=<agent action>}, {@code nodename=<node>} (what fenced and Pacemaker pass; agents
 *       that do not know it ignore it), then the device's options in name order.</li>
 *   <li>Exit codes: off, on, reboot, monitor: 0 success, anything else failure (fencing.py's own
 *       failures all exit 1). status: 0 = on, 2 = off, 1 (or anything else) = could not tell.
 *       monitor: 2 = device reachable but the port is off (single-port devices), still a working
 *       device.</li>
 *   <li>reboot exits 0 when its <em>off</em> part succeeded, even if powering on failed.</li>
 * </ul>
 *
 * <h2>When is a node OFF</h2>
 * {@code fence(node, OFF)} returns {@link Outcome#OFF} only when the agent's {@code off} exited 0
 * <em>and</em> a following {@code status} exited 2. fencing.py agents already poll the device after
 * {@code off} until it reads off (their {@code power_timeout}, 20 s by default) and Pacemaker trusts
 * their exit 0; havm checks once more because the port promises "confirmed", because hand-written
 * agents may not verify, and because it costs one short run. {@code confirm-off: false} skips the
 * check for agents without a status action. One status run, no polling: an agent whose off returns
 * before the device reads off is a broken agent, and the operator should see it.
 *
 * <h2>Time</h2>
 * A device's timeout is the budget of one {@code fence} call, all runs included: the confirming
 * status gets what the off run left. When it is spent the agent's whole process tree is killed
 * (ssh, ipmitool, curl children included) and the result is FAILED, never success: a timeout is
 * an assumption, not a proof.
 *
 * <h2>Secrets</h2>
 * Values of secret options ({@link FenceDevice#isSecret}: password, passwd, …) appear only on the
 * agent's stdin: they are replaced by {@code ****} in every log line and every result detail, also
 * where the agent itself echoed them. Options from files ({@code password: {file: …}}) are read at
 * each fence call, with the checks of {@code Secrets}, and masked the same way whatever their name;
 * a file that is missing or open to others fails the call before any agent runs, naming the file.
 */
public final class FenceAgentRunner implements Fencer {
    private static final Logger LOG = LoggerFactory.getLogger(FenceAgentRunner.class);
    private static final Pattern LOG_PREFIX = Pattern.compile("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d+ ");
    /** fencing.py's error lines ("ERROR: Failed: …"): when there are any, its DEBUG/INFO lines are noise. */
    private static final Pattern ERROR_LINE = Pattern.compile("(ERROR|CRITICAL):.*|(?i)(error|failed)\\b.*");
    private static final int DETAIL_MAX = 400;

    private volatile Map<String, FenceDevice> devices;

    /** @param devicesByNode the fence device of each node, by node name */
    public FenceAgentRunner(Map<String, FenceDevice> devicesByNode) {
        this.devices = new TreeMap<>(devicesByNode);
    }

    /** A new configuration's fence devices (fences already running finish with the ones they had). */
    public void replace(Map<String, FenceDevice> devicesByNode) {
        this.devices = new TreeMap<>(devicesByNode);
    }

    /** Never throws: whatever goes wrong is a FAILED result, the node's state unknown. */
    @Override
    public Result fence(String node, Action action) {
        try {
            return fenceOrThrow(node, action);
        } catch (RuntimeException e) {
            FenceDevice d = devices.get(node);
            String why = e instanceof Masked ? e.getMessage() : d == null ? e.toString() : mask(e.toString(), d.secrets());
            LOG.error("fence {} {}: {}", node, word(action), why);
            return new Result(Outcome.FAILED, node + ": " + word(action) + " failed: " + why);
        }
    }

    private Result fenceOrThrow(String node, Action action) {
        FenceDevice d = devices.get(node);
        if (d == null) {
            return new Result(Outcome.FAILED, node + ": no fence device configured (nodes with one: "
                    + (devices.isEmpty() ? "none" : String.join(", ", devices.keySet())) + ")");
        }
        long deadline = System.nanoTime() + d.timeout().toNanos();
        String agent = d.agentName();
        FenceDevice.Resolved opts;
        try {
            opts = d.readOptions();
        } catch (InvalidInputException e) {
            Result r = new Result(Outcome.FAILED, node + ": " + agent + " " + d.agentAction(action) + ": not run: "
                    + e.getMessage());
            LOG.warn("fence {} {}: {}", node, word(action), r.detail());
            return r;
        }
        LOG.info("fence {} {}: {} action={} {} (budget {})", node, word(action), agent, d.agentAction(action),
                d.maskedOptions(), seconds(d.timeout()));
        try {
            return fenceWith(node, action, d, opts, deadline);
        } catch (RuntimeException e) {
            throw new Masked(mask(e.toString(), opts.secrets()));
        }
    }

    /** A failure whose text is already masked. */
    private static final class Masked extends RuntimeException {
        Masked(String message) {
            super(message, null, false, false);
        }
    }

    private Result fenceWith(String node, Action action, FenceDevice d, FenceDevice.Resolved opts, long deadline) {
        Run first = run(node, d, opts, d.agentAction(action), deadline);
        Result r = switch (action) {
            case OFF -> off(node, d, opts, first, deadline);
            case STATUS -> first.ok() ? new Result(Outcome.ON, node + ": " + first.say())
                    : first.saidOff() ? new Result(Outcome.OFF, node + ": " + first.say())
                    : failed(node, d, first);
            case MONITOR -> first.ok() ? new Result(Outcome.OK, node + ": " + first.say())
                    : first.saidOff()
                    ? new Result(Outcome.OK, node + ": " + first.say() + ": device reachable, its port reports off")
                    : failed(node, d, first);
            case ON, REBOOT -> first.ok() ? new Result(Outcome.OK, node + ": " + first.say()) : failed(node, d, first);
        };
        if (r.outcome() == Outcome.FAILED) {
            LOG.warn("fence {} {}: {}", node, word(action), r.detail());
        } else {
            LOG.info("fence {} {}: {} ({})", node, word(action), r.outcome(), r.detail());
        }
        return r;
    }

    private Result off(String node, FenceDevice d, FenceDevice.Resolved opts, Run off, long deadline) {
        if (!off.ok()) {
            return failed(node, d, off);
        }
        if (!d.confirmOff()) {
            return new Result(Outcome.OFF, node + ": " + off.say() + " (not checked with status: confirm-off is false)");
        }
        Run status = run(node, d, opts, d.agentAction(Action.STATUS), deadline);
        if (status.saidOff()) {
            return new Result(Outcome.OFF, node + ": " + off.say() + "; " + status.say() + ": off confirmed in "
                    + seconds(Duration.ofNanos(off.nanos + status.nanos)));
        }
        String why = status.code == 0 ? "the device still reports the node on" : "could not confirm";
        return new Result(Outcome.FAILED, node + ": " + off.say() + "; " + describeFailure(d, status)
                + ": NOT fenced, " + why);
    }

    private static Result failed(String node, FenceDevice d, Run run) {
        return new Result(Outcome.FAILED, node + ": " + describeFailure(d, run));
    }

    private static String describeFailure(FenceDevice d, Run run) {
        if (run.notStarted) {
            return d.agentName() + " " + run.action + ": not run, the budget of " + seconds(d.timeout())
                    + " was spent before it";
        }
        if (run.timedOut) {
            return d.agentName() + " " + run.action + ": timed out after " + seconds(Duration.ofNanos(run.nanos))
                    + " (budget " + seconds(d.timeout()) + " for the whole fence call); the agent and its child"
                    + " processes were killed" + (run.text.isEmpty() ? "" : "; it said: " + run.text);
        }
        return run.say();
    }

    /**
     * Runs the agent's {@code metadata} action and parses it.
     *
     * @throws InvalidInputException naming the agent when it does not run or its metadata is not XML
     */
    public static AgentMetadata metadata(FenceDevice d) {
        // Only the action: metadata needs no parameters, and secrets go nowhere they are not needed.
        Exec.Outcome o = Exec.run(d.timeout(), null, null, "action=metadata\n", List.of(d.path().toString()));
        String where = "agent " + d.agentName();
        if (!o.ok()) {
            throw new InvalidInputException(where, "metadata failed: " + (o.timedOut() ? "timed out after "
                    + seconds(d.timeout()) : "exit " + o.code()) + summary(d, o.out(), o.err(), false));
        }
        return AgentMetadata.parse(where, o.out());
    }

    /**
     * Checks a device against what its agent declares (its metadata): every option is a parameter
     * of the agent, every required parameter is given, the agent has the off action (and status when
     * off is confirmed), every option file exists and is for root only. Run at configuration load, so
     * that a typo or an unsafe file fails then and not during a fence.
     *
     * @param where the device's place in the configuration, e.g. {@code cluster.yaml: nodes.host2.fence}
     * @return the metadata, for the caller's own use
     */
    public static AgentMetadata validate(String where, FenceDevice d) {
        AgentMetadata md;
        try {
            md = metadata(d);
        } catch (InvalidInputException e) {
            throw new InvalidInputException(where + ".agent", e.getMessage());
        }
        String name = md.name().isEmpty() ? d.agentName() : md.name();
        String allowed = md.parameters().stream().filter(p -> !p.deprecated() && !p.name().equals("action"))
                .map(AgentMetadata.Parameter::name).collect(Collectors.joining(", "));
        for (String k : d.optionNames()) {
            if (md.parameter(k).isEmpty()) {
                throw new InvalidInputException(where + ".options." + k, name + " has no parameter '" + k
                        + "' (its parameters: " + allowed + ")");
            }
        }
        Set<String> given = d.optionNames().stream().map(AgentMetadata::norm).collect(Collectors.toSet());
        for (AgentMetadata.Parameter p : md.parameters()) {
            if (p.required() && !p.deprecated() && !p.name().equals("action") && !given.contains(AgentMetadata.norm(p.name()))
                    && (p.obsoletes() == null || !given.contains(AgentMetadata.norm(p.obsoletes())))) {
                throw new InvalidInputException(where + ".options", name + " requires '" + p.name() + "'"
                        + (p.obsoletes() == null ? "" : " (or its old name '" + p.obsoletes() + "')"));
            }
        }
        if (!md.actions().isEmpty()) {
            List<Action> needed = new ArrayList<>(List.of(Action.OFF));
            if (d.confirmOff()) {
                needed.add(Action.STATUS);
            }
            for (Action a : needed) {
                String act = d.agentAction(a);
                if (!md.actions().contains(act)) {
                    throw new InvalidInputException(where + ".actions." + word(a), name + " has no action '" + act
                            + "' (its actions: " + String.join(", ", md.actions()) + ")"
                            + (a == Action.STATUS ? "; without one, set confirm-off: false" : ""));
                }
            }
        }
        // Last, once the names are right: each secret file is there and for root only (not read here).
        try {
            d.checkOptionFiles();
        } catch (InvalidInputException e) {
            throw new InvalidInputException(where + "." + e.where(), e.problem());
        }
        return md;
    }

    /** One agent run, its output already masked and summarized. */
    private record Run(String agent, String action, int code, boolean timedOut, boolean notStarted, long nanos,
            String text) {
        boolean ok() {
            return code == 0 && !timedOut && !notStarted;
        }

        /** Exit 2: status (and monitor of a single-port device) for "off". */
        boolean saidOff() {
            return code == 2 && !timedOut && !notStarted;
        }

        /** {@code fence_redfish off: exit 0 (Success: Powered OFF)}. */
        String say() {
            return agent + " " + action + ": exit " + code + (text.isEmpty() ? "" : " (" + text + ")");
        }
    }

    private static Run run(String node, FenceDevice d, FenceDevice.Resolved opts, String agentAction, long deadline) {
        long left = deadline - System.nanoTime();
        if (left < Duration.ofMillis(1).toNanos()) {
            return new Run(d.agentName(), agentAction, -1, true, true, 0, "");
        }
        long t0 = System.nanoTime();
        Exec.Outcome o = Exec.run(Duration.ofNanos(left), null, null, stdin(node, opts.options(), agentAction),
                List.of(d.path().toString()));
        long took = System.nanoTime() - t0;
        boolean failed = o.timedOut() || (o.code() != 0 && !(o.code() == 2 && (agentAction.equals(d.agentAction(Action.STATUS))
                || agentAction.equals(d.agentAction(Action.MONITOR)))));
        Run r = new Run(d.agentName(), agentAction, o.code(), o.timedOut(), false, took,
                summary(opts.secrets(), o.out(), o.err(), failed));
        LOG.debug("fence {}: {} {} -> exit {}{} in {}", node, d.agentName(), agentAction, o.code(),
                o.timedOut() ? " (timed out)" : "", seconds(Duration.ofNanos(took)));
        return r;
    }

    /** The agent's stdin: action, nodename, then the options (files already read) in name order. */
    static String stdin(String node, Map<String, String> options, String agentAction) {
        StringBuilder sb = new StringBuilder("action=").append(agentAction).append('\n');
        if (options.keySet().stream().noneMatch(k -> k.equalsIgnoreCase("nodename"))) {
            sb.append("nodename=").append(node).append('\n');
        }
        new TreeMap<>(options).forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString();
    }

    /**
     * The agent's words for the operator, secrets masked, one line, bounded. When a run failed and
     * the agent printed error lines (fencing.py: a timestamped "ERROR: Failed: …" on stderr, then
     * "Please use '-h' for usage"), only those; otherwise everything it printed.
     */
    static String summary(FenceDevice d, String out, String err, boolean failed) {
        return summary(d.secrets(), out, err, failed);
    }

    static String summary(List<String> secrets, String out, String err, boolean failed) {
        Set<String> lines = new LinkedHashSet<>();
        // Masked before anything else touches the text: stripping could cut a secret's edge off.
        for (String text : List.of(mask(err, secrets), mask(out, secrets))) {
            for (String l : text.split("\\R")) {
                String s = LOG_PREFIX.matcher(l.strip()).replaceFirst("").strip();
                if (!s.isEmpty() && !s.equals("ERROR: Please use '-h' for usage") && !s.contains("DeprecationWarning") && !s.startsWith("from pipes import")) {
                    lines.add(s);
                }
            }
        }
        List<String> chosen = new ArrayList<>(lines);
        if (failed) {
            List<String> errors = chosen.stream().filter(l -> ERROR_LINE.matcher(l).matches()).toList();
            if (!errors.isEmpty()) {
                chosen = errors;
            }
        }
        String s = mask(String.join(" | ", chosen), secrets);
        return s.length() <= DETAIL_MAX ? s : s.substring(0, DETAIL_MAX) + "…";
    }

    /** Replaces every secret value in {@code text} by {@code ****}, longest first. */
    static String mask(String text, List<String> secrets) {
        String s = text;
        for (String secret : secrets.stream().sorted(Comparator.comparingInt(String::length).reversed()).toList()) {
            s = s.replace(secret, "****");
        }
        return s;
    }

    private static String word(Action a) {
        return a.name().toLowerCase(Locale.ROOT);
    }

    static String seconds(Duration d) {
        double s = d.toNanos() / 1e9;
        return s == Math.rint(s) ? String.format(Locale.ROOT, "%d s", (long) s) : String.format(Locale.ROOT, "%.1f s", s);
    }
}
