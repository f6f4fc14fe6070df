package io.havm.api;

import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.ZkCoordination;
import io.havm.drill.DrillTarget;
import io.havm.drill.HostReferee;
import io.havm.drill.Preflight;
import io.havm.drill.SimTarget;
import io.havm.engine.ClusterStore;
import io.havm.fencing.FenceAgentRunner;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.MoveMode;
import io.havm.model.Playbook;
import io.havm.model.ResourceSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.port.Clock;
import io.havm.port.Fencer;
import io.havm.validate.Check;
import io.havm.validate.LibvirtFacts;
import io.havm.validate.Validate;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * A drill on a running havm cluster's own hosts, as its cluster.yaml describes them: the groups are
 * the cluster's own, placed by its agents (never created or deleted here; a group the playbook puts
 * on a host is moved there first). Faults: a host's power through the node's own fence agent, and a
 * VM destroyed through libvirt, nothing else; power-loss and qemu-kill only with an explicit
 * --destructive. Operations are submitted as {@code havm group|node} submits them. The referee
 * asks every node's libvirt directly; the cluster's VMs have no test-guest console, so boots, the
 * disk counter and ticks are not judged (reported skipped). On close, every host the drill powered
 * off is powered on again.
 */
public final class ClusterTarget implements DrillTarget {
    /** What a cluster's own hosts take: power through the fence agent, a VM destroyed through libvirt. */
    static final Set<Playbook.FaultKind> CAN = EnumSet.of(Playbook.FaultKind.POWER_LOSS,
            Playbook.FaultKind.POWER_ON, Playbook.FaultKind.QEMU_KILL);
    /** Faults that stop a host or a VM: refused unless the run says --destructive. */
    static final Set<Playbook.FaultKind> DESTRUCTIVE = EnumSet.of(Playbook.FaultKind.POWER_LOSS,
            Playbook.FaultKind.QEMU_KILL);
    /** How long the groups may take to be online where the playbook wants them (a live move each). */
    private static final Duration PREPARE = Duration.ofSeconds(120);

    private final Path config;
    private final boolean destructive;
    private final PrintStream progress;
    private final ClusterSpec spec;
    private final Clock clock = Clock.SYSTEM;
    private final HostReferee hosts = new HostReferee(clock);
    /** Hosts this drill powered off: powered on again when it ends. */
    private final Set<String> poweredOff = new TreeSet<>();
    private FenceAgentRunner fencer;
    private ZkCoordination zk;
    private ClusterStore store;
    private Instant began;

    /**
     * @param config the cluster's cluster.yaml (read now; the cluster is not touched before {@link #prepare})
     * @param destructive the run allows power-loss and qemu-kill ({@code --destructive})
     */
    public ClusterTarget(Path config, boolean destructive, PrintStream progress) {
        this.config = config;
        this.destructive = destructive;
        this.progress = progress;
        this.spec = ClusterConfigLoader.load(config).spec();
        if (spec.zookeeper() == null) {
            throw new InvalidInputException(config + ": cluster.zookeeper", "is required for a drill on the cluster's"
                    + " own hosts: the ZooKeeper ensemble its agents use");
        }
    }

    @Override
    public String describe() {
        return "the cluster " + spec.name() + ": its " + spec.nodes().size() + " hosts (libvirt), its ZooKeeper and"
                + " fence agents";
    }

    @Override
    public boolean simulated() {
        return false;
    }

    @Override
    public ClusterSpec spec() {
        return spec;
    }

    /**
     * Refuses up front: a group not in the configuration or without a VM (the referee asks libvirt
     * about its VMs), a fault a cluster's own hosts cannot take, power through a node without a
     * fence agent, and destructive steps without --destructive.
     */
    @Override
    public void check(Playbook p) {
        SimTarget.requireGroups(p, spec, config.toString());
        for (Playbook.Need n : p.groups().values()) {
            if (domains(n.group()).isEmpty()) {
                throw new InvalidInputException(p.file() + ": groups." + n.group(), "has no VM resource in " + config
                        + ": the referee asks libvirt where a group's VMs run");
            }
        }
        List<String> destroys = new ArrayList<>();
        for (Playbook.Step s : p.steps()) {
            if (!(s instanceof Playbook.Fault f)) {
                continue;
            }
            if (!CAN.contains(f.kind())) {
                throw new InvalidInputException(p.file() + ":" + s.line() + ": fault", "'" + f.kind().word
                        + "' cannot be injected on a cluster's own hosts (a cluster target can: " + String.join(", ",
                        CAN.stream().map(k -> k.word).toList()) + "); rehearse it with --sim --config " + config);
            }
            if (f.host() != null && f.host().host() != null) {
                String h = f.host().host();
                ClusterSpec.NodeSpec node = spec.nodes().stream().filter(x -> x.name().equals(h)).findFirst()
                        .orElseThrow(() -> new InvalidInputException(p.file() + ":" + s.line() + ": host",
                                "unknown host '" + h + "' (hosts in " + config + ": "
                                        + String.join(", ", spec.nodeNames()) + ")"));
                if (node.fencing() == null || node.fencing().storage()) {
                    throw new InvalidInputException(p.file() + ":" + s.line() + ": fault", "'" + f.kind().word
                            + "' goes through the node's own fence agent, and " + h + " has none in " + config);
                }
            }
            if (DESTRUCTIVE.contains(f.kind())) {
                destroys.add("line " + s.line() + " (" + f.kind().word + ")");
            }
        }
        if (!destructive && !destroys.isEmpty()) {
            throw new InvalidInputException(p.file(), "destructive step" + (destroys.size() == 1 ? "" : "s") + " on"
                    + " the cluster's own hosts: " + String.join(", ", destroys) + " (power-loss powers a host off"
                    + " through its fence agent, qemu-kill destroys a VM): run with --destructive to allow them");
        }
    }

    /** The libvirt domains of a group's VM resources. */
    private List<String> domains(String group) {
        List<String> out = new ArrayList<>();
        for (ResourceSpec r : spec.groups().get(group).resources().values()) {
            if (r.type() == ResourceSpec.Type.VM && r.properties().get("domain") != null) {
                out.add(r.properties().get("domain"));
            }
        }
        return out;
    }

    /**
     * Connects to the cluster's ZooKeeper, every node's libvirt and fence agent; waits until every
     * playbook group is online, where the playbook wants it (moved there, live, if it is not).
     */
    @Override
    public void prepare(Playbook p) {
        zk = ClusterCommands.connect(spec, config.toString());
        store = new ClusterStore(zk, "drill", clock);
        fencer = new FenceAgentRunner(ClusterCommands.fenceDevices(spec));
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            hosts.add(new LibvirtHypervisor(n.name(), n.uri()));
        }
        Instant deadline = clock.now().plus(PREPARE);
        Set<String> moved = new TreeSet<>();
        for (Playbook.Need n : p.groups().values()) {
            while (true) {
                ClusterState.Group g = group(n.group()).orElse(null);
                if (g != null && g.phase() == GroupPhase.ONLINE && (n.on() == null || n.on().equals(g.node()))) {
                    break;
                }
                if (g == null || g.phase() == GroupPhase.OFFLINE || g.phase() == GroupPhase.FAILED) {
                    throw new IllegalStateException(n.group() + " is " + (g == null ? "not in the cluster's state"
                            : g.phase().word()) + ": a drill on a cluster's own hosts starts from its groups online"
                            + " (havm group online " + n.group() + " --config " + config + ")");
                }
                if (g.phase() == GroupPhase.ONLINE && moved.add(n.group())) {
                    progress.println("  moving " + n.group() + " from " + g.node() + " to " + n.on()
                            + " (live), where the playbook wants it");
                    store.submit(new Input.MoveGroup(n.group(), n.on(), MoveMode.LIVE));
                }
                if (!clock.now().isBefore(deadline)) {
                    throw new IllegalStateException(n.group() + " is not online" + (n.on() == null ? ""
                            : " on " + n.on()) + " after " + PREPARE.toSeconds() + " s: " + g.phase().word()
                            + (g.node() == null ? "" : " on " + g.node()));
                }
                pass(Duration.ofMillis(250));
            }
        }
        began = clock.now();
    }

    @Override
    public Instant now() {
        return clock.now();
    }

    @Override
    public void pass(Duration d) {
        DrillTarget.waitFor(clock, d);
    }

    @Override
    public Instant fault(Playbook.Fault f, String host) {
        switch (f.kind()) {
            case POWER_LOSS -> {
                Fencer.Result r = fencer.fence(host, Fencer.Action.OFF);
                if (r.outcome() != Fencer.Outcome.OFF) {
                    throw new IllegalStateException("power-loss of " + host + ": its fence agent did not power it off: "
                            + r.detail());
                }
                poweredOff.add(host);
                hosts.drop(host); // a dead host answers nothing: not asked until it is back
            }
            case POWER_ON -> {
                Fencer.Result r = fencer.fence(host, Fencer.Action.ON);
                if (r.outcome() != Fencer.Outcome.ON && r.outcome() != Fencer.Outcome.OK) {
                    throw new IllegalStateException("power-on of " + host + ": its fence agent did not power it on: "
                            + r.detail());
                }
                poweredOff.remove(host);
                hosts.addIfAbsent(host, n -> new LibvirtHypervisor(n, uri(n)));
            }
            case QEMU_KILL -> {
                for (String vm : domains(f.group())) {
                    List<String> on = hosts.runningOn(vm);
                    if (on.size() != 1) {
                        throw new IllegalStateException(vm + " runs on " + on + ": no single QEMU to kill");
                    }
                    hosts.call(on.get(0), h -> {
                        h.destroy(vm);
                        return null;
                    });
                }
            }
            default -> throw new IllegalStateException(f.kind().word + " cannot be injected on a cluster's own hosts");
        }
        return null;
    }

    private String uri(String node) {
        return spec.nodes().stream().filter(n -> n.name().equals(node)).findFirst().orElseThrow().uri();
    }

    @Override
    public void operate(Playbook.Operation o, String host) {
        store.submit(DrillTarget.input(o, host));
    }

    @Override
    public Optional<ClusterState.Group> group(String group) {
        try {
            return store.group(group);
        } catch (RuntimeException e) {
            throw new DrillTarget.Unreadable("havm's state cannot be read: " + e.getMessage(), e);
        }
    }

    /** {@code havm validate} of the cluster, as its operator would run it. */
    @Override
    public Preflight preflight() {
        Validate.Report r = Validate.run(config, new LibvirtFacts(Validate.PER_HOST));
        return Preflight.of(r.count(Check.Status.PASS), r.count(Check.Status.WARN), r.count(Check.Status.FAIL),
                r.count(Check.Status.SKIP), r.problems(), "havm validate " + config);
    }

    /** The candidate that leads the cluster's election in its ZooKeeper. */
    @Override
    public Optional<String> coordinator() {
        return zk.leader();
    }

    /** Every host where libvirt executes one of the group's VMs (running or blocked). */
    @Override
    public List<String> runningOn(String group) {
        Set<String> on = new LinkedHashSet<>();
        for (String vm : domains(group)) {
            on.addAll(hosts.runningOn(vm));
        }
        return new ArrayList<>(new TreeSet<>(on));
    }

    /** Not counted: a cluster's own VM has no test-guest console. */
    @Override
    public OptionalInt boots(String group) {
        return OptionalInt.empty();
    }

    @Override
    public Optional<Boolean> diskSurvived(String group) {
        return Optional.empty();
    }

    @Override
    public List<String> refereeProblems() {
        return List.of();
    }

    @Override
    public List<String> events() {
        return store == null ? List.of() : DrillTarget.eventsSince(store::events, began);
    }

    /** Powers on every host the drill powered off (its fence agent's on), and closes the connections. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (String h : List.copyOf(poweredOff)) {
            progress.println("  powering " + h + " back on (its fence agent)");
            Fencer.Result r = fencer.fence(h, Fencer.Action.ON);
            if (r.outcome() == Fencer.Outcome.ON || r.outcome() == Fencer.Outcome.OK) {
                poweredOff.remove(h);
            } else if (first == null) {
                first = new IllegalStateException(h + " was powered off by the drill and could not be powered on"
                        + " again: " + r.detail());
            }
        }
        hosts.close();
        if (zk != null) {
            zk.close();
        }
        if (first != null) {
            throw first;
        }
    }
}
