package io.havm.api;

import io.havm.util.Args;
import io.havm.resource.NodeResources;
import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.Agent;
import io.havm.engine.ClusterStore;
import io.havm.engine.GroupRunner;
import io.havm.port.Clock;
import io.havm.port.Hypervisor;
import io.havm.fencing.FenceAgentRunner;
import io.havm.fencing.FenceDevice;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.Input;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;

/** The cluster commands: agent, status, group, node, events. */
final class ClusterCommands {
    private final PrintStream out;

    ClusterCommands(PrintStream out) {
        this.out = out;
    }

    static ClusterSpec spec(Args a, String command) {
        String file = a.require(command, "--config", command + " --config cluster.yaml ...");
        ClusterConfigLoader.Loaded l = ClusterConfigLoader.load(Path.of(file));
        return l.spec();
    }

    private static void requireNode(ClusterSpec spec, String where, String name) {
        if (spec.node(name).isEmpty()) {
            throw unknown(where, "node", name, spec.nodeNames());
        }
    }

    private static InvalidInputException unknown(String where, String kind, String name,
            java.util.Collection<String> known) {
        return new InvalidInputException(where, "unknown " + kind + " '" + name + "' (" + kind + "s: "
                + String.join(", ", known) + ")");
    }

    /**
     * Connects to the ensemble {@code cluster.zookeeper} names in {@code file}; a configuration that
     * names none is bad input for every command that needs the cluster's store.
     */
    static ZkCoordination connect(ClusterSpec spec, String file) {
        return connect(spec, file, true);
    }

    /** {@code waitForConnection} false: an ensemble that does not answer yet is no error (an agent). */
    static ZkCoordination connect(ClusterSpec spec, String file, boolean waitForConnection) {
        String zk = spec.zookeeper();
        if (zk == null) {
            throw new InvalidInputException(file + ": cluster.zookeeper", "is required to reach the cluster: the"
                    + " ZooKeeper ensemble's connect string, e.g. zookeeper: 'zk1:2181,zk2:2181,zk3:2181'"
                    + " (the lab's: ./havm lab status --json, zookeeper.connect)");
        }
        Duration session = spec.timers().sessionTimeout();
        return new ZkCoordination(zk, "/havm/" + spec.name(), session, session, waitForConnection);
    }

    /** havm agent --config F --node N: runs until killed. */
    int agent(List<String> args) throws InterruptedException {
        String usage = "havm agent --config cluster.yaml --node NAME";
        Args a = Args.parse("havm agent", args, Set.of("--config", "--node"), Set.of(), 0, usage);
        ClusterSpec spec = spec(a, "havm agent");
        String node = a.require("havm agent", "--node", usage);
        requireNode(spec, "--node", node);
        // Before anything else: no ZooKeeper named, no agent. One that does not answer yet does not
        // stop it: the agent starts cut off, and its guard protects what runs here until it joins.
        ZkCoordination zk = connect(spec, a.get("--config"), false);
        Map<String, Hypervisor> hvs = new TreeMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            hvs.put(n.name(), new LibvirtHypervisor(n.name(), n.uri()));
        }
        Map<String, FenceDevice> devices = new TreeMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            if (n.fencing() != null && !n.fencing().storage()) {
                devices.put(n.name(), FenceDevice.of(n.fencing()));
            }
        }
        java.util.function.Consumer<String> log = line -> {
            synchronized (out) {
                out.println(Instant.now() + " " + line);
                out.flush();
            }
        };
        Agent agent = new Agent(spec, node, zk, new GroupRunner(spec, node, hvs, Clock.SYSTEM,
                NodeResources.onHost(spec, node, hvs.get(node), Clock.SYSTEM)).logTo(log),
                new FenceAgentRunner(devices), Clock.SYSTEM, log);
        agent.secondChannel(heartbeats(spec), watchdog(spec, node, log));
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            hvs.values().forEach(Hypervisor::close);
            done.countDown();
        }));
        agent.whenLeft(done::countDown); // havm node shutdown: the process ends once the node has left
        agent.start();
        done.await();
        return 0;
    }

    /** The heartbeat driver of {@code cluster.heartbeat}, or null when none is configured. */
    static io.havm.port.Heartbeats heartbeats(ClusterSpec spec) {
        ClusterSpec.Heartbeat h = spec.heartbeat();
        if (h == null) {
            return null;
        }
        if (h.dir() != null) {
            return new io.havm.storage.DirHeartbeats(java.nio.file.Path.of(h.dir()), spec.nodeNames(), h.timeout());
        }
        io.havm.model.StorageSpec.Iscsi pool = (io.havm.model.StorageSpec.Iscsi) spec.storage().pool(h.pool()).orElseThrow();
        return new io.havm.storage.LunHeartbeats(pool, h.lun(), spec.nodeNames(), h.timeout());
    }

    /**
     * The host's watchdog ({@code cluster.watchdog}); none when not configured. A device that
     * cannot be opened is reported by the agent's guard when it arms it (the agent still runs: its
     * VMs would be no safer without it).
     */
    static io.havm.port.Watchdog watchdog(ClusterSpec spec, String node, java.util.function.Consumer<String> log) {
        ClusterSpec.WatchdogSpec w = spec.watchdog();
        if (w == null) {
            return io.havm.port.Watchdog.NONE;
        }
        String device = w.deviceFor(node);
        try {
            return io.havm.fencing.Watchdogs.open(device);
        } catch (java.io.IOException e) {
            return new io.havm.port.Watchdog() {
                @Override
                public void arm(Duration timeout) throws java.io.IOException {
                    throw new java.io.IOException("cannot open watchdog " + device + ": " + e.getMessage(), e);
                }

                @Override
                public void pet() throws java.io.IOException {
                    throw new java.io.IOException("watchdog " + device + " is not open");
                }

                @Override
                public void disarm() {}

                @Override
                public String describe() {
                    return device + " (not open)";
                }
            };
        }
    }

    int status(List<String> args) {
        Args a = Args.parse("havm status", args, Set.of("--config"), Set.of("--json"), 0,
                "havm status --config cluster.yaml [--json]");
        ClusterSpec spec = spec(a, "havm status");
        try (ZkCoordination zk = connect(spec, a.get("--config"))) {
            ClusterStore store = new ClusterStore(zk, "cli", Clock.SYSTEM);
            ClusterState s = store.state().orElse(null);
            if (s == null) {
                out.println(a.flag("--json") ? "{\"nodes\":{},\"groups\":{},\"members\":[]}" : "no coordinator state yet");
                return 0;
            }
            if (a.flag("--json")) {
                Map<String, Object> doc = new LinkedHashMap<>();
                Map<String, Object> nodes = new TreeMap<>();
                s.nodes().values().forEach(n -> nodes.put(n.name(), Map.of("status", n.status().word(), "paused",
                        n.paused(), "draining", n.draining(), "unresponsive", n.unresponsive())));
                Map<String, Object> groups = new TreeMap<>();
                s.groups().values().forEach(g -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("phase", g.phase().word());
                    m.put("node", g.node());
                    m.put("wantOnline", g.wantOnline());
                    groups.put(g.name(), m);
                });
                doc.put("formed", s.formed());
                doc.put("members", zk.members());
                doc.put("nodes", nodes);
                doc.put("groups", groups);
                out.println(io.havm.engine.Codec.json().valueToTree(doc));
            } else {
                out.println("members: " + String.join(" ", zk.members()) + (s.formed() ? ""
                        : " (forming: groups that run nowhere wait for every node, or the startup grace)"));
                s.nodes().values().forEach(n -> out.printf("node  %-8s %s%s%s%n", n.name(), n.status().word(),
                        n.unresponsive() ? " (unresponsive)" : "",
                        n.draining() ? " (draining)" : n.paused() ? " (paused)" : ""));
                s.groups().values().forEach(g -> out.printf("group %-8s %s%s%n", g.name(), g.phase().word(),
                        g.node() == null ? "" : " on " + g.node()));
            }
            return 0;
        }
    }

    int events(List<String> args) {
        Args a = Args.parse("havm events", args, Set.of("--config"), Set.of("--json"), 0,
                "havm events --config cluster.yaml [--json]");
        ClusterSpec spec = spec(a, "havm events");
        try (ZkCoordination zk = connect(spec, a.get("--config"))) {
            List<String> ev = new ClusterStore(zk, "cli", Clock.SYSTEM).events();
            if (a.flag("--json")) {
                out.println(io.havm.engine.Codec.json().valueToTree(Map.of("events", ev)));
            } else {
                ev.forEach(out::println);
            }
            return 0;
        }
    }

    /** havm group move|online|offline G ... and havm node drain|resume|shutdown N ...: stored as inputs. */
    int request(String noun, List<String> args) {
        if (args.isEmpty()) {
            throw new InvalidInputException("havm " + noun, "a subcommand is required");
        }
        String verb = args.get(0);
        List<String> rest = args.subList(1, args.size());
        String usage = "havm " + noun + " " + verb + " NAME --config cluster.yaml";
        Args a = Args.parse("havm " + noun + " " + verb, rest, Set.of("--config", "--to", "--mode"),
                Set.of("--failback", "--json"), 1, usage);
        ClusterSpec spec = spec(a, "havm " + noun);
        String name = a.positional.get(0);
        Input in;
        if (noun.equals("group")) {
            if (!spec.groups().containsKey(name)) {
                throw unknown("havm group", "group", name, spec.groups().keySet());
            }
            in = switch (verb) {
                case "move" -> {
                    String to = a.require("havm group move", "--to", "havm group move G --to N --mode live|quick|offline");
                    requireNode(spec, "--to", to);
                    yield new Input.MoveGroup(name, to, MoveMode.parse("--mode",
                            a.get("--mode") == null ? "live" : a.get("--mode")));
                }
                case "online" -> new Input.GroupOnline(name);
                case "offline" -> new Input.GroupOffline(name);
                default -> throw new InvalidInputException("havm group", "unknown subcommand '" + verb
                        + "' (allowed: move, online, offline)");
            };
        } else {
            requireNode(spec, "havm node", name);
            in = switch (verb) {
                case "drain" -> new Input.DrainNode(name);
                case "resume" -> new Input.ResumeNode(name, a.flag("--failback"));
                case "shutdown" -> new Input.ShutdownNode(name);
                default -> throw new InvalidInputException("havm node", "unknown subcommand '" + verb
                        + "' (allowed: drain, resume, shutdown)");
            };
        }
        try (ZkCoordination zk = connect(spec, a.get("--config"))) {
            new ClusterStore(zk, "cli", Clock.SYSTEM).submit(in);
        }
        out.println(a.flag("--json") ? "{\"submitted\":\"" + verb + "\",\"target\":\"" + name + "\"}"
                : "submitted: " + noun + " " + verb + " " + name + " (the coordinator logs the outcome: havm events)");
        return 0;
    }
}
