package io.havm.api;

import io.havm.util.Args;
import io.havm.port.Storage;
import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.StorageSpec;
import io.havm.storage.Luns;
import io.havm.storage.StorageCheck;
import io.havm.storage.Volumes;
import io.havm.util.Exec;
import io.havm.util.Json;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code havm storage check} and {@code havm storage create}: what an operator runs on each host
 * before the first agent starts (is the storage mounted, are the LUNs there, are the volumes what
 * the configuration says), and to make the volumes a configuration names. Exit codes: 0 fine, 1
 * problems found (each printed on one line), 2 bad input (nothing changed).
 */
final class StorageCommands {
    static final String CHECK_USAGE = "havm storage check --config cluster.yaml [--node N] [--json]";
    static final String CREATE_USAGE = "havm storage create --config cluster.yaml [--json] [DISK...]";

    private final PrintStream out;

    StorageCommands(PrintStream out) {
        this.out = out;
    }

    int main(List<String> args) {
        if (args.isEmpty()) {
            throw new InvalidInputException("havm storage", "a subcommand is required (check, create)");
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.get(0)) {
            case "check" -> check(rest);
            case "create" -> create(rest);
            default -> throw new InvalidInputException("havm storage", "unknown subcommand '" + args.get(0)
                    + "' (allowed: check, create)");
        };
    }

    private static ClusterSpec load(Args a, String command, String usage) {
        String file = a.require(command, "--config", usage);
        return ClusterConfigLoader.load(Path.of(file)).spec();
    }

    /** Checks every pool, and every disk of a group {@code --node} may own, from this host as that node. */
    private int check(List<String> args) {
        Args a = Args.parse("havm storage check", args, Set.of("--config", "--node"), Set.of("--json"), 0,
                CHECK_USAGE);
        ClusterSpec spec = load(a, "havm storage check", CHECK_USAGE);
        String node = a.get("--node");
        if (node == null) {
            if (spec.nodes().size() != 1) {
                throw new InvalidInputException("havm storage check", "option --node is required: which node this"
                        + " host is decides the disks it needs (nodes: " + String.join(", ", spec.nodeNames())
                        + "; usage: " + CHECK_USAGE + ")");
            }
            node = spec.nodeNames().get(0);
        } else if (spec.node(node).isEmpty()) {
            throw new InvalidInputException("--node", "unknown node '" + node + "' (nodes: "
                    + String.join(", ", spec.nodeNames()) + ")");
        }
        List<String> groups = StorageCheck.groupsOwnableBy(spec, node);
        List<String> pools = new ArrayList<>(spec.storage().pools().keySet());
        List<String> disks = StorageCheck.disksOf(spec, groups).stream().map(StorageSpec.Disk::name).toList();
        List<Storage.Problem> problems = StorageCheck.checkAll(node, spec, groups);
        if (a.flag("--json")) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("node", node);
            doc.put("ok", problems.isEmpty());
            doc.put("pools", pools);
            doc.put("disks", disks);
            doc.put("problems", problems(problems));
            out.println(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(doc));
        } else if (problems.isEmpty()) {
            out.println("ok: " + node + ": " + (pools.isEmpty() ? "no storage pools" : "pools " + String.join(", ",
                    pools)) + "; " + (disks.isEmpty() ? "no disks for its groups" : "disks " + String.join(", ",
                    disks)));
        } else {
            problems.forEach(p -> out.println(p.message()));
        }
        return problems.isEmpty() ? 0 : 1;
    }

    /**
     * Creates the missing volumes (and lease files) of the named disks, all of them by default. All or
     * nothing: unknown names are refused before anything is looked at; every pool and every LUN is
     * checked before anything is created; a creation that fails half-way removes what this run made.
     * A LUN is never created (it is the storage administrator's): it must answer, big enough.
     */
    private int create(List<String> args) {
        Args a = Args.parse("havm storage create", args, Set.of("--config"), Set.of("--json"), Args.ANY, CREATE_USAGE);
        boolean json = a.flag("--json");
        ClusterSpec spec = load(a, "havm storage create", CREATE_USAGE);
        StorageSpec st = spec.storage();
        List<StorageSpec.Disk> disks = new ArrayList<>();
        List<String> names = a.positional.isEmpty() ? new ArrayList<>(st.disks().keySet()) : a.positional;
        for (String n : names) {
            StorageSpec.Disk d = st.disk(n).orElseThrow(() -> new InvalidInputException("havm storage create",
                    "unknown disk '" + n + "' (storage.disks: " + (st.disks().isEmpty() ? "none"
                            : String.join(", ", st.disks().keySet())) + ")"));
            if (!disks.contains(d)) {
                disks.add(d);
            }
        }
        // --json: one document at the end (ok, disks made or found, problems, failed), nothing else on stdout
        Map<String, Object> doc = new LinkedHashMap<>();
        List<Map<String, Object>> done = new ArrayList<>();
        doc.put("ok", true);
        doc.put("disks", done);
        doc.put("problems", List.of());
        if (disks.isEmpty()) {
            if (json) {
                out.println(Json.write(doc));
            } else {
                out.println("ok: no disks in the configuration");
            }
            return 0;
        }
        String here = "here";
        List<Storage.Problem> problems = new ArrayList<>();
        for (String p : disks.stream().map(StorageSpec.Disk::pool).distinct().toList()) {
            problems.addAll(StorageCheck.checkPool(here, st.pools().get(p), StorageCheck.DEFAULT_TIMEOUT));
        }
        Map<String, Long> lunSizes = new LinkedHashMap<>();
        if (problems.isEmpty()) {
            for (StorageSpec.Disk d : disks) {
                if (st.poolOf(d) instanceof StorageSpec.Iscsi is) {
                    try {
                        lunSizes.put(d.name(), Luns.capacityBytes(is, d.lun(), StorageCheck.DEFAULT_TIMEOUT));
                    } catch (Luns.Unreachable e) {
                        problems.add(new Storage.Problem(here, d.pool(), d.name(), "disk " + d.name() + ": "
                                + e.getMessage() + " (havm never creates a LUN: the storage administrator does)",
                                e.timedOut()));
                    }
                }
            }
        }
        for (StorageSpec.Disk d : disks) {
            Long size = lunSizes.get(d.name());
            if (size != null && d.sizeBytes() > 0 && size < d.sizeBytes()) {
                problems.add(new Storage.Problem(here, d.pool(), d.name(), StorageCheck.label(d) + ": LUN "
                        + d.lun() + " is " + StorageSpec.formatSize(size) + ", disk needs at least "
                        + StorageSpec.formatSize(d.sizeBytes()), false));
            }
        }
        if (!problems.isEmpty()) {
            if (json) {
                doc.put("ok", false);
                doc.put("problems", problems(problems));
                out.println(Json.write(doc));
                return 1;
            }
            problems.forEach(p -> out.println(p.message()));
            out.println("nothing created");
            return 1;
        }
        List<Path> made = new ArrayList<>();
        try {
            for (StorageSpec.Disk d : disks) {
                List<Path> files = Volumes.create(st, d);
                made.addAll(files);
                StorageSpec.Pool pool = st.poolOf(d);
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("disk", d.name());
                e.put("pool", d.pool());
                if (pool instanceof StorageSpec.SharedDir sd) {
                    Path f = d.file(sd);
                    e.put("action", files.contains(f) ? "created" : "exists");
                    e.put("file", f.toString());
                    e.put("format", d.format().word);
                    e.put("sizeBytes", d.sizeBytes() > 0 ? d.sizeBytes() : null);
                    e.put("backing", d.backing() == null ? null : d.backing().toString());
                } else {
                    e.put("action", "lun");
                    e.put("lun", ((StorageSpec.Iscsi) pool).url(d.lun()));
                    e.put("sizeBytes", lunSizes.get(d.name()));
                }
                List<String> leases = new ArrayList<>();
                for (Path f : files) {
                    if (!(pool instanceof StorageSpec.SharedDir sd && f.equals(d.file(sd)))) {
                        leases.add(f.toString());
                    }
                }
                e.put("leasesCreated", leases);
                done.add(e);
                if (json) {
                    continue;
                }
                if (pool instanceof StorageSpec.SharedDir sd) {
                    Path f = d.file(sd);
                    out.println((files.contains(f) ? "created " : "exists  ") + d.name() + ": " + f + " ("
                            + d.format().word + (d.sizeBytes() > 0 ? ", " + StorageSpec.formatSize(d.sizeBytes()) : "")
                            + (d.backing() != null ? ", backing " + d.backing() : "") + ")");
                } else {
                    out.println("lun     " + d.name() + ": " + ((StorageSpec.Iscsi) pool).url(d.lun()) + " ("
                            + StorageSpec.formatSize(lunSizes.get(d.name())) + ")");
                }
                for (Path f : files) {
                    if (!(pool instanceof StorageSpec.SharedDir sd && f.equals(d.file(sd)))) {
                        out.println("created " + d.name() + ": lease " + f);
                    }
                }
            }
        } catch (InvalidInputException | Exec.ExecFailedException | UncheckedIOException e) {
            Volumes.delete(made);
            if (e instanceof InvalidInputException) {
                throw e;
            }
            if (json) {
                doc.put("ok", false);
                doc.put("disks", List.of());
                doc.put("failed", e.getMessage());
                doc.put("removed", made.stream().map(Path::toString).toList());
                out.println(Json.write(doc));
                return 1;
            }
            out.println("failed: " + e.getMessage() + (made.isEmpty() ? "" : " (removed what this run made: "
                    + String.join(", ", made.stream().map(Path::toString).toList()) + ")"));
            return 1;
        }
        // Volumes that were there already: are they what the configuration says?
        List<Storage.Problem> after = new ArrayList<>();
        for (StorageSpec.Disk d : disks) {
            after.addAll(StorageCheck.checkDisk(here, st, d, StorageCheck.DEFAULT_TIMEOUT));
        }
        if (json) {
            doc.put("ok", after.isEmpty());
            doc.put("problems", problems(after));
            out.println(Json.write(doc));
        } else {
            after.forEach(p -> out.println(p.message()));
        }
        return after.isEmpty() ? 0 : 1;
    }

    /** Problems as --json says them (storage check and storage create). */
    private static List<Map<String, Object>> problems(List<Storage.Problem> problems) {
        List<Map<String, Object>> ps = new ArrayList<>();
        for (Storage.Problem p : problems) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pool", p.pool());
            m.put("disk", p.disk());
            m.put("timedOut", p.timedOut());
            m.put("message", p.message());
            ps.add(m);
        }
        return ps;
    }
}
