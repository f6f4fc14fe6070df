package io.havm.sim.engine;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.MoveMode;
import io.havm.model.ResourceSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.Input;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.TreeSet;

/**
 * A golden-log scenario on the real engine ({@link EngineSim}): a directory with {@code
 * cluster.yaml} (the configuration), {@code events.txt} (what happens when), {@code expected.log}
 * (the golden log) and {@code README.md} (what it shows).
 *
 * <p>events.txt: one event per line, {@code <seconds> <verb> <args>}; {@code #} starts a comment;
 * times never go back; the last line is {@code <seconds> end} (run until then). Every node is
 * powered on at t=0, except one a {@code 0 power-off N} line names: it starts off (boot it later
 * with power-on). Every line is checked before the simulation starts: a bad one is an {@link
 * InvalidInputException} naming file:line and what is allowed. See {@link #VERBS}.
 *
 * <p>The result is the simulator's log, then the final picture: each node's status in the
 * coordinator's state, each group's phase and node, where libvirt runs each VM domain, every
 * violation the referee saw, the fences, and the event log the coordinators wrote.
 */
public final class EngineScenario {
    private EngineScenario() {}

    /** Verb and its argument words, as the error messages show them. */
    static final Map<String, String> VERBS = verbs(
            "power-off", "N", "power-on", "N", "crash-agent", "N", "start-agent", "N", "pause", "N", "resume", "N",
            "partition", "N", "heal", "N", "isolate", "N", "storage-cut", "N", "storage-restore", "N",
            "zk-stall", "", "zk-stall-end", "", "zk-crash", "", "zk-restart", "",
            "libvirtd-down", "N", "libvirtd-up", "N", "start-fails", "N COUNT", "fence-fails", "N COUNT",
            "guest-crash", "DOMAIN", "move", "G N live|quick|offline", "online", "G", "offline", "G",
            "drain", "N", "resume-node", "N [failback]", "shutdown", "N",
            "hang-agent", "N", "recover-agent", "N", "crash-coordinator", "", "migrate-fails", "N COUNT",
            "guest-hang", "DOMAIN", "script-start-fails", "N SCRIPT COUNT", "script-stop-fails", "N SCRIPT COUNT",
            "script-crash", "SCRIPT", "script-hang", "N SCRIPT", "script-unhang", "N SCRIPT", "script-sick", "SCRIPT",
            "script-well", "SCRIPT", "script-broken", "SCRIPT", "disk-lost", "DISK", "disk-back", "DISK", "storage-hang", "N",
            "storage-unhang", "N", "config", "FILE", "vm-import", "FILE G N", "vm-release", "FILE G", "end", "");

    private static Map<String, String> verbs(String... kv) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    /** One timed event, checked against the configuration. */
    record Step(double at, String where, String[] words) {
        String verb() {
            return words[0];
        }
    }

    public static List<String> run(Path dir) {
        ClusterSpec spec = ClusterConfigLoader.load(dir.resolve("cluster.yaml")).spec();
        List<Step> steps = parse(dir.resolve("events.txt"), spec, dir);
        List<String> startOff = new ArrayList<>();
        for (Step s : steps) {
            if (s.at() == 0 && s.verb().equals("power-off")) {
                startOff.add(s.words()[1]);
            }
        }
        EngineSim made;
        try {
            made = new EngineSim(spec);
        } catch (InvalidInputException e) {
            throw new InvalidInputException(dir.resolve("cluster.yaml") + ": " + e.where(), e.problem());
        }
        try (EngineSim sim = made) {
            for (String n : spec.nodeNames()) {
                if (!startOff.contains(n)) {
                    sim.powerOn(n);
                }
            }
            double end = 0;
            for (Step s : steps) {
                sim.runTo(s.at());
                if (!sim.violations().isEmpty()) {
                    break; // the referee stopped the world: the log ends at the violation
                }
                if (s.verb().equals("end")) {
                    end = s.at();
                    break;
                }
                if (s.at() == 0 && s.verb().equals("power-off")) {
                    continue; // started off
                }
                if (s.verb().equals("config")) {
                    sim.applyConfig(dir.resolve(s.words()[1]));
                    continue;
                }
                if (s.verb().equals("vm-import")) {
                    sim.importVm(dir.resolve(s.words()[1]), s.words()[2], s.words()[3]);
                    continue;
                }
                if (s.verb().equals("vm-release")) {
                    sim.releaseVm(dir.resolve(s.words()[1]), s.words()[2]);
                    continue;
                }
                apply(sim, s);
            }
            if (sim.violations().isEmpty()) {
                sim.runTo(end);
            }
            return report(sim);
        }
    }

    private static List<String> report(EngineSim sim) {
        List<String> out = new ArrayList<>(sim.log());
        ClusterState s = sim.state();
        if (s == null) {
            out.add("final state: no coordinator ever wrote one");
        } else {
            for (ClusterState.Node n : s.nodes().values()) {
                out.add("final node " + n.name() + ": " + n.status().word() + (n.paused() ? " (paused)" : "")
                        + (n.draining() ? " (draining)" : "") + (n.unresponsive() ? " (unresponsive)" : ""));
            }
            for (ClusterState.Group g : s.groups().values()) {
                out.add("final group " + g.name() + ": " + g.phase().word() + (g.node() == null ? "" : " on " + g.node()));
            }
        }
        for (String d : sim.domains()) {
            List<String> on = sim.runningOn(d);
            out.add("final domain " + d + ": runs on " + (on.isEmpty() ? "no host" : String.join(" ", on)));
        }
        for (String v : sim.violations()) {
            out.add("final " + v.substring(v.indexOf(' ') + 1) + " (at " + v.substring(0, v.indexOf(' ')) + ")");
        }
        if (sim.fenced().isEmpty()) {
            out.add("final fences: none");
        }
        sim.fenced().forEach((n, at) -> out.add("final fences of " + n + ": " + String.join(" ", at)));
        for (String e : sim.events()) {
            out.add("event " + e);
        }
        return out;
    }

    static List<Step> parse(Path file, ClusterSpec spec) {
        return parse(file, spec, file.toAbsolutePath().getParent());
    }

    /**
     * The events of {@code file}; a {@code config FILE} line names a configuration beside it, put in
     * force then (checked here: lines after it may name its new groups).
     */
    static List<Step> parse(Path file, ClusterSpec spec, Path dir) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new InvalidInputException(file.toString(), "cannot read: " + e.getMessage());
        }
        List<Step> steps = new ArrayList<>();
        double last = 0;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).replaceAll("#.*", "").strip();
            if (l.isEmpty()) {
                continue;
            }
            String where = file + ":" + (i + 1);
            if (!steps.isEmpty() && steps.get(steps.size() - 1).verb().equals("end")) {
                throw new InvalidInputException(where, "nothing may follow 'end' (line "
                        + steps.get(steps.size() - 1).where().substring(file.toString().length() + 1) + ")");
            }
            String[] w = l.split("\\s+");
            double at;
            try {
                at = Double.parseDouble(w[0]);
            } catch (NumberFormatException e) {
                throw new InvalidInputException(where, "'" + w[0] + "' is not a time in seconds"
                        + " (a line is '<seconds> <verb> <args>')");
            }
            if (!(at >= 0) || Double.isInfinite(at)) {
                throw new InvalidInputException(where, "time " + w[0] + " must be a number of seconds from 0 on");
            }
            if (at < last) {
                throw new InvalidInputException(where, "time " + w[0] + " is before the previous event (" + last + ")");
            }
            last = at;
            String[] words = Arrays.copyOfRange(w, 1, w.length);
            if (words.length == 0) {
                throw new InvalidInputException(where, "an event needs a verb (allowed: " + allowed() + ")");
            }
            if (words[0].equals("vm-import") && words.length > 2 && spec.groups().containsKey(words[2])) {
                throw new InvalidInputException(where, "vm-import: group '" + words[2] + "' exists already: the file must"
                        + " add it");
            }
            if (Set.of("config", "vm-import", "vm-release").contains(words[0]) && words.length > 1) {
                Path f = dir.resolve(words[1]);
                if (!Files.isRegularFile(f)) {
                    throw new InvalidInputException(where, "config: no file '" + words[1] + "' beside " + file.getFileName());
                }
                ClusterSpec next = ClusterConfigLoader.load(f).spec();
                if (!next.nodeNames().equals(spec.nodeNames())) {
                    throw new InvalidInputException(where, "config " + words[1] + ": the simulator's nodes are fixed ("
                            + String.join(", ", spec.nodeNames()) + ")");
                }
                spec = next.retaining(spec, spec.groups().keySet()); // later lines may name old and new groups
            }
            check(where, words, spec);
            steps.add(new Step(at, where, words));
        }
        if (steps.isEmpty() || !steps.get(steps.size() - 1).verb().equals("end")) {
            throw new InvalidInputException(file.toString(), "must end with '<seconds> end'");
        }
        return steps;
    }

    private static String allowed() {
        List<String> out = new ArrayList<>();
        VERBS.forEach((v, a) -> out.add(a.isEmpty() ? v : v + " " + a));
        return String.join(", ", out);
    }

    /** Checks a line's verb and arguments against the configuration. */
    private static void check(String where, String[] w, ClusterSpec spec) {
        String verb = w[0];
        String args = VERBS.get(verb);
        if (args == null) {
            throw new InvalidInputException(where, "unknown verb '" + verb + "' (allowed: " + allowed() + ")");
        }
        String[] want = args.isEmpty() ? new String[0] : args.split(" ");
        int required = (int) Arrays.stream(want).filter(a -> !a.startsWith("[")).count();
        if (w.length - 1 < required || w.length - 1 > want.length) {
            throw new InvalidInputException(where, "'" + String.join(" ", w) + "': " + verb + " takes "
                    + (want.length == 0 ? "no arguments" : "'" + args + "'"));
        }
        for (int i = 1; i < w.length; i++) {
            String kind = want[i - 1];
            String a = w[i];
            switch (kind) {
                case "N" -> {
                    if (!spec.nodeNames().contains(a)) {
                        throw new InvalidInputException(where, verb + ": unknown node '" + a + "' (nodes: "
                                + String.join(", ", spec.nodeNames()) + ")");
                    }
                }
                case "G" -> {
                    if (!spec.groups().containsKey(a)) {
                        throw new InvalidInputException(where, verb + ": unknown group '" + a + "' (groups: "
                                + String.join(", ", spec.groups().keySet()) + ")");
                    }
                }
                case "DOMAIN" -> {
                    TreeSet<String> domains = domains(spec);
                    if (!domains.contains(a)) {
                        throw new InvalidInputException(where, verb + ": unknown domain '" + a + "' (domains: "
                                + String.join(", ", domains) + ")");
                    }
                }
                case "SCRIPT" -> {
                    TreeSet<String> scripts = names(spec, ResourceSpec.Type.SCRIPT);
                    if (!scripts.contains(a)) {
                        throw new InvalidInputException(where, verb + ": unknown script resource '" + a
                                + "' (scripts: " + (scripts.isEmpty() ? "none" : String.join(", ", scripts)) + ")");
                    }
                }
                case "DISK" -> {
                    if (spec.storage().disk(a).isEmpty()) {
                        TreeSet<String> disks = new TreeSet<>(spec.storage().disks().keySet());
                        throw new InvalidInputException(where, verb + ": unknown disk '" + a + "' (disks: "
                                + (disks.isEmpty() ? "none" : String.join(", ", disks)) + ")");
                    }
                }
                case "FILE" -> {
                    if (a.contains("/") || a.startsWith(".")) {
                        throw new InvalidInputException(where, verb + ": '" + a + "' must be a file name beside the events file");
                    }
                }
                case "COUNT" -> {
                    int k;
                    try {
                        k = Integer.parseInt(a);
                    } catch (NumberFormatException e) {
                        k = -1;
                    }
                    if (k < 1) {
                        throw new InvalidInputException(where, verb + ": COUNT '" + a + "' must be a whole number from 1 on");
                    }
                }
                case "live|quick|offline" -> MoveMode.parse(where + ": move mode", a);
                case "[failback]" -> {
                    if (!a.equals("failback")) {
                        throw new InvalidInputException(where, verb + ": '" + a + "' must be 'failback' or nothing");
                    }
                }
                default -> throw new IllegalStateException(kind);
            }
        }
    }

    private static TreeSet<String> names(ClusterSpec spec, ResourceSpec.Type type) {
        TreeSet<String> out = new TreeSet<>();
        for (GroupSpec g : spec.groups().values()) {
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() == type) {
                    out.add(r.name());
                }
            }
        }
        return out;
    }

    private static TreeSet<String> domains(ClusterSpec spec) {
        TreeSet<String> out = new TreeSet<>();
        for (GroupSpec g : spec.groups().values()) {
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() == ResourceSpec.Type.VM) {
                    out.add(r.domain());
                }
            }
        }
        return out;
    }

    private static void apply(EngineSim sim, Step s) {
        String[] w = s.words();
        switch (s.verb()) {
            case "power-off" -> sim.powerOff(w[1]);
            case "power-on" -> sim.powerOn(w[1]);
            case "crash-agent" -> sim.crashAgent(w[1]);
            case "start-agent" -> sim.startAgent(w[1]);
            case "pause" -> sim.freeze(w[1]);
            case "resume" -> sim.thaw(w[1]);
            case "partition" -> sim.partition(w[1]);
            case "heal" -> sim.heal(w[1]);
            case "isolate" -> sim.isolate(w[1]);
            case "storage-cut" -> sim.storageCut(w[1]);
            case "storage-restore" -> sim.storageRestore(w[1]);
            case "zk-stall" -> sim.zkDown();
            case "zk-stall-end" -> sim.zkUp();
            case "zk-crash" -> sim.zkCrash();
            case "zk-restart" -> sim.zkRestart();
            case "libvirtd-down" -> sim.libvirtd(w[1], false);
            case "libvirtd-up" -> sim.libvirtd(w[1], true);
            case "start-fails" -> sim.failNextStarts(w[1], Integer.parseInt(w[2]));
            case "fence-fails" -> sim.failNextFences(w[1], Integer.parseInt(w[2]));
            case "guest-crash" -> sim.crashGuest(w[1]);
            case "move" -> sim.operator(new Input.MoveGroup(w[1], w[2], MoveMode.parse("move mode", w[3])));
            case "online" -> sim.operator(new Input.GroupOnline(w[1]));
            case "offline" -> sim.operator(new Input.GroupOffline(w[1]));
            case "drain" -> sim.operator(new Input.DrainNode(w[1]));
            case "resume-node" -> sim.operator(new Input.ResumeNode(w[1], w.length > 2));
            case "shutdown" -> sim.operator(new Input.ShutdownNode(w[1]));
            case "hang-agent" -> sim.hangAgent(w[1]);
            case "recover-agent" -> sim.recoverAgent(w[1]);
            case "crash-coordinator" -> sim.crashCoordinator();
            case "migrate-fails" -> sim.failNextMigrations(w[1], Integer.parseInt(w[2]));
            case "guest-hang" -> sim.hangGuest(w[1]);
            case "script-start-fails" -> sim.scriptStartFails(w[1], w[2], Integer.parseInt(w[3]));
            case "script-stop-fails" -> sim.scriptStopFails(w[1], w[2], Integer.parseInt(w[3]));
            case "script-crash" -> sim.crashScript(w[1]);
            case "script-hang" -> sim.scriptHang(w[1], w[2], true);
            case "script-unhang" -> sim.scriptHang(w[1], w[2], false);
            case "script-sick" -> sim.scriptSick(w[1], true);
            case "script-well" -> {
                sim.scriptSick(w[1], false);
                sim.scriptBroken(w[1], false);
            }
            case "script-broken" -> sim.scriptBroken(w[1], true);
            case "disk-lost" -> sim.loseDisk(w[1]);
            case "disk-back" -> sim.restoreDisk(w[1]);
            case "storage-hang" -> sim.storageHang(w[1], true);
            case "storage-unhang" -> sim.storageHang(w[1], false);
            default -> throw new IllegalStateException("unchecked verb " + s.verb());
        }
    }
}
