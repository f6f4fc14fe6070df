package io.havm.policy;

import io.havm.model.ClusterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongFunction;

/**
 * One step's working copy of the cluster state, and the only way the rules change it: every
 * group's phase change goes through {@link #set}, which checks it against {@link Transitions} and
 * logs it in the one fixed format; every command goes through {@link #command}.
 */
final class StepContext {
    final Coordinator coordinator;
    final ClusterSpec spec;
    final TreeMap<String, ClusterState.Node> nodes;
    final GroupTable groups;
    /** Where groups may go, on this step's working copy (see {@link Placement}). */
    final Placement placement;
    final Instant now;
    final List<Command> commands = new ArrayList<>();
    final List<String> log = new ArrayList<>();
    Instant firstNodeUpAt;
    Instant formedAt;
    final java.util.TreeSet<String> failbackTo;
    /** A node joined, was lost or left in this step: worth saying what forming still waits for. */
    boolean membershipChanged;
    /** Whether an illegal transition throws rather than being refused (see {@link Transitions#STRICT}). */
    boolean strict = Transitions.STRICT;
    /** Commands of this step whose answer their group waits for, with the group. */
    final Map<Command, String> awaited = new java.util.LinkedHashMap<>();

    // The rules, one per kind of input; each reads and changes this working copy.
    final Membership membership;
    final Fencing fencing;
    final Answers answers;
    final Operators operators;
    final Scheduling scheduling;

    StepContext(Coordinator coordinator, ClusterState s, Instant now) {
        this(coordinator, s, now, null);
    }

    /** With {@code table} holding exactly {@code s}'s groups (the previous step's), or null to index them. */
    StepContext(Coordinator coordinator, ClusterState s, Instant now, GroupTable table) {
        this.coordinator = coordinator;
        this.spec = coordinator.spec();
        this.nodes = new TreeMap<>(s.nodes());
        this.groups = table != null ? table : new GroupTable(spec, s.groups());
        this.placement = new Placement(spec, nodes, groups);
        this.now = now;
        this.firstNodeUpAt = s.firstNodeUpAt();
        this.formedAt = s.formedAt();
        this.failbackTo = new java.util.TreeSet<>(s.failbackTo());
        if (firstNodeUpAt == null && formedAt == null && !nodes.isEmpty()) {
            // State written before the startup grace existed: that cluster formed long ago.
            firstNodeUpAt = now;
            formedAt = now;
        }
        this.membership = new Membership(this);
        this.fencing = new Fencing(this);
        this.answers = new Answers(this);
        this.operators = new Operators(this);
        this.scheduling = new Scheduling(this);
    }

    /** The state this step leaves. */
    ClusterState state() {
        return new ClusterState(nodes, groups.asMap(), firstNodeUpAt, formedAt, failbackTo);
    }

    // ------------------------------------------------------------ logging and transitions

    /**
     * Changes a group (its phase, its node) because of {@code event}, and logs the change. A change
     * the state machine ({@link Transitions}) does not list fails under tests; in production it is
     * logged and refused, and the group stays as it was.
     *
     * @return whether the change was made
     */
    boolean set(ClusterState.Group next, GroupEvent event, String why) {
        ClusterState.Group before = groups.get(next.name());
        if (before != null && !Transitions.allowed(before.phase(), event, next.phase())) {
            String line = "- group " + next.name() + ": illegal transition " + before.phase().word() + " --" + event
                    + "--> " + next.phase().word() + " refused (" + why + ")";
            if (strict) {
                throw new IllegalStateException(line);
            }
            note(line);
            return false;
        }
        ClusterState.Group prev = groups.put(next.name(), next);
        if (next.phase() == GroupPhase.ONLINE) {
            coordinator.adopted(next.name());
        }
        if (prev == null || prev.phase() != next.phase() || !eq(prev.node(), next.node())) {
            String where = next.node() != null ? next.node() : prev != null && prev.node() != null ? prev.node() : "-";
            log.add(where + " group " + next.name() + ": " + describe(prev) + " -> " + describe(next) + " (" + why
                    + ")");
        }
        return true;
    }

    String describe(ClusterState.Group g) {
        if (g == null) {
            return "none";
        }
        if (g.work() instanceof ClusterState.Moving m) {
            return "moving " + m.from() + "->" + m.to() + " " + m.mode().word;
        }
        return switch (g.phase()) {
            case OFFLINE, PENDING, FAILED -> g.phase().word();
            default -> g.phase().word() + " on " + g.node();
        };
    }

    void setNode(ClusterState.Node next, String why) {
        ClusterState.Node prev = nodes.put(next.name(), next);
        String from = prev == null ? "unknown" : word(prev);
        String to = word(next);
        if (!from.equals(to)) {
            log.add(next.name() + " node: " + from + " -> " + to + " (" + why + ")");
        }
    }

    String word(ClusterState.Node n) {
        return n.status().word() + (n.unresponsive() && n.status() == NodeStatus.UP ? "/unresponsive" : "")
                + (n.draining() ? "/draining" : n.paused() ? "/paused" : "");
    }

    void command(Command cmd) {
        commands.add(cmd);
        log.add("  command " + describe(cmd));
    }

    String describe(Command cmd) {
        if (cmd instanceof Command.Online x) {
            return "online " + x.group() + " on " + x.node();
        }
        if (cmd instanceof Command.Offline x) {
            return "offline " + x.group() + " on " + x.node();
        }
        if (cmd instanceof Command.Terminate x) {
            return "terminate " + x.group() + " on " + x.node();
        }
        if (cmd instanceof Command.Restart x) {
            return "restart " + x.group() + "/" + x.resource() + " on " + x.node();
        }
        if (cmd instanceof Command.Move x) {
            return "move " + x.group() + " " + x.from() + " -> " + x.to() + " " + x.mode().word;
        }
        if (cmd instanceof Command.Fence x) {
            return "fence " + x.node();
        }
        if (cmd instanceof Command.ShutdownNode x) {
            return "shutdown node " + x.node();
        }
        throw new IllegalArgumentException("unknown command " + cmd);
    }

    void note(String line) {
        log.add(line);
    }

    /**
     * Moves the group to {@code next} (see {@link #set}) and sends the command that phase waits for, with the
     * group's next attempt number and a deadline from its {@link #budget}. False when the transition
     * was refused (nothing sent).
     */
    boolean await(ClusterState.Group next, GroupEvent event, String why, LongFunction<Command> make) {
        long attempt = next.ops() + 1;
        if (!set(next.awaiting(attempt, now.plus(budget(next))), event, why)) {
            return false; // refused: the group does not wait for it
        }
        Command cmd = make.apply(attempt);
        awaited.put(cmd, next.name());
        command(cmd);
        return true;
    }

    /**
     * Takes back, before they are sent, the commands of this step that their group no longer
     * waits for: later inputs of the same step moved it on (its node was lost and came back, say),
     * and the state accounts for none of their effects.
     */
    void dropSuperseded() {
        for (Map.Entry<Command, String> e : awaited.entrySet()) {
            ClusterState.Group g = groups.get(e.getValue());
            if (g.attempt() != Command.attemptOf(e.getKey()) && unsend(e.getKey())) {
                note("- group " + g.name() + ": " + describe(e.getKey()) + " not sent: superseded in the same"
                        + " step (now " + describe(g) + ")");
            }
        }
    }

    /** Takes back a command decided earlier in this step (not yet sent); true if there was one. */
    boolean unsend(Command c) {
        int i = commands.lastIndexOf(c);
        if (i < 0) {
            return false;
        }
        commands.remove(i);
        log.remove(log.lastIndexOf("  command " + describe(c)));
        return true;
    }

    /** Sends a command whose answer nothing waits for (a stray copy's Terminate). */
    void send(String group, LongFunction<Command> make) {
        ClusterState.Group g = groups.get(group);
        long attempt = g.ops() + 1;
        groups.put(group, g.used(attempt));
        command(make.apply(attempt));
    }

    String secs(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s"
                : String.format(java.util.Locale.ROOT, "%.3f s", d.toMillis() / 1000.0);
    }

    List<Instant> within(List<Instant> times, Duration period) {
        Instant since = now.minus(period);
        List<Instant> out = new ArrayList<>();
        for (Instant t : times) {
            if (t.isAfter(since)) {
                out.add(t);
            }
        }
        return out;
    }

    Duration budget(ClusterState.Group g) {
        return coordinator.budget(g);
    }

    static boolean eq(String a, String b) {
        return a == null ? b == null : a.equals(b);
    }
}
