package io.havm.api;

import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.engine.ConfigStore;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.ResourceSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.havm.port.DomainState;
import io.havm.util.Args;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code havm vm import DOMAIN --host H} and {@code havm vm release G}: a VM the operator runs
 * becomes an HA group where it runs, without a restart, and goes back to the operator running.
 *
 * <p>Import: every check first ({@link VmImport#plan}); then the definition is written to shared
 * storage, a handover marker ({@code handover/G = adopt:H}) is put in the cluster store, and the
 * configuration with the group's fragment is stored as the next version. The coordinator starts
 * the new group on H (an Online that finds the VM running keeps it as it is), not where placement
 * would put it. Release: the marker {@code release:H}, then the version without the fragment; the
 * coordinator drops the group without stopping it, and every agent forgets it.
 */
final class VmHandoverCommands {
    private static final Duration WAIT = Duration.ofSeconds(120);

    private final PrintStream out;
    private final PrintStream err;
    private final Clock clock = Clock.SYSTEM;

    VmHandoverCommands(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** The libvirt side of an import, through real hosts. */
    private static VmImport.Host host(LibvirtHypervisor h) {
        return new VmImport.Host() {
            @Override
            public Optional<DomainState> state(String domain) {
                return h.state(domain);
            }

            @Override
            public List<String> domains() {
                return h.domains();
            }

            @Override
            public boolean persistent(String domain) {
                return h.persistent(domain);
            }

            @Override
            public String xml(String domain, boolean inactive) {
                return h.xml(domain, inactive);
            }

            @Override
            public Optional<Boolean> networkActive(String network) {
                return h.networkActive(network);
            }

            @Override
            public long capacity(String domain, String target) {
                return h.capacity(domain, target);
            }
        };
    }

    int importVm(List<String> args) {
        String usage = "havm vm import DOMAIN --host H [--group G] [--owners N1,N2,...] [--definition-dir DIR]"
                + " [--state-dir DIR] [--dry-run] [--timeout SECONDS] [--json] [--bootstrap FILE | --config cluster.yaml]";
        Args a = Args.parse("havm vm import", args, Set.of("--host", "--group", "--owners", "--definition-dir",
                "--state-dir", "--timeout", "--bootstrap", "--config"), Set.of("--dry-run", "--json"), 1, usage);
        boolean json = a.flag("--json");
        String domain = a.positional.get(0);
        String hostName = a.require("havm vm import", "--host", usage);
        Duration wait = timeout(a, "havm vm import");
        List<String> owners = a.get("--owners") == null ? List.of()
                : List.of(a.get("--owners").split(",")).stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
        try (ZkCoordination zk = ConfigCommands.connectForReading(a)) {
            ConfigStore cs = new ConfigStore(zk);
            ConfigStore.Version cur = cs.current().orElseThrow(() -> new InvalidInputException("havm vm import",
                    "the cluster has no configuration yet: store the first with havm cluster init --config FILE"));
            ClusterSpec spec = ClusterConfigLoader.parse(cur.files()).spec();
            Map<String, LibvirtHypervisor> hvs = new TreeMap<>();
            try {
                Map<String, VmImport.Host> hosts = new TreeMap<>();
                for (ClusterSpec.NodeSpec n : spec.nodes()) {
                    LibvirtHypervisor h = new LibvirtHypervisor(n.name(), n.uri());
                    hvs.put(n.name(), h);
                    hosts.put(n.name(), host(h));
                }
                VmImport.Plan p = VmImport.plan(cur.files(), spec, domain, hostName, a.get("--group"), owners,
                        path(a.get("--definition-dir")), path(a.get("--state-dir")), hosts);
                // --json: the plan and what became of it, one document at the end
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("domain", p.domain());
                doc.put("host", p.host());
                doc.put("group", p.group());
                doc.put("fragment", p.fragmentName());
                doc.put("fragmentText", p.fragment());
                doc.put("definition", p.definition().toString());
                doc.put("notes", p.notes());
                doc.put("dryRun", a.flag("--dry-run"));
                doc.put("was", cur.number());
                doc.put("version", cur.number());
                doc.put("stored", false);
                doc.put("adopted", false);
                if (!json) {
                    p.notes().forEach(n -> out.println("note: " + n));
                    out.println("group " + p.group() + " (" + p.fragmentName() + "):");
                    p.fragment().lines().forEach(l -> out.println("  " + l));
                    out.println("definition: " + p.definition());
                }
                if (a.flag("--dry-run")) {
                    if (json) {
                        out.println(io.havm.util.Json.write(doc));
                    } else {
                        out.println("dry run: nothing written (version " + cur.number() + " stays in force)");
                    }
                    return 0;
                }
                int code = adopt(zk, cs, cur, p, wait, json ? doc : null);
                if (json) {
                    out.println(io.havm.util.Json.write(doc));
                }
                return code;
            } finally {
                hvs.values().forEach(LibvirtHypervisor::close);
            }
        }
    }

    /** Stores the group and waits for its adoption; with {@code doc} (--json) says it there, not on stdout. */
    private int adopt(ZkCoordination zk, ConfigStore cs, ConfigStore.Version cur, VmImport.Plan p, Duration wait,
            Map<String, Object> doc) {
        if (Files.exists(p.definition())) {
            throw new InvalidInputException("havm vm import " + p.domain(), p.definition() + " exists already: remove it"
                    + " or choose another directory with --definition-dir (nothing changed)");
        }
        try {
            Files.createDirectories(p.definition().getParent());
            Files.writeString(p.definition(), p.definitionXml());
        } catch (IOException e) {
            throw new InvalidInputException("havm vm import " + p.domain(), "cannot write " + p.definition() + ": "
                    + e.getMessage() + " (nothing changed)");
        }
        ClusterStore store = new ClusterStore(zk, "cli", Clock.SYSTEM);
        Map<String, String> files = new LinkedHashMap<>(cur.files());
        files.put(p.fragmentName(), p.fragment());
        ConfigStore.Meta m;
        try {
            store.putHandover(new ClusterStore.Handover(p.group(), false, p.host()));
            m = cs.store(VmImport.sorted(files), cur.number(), ConfigCommands.by(), "vm import " + p.domain() + " on "
                    + p.host() + " as group " + p.group(), clock.now());
        } catch (RuntimeException e) {
            undo(store, p.group(), p.definition());
            if (e instanceof Coordination.ConflictException) {
                throw new InvalidInputException("havm vm import " + p.domain(), "the configuration changed meanwhile ("
                        + e.getMessage() + "); nothing changed: run the command again");
            }
            throw e;
        }
        if (doc != null) {
            doc.put("version", m.version());
            doc.put("stored", true);
        } else {
            out.println("stored configuration version " + m.version() + " with group " + p.group()
                    + ": the coordinator adopts it on " + p.host() + ", where it runs");
        }
        Instant deadline = clock.now().plus(wait);
        ClusterState.Group g = null;
        while (clock.now().isBefore(deadline)) {
            g = store.stateOfGroup(p.group()).map(s -> s.groups().get(p.group())).orElse(null);
            if (g != null && g.phase() != GroupPhase.PENDING && g.phase() != GroupPhase.STARTING) {
                break;
            }
            pause();
        }
        if (g != null && g.phase() == GroupPhase.ONLINE && p.host().equals(g.node())) {
            store.clearHandover(p.group());
            if (doc != null) {
                doc.put("adopted", true);
                doc.put("phase", g.phase().word());
                doc.put("node", g.node());
                return 0;
            }
            out.println("adopted: group " + p.group() + " is online on " + p.host() + "; its VM kept running as it was");
            return 0;
        }
        if (doc != null) {
            doc.put("phase", g == null ? null : g.phase().word());
            doc.put("node", g == null ? null : g.node());
        }
        err.println("havm vm import: group " + p.group() + " is " + (g == null ? "not in the coordinator's state"
                : g.phase().word() + (g.node() == null ? "" : " on " + g.node())) + " after " + wait.toSeconds()
                + " s, not online on " + p.host() + " (is an agent running there? havm events shows why); the"
                + " group stays configured: havm vm release " + p.group() + " undoes it");
        return 1;
    }

    /** Takes back what an import wrote before its version was stored. */
    private static void undo(ClusterStore store, String group, Path definition) {
        try {
            store.clearHandover(group);
        } catch (RuntimeException ignored) {
            // a stale marker only matters to a group of that name retiring or added later: harmless
        }
        try {
            Files.deleteIfExists(definition);
        } catch (IOException ignored) {
            // said by the caller's error; the file is the operator's to remove then
        }
    }

    int release(List<String> args) {
        String usage = "havm vm release GROUP [--timeout SECONDS] [--json] [--bootstrap FILE | --config cluster.yaml]";
        Args a = Args.parse("havm vm release", args, Set.of("--timeout", "--bootstrap", "--config"), Set.of("--json"), 1,
                usage);
        boolean json = a.flag("--json");
        String group = a.positional.get(0);
        String cmd = "havm vm release " + group;
        Duration wait = timeout(a, "havm vm release");
        try (ZkCoordination zk = ConfigCommands.connectForReading(a)) {
            ConfigStore cs = new ConfigStore(zk);
            ConfigStore.Version cur = cs.current().orElseThrow(() -> new InvalidInputException("havm vm release",
                    "the cluster has no configuration yet"));
            ClusterSpec spec = ClusterConfigLoader.parse(cur.files()).spec();
            GroupSpec gs = spec.groups().get(group);
            if (gs == null) {
                throw new InvalidInputException(cmd, "no group '" + group + "' in configuration version " + cur.number()
                        + " (groups: " + String.join(", ", spec.groups().keySet()) + ")");
            }
            String frag = VmImport.fragmentName(cur.files(), group);
            if (!cur.files().containsKey(frag)) {
                throw new InvalidInputException(cmd, "group " + group + " was not made by havm vm import (no " + frag
                        + "): take it out of the configuration with havm config apply");
            }
            ClusterStore store = new ClusterStore(zk, "cli", Clock.SYSTEM);
            ClusterState.Group g = store.stateOfGroup(group).map(s -> s.groups().get(group)).orElse(null);
            if (g != null && g.phase() != GroupPhase.ONLINE && g.phase() != GroupPhase.OFFLINE
                    && g.phase() != GroupPhase.FAILED) {
                throw new InvalidInputException(cmd, "group " + group + " is " + g.phase().word()
                        + (g.node() == null ? "" : " on " + g.node()) + ": release it once it is online or offline"
                        + " (nothing changed)");
            }
            String node = g != null && g.phase() == GroupPhase.ONLINE ? g.node() : "-";
            Map<String, String> files = new LinkedHashMap<>(cur.files());
            files.remove(frag);
            ClusterConfigLoader.parse(files); // what stays must still be a valid configuration
            ConfigStore.Meta m;
            try {
                store.putHandover(new ClusterStore.Handover(group, true, node));
                m = cs.store(files, cur.number(), ConfigCommands.by(), "vm release " + group, clock.now());
            } catch (RuntimeException e) {
                store.clearHandover(group);
                if (e instanceof Coordination.ConflictException) {
                    throw new InvalidInputException(cmd, "the configuration changed meanwhile (" + e.getMessage()
                            + "); nothing changed: run the command again");
                }
                throw e;
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("group", group);
            doc.put("fragment", frag);
            doc.put("was", cur.number());
            doc.put("version", m.version());
            doc.put("released", false);
            doc.put("runningOn", node.equals("-") ? null : node);
            if (!json) {
                out.println("stored configuration version " + m.version() + " without group " + group
                        + ": the coordinator drops it without stopping it");
            }
            Instant deadline = clock.now().plus(wait);
            while (store.stateOfGroup(group).map(s -> s.groups().containsKey(group)).orElse(false)) {
                if (!clock.now().isBefore(deadline)) {
                    if (json) {
                        doc.put("removed", List.of());
                        out.println(io.havm.util.Json.write(doc));
                    }
                    err.println("havm vm release: group " + group + " is still in the coordinator's state after "
                            + wait.toSeconds() + " s (is a coordinator running? havm events shows why); it is released"
                            + " as soon as one takes the new version: it will not be stopped");
                    return 1;
                }
                pause();
            }
            store.clearHandover(group);
            List<String> removed = new ArrayList<>();
            List<String> warnings = new ArrayList<>();
            for (ResourceSpec r : gs.resources().values()) {
                String def = r.type() == ResourceSpec.Type.VM ? r.properties().get("definition") : null;
                if (def != null) {
                    try {
                        if (Files.deleteIfExists(Path.of(def))) {
                            removed.add(def);
                        }
                    } catch (IOException e) {
                        warnings.add("cannot remove " + def + ": " + e.getMessage());
                        if (!json) {
                            err.println("warning: " + warnings.get(warnings.size() - 1));
                        }
                    }
                }
            }
            if (json) {
                doc.put("released", true);
                doc.put("removed", removed);
                doc.put("warnings", warnings);
                out.println(io.havm.util.Json.write(doc));
                return 0;
            }
            out.println("released: group " + group + (node.equals("-") ? "" : "; its VM keeps running on " + node)
                    + ", no longer managed by havm" + (removed.isEmpty() ? "" : " (removed " + String.join(", ", removed)
                    + "; the domain stays defined where it is)"));
            return 0;
        }
    }

    private static Duration timeout(Args a, String cmd) {
        String t = a.get("--timeout");
        if (t == null) {
            return WAIT;
        }
        try {
            long s = Long.parseLong(t);
            if (s >= 1 && s <= 3600) {
                return Duration.ofSeconds(s);
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new InvalidInputException(cmd + " --timeout", "'" + t + "' is not a number of seconds from 1 to 3600");
    }

    private static Path path(String s) {
        return s == null ? null : Path.of(s).toAbsolutePath().normalize();
    }

    private void pause() {
        try {
            clock.pause(Duration.ofMillis(250)); // polling the coordinator's state, with a deadline
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }
}
