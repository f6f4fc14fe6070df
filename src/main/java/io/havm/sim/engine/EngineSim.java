package io.havm.sim.engine;

import io.havm.engine.Agent;
import io.havm.engine.ClusterStore;
import io.havm.engine.GroupRunner;
import io.havm.port.Hypervisor;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.ResourceSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.policy.NodeStatus;
import io.havm.policy.Placement;
import io.havm.resource.NodeResources;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The real engine in a simulated world: one real {@link Agent} per node (each with its real
 * CoordinatorLoop, GroupRunner, VmResource and Mover inside, exactly as on hosts) on simulated
 * hypervisors, a simulated ZooKeeper and fence devices, all driven by one thread through a
 * discrete-event queue on a virtual clock. The same calls give the same log, byte for byte.
 *
 * <p>The world is the referee: after every event it checks that no VM runs on two hosts, and every
 * start or restore is checked at the call against every other host (a start elsewhere while the
 * old owner's copy runs means it was neither fenced nor self-fenced). Faults: power loss and
 * power-on, agent crash and restart, a paused process, partitions from ZooKeeper, quorum loss,
 * libvirtd unreachable, failing starts, failing fences, guest crashes; operators' requests go
 * through the store as the CLI's do.
 *
 * <p>Every resource type runs as on hosts: VMs ({@link io.havm.resource.VmResource}) on simulated
 * libvirt, disks ({@link io.havm.resource.DiskResource}) on {@link SimStorage}, scripts ({@link
 * io.havm.resource.ScriptResource}, OCF or generic) on {@link SimScripts}; definitions and save
 * files live on the simulated shared storage. Script names are unique across the configuration
 * (a simulated script is known by its name).
 */
public final class EngineSim implements AutoCloseable {
    public static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    /** A fence agent's run (lab measurement, rounded). */
    static final Duration FENCE_TIME = Duration.ofMillis(700);
    /** How soon a supervisor (systemd) restarts an agent that failed to start. */
    static final Duration AGENT_RETRY = Duration.ofSeconds(1);

    /** Every definition the simulation has had (the referee's view); {@link #configured}: the one in force. */
    private ClusterSpec spec;
    private ClusterSpec configured;
    private final VirtualClock clock = new VirtualClock(T0);
    private final SimScheduler sched = new SimScheduler(clock);
    private final SimCoordinationService zk;
    private final TreeMap<String, SimHypervisor> hosts = new TreeMap<>();
    private final Map<String, Hypervisor> hypervisors = new TreeMap<>();
    private final SimFencer fencer;
    /** The cluster's shared storage: definitions, save files, disks. */
    private final SimStorage shared;
    private final SimScripts scripts = new SimScripts(this::starting);
    private final TreeMap<String, Agent> agents = new TreeMap<>();
    private final TreeMap<String, SimCoordinationService.Client> clients = new TreeMap<>();
    private final TreeMap<String, Integer> incarnation = new TreeMap<>();
    private final SimCoordinationService.Client operator;
    private final ClusterStore operatorStore;
    private final List<String> log = new ArrayList<>();
    private final List<String> violations = new ArrayList<>();
    private final List<String> starts = new ArrayList<>();
    private final TreeMap<String, List<String>> fenced = new TreeMap<>();
    /** The heartbeat storage every node reaches (when the configuration has cluster.heartbeat). */
    private final SimHeartbeats storage = new SimHeartbeats();
    private final TreeMap<String, SimWatchdog> watchdogs = new TreeMap<>();
    /**
     * While only the coordination service is at fault (no other fault injected since): where each
     * domain ran when it began, and how many starts and fences there were. Nothing may change.
     */
    private TreeMap<String, List<String>> outageRan;
    private int outageStarts;
    private int outageFences;
    private String outageWhat;
    private Instant outageChecksUntil;

    public EngineSim(ClusterSpec configured) {
        this.shared = new SimStorage(configured.storage());
        this.spec = simulated(configured, shared);
        this.configured = this.spec;
        this.zk = new SimCoordinationService(sched, clock, spec.timers().sessionTimeout(), spec.timers().zkTickTime(),
                this::log);
        sched.uncaught(this::log);
        sched.latency(name -> name.startsWith("havm-fence-") ? FENCE_TIME : Duration.ZERO);
        this.fencer = new SimFencer(n -> {
            fenced.computeIfAbsent(n, k -> new ArrayList<>()).add(time());
            powerOff(n, "fenced");
        });
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            SimHypervisor h = new SimHypervisor(n.name(), this::starting, shared);
            h.powerOff();
            hosts.put(n.name(), h);
            hypervisors.put(n.name(), h);
        }
        this.operator = zk.connect("operator");
        this.operatorStore = new ClusterStore(operator, "operator", clock);
    }

    /** Where the simulated shared storage keeps definitions and save files. */
    static final Path DEFS = Path.of("/sim/shared/defs");
    static final Path SAVE = Path.of("/sim/shared/save");

    /**
     * The configuration with every VM given a definition file and a save directory on the simulated
     * shared storage. Script resources keep their properties (a simulated agent answers for any).
     */
    private static ClusterSpec simulated(ClusterSpec c, SimStorage shared) {
        TreeMap<String, GroupSpec> groups = new TreeMap<>();
        TreeMap<String, String> owner = new TreeMap<>(); // script name or VM domain -> where it is configured
        for (GroupSpec g : c.groups().values()) {
            TreeMap<String, ResourceSpec> rs = new TreeMap<>();
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() != ResourceSpec.Type.DISK) {
                    String name = r.type() == ResourceSpec.Type.VM ? r.domain()
                            : r.name();
                    String here = "groups." + g.name() + ".resources." + r.name();
                    String other = owner.put(name, here);
                    if (other != null) {
                        throw new io.havm.model.InvalidInputException(here, "'" + name + "' is also " + other
                                + ": the simulator knows scripts and VM domains by name; rename one");
                    }
                }
                if (r.type() != ResourceSpec.Type.VM) {
                    rs.put(r.name(), r);
                    continue;
                }
                TreeMap<String, String> p = new TreeMap<>(r.properties());
                String domain = r.domain();
                Path def = DEFS.resolve(domain + ".xml");
                shared.put(def, "<domain type='kvm'><name>" + domain + "</name><devices/></domain>\n");
                p.put("domain", domain);
                p.put("definition", def.toString());
                p.put("stateDir", SAVE.toString());
                rs.put(r.name(), new ResourceSpec(r.name(), r.type(), r.dependsOn(), r.restart(),
                        r.looksAliveInterval(), r.isAliveInterval(), r.pendingTimeout(), r.memoryMiB(),
                        r.offlineAction(), p));
            }
            groups.put(g.name(), new GroupSpec(g.name(), rs, g.possibleOwners(), g.preferredOwners(), g.failback(),
                    g.priority(), g.antiAffinity(), g.failoverThreshold(), g.failoverPeriod(), g.autoStart()));
        }
        return c.withGroups(groups);
    }

    // ------------------------------------------------------------------ log and referee

    private String time() {
        return String.format(Locale.ROOT, "t=%.3f", Duration.between(T0, clock.now()).toMillis() / 1000.0);
    }

    private static final java.util.regex.Pattern TERMINATED =
            java.util.regex.Pattern.compile(" group (\\S+): .*\\((?:.*; )?terminated on (\\S+?)[;)]");

    private static final java.util.regex.Pattern RESTART =
            java.util.regex.Pattern.compile("^\\S+ agent: Restart\\[group=(\\S+), resource=(\\S+),");
    private static final java.util.regex.Pattern FAILOVER =
            java.util.regex.Pattern.compile("^\\S+ group (\\S+): \\S+ .*-> starting on \\S+ \\(.*failover \\d+ of");
    private static final java.util.regex.Pattern CLEARED =
            java.util.regex.Pattern.compile("^- group (\\S+): failed -> pending \\(operator online\\)");
    /** When each resource was restarted in place by its agent, and each group failed over. */
    private final TreeMap<String, List<Instant>> restarts = new TreeMap<>();
    private final TreeMap<String, List<Instant>> failovers = new TreeMap<>();

    /**
     * The referee's thresholds: no resource restarted in place more often within its restart
     * period than its threshold allows, no group failed over more often within its failover
     * period than its threshold; counted from what agents did and coordinators decided.
     */
    private void checkThresholds(String line) {
        java.util.regex.Matcher cleared = CLEARED.matcher(line);
        if (cleared.find()) {
            // an operator's online of a failed group starts its counts afresh, as documented
            failovers.remove(cleared.group(1));
            restarts.keySet().removeIf(k -> k.startsWith(cleared.group(1) + "/"));
        }
        java.util.regex.Matcher r = RESTART.matcher(line);
        if (r.find() && spec.groups().containsKey(r.group(1))) {
            ResourceSpec rs = spec.groups().get(r.group(1)).resources().get(r.group(2));
            if (rs != null && count(restarts, r.group(1) + "/" + r.group(2), rs.restart().period())
                    > rs.restart().threshold()) {
                violation(r.group(1) + "/" + r.group(2) + " restarted in place more than "
                        + rs.restart().threshold() + " times within " + rs.restart().period().toSeconds() + " s");
            }
        }
        java.util.regex.Matcher f = FAILOVER.matcher(line);
        if (f.find() && spec.groups().containsKey(f.group(1))) {
            GroupSpec gs = spec.groups().get(f.group(1));
            if (count(failovers, f.group(1), gs.failoverPeriod()) > gs.failoverThreshold()) {
                violation(f.group(1) + " failed over more than " + gs.failoverThreshold() + " times within "
                        + gs.failoverPeriod().toSeconds() + " s");
            }
        }
    }

    private int count(TreeMap<String, List<Instant>> times, String key, Duration period) {
        List<Instant> l = times.computeIfAbsent(key, k -> new ArrayList<>());
        l.add(clock.now());
        Instant since = clock.now().minus(period);
        return (int) l.stream().filter(t -> t.isAfter(since)).count();
    }

    private void log(String line) {
        log.add(time() + " " + line);
        checkThresholds(line);
        // The referee's second invariant: a Terminate counts as done only when it is: the group's
        // VMs run nowhere on that node when the coordinator acts on the answer.
        java.util.regex.Matcher m = TERMINATED.matcher(line);
        if (m.find() && spec.groups().containsKey(m.group(1)) && hosts.containsKey(m.group(2))) {
            for (ResourceSpec r : spec.groups().get(m.group(1)).resources().values()) {
                String d = r.type() == ResourceSpec.Type.VM ? r.properties().get("domain") : r.name();
                if (r.type() != ResourceSpec.Type.DISK && runs(m.group(2), d)) {
                    violation("a Terminate of " + m.group(1) + " counted as done while " + d + " still runs on "
                            + m.group(2) + ": " + line);
                }
            }
        }
    }

    private void starting(String host, String domain, String how) {
        starts.add(time() + " " + host + " " + domain + " " + how);
        for (String h : hosts.keySet()) {
            if (!h.equals(host) && runs(h, domain)) {
                violation(domain + " " + how + " on " + host + " while it still runs on " + h + ": "
                        + h + " was neither fenced nor self-fenced");
            }
        }
    }

    /** Whether a VM domain or a script runs on host {@code h} (libvirt's or the process table's truth). */
    private boolean runs(String h, String domainOrScript) {
        return host(h).runs(domainOrScript) || scripts.runs(h, domainOrScript);
    }

    private void violation(String what) {
        String line = time() + " VIOLATION " + what;
        log.add(line);
        violations.add(line);
    }

    private void checkInvariants() {
        for (String d : domains()) {
            List<String> on = runningOn(d);
            if (on.size() > 1) {
                violation(d + " runs on " + on + " at once");
            }
        }
        if (outageRan != null) {
            if (outageChecksUntil != null && clock.now().isAfter(outageChecksUntil)) {
                outageRan = null;
                return;
            }
            for (Map.Entry<String, List<String>> e : outageRan.entrySet()) {
                if (!runningOn(e.getKey()).equals(e.getValue())) {
                    violation(e.getKey() + " ran on " + e.getValue() + " when " + outageWhat + " began and now runs on "
                            + runningOn(e.getKey()) + ": stopped or started because of a coordination outage alone");
                }
            }
            if (starts.size() != outageStarts) {
                violation("a VM was started during " + outageWhat + " alone: " + starts.get(starts.size() - 1));
            }
            int f = fenced.values().stream().mapToInt(List::size).sum();
            if (f != outageFences) {
                violation("a node was fenced because of " + outageWhat + " alone: " + fenced);
            }
        }
    }

    /** From now on nothing may stop, start or fence until {@link #outageOver} plus settling, or another fault. */
    private void outageBegins(String what) {
        if (outageRan != null) {
            return;
        }
        if (spec.heartbeat() == null && spec.timers().recoveryWithoutFence() != null) {
            // Without a second channel such a cluster stops its VMs in an outage by design (config
            // check says so): the survivors may recover without a fence, so a cut-off node must stop.
            return;
        }
        for (String n : spec.nodeNames()) {
            if (zk.isPartitioned(n) || storage.isCut(n) || sched.isFrozen(n) || sched.isHung("havm-agent-" + n)
                    || host(n).powered() && !agents.containsKey(n)) {
                return; // another fault is in effect: what follows may be its doing
            }
        }
        if (!shared.healthy() || !scripts.healthy()) {
            return; // a lost disk, hung storage or a failing script: what follows may be its doing
        }
        ClusterState s = state();
        if (s != null && s.nodes().values().stream().anyMatch(n -> n.status() == io.havm.policy.NodeStatus.LOST
                || n.unresponsive())) {
            return; // a fence may be in flight: its outcome is not the outage's doing
        }
        if (s != null && s.groups().values().stream().anyMatch(g -> switch (g.phase()) {
            case ONLINE, OFFLINE, FAILED, PENDING -> false;
            default -> true;
        })) {
            return; // work in flight may finish during the outage: that is not the outage's doing
        }
        outageWhat = what;
        outageRan = new TreeMap<>();
        for (String d : domains()) {
            outageRan.put(d, runningOn(d));
        }
        outageStarts = starts.size();
        outageFences = fenced.values().stream().mapToInt(List::size).sum();
        outageChecksUntil = null;
    }

    /** Coordination is back: the invariant holds while the cluster settles (two session timeouts and a heartbeat round). */
    private void outageOver() {
        if (outageRan != null && outageChecksUntil == null) {
            Duration settle = spec.timers().sessionTimeout().multipliedBy(3)
                    .plus(spec.heartbeat() == null ? Duration.ZERO : spec.heartbeat().evidenceDelay());
            outageChecksUntil = clock.now().plus(settle);
        }
    }

    /** Another fault: a stop, start or fence may now be the right answer to it. */
    private void otherFault() {
        outageRan = null;
    }

    // ------------------------------------------------------------------ driving

    /** Runs every event up to {@code t} (stops early at the first violation). */
    public void runUntil(Instant t) {
        while (violations.isEmpty() && sched.runOne(t)) {
            checkInvariants();
        }
        if (violations.isEmpty()) {
            clock.advanceTo(t);
        }
    }

    public void runFor(Duration d) {
        runUntil(clock.now().plus(d));
    }

    /** Runs until {@code t} seconds after the start. */
    public void runTo(double seconds) {
        runUntil(T0.plus(Duration.ofMillis(Math.round(seconds * 1000))));
    }

    public Instant now() {
        return clock.now();
    }

    // ------------------------------------------------------------------ nodes

    /** Powers every node on and lets the cluster form. */
    public EngineSim boot() {
        for (String n : spec.nodeNames()) {
            powerOn(n);
        }
        return this;
    }

    public void powerOn(String n) {
        otherFault();
        SimHypervisor h = host(n);
        if (h.powered()) {
            return;
        }
        log("fault: power on " + n);
        h.powerOn();
        startAgent(n);
    }

    public void powerOff(String n) {
        otherFault();
        powerOff(n, "power loss");
    }

    private void powerOff(String n, String why) {
        SimHypervisor h = host(n);
        if (!h.powered()) {
            return;
        }
        log("fault: power off " + n + " (" + why + ")");
        stopProcess(n);
        SimWatchdog w = watchdogs.remove(n);
        if (w != null) {
            w.off();
        }
        h.powerOff();
        scripts.powerOff(n);
    }

    /** The agent process dies (its VMs keep running); nothing restarts it until {@link #startAgent}. */
    public void crashAgent(String n) {
        otherFault();
        if (!agents.containsKey(n)) {
            return;
        }
        log("fault: agent on " + n + " crashed");
        stopProcess(n);
    }

    private void stopProcess(String n) {
        incarnation.merge(n, 1, Integer::sum);
        sched.kill(n);
        sched.unhang("havm-agent-" + n); // a hung call dies with its process
        SimCoordinationService.Client c = clients.remove(n);
        if (c != null) {
            c.kill();
        }
        agents.remove(n);
    }

    private java.util.function.Function<String, io.havm.engine.EngineObserver> observers =
            n -> io.havm.engine.EngineObserver.NONE;

    /**
     * Who observes each agent started from now on ({@link io.havm.engine.EngineObserver}, for
     * metrics): asked for the node's observer at every start of its agent.
     */
    public EngineSim observers(java.util.function.Function<String, io.havm.engine.EngineObserver> o) {
        this.observers = o;
        return this;
    }

    /** The node's running agent, if any. */
    public java.util.Optional<Agent> agent(String n) {
        return java.util.Optional.ofNullable(agents.get(n));
    }

    /** Starts the node's agent (a supervisor retries every second while it cannot join). */
    public void startAgent(String n) {
        otherFault();
        if (!host(n).powered() || agents.containsKey(n)) {
            return;
        }
        int inc = incarnation.merge(n, 1, Integer::sum);
        SimCoordinationService.Client c = zk.connect(n);
        SimHypervisor h = host(n);
        GroupRunner runner = new GroupRunner(configured, n, hypervisors, clock,
                new NodeResources(configured, n, h, clock, shared.view(n), scripts.view(n, h)));
        clients.put(n, c);
        try {
            runner.logTo(this::log);
            Agent a = new Agent(configured, n, c, runner, fencer, clock, this::log, sched.forNode(n));
            if (spec.heartbeat() != null || spec.watchdog() != null) {
                SimWatchdog w = null;
                if (spec.watchdog() != null) {
                    w = watchdogs.computeIfAbsent(n, k -> new SimWatchdog(k, sched, clock,
                            why -> powerOff(k, why)));
                }
                a.secondChannel(spec.heartbeat() == null ? null : storage.view(n), w);
            }
            a.followConfig(new io.havm.engine.ConfigStore(c),
                    v -> simulated(io.havm.config.ClusterConfigLoader.parse(v.files()).spec(), shared));
            a.observe(observers.apply(n));
            agents.put(n, a);
            a.whenLeft(() -> stopProcess(n)); // the process ends after a clean leave, as on hosts
            a.start();
        } catch (RuntimeException e) {
            log(n + " agent: cannot start: " + e.getMessage() + "; retry in " + AGENT_RETRY.toSeconds() + " s");
            agents.remove(n);
            clients.remove(n);
            sched.kill(n);
            c.kill();
            sched.at(clock.now().plus(AGENT_RETRY), "supervisor", () -> {
                if (incarnation.getOrDefault(n, 0) == inc) {
                    startAgent(n);
                }
            });
        }
    }

    /** The node's process stops running (a long GC pause, SIGSTOP): its loops and its ZooKeeper client freeze. */
    public void freeze(String n) {
        otherFault();
        log("fault: " + n + " paused");
        sched.freeze(n);
        zk.refresh();
    }

    public void thaw(String n) {
        if (!sched.isFrozen(n)) {
            return;
        }
        log("fault: " + n + " resumed");
        sched.thaw(n);
        zk.refresh();
    }

    public void partition(String n) {
        otherFault();
        log("fault: " + n + " cut off from zookeeper");
        zk.partition(n);
    }

    public void heal(String n) {
        otherFault();
        storageRestore(n);
        if (zk.isPartitioned(n)) {
            log("fault: " + n + " reaches zookeeper again");
            zk.heal(n);
        }
    }

    /** ZooKeeper stalls for everyone (quorum lost, a paused leader): clients notice at their read timeout. */
    public void zkDown() {
        if (zk.hasQuorum()) {
            log("fault: zookeeper loses quorum");
            outageBegins("a zookeeper outage");
            zk.quorumLost();
        }
    }

    public void zkUp() {
        if (!zk.hasQuorum()) {
            log("fault: zookeeper quorum restored");
            zk.quorumRestored();
            outageOver();
        }
    }

    /** The ZooKeeper server process dies: connections are refused, every client is suspended at once. */
    public void zkCrash() {
        if (zk.hasQuorum()) {
            log("fault: zookeeper crashed");
            outageBegins("a zookeeper outage");
            zk.crash();
        }
    }

    /**
     * ZooKeeper starts again on its data: it restores the sessions it had and expires them after
     * their timeout, while clients that declared them lost already hold new ones (measured, LAB.md).
     */
    public void zkRestart() {
        if (!zk.hasQuorum()) {
            log("fault: zookeeper restarted with its data");
            zk.quorumRestored();
            outageOver();
        }
    }

    /** The node's network is cut: ZooKeeper and the heartbeat storage behind the same network. */
    public void isolate(String n) {
        otherFault();
        log("fault: " + n + " isolated (zookeeper and heartbeat storage)");
        storage.cut(n);
        zk.partition(n);
    }

    /**
     * The next start of {@code n}'s agent is cut off right after its join succeeds, before it
     * writes anything else: from ZooKeeper only, or (isolated) from the heartbeat storage too.
     */
    public void cutOffAfterNextJoin(String n, boolean isolated) {
        otherFault();
        zk.afterJoin(n, () -> {
            if (isolated) {
                isolate(n);
            } else {
                partition(n);
            }
        });
    }

    /** The node can no longer reach the heartbeat storage (ZooKeeper stays). */
    public void storageCut(String n) {
        otherFault();
        log("fault: " + n + " cannot reach the heartbeat storage");
        storage.cut(n);
    }

    public void storageRestore(String n) {
        if (storage.isCut(n)) {
            log("fault: " + n + " reaches the heartbeat storage again");
            storage.restore(n);
        }
    }

    /** The referee's view of the heartbeat storage. */
    public SimHeartbeats heartbeatStorage() {
        return storage;
    }

    public void libvirtd(String n, boolean up) {
        otherFault();
        log("fault: libvirtd on " + n + (up ? " answers again" : " unreachable"));
        host(n).libvirtd(up);
    }

    public void failNextStarts(String n, int k) {
        otherFault();
        log("fault: next " + k + " start(s) on " + n + " fail");
        host(n).failNextStarts(k);
    }

    public void failNextFences(String n, int k) {
        otherFault();
        log("fault: next " + k + " fence(s) of " + n + " fail");
        fencer.failNext(n, k);
    }

    public void clearFenceFailures() {
        fencer.clearFailures();
    }

    /** The guest of {@code domain} crashes wherever it runs. */
    public void crashGuest(String domain) {
        otherFault();
        for (SimHypervisor h : hosts.values()) {
            if (h.crashGuest(domain)) {
                log("fault: guest " + domain + " crashed on " + h.host());
            }
        }
    }

    /**
     * The agent's thread on {@code n} hangs in a call (a stuck libvirt or script call): it takes
     * no command and answers none, while its process lives on — its ZooKeeper session, its
     * coordinator and its guard.
     */
    public void hangAgent(String n) {
        otherFault();
        log("fault: agent on " + n + " hangs (its session, coordinator and guard live on)");
        sched.hang("havm-agent-" + n);
    }

    /** The hung call returns: the agent goes on where it was. */
    public void recoverAgent(String n) {
        if (!sched.isHung("havm-agent-" + n)) {
            return; // nothing to heal
        }
        log("fault: agent on " + n + " answers again");
        sched.unhang("havm-agent-" + n);
    }

    /** The node whose coordinator is elected now, if any. */
    public java.util.Optional<String> coordinator() {
        return java.util.Optional.ofNullable(zk.leader());
    }

    /** The process of the current coordinator crashes (restarted by its supervisor a second later). */
    public void crashCoordinator() {
        otherFault();
        String c = zk.leader();
        if (c == null || !agents.containsKey(c)) {
            log("fault: no coordinator to crash");
            return;
        }
        crashAgent(c);
        String n = c;
        sched.at(clock.now().plus(AGENT_RETRY), "supervisor", () -> startAgent(n));
    }

    /** The next {@code k} live migrations from {@code n} fail. */
    public void failNextMigrations(String n, int k) {
        if (k == 0 && !host(n).failsMigrations()) {
            return; // nothing to heal
        }
        otherFault();
        log(k == 0 ? "fault: migrations from " + n + " succeed again" : "fault: next " + k + " migration(s) from " + n + " fail");
        host(n).failNextMigrations(k);
    }

    /** The guest of {@code domain} hangs: QEMU runs, the guest agent answers nothing. */
    public void hangGuest(String domain) {
        otherFault();
        for (SimHypervisor h : hosts.values()) {
            if (h.hangGuest(domain)) {
                log("fault: guest " + domain + " hangs on " + h.host());
            }
        }
    }

    /** Disk {@code disk}'s volume (or LUN) is gone, for every node. */
    public void loseDisk(String disk) {
        otherFault();
        log("fault: disk " + disk + " lost");
        shared.loseDisk(disk);
    }

    public void restoreDisk(String disk) {
        if (!shared.isLost(disk)) {
            return; // nothing to heal
        }
        otherFault();
        log("fault: disk " + disk + " back");
        shared.restoreDisk(disk);
    }

    /** Every storage call from {@code n} (checks, definitions, save files) runs out of time, or answers again. */
    public void storageHang(String n, boolean hang) {
        if (!hang && !shared.isHung(n)) {
            return; // nothing to heal
        }
        otherFault();
        log("fault: shared storage " + (hang ? "hangs for " : "answers again for ") + n);
        if (hang) {
            shared.hang(n);
        } else {
            shared.unhang(n);
        }
    }

    /** The next {@code k} starts of script {@code script} on {@code n} fail. */
    public void scriptStartFails(String n, String script, int k) {
        if (k == 0 && !scripts.failsStarts(n, script)) {
            return; // nothing to heal
        }
        otherFault();
        log(k == 0 ? "fault: starts of " + script + " on " + n + " succeed again"
                : "fault: next " + k + " start(s) of " + script + " on " + n + " fail");
        scripts.failNextStarts(n, script, k);
    }

    /** The next {@code k} stops of script {@code script} on {@code n} fail (it keeps running). */
    public void scriptStopFails(String n, String script, int k) {
        if (k == 0 && !scripts.failsStops(n, script)) {
            return; // nothing to heal
        }
        otherFault();
        log(k == 0 ? "fault: stops of " + script + " on " + n + " succeed again"
                : "fault: next " + k + " stop(s) of " + script + " on " + n + " fail");
        scripts.failNextStops(n, script, k);
    }

    /** Script {@code script}'s service dies wherever it runs. */
    public void crashScript(String script) {
        otherFault();
        log("fault: script " + script + " died" + (scripts.crash(script) ? "" : " (it ran nowhere)"));
    }

    /** Every call of script {@code script} on {@code n} hangs (times out), or answers again. */
    public void scriptHang(String n, String script, boolean hang) {
        if (!hang && !scripts.hangs(n, script)) {
            return; // nothing to heal
        }
        otherFault();
        log("fault: script " + script + " on " + n + (hang ? " hangs" : " answers again"));
        scripts.hang(n, script, hang);
    }

    /** Script {@code script} is sick: its cheap check passes, its deep one (check level 20) fails. */
    public void scriptSick(String script, boolean sick) {
        if (!sick && !scripts.isSick(script)) {
            return; // nothing to heal
        }
        otherFault();
        log("fault: script " + script + (sick ? " is sick (deep check fails)" : " is well again"));
        scripts.sick(script, sick);
    }

    /** Script {@code script}'s monitor errs whether or not it runs (no proof either way), or works again. */
    public void scriptBroken(String script, boolean broken) {
        if (!broken && !scripts.isBroken(script)) {
            return; // nothing to heal
        }
        otherFault();
        log("fault: the monitor of script " + script + (broken ? " is broken (it errs)" : " works again"));
        scripts.broken(script, broken);
    }

    /**
     * Puts configuration {@code file} in force through the cluster store, as {@code havm config
     * apply} does (its checks are the CLI's; the simulator stores it as given): every agent applies
     * it live.
     */
    public void applyConfig(Path file) {
        otherFault();
        java.util.Map<String, String> files = io.havm.config.ClusterConfigLoader.files(file);
        ClusterSpec next = simulated(io.havm.config.ClusterConfigLoader.parse(files).spec(), shared);
        io.havm.engine.ConfigStore cs = new io.havm.engine.ConfigStore(operator);
        io.havm.engine.ConfigStore.Meta m = cs.store(files, cs.currentNumber().orElse(0L), "operator",
                "apply " + file.getFileName(), clock.now());
        log("operator: configuration " + file.getFileName() + " stored as version " + m.version());
        configured = next;
        spec = configured.retaining(spec, spec.groups().keySet());
    }

    /**
     * {@code havm vm import}: the operator started group {@code group}'s VM on {@code node} with
     * libvirt alone; the import puts its handover marker, then stores {@code file} (which adds the
     * group) as the next version, as the CLI does.
     */
    public void importVm(Path file, String group, String node) {
        otherFault();
        ClusterSpec next = io.havm.config.ClusterConfigLoader.load(file).spec();
        io.havm.model.GroupSpec g = next.groups().get(group);
        for (io.havm.model.ResourceSpec r : g.resources().values()) {
            if (r.type() == io.havm.model.ResourceSpec.Type.VM) {
                SimHypervisor h = host(node);
                h.define("<domain><name>" + r.domain() + "</name></domain>");
                h.start(r.domain());
                log("operator: domain " + r.domain() + " started on " + node + " with libvirt alone");
            }
        }
        operatorStore.putHandover(new ClusterStore.Handover(group, false, node));
        log("operator: vm import " + group + " --host " + node);
        applyConfig(file);
    }

    /** {@code havm vm release}: the handover marker, then {@code file} (without the group) stored. */
    public void releaseVm(Path file, String group) {
        otherFault();
        operatorStore.putHandover(new ClusterStore.Handover(group, true, "-"));
        log("operator: vm release " + group);
        applyConfig(file);
    }

    /** An operator's request, through the store as the CLI submits it. */
    public void operator(Input in) {
        otherFault();
        log("operator: " + in);
        try {
            operatorStore.submit(in);
        } catch (RuntimeException e) {
            log("operator: refused: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ the referee's view

    public SimHypervisor host(String n) {
        SimHypervisor h = hosts.get(n);
        if (h == null) {
            throw new IllegalArgumentException("no node " + n + " (nodes: " + hosts.keySet() + ")");
        }
        return h;
    }

    /** Hosts on which the domain runs (libvirt's truth, no agent involved). */
    public List<String> runningOn(String domain) {
        List<String> on = new ArrayList<>();
        for (String h : hosts.keySet()) {
            if (runs(h, domain)) {
                on.add(h);
            }
        }
        return on;
    }

    /** Every VM domain and every script of the configuration: what may run on one host at a time. */
    public List<String> domains() {
        List<String> out = new ArrayList<>();
        for (GroupSpec g : spec.groups().values()) {
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() == ResourceSpec.Type.VM) {
                    out.add(r.properties().get("domain"));
                } else if (r.type() == ResourceSpec.Type.SCRIPT) {
                    out.add(r.name());
                }
            }
        }
        return out;
    }

    /** The coordinator's persisted state, or null before the first step. */
    public ClusterState state() {
        return ClusterStore.read(zk::peek, zk::peekAll).orElse(null);
    }

    /** Events the driver has run (a measure of the simulation's work). */
    public long eventsRun() {
        return sched.events();
    }

    public long epoch() {
        return zk.epoch();
    }

    public boolean agentRuns(String n) {
        return agents.containsKey(n);
    }

    public ClusterSpec spec() {
        return spec;
    }

    /** The timeline the coordinators wrote to the store (what {@code havm events} shows). */
    public List<String> events() {
        return operatorStore.events();
    }

    /** Every start and restore: "t=… host domain how". */
    public List<String> starts() {
        return starts;
    }

    /** When each node was powered off by a fence. */
    public Map<String, List<String>> fenced() {
        return fenced;
    }

    public List<String> log() {
        return log;
    }

    public List<String> violations() {
        return violations;
    }

    /**
     * Liveness at rest (call after healing everything and a quiet period): every group wanted
     * online and not FAILED is online where its VMs really run, unless no node can take it; every
     * node with a running, connected agent is up.
     */
    public List<String> livenessProblems() {
        List<String> out = new ArrayList<>();
        ClusterState s = state();
        if (s == null) {
            out.add("no coordinator ever wrote a state");
            return out;
        }
        for (ClusterState.Group g : s.groups().values()) {
            if (!g.wantOnline() || g.phase() == GroupPhase.FAILED) {
                continue;
            }
            if (g.phase() == GroupPhase.ONLINE) {
                for (ResourceSpec r : spec.groups().get(g.name()).resources().values()) {
                    if (r.type() == ResourceSpec.Type.DISK) {
                        continue;
                    }
                    String d = r.type() == ResourceSpec.Type.VM ? r.properties().get("domain") : r.name();
                    List<String> on = runningOn(d);
                    if (!on.equals(List.of(g.node()))) {
                        out.add(g.name() + " is online on " + g.node() + " but " + d + " runs on " + on);
                    }
                }
                continue;
            }
            if (g.phase() == GroupPhase.PENDING && Placement.choose(spec, s, g.name(), Set.of()).isEmpty()) {
                continue; // no capacity: offline is right
            }
            out.add(g.name() + " is " + g.phase().word() + (g.node() == null ? "" : " on " + g.node())
                    + " although the cluster is healthy");
        }
        for (String n : spec.nodeNames()) {
            ClusterState.Node known = s.nodes().get(n);
            if (agents.containsKey(n) && !zk.isPartitioned(n) && zk.hasQuorum()
                    && (known == null || known.status() != NodeStatus.UP)) {
                out.add(n + " runs a connected agent but the coordinator sees it "
                        + (known == null ? "unknown" : known.status().word()));
            }
        }
        return out;
    }

    /** Stops every agent. */
    @Override
    public void close() {
        for (String n : new ArrayList<>(agents.keySet())) {
            sched.kill(n);
        }
        agents.clear();
    }
}
