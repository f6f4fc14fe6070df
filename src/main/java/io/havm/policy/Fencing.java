package io.havm.policy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Fencing: fence agents' answers, self-fence deadlines, fence retries, unresponsive agents, and
 * the recovery of a lost node's groups once it is proven off.
 */
final class Fencing extends Rules {
    Fencing(StepContext c) {
        super(c);
    }

    void fenced(String n, boolean off, String detail) {
        ClusterState.Node node = nodes.get(n);
        if (off && node != null && node.status() == NodeStatus.FENCED && awaitsAdopted(n)) {
            // fenced by its self-fence deadline, which did not count for a VM imported onto it
            // (recoverFrom): this answer proves that VM off too
            note(n + " node: fence answer '" + detail + "': its imported groups may go elsewhere now");
            recoverFrom(n, GroupEvent.FENCE_CONFIRMED);
            return;
        }
        if (node == null || node.status() != NodeStatus.LOST) {
            note(n + " node: fence answer '" + detail + "' ignored (node is "
                    + (node == null ? "unknown" : node.status().word()) + ")");
            return;
        }
        if (off) {
            setNode(node.with(NodeStatus.FENCED).fencing(false, node.fenceAttempts(), null), "fenced: " + detail);
            recoverFrom(n, GroupEvent.FENCE_CONFIRMED);
        } else {
            int attempts = node.fenceAttempts() + 1;
            nodes.put(n, node.fencing(false, attempts, now.plus(spec.timers().fenceRetry())));
            note(n + " node: fence attempt " + attempts + " failed (" + detail + "): retry in "
                    + spec.timers().fenceRetry().toMillis() + " ms; its groups stay down until it is fenced");
        }
    }

    void announced(String n) {
        ClusterState.Node node = nodes.get(n);
        if (node != null && node.status() == NodeStatus.LOST && node.announcedAt() == null) {
            nodes.put(n, node.announced(now));
            note(n + " node: its loss is on the heartbeat storage"
                    + (spec.timers().recoveryWithoutFence() == null ? "" : "; its self-fence deadline runs from now"));
        }
    }

    void tick() {
        for (ClusterState.Node n : new ArrayList<>(nodes.values())) {
            if (n.status() != NodeStatus.LOST) {
                continue;
            }
            Duration wait = spec.timers().recoveryWithoutFence();
            // A node evicted while still a member is not cut off, so it does not fence itself:
            // its deadline starts only when its session ends. With a second channel a cut-off
            // node stops when it reads that it is lost: the deadline runs from when that was
            // written (or never, while the coordinator cannot write it).
            Instant from = spec.heartbeat() == null ? n.lostAt() : n.announcedAt();
            if (wait != null && !n.unresponsive() && from != null && !now.isBefore(from.plus(wait))) {
                setNode(n.with(NodeStatus.FENCED).fencing(false, n.fenceAttempts(), null),
                        "self-fence deadline passed (" + wait.toMillis() + " ms after "
                                + (spec.heartbeat() == null ? "session expiry" : "its loss reached the heartbeat storage")
                                + ")");
                recoverFrom(n.name(), GroupEvent.SELF_FENCE_DEADLINE);
                continue;
            }
            boolean fenceable = spec.node(n.name()).map(s -> s.fencing() != null).orElse(false);
            if (fenceable && !n.fenceInFlight() && n.nextFenceAt() != null && !now.isBefore(n.nextFenceAt())) {
                nodes.put(n.name(), n.fencing(true, n.fenceAttempts(), null));
                command(new Command.Fence(n.name()));
            }
        }
        for (String name : new ArrayList<>(groups.keySet())) {
            ClusterState.Group g = groups.get(name);
            if (g.deadline() != null && !now.isBefore(g.deadline())) {
                c.answers.expired(g);
            }
        }
    }

    /**
     * A new coordinator took office: a fence its predecessor had in flight will never be
     * answered (it ran in that process). Without this, the persisted fenceInFlight kept the
     * node from ever being fenced again and its groups waited in awaiting-fence for good.
     */
    void elected() {
        for (ClusterState.Node n : new ArrayList<>(nodes.values())) {
            if (n.status() == NodeStatus.LOST && n.fenceInFlight()) {
                nodes.put(n.name(), n.fencing(true, n.fenceAttempts(), null));
                note(n.name() + " node: its fence was in flight when the previous coordinator stopped: fence again");
                command(new Command.Fence(n.name()));
            }
        }
    }

    /**
     * A Terminate got no answer: the node's agent is unresponsive and may still run (or start)
     * the group. Fence it like a lost node, or, without a fence agent, keep the group waiting
     * for proof that it runs nowhere.
     */
    void unresponsive(ClusterState.Group g, GroupEvent event, String why) {
        String n = g.node();
        ClusterState.Node node = nodes.get(n);
        boolean fenceable = spec.node(n).map(ns -> ns.fencing() != null).orElse(false);
        if (node != null && node.status() == NodeStatus.UP && fenceable) {
            c.membership.lose(node.evicted(now), GroupEvent.NODE_EVICTED, why + ": fence it",
                    "owner " + n + " does not answer");
            return;
        }
        if (node != null && node.status() == NodeStatus.UP) {
            setNode(node.unresponsive(true), why + "; no fence agent: it takes no new groups until it answers");
        }
        set(g.awaitingFence(n, ((ClusterState.Failing) g.work()).thenOn()), event, "no answer from " + n
                + "; waits until " + n
                + " answers again or its session ends");
    }

    /**
     * An answer (any) from an unresponsive node without a fence agent: its agent works again.
     * The groups that waited for it are terminated there before they go anywhere else.
     */
    void heard(String n) {
        ClusterState.Node node = nodes.get(n);
        if (node == null || node.status() != NodeStatus.UP || !node.unresponsive()) {
            return;
        }
        setNode(node.unresponsive(false), "answers again");
        for (ClusterState.Group g : groups.on(n)) {
            if (g.phase() == GroupPhase.AWAITING_FENCE && n.equals(g.node())) {
                await(g.failing(n, ((ClusterState.AwaitingFence) g.work()).otherEnd()), GroupEvent.NODE_ANSWERS,
                        n + " answers again and may run it: terminate there"
                        + " before anything else", a -> new Command.Terminate(g.name(), n, a));
            }
        }
    }

    /**
     * The lost node is proven off: start its groups elsewhere, in priority order. A self-fence
     * deadline proves off only what the node's agent knew it ran: not a VM imported onto it
     * (havm vm import) while it was cut off. That one waits for a real fence, or for the node to
     * report it.
     */
    void recoverFrom(String n, GroupEvent event) {
        List<String> order = new ArrayList<>();
        for (ClusterState.Group g : groups.on(n)) {
            if (g.phase() == GroupPhase.AWAITING_FENCE && n.equals(g.node())) {
                if (event == GroupEvent.SELF_FENCE_DEADLINE && n.equals(c.coordinator.adoptOn(g.name()))) {
                    note("group " + g.name() + ": imported onto " + n + " after its agent was cut off, so its"
                            + " self-fence spares the VM: it waits for a fence agent's answer or for " + n
                            + " to report it");
                    continue;
                }
                order.add(g.name());
            }
        }
        order.sort(Placement.priorityOrder(spec));
        for (String name : order) {
            recoverGroup(groups.get(name), n, event, n + " fenced");
        }
    }

    /** Whether a group imported onto {@code n} waits for n's fence (see {@link #recoverFrom}). */
    private boolean awaitsAdopted(String n) {
        for (ClusterState.Group g : groups.on(n)) {
            if (g.phase() == GroupPhase.AWAITING_FENCE && n.equals(g.node())
                    && n.equals(c.coordinator.adoptOn(g.name()))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The group's awaited node {@code n} is proven not to run it (fenced, or back and reporting
     * it stopped). If it was moving, the other end may run it: wait for that end if it is
     * lost too, or ask it (Online there answers AlreadyRunning); else fail over.
     */
    void recoverGroup(ClusterState.Group g, String n, GroupEvent event, String why) {
        String name = g.name();
        String prefer = ((ClusterState.AwaitingFence) g.work()).otherEnd();
        ClusterState.Node other = prefer == null ? null : nodes.get(prefer);
        if (other != null && other.status() == NodeStatus.LOST) {
            set(g.awaitingFence(prefer, null).withTried(Set.of()).withRetryAt(null), event,
                    why + ", but the move's other end " + prefer + " is lost and not yet fenced");
            return;
        }
        if (!g.wantOnline()) {
            if (other != null && other.status() == NodeStatus.UP) {
                // Wanted offline, yet the other end may run it: stop it there before calling it offline.
                await(g.failing(prefer, null), event, why + "; group is wanted offline, but the move's other end "
                        + prefer + " may run it: terminate there", a -> new Command.Terminate(name, prefer, a));
            } else {
                set(g.to(GroupPhase.OFFLINE, null), event, why + "; group is wanted offline");
            }
            return;
        }
        ClusterState.Group reset = g.withTried(Set.of(n));
        if (other != null && other.status() == NodeStatus.UP) {
            c.scheduling.start(reset, prefer, event, why + "; the move's other end");
        } else {
            c.scheduling.failover(reset, Set.of(n), event, why);
        }
    }
}
