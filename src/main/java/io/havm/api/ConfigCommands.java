package io.havm.api;

import com.github.difflib.DiffUtils;
import com.github.difflib.UnifiedDiffUtils;
import io.havm.config.BootstrapLoader;
import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.engine.ConfigStore;
import io.havm.model.Bootstrap;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.policy.ClusterState;
import io.havm.policy.ConfigChange;
import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.havm.util.Args;
import io.havm.util.Json;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The configuration in the cluster store: {@code havm cluster init}, {@code havm config apply |
 * show | diff | history | rollback}. A configuration is stored whole (the main file and its
 * fragments), each change as a new version; agents follow it live.
 */
final class ConfigCommands {
    private final PrintStream out;
    private final PrintStream err;

    ConfigCommands(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Where the cluster is: the bootstrap file's ZooKeeper and cluster, or the given cluster.yaml's. */
    static ZkCoordination connect(Args a, ClusterSpec fromFile, String file) {
        if (a.get("--bootstrap") != null || fromFile == null || fromFile.zookeeper() == null) {
            Path b = a.get("--bootstrap") != null ? Path.of(a.get("--bootstrap")) : Bootstrap.DEFAULT_FILE;
            Bootstrap boot = BootstrapLoader.load(b);
            if (fromFile != null && !fromFile.name().equals(boot.cluster())) {
                throw new InvalidInputException(file + ": cluster.name", "is '" + fromFile.name() + "' but " + b
                        + " says this host's cluster is '" + boot.cluster() + "'");
            }
            return ClusterCommands.connect(boot);
        }
        return ClusterCommands.connect(fromFile, file);
    }

    static String by() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "localhost";
        }
        return System.getProperty("user.name", "?") + "@" + host;
    }

    /** havm cluster init | secure */
    int cluster(List<String> args) {
        if (!args.isEmpty() && args.get(0).equals("secure")) {
            return secure(args.subList(1, args.size()));
        }
        return init(args);
    }

    /**
     * havm cluster secure [--bootstrap B]: locks an existing open tree with the bootstrap file's
     * credentials (every host must have them first: clients without lose every access).
     */
    private int secure(List<String> args) {
        String usage = "havm cluster secure [--bootstrap FILE] [--json]";
        Args a = Args.parse("havm cluster secure", args, Set.of("--bootstrap"), Set.of("--json"), 0, usage);
        Path b = a.get("--bootstrap") != null ? Path.of(a.get("--bootstrap")) : Bootstrap.DEFAULT_FILE;
        Bootstrap boot = BootstrapLoader.load(b);
        if (boot.credentials() == null) {
            throw new InvalidInputException(b + ": credentials", "is required to secure the cluster (a root-only file"
                    + " holding user:password)");
        }
        int n = ZkCoordination.secure(boot.connectString(), boot.root(), ClusterCommands.credentials(boot),
                boot.sessionTimeout());
        if (a.flag("--json")) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("cluster", boot.cluster());
            doc.put("root", boot.root());
            doc.put("znodesSecured", n);
            out.println(Json.write(doc));
            return 0;
        }
        out.println("secured cluster " + boot.cluster() + ": " + n + " znode(s) given the cluster's ACL; clients without"
                + " its credentials can read and change nothing");
        return 0;
    }

    /** havm cluster init --config F [--bootstrap B] [--replace] [--comment C] */
    int init(List<String> args) {
        String usage = "havm cluster init --config cluster.yaml [--bootstrap FILE] [--replace] [--comment TEXT] [--json]"
                + " | havm cluster secure [--bootstrap FILE] [--json]";
        if (args.isEmpty() || !args.get(0).equals("init")) {
            throw new InvalidInputException("havm cluster", "expected 'init' or 'secure' (usage: " + usage + ")");
        }
        Args a = Args.parse("havm cluster init", args.subList(1, args.size()), Set.of("--config", "--bootstrap",
                "--comment"), Set.of("--replace", "--json"), 0, usage);
        String file = a.require("havm cluster init", "--config", usage);
        boolean json = a.flag("--json");
        Map<String, String> files = ClusterConfigLoader.files(Path.of(file));
        ClusterConfigLoader.Loaded loaded = ClusterConfigLoader.load(Path.of(file)).forRealHosts();
        if (!json) {
            loaded.warnings().forEach(w -> err.println("warning: " + w));
        }
        try (ZkCoordination zk = connect(a, loaded.spec(), file)) {
            ConfigStore cs = new ConfigStore(zk);
            Optional<Long> cur = cs.currentNumber();
            if (cur.isPresent() && !a.flag("--replace")) {
                throw new InvalidInputException("havm cluster init", "cluster '" + loaded.spec().name()
                        + "' already has configuration version " + cur.get() + " (change it with havm config apply "
                        + file + "; replace it whole, with every agent stopped, with --replace)");
            }
            if (cur.isPresent() && !zk.members().isEmpty()) {
                throw new InvalidInputException("havm cluster init --replace", "agents still run on "
                        + String.join(", ", zk.members()) + ": stop them first, or change the configuration live"
                        + " with havm config apply " + file);
            }
            String comment = a.get("--comment") != null ? a.get("--comment")
                    : cur.isPresent() ? "replaced with every agent stopped" : "cluster init";
            ConfigStore.Meta m = cs.store(files, cur.orElse(0L), by(), comment, Instant.now());
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("cluster", loaded.spec().name());
                doc.put("version", m.version());
                doc.put("replaced", cur.orElse(null));
                doc.put("files", List.copyOf(files.keySet()));
                doc.put("bytes", m.bytes());
                doc.put("comment", comment);
                doc.put("warnings", loaded.warnings());
                out.println(Json.write(doc));
                return 0;
            }
            out.println("stored configuration version " + m.version() + " of cluster " + loaded.spec().name() + " ("
                    + files.size() + " file(s), " + m.bytes() + " bytes compressed); agents start from it: havm agent"
                    + " --bootstrap /etc/havm/agent.yaml");
            return 0;
        }
    }

    int run(List<String> args) {
        String sub = args.get(0);
        List<String> rest = args.subList(1, args.size());
        return switch (sub) {
            case "apply" -> apply(rest, null);
            case "rollback" -> rollback(rest);
            case "show" -> show(rest);
            case "diff" -> diff(rest);
            case "history" -> history(rest);
            default -> throw new InvalidInputException("havm config", "unknown subcommand '" + sub
                    + "' (allowed: check, apply, diff, show, history, rollback)");
        };
    }

    /** havm config apply FILE [--force] [--dry-run] [--comment C] [--bootstrap B] */
    private int apply(List<String> args, ConfigStore.Version rollbackTo) {
        String usage = rollbackTo == null
                ? "havm config apply cluster.yaml [--force] [--dry-run] [--comment TEXT] [--json] [--bootstrap FILE]"
                : "havm config rollback N [--force] [--dry-run] [--comment TEXT] [--json] [--bootstrap FILE]";
        String command = rollbackTo == null ? "havm config apply" : "havm config rollback";
        Args a = Args.parse(command, args, Set.of("--comment", "--bootstrap"), Set.of("--force", "--dry-run", "--json"),
                1, usage);
        return applyParsed(a, command, rollbackTo);
    }

    private int applyParsed(Args a, String command, ConfigStore.Version rollbackTo) {
        Map<String, String> files;
        ClusterConfigLoader.Loaded loaded;
        String source;
        ZkCoordination zk;
        if (rollbackTo == null) {
            source = a.positional.get(0);
            files = ClusterConfigLoader.files(Path.of(source));
            loaded = ClusterConfigLoader.load(Path.of(source)).forRealHosts();
            zk = connect(a, loaded.spec(), source);
        } else {
            source = "version " + rollbackTo.number();
            files = rollbackTo.files();
            loaded = ClusterConfigLoader.parse(files);
            zk = null;
        }
        try (ZkCoordination c = zk != null ? zk : connectForReading(a)) {
            boolean json = a.flag("--json");
            Map<String, Object> doc = store(c, a, command, source, files, loaded, json);
            if (json) {
                out.println(Json.write(doc));
            }
            return 0;
        }
    }

    /**
     * Checks {@code files} against the version in force and stores them as the next version. In text
     * it says the diff, notes, effects and outcome on stdout as it goes (warnings on stderr); with
     * {@code json} it prints nothing and all of that is in the document it returns (source, was,
     * version, stored, dryRun, changes, notes, effects, forced, warnings, comment). A refusal throws.
     */
    private Map<String, Object> store(ZkCoordination zk, Args a, String command, String source,
            Map<String, String> files, ClusterConfigLoader.Loaded loaded, boolean json) {
        ConfigStore cs = new ConfigStore(zk);
        ConfigStore.Version cur = cs.current().orElseThrow(() -> new InvalidInputException(command,
                "the cluster has no configuration yet: store the first with havm cluster init --config FILE"));
        if (!json) {
            loaded.warnings().forEach(w -> err.println("warning: " + w));
        }
        List<String> notes = new ArrayList<>();
        List<String> effects = new ArrayList<>();
        List<String> forced = new ArrayList<>();
        List<FileDiff> diffs = fileDiffs(cur, files, source);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("source", source);
        doc.put("was", cur.number());
        doc.put("version", cur.number());
        doc.put("stored", false);
        doc.put("dryRun", a.flag("--dry-run"));
        doc.put("changes", changes(diffs));
        doc.put("notes", notes);
        doc.put("effects", effects);
        doc.put("forced", forced);
        doc.put("warnings", loaded.warnings());
        String diff = text(diffs);
        if (diff.isEmpty()) {
            if (!json) {
                out.println("no change: " + source + " is configuration version " + cur.number());
            }
            return doc;
        }
        if (!json) {
            out.print(diff);
        }
        for (String f : cur.files().keySet()) {
            String base = f.substring(f.lastIndexOf('/') + 1);
            if (!files.containsKey(f) && f.contains(".d/") && base.startsWith(VmImport.FRAGMENT_PREFIX)) {
                notes.add(f + " was made by havm vm import (group " + base.substring(
                        VmImport.FRAGMENT_PREFIX.length(), base.length() - ".yaml".length()) + "); " + source
                        + " lacks it, so this removes that group: to keep it, edit the version in force instead (havm"
                        + " config show --into DIR writes its files); to hand it back running, havm vm release it");
                if (!json) {
                    out.println("note: " + notes.get(notes.size() - 1));
                }
            }
        }
        ClusterSpec old = ClusterConfigLoader.parse(cur.files()).spec();
        ClusterState state = new ClusterStore(zk, "cli", Clock.SYSTEM).state().orElse(null);
        ConfigChange.Verdict v = ConfigChange.judge(old, loaded.spec(), state);
        effects.addAll(v.effects());
        if (!json) {
            v.effects().forEach(e -> out.println("will: " + e));
        }
        boolean force = a.flag("--force");
        if (!v.allowed(force)) {
            List<String> why = new ArrayList<>(v.refused());
            if (!force) {
                why.addAll(v.overridable());
            }
            throw new InvalidInputException(command + " " + source, "refused, nothing stored:\n  "
                    + String.join("\n  ", why));
        }
        if (force && !v.overridable().isEmpty()) {
            forced.addAll(v.overridable());
            if (!json) {
                v.overridable().forEach(o -> out.println("forced: " + o));
            }
        }
        if (a.flag("--dry-run")) {
            if (!json) {
                out.println("dry run: nothing stored (version " + cur.number() + " stays in force)");
            }
            return doc;
        }
        try {
            String comment = a.get("--comment") != null ? a.get("--comment")
                    : command.endsWith("rollback") ? "rollback to " + source : "apply " + source;
            ConfigStore.Meta m = cs.store(files, cur.number(), by(), comment, Instant.now());
            doc.put("version", m.version());
            doc.put("stored", true);
            doc.put("comment", comment);
            if (!json) {
                out.println("stored configuration version " + m.version() + " (was " + cur.number() + "); every agent"
                        + " applies it now, without a restart (havm events shows what the coordinator did)");
            }
            return doc;
        } catch (Coordination.ConflictException e) {
            throw new InvalidInputException(command, e.getMessage() + "; nothing stored: look again with havm config"
                    + " diff " + source);
        }
    }

    /** What {@link #putInForce} did: {@code ok} false when it could not; {@code doc} says it for --json. */
    record InForce(boolean ok, Map<String, Object> doc) {}

    /**
     * After a command changed {@code config}'s files (guest-cluster create, remove): puts them in
     * force as the next version when the cluster has a configuration in its store, with the checks
     * of {@code config apply}. Returns false (and says why) when it could not.
     */
    InForce putInForce(Path config, String why, boolean json) {
        ClusterConfigLoader.Loaded loaded = ClusterConfigLoader.load(config).forRealHosts();
        if (loaded.spec().zookeeper() == null) {
            return notStored(config + " names no cluster.zookeeper: put it in force with havm config apply " + config
                    + " --bootstrap FILE", json);
        }
        Args none = Args.parse("havm config apply", List.of(config.toString()), Set.of("--comment", "--bootstrap"),
                Set.of("--force", "--dry-run"), 1, "");
        try (ZkCoordination zk = connect(none, loaded.spec(), config.toString())) {
            ConfigStore cs = new ConfigStore(zk);
            if (cs.currentNumber().isEmpty()) {
                return notStored("the cluster has no configuration in its store yet: the first agent (or havm cluster"
                        + " init) stores this one", json);
            }
            Args a = Args.parse("havm config apply", List.of(config.toString(), "--comment", why),
                    Set.of("--comment", "--bootstrap"), Set.of("--force", "--dry-run"), 1, "");
            return new InForce(true, store(zk, a, "havm config apply", config.toString(),
                    ClusterConfigLoader.files(config), loaded, json));
        } catch (RuntimeException e) {
            err.println("  not put in force (" + e.getMessage() + "): the files are written; put them in force with"
                    + " havm config apply " + config);
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("stored", false);
            doc.put("error", e.getMessage());
            return new InForce(false, doc);
        }
    }

    private InForce notStored(String note, boolean json) {
        if (!json) {
            out.println("  " + note);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("stored", false);
        doc.put("note", note);
        return new InForce(true, doc);
    }

    /** havm config rollback N: version N's files, applied as a new version (with the same checks). */
    private int rollback(List<String> args) {
        String usage = "havm config rollback N [--force] [--dry-run] [--comment TEXT] [--json] [--bootstrap FILE |"
                + " --config cluster.yaml]";
        Args a = Args.parse("havm config rollback", args, Set.of("--comment", "--bootstrap", "--config"),
                Set.of("--force", "--dry-run", "--json"), 1, usage);
        long n = version(a.positional.get(0), "havm config rollback");
        ConfigStore.Version v;
        try (ZkCoordination zk = connectForReading(a)) {
            v = versionOrRefuse(new ConfigStore(zk), n, "havm config rollback");
        }
        return applyParsed(a, "havm config rollback", v);
    }

    private static long version(String s, String command) {
        try {
            long n = Long.parseLong(s);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new InvalidInputException(command, "'" + s + "' is not a version number (1, 2, ...: havm config history)");
    }

    private static ConfigStore.Version versionOrRefuse(ConfigStore cs, long n, String command) {
        try {
            return cs.version(n);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(command, e.getMessage());
        }
    }

    /** havm config show [--version N] [--bootstrap B | --config F] */
    private int show(List<String> args) {
        String usage = "havm config show [--version N] [--into DIR] [--json] [--bootstrap FILE | --config cluster.yaml]";
        Args a = Args.parse("havm config show", args, Set.of("--version", "--into", "--bootstrap", "--config"),
                Set.of("--json"), 0, usage);
        Path into = a.get("--into") == null ? null : Path.of(a.get("--into"));
        if (a.get("--version") != null) {
            version(a.get("--version"), "havm config show"); // bad input before any connection
        }
        if (into != null && java.nio.file.Files.exists(into)) {
            try (var l = java.nio.file.Files.list(into)) {
                if (l.findAny().isPresent()) {
                    throw new InvalidInputException("havm config show --into", into + " is not empty: name a new or"
                            + " empty directory (nothing written)");
                }
            } catch (java.io.IOException e) {
                throw new InvalidInputException("havm config show --into", into + ": " + e.getMessage());
            }
        }
        try (ZkCoordination zk = connectForReading(a)) {
            ConfigStore cs = new ConfigStore(zk);
            ConfigStore.Version v = a.get("--version") != null
                    ? versionOrRefuse(cs, version(a.get("--version"), "havm config show"), "havm config show")
                    : cs.current().orElseThrow(() -> new InvalidInputException("havm config show",
                            "the cluster has no configuration yet (havm cluster init --config FILE)"));
            if (into != null) {
                try {
                    for (Map.Entry<String, String> f : v.files().entrySet()) {
                        Path p = into.resolve(f.getKey()).normalize();
                        if (!p.startsWith(into.normalize())) {
                            throw new InvalidInputException("havm config show", "stored file name '" + f.getKey()
                                    + "' leaves " + into);
                        }
                        java.nio.file.Files.createDirectories(p.getParent());
                        java.nio.file.Files.writeString(p, f.getValue());
                    }
                } catch (java.io.IOException e) {
                    throw new InvalidInputException("havm config show --into", "cannot write into " + into + ": "
                            + e.getMessage());
                }
                out.println("wrote configuration version " + v.number() + " into " + into + " (" + v.files().size()
                        + " file(s)): edit " + into.resolve(v.mainName()) + ", then havm config apply it");
                return 0;
            }
            if (a.flag("--json")) {
                Map<String, Object> doc = new java.util.LinkedHashMap<>();
                doc.put("version", v.number());
                doc.put("main", v.mainName());
                doc.put("files", v.files());
                out.println(io.havm.util.Json.write(doc));
                return 0;
            }
            for (Map.Entry<String, String> f : v.files().entrySet()) {
                out.println("# " + f.getKey() + " (configuration version " + v.number() + ")");
                out.print(f.getValue().endsWith("\n") ? f.getValue() : f.getValue() + "\n");
            }
            return 0;
        }
    }

    /** havm config diff FILE: exit 0 when FILE is the version in force, 1 when it differs (the diff printed). */
    private int diff(List<String> args) {
        String usage = "havm config diff cluster.yaml [--version N] [--json] [--bootstrap FILE]";
        Args a = Args.parse("havm config diff", args, Set.of("--version", "--bootstrap"), Set.of("--json"), 1, usage);
        String source = a.positional.get(0);
        if (a.get("--version") != null) {
            version(a.get("--version"), "havm config diff"); // bad input before any connection
        }
        Map<String, String> files = ClusterConfigLoader.files(Path.of(source));
        ClusterConfigLoader.Loaded loaded = ClusterConfigLoader.load(Path.of(source));
        try (ZkCoordination zk = connect(a, loaded.spec(), source)) {
            ConfigStore cs = new ConfigStore(zk);
            ConfigStore.Version v = a.get("--version") != null
                    ? versionOrRefuse(cs, version(a.get("--version"), "havm config diff"), "havm config diff")
                    : cs.current().orElseThrow(() -> new InvalidInputException("havm config diff",
                            "the cluster has no configuration yet (havm cluster init --config FILE)"));
            List<FileDiff> diffs = fileDiffs(v, files, source);
            if (a.flag("--json")) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("source", source);
                doc.put("version", v.number());
                doc.put("same", diffs.isEmpty());
                doc.put("changes", changes(diffs));
                out.println(Json.write(doc));
                return diffs.isEmpty() ? 0 : 1;
            }
            String d = text(diffs);
            if (d.isEmpty()) {
                out.println("no differences: " + source + " is configuration version " + v.number());
                return 0;
            }
            out.print(d);
            return 1;
        }
    }

    /** havm config history [--json] */
    private int history(List<String> args) {
        String usage = "havm config history [--json] [--bootstrap FILE | --config cluster.yaml]";
        Args a = Args.parse("havm config history", args, Set.of("--bootstrap", "--config"), Set.of("--json"), 0, usage);
        try (ZkCoordination zk = connectForReading(a)) {
            ConfigStore cs = new ConfigStore(zk);
            List<ConfigStore.Meta> h = cs.history();
            long current = cs.currentNumber().orElse(0L);
            if (a.flag("--json")) {
                List<Map<String, Object>> list = new ArrayList<>();
                for (ConfigStore.Meta m : h) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("version", m.version());
                    e.put("at", m.at().toString());
                    e.put("by", m.by());
                    e.put("comment", m.comment());
                    e.put("inForce", m.version() == current);
                    e.put("sha256", m.sha256());
                    list.add(e);
                }
                out.println(io.havm.engine.Codec.json().valueToTree(Map.of("current", current, "versions", list)));
            } else {
                for (ConfigStore.Meta m : h) {
                    out.printf("%s %4d  %s  %s  %s%n", m.version() == current ? "*" : " ", m.version(), m.at(), m.by(),
                            m.comment());
                }
            }
            return 0;
        }
    }

    static ZkCoordination connectForReading(Args a) {
        if (a.get("--config") != null) {
            ClusterSpec spec = ClusterConfigLoader.load(Path.of(a.get("--config"))).spec();
            return connect(a, spec, a.get("--config"));
        }
        return connect(a, null, null);
    }

    /** One file's difference: its name in the files given and in the version ({@code null} where absent). */
    record FileDiff(String file, String storedFile, String change, List<String> lines) {}

    /** The unified diff of {@code diffs} as one text (empty when equal), file by file. */
    private static String text(List<FileDiff> diffs) {
        StringBuilder b = new StringBuilder();
        diffs.forEach(d -> d.lines().forEach(line -> b.append(line).append('\n')));
        return b.toString();
    }

    /** The differences as --json says them: per file, its change, lines added and removed, and its unified diff. */
    private static List<Map<String, Object>> changes(List<FileDiff> diffs) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (FileDiff d : diffs) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("file", d.file());
            c.put("storedFile", d.storedFile());
            c.put("change", d.change());
            List<String> body = d.lines().subList(Math.min(2, d.lines().size()), d.lines().size());
            c.put("linesAdded", body.stream().filter(l -> l.startsWith("+")).count());
            c.put("linesRemoved", body.stream().filter(l -> l.startsWith("-")).count());
            c.put("diff", d.lines());
            list.add(c);
        }
        return list;
    }

    /** The unified diffs from version {@code v} to {@code files}, file by file (empty when equal). */
    static List<FileDiff> fileDiffs(ConfigStore.Version v, Map<String, String> files, String source) {
        List<FileDiff> diffs = new ArrayList<>();
        // The main file is compared with the stored main file whatever either is named.
        Map<String, String> before = new LinkedHashMap<>(v.files());
        Map<String, String> after = new LinkedHashMap<>(files);
        String oldMain = v.mainName();
        String newMain = after.keySet().iterator().next();
        TreeSet<String> names = new TreeSet<>(before.keySet());
        names.addAll(after.keySet());
        names.remove(oldMain);
        names.remove(newMain);
        List<String[]> pairs = new ArrayList<>();
        pairs.add(new String[] {oldMain, newMain});
        for (String n : names) {
            pairs.add(new String[] {n, n});
        }
        for (String[] p : pairs) {
            String o = before.getOrDefault(p[0], "");
            String n = after.getOrDefault(p[1], "");
            if (o.equals(n)) {
                continue;
            }
            List<String> ol = o.isEmpty() ? List.of() : List.of(o.split("\n", -1));
            List<String> nl = n.isEmpty() ? List.of() : List.of(n.split("\n", -1));
            List<String> d = UnifiedDiffUtils.generateUnifiedDiff("version " + v.number() + "/" + p[0],
                    source.startsWith("version ") ? source + "/" + p[1] : p[1], ol, DiffUtils.diff(ol, nl), 3);
            boolean was = before.containsKey(p[0]);
            boolean is = after.containsKey(p[1]);
            diffs.add(new FileDiff(is ? p[1] : null, was ? p[0] : null, !was ? "added" : !is ? "removed" : "changed",
                    List.copyOf(d)));
        }
        return diffs;
    }
}
