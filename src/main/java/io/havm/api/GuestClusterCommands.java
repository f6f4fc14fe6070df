package io.havm.api;

import io.havm.util.Args;
import io.havm.coordination.CoordinationException;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.port.Hypervisor;
import io.havm.guestcluster.GuestClusters;
import io.havm.libvirt.GuestImage;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.InvalidInputException;
import io.havm.storage.LunPicker;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code havm guest-cluster create|remove|list}: parses the options, hands the work to
 * {@link GuestClusters} (planning and provisioning) and prints what it did.
 *
 * <p>Create checks everything before it changes anything (bad input: exit 2, nothing made); when a
 * step fails after something was made it removes what it made (exit 1).
 */
final class GuestClusterCommands {
    static final String CREATE_USAGE = "havm guest-cluster create NAME --members N --shared-disk DNAME:SIZE"
            + " [--shared-disk ...] [--pool P] [--os-pool P] [--memory MiB] [--os-size SIZE]"
            + " [--domain-type auto|kvm|qemu] [--console-dir DIR] [--state-dir DIR] [--json] --config F";
    static final String REMOVE_USAGE = "havm guest-cluster remove NAME [--cluster-stopped] [--host-off HOST ...]"
            + " [--json] --config F";
    static final String LIST_USAGE = "havm guest-cluster list --config F [--json]";

    /**
     * The real outside world: havm's test guest, LUN sizes asked of the SAN, the cluster's state in
     * the ZooKeeper {@code cluster.zookeeper} names, and every node's libvirt.
     */
    static GuestClusters.Env realEnv(Path home) {
        return new GuestClusters.Env(() -> GuestImage.ensure(home), LunPicker.fromHere(Duration.ofSeconds(10)),
                s -> {},
                spec -> {
                    if (spec.zookeeper() == null) {
                        // Reported by remove as "cannot read the cluster's state", with nothing changed.
                        throw new CoordinationException("the configuration names no cluster.zookeeper (e.g."
                                + " zookeeper: 'zk1:2181,zk2:2181,zk3:2181')");
                    }
                    try (ZkCoordination zk = ClusterCommands.connect(spec, "the cluster configuration")) {
                        return new ClusterStore(zk, "cli", io.havm.port.Clock.SYSTEM).state();
                    }
                },
                spec -> {
                    Map<String, Hypervisor> hs = new LinkedHashMap<>();
                    spec.nodes().forEach(n -> hs.put(n.name(), new LibvirtHypervisor(n.name(), n.uri())));
                    return hs;
                });
    }

    private final PrintStream out;
    private final PrintStream err;
    private final GuestClusters clusters;

    GuestClusterCommands(Path home, PrintStream out, PrintStream err, GuestClusters.Env env) {
        this.out = out;
        this.err = err;
        this.clusters = new GuestClusters(home, env);
    }

    int run(List<String> args) {
        if (args.isEmpty()) {
            throw new InvalidInputException("havm guest-cluster", "a subcommand is required (create, remove, list)");
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.get(0)) {
            case "create" -> create(rest);
            case "remove" -> remove(rest);
            case "list" -> list(rest);
            default -> throw new InvalidInputException("havm guest-cluster", "unknown subcommand '" + args.get(0)
                    + "' (allowed: create, remove, list)");
        };
    }

    private int create(List<String> args) {
        String cmd = "havm guest-cluster create";
        Args a = Args.parse(cmd, args, Set.of("--members", "--shared-disk", "--pool", "--os-pool", "--memory",
                "--os-size", "--domain-type", "--console-dir", "--state-dir", "--config"), Set.of("--json"), 1, CREATE_USAGE);
        boolean json = a.flag("--json");
        Path config = configFile(a, cmd, CREATE_USAGE);
        GuestClusters.Plan p = clusters.plan(new GuestClusters.CreateRequest(config, a.positional.get(0),
                a.require(cmd, "--members", CREATE_USAGE), a.all("--shared-disk"), a.get("--pool"), a.get("--os-pool"),
                a.get("--memory"), a.get("--os-size"), a.get("--domain-type"), dir(a, "--console-dir"),
                dir(a, "--state-dir")));
        if (!json) {
            p.warnings().forEach(w -> err.println("warning: " + w));
        }
        try {
            clusters.create(p);
        } catch (GuestClusters.CreateFailed e) {
            err.println(cmd + ": " + p.name() + ": failed: " + e.getMessage());
            err.println(e.left.isEmpty() ? "rolled back: removed the " + e.made
                    + " files and directories it had made; the configuration is as before"
                    : "rolled back, but could not remove: " + String.join("; ", e.left));
            return 1;
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("name", p.name());
            doc.put("members", p.members().stream().map(m -> {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("group", m.group());
                e.put("prefers", m.preferred().get(0));
                e.put("definition", m.definition().toString());
                return e;
            }).toList());
            doc.put("antiAffinityClass", p.name());
            doc.put("sharedDisks", p.shared().stream().map(sh -> {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("name", sh.given());
                e.put("disk", sh.disk().name());
                e.put("pool", sh.disk().pool());
                e.put("sizeBytes", sh.disk().sizeBytes());
                if (p.storage().poolOf(sh.disk()) instanceof io.havm.model.StorageSpec.SharedDir sd) {
                    e.put("file", sh.disk().file(sd).toString());
                } else {
                    e.put("lun", sh.disk().lun());
                }
                e.put("description", GuestClusters.describe(p.storage(), sh.disk()));
                return e;
            }).toList());
            doc.put("fragment", p.fragment().toString());
            doc.put("definitions", p.defsDir().toString());
            doc.put("warnings", p.warnings());
            ConfigCommands.InForce f = new ConfigCommands(out, err).putInForce(config, "guest-cluster create " + p.name(),
                    true);
            doc.put("configuration", f.doc());
            out.println(io.havm.util.Json.write(doc));
            return f.ok() ? 0 : 1;
        }
        out.println("created guest cluster " + p.name() + ": " + p.members().size() + " members ("
                + String.join(", ", p.members().stream().map(m -> m.group() + " prefers " + m.preferred().get(0))
                        .toList()) + "), hard anti-affinity class " + p.name());
        for (GuestClusters.Shared s : p.shared()) {
            out.println("  shared disk " + s.given() + ": " + GuestClusters.describe(p.storage(), s.disk()));
        }
        out.println("  fragment " + p.fragment() + ", definitions in " + p.defsDir());
        // The cluster's configuration changes like any other: a new version, applied live by the agents.
        return new ConfigCommands(out, err).putInForce(config, "guest-cluster create " + p.name(), false).ok() ? 0 : 1;
    }

    private int remove(List<String> args) {
        String cmd = "havm guest-cluster remove";
        Args a = Args.parse(cmd, args, Set.of("--config", "--host-off"), Set.of("--cluster-stopped", "--json"), 1,
                REMOVE_USAGE);
        Path config = configFile(a, cmd, REMOVE_USAGE);
        GuestClusters.Removal r = clusters.remove(a.positional.get(0), config, a.flag("--cluster-stopped"),
                a.all("--host-off"));
        if (!r.inUse().isEmpty()) {
            err.println(cmd + ": " + r.name() + ": not removed, nothing changed:");
            r.inUse().forEach(w -> err.println("  " + w));
            return 1;
        }
        if (a.flag("--json")) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("name", r.name());
            doc.put("groups", r.groups());
            doc.put("removed", r.removed());
            doc.put("luns", r.luns().entrySet().stream().map(e -> {
                Map<String, Object> l = new LinkedHashMap<>();
                l.put("disk", e.getKey());
                l.put("pool", e.getValue().get("pool"));
                l.put("lun", e.getValue().get("lun"));
                l.put("keepsData", true);
                return l;
            }).toList());
            doc.put("clusterStopped", a.flag("--cluster-stopped"));
            ConfigCommands.InForce f = a.flag("--cluster-stopped") ? null
                    : new ConfigCommands(out, err).putInForce(config, "guest-cluster remove " + r.name(), true);
            doc.put("configuration", f == null ? Map.of("stored", false, "note", "the cluster is stopped: the first"
                    + " agent to start stores this configuration") : f.doc());
            doc.put("left", r.left());
            out.println(io.havm.util.Json.write(doc));
            if (!r.left().isEmpty()) {
                err.println(cmd + ": " + r.name() + ": could not remove: " + String.join("; ", r.left()));
                return 1;
            }
            return f == null || f.ok() ? 0 : 1;
        }
        out.println("removed guest cluster " + r.name() + ": groups " + String.join(", ", r.groups()) + "; "
                + r.removed() + " files and directories");
        r.luns().forEach((disk, d) -> out.println("  LUN " + d.get("lun") + " of pool " + d.get("pool") + " (disk "
                + disk + ") keeps its data; it is free for the next guest cluster"));
        boolean stored = a.flag("--cluster-stopped") || new ConfigCommands(out, err).putInForce(config,
                "guest-cluster remove " + r.name(), false).ok();
        if (a.flag("--cluster-stopped")) {
            out.println("  the cluster is stopped: the first agent to start stores this configuration");
        }
        if (!r.left().isEmpty()) {
            err.println(cmd + ": " + r.name() + ": could not remove: " + String.join("; ", r.left()));
            return 1;
        }
        return stored ? 0 : 1;
    }

    private int list(List<String> args) {
        Args a = Args.parse("havm guest-cluster list", args, Set.of("--config"), Set.of("--json"), 0, LIST_USAGE);
        Path config = configFile(a, "havm guest-cluster list", LIST_USAGE);
        List<GuestClusters.Listed> all = GuestClusters.list(config);
        if (a.flag("--json")) {
            out.println(io.havm.util.Json.write(java.util.Map.of("guestClusters", all.stream().map(l -> java.util.Map.of(
                    "name", l.name(), "members", l.groups(), "sharedDisks", l.shared())).toList())));
            return 0;
        }
        for (GuestClusters.Listed l : all) {
            out.println(l.name() + ": " + l.groups().size() + " members (" + String.join(", ", l.groups())
                    + "); shared disks: " + String.join(", ", l.shared()));
        }
        if (all.isEmpty()) {
            out.println("no guest clusters in " + io.havm.config.ClusterConfigLoader.fragmentDir(config));
        }
        return 0;
    }

    private static Path configFile(Args a, String cmd, String usage) {
        Path config = Path.of(a.require(cmd, "--config", usage)).toAbsolutePath().normalize();
        if (!Files.isRegularFile(config)) {
            throw new InvalidInputException("--config", config + ": no such file");
        }
        return config;
    }

    /** A directory option: absolute, and it must exist (nothing is made in a place that is not there). */
    private static Path dir(Args a, String option) {
        if (a.get(option) == null) {
            return null;
        }
        Path d = Path.of(a.get(option)).toAbsolutePath().normalize();
        if (!Files.isDirectory(d)) {
            throw new InvalidInputException(option, d + " is not a directory (give one every node reaches)");
        }
        return d;
    }
}
