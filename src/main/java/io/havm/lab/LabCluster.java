package io.havm.lab;

import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.port.Clock;
import io.havm.model.ClusterSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * A havm cluster on the lab, as an operator runs one: a cluster.yaml naming the lab's hosts with
 * the lab fence agent, one agent per host started inside that host's namespaces
 * ({@code ci/lab agents start}), and the cluster's store read through the lab's ZooKeeper. Used by
 * the demo, the drills and the failover benchmark.
 */
public final class LabCluster implements AutoCloseable {
    /** Timers for a quick lab cluster: 3 s detection, lab fence agent, never recover without a fence. */
    public static final String FAST_TIMERS = "{sessionTimeout: 3s, zkTickTime: 250ms, selfFenceAfter: 0s,"
            + " selfFenceDuration: 1s, safetyMargin: 500ms, recoveryWithoutFence: never, fenceRetry: 2s}";

    /**
     * The second channel and watchdog of every lab cluster: heartbeats on the lab's shared directory
     * (reached by every host as its storage network, so isolating a host's cluster network leaves
     * it: an isolated host reads that it is lost, or its fence request), and the lab watchdog that
     * ci/lab runs for each host (a FIFO; it powers the host off when its agent stops petting).
     */
    public static String secondChannel(Lab.Facts lab, String cluster) {
        return "  heartbeat: {dir: " + heartbeats(lab).resolve(cluster) + ", interval: 500ms, timeout: 1s}\n"
                + "  watchdog: {device: '" + lab.watchdogDir().resolve("{node}") + "', timeout: 10s}\n";
    }

    /** Where lab clusters keep their heartbeats: a directory of its own per cluster, on the shared directory. */
    public static Path heartbeats(Lab.Facts lab) {
        return lab.sharedDir().resolve("heartbeat");
    }

    /** How a lab cluster's nodes are fenced. */
    public enum Fencing {
        /** The lab's fence agent (ci/fence_havm_lab): powers the host off through the lab's BMC. */
        POWER,
        /** Fence requests on the heartbeat storage, and the watchdog (no power fence agent). */
        STORAGE
    }

    private final Path home;
    private final Path config;
    private final ClusterSpec spec;
    private final ZkCoordination zk;
    private final ClusterStore store;
    private final Path agentsDir;

    private LabCluster(Path home, Path config) {
        this.home = home;
        this.config = config;
        this.spec = ClusterConfigLoader.load(config).spec();
        if (spec.zookeeper() == null) {
            throw new IllegalArgumentException(config + " names no cluster.zookeeper (writeConfig names the lab's)");
        }
        this.agentsDir = new Lab(home, null).facts().agentsDir();
        Duration session = spec.timers().sessionTimeout();
        this.zk = new ZkCoordination(spec.zookeeper(), "/havm/" + spec.name(), session, session);
        this.store = new ClusterStore(zk, "lab", Clock.SYSTEM);
    }

    /**
     * Writes a cluster.yaml for every lab host (fenced by ci/fence_havm_lab) with the given timers
     * (a YAML flow map) and groups (YAML lines under {@code groups:}, indented by two spaces).
     */
    public static Path writeConfig(Path file, Path home, String name, List<Lab.Host> hosts, String timers,
            String groups) {
        return writeConfig(file, home, name, hosts, timers, "", groups);
    }

    /** The lab's shared directory pool and iSCSI target (ci/lab up serves both), as a storage section. */
    public static String labStorage(Lab.Facts lab) {
        Path sharedDir = lab.sharedDir();
        return "storage:\n  leaseDir: " + sharedDir.resolve("lockd") + "\n  pools:\n"
                + "    shared: {type: shared-dir, path: " + sharedDir.resolve("pool") + ", libvirtSeesShared: false}\n"
                + "    lab: {type: iscsi, portal: '" + lab.iscsiPortal() + "', target: '" + lab.iscsiTarget() + "',"
                + " luns: " + lab.luns() + "}\n";
    }

    /** As above, with a {@code storage:} section (YAML lines at the top level) before the groups. */
    public static Path writeConfig(Path file, Path home, String name, List<Lab.Host> hosts, String timers,
            String storage, String groups) {
        return writeConfig(file, home, name, hosts, timers, storage, groups, Fencing.POWER, null);
    }

    /**
     * As above, fenced as {@code fencing} says, with ZooKeeper at {@code zookeeper}: a connect
     * string, or null for the lab's single server (its address as ci/lab reports it, written out:
     * the configuration names its coordination service like any operator's).
     */
    public static Path writeConfig(Path file, Path home, String name, List<Lab.Host> hosts, String timers,
            String storage, String groups, Fencing fencing, String zookeeper) {
        Lab.Facts lab = new Lab(home, null).facts();
        try {
            Files.createDirectories(heartbeats(lab).resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the lab's heartbeat directory (is the lab up?)", e);
        }
        String zk = zookeeper == null ? lab.zookeeper() : zookeeper;
        StringBuilder y = new StringBuilder("cluster:\n  name: " + name + "\n  zookeeper: '" + zk + "'\n"
                + secondChannel(lab, name) + api(lab, name, hosts) + "  timers: " + timers + "\n  nodes:\n");
        for (Lab.Host h : hosts) {
            y.append("    - {name: ").append(h.name()).append(", uri: '").append(h.uri()).append("', memoryMiB: 2048, ");
            if (fencing == Fencing.POWER) {
                y.append("fencing: {agent: ").append(home.resolve("ci/fence_havm_lab"))
                        .append(", options: {plug: ").append(h.name()).append("}, timeout: 60s}}\n");
            } else {
                y.append("fencing: {agent: storage}}\n");
            }
        }
        y.append(storage).append("groups:\n").append(groups.isEmpty() ? "  {}\n" : groups);
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            return Files.writeString(file, y.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The YAML of one HA group holding one VM resource (its domain XML at {@code definition});
     * {@code groupExtra} and {@code vmExtra} are further YAML lines for the group and the resource.
     */
    public static String vmGroup(String group, String domain, Path definition, Path stateDir, List<String> preferred,
            String groupExtra, String vmExtra) {
        return "  " + group + ":\n    preferredOwners: [" + String.join(", ", preferred) + "]\n" + groupExtra
                + "    resources:\n      vm:\n        type: vm\n        memoryMiB: 128\n" + vmExtra
                + "        properties: {domain: " + domain + ", definition: " + definition + ", stateDir: " + stateDir
                + ", unsafeSharedStorage: 'true'}\n";
    }

    /** The port every lab agent serves its REST API and dashboard on. */
    public static final int API_PORT = 8440;

    /**
     * The {@code api:} lines of a lab cluster: every agent serves the REST API and the dashboard
     * over TLS, as an operator's would, with a certificate naming every host's address and a
     * tokens file of one token per scope, made for this cluster under the lab's root (api/NAME/)
     * and gone with the lab.
     */
    static String api(Lab.Facts lab, String cluster, List<Lab.Host> hosts) {
        Path dir = lab.root().resolve("api").resolve(cluster);
        Path cert = dir.resolve("api.crt");
        Path key = dir.resolve("api.key");
        Path tokens = dir.resolve("tokens");
        try {
            Files.createDirectories(dir);
            if (!Files.exists(cert)) {
                StringBuilder san = new StringBuilder("subjectAltName=IP:127.0.0.1");
                hosts.forEach(h -> san.append(",IP:").append(h.ip()));
                Exec.run(Duration.ofSeconds(30), List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                        "-days", "30", "-subj", "/CN=havm-lab-api", "-addext", san.toString())).orThrow();
            }
            if (!Files.exists(tokens)) {
                StringBuilder t = new StringBuilder("# the lab cluster " + cluster + "'s API tokens: SCOPE NAME TOKEN\n");
                for (String scope : List.of("read", "operator", "admin")) {
                    byte[] b = new byte[16];
                    new java.security.SecureRandom().nextBytes(b);
                    t.append(scope).append(" lab-").append(scope).append(' ').append(java.util.HexFormat.of().formatHex(b))
                            .append('\n');
                }
                Files.writeString(tokens, t);
                Files.setPosixFilePermissions(tokens, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the lab cluster's API files in " + dir, e);
        }
        return "  api: {port: " + API_PORT + ", tls: {certificate: " + cert + ", key: " + key + "}, tokens: " + tokens
                + "}\n";
    }

    /** The token of {@code scope} (read, operator, admin) in this cluster's API tokens file. */
    public String apiToken(String scope) {
        try {
            return Files.readAllLines(spec.api().tokens()).stream().filter(l -> l.startsWith(scope + " "))
                    .map(l -> l.split(" ")[2]).findFirst().orElseThrow();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where {@code host}'s agent serves the API and the dashboard (https://ADDRESS:8440). */
    public String apiUrl(String host) {
        return spec.api().urls().get(host);
    }

    /** Connects to the cluster of {@code config} (its agents need not run yet). */
    public static LabCluster of(Path home, Path config) {
        return new LabCluster(home, config);
    }

    public ClusterSpec spec() {
        return spec;
    }

    public Path config() {
        return config;
    }

    /** Starts the agents of {@code hosts} (all hosts that are on when none) and waits until each joined. */
    public void startAgents(String... hosts) {
        List<String> cmd = new ArrayList<>(List.of(home.resolve("ci/lab").toString(), "agents", "start",
                config.toString()));
        cmd.addAll(List.of(hosts));
        Exec.run(Duration.ofMinutes(2), cmd).orThrow();
    }

    public void stopAgents() {
        Exec.run(Duration.ofMinutes(1), List.of(home.resolve("ci/lab").toString(), "agents", "stop")).orThrow();
    }

    /** An agent's log (what it printed so far). */
    public String agentLog(String host) {
        try {
            return Files.readString(agentsDir.resolve(host + ".log"));
        } catch (IOException e) {
            return "(no log for " + host + ": " + e.getMessage() + ")";
        }
    }

    public String agentLogs() {
        StringBuilder b = new StringBuilder();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            b.append("--- agent ").append(n.name()).append('\n').append(agentLog(n.name()));
        }
        return b.toString();
    }

    /** The member whose agent is the coordinator now: the last "elected" line among the members' logs. */
    public Optional<String> coordinator() {
        String who = null;
        Instant last = Instant.MIN;
        for (String host : members()) {
            for (String line : agentLog(host).lines().toList()) {
                int sp = line.indexOf(' ');
                if (sp > 0 && line.contains(host + " coordinator: elected")) {
                    Instant t = Instant.parse(line.substring(0, sp));
                    if (t.isAfter(last)) {
                        last = t;
                        who = host;
                    }
                }
            }
        }
        return Optional.ofNullable(who);
    }

    public Optional<ClusterState> state() {
        return store.state();
    }

    public Optional<ClusterState.Group> group(String name) {
        return state().map(s -> s.groups().get(name));
    }

    /** The node a group is online on, if it is online. */
    public Optional<String> onlineOn(String group) {
        return group(group).filter(g -> g.phase() == GroupPhase.ONLINE).map(ClusterState.Group::node);
    }

    public void submit(Input in) {
        store.submit(in);
    }

    /** The timeline: one line per transition, "ISO-time text". */
    public List<String> events() {
        return store.events();
    }

    /** The time of the first event containing {@code needle}, after {@code since}. */
    public static Optional<Instant> eventTime(List<String> events, String needle, Instant since) {
        for (String l : events) {
            int sp = l.indexOf(' ');
            if (sp > 0 && l.contains(needle)) {
                Instant t = Instant.parse(l.substring(0, sp));
                if (!t.isBefore(since)) {
                    return Optional.of(t);
                }
            }
        }
        return Optional.empty();
    }

    /** Polls the state until {@code condition} holds; false when {@code budget} passed first. */
    public boolean await(Duration budget, Predicate<ClusterState> condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(budget);
        while (Instant.now().isBefore(deadline)) {
            Optional<ClusterState> s = state();
            if (s.isPresent() && condition.test(s.get())) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }

    /** Members (agents with a live session), as ZooKeeper sees them now. */
    public java.util.SortedSet<String> members() {
        return zk.members();
    }

    /**
     * The members once there are {@code n}, or as they are after {@code within}. This client's
     * view comes from a watch: an agent that said "joined" (what {@code ci/lab agents start} waits
     * for) can be a few milliseconds from appearing in it.
     */
    public java.util.SortedSet<String> awaitMembers(int n, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (zk.members().size() < n && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return zk.members();
    }

    /** Map of group -> "phase[ on node]", for messages. */
    public Map<String, String> summary() {
        Map<String, String> m = new java.util.TreeMap<>();
        state().ifPresent(s -> s.groups().values().forEach(g -> m.put(g.name(), g.phase().word()
                + (g.node() == null ? "" : " on " + g.node()))));
        return m;
    }

    @Override
    public void close() {
        zk.close();
    }
}
