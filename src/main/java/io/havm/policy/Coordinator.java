package io.havm.policy;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.ResourceSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The coordinator's decisions: a pure function from (state, input, now) to (next state, commands,
 * log). No clock, no I/O, no threads; the engine executes the commands and feeds the answers back
 * as inputs, on real hosts and in the simulator alike.
 *
 * <p>Safety rules, each enforced here and checked by the simulator's invariants:
 * <ul>
 *   <li>A group is started on a node only when the coordinator knows it runs nowhere: its phase
 *       says so, and a lost owner must first be proven fenced (fence agent said off, or the
 *       self-fence deadline passed).</li>
 *   <li>Restarts in place and failovers are counted in sliding windows and never exceed their
 *       thresholds; past the failover threshold the group is left FAILED for an operator.</li>
 *   <li>Every transition is one of the group state machine's ({@link Transitions}), named by the
 *       event that causes it, and logged in one format:
 *       {@code <node> group <g>: <from> -> <to> (<why>)}.</li>
 *   <li>Startup grace: until the cluster has formed (every configured node up at once, or
 *       {@code timers.startupGrace} after the first node was seen), groups that run nowhere are
 *       not placed, so the first node to join does not take every group from its preferred
 *       owners. A group a joining node reports running is adopted at once.</li>
 *   <li>No command waits forever. Each command for a group carries an attempt number and gets a
 *       budget (see {@link #budget}); an answer with another attempt number is ignored. When the
 *       budget runs out: a silent Online, Restart or Offline counts as failed and the group is
 *       terminated on that node before it goes anywhere else (the node may still start the VM);
 *       a silent Move is an interrupted move (terminate on the source, then on the target); a
 *       silent Terminate means the node's agent is unresponsive: the node is fenced like a lost
 *       one, and its groups wait in awaiting-fence until the fence is confirmed. A node without a
 *       fence agent cannot be made safe that way: it takes no new groups, and the group waits
 *       until the node answers again (then it is terminated there first) or its session ends
 *       (then the self-fence deadline applies).</li>
 *   <li>A step sends only what its final state accounts for: a command its group no longer waits
 *       for by the end of the step (the node was lost and came back within the same batch of
 *       inputs) is not sent, and neither is a fence for a node that is back. Agents drop a command
 *       the stored state no longer waits for ({@link Command#superseded}).</li>
 *   <li>A node's report after it comes back proves what runs there only if nothing else may still
 *       put the VM there: the end of a move that came back before it was fenced is treated as an
 *       interrupted move (terminate on both ends), since the other end may still be migrating.</li>
 * </ul>
 *
 * <p>This class is the one entry point ({@link #apply}); the rules live beside it, one class per
 * kind of input, all working on one step's {@link StepContext}: {@link Membership} (nodes join,
 * come back, are lost, leave), {@link Fencing} (fence answers, self-fence deadlines, unresponsive
 * agents, recovery once a node is proven off), {@link Answers} (agents' answers and their
 * silence), {@link Operators} (operators' requests) and {@link Scheduling} (run once per step after
 * every input: stop, drain, place, fail back; and the failover the other rules end in).
 */
public final class Coordinator {
    /** How long a group that failed on every node waits before trying them all again. */
    static final Duration PENDING_RETRY = Duration.ofSeconds(60);

    private final ClusterSpec spec;
    /**
     * The last step's state and its indexed groups: a step that continues from exactly that state
     * (the engine's every step) starts from the table instead of indexing every group again. A
     * memo only: the result is the same either way.
     */
    private ClusterState lastState;
    private GroupTable lastTable;

    /** What one step produced. */
    public record Step(ClusterState state, List<Command> commands, List<String> log) {}

    /** The groups the configuration in force has (the others in {@link #spec} are being retired). */
    private final java.util.Set<String> configured;
    /** Groups no longer configured that the state still holds: taken offline, then dropped. */
    private final java.util.TreeSet<String> retiring = new java.util.TreeSet<>();
    /** New groups to start where their VM already runs ({@code havm vm import}): group to node. */
    private final java.util.Map<String, String> adopt = new java.util.TreeMap<>();
    /** Retiring groups to drop without stopping them ({@code havm vm release}). */
    private final java.util.Set<String> released = new java.util.TreeSet<>();
    private final long configVersion;

    public Coordinator(ClusterSpec spec) {
        this(spec, spec.groups().keySet(), 0);
    }

    private Coordinator(ClusterSpec spec, java.util.Set<String> configured, long configVersion) {
        this.spec = spec;
        this.configured = java.util.Set.copyOf(configured);
        this.configVersion = configVersion;
    }

    /**
     * The coordinator for configuration version {@code version} ({@code next}), continuing from
     * {@code state}: groups {@code state} holds that {@code next} no longer has keep their
     * definitions from {@code known} (every definition this process has seen) until they are
     * offline and dropped. Apply {@link Input.ConfigChanged} with it next.
     */
    public static Coordinator forConfig(ClusterSpec next, long version, ClusterSpec known, ClusterState state) {
        return forConfig(next, version, known, state, java.util.Map.of(), java.util.Set.of());
    }

    /**
     * As {@link #forConfig(ClusterSpec, long, ClusterSpec, ClusterState)}, with the handovers of
     * {@code havm vm import | release}: a new group in {@code adopt} starts where its VM already
     * runs (that node, when it is up), not where placement would put it; a group the configuration
     * no longer has that is in {@code release} leaves the state without being taken offline (its
     * VM keeps running, no longer managed).
     */
    public static Coordinator forConfig(ClusterSpec next, long version, ClusterSpec known, ClusterState state,
            java.util.Map<String, String> adopt, java.util.Set<String> release) {
        java.util.List<String> gone = new ArrayList<>();
        for (String g : state.groups().keySet()) {
            if (!next.groups().containsKey(g)) {
                gone.add(g);
            }
        }
        Coordinator c = new Coordinator(next.retaining(known, gone), next.groups().keySet(), version);
        c.retiring.addAll(gone);
        // An import is pending while its group is not in the state yet, or waits for the node it
        // was imported onto; once online anywhere, that node's agent knows it (see adopted()).
        adopt.forEach((g, on) -> {
            ClusterState.Group was = state.groups().get(g);
            if (was == null || (was.phase() == GroupPhase.AWAITING_FENCE && on.equals(was.node()))) {
                c.adopt.put(g, on);
            }
        });
        for (String g : release) {
            if (gone.contains(g)) {
                c.released.add(g);
            }
        }
        return c;
    }

    /**
     * A new group's node to adopt it on (where its VM already runs), or null; null too once it has
     * been online (its node's agent has known it since, so a self-fence there stops it).
     */
    String adoptOn(String group) {
        return adopt.get(group);
    }

    /** The imported group went online: its import is done. */
    void adopted(String group) {
        adopt.remove(group);
    }

    /** Whether a retiring group is released (dropped running) rather than taken offline. */
    boolean released(String group) {
        return released.contains(group);
    }

    /** The configuration version this coordinator decides for (0: one given directly). */
    public long configVersion() {
        return configVersion;
    }

    boolean configured(String group) {
        return configured.contains(group);
    }

    java.util.SortedSet<String> retiring() {
        return retiring;
    }

    public ClusterSpec spec() {
        return spec;
    }

    /** No node has joined yet; groups wait for a node (or stay offline when autoStart is off). */
    public ClusterState initial() {
        TreeMap<String, ClusterState.Group> groups = new TreeMap<>();
        for (GroupSpec g : spec.groups().values()) {
            groups.put(g.name(), ClusterState.Group.offline(g.name(), g.autoStart()));
        }
        return new ClusterState(new TreeMap<>(), groups, null, null, null);
    }

    /**
     * How long the coordinator waits for the answer to the command a group in {@code phase}
     * awaits, from the moment it sends it. The agent's own work is bounded by the resources'
     * {@code pendingTimeout}:
     * <ul>
     *   <li>Online, Offline, Terminate: the resources go one after another, so the sum of their
     *       pending timeouts;</li>
     *   <li>Move: the source's half (offline action, save, or migration out) and the target's
     *       half (online, restore), each bounded like an Offline and an Online: twice the sum;</li>
     *   <li>Restart of one resource: it and its dependents go down and come back: twice the sum
     *       of their pending timeouts.</li>
     * </ul>
     * Plus {@code timers.sessionTimeout}: a command and its answer may wait in the store that long
     * while the node is cut off within its session, and an agent that hits its own timeout still
     * answers (failed) a little after it.
     */
    public Duration budget(String group, GroupPhase phase, String resource) {
        GroupSpec gs = spec.groups().get(group);
        Duration all = Duration.ZERO;
        for (ResourceSpec r : gs.resources().values()) {
            all = all.plus(r.pendingTimeout());
        }
        Duration work = all;
        if (phase == GroupPhase.MOVING) {
            work = all.multipliedBy(2);
        } else if (phase == GroupPhase.RESTARTING && gs.resources().containsKey(resource)) {
            Duration some = gs.resources().get(resource).pendingTimeout();
            for (String d : Dependencies.dependents(gs, resource)) {
                some = some.plus(gs.resources().get(d).pendingTimeout());
            }
            work = some.multipliedBy(2);
        }
        return work.plus(spec.timers().sessionTimeout());
    }

    Duration budget(ClusterState.Group g) {
        return budget(g.name(), g.phase(), g.restarting());
    }

    public Step apply(ClusterState state, Input input, Instant now) {
        return apply(state, List.of(input), now);
    }

    /**
     * Applies every input that arrived together, then schedules once: a cluster that forms with
     * several nodes at once places groups across all of them, not all on the first to join.
     */
    public synchronized Step apply(ClusterState state, List<Input> inputs, Instant now) {
        GroupTable table = state == lastState ? lastTable : null;
        lastState = null; // the table is about to change: good for this step only
        lastTable = null;
        StepContext c = new StepContext(this, state, now, table);
        for (Input input : inputs) {
            handle(c, input);
        }
        c.scheduling.schedule();
        c.operators.dropRetired();
        c.dropSuperseded();
        Step step = new Step(c.state(), c.commands, c.log);
        lastState = step.state();
        lastTable = c.groups;
        return step;
    }

    private void handle(StepContext c, Input input) {
        if (input instanceof Input.NodeUp in) {
            c.membership.nodeUp(in.node(), in.running());
        } else if (input instanceof Input.NodeLost in) {
            c.membership.nodeLost(in.node());
        } else if (input instanceof Input.NodeLeft in) {
            c.membership.nodeLeft(in.node());
        } else if (input instanceof Input.AgentStarted in) {
            c.membership.agentStarted(in.node());
        } else if (input instanceof Input.StoppedEverything in) {
            c.membership.stoppedEverything(in.node());
        } else if (input instanceof Input.Announced in) {
            c.fencing.announced(in.node());
        } else if (input instanceof Input.Fenced in) {
            c.fencing.fenced(in.node(), in.off(), in.detail());
        } else if (input instanceof Input.Onlined in) {
            c.fencing.heard(in.node());
            c.answers.onlined(in.group(), in.node(), in.ok(), in.detail(), in.attempt());
        } else if (input instanceof Input.Offlined in) {
            c.fencing.heard(in.node());
            c.answers.offlined(in.group(), in.node(), in.ok(), in.detail(), in.attempt());
        } else if (input instanceof Input.Terminated in) {
            c.fencing.heard(in.node());
            c.answers.terminated(in.group(), in.node(), in.ok(), in.detail(), in.attempt());
        } else if (input instanceof Input.Restarted in) {
            c.fencing.heard(in.node());
            c.answers.restarted(in.group(), in.resource(), in.node(), in.ok(), in.attempt());
        } else if (input instanceof Input.ResourceFailed in) {
            c.fencing.heard(in.node());
            c.answers.resourceFailed(in.group(), in.resource(), in.node(), in.detail());
        } else if (input instanceof Input.Moved in) {
            c.fencing.heard(in.from()); // a move runs on its source's agent
            c.answers.moved(in.group(), in.from(), in.to(), in.ok(), in.detail(), in.attempt());
        } else if (input instanceof Input.ConfigChanged in) {
            c.operators.configChanged(in.version());
        } else if (input instanceof Input.Tick in) {
            c.fencing.tick();
        } else if (input instanceof Input.Elected in) {
            c.fencing.elected();
        } else if (input instanceof Input.MoveGroup in) {
            c.operators.moveGroup(in.group(), in.to(), in.mode());
        } else if (input instanceof Input.GroupOnline in) {
            c.operators.groupOnline(in.group());
        } else if (input instanceof Input.GroupOffline in) {
            c.operators.groupOffline(in.group());
        } else if (input instanceof Input.DrainNode in) {
            c.operators.drain(in.node(), false);
        } else if (input instanceof Input.ResumeNode in) {
            c.operators.resume(in.node(), in.failback());
        } else if (input instanceof Input.ShutdownNode in) {
            c.operators.drain(in.node(), true);
        } else {
            throw new IllegalArgumentException("unknown input " + input);
        }
    }
}
