package io.havm.sim;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.MoveMode;
import io.havm.model.ResourceSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Coordinator;
import io.havm.policy.Dependencies;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.policy.NodeStatus;
import io.havm.policy.Placement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A simulated cluster running the real {@link Coordinator} deterministically: virtual clock,
 * simulated power, network, ZooKeeper sessions, agents, hypervisors and fencer, each able to fail
 * on request. Invariants are checked after every event; a violation stops the run.
 *
 * <p>Model (kept close to the real system):
 * <ul>
 *   <li>A node cut off (partition or ZooKeeper down) notices after the client read timeout
 *       (2/3 of the session timeout), waits selfFenceAfter, then turns off its HA VMs within
 *       selfFenceDuration. ZooKeeper expires its session sessionTimeout after its last heartbeat;
 *       sessions do not expire while ZooKeeper has no quorum.</li>
 *   <li>The coordinator runs on the first live member; its state is persisted after every
 *       step, so a new coordinator continues where a crashed one stopped. Inputs wait in the
 *       store while there is no coordinator.</li>
 *   <li>Agents run commands with the lab's measured durations and report back; a command that
 *       reaches a cut-off or powered-off node is lost (its node's loss handles the group).</li>
 *   <li>An agent can hang while its node stays a member (its ZooKeeper client keeps the session):
 *       it takes commands and answers none. With {@link Hang#AGENT} nothing it runs takes effect
 *       until it recovers; with {@link Hang#LIBVIRT} the next call takes effect (a VM starts or
 *       stops) but never returns. Either way its monitors are silent and the commands behind the
 *       stuck one wait; on recovery the stuck call returns and every held answer is sent, late.
 *       Its self-fence watchdog is a thread of its own and still works.</li>
 * </ul>
 */
public final class SimCluster {
    /** Measured on the lab (LAB.md), rounded. */
    static final Duration START = Duration.ofMillis(500);
    static final Duration STOP = Duration.ofMillis(300);
    static final Duration LIVE = Duration.ofMillis(2300);
    static final Duration QUICK = Duration.ofMillis(2600);
    static final Duration FENCE = Duration.ofMillis(700);
    static final Duration TICK = Duration.ofSeconds(1);
    static final Duration AUDIT = Duration.ofSeconds(5);

    final ClusterSpec spec;
    final Coordinator coordinator;
    final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    private Instant now = t0;
    private long seq;
    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    final List<String> log = new ArrayList<>();
    final List<String> violations = new ArrayList<>();

    // world
    final Map<String, SimNode> nodes = new TreeMap<>();
    boolean zkUp = true;
    ClusterState state;
    String coordinatorNode;
    final Deque<Input> inbox = new ArrayDeque<>();
    final Map<String, Integer> fenceFailures = new HashMap<>();
    final Map<String, Integer> onlineFailures = new HashMap<>();
    final Map<String, Integer> moveFailures = new HashMap<>();
    /** For the restart-threshold invariant: when each resource was restarted. */
    final Map<String, List<Instant>> restartLog = new HashMap<>();
    boolean traceAgents = true;

    /** How an agent is stuck. */
    enum Hang {
        /** Working. */
        NONE,
        /** The agent is stuck: nothing it was asked takes effect, nothing is answered. */
        AGENT,
        /** The agent's next libvirt call takes effect but never returns; the agent is stuck behind it. */
        LIBVIRT
    }

    /** A simulated host. */
    static final class SimNode {
        final String name;
        boolean powered;
        boolean partitioned;
        /** Groups whose VMs run here (the hypervisor's truth); resource -> hung. */
        final Map<String, Map<String, Boolean>> running = new TreeMap<>();
        boolean memberInZk;
        int generation; // bumps at every power-off, so stale agent completions are dropped
        int session; // bumps at every new ZooKeeper session, so an old session's expiry cannot end a new one
        /** Commands and answers kept in ZooKeeper while the node is cut off within its session. */
        final List<Command> queuedCommands = new ArrayList<>();
        final List<Input> queuedReports = new ArrayList<>();
        /** Commands the agent is executing, by group, to answer "aborted" if it self-fences. */
        final Map<String, Command> inFlight = new TreeMap<>();
        Hang hang = Hang.NONE;
        /** A LIBVIRT hang has caught a call: the agent waits for it. */
        boolean stuck;
        /** Command completions waiting behind the hang, in order. */
        final List<Runnable> blocked = new ArrayList<>();
        /** Answers the hung agent has not sent. */
        final List<Input> held = new ArrayList<>();

        boolean hung() {
            return hang == Hang.AGENT || stuck;
        }

        SimNode(String name) {
            this.name = name;
        }

        boolean connected(boolean zkUp) {
            return powered && !partitioned && zkUp;
        }
    }

    private record Event(Instant at, long seq, String what, Runnable action) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = at.compareTo(o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    public SimCluster(ClusterSpec spec) {
        this.spec = spec;
        this.coordinator = new Coordinator(spec);
        this.state = coordinator.initial();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            nodes.put(n.name(), new SimNode(n.name()));
        }
    }

    // ---------------------------------------------------------------- time and events

    public Instant now() {
        return now;
    }

    void at(Duration after, String what, Runnable action) {
        queue.add(new Event(now.plus(after), seq++, what, action));
    }

    void atTime(Instant when, String what, Runnable action) {
        queue.add(new Event(when.isBefore(now) ? now : when, seq++, what, action));
    }

    /** Runs every event up to {@code until} (inclusive), checking invariants after each. */
    public void runUntil(Instant until) {
        while (!queue.isEmpty() && !queue.peek().at.isAfter(until) && violations.isEmpty()) {
            Event e = queue.poll();
            now = e.at;
            e.action.run();
            drainInbox();
            checkInvariants();
        }
        if (now.isBefore(until)) {
            now = until;
        }
    }

    /** Processes what outside actions (faults, operators) queued, at the current instant. */
    public void settle() {
        drainInbox();
        checkInvariants();
    }

    public boolean knows(String node) {
        return nodes.containsKey(node);
    }

    public void runFor(Duration d) {
        runUntil(now.plus(d));
    }

    void trace(String line) {
        long ms = Duration.between(t0, now).toMillis();
        log.add(String.format("t=%d.%03d %s", ms / 1000, ms % 1000, line));
    }

    /** Starts the periodic tick and monitors; call once before running. */
    public void boot() {
        scheduleTick();
        scheduleAudit();
    }

    /**
     * Each agent's LooksAlive over what it is assigned: a group the coordinator has online on a
     * node where no copy runs (self-fenced, vanished) is reported failed, as libvirt's "domain not
     * running" would be.
     */
    private void scheduleAudit() {
        at(AUDIT, "audit", () -> {
            for (ClusterState.Group g : state.groups().values()) {
                if (g.phase() != GroupPhase.ONLINE || g.node() == null) {
                    continue;
                }
                SimNode n = nodes.get(g.node());
                if (n.connected(zkUp) && n.hang == Hang.NONE && !n.running.containsKey(g.name())
                        && !n.inFlight.containsKey(g.name())) {
                    String first = Dependencies.onlineOrder(spec.groups().get(g.name())).get(0);
                    report(n, new Input.ResourceFailed(g.name(), first, n.name, "looksAlive: domain not running"));
                }
            }
            scheduleAudit();
        });
    }

    private void scheduleTick() {
        at(TICK, "tick", () -> {
            submit(new Input.Tick());
            scheduleTick();
        });
    }

    // ---------------------------------------------------------------- coordinator

    void submit(Input in) {
        inbox.add(in);
    }

    /**
     * The coordinator role follows ZooKeeper's leader latch: it moves only when the leader's
     * session is gone (expired, crashed). A leader that is merely cut off keeps the latch but
     * cannot act, and nobody else may: no coordinator until its session expires.
     */
    private void electIfNeeded() {
        if (!zkUp) {
            if (coordinatorNode != null) {
                trace(coordinatorNode + " coordinator: stepped down (no ZooKeeper quorum)");
                coordinatorNode = null;
            }
            return;
        }
        if (coordinatorNode != null && nodes.get(coordinatorNode).memberInZk) {
            return;
        }
        String previous = coordinatorNode;
        coordinatorNode = null;
        for (SimNode n : nodes.values()) {
            if (n.connected(zkUp) && n.memberInZk) {
                coordinatorNode = n.name;
                trace(n.name + " coordinator: elected" + (previous == null ? "" : " (after " + previous + ")"));
                return;
            }
        }
    }

    private boolean coordinatorActive() {
        return coordinatorNode != null && nodes.get(coordinatorNode).connected(zkUp);
    }

    private void drainInbox() {
        electIfNeeded();
        if (!coordinatorActive()) {
            inbox.removeIf(in -> in instanceof Input.Tick); // ticks do not pile up while nobody leads
            return;
        }
        while (!inbox.isEmpty()) {
            List<Input> batch = new ArrayList<>(inbox);
            inbox.clear();
            Coordinator.Step step = coordinator.apply(state, batch, now);
            state = step.state();
            for (String l : step.log()) {
                trace(l);
            }
            for (Command c : step.commands()) {
                dispatch(c);
            }
        }
    }

    /** Crash the coordinator process (its node stays up): another member takes over with the persisted state. */
    public void crashCoordinator() {
        if (coordinatorNode == null) {
            return;
        }
        trace(coordinatorNode + " coordinator: crashed (process restarts; the role moves on)");
        SimNode old = nodes.get(coordinatorNode);
        // Its ZooKeeper session ends with the process; the agent on that node reconnects with a new one.
        coordinatorNode = null;
        String next = null;
        for (SimNode n : nodes.values()) {
            if (n != old && n.connected(zkUp) && n.memberInZk) {
                next = n.name;
                break;
            }
        }
        if (next != null) {
            coordinatorNode = next;
            trace(next + " coordinator: elected (after crash of " + old.name + ")");
        }
    }

    // ---------------------------------------------------------------- commands → agents / fencer

    /** Per node and group, when its agent is free again: one group's commands run in order. */
    private final Map<String, Instant> busyUntil = new HashMap<>();

    private void agentAt(String node, String group, Duration d, String what, Runnable action) {
        agentAt(node, group, d, what, null, action);
    }

    private void agentAt(String node, String group, Duration d, String what, Command cmd, Runnable action) {
        SimNode sn = nodes.get(node);
        if (cmd != null) {
            sn.inFlight.put(group, cmd);
        }
        int gen = sn.generation;
        Runnable[] wrapped = new Runnable[1];
        boolean[] waited = new boolean[1];
        wrapped[0] = () -> {
            if (sn.generation == gen && sn.hung()) {
                sn.blocked.add(wrapped[0]); // does not return until the agent recovers
                waited[0] = true;
                agent(node, what + " " + group + " does not return (agent " + (sn.stuck ? "stuck in libvirt" : "hung")
                        + ")");
                return;
            }
            if (waited[0] && sn.generation == gen && cmd != null && Command.superseded(cmd, state)) {
                // The agent got to it only now: it checks that the coordinator still waits for it.
                sn.inFlight.remove(group, cmd);
                agent(node, what + " " + group + " dropped: the coordinator no longer waits for it");
                return;
            }
            if (sn.generation == gen && sn.hang == Hang.LIBVIRT) {
                sn.stuck = true; // this call takes effect, and never returns
            }
            if (sn.generation == gen && cmd != null && sn.inFlight.get(group) == cmd) {
                sn.inFlight.remove(group);
            }
            action.run();
        };
        String key = node + "/" + group;
        Instant start = busyUntil.getOrDefault(key, now);
        if (start.isBefore(now)) {
            start = now;
        }
        Instant done = start.plus(d);
        busyUntil.put(key, done);
        atTime(done, what, wrapped[0]);
    }

    private void dispatch(Command c) {
        if (c instanceof Command.Fence f) {
            fence(f.node());
            return;
        }
        String node = Command.agentOf(c);
        SimNode n = nodes.get(node);
        if (!n.connected(zkUp)) {
            if (n.powered && n.memberInZk) {
                // Stored in ZooKeeper: the agent picks it up if it reconnects within its session.
                n.queuedCommands.add(c);
                trace(node + " agent: cut off; " + c.getClass().getSimpleName().toLowerCase() + " waits in the store");
            } else {
                trace(node + " agent: " + c.getClass().getSimpleName().toLowerCase() + " not delivered (node gone)");
            }
            return;
        }
        if (Command.superseded(c, state)) {
            // Picked up late (it waited in the store): the coordinator no longer waits for it.
            agent(node, c.getClass().getSimpleName().toLowerCase() + " dropped: the coordinator no longer waits for it");
            return;
        }
        int gen = n.generation;
        if (c instanceof Command.Online o) {
            checkNoCopyElsewhere(o.group(), node);
            boolean fail = take(onlineFailures, o.group() + "@" + node);
            List<String> order = Dependencies.onlineOrder(spec.groups().get(o.group()));
            agentAt(node, o.group(), START.multipliedBy(order.size()), "online", c, () -> {
                if (!alive(n, gen)) {
                    return;
                }
                if (fail && !n.running.containsKey(o.group())) { // a running VM answers AlreadyRunning
                    agent(node, "online " + o.group() + ": " + order.get(0) + " failed");
                    report(n, new Input.Onlined(o.group(), node, false, "injected failure", o.attempt()));
                    return;
                }
                boolean already = n.running.containsKey(o.group());
                startCopy(n, o.group());
                agent(node, "online " + o.group() + ": " + String.join(", ", order) + (already ? " (already running)" : ""));
                report(n, new Input.Onlined(o.group(), node, true, already ? "already running" : "started", o.attempt()));
            });
        } else if (c instanceof Command.Offline o) {
            List<String> order = Dependencies.offlineOrder(spec.groups().get(o.group()));
            agentAt(node, o.group(), STOP.multipliedBy(order.size()), "offline", c, () -> {
                if (!alive(n, gen)) {
                    return;
                }
                n.running.remove(o.group());
                agent(node, "offline " + o.group() + ": " + String.join(", ", order));
                report(n, new Input.Offlined(o.group(), node, true, "stopped", o.attempt()));
            });
        } else if (c instanceof Command.Terminate t) {
            agentAt(node, t.group(), STOP, "terminate", c, () -> {
                if (!alive(n, gen)) {
                    return;
                }
                n.running.remove(t.group());
                agent(node, "terminate " + t.group());
                report(n, new Input.Terminated(t.group(), node, true, "terminated", t.attempt()));
            });
        } else if (c instanceof Command.Restart r) {
            restartLog.computeIfAbsent(r.group() + "/" + r.resource(), k -> new ArrayList<>()).add(now);
            checkRestartThreshold(r.group(), r.resource());
            agentAt(node, r.group(), START.plus(STOP), "restart", c, () -> {
                if (!alive(n, gen)) {
                    return;
                }
                Map<String, Boolean> res = n.running.get(r.group());
                if (res == null) {
                    startCopy(n, r.group()); // the whole VM had died: restart brings it back
                } else {
                    res.put(r.resource(), false);
                }
                agent(node, "restart " + r.group() + "/" + r.resource());
                report(n, new Input.Restarted(r.group(), r.resource(), node, true, r.attempt()));
            });
        } else if (c instanceof Command.Move m) {
            SimNode to = nodes.get(m.to());
            boolean fail = take(moveFailures, m.group());
            Duration d = m.mode() == MoveMode.LIVE ? LIVE : m.mode() == MoveMode.QUICK ? QUICK : QUICK.plus(START);
            int toGen = to.generation;
            agentAt(node, m.group(), d, "move", c, () -> {
                if (!alive(n, gen)) {
                    return; // the source died mid-move: its loss is handled by the coordinator
                }
                boolean ok = !fail && n.running.containsKey(m.group()) && alive(to, toGen) && to.connected(zkUp);
                if (ok) {
                    n.running.remove(m.group());
                    startCopy(to, m.group());
                }
                agent(node, "move " + m.group() + " -> " + m.to() + " " + m.mode().word + (ok ? ": done" : ": failed"));
                report(n, new Input.Moved(m.group(), m.from(), m.to(), ok, ok ? "done" : "migration failed",
                        m.attempt()));
            });
        } else if (c instanceof Command.ShutdownNode s) {
            at(STOP, "shutdown", () -> {
                agent(node, "stopping (drained)");
                n.powered = false;
                n.generation++;
                n.memberInZk = false;
                n.running.clear();
                submit(new Input.NodeLeft(node));
            });
        }
    }

    private boolean alive(SimNode n, int gen) {
        return n.powered && n.generation == gen;
    }

    private void startCopy(SimNode n, String group) {
        Map<String, Boolean> res = new TreeMap<>();
        for (String r : spec.groups().get(group).resources().keySet()) {
            res.put(r, false);
        }
        n.running.put(group, res);
        scheduleMonitors(n, group);
    }

    /** An agent's answer reaches the store only while its node is connected; else it is lost. */
    private void report(SimNode n, Input in) {
        if (n.hang != Hang.NONE) {
            n.held.add(in); // the agent is stuck: it sends nothing until it recovers
            trace(n.name + " agent: " + answerTo(in) + " not sent (agent " + (n.stuck ? "stuck in libvirt" : "hung")
                    + ")");
            return;
        }
        if (n.connected(zkUp)) {
            submit(in);
        } else if (n.powered && n.memberInZk) {
            n.queuedReports.add(in); // written to ZooKeeper once the session is reachable again
        } else {
            trace(n.name + " agent: answer lost (session gone)");
        }
    }

    private static String answerTo(Input in) {
        if (in instanceof Input.Onlined x) {
            return "answer to online " + x.group();
        } else if (in instanceof Input.Offlined x) {
            return "answer to offline " + x.group();
        } else if (in instanceof Input.Terminated x) {
            return "answer to terminate " + x.group();
        } else if (in instanceof Input.Restarted x) {
            return "answer to restart " + x.group() + "/" + x.resource();
        } else if (in instanceof Input.Moved x) {
            return "answer to move " + x.group();
        } else if (in instanceof Input.ResourceFailed x) {
            return "failure report of " + x.group() + "/" + x.resource();
        }
        return describe(in);
    }

    private void agent(String node, String what) {
        if (traceAgents) {
            trace(node + " agent: " + what);
        }
    }

    private static boolean take(Map<String, Integer> m, String key) {
        int left = m.getOrDefault(key, 0);
        if (left > 0) {
            m.put(key, left - 1);
            return true;
        }
        return false;
    }

    private void fence(String node) {
        SimNode n = nodes.get(node);
        boolean fail = take(fenceFailures, node);
        at(FENCE, "fence", () -> {
            if (fail) {
                trace(node + " fencer: off FAILED (injected)");
                submit(new Input.Fenced(node, false, "fence agent failed"));
                return;
            }
            if (n.powered) {
                powerOff(n, "fenced");
            }
            trace(node + " fencer: off confirmed");
            submit(new Input.Fenced(node, true, "fence agent: off"));
        });
    }

    // ---------------------------------------------------------------- monitors

    private void scheduleMonitors(SimNode n, String group) {
        int gen = n.generation;
        GroupSpec g = spec.groups().get(group);
        for (ResourceSpec r : g.resources().values()) {
            Map<String, Boolean> copy = n.running.get(group);
            monitor(n, gen, group, r, copy, r.looksAliveInterval(), false);
            monitor(n, gen, group, r, copy, r.isAliveInterval(), true);
        }
    }

    private void monitor(SimNode n, int gen, String group, ResourceSpec r, Map<String, Boolean> copy, Duration every,
            boolean deep) {
        at(every, "monitor", () -> {
            if (!alive(n, gen) || !n.connected(zkUp)) {
                return;
            }
            if (n.hang != Hang.NONE) {
                monitor(n, gen, group, r, copy, every, deep); // a hung agent checks nothing, for now
                return;
            }
            Map<String, Boolean> now = n.running.get(group);
            if (now != copy) {
                if (now == null) {
                    // The VM died under us (crash): LooksAlive reports it once, then this monitor ends.
                    if (!deep && crashed.remove(n.name + "/" + group)) {
                        report(n, new Input.ResourceFailed(group, r.name(), n.name, "looksAlive: domain shut off (crashed)"));
                    }
                }
                return;
            }
            if (deep && Boolean.TRUE.equals(copy.get(r.name()))) {
                copy.put(r.name(), false); // reported once; the restart clears the hang
                report(n, new Input.ResourceFailed(group, r.name(), n.name, "isAlive: guest heartbeat lost"));
            }
            monitor(n, gen, group, r, copy, every, deep);
        });
    }

    private final Set<String> crashed = new TreeSet<>();

    // ---------------------------------------------------------------- faults and operations

    public void powerOn(String node) {
        SimNode n = nodes.get(node);
        if (n.powered) {
            return;
        }
        n.powered = true;
        n.partitioned = false;
        n.memberInZk = false; // a rebooted host cannot resume its old session: it gets a new one
        n.generation++;
        n.running.clear();
        trace(node + " power: on");
        join(n);
    }

    private void join(SimNode n) {
        if (!n.connected(zkUp)) {
            return;
        }
        n.memberInZk = true;
        n.session++;
        n.queuedCommands.clear(); // a new session starts clean: the coordinator learns its state from NodeUp
        n.queuedReports.clear();
        submit(new Input.NodeUp(n.name, Set.copyOf(n.running.keySet())));
    }

    public void powerOff(String node) {
        powerOff(nodes.get(node), "power loss");
    }

    private void powerOff(SimNode n, String why) {
        if (!n.powered) {
            return;
        }
        n.powered = false;
        n.generation++;
        n.running.clear();
        n.inFlight.clear();
        clearHang(n);
        busyUntil.keySet().removeIf(k -> k.startsWith(n.name + "/"));
        trace(n.name + " power: off (" + why + ")");
        lostContact(n);
    }

    public void partition(String node) {
        SimNode n = nodes.get(node);
        if (!n.powered || n.partitioned) {
            return;
        }
        n.partitioned = true;
        trace(node + " network: cut off");
        lostContact(n);
        scheduleSelfFence(n);
    }

    public void heal(String node) {
        SimNode n = nodes.get(node);
        if (!n.partitioned) {
            return;
        }
        n.partitioned = false;
        trace(node + " network: healed");
        reconnect(n);
    }

    /** The node stops heartbeating: ZooKeeper expires its session sessionTimeout later (if it has quorum). */
    private void lostContact(SimNode n) {
        if (!n.memberInZk) {
            return;
        }
        int session = n.session;
        at(spec.timers().sessionTimeout(), "session expiry", () -> expireIfStill(n, session));
    }

    private void expireIfStill(SimNode n, int session) {
        if (!n.memberInZk || n.session != session || n.connected(zkUp)) {
            return;
        }
        if (!zkUp) {
            return; // no quorum, no expiry; re-armed when ZooKeeper returns
        }
        n.memberInZk = false;
        trace(n.name + " zookeeper: session expired");
        submit(new Input.NodeLost(n.name));
    }

    /** A cut-off node notices after the read timeout, waits selfFenceAfter, then turns its HA VMs off. */
    private void scheduleSelfFence(SimNode n) {
        int gen = n.generation;
        Duration notice = spec.timers().readTimeout();
        at(notice, "suspended", () -> {
            if (n.generation != gen || n.connected(zkUp)) {
                return;
            }
            trace(n.name + " agent: zookeeper suspended: stop acting");
            at(spec.timers().selfFenceAfter(), "self-fence", () -> {
                if (n.generation != gen || n.connected(zkUp) || n.running.isEmpty() && n.inFlight.isEmpty()) {
                    return;
                }
                Duration d = spec.timers().selfFenceDuration().dividedBy(2);
                at(d, "self-fenced", () -> {
                    if (n.generation != gen || n.connected(zkUp)) {
                        return;
                    }
                    selfFence(n);
                });
            });
        });
    }

    /**
     * What an agent does when it self-fences: abort its in-flight work (migrations, starts) and
     * turn its HA VMs off; the aborted commands are answered, to be delivered if it reconnects
     * within its session.
     */
    private void selfFence(SimNode n) {
        List<String> what = new ArrayList<>(n.running.keySet());
        n.generation++; // in-flight completions and monitors of this incarnation are void
        n.running.clear();
        for (Map.Entry<String, Command> e : n.inFlight.entrySet()) {
            Command c = e.getValue();
            String g = e.getKey();
            if (c instanceof Command.Online o) {
                report(n, new Input.Onlined(g, o.node(), false, "aborted: self-fence", o.attempt()));
            } else if (c instanceof Command.Offline o) {
                report(n, new Input.Offlined(g, o.node(), true, "stopped by self-fence", o.attempt()));
            } else if (c instanceof Command.Terminate t) {
                report(n, new Input.Terminated(g, t.node(), true, "terminated", t.attempt()));
            } else if (c instanceof Command.Restart r) {
                report(n, new Input.Restarted(g, r.resource(), r.node(), false, r.attempt()));
            } else if (c instanceof Command.Move m) {
                report(n, new Input.Moved(g, m.from(), m.to(), false, "aborted: self-fence", m.attempt()));
            }
        }
        n.inFlight.clear();
        n.blocked.clear(); // what was stuck belonged to the work just aborted
        busyUntil.keySet().removeIf(k -> k.startsWith(n.name + "/"));
        trace(n.name + " agent: self-fenced: turned off " + (what.isEmpty() ? "nothing" : String.join(", ", what))
                + ", aborted in-flight work");
    }

    private void reconnect(SimNode n) {
        if (!n.connected(zkUp)) {
            return;
        }
        if (n.memberInZk) {
            trace(n.name + " zookeeper: reconnected within the session");
            n.queuedReports.forEach(this::submit);
            n.queuedReports.clear();
            List<Command> waiting = new ArrayList<>(n.queuedCommands);
            n.queuedCommands.clear();
            waiting.forEach(this::dispatch);
            // Groups it self-fenced are gone: its monitors report them (a hung agent's, once it recovers).
            for (ClusterState.Group g : state.groups().values()) {
                if (n.hang == Hang.NONE && n.name.equals(g.node()) && g.phase() == GroupPhase.ONLINE
                        && !n.running.containsKey(g.name())) {
                    String first = Dependencies.onlineOrder(spec.groups().get(g.name())).get(0);
                    submit(new Input.ResourceFailed(g.name(), first, n.name, "stopped while cut off (self-fence)"));
                }
            }
        } else if (n.hang != Hang.NONE) {
            trace(n.name + " zookeeper: session gone; the hung agent cannot rejoin");
        } else {
            trace(n.name + " zookeeper: new session");
            join(n);
        }
    }

    public void zkDown() {
        if (!zkUp) {
            return;
        }
        zkUp = false;
        trace("zookeeper: quorum lost");
        for (SimNode n : nodes.values()) {
            if (n.powered && !n.partitioned) {
                scheduleSelfFence(n);
            }
        }
    }

    public void zkUp() {
        if (zkUp) {
            return;
        }
        zkUp = true;
        trace("zookeeper: quorum back");
        for (SimNode n : nodes.values()) {
            if (n.powered && !n.partitioned) {
                reconnect(n);
            } else if (n.memberInZk) {
                // Cut off or dead during the outage: its session now ages from the quorum's return.
                lostContact(n);
            }
        }
    }

    public void crash(String group, String resource) {
        for (SimNode n : nodes.values()) {
            if (n.running.containsKey(group)) {
                n.running.remove(group);
                crashed.add(n.name + "/" + group);
                trace(n.name + " " + group + "/" + resource + ": crashed");
            }
        }
    }

    public void hang(String group, String resource) {
        for (SimNode n : nodes.values()) {
            Map<String, Boolean> r = n.running.get(group);
            if (r != null && r.containsKey(resource)) {
                r.put(resource, true);
                trace(n.name + " " + group + "/" + resource + ": guest hung");
            }
        }
    }

    /**
     * The node's agent hangs: it keeps its ZooKeeper session but answers nothing. With
     * {@code libvirt}, the next libvirt call it makes takes effect and never returns.
     */
    public void hangAgent(String node, boolean libvirt) {
        SimNode n = nodes.get(node);
        if (!n.powered || n.hang != Hang.NONE) {
            return;
        }
        n.hang = libvirt ? Hang.LIBVIRT : Hang.AGENT;
        trace(node + (libvirt ? " libvirt: hangs (the next call takes effect and never returns)"
                : " agent: hangs (takes commands, answers none)"));
    }

    /** The stuck call returns: the agent sends what it held, then runs what waited, in order. */
    public void recoverAgent(String node) {
        SimNode n = nodes.get(node);
        if (n.hang == Hang.NONE) {
            return;
        }
        List<Input> held = new ArrayList<>(n.held);
        List<Runnable> blocked = new ArrayList<>(n.blocked);
        trace(node + " agent: recovers (" + held.size() + " held answer(s), " + blocked.size()
                + " stuck command(s) complete now)");
        clearHang(n);
        held.forEach(in -> report(n, in));
        blocked.forEach(Runnable::run);
        if (n.connected(zkUp) && !n.memberInZk) {
            trace(n.name + " zookeeper: new session");
            join(n);
        }
    }

    private static void clearHang(SimNode n) {
        n.hang = Hang.NONE;
        n.stuck = false;
        n.blocked.clear();
        n.held.clear();
    }

    public void failNextFences(String node, int count) {
        fenceFailures.put(node, count);
        trace(node + " fencer: next " + count + " attempt(s) will fail");
    }

    public void failNextOnline(String group, String node, int count) {
        onlineFailures.put(group + "@" + node, count);
    }

    public void failNextMove(String group) {
        moveFailures.put(group, moveFailures.getOrDefault(group, 0) + 1);
    }

    public void operator(Input in) {
        trace("operator: " + describe(in));
        submit(in);
    }

    static String describe(Input in) {
        String s = in.toString();
        return s.substring(0, 1).toLowerCase() + s.substring(1);
    }

    // ---------------------------------------------------------------- invariants

    private void checkNoCopyElsewhere(String group, String node) {
        for (SimNode n : nodes.values()) {
            if (!n.name.equals(node) && n.powered && n.running.containsKey(group)) {
                violation("online of " + group + " on " + node + " while it still runs on " + n.name
                        + (n.partitioned ? " (cut off, not yet self-fenced: recovery before fencing)" : ""));
            }
        }
    }

    private void checkRestartThreshold(String group, String resource) {
        ResourceSpec r = spec.groups().get(group).resources().get(resource);
        Instant since = now.minus(r.restart().period());
        long n = restartLog.get(group + "/" + resource).stream().filter(t -> t.isAfter(since)).count();
        if (n > r.restart().threshold()) {
            violation(group + "/" + resource + " restarted " + n + " times within " + r.restart().period().toSeconds()
                    + " s (threshold " + r.restart().threshold() + ")");
        }
    }

    private void checkInvariants() {
        for (String g : spec.groups().keySet()) {
            List<String> on = new ArrayList<>();
            for (SimNode n : nodes.values()) {
                if (n.powered && n.running.containsKey(g)) {
                    on.add(n.name);
                }
            }
            if (on.size() > 1) {
                violation(g + " runs on " + on + " at once");
            }
        }
        for (ClusterState.Group g : state.groups().values()) {
            GroupSpec gs = spec.groups().get(g.name());
            Instant since = now.minus(gs.failoverPeriod());
            long recent = g.failovers().stream().filter(t -> t.isAfter(since)).count();
            if (recent > gs.failoverThreshold()) {
                violation(g.name() + " failed over " + recent + " times within the period (threshold "
                        + gs.failoverThreshold() + ")");
            }
        }
    }

    private void violation(String what) {
        String line = "INVARIANT VIOLATED: " + what;
        trace(line);
        violations.add(line);
    }

    /**
     * Liveness at rest: every group wanted online that is not FAILED is online, unless no node
     * can take it. Call after a quiet period with every node powered, connected and ZooKeeper up.
     */
    public List<String> livenessProblems() {
        List<String> out = new ArrayList<>();
        for (ClusterState.Group g : state.groups().values()) {
            if (!g.wantOnline() || g.phase() == GroupPhase.FAILED || g.phase() == GroupPhase.ONLINE) {
                continue;
            }
            if (g.phase() == GroupPhase.PENDING
                    && Placement.choose(spec, state, g.name(), Set.of()).isEmpty()) {
                continue; // no capacity: offline is right
            }
            out.add(g.name() + " is " + g.phase().word() + (g.node() == null ? "" : " on " + g.node())
                    + " although the cluster is healthy");
        }
        for (ClusterState.Node n : state.nodes().values()) {
            SimNode s = nodes.get(n.name());
            if (s.powered && s.connected(zkUp) && n.status() != NodeStatus.UP) {
                out.add(n.name() + " is powered and connected but the coordinator sees it " + n.status().word());
            }
        }
        return out;
    }

    public List<String> violations() {
        return violations;
    }

    public List<String> log() {
        return log;
    }

    public ClusterState state() {
        return state;
    }
}
