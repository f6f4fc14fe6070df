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
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;

/** The cluster commands: agent, status, group, node, events. */
final class ClusterCommands {
    private final PrintStream out;
    private final PrintStream err;

    ClusterCommands(PrintStream out) {
        this(out, System.err);
    }

    /** The environment a request's API token comes from (HAVM_API_TOKEN), and whether the user sees a terminal. */
    private final Map<String, String> env;
    private final boolean terminal;

    ClusterCommands(PrintStream out, PrintStream err) {
        this(out, err, System.getenv(), System.console() != null);
    }

    ClusterCommands(PrintStream out, PrintStream err, Map<String, String> env, boolean terminal) {
        this.out = out;
        this.err = err;
        this.env = env;
        this.terminal = terminal;
    }

    static ClusterSpec spec(Args a, String command) {
        String file = a.require(command, "--config", command + " --config cluster.yaml ...");
        ClusterConfigLoader.Loaded l = ClusterConfigLoader.load(Path.of(file)).forRealHosts();
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
        return new ZkCoordination(zk, "/havm/" + spec.name(), session, waitForConnection ? commandWait(session)
                : session, waitForConnection);
    }

    /** Connects to the ensemble and the cluster a bootstrap file names. */
    static ZkCoordination connect(io.havm.model.Bootstrap b) {
        return new ZkCoordination(b.connectString(), b.root(), b.sessionTimeout(), commandWait(b.sessionTimeout()),
                true, credentials(b));
    }

    /** The longest a command waits for ZooKeeper before it says it cannot reach it. */
    static final Duration COMMAND_WAIT = Duration.ofSeconds(3);

    /**
     * How long a command (not an agent) waits for ZooKeeper to answer: at most the session
     * timeout, and never more than {@link #COMMAND_WAIT}, so that an operator whose ensemble is
     * down hears so in seconds, whatever the session timeout.
     */
    static Duration commandWait(Duration session) {
        return session.compareTo(COMMAND_WAIT) < 0 ? session : COMMAND_WAIT;
    }

    /** The bootstrap file's ZooKeeper credentials (read from their root-only file), or null: none. */
    static io.havm.model.ZkCredentials credentials(io.havm.model.Bootstrap b) {
        return b.credentials() == null ? null : io.havm.util.Secrets.zkCredentials(b.credentials());
    }

    /**
     * havm agent [--bootstrap F] | havm agent --config F --node N: runs until killed. With the
     * bootstrap file (a host's normal way) the configuration comes from the cluster store; with a
     * cluster.yaml (the lab's way) that file is stored when the cluster has none, and the stored
     * version wins over it otherwise (said, never silently). Either way every version put in force
     * later is applied live.
     */
    int agent(List<String> args) throws InterruptedException {
        String usage = "havm agent [--bootstrap /etc/havm/agent.yaml] [--state-dir DIR]"
                + " | havm agent --config cluster.yaml --node NAME [--state-dir DIR]";
        Args a = Args.parse("havm agent", args, Set.of("--config", "--node", "--bootstrap", "--state-dir"), Set.of(), 0,
                usage);
        java.util.function.Consumer<String> log = line -> {
            synchronized (out) {
                out.println(Instant.now() + " " + line);
                out.flush();
            }
        };
        ZkCoordination zk;
        String node;
        String cluster;
        ClusterConfigLoader.Loaded local = null;
        java.time.Duration bootSession = null;
        Path bootFile = null;
        if (a.get("--config") != null) {
            if (a.get("--bootstrap") != null) {
                throw new InvalidInputException("havm agent", "give --bootstrap or --config, not both (usage: " + usage + ")");
            }
            local = ClusterConfigLoader.load(Path.of(a.get("--config"))).forRealHosts();
            node = a.require("havm agent", "--node", usage);
            requireNode(local.spec(), "--node", node);
            cluster = local.spec().name();
            // Before anything else: no ZooKeeper named, no agent. One that does not answer yet does not
            // stop it: the agent starts cut off, and its guard protects what runs here until it joins.
            zk = connect(local.spec(), a.get("--config"), false);
        } else {
            if (a.get("--node") != null) {
                throw new InvalidInputException("havm agent --node", "comes from the bootstrap file's 'node' (--node"
                        + " goes with --config)");
            }
            Path bf = a.get("--bootstrap") != null ? Path.of(a.get("--bootstrap")) : io.havm.model.Bootstrap.DEFAULT_FILE;
            io.havm.model.Bootstrap b = io.havm.config.BootstrapLoader.load(bf);
            if (b.node() == null) {
                throw new InvalidInputException(bf + ": node", "is required to run an agent (this host's node name)");
            }
            node = b.node();
            cluster = b.cluster();
            bootSession = b.sessionTimeout();
            bootFile = bf;
            zk = new ZkCoordination(b.connectString(), b.root(), b.sessionTimeout(), b.sessionTimeout(), false,
                    credentials(b));
        }
        Path stateDir = Path.of(a.get("--state-dir") != null ? a.get("--state-dir") : "/var/lib/havm");
        ConfigCache cache = new ConfigCache(stateDir.resolve("agent").resolve(cluster).resolve(node + ".config.json"));
        io.havm.engine.ConfigStore configs = new io.havm.engine.ConfigStore(zk);
        StartingConfig first = startingConfig(zk, configs, cache, local, a.get("--config"), node, log);
        ClusterSpec spec = first.spec();
        if (bootSession != null && !bootSession.equals(spec.timers().sessionTimeout())) {
            // Every timer of the configuration was checked against its session timeout: the session
            // this agent holds must be that one.
            zk.close();
            throw new InvalidInputException(bootFile + ": sessionTimeout", bootSession.toMillis() + " ms differs from"
                    + " the configuration's cluster.timers.sessionTimeout (" + spec.timers().sessionTimeout().toMillis()
                    + " ms, version " + first.version() + "): set them equal");
        }
        requireNode(spec, "the configuration's nodes", node);
        Map<String, Hypervisor> hvs = new java.util.concurrent.ConcurrentSkipListMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            hvs.put(n.name(), new LibvirtHypervisor(n.name(), n.uri()));
        }
        FenceAgentRunner fencer = new FenceAgentRunner(fenceDevices(spec));
        Agent agent = new Agent(spec, node, zk, new GroupRunner(spec, node, hvs, Clock.SYSTEM,
                NodeResources.onHost(spec, node, hvs.get(node), Clock.SYSTEM)).logTo(log), fencer, Clock.SYSTEM, log);
        agent.secondChannel(heartbeats(spec), watchdog(spec, node, log));
        agent.publishProgress(); // live migrations' progress under progress/<group>, for the API
        // Prometheus metrics of this agent; the API server serves metrics.registry()::scrape at /metrics.
        io.havm.metrics.HavmMetrics metrics = new io.havm.metrics.HavmMetrics(node, io.havm.metrics.HavmMetrics.version(),
                Clock.SYSTEM).bind(agent);
        if (first.version() > 0) {
            agent.reconfigure(spec, first.version());
        }
        agent.followConfig(configs, v -> {
            ClusterSpec next = ClusterConfigLoader.parse(v.files()).spec();
            // New nodes: their libvirt and fence device, before anything may be sent there.
            for (ClusterSpec.NodeSpec n : next.nodes()) {
                hvs.computeIfAbsent(n.name(), k -> new LibvirtHypervisor(n.name(), n.uri()));
            }
            fencer.replace(fenceDevices(next));
            cache.write(v);
            return next;
        });
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            hvs.values().forEach(Hypervisor::close);
            done.countDown();
        }));
        agent.whenLeft(done::countDown); // havm node shutdown: the process ends once the node has left
        agent.start();
        io.havm.http.ApiServer api = io.havm.http.ApiServer.startFor(spec, node, zk, metrics.registry()::scrape, log);
        if (api != null) {
            Runtime.getRuntime().addShutdownHook(new Thread(api::close));
        }
        done.await();
        return 0;
    }

    static Map<String, FenceDevice> fenceDevices(ClusterSpec spec) {
        Map<String, FenceDevice> devices = new TreeMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            if (n.fencing() != null && !n.fencing().storage()) {
                devices.put(n.name(), FenceDevice.of(n.fencing()));
            }
        }
        return devices;
    }

    /** The configuration an agent starts with, and its version in the cluster store (0: not from it). */
    record StartingConfig(ClusterSpec spec, long version) {}

    /**
     * The stored version in force; when ZooKeeper does not answer, the last version this host used
     * (its cache), so its guard protects what runs here during an outage. With a local file: it is
     * stored when the cluster has no configuration, or a different one while no agent runs (a
     * stopped cluster's new file); while agents run, the stored version wins and the difference is
     * said. Without either, it waits for {@code havm cluster init}.
     */
    static StartingConfig startingConfig(ZkCoordination zk, io.havm.engine.ConfigStore configs, ConfigCache cache,
            ClusterConfigLoader.Loaded local, String localFile, String node, java.util.function.Consumer<String> log)
            throws InterruptedException {
        boolean saidWaiting = false;
        while (true) {
            try {
                Optional<io.havm.engine.ConfigStore.Version> cur = configs.current();
                if (local != null) {
                    Map<String, String> files = ClusterConfigLoader.files(Path.of(localFile));
                    if (cur.isEmpty() || !cur.get().meta().sha256().equals(io.havm.engine.ConfigStore.sha256(files))
                            && zk.members().isEmpty()) {
                        try {
                            io.havm.engine.ConfigStore.Meta m = configs.store(files, cur.map(v -> v.number()).orElse(0L),
                                    node + " agent", "from " + localFile + (cur.isEmpty() ? "" : " (no agent ran)"),
                                    Instant.now());
                            log.accept(node + " agent: stored " + localFile + " as configuration version " + m.version()
                                    + (cur.isEmpty() ? " (the cluster had none)"
                                    : " (it differed from version " + cur.get().number() + " and no agent ran)"));
                            cache.write(configs.version(m.version()));
                            return new StartingConfig(local.spec(), m.version());
                        } catch (io.havm.port.Coordination.ConflictException e) {
                            continue; // another agent stored one first: look again
                        }
                    }
                    io.havm.engine.ConfigStore.Version v = cur.get();
                    if (!v.meta().sha256().equals(io.havm.engine.ConfigStore.sha256(files))) {
                        log.accept(node + " agent: " + localFile + " differs from configuration version " + v.number()
                                + " in the cluster store: using version " + v.number() + " (havm config diff "
                                + localFile + "; havm config apply " + localFile + " to put it in force)");
                    }
                    cache.write(v);
                    return new StartingConfig(ClusterConfigLoader.parse(v.files()).spec(), v.number());
                }
                if (cur.isPresent()) {
                    cache.write(cur.get());
                    return new StartingConfig(ClusterConfigLoader.parse(cur.get().files()).spec(), cur.get().number());
                }
                if (!saidWaiting) {
                    log.accept(node + " agent: the cluster has no configuration yet: waiting for havm cluster init");
                    saidWaiting = true;
                }
            } catch (RuntimeException e) {
                if (e instanceof InvalidInputException) {
                    throw e;
                }
                // ZooKeeper does not answer: the last version this host used, or the given file.
                Optional<io.havm.engine.ConfigStore.Version> cached = cache.read();
                if (cached.isPresent()) {
                    log.accept(node + " agent: the cluster store does not answer (" + e.getMessage() + "): starting"
                            + " from configuration version " + cached.get().number() + ", the last used here");
                    return new StartingConfig(ClusterConfigLoader.parse(cached.get().files()).spec(),
                            cached.get().number());
                }
                if (local != null) {
                    log.accept(node + " agent: the cluster store does not answer (" + e.getMessage() + "): starting"
                            + " from " + localFile + "; the stored version follows once it answers");
                    return new StartingConfig(local.spec(), 0);
                }
                if (!saidWaiting) {
                    log.accept(node + " agent: the cluster store does not answer and this host has no configuration"
                            + " yet (" + e.getMessage() + "): waiting");
                    saidWaiting = true;
                }
            }
            Thread.sleep(2000);
        }
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
        io.havm.policy.Requests.checkVerb("havm " + noun, verb, noun.equals("group") ? io.havm.policy.Requests.GROUP_VERBS
                : io.havm.policy.Requests.NODE_VERBS); // before its options: each subcommand takes its own
        // each subcommand takes its own options: --to and --mode for group move, --failback for node resume
        String usage = switch (verb) {
            case "move" -> "havm group move G --to N [--mode M] --config cluster.yaml [--json]";
            case "resume" -> "havm node resume N [--failback] --config cluster.yaml [--json]";
            default -> "havm " + noun + " " + verb + " NAME --config cluster.yaml [--json]";
        };
        Args a = Args.parse("havm " + noun + " " + verb, rest, verb.equals("move") ? Set.of("--config", "--to", "--mode")
                : Set.of("--config"), verb.equals("resume") ? Set.of("--failback", "--json") : Set.of("--json"), 1, usage);
        ClusterSpec fileSpec = spec(a, "havm " + noun);
        checkSyntax(verb, a); // what needs no cluster is refused before connecting to it
        String name = a.positional.get(0);
        java.util.Optional<ApiClient> api = ApiClient.of(fileSpec, verb.equals("shutdown") ? "admin" : "operator",
                env);
        if (api.isPresent()) {
            try {
                return throughApi(api.get(), noun, verb, name, a);
            } catch (ApiClient.Unreachable e) {
                err.println("havm " + noun + " " + verb + ": no agent's API answered (" + e.getMessage()
                        + "): submitting to the cluster store instead");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
        }
        submit(fileSpec, a, noun, verb);
        out.println(a.flag("--json") ? "{\"submitted\":\"" + verb + "\",\"target\":\"" + name + "\"}"
                : "submitted: " + noun + " " + verb + " " + name + " (the coordinator logs the outcome: havm events)");
        return 0;
    }

    /**
     * The request as an operation of an agent's API, followed to its end: each change of its state
     * said as it comes (redrawn on a terminal, plain lines when piped); exit 0 when it succeeded,
     * 1 when it failed, 2 when the API refused the request (nothing was submitted).
     */
    private int throughApi(ApiClient api, String noun, String verb, String name, Args a)
            throws ApiClient.Unreachable, InterruptedException {
        Map<String, Object> body = null;
        if (verb.equals("move")) {
            body = new LinkedHashMap<>();
            body.put("to", a.get("--to"));
            body.put("mode", a.get("--mode") == null ? "live" : a.get("--mode"));
        } else if (verb.equals("resume")) {
            body = Map.of("failback", a.flag("--failback"));
        }
        String path = "/api/v1/" + noun + "s/" + java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8)
                + "/" + verb;
        ApiClient.Answer ans = api.post(path, body);
        String what = "havm " + noun + " " + verb + " " + name;
        if (ans.status() != 202) {
            String why = ans.body().path("error").asText(ans.body().toString());
            if (ans.status() == 401 || ans.status() == 403) {
                why += " (" + ans.status() + " from " + ans.url() + ": give a token of scope "
                        + (verb.equals("shutdown") ? "admin" : "operator") + " in HAVM_API_TOKEN)";
            }
            throw new InvalidInputException(what, why);
        }
        com.fasterxml.jackson.databind.JsonNode op = ans.body();
        String id = op.path("id").asText();
        Duration within = Duration.ofMinutes(30);
        if (op.hasNonNull("deadline")) {
            within = Duration.between(Instant.now(), Instant.parse(op.path("deadline").asText())).plusSeconds(30);
        }
        com.fasterxml.jackson.databind.JsonNode last;
        try (io.havm.util.Progress progress = io.havm.util.Progress.to(a.flag("--json") ? err : out, terminal)) {
            progress.accept(what + ": operation " + id + " through " + ans.url());
            last = api.follow(id, within, o -> progress.accept("  " + o.path("state").asText() + ": "
                    + o.path("message").asText()));
        }
        String state = last.path("state").asText();
        if (a.flag("--json")) {
            out.println(last);
        } else {
            out.println(what + ": " + state + (state.equals("succeeded") || state.equals("failed") ? ""
                    : " (still " + state + " after " + within.toSeconds() + " s: havm events)"));
        }
        return state.equals("succeeded") ? 0 : 1;
    }

    /**
     * Where a group or node request goes: the one seam between these commands and the cluster.
     * Today it is stored in the cluster store (ZooKeeper) for the coordinator; a client of an
     * agent's API takes this place when one answers, the commands' parsing and output unchanged.
     */
    private void submit(ClusterSpec fileSpec, Args a, String noun, String verb) {
        try (ZkCoordination zk = connect(fileSpec, a.get("--config"))) {
            // the groups and nodes in force are the stored version's (vm import, config apply change
            // them without touching the file); the file only finds the cluster when it has none
            ClusterSpec spec = new io.havm.engine.ConfigStore(zk).current()
                    .map(v -> io.havm.config.ClusterConfigLoader.parse(v.files()).spec()).orElse(fileSpec);
            Input in = input(noun, verb, a, spec);
            new ClusterStore(zk, "cli", Clock.SYSTEM).submit(in);
        }
    }

    /** The subcommand and its options, before any name is looked up in the cluster. */
    private static void checkSyntax(String verb, Args a) {
        if (verb.equals("move")) {
            a.require("havm group move", "--to", "havm group move G --to N --mode live|quick|offline");
            io.havm.policy.Requests.mode("--mode", a.get("--mode"));
        }
    }

    /** The checks and the Input are io.havm.policy.Requests': the REST API submits the same. */
    private static Input input(String noun, String verb, Args a, ClusterSpec spec) {
        String name = a.positional.get(0);
        return noun.equals("group")
                ? io.havm.policy.Requests.group(spec, "havm group", verb, name, a.get("--to"), "--to", a.get("--mode"),
                        "--mode")
                : io.havm.policy.Requests.node(spec, "havm node", verb, name, a.flag("--failback"));
    }
}
