package io.havm.config;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.OfflineAction;
import io.havm.model.ResourceSpec;
import io.havm.model.StorageSpec;
import io.havm.policy.Dependencies;
import io.havm.policy.Placement;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads and validates a cluster configuration (YAML): cluster (nodes, timers, fencing, ZooKeeper),
 * groups and their resources. Every error names the file, the line, the field and what is
 * allowed; a configuration whose timers race is refused with the clashing numbers.
 */
public final class ClusterConfigLoader {
    /** The largest configuration file read (characters): room for 100,000 groups. */
    static final int MAX_CODE_POINTS = 64 * 1024 * 1024;
    /** The largest configuration file read (bytes): as many as the characters allowed. */
    static final long MAX_BYTES = MAX_CODE_POINTS;
    private static final Duration HOUR = Duration.ofHours(1);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    /** window HH-HH, or with minutes (HH:MM) or seconds (HH:MM:SS) on either side. */
    private static final Pattern WINDOW = Pattern.compile(
            "window (([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9])?)?)-(([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9])?)?)");

    /** A loaded configuration and the warnings it produced (e.g. N+1 admission). */
    public record Loaded(ClusterSpec spec, List<String> warnings, List<InvalidInputException> unrunnable) {
        public Loaded(ClusterSpec spec, List<String> warnings) {
            this(spec, warnings, List.of());
        }

        /**
         * This configuration, refused if it cannot drive real hosts: a VM that names neither its
         * libvirt domain nor a definition (it could only be guessed at by its resource name), a
         * script resource with nothing to run, a group larger than every node it may run on. The
         * simulator and the policy's tests model such clusters on purpose and load them; every
         * command that puts a configuration in force or reaches hosts with it calls this first.
         */
        public Loaded forRealHosts() {
            if (!unrunnable.isEmpty()) {
                throw unrunnable.get(0);
            }
            return this;
        }
    }

    private ClusterConfigLoader() {}

    /**
     * Loads {@code file} and its fragments: every {@code *.yaml} in the directory beside it named
     * after it with {@code .d} ({@code cluster.yaml} → {@code cluster.d/}), in name order. A fragment
     * may hold {@code storage.disks} and {@code groups} (what {@code havm guest-cluster create}
     * writes); a name given twice across files is refused, naming both.
     */
    public static Loaded load(Path file) {
        List<Source> fragments = new ArrayList<>();
        for (Path f : fragmentFiles(file)) {
            fragments.add(read(f));
        }
        return parse(read(file), fragments);
    }

    /** The fragment files of {@code config}, sorted (none when the directory does not exist). */
    public static List<Path> fragmentFiles(Path config) {
        Path dir = fragmentDir(config);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".yaml") && Files.isRegularFile(p)).sorted()
                    .toList();
        } catch (IOException e) {
            throw new InvalidInputException(dir.toString(), "cannot list: " + e.getMessage());
        }
    }

    /** {@code cluster.yaml} → {@code cluster.d} beside it. */
    public static Path fragmentDir(Path config) {
        String n = config.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return config.toAbsolutePath().resolveSibling((dot > 0 ? n.substring(0, dot) : n) + ".d");
    }

    private static Source read(Path file) {
        return compose(file.toString(), InputFile.read(file, "cluster configuration", MAX_BYTES));
    }

    public static Loaded parse(String file, String text) {
        return parse(compose(file, text), List.of());
    }

    /**
     * Parses a configuration held as text (the cluster store's): the main file and its fragments
     * by name, as {@link #load} reads them from disk. Errors name the files as given.
     */
    public static Loaded parse(String file, String text, Map<String, String> fragments) {
        List<Source> f = new ArrayList<>();
        for (Map.Entry<String, String> e : fragments.entrySet()) {
            f.add(compose(e.getKey(), e.getValue()));
        }
        return parse(compose(file, text), f);
    }

    /**
     * The files of a configuration on disk as the cluster store keeps them: the main file's text
     * under its file name, then every fragment's under {@code <dir>.d/<name>}.
     */
    public static Map<String, String> files(Path file) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put(file.getFileName().toString(), readText(file));
        for (Path f : fragmentFiles(file)) {
            out.put(fragmentDir(file).getFileName() + "/" + f.getFileName(), readText(f));
        }
        return out;
    }

    /** Parses what {@link #files} gives (or the cluster store holds). */
    public static Loaded parse(Map<String, String> files) {
        var it = files.entrySet().iterator();
        Map.Entry<String, String> main = it.next();
        Map<String, String> fragments = new LinkedHashMap<>();
        it.forEachRemaining(e -> fragments.put(e.getKey(), e.getValue()));
        return parse(main.getKey(), main.getValue(), fragments);
    }

    private static String readText(Path file) {
        return InputFile.read(file, "cluster configuration", MAX_BYTES);
    }

    /** A parsed file: its node tree and the reader that names it in errors. */
    record Source(Yaml y, Node root) {}

    /**
     * Composes one YAML document, with the loader's limits; every parse error named by file and
     * line. Only SnakeYAML's node tree is built, never Java objects: a tag such as
     * {@code !!java.lang.ProcessBuilder} is a node's tag here, read by nobody.
     */
    static Source compose(String file, String text) {
        Yaml y = new Yaml(file);
        try {
            return new Source(y, new org.yaml.snakeyaml.Yaml(options()).compose(new StringReader(text)));
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
            throw new InvalidInputException(file + ":" + line, "malformed YAML: " + e.getProblem());
        } catch (org.yaml.snakeyaml.error.YAMLException e) {
            throw YamlLimits.explain(file, text, options(), e);
        } catch (StackOverflowError e) {
            throw new InvalidInputException(file, "is nested too deeply to read (at most "
                    + options().getNestingDepthLimit() + " levels of lists and mappings are allowed)");
        }
    }

    private static LoaderOptions options() {
        LoaderOptions opts = new LoaderOptions();
        opts.setAllowDuplicateKeys(true); // we report duplicates ourselves, with the line
        // 20,000 groups are some 4 MiB of YAML: well above SnakeYAML's default 3 MiB.
        opts.setCodePointLimit(MAX_CODE_POINTS);
        return opts;
    }

    private static Loaded parse(Source main, List<Source> fragments) {
        Yaml y = main.y();
        String file = y.file;
        Node root = main.root();
        if (root == null) {
            throw new InvalidInputException(file, "is empty: needs 'cluster' and 'groups'");
        }
        Map<String, Node> top = y.mapping(root, "", Set.of("cluster", "storage", "groups"));
        if (!top.containsKey("cluster")) {
            throw y.error(root, "cluster", "is required");
        }
        Map<String, Node> c = y.mapping(top.get("cluster"), "cluster", Set.of("name", "zookeeper", "admission",
                "migrationsPerHost", "migration", "timers", "nodes", "heartbeat", "watchdog", "timeZone", "api"));
        String name = y.text(c, "name", "cluster.name", "havm");
        checkName(y, c.get("name"), "cluster.name", name);
        String zk = zookeeper(y, c);
        java.time.ZoneId zone = timeZone(y, c);
        String adm = y.text(c, "admission", "cluster.admission", "warn");
        if (!adm.equals("warn") && !adm.equals("refuse")) {
            throw y.error(c.get("admission"), "cluster.admission", "'" + adm + "' is not allowed (allowed: warn, refuse)");
        }
        int migrations = (int) y.integer(c, "migrationsPerHost", "cluster.migrationsPerHost", 1, 1, 16);
        boolean migrationTls = migrationTls(y, c.get("migration"));
        ClusterSpec.Timers timers = timers(y, c.get("timers"));
        if (!c.containsKey("nodes")) {
            throw y.error(top.get("cluster"), "cluster.nodes", "is required: at least one node");
        }
        List<ClusterSpec.NodeSpec> nodes = new ArrayList<>();
        Map<String, Node> nodeApis = new LinkedHashMap<>();
        for (Node n : y.sequence(c.get("nodes"), "cluster.nodes")) {
            nodes.add(node(y, n, nodes, nodeApis));
        }
        if (nodes.isEmpty()) {
            throw y.error(c.get("nodes"), "cluster.nodes", "needs at least one node");
        }
        List<String> nodeNames = nodes.stream().map(ClusterSpec.NodeSpec::name).toList();
        StorageParts storage = new StorageParts();
        if (top.containsKey("storage")) {
            storage.main(y, top.get("storage"));
        }
        Map<String, Node> fragmentGroups = new LinkedHashMap<>();
        Map<String, Yaml> groupFile = new TreeMap<>();
        for (Source f : fragments) {
            if (f.root() == null) {
                continue;
            }
            Map<String, Node> ft = f.y().mapping(f.root(), "", Set.of("storage", "groups"));
            if (ft.containsKey("storage")) {
                storage.fragment(f.y(), ft.get("storage"));
            }
            if (ft.containsKey("groups")) {
                for (Map.Entry<String, Node> e : f.y().mapping(ft.get("groups"), "groups", null).entrySet()) {
                    fragmentGroups.put(e.getKey(), e.getValue());
                    Yaml before = groupFile.put(e.getKey(), f.y());
                    if (before != null) {
                        throw f.y().error(e.getValue(), "groups." + e.getKey(), "is also defined in " + before.file);
                    }
                }
            }
        }
        StorageSpec st = storage.build();
        Map<String, GroupSpec> groups = new TreeMap<>();
        Map<String, Node> groupNodes = new TreeMap<>(fragmentGroups);
        if (top.containsKey("groups")) {
            for (Map.Entry<String, Node> e : y.mapping(top.get("groups"), "groups", null).entrySet()) {
                groupNodes.put(e.getKey(), e.getValue());
                if (groupFile.containsKey(e.getKey())) {
                    throw y.error(e.getValue(), "groups." + e.getKey(), "is also defined in "
                            + groupFile.get(e.getKey()).file);
                }
                groups.put(e.getKey(), group(y, e.getKey(), e.getValue(), nodeNames, st, zone));
            }
        }
        for (Map.Entry<String, Node> e : fragmentGroups.entrySet()) {
            groups.put(e.getKey(), group(groupFile.get(e.getKey()), e.getKey(), e.getValue(), nodeNames, st, zone));
        }
        DiskUse.check(groups, st, y, groupFile, groupNodes);
        List<InvalidInputException> unrunnable = VmChecks.check(groups, nodes, timers, y, groupFile, groupNodes);
        ClusterSpec.Heartbeat heartbeat = heartbeat(y, c.get("heartbeat"), st, groups);
        ClusterSpec.WatchdogSpec watchdog = watchdog(y, c.get("watchdog"));
        io.havm.model.ApiSpec api = ApiConfig.api(y, c.get("api"), nodes, nodeApis);
        ClusterSpec spec = new ClusterSpec(name, nodes, groups, timers, zk,
                adm.equals("warn") ? ClusterSpec.Admission.WARN : ClusterSpec.Admission.REFUSE, migrations, st,
                heartbeat, watchdog, migrationTls, api);
        List<String> clashes = spec.clashes();
        if (!clashes.isEmpty()) {
            // The line of the timers (or of the cluster, when every timer is a default).
            Node at = c.containsKey("timers") ? c.get("timers") : top.get("cluster");
            throw new InvalidInputException(file + ":" + (at.getStartMark().getLine() + 1), "timers race: "
                    + String.join("; ", clashes));
        }
        List<String> warnings = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : Placement.admission(spec).entrySet()) {
            warnings.add("N+1: losing " + e.getKey() + " leaves " + String.join(", ", e.getValue())
                    + " nowhere to run");
        }
        if (!warnings.isEmpty() && spec.admission() == ClusterSpec.Admission.REFUSE) {
            throw new InvalidInputException(file, "admission refused (cluster.admission: refuse): "
                    + String.join("; ", warnings));
        }
        warnings.addAll(spec.cautions());
        return new Loaded(spec, warnings, List.copyOf(unrunnable));
    }

    static void checkName(Yaml y, Node at, String field, String v) {
        if (!NAME.matcher(v).matches()) {
            throw y.error(at, field, "'" + v + "' is not a valid name (letters, digits, '_', '.', '-'; 1-64 characters)");
        }
    }

    /**
     * {@code cluster.migration: {tls: true}}: live migrations send the guest's memory over QEMU's
     * native TLS (VIR_MIGRATE_TLS), with the certificates of each host's qemu.conf
     * {@code migrate_tls_x509_cert_dir}. Default false.
     */
    private static boolean migrationTls(Yaml y, Node n) {
        if (n == null) {
            return false;
        }
        Map<String, Node> m = y.mapping(n, "cluster.migration", Set.of("tls"));
        return y.bool(m, "tls", "cluster.migration.tls", false);
    }

    private static ClusterSpec.Timers timers(Yaml y, Node n) {
        Map<String, Node> t = n == null ? Map.of() : y.mapping(n, "cluster.timers", Set.of("sessionTimeout",
                "zkTickTime", "selfFenceAfter", "selfFenceDuration", "safetyMargin", "recoveryWithoutFence",
                "fenceRetry", "perVmOverheadMiB", "startupGrace"));
        String p = "cluster.timers.";
        return new ClusterSpec.Timers(
                // ZooKeeper's own bounds: the bootstrap file's sessionTimeout (2s..2m), which must equal
                // this one, and a tick a server accepts; the others are budgets counted in seconds.
                y.duration(t, "sessionTimeout", p + "sessionTimeout", Duration.ofSeconds(3), false,
                        Duration.ofSeconds(2), Duration.ofMinutes(2)),
                y.duration(t, "zkTickTime", p + "zkTickTime", Duration.ofMillis(500), false, Duration.ofMillis(100),
                        Duration.ofSeconds(10)),
                y.duration(t, "selfFenceAfter", p + "selfFenceAfter", Duration.ZERO, false, Duration.ZERO, HOUR),
                y.duration(t, "selfFenceDuration", p + "selfFenceDuration", Duration.ofSeconds(2), false,
                        Duration.ZERO, HOUR),
                y.duration(t, "safetyMargin", p + "safetyMargin", Duration.ofSeconds(1), false, Duration.ZERO, HOUR),
                y.duration(t, "recoveryWithoutFence", p + "recoveryWithoutFence", Duration.ofSeconds(3), true,
                        Duration.ZERO, Duration.ofDays(1)),
                y.duration(t, "fenceRetry", p + "fenceRetry", Duration.ofSeconds(2), false, Duration.ofMillis(100),
                        HOUR),
                y.integer(t, "perVmOverheadMiB", p + "perVmOverheadMiB", 64, 0, 1 << 20),
                y.duration(t, "startupGrace", p + "startupGrace", Duration.ofSeconds(20), false, Duration.ZERO, HOUR));
    }

    /** cluster.heartbeat: {dir: PATH} or {pool: ISCSI-POOL, lun: N}, plus interval, timeout, clockSkew. */
    private static ClusterSpec.Heartbeat heartbeat(Yaml y, Node n, StorageSpec st, Map<String, GroupSpec> groups) {
        if (n == null) {
            return null;
        }
        String f = "cluster.heartbeat";
        Map<String, Node> m = y.mapping(n, f, Set.of("dir", "pool", "lun", "interval", "timeout", "clockSkew"));
        String dir = m.containsKey("dir") ? y.text(m, "dir", f + ".dir", null) : null;
        String pool = m.containsKey("pool") ? y.text(m, "pool", f + ".pool", null) : null;
        if ((dir == null) == (pool == null)) {
            throw y.error(n, f, "needs exactly one of 'dir' (a directory on shared storage every node mounts) or"
                    + " 'pool' with 'lun' (an iscsi pool's LUN)");
        }
        int lun = 0;
        if (dir != null) {
            if (!dir.startsWith("/")) {
                throw y.error(m.get("dir"), f + ".dir", "'" + dir + "' is not an absolute path");
            }
            if (m.containsKey("lun")) {
                throw y.error(m.get("lun"), f + ".lun", "goes with 'pool', not with 'dir'");
            }
        } else {
            StorageSpec.Pool p = st.pool(pool).orElseThrow(() -> y.error(m.get("pool"), f + ".pool", "'" + pool
                    + "' is not a pool of storage.pools (pools: " + String.join(", ", st.pools().keySet()) + ")"));
            if (!(p instanceof StorageSpec.Iscsi iscsi)) {
                throw y.error(m.get("pool"), f + ".pool", "'" + pool + "' is a " + p.type()
                        + " pool; a pool for heartbeats must be iscsi (for a shared directory use 'dir')");
            }
            if (!m.containsKey("lun")) {
                throw y.error(n, f + ".lun", "is required with 'pool' (allowed: " + iscsi.luns() + ")");
            }
            lun = (int) y.integer(m, "lun", f + ".lun", 0, 0, 16383);
            if (!iscsi.luns().contains(lun)) {
                throw y.error(m.get("lun"), f + ".lun", "LUN " + lun + " is not one of pool " + pool + "'s LUNs "
                        + iscsi.luns());
            }
            for (StorageSpec.Disk d : st.disks().values()) {
                if (pool.equals(d.pool()) && d.lun() != null && d.lun() == lun) {
                    throw y.error(m.get("lun"), f + ".lun", "LUN " + lun + " is disk " + d.name()
                            + "'s: heartbeats need a LUN of their own");
                }
            }
        }
        Duration interval = y.duration(m, "interval", f + ".interval", Duration.ofMillis(500), false,
                Duration.ofMillis(100), Duration.ofMinutes(1));
        return new ClusterSpec.Heartbeat(dir, pool, lun, interval,
                y.duration(m, "timeout", f + ".timeout", Duration.ofSeconds(2), false, Duration.ofMillis(100),
                        Duration.ofMinutes(10)),
                y.duration(m, "clockSkew", f + ".clockSkew", Duration.ofMillis(500), false, Duration.ZERO,
                        Duration.ofMinutes(1)));
    }

    /** cluster.watchdog: {device: /dev/watchdog, timeout: 10s}; '{node}' in device is the node's name. */
    private static ClusterSpec.WatchdogSpec watchdog(Yaml y, Node n) {
        if (n == null) {
            return null;
        }
        String f = "cluster.watchdog";
        Map<String, Node> m = y.mapping(n, f, Set.of("device", "timeout"));
        String device = y.text(m, "device", f + ".device", "/dev/watchdog");
        if (!device.startsWith("/")) {
            throw y.error(m.get("device"), f + ".device", "'" + device + "' is not an absolute path (e.g. /dev/watchdog)");
        }
        Duration timeout = y.duration(m, "timeout", f + ".timeout", Duration.ofSeconds(10), false);
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(Duration.ofSeconds(600)) > 0) {
            throw y.error(m.get("timeout"), f + ".timeout", "must be between 1s and 600s (Linux watchdogs count whole seconds)");
        }
        return new ClusterSpec.WatchdogSpec(device, timeout);
    }

    private static ClusterSpec.NodeSpec node(Yaml y, Node n, List<ClusterSpec.NodeSpec> before, Map<String, Node> apis) {
        Map<String, Node> m = y.mapping(n, "cluster.nodes[]", Set.of("name", "uri", "memoryMiB", "fencing", "api"));
        String name = y.required(m, "name", "cluster.nodes[].name", n);
        checkName(y, m.get("name"), "cluster.nodes[].name", name);
        if (before.stream().anyMatch(b -> b.name().equals(name))) {
            throw y.error(m.get("name"), "cluster.nodes[].name", "'" + name + "' is given twice");
        }
        String f = "cluster.nodes." + name;
        String uri = y.required(m, "uri", f + ".uri", n);
        if (!uri.matches("(qemu|test)(\\+[a-z]+)?://[^ ]*")) {
            throw y.error(m.get("uri"), f + ".uri", "'" + uri + "' is not a libvirt URI (e.g. qemu+tcp://10.0.0.1/system)");
        }
        long mem = y.integer(m, "memoryMiB", f + ".memoryMiB", 4096, 128, 1L << 30);
        if (m.containsKey("api")) {
            apis.put(name, m.get("api"));
        }
        ClusterSpec.Fencing fencing = null;
        if (m.containsKey("fencing")) {
            Map<String, Node> fm = y.mapping(m.get("fencing"), f + ".fencing", Set.of("agent", "options", "timeout"));
            String agent = y.required(fm, "agent", f + ".fencing.agent", m.get("fencing"));
            if (!agent.matches("fence_[A-Za-z0-9_]+") && !agent.startsWith("/")
                    && !agent.equals(ClusterSpec.Fencing.STORAGE)) {
                throw y.error(fm.get("agent"), f + ".fencing.agent", "'" + agent
                        + "' is not a fence agent (fence_<name>, e.g. fence_ipmilan, an absolute path, or 'storage':"
                        + " a fence request on the heartbeat storage)");
            }
            Map<String, String> options = new TreeMap<>();
            Map<String, Path> files = new TreeMap<>();
            if (fm.containsKey("options")) {
                for (Map.Entry<String, Node> e : y.mapping(fm.get("options"), f + ".fencing.options", null).entrySet()) {
                    String o = f + ".fencing.options." + e.getKey();
                    if (e.getValue() instanceof org.yaml.snakeyaml.nodes.MappingNode) {
                        files.put(e.getKey(), optionFile(y, e.getValue(), o));
                        continue;
                    }
                    String v = y.scalar(e.getValue(), o);
                    if (ClusterSpec.Fencing.isSecret(e.getKey()) && !v.isEmpty()) {
                        // The value is not repeated: it is the secret.
                        throw y.error(e.getValue(), o, ClusterSpec.Fencing.clearSecretProblem(e.getKey(),
                                "/etc/havm/secrets/" + name + "-" + e.getKey()));
                    }
                    options.put(e.getKey(), v);
                }
            }
            fencing = new ClusterSpec.Fencing(agent, options,
                    y.duration(fm, "timeout", f + ".fencing.timeout", Duration.ofSeconds(30), false,
                            Duration.ofSeconds(1), HOUR), files);
        }
        return new ClusterSpec.NodeSpec(name, uri, mem, fencing);
    }

    /**
     * {@code {file: /abs/path}}: a fence option whose value the agent reads from that file when it
     * runs the fence agent (checked then, and by {@code config check}: owner only, see
     * {@code io.havm.util.Secrets}). Only the path is in the configuration.
     */
    private static Path optionFile(Yaml y, Node n, String field) {
        Map<String, Node> m = y.mapping(n, field, Set.of("file"));
        if (!m.containsKey("file")) {
            throw y.error(n, field, "a mapping here names the file that holds the value: {file: /etc/havm/secrets/NAME}");
        }
        String path = y.text(m, "file", field + ".file", null);
        if (!path.startsWith("/") || path.contains("\0")) {
            throw y.error(m.get("file"), field + ".file", "'" + path + "' is not an absolute path (a file readable by"
                    + " root only that holds the value alone on one line)");
        }
        return Path.of(path);
    }

    /** A ZooKeeper ensemble member, as a connect string names it: host:port or [IPv6]:port. */
    private static final Pattern ZK_SERVER = Pattern.compile(
            "([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+\\]):([0-9]{1,5})");
    /** ZooKeeper's chroot suffix: /path, every name non-empty. */
    private static final Pattern ZK_CHROOT = Pattern.compile("(/[A-Za-z0-9_.-]+)+");

    /**
     * {@code cluster.zookeeper}: the ensemble's connect string, given explicitly (host:port,...).
     * Absent is allowed (the simulator and {@code config check} need none); the commands that
     * connect refuse to run without it. There is no "embedded": a cluster's coordination service is
     * the operator's to name, so an agent never guesses an address.
     */
    private static String zookeeper(Yaml y, Map<String, Node> c) {
        return zookeeper(y, c, "cluster.zookeeper");
    }

    /** A ZooKeeper connect string at {@code c.zookeeper} (null when absent), checked; errors name {@code field}. */
    static String zookeeper(Yaml y, Map<String, Node> c, String field) {
        if (!c.containsKey("zookeeper")) {
            return null;
        }
        String zk = y.text(c, "zookeeper", field, null);
        String example = " (a connect string host:port[,host:port...][/chroot], e.g. 'zk1:2181,zk2:2181,zk3:2181'"
                + " or '[fd00::1]:2181/havm'; the lab's: ./havm lab status --json, zookeeper.connect)";
        if (zk.equals("embedded")) {
            throw y.error(c.get("zookeeper"), field, "'embedded' is no longer allowed: name the"
                    + " ZooKeeper servers" + example);
        }
        int slash = zk.indexOf('/');
        if (slash >= 0 && !ZK_CHROOT.matcher(zk.substring(slash)).matches()) {
            throw y.error(c.get("zookeeper"), field, "'" + zk.substring(slash) + "' is not a chroot path"
                    + example);
        }
        for (String server : (slash >= 0 ? zk.substring(0, slash) : zk).split(",", -1)) {
            Matcher m = ZK_SERVER.matcher(server.strip());
            if (!m.matches() || Integer.parseInt(m.group(3)) < 1 || Integer.parseInt(m.group(3)) > 65535) {
                throw y.error(c.get("zookeeper"), field, "'" + server + "' is not host:port with a port"
                        + " 1..65535" + example);
            }
        }
        return zk;
    }

    /**
     * {@code cluster.timeZone}: the zone failback windows are read in. Absent, the zone of the host
     * that loads the configuration, as an operator reading "window 22-06" expects.
     */
    private static java.time.ZoneId timeZone(Yaml y, Map<String, Node> c) {
        if (!c.containsKey("timeZone")) {
            return java.time.ZoneId.systemDefault();
        }
        String z = y.text(c, "timeZone", "cluster.timeZone", null);
        try {
            return java.time.ZoneId.of(z);
        } catch (java.time.DateTimeException e) {
            throw y.error(c.get("timeZone"), "cluster.timeZone", "'" + z + "' is not a time zone (a region such as"
                    + " Europe/Berlin or America/New_York, UTC, or an offset such as +01:00)");
        }
    }

    private static GroupSpec group(Yaml y, String name, Node n, List<String> nodeNames, StorageSpec st,
            java.time.ZoneId zone) {
        String f = "groups." + name;
        checkName(y, n, f, name);
        Map<String, Node> m = y.mapping(n, f, Set.of("resources", "possibleOwners", "preferredOwners", "failback",
                "priority", "antiAffinity", "failover", "autoStart"));
        List<String> possible = y.names(m, "possibleOwners", f + ".possibleOwners");
        List<String> preferred = y.names(m, "preferredOwners", f + ".preferredOwners");
        for (String o : possible) {
            if (!nodeNames.contains(o)) {
                throw y.error(m.get("possibleOwners"), f + ".possibleOwners", "unknown node '" + o + "' (nodes: "
                        + String.join(", ", nodeNames) + ")");
            }
        }
        for (String o : preferred) {
            if (!nodeNames.contains(o)) {
                throw y.error(m.get("preferredOwners"), f + ".preferredOwners", "unknown node '" + o + "' (nodes: "
                        + String.join(", ", nodeNames) + ")");
            }
            if (!possible.isEmpty() && !possible.contains(o)) {
                throw y.error(m.get("preferredOwners"), f + ".preferredOwners", "'" + o
                        + "' is not among the possible owners " + possible);
            }
        }
        String fb = y.text(m, "failback", f + ".failback", "never");
        GroupSpec.Failback failback;
        Matcher w = WINDOW.matcher(fb);
        if (fb.equals("never")) {
            failback = new GroupSpec.Failback.Never();
        } else if (fb.equals("immediate")) {
            failback = new GroupSpec.Failback.Immediate();
        } else if (w.matches()) {
            failback = new GroupSpec.Failback.Window(timeOfDay(w.group(1)), timeOfDay(w.group(5)), zone);
        } else {
            throw y.error(m.get("failback"), f + ".failback", "'" + fb
                    + "' is not allowed (allowed: never, immediate, window HH-HH e.g. window 22-06, or with minutes"
                    + " and seconds e.g. window 22:30-06:15:30)");
        }
        int priority = (int) y.integer(m, "priority", f + ".priority", 0, -1000, 1000);
        List<GroupSpec.AntiAffinity> anti = new ArrayList<>();
        if (m.containsKey("antiAffinity")) {
            for (Node a : y.sequence(m.get("antiAffinity"), f + ".antiAffinity")) {
                Map<String, Node> am = y.mapping(a, f + ".antiAffinity[]", Set.of("class", "hard"));
                anti.add(new GroupSpec.AntiAffinity(y.required(am, "class", f + ".antiAffinity[].class", a),
                        y.bool(am, "hard", f + ".antiAffinity[].hard", true)));
            }
        }
        int nodesThatMayHost = possible.isEmpty() ? nodeNames.size() : possible.size();
        int threshold = Math.max(1, nodesThatMayHost - 1); // WSFC: n-1 failovers per 6 hours
        Duration period = Duration.ofHours(6);
        if (m.containsKey("failover")) {
            Map<String, Node> fm = y.mapping(m.get("failover"), f + ".failover", Set.of("threshold", "period"));
            threshold = (int) y.integer(fm, "threshold", f + ".failover.threshold", threshold, 0, 1000);
            period = y.duration(fm, "period", f + ".failover.period", period, false, Duration.ofSeconds(1),
                    Yaml.LONGEST);
        }
        boolean autoStart = y.bool(m, "autoStart", f + ".autoStart", true);
        if (!m.containsKey("resources")) {
            throw y.error(n, f + ".resources", "is required: at least one resource");
        }
        if (y.mapping(m.get("resources"), f + ".resources", null).isEmpty()) {
            throw y.error(m.get("resources"), f + ".resources", "is empty: a group needs at least one resource");
        }
        Map<String, ResourceSpec> resources = new LinkedHashMap<>();
        for (Map.Entry<String, Node> e : y.mapping(m.get("resources"), f + ".resources", null).entrySet()) {
            resources.put(e.getKey(), resource(y, f + ".resources." + e.getKey(), e.getKey(), e.getValue(), st));
        }
        resources = DiskUse.wire(y, m.get("resources"), f, resources);
        for (ResourceSpec r : resources.values()) {
            for (String d : r.dependsOn()) {
                if (!resources.containsKey(d)) {
                    throw y.error(m.get("resources"), f + ".resources." + r.name() + ".dependsOn", "unknown resource '"
                            + d + "' (resources of " + name + ": " + String.join(", ", resources.keySet()) + ")");
                }
            }
        }
        GroupSpec g = new GroupSpec(name, resources, possible, preferred, failback, priority, anti, threshold, period,
                autoStart);
        try {
            Dependencies.onlineOrder(g);
        } catch (IllegalArgumentException e) {
            throw y.error(m.get("resources"), f + ".resources", e.getMessage());
        }
        return g;
    }

    private static ResourceSpec resource(Yaml y, String f, String name, Node n, StorageSpec st) {
        checkName(y, n, f, name);
        Map<String, Node> m = y.mapping(n, f, Set.of("type", "dependsOn", "restart", "looksAlive", "isAlive",
                "pendingTimeout", "memoryMiB", "offlineAction", "properties", "disk", "disks"));
        String t = y.text(m, "type", f + ".type", "vm");
        ResourceSpec.Type type = switch (t) {
            case "vm" -> ResourceSpec.Type.VM;
            case "script" -> ResourceSpec.Type.SCRIPT;
            case "disk" -> ResourceSpec.Type.DISK;
            default -> throw y.error(m.get("type"), f + ".type", "'" + t + "' is not allowed (allowed: vm, script, disk)");
        };
        ResourceSpec.RestartPolicy restart = new ResourceSpec.RestartPolicy(1, Duration.ofMinutes(15), true);
        if (m.containsKey("restart")) {
            Map<String, Node> rm = y.mapping(m.get("restart"), f + ".restart", Set.of("threshold", "period",
                    "affectsGroup"));
            restart = new ResourceSpec.RestartPolicy((int) y.integer(rm, "threshold", f + ".restart.threshold", 1, 0, 100),
                    y.duration(rm, "period", f + ".restart.period", Duration.ofMinutes(15), false,
                            Duration.ofSeconds(1), Yaml.LONGEST),
                    y.bool(rm, "affectsGroup", f + ".restart.affectsGroup", true));
        }
        // A zero interval would ask libvirt in a busy loop; a zero pending timeout fails every Online.
        Duration looks = y.duration(m, "looksAlive", f + ".looksAlive", Duration.ofSeconds(5), false,
                Duration.ofMillis(100), HOUR);
        Duration is = y.duration(m, "isAlive", f + ".isAlive", Duration.ofSeconds(60), false, Duration.ofMillis(100),
                Duration.ofDays(1));
        if (is.compareTo(looks) < 0) {
            throw y.error(m.get("isAlive"), f + ".isAlive", "the thorough check (" + is.toMillis()
                    + " ms) must not run more often than the cheap one (looksAlive " + looks.toMillis() + " ms)");
        }
        String oa = y.text(m, "offlineAction", f + ".offlineAction", "save");
        OfflineAction action;
        try {
            action = OfflineAction.parse(f + ".offlineAction", oa);
        } catch (InvalidInputException e) {
            throw y.error(m.get("offlineAction"), f + ".offlineAction", e.getMessage().substring(e.where().length() + 2));
        }
        Map<String, String> props = new TreeMap<>();
        if (m.containsKey("properties")) {
            Set<String> known = switch (type) {
                case VM -> VmChecks.PROPERTIES;
                case DISK -> Set.of();
                default -> null; // a script's are its agent's parameters
            };
            for (Map.Entry<String, Node> e : y.mapping(m.get("properties"), f + ".properties", known).entrySet()) {
                props.put(e.getKey(), y.scalar(e.getValue(), f + ".properties." + e.getKey()));
            }
            if (type == ResourceSpec.Type.VM) {
                VmChecks.properties(y, f + ".properties", y.mapping(m.get("properties"), f + ".properties", known));
            }
        }
        if (m.containsKey("disk")) {
            if (type != ResourceSpec.Type.DISK) {
                throw y.error(m.get("disk"), f + ".disk", "only a resource of type disk names a disk (VMs list theirs"
                        + " under disks)");
            }
            String d = y.text(m, "disk", f + ".disk", null);
            if (st.disk(d).isEmpty()) {
                throw y.error(m.get("disk"), f + ".disk", "unknown disk '" + d + "' (storage.disks: "
                        + (st.disks().isEmpty() ? "none" : String.join(", ", st.disks().keySet())) + ")");
            }
            props.put(ResourceSpec.DISK, d);
        } else if (type == ResourceSpec.Type.DISK) {
            throw y.error(n, f + ".disk", "is required: the name of a disk under storage.disks");
        }
        if (m.containsKey("disks")) {
            if (type != ResourceSpec.Type.VM) {
                throw y.error(m.get("disks"), f + ".disks", "only a VM lists disks");
            }
            List<String> ds = y.names(m, "disks", f + ".disks");
            if (ds.isEmpty() || ds.size() > 20) {
                throw y.error(m.get("disks"), f + ".disks", "between 1 and 20 disk resources are allowed, got "
                        + ds.size());
            }
            props.put(ResourceSpec.DISKS, String.join(",", ds));
        }
        long mem = y.integer(m, "memoryMiB", f + ".memoryMiB", type == ResourceSpec.Type.VM ? 512 : 0, 0, 1L << 30);
        Duration pending = type == ResourceSpec.Type.DISK ? Duration.ofSeconds(30) : Duration.ofSeconds(180);
        return new ResourceSpec(name, type, y.names(m, "dependsOn", f + ".dependsOn"), restart, looks, is,
                y.duration(m, "pendingTimeout", f + ".pendingTimeout", pending, false, Duration.ofSeconds(1),
                        Duration.ofDays(1)), mem, action, props);
    }

    /** HH, HH:MM or HH:MM:SS (already matched by {@link #WINDOW}) as a time of day. */
    private static java.time.LocalTime timeOfDay(String t) {
        return java.time.LocalTime.parse(t.length() == 2 ? t + ":00" : t);
    }
}
