package io.havm.fencing;

import io.havm.port.Fencer.Action;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.util.Secrets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * How one node is fenced: which fence agent, with which parameters, within which time budget.
 *
 * <p>The agent speaks the fence-agents stdin protocol (see {@link FenceAgentRunner}); {@code options}
 * are the {@code key=value} lines it receives besides {@code action} (e.g. {@code ip},
 * {@code username}, {@code password}, {@code plug}, {@code ssl_insecure}, {@code power_timeout}).
 * Validation here is what can be checked without running the agent; {@link FenceAgentRunner#validate}
 * also checks the options against the parameters the agent itself declares in its metadata.
 *
 * @param agent      a bare name {@code fence_xxx} (looked up as {@code /usr/sbin/fence_xxx}, where
 *                   Debian's fence-agents installs them) or an absolute path to an executable
 * @param options    parameters for the agent; never {@code action} (havm sets it per call)
 * @param timeout    the budget of one {@link FenceAgentRunner#fence} call, all agent runs included
 *                   (for OFF: the off run and the confirming status run); the agent's process tree
 *                   is killed when it is spent
 * @param actions    which agent action each havm action runs (Pacemaker's {@code pcmk_off_action}
 *                   etc.); missing entries mean the action's own name ({@code off}, {@code on},
 *                   {@code reboot}, {@code status}, {@code monitor})
 * @param confirmOff after a successful {@code off}, run {@code status} and accept only exit 2 (off)
 *                   as proof; turn off only for agents without a status action
 * @param optionFiles options whose value is read from a secret file each time the agent runs
 *                   ({@link Secrets#read}: owner only, one line), so that the configuration holds
 *                   only the path; a value read from a file is masked like a password, whatever
 *                   the option's name
 */
public record FenceDevice(String agent, Map<String, String> options, Duration timeout, Map<Action, String> actions,
        boolean confirmOff, Map<String, Path> optionFiles) {

    /** Where bare agent names are looked up: Debian's fence-agents installs {@code /usr/sbin/fence_*}. */
    public static final Path SEARCH_DIR = Path.of("/usr/sbin");
    /** Pacemaker's default {@code stonith-timeout}. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
    public static final Duration MAX_TIMEOUT = Duration.ofMinutes(10);

    private static final Pattern BARE_NAME = Pattern.compile("fence_[A-Za-z0-9_]+");
    /** fencing.py maps '-' and '_' alike; no spaces, no '=' (the FenceAgentAPI forbids both). */
    private static final Pattern OPTION_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_-]*");
    private static final Pattern ACTION_NAME = Pattern.compile("[a-z][a-z0-9_-]*");
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m)?");
    private static final List<String> CONFIG_KEYS = List.of("agent", "options", "timeout", "actions", "confirm-off");

    public FenceDevice {
        if (agent == null || agent.isBlank()) {
            throw new InvalidInputException("agent", "is required: a fence agent name like fence_ipmilan (from "
                    + SEARCH_DIR + "/fence_*) or an absolute path to an executable");
        }
        resolve(agent);
        if (options == null) {
            options = Map.of();
        }
        TreeMap<String, String> opts = new TreeMap<>();
        for (Map.Entry<String, String> e : options.entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            if (k == null || !OPTION_NAME.matcher(k).matches()) {
                throw new InvalidInputException("options." + k, "option names are a letter, then letters, digits,"
                        + " '_' or '-' (no spaces, no '='): each becomes one 'name=value' line on the agent's stdin");
            }
            String lower = k.toLowerCase(Locale.ROOT);
            if (lower.equals("action") || lower.equals("option")) {
                throw new InvalidInputException("options." + k, "is set by havm on every call; to run another"
                        + " agent action for an havm action use 'actions' (e.g. actions: {off: disable})");
            }
            if (v == null) {
                throw new InvalidInputException("options." + k, "has no value (give a string; flags take 1 or 0)");
            }
            if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
                throw new InvalidInputException("options." + k, "must be one line: a newline would end the"
                        + " 'name=value' line on the agent's stdin" + (isSecret(k) ? "" : " (value '"
                        + v.replace("\n", "\\n").replace("\r", "\\r").replace("\0", "\\0") + "')"));
            }
            opts.put(k, v);
        }
        options = Collections.unmodifiableMap(opts);
        TreeMap<String, Path> files = new TreeMap<>();
        Set<String> given = new TreeSet<>();
        opts.keySet().forEach(k -> given.add(norm(k)));
        for (Map.Entry<String, Path> e : (optionFiles == null ? Map.<String, Path>of() : optionFiles).entrySet()) {
            String k = e.getKey();
            if (k == null || !OPTION_NAME.matcher(k).matches()) {
                throw new InvalidInputException("options." + k, "option names are a letter, then letters, digits,"
                        + " '_' or '-' (no spaces, no '='): each becomes one 'name=value' line on the agent's stdin");
            }
            String lower = k.toLowerCase(Locale.ROOT);
            if (lower.equals("action") || lower.equals("option")) {
                throw new InvalidInputException("options." + k, "is set by havm on every call");
            }
            if (!given.add(norm(k))) {
                throw new InvalidInputException("options." + k, "is given twice (once in clear, once from a file)");
            }
            if (e.getValue() == null || !e.getValue().isAbsolute()) {
                throw new InvalidInputException("options." + k + ".file", "'" + e.getValue() + "' is not an absolute"
                        + " path (a file readable by root only that holds the value alone on one line)");
            }
            files.put(k, e.getValue());
        }
        optionFiles = Collections.unmodifiableMap(files);
        if (timeout == null || timeout.isNegative() || timeout.isZero() || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new InvalidInputException("timeout", "must be a positive duration of at most "
                    + MAX_TIMEOUT.toMinutes() + " min (e.g. 60s, the Pacemaker default), got " + timeout);
        }
        EnumMap<Action, String> acts = new EnumMap<>(Action.class);
        for (Action a : Action.values()) {
            acts.put(a, a.name().toLowerCase(Locale.ROOT));
        }
        if (actions != null) {
            for (Map.Entry<Action, String> e : actions.entrySet()) {
                String where = "actions." + (e.getKey() == null ? "null" : e.getKey().name().toLowerCase(Locale.ROOT));
                if (e.getKey() == null) {
                    throw new InvalidInputException(where, "is not an havm action (allowed: " + actionWords() + ")");
                }
                if (e.getValue() == null || !ACTION_NAME.matcher(e.getValue()).matches()) {
                    throw new InvalidInputException(where, "'" + e.getValue() + "' is not an agent action name"
                            + " (lower-case letters, digits, '_' or '-', e.g. off, disable)");
                }
                acts.put(e.getKey(), e.getValue());
            }
        }
        actions = Collections.unmodifiableMap(acts);
    }

    /** No option from a file. */
    public FenceDevice(String agent, Map<String, String> options, Duration timeout, Map<Action, String> actions,
            boolean confirmOff) {
        this(agent, options, timeout, actions, confirmOff, Map.of());
    }

    /** Defaults: every havm action runs the agent action of the same name; off is confirmed by status. */
    public FenceDevice(String agent, Map<String, String> options, Duration timeout) {
        this(agent, options, timeout, Map.of(), true);
    }

    /** The device a node's configuration describes (a power fence agent, not {@code storage}). */
    public static FenceDevice of(ClusterSpec.Fencing f) {
        return new FenceDevice(f.agent(), f.options(), f.timeout(), Map.of(), true, f.optionFiles());
    }

    /** The executable this device runs, checked again (it may have gone since the device was made). */
    public Path executable() {
        return resolve(agent);
    }

    /** The executable's path, not checked: what a run executes (a missing file then fails the run). */
    public Path path() {
        return agent.indexOf('/') < 0 ? SEARCH_DIR.resolve(agent) : Path.of(agent);
    }

    /** The agent's name for messages: {@code fence_redfish}, not its path. */
    public String agentName() {
        return path().getFileName().toString();
    }

    /** The agent action that {@code action} runs. */
    public String agentAction(Action action) {
        return actions.get(action);
    }

    /** Whether the option's value is a secret (password, passwd, snmp_priv_passwd, secret_key, …). */
    public static boolean isSecret(String optionName) {
        return ClusterSpec.Fencing.isSecret(optionName);
    }

    /** Every option's name, in clear or from a file. */
    public Set<String> optionNames() {
        Set<String> out = new TreeSet<>(options.keySet());
        out.addAll(optionFiles.keySet());
        return out;
    }

    /**
     * What one fence call sends: every option's value, the files read now ({@link Secrets#read});
     * and the values to mask in what the agent prints: the secret options' and every file's.
     */
    public record Resolved(Map<String, String> options, List<String> secrets) {
        /** Never prints a value. */
        @Override
        public String toString() {
            return "Resolved[options=" + options.keySet() + "]";
        }
    }

    /**
     * The options to send, the files read now (each time: a changed password takes effect at the
     * next fence, and a file made unsafe since the start is refused then).
     *
     * @throws InvalidInputException naming the option and the file, never the value
     */
    public Resolved readOptions() {
        TreeMap<String, String> all = new TreeMap<>(options);
        List<String> secrets = new java.util.ArrayList<>(secrets());
        for (Map.Entry<String, Path> e : optionFiles.entrySet()) {
            String v;
            try {
                v = Secrets.read(e.getValue());
            } catch (InvalidInputException x) {
                throw new InvalidInputException("options." + e.getKey(), x.getMessage());
            }
            all.put(e.getKey(), v);
            secrets.add(v);
        }
        return new Resolved(Collections.unmodifiableMap(all), List.copyOf(secrets));
    }

    /** Checks every option file's owner and mode now, without reading it ({@link Secrets#check}). */
    public void checkOptionFiles() {
        for (Map.Entry<String, Path> e : optionFiles.entrySet()) {
            try {
                Secrets.check(e.getValue());
            } catch (InvalidInputException x) {
                throw new InvalidInputException("options." + e.getKey(), x.getMessage());
            }
        }
    }

    static String norm(String name) {
        return name.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    /** The values of secret options: masked wherever an agent's output is shown. */
    public List<String> secrets() {
        return options.entrySet().stream().filter(e -> isSecret(e.getKey())).map(Map.Entry::getValue)
                .filter(v -> !v.isEmpty()).toList();
    }

    /** Options for the operator's eyes: secret values replaced by {@code ****}, files named, never read. */
    public String maskedOptions() {
        TreeMap<String, String> shown = new TreeMap<>();
        options.forEach((k, v) -> shown.put(k, isSecret(k) ? "****" : v));
        optionFiles.forEach((k, f) -> shown.put(k, "<file " + f + ">"));
        return shown.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "));
    }

    /** Never prints a secret (the record's generated toString would). */
    @Override
    public String toString() {
        return "FenceDevice[agent=" + agent + ", options={" + maskedOptions() + "}, timeout=" + timeout
                + ", actions=" + actions + ", confirmOff=" + confirmOff + "]";
    }

    /**
     * Reads one device from configuration (YAML mapped to Java): {@code agent} (required),
     * {@code options} (a mapping of scalars, or {@code {file: PATH}} for a value read from a secret
     * file; a secret option in clear is refused), {@code timeout} ({@code 60s}, {@code 500ms}, {@code 2m}
     * or a number of seconds; default 60 s), {@code actions} (havm action → agent action),
     * {@code confirm-off} (default true). Errors name {@code where} and the field.
     */
    public static FenceDevice fromConfig(String where, Map<String, ?> raw) {
        if (raw == null) {
            throw new InvalidInputException(where, "must be a mapping with at least 'agent' (keys: " + CONFIG_KEYS + ")");
        }
        for (String k : raw.keySet()) {
            if (!CONFIG_KEYS.contains(k)) {
                throw new InvalidInputException(where + "." + k, "unknown key (allowed: " + String.join(", ", CONFIG_KEYS) + ")");
            }
        }
        Object agent = raw.get("agent");
        if (agent != null && !(agent instanceof String)) {
            throw new InvalidInputException(where + ".agent", "must be a string, e.g. fence_ipmilan");
        }
        Map<String, String> options = new LinkedHashMap<>();
        Map<String, Path> files = new LinkedHashMap<>();
        Object rawOptions = raw.get("options");
        if (rawOptions != null) {
            if (!(rawOptions instanceof Map<?, ?> m)) {
                throw new InvalidInputException(where + ".options", "must be a mapping of name: value");
            }
            for (Map.Entry<?, ?> e : m.entrySet()) {
                Object v = e.getValue();
                String k = String.valueOf(e.getKey());
                String o = where + ".options." + k;
                if (v instanceof Map<?, ?> fm) {
                    if (fm.size() != 1 || !(fm.get("file") instanceof String f) || !f.startsWith("/")) {
                        throw new InvalidInputException(o, "a mapping here names the file that holds the value:"
                                + " {file: /etc/havm/secrets/NAME} (an absolute path)");
                    }
                    files.put(k, Path.of(f));
                    continue;
                }
                if (v instanceof Iterable) {
                    throw new InvalidInputException(o, "must be a single value or {file: PATH}, not a list");
                }
                if (v != null && isSecret(k) && !String.valueOf(v).isEmpty()) {
                    throw new InvalidInputException(o, ClusterSpec.Fencing.clearSecretProblem(k,
                            "/etc/havm/secrets/" + k));
                }
                options.put(k, v == null ? null : String.valueOf(v));
            }
        }
        Duration timeout = raw.containsKey("timeout") ? parseDuration(where + ".timeout", raw.get("timeout"))
                : DEFAULT_TIMEOUT;
        EnumMap<Action, String> actions = new EnumMap<>(Action.class);
        Object rawActions = raw.get("actions");
        if (rawActions != null) {
            if (!(rawActions instanceof Map<?, ?> m)) {
                throw new InvalidInputException(where + ".actions", "must be a mapping of havm action: agent action"
                        + " (havm actions: " + actionWords() + ")");
            }
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String k = String.valueOf(e.getKey());
                Action a = Arrays.stream(Action.values()).filter(x -> x.name().equalsIgnoreCase(k)).findFirst()
                        .orElseThrow(() -> new InvalidInputException(where + ".actions." + k,
                                "is not an havm action (allowed: " + actionWords() + ")"));
                actions.put(a, e.getValue() == null ? null : String.valueOf(e.getValue()));
            }
        }
        Object confirm = raw.containsKey("confirm-off") ? raw.get("confirm-off") : Boolean.TRUE;
        if (!(confirm instanceof Boolean)) {
            throw new InvalidInputException(where + ".confirm-off", "must be true or false, got '" + confirm + "'");
        }
        try {
            return new FenceDevice((String) agent, options, timeout, actions, (Boolean) confirm, files);
        } catch (InvalidInputException e) {
            throw new InvalidInputException(where + "." + e.where(), e.getMessage().substring(e.where().length() + 2));
        }
    }

    /** {@code 60s}, {@code 500ms}, {@code 2m}, {@code 1.5s} or a bare number of seconds. */
    static Duration parseDuration(String where, Object value) {
        Matcher m = value == null ? null : DURATION.matcher(String.valueOf(value).strip());
        if (m == null || !m.matches()) {
            throw new InvalidInputException(where, "'" + value + "' is not a duration (e.g. 60s, 500ms, 2m, or seconds)");
        }
        double n = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        long millis = Math.round(n * switch (unit) {
            case "ms" -> 1;
            case "m" -> 60_000;
            default -> 1000;
        });
        return Duration.ofMillis(millis);
    }

    private static String actionWords() {
        return Arrays.stream(Action.values()).map(a -> a.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
    }

    private static Path resolve(String agent) {
        Path exe;
        if (agent.indexOf('/') < 0) {
            if (!BARE_NAME.matcher(agent).matches()) {
                throw new InvalidInputException("agent", "'" + agent + "' is neither a fence agent name (fence_<name>,"
                        + " found as " + SEARCH_DIR + "/fence_*) nor an absolute path");
            }
            exe = SEARCH_DIR.resolve(agent);
            if (!Files.isRegularFile(exe) || !Files.isExecutable(exe)) {
                throw new InvalidInputException("agent", "'" + agent + "' not found: no executable " + exe
                        + " (installed agents: " + SEARCH_DIR + "/fence_*; Debian's fence-agents package,"
                        + " ci/install-deps)");
            }
            return exe;
        }
        exe = Path.of(agent);
        if (!exe.isAbsolute()) {
            throw new InvalidInputException("agent", "'" + agent + "' must be an absolute path or a bare name"
                    + " fence_<name> (found as " + SEARCH_DIR + "/fence_*)");
        }
        if (!Files.isRegularFile(exe) || !Files.isExecutable(exe)) {
            throw new InvalidInputException("agent", "'" + agent + "' is not an executable file (agents are looked"
                    + " up as " + SEARCH_DIR + "/fence_* or given by absolute path)");
        }
        return exe;
    }
}
