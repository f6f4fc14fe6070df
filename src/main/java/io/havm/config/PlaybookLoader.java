package io.havm.config;

import io.havm.model.Playbook;
import io.havm.model.Playbook.Check;
import io.havm.model.Playbook.CheckKind;
import io.havm.model.Playbook.Fault;
import io.havm.model.Playbook.FaultKind;
import io.havm.model.Playbook.HostRef;
import io.havm.model.Playbook.Need;
import io.havm.model.Playbook.Operation;
import io.havm.model.Playbook.OperationKind;
import io.havm.model.Playbook.Pause;
import io.havm.model.Playbook.Step;
import io.havm.model.Playbook.Wait;
import io.havm.model.InvalidInputException;
import io.havm.policy.GroupPhase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads a drill playbook (playbooks/README.md). Every error names the file, the line, the field
 * and what is allowed; a playbook that does not read runs nothing.
 */
public final class PlaybookLoader {
    private static final Pattern PLAYBOOK_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
    private static final Set<String> STEP_KINDS = Set.of("fault", "operation", "wait", "check", "pause");
    private static final Map<String, Set<String>> STEP_FIELDS = Map.of(
            "fault", Set.of("fault", "label", "host", "group", "disk", "count"),
            "operation", Set.of("operation", "label", "group", "host", "to", "mode", "failback"),
            "wait", Set.of("wait", "label", "phase", "on", "notOn", "within"),
            "check", Set.of("check", "label", "group", "host", "within", "count"),
            "pause", Set.of("pause", "label"));
    /** What the longest wait, window or pause may be: a drill is not a soak. */
    static final Duration LONGEST = Duration.ofMinutes(30);
    /** A playbook is a page or two; anything far larger is not one. */
    static final long MAX_BYTES = 256 * 1024;

    private PlaybookLoader() {}

    public static Playbook load(Path file) {
        return parse(file.toString(), InputFile.read(file, "playbook", MAX_BYTES));
    }

    public static Playbook parse(String file, String text) {
        ClusterConfigLoader.Source src = ClusterConfigLoader.compose(file, text);
        Yaml y = src.y();
        Node root = src.root();
        if (root == null) {
            throw new InvalidInputException(file, "is empty: a playbook needs name, description, groups and steps");
        }
        Map<String, Node> top = y.mapping(root, "", Set.of("name", "description", "groups", "steps"));
        String name = y.required(top, "name", "name", root);
        if (!PLAYBOOK_NAME.matcher(name).matches()) {
            throw y.error(top.get("name"), "name", "'" + name + "' is not a playbook name (lower-case letters,"
                    + " digits and '-', 1-64 characters)");
        }
        String description = y.required(top, "description", "description", root).strip();
        if (!top.containsKey("groups")) {
            throw y.error(root, "groups", "is required: the groups the drill acts on, e.g. groups: {web: {on: host1}}");
        }
        Map<String, Need> groups = new LinkedHashMap<>();
        Node gn = top.get("groups");
        if (gn instanceof MappingNode) {
            for (Map.Entry<String, Node> e : y.mapping(gn, "groups", null).entrySet()) {
                String g = e.getKey();
                String f = "groups." + g;
                ClusterConfigLoader.checkName(y, e.getValue(), f, g);
                Map<String, Node> m = e.getValue() instanceof MappingNode
                        ? y.mapping(e.getValue(), f, Set.of("on", "memoryMiB", "antiAffinity", "lun", "failbackWindow"))
                        : Map.of();
                if (!(e.getValue() instanceof MappingNode) && !y.scalar(e.getValue(), f).isEmpty()) {
                    throw y.error(e.getValue(), f, "must be a mapping ({on: HOST}) or empty");
                }
                String on = m.containsKey("on") ? y.text(m, "on", f + ".on", null) : null;
                int mem = (int) y.integer(m, "memoryMiB", f + ".memoryMiB", 128, 64, 4096);
                String anti = null;
                boolean hard = true;
                if (m.containsKey("antiAffinity")) {
                    Map<String, Node> a = y.mapping(m.get("antiAffinity"), f + ".antiAffinity", Set.of("class", "hard"));
                    anti = y.required(a, "class", f + ".antiAffinity.class", m.get("antiAffinity"));
                    ClusterConfigLoader.checkName(y, a.get("class"), f + ".antiAffinity.class", anti);
                    hard = y.bool(a, "hard", f + ".antiAffinity.hard", true);
                }
                int lun = (int) y.integer(m, "lun", f + ".lun", 0, 1, 255);
                if (lun != 0) {
                    for (Need other : groups.values()) {
                        if (other.lun() == lun) {
                            throw y.error(m.get("lun"), f + ".lun", "LUN " + lun + " is already " + other.group()
                                    + "'s disk: each group needs a LUN of its own");
                        }
                    }
                }
                Playbook.FailbackWindow window = null;
                if (m.containsKey("failbackWindow")) {
                    String w = f + ".failbackWindow";
                    Map<String, Node> wm = y.mapping(m.get("failbackWindow"), w, Set.of("startsIn", "lasts"));
                    if (on == null) {
                        throw y.error(m.get("failbackWindow"), w, "needs on: HOST in the same group (failback goes"
                                + " back to that host, the group's preferred owner)");
                    }
                    window = new Playbook.FailbackWindow(window(y, wm, "startsIn", w, m.get("failbackWindow")),
                            window(y, wm, "lasts", w, m.get("failbackWindow")));
                }
                groups.put(g, new Need(g, on, mem, anti, hard, lun, window));
            }
        } else {
            throw y.error(gn, "groups", "must be a mapping of group names, e.g. groups: {web: {on: host1}}");
        }
        if (groups.isEmpty()) {
            throw y.error(gn, "groups", "must name at least one group");
        }
        if (!top.containsKey("steps")) {
            throw y.error(root, "steps", "is required: the faults, operations, waits and checks, in order");
        }
        List<Node> sn = y.sequence(top.get("steps"), "steps");
        if (sn.isEmpty()) {
            throw y.error(top.get("steps"), "steps", "must list at least one step");
        }
        List<Step> steps = new ArrayList<>();
        Set<String> lunDisks = new TreeSet<>();
        groups.values().stream().filter(g -> g.lun() != 0).forEach(g -> lunDisks.add(g.lunDisk()));
        for (int i = 0; i < sn.size(); i++) {
            steps.add(step(y, sn.get(i), "steps[" + (i + 1) + "]", groups.keySet(), lunDisks));
        }
        return new Playbook(file, name, description, groups, steps);
    }

    /** {@code lunDisks}: the disks of the playbook's {@code lun:} groups; when there are any, a disk fault names one. */
    private static Step step(Yaml y, Node n, String f, Set<String> groups, Set<String> lunDisks) {
        Map<String, Node> any = y.mapping(n, f, null);
        List<String> kinds = any.keySet().stream().filter(STEP_KINDS::contains).toList();
        if (kinds.size() != 1) {
            throw y.error(n, f, (kinds.isEmpty() ? "names no step kind" : "names " + String.join(" and ", kinds))
                    + ": a step is exactly one of " + String.join(", ", new TreeSet<>(STEP_KINDS)));
        }
        String kind = kinds.get(0);
        Map<String, Node> m = y.mapping(n, f, STEP_FIELDS.get(kind));
        int line = n.getStartMark().getLine() + 1;
        String label = m.containsKey("label") ? y.text(m, "label", f + ".label", null) : null;
        String word = y.text(m, kind, f + "." + kind, null);
        switch (kind) {
            case "fault" -> {
                FaultKind k = pick(y, m.get(kind), f + ".fault", word, FaultKind.values(), x -> x.word);
                HostRef host = null;
                String group = null;
                String disk = null;
                int count = 0;
                if (k.onHost) {
                    host = hostRef(y, m, "host", f, groups, n);
                } else if (k == FaultKind.QEMU_KILL || k == FaultKind.GUEST_CRASH || k == FaultKind.GUEST_AGENT_STOP) {
                    group = group(y, m, f, groups, n);
                } else if (k == FaultKind.LUN_REMOVE || k == FaultKind.LUN_RESTORE) {
                    disk = y.required(m, "disk", f + ".disk", n);
                    if (!lunDisks.isEmpty() && !lunDisks.contains(disk)) {
                        throw y.error(m.get("disk"), f + ".disk", "unknown disk '" + disk + "' (allowed: "
                                + String.join(", ", lunDisks) + ", the disks of the groups with lun:)");
                    }
                }
                if (k == FaultKind.FENCE_FAILS) {
                    count = (int) y.integer(m, "count", f + ".count", 1, 1, 100);
                }
                refuse(y, m, f, k.word, host == null ? "host" : null, group == null ? "group" : null,
                        disk == null ? "disk" : null, k == FaultKind.FENCE_FAILS ? null : "count");
                return new Fault(line, label != null ? label : k.word + (host != null ? " " + host : group != null
                        ? " " + group : disk != null ? " " + disk : ""), k, host, group, disk, count);
            }
            case "operation" -> {
                OperationKind k = pick(y, m.get(kind), f + ".operation", word, OperationKind.values(), x -> x.word);
                boolean onGroup = k == OperationKind.MOVE || k == OperationKind.ONLINE || k == OperationKind.OFFLINE;
                String group = onGroup ? group(y, m, f, groups, n) : null;
                HostRef host = onGroup ? null : hostRef(y, m, "host", f, groups, n);
                HostRef to = null;
                String mode = null;
                if (k == OperationKind.MOVE) {
                    to = hostRef(y, m, "to", f, groups, n);
                    mode = m.containsKey("mode") ? y.text(m, "mode", f + ".mode", null) : "live";
                    pick(y, m.get("mode"), f + ".mode", mode, new String[] {"live", "quick", "offline"}, x -> x);
                }
                boolean failback = y.bool(m, "failback", f + ".failback", false);
                refuse(y, m, f, k.word, onGroup ? "host" : "group", k == OperationKind.MOVE ? null : "to",
                        k == OperationKind.MOVE ? null : "mode", k == OperationKind.RESUME ? null : "failback");
                return new Operation(line, label != null ? label : k.word + " " + (group != null ? group : host)
                        + (to != null ? " to " + to + " (" + mode + ")" : ""), k, group, host, to, mode, failback);
            }
            case "wait" -> {
                if (!groups.contains(word)) {
                    throw y.error(m.get(kind), f + ".wait", "unknown group '" + word + "' (groups: "
                            + String.join(", ", groups) + ")");
                }
                String phase = m.containsKey("phase") ? y.text(m, "phase", f + ".phase", null) : "online";
                pick(y, m.get("phase"), f + ".phase", phase, GroupPhase.values(), GroupPhase::word);
                HostRef on = m.containsKey("on") ? hostRef(y, m, "on", f, groups, n) : null;
                HostRef notOn = m.containsKey("notOn") ? hostRef(y, m, "notOn", f, groups, n) : null;
                if (on != null && notOn != null) {
                    throw y.error(m.get("notOn"), f + ".notOn", "give on or notOn, not both");
                }
                Duration within = window(y, m, "within", f, n);
                return new Wait(line, label != null ? label : word + " " + phase + (on != null ? " on " + on
                        : notOn != null ? " not on " + notOn : "") + " within " + secs(within), word, phase, on,
                        notOn, within);
            }
            case "check" -> {
                CheckKind k = pick(y, m.get(kind), f + ".check", word, CheckKind.values(), x -> x.word);
                String group = group(y, m, f, groups, n);
                HostRef host = k == CheckKind.RUNS_ON || k == CheckKind.NOT_ON ? hostRef(y, m, "host", f, groups, n)
                        : null;
                Duration within = k == CheckKind.RECOVERY || k == CheckKind.QUIET ? window(y, m, "within", f, n) : null;
                int count = k == CheckKind.BOOTS ? (int) y.integer(m, "count", f + ".count", 1, 1, 100) : 0;
                refuse(y, m, f, k.word, host == null ? "host" : null, within == null ? "within" : null,
                        k == CheckKind.BOOTS ? null : "count");
                String what = switch (k) {
                    case RUNS_ON -> group + " runs on " + host;
                    case NOT_ON -> group + " does not run on " + host;
                    case RAN_ONCE -> group + " ran exactly once the whole time";
                    case RECOVERY -> group + " recovered within " + secs(within) + " of the last fault";
                    case QUIET -> group + " has no transition for " + secs(within);
                    case BOOTS -> group + "'s VM booted " + count + " time" + (count == 1 ? "" : "s") + " in all";
                    case DISK_SURVIVED -> group + "'s disk content survived";
                    case TICKS -> group + "'s guest worked on without a gap (its console's ticks)";
                };
                return new Check(line, label != null ? label : what, k, group, host, within, count);
            }
            default -> {
                Duration d = window(y, m, "pause", f, n);
                return new Pause(line, label != null ? label : "pause " + secs(d), d);
            }
        }
    }

    private static String secs(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /** A field that the step's kind does not take, named as such. */
    private static void refuse(Yaml y, Map<String, Node> m, String f, String kind, String... fields) {
        for (String x : fields) {
            if (x != null && m.containsKey(x)) {
                throw y.error(m.get(x), f + "." + x, "not used by '" + kind + "'");
            }
        }
    }

    private static Duration window(Yaml y, Map<String, Node> m, String key, String f, Node at) {
        if (!m.containsKey(key)) {
            throw y.error(at, f + "." + key, "is required (a duration, e.g. 30s)");
        }
        return y.duration(m, key, f + "." + key, null, false, Duration.ofMillis(1), LONGEST);
    }

    private static String group(Yaml y, Map<String, Node> m, String f, Set<String> groups, Node at) {
        if (!m.containsKey("group")) {
            throw y.error(at, f + ".group", "is required (groups: " + String.join(", ", groups) + ")");
        }
        String g = y.text(m, "group", f + ".group", null);
        if (!groups.contains(g)) {
            throw y.error(m.get("group"), f + ".group", "unknown group '" + g + "' (groups: " + String.join(", ", groups)
                    + ")");
        }
        return g;
    }

    private static final String HOST_FORMS = "a host name, {ownerOf: GROUP}, {coordinator: true} or {lastFaulted: true}";

    /** A host: its name, {ownerOf: GROUP}, {coordinator: true} or {lastFaulted: true} (decided when the step starts). */
    private static HostRef hostRef(Yaml y, Map<String, Node> m, String key, String f, Set<String> groups, Node at) {
        Node n = m.get(key);
        String field = f + "." + key;
        if (n == null) {
            throw y.error(at, field, "is required: " + HOST_FORMS);
        }
        if (n instanceof MappingNode) {
            Map<String, Node> o = y.mapping(n, field, Set.of("ownerOf", HostRef.COORDINATOR, HostRef.LAST_FAULTED));
            if (o.size() != 1) {
                throw y.error(n, field, "needs exactly one of ownerOf, coordinator, lastFaulted (" + HOST_FORMS + ")");
            }
            String k = o.keySet().iterator().next();
            if (!k.equals("ownerOf")) {
                if (!y.bool(o, k, field + "." + k, false)) {
                    throw y.error(o.get(k), field + "." + k, "must be true (" + HOST_FORMS + ")");
                }
                return new HostRef(null, null, k);
            }
            String g = y.required(o, "ownerOf", field + ".ownerOf", n);
            if (!groups.contains(g)) {
                throw y.error(o.get("ownerOf"), field + ".ownerOf", "unknown group '" + g + "' (groups: "
                        + String.join(", ", groups) + ")");
            }
            return HostRef.ownerOf(g);
        }
        String h = y.scalar(n, field);
        ClusterConfigLoader.checkName(y, n, field, h);
        return HostRef.named(h);
    }

    private static <T> T pick(Yaml y, Node at, String field, String word, T[] values,
            java.util.function.Function<T, String> name) {
        for (T v : values) {
            if (name.apply(v).equals(word)) {
                return v;
            }
        }
        throw y.error(at, field, "'" + word + "' is not allowed (allowed: "
                + String.join(", ", Arrays.stream(values).map(name).toList()) + ")");
    }
}
