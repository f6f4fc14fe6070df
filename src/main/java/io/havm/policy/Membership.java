package io.havm.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Membership: nodes joining, rejoining with a new session, being lost and leaving. A lost node's
 * groups wait for it to be proven off ({@link Fencing}); a node that comes back is reconciled with
 * what it reports running.
 */
final class Membership extends Rules {
    Membership(StepContext c) {
        super(c);
    }

    void nodeUp(String n, Set<String> running) {
        if (spec.node(n).isEmpty()) {
            note(n + " node: not in the configuration: ignored");
            return;
        }
        ClusterState.Node prev = nodes.get(n);
        ClusterState.Node next = prev == null ? ClusterState.Node.up(n) : prev.cameBack();
        setNode(next, prev == null ? "joined" : "rejoined");
        c.membershipChanged = true;
        if (unsend(new Command.Fence(n))) {
            // Lost and back within one step (inputs that piled up while nobody led): its new
            // session reports what runs there; powering it off now would only kill what we place.
            note(n + " node: back before its fence was sent: fence cancelled");
        }
        if (c.firstNodeUpAt == null) {
            c.firstNodeUpAt = now; // the startup grace runs from here
        }
        if (prev != null && prev.status() == NodeStatus.UP) {
            note(n + " node: new incarnation (restarted without its loss being seen): reconciling");
            restarted(n, running);
        } else if (prev != null) {
            // Whatever was sent to its previous session is gone with it: nothing may still wait for it.
            restarted(n, running);
        }
        // Only the groups about n, and those it reports running, can be concerned.
        java.util.TreeSet<String> concerned = new java.util.TreeSet<>(groups.about(n));
        concerned.addAll(running);
        List<ClusterState.Group> snapshot = new ArrayList<>();
        for (String name : concerned) {
            if (groups.get(name) != null) {
                snapshot.add(groups.get(name));
            }
        }
        for (ClusterState.Group g : snapshot) {
            boolean runsHere = running.contains(g.name());
            if (g.phase() == GroupPhase.AWAITING_FENCE && n.equals(g.node())) {
                String otherEnd = ((ClusterState.AwaitingFence) g.work()).otherEnd();
                ClusterState.Node other = otherEnd == null ? null : nodes.get(otherEnd);
                if (runsHere) {
                    set(g.to(GroupPhase.ONLINE, n), GroupEvent.NODE_BACK, "owner " + n + " is back and still runs it");
                } else if (other != null && other.status() == NodeStatus.UP) {
                    // It was moving (or being terminated on both ends): the other end may still be
                    // executing the move towards n, so n's report may be overtaken. Unlike a fence, a
                    // report proves nothing here: the interrupted-move rule applies.
                    String src = otherEnd;
                    await(g.failing(src, n).withRetryAt(null), GroupEvent.NODE_BACK, "owner " + n
                            + " is back and reports it stopped, but the move's other end " + src + " may still be"
                            + " moving it: terminate on " + src + ", then on " + n,
                            a -> new Command.Terminate(g.name(), src, a));
                } else if (n.equals(c.coordinator.adoptOn(g.name()))) {
                    // Imported onto n while n was cut off: n's report may predate the version that
                    // added the group, so it proves nothing about its VM. Adopted there now: an
                    // Online finds the VM running and keeps it (or starts it where it was).
                    c.scheduling.start(g.withRetryAt(null), n, GroupEvent.NODE_BACK, "owner " + n
                            + " is back: adopted there, where its VM was imported (its report may predate the import)");
                } else {
                    c.fencing.recoverGroup(g, n, GroupEvent.NODE_BACK,
                            "owner " + n + " is back and reports it stopped");
                }
            } else if (runsHere && g.phase() == GroupPhase.MOVING && n.equals(g.node())) {
                continue; // reconciled above, or the move's answer is on its way
            } else if (runsHere && !(n.equals(g.node()) && g.phase().mayRun())
                    && !(g.phase() == GroupPhase.MOVING && n.equals(g.from()))) {
                if (g.phase().mayRun()) {
                    // Known to run (or start) elsewhere: this copy must go at once.
                    note(n + " group " + g.name() + ": reported running on rejoining " + n + " while "
                            + describe(g) + ": terminating the stray copy");
                    send(g.name(), a -> new Command.Terminate(g.name(), n, a));
                } else {
                    set(g.to(GroupPhase.ONLINE, n).want(g.wantOnline()), GroupEvent.FOUND_RUNNING,
                            "found running on " + n);
                }
            }
        }
        // A node coming back gives groups that failed (to start, to move) elsewhere a new chance.
        for (ClusterState.Group g : groups.withTried()) {
            if (g.phase() == GroupPhase.PENDING || g.phase() == GroupPhase.ONLINE) {
                groups.put(g.name(), g.withTried(Set.of()));
            }
        }
    }

    /**
     * A node we thought up came back with a new session (its agent or host restarted unseen):
     * what it reports running is the truth; everything we believed about it is reconciled.
     */
    void restarted(String n, Set<String> running) {
        for (ClusterState.Group g : groups.on(n)) {
            boolean runsHere = running.contains(g.name());
            boolean target = n.equals(g.node());
            boolean source = n.equals(g.from());
            if (!(target || source) || !g.phase().mayRun() || g.phase() == GroupPhase.AWAITING_FENCE) {
                continue;
            }
            switch (g.phase()) {
                case MOVING -> {
                    // Either end may still run the VM or be executing the move: terminate on the
                    // source, then on the target, then fail over (terminated() walks the chain).
                    ClusterState.Moving m = (ClusterState.Moving) g.work();
                    String src = m.from();
                    String dst = m.to();
                    await(g.failing(src, dst).withRetryAt(null), GroupEvent.NODE_RESTARTED,
                            "move interrupted: " + n + " restarted; terminate on " + src + ", then on " + dst,
                            a -> new Command.Terminate(g.name(), src, a));
                }
                case ONLINE, RESTARTING, STARTING, STOPPING, FAILING -> {
                    if (runsHere && (g.phase() == GroupPhase.ONLINE || g.phase() == GroupPhase.STARTING)) {
                        if (g.phase() == GroupPhase.STARTING) {
                            set(g.to(GroupPhase.ONLINE, n).withTried(Set.of()), GroupEvent.NODE_RESTARTED,
                                    n + " restarted and runs it");
                        }
                    } else {
                        // Its report may predate a command still queued for it: never abandon a node
                        // that might start the group; terminate there first, then fail over. Terminating
                        // an interrupted move's two ends keeps the other end in the chain.
                        String other = g.phase() != GroupPhase.FAILING || g.from() == null ? null
                                : n.equals(g.node()) ? g.from() : g.node();
                        await(g.failing(n, other), GroupEvent.NODE_RESTARTED, n + " restarted; "
                                + (runsHere ? "it runs it" : "it reports it stopped")
                                + ": terminate there before anything else", a -> new Command.Terminate(g.name(), n, a));
                    }
                }
                default -> { }
            }
        }
    }

    /**
     * A fenced node that was evicted while a member (its agent left a command unanswered) and
     * acknowledged its fence request: its groups are proven stopped, its session stays. Without
     * this it would stay fenced for as long as that agent process lives, since only the end of
     * its session ends an eviction; now a member again, it rejoins.
     */
    void stoppedEverything(String n) {
        // only a storage fence leaves a fenced node a member on purpose: its acknowledgement is the
        // proof; a power-fenced member is one whose session has yet to end, which the policy awaits
        if (spec.node(n).map(ns -> ns.fencing() != null && ns.fencing().storage()).orElse(false)) {
            evictionOver(n, true, "stopped every group on its fence request and lives on: it may join again");
        }
    }

    /** A new agent process on a node evicted for not answering: the old one's session is over. */
    void agentStarted(String n) {
        evictionOver(n, false, "a new agent process started: the one that did not answer is gone");
    }

    /** Ends the eviction of {@code n} as its session's end would; a member again, it then rejoins. */
    private void evictionOver(String n, boolean onlyFenced, String why) {
        ClusterState.Node prev = nodes.get(n);
        if (prev == null || !prev.unresponsive() || prev.status() == NodeStatus.UP
                || onlyFenced && prev.status() != NodeStatus.FENCED) {
            return;
        }
        nodes.put(n, prev.sessionEnded(now));
        c.membershipChanged = true;
        note(n + " node: " + why);
    }

    void nodeLost(String n) {
        ClusterState.Node prev = nodes.get(n);
        if (prev != null && prev.unresponsive() && prev.status() != NodeStatus.UP) {
            // A node fenced for not answering while still a member: its session has ended now.
            ClusterState.Node ended = prev.sessionEnded(now);
            c.membershipChanged = true;
            if (prev.status() == NodeStatus.LOST && prev.fenceInFlight()
                    && c.commands.contains(new Command.Fence(n))) {
                // A new coordinator already sent the fence again in this very step (its predecessor's died with it).
                nodes.put(n, ended);
                note(n + " node: session expired before its fence was confirmed; its self-fence deadline"
                        + " runs from now; the fence sent again in this step stands");
            } else if (prev.status() == NodeStatus.LOST && prev.fenceInFlight()) {
                // The coordinator that sent the fence may have run on that very node and died
                // with it, taking the fence's answer along: fence again (twice off is still off).
                nodes.put(n, ended.fencing(true, prev.fenceAttempts(), null));
                note(n + " node: session expired before its fence was confirmed; its self-fence deadline"
                        + " runs from now; fence it again");
                command(new Command.Fence(n));
            } else {
                nodes.put(n, ended);
                note(n + " node: session expired" + (prev.status() == NodeStatus.LOST
                        ? "; its self-fence deadline runs from now" : ""));
            }
            return;
        }
        if (prev == null || prev.status() != NodeStatus.UP) {
            return;
        }
        lose(prev.lost(now), GroupEvent.NODE_LOST, "session expired", "owner " + n + " lost");
    }

    /**
     * The node is lost (or declared so): every group that may run there waits for it to be
     * proven off, and a fence agent, if it has one, is asked to make sure.
     */
    void lose(ClusterState.Node lost, GroupEvent event, String why, String groupWhy) {
        String n = lost.name();
        boolean fenceable = spec.node(n).map(ns -> ns.fencing() != null).orElse(false);
        if (fenceable) {
            lost = lost.fencing(true, 0, now);
        }
        setNode(lost, why);
        c.membershipChanged = true;
        for (ClusterState.Group g : groups.on(n)) {
            if (!g.phase().mayRun() || g.phase() == GroupPhase.AWAITING_FENCE) {
                continue;
            }
            if (!g.involves(n)) {
                continue;
            }
            // The other end of a move (or of an interrupted one being terminated) may already run
            // it: prefer it once the lost node is fenced.
            String other = null;
            if (g.phase() == GroupPhase.MOVING || g.phase() == GroupPhase.FAILING && g.from() != null) {
                other = n.equals(g.from()) ? g.node() : g.from();
            }
            set(g.awaitingFence(n, other).withTried(Set.of()).withRetryAt(null), event, groupWhy);
        }
        if (fenceable) {
            command(new Command.Fence(n));
        } else if (spec.timers().recoveryWithoutFence() == null) {
            note(n + " node: no fence agent and no recoveryWithoutFence: its groups wait for it to return");
        }
    }

    void nodeLeft(String n) {
        ClusterState.Node prev = nodes.get(n);
        if (prev == null) {
            return;
        }
        c.membershipChanged = true;
        for (ClusterState.Group g : groups.on(n)) {
            if (g.phase().mayRun() && g.involves(n)) {
                // A clean leave with groups still there is not clean: treat it as a loss.
                nodes.put(n, prev.with(NodeStatus.UP));
                nodeLost(n);
                return;
            }
        }
        setNode(prev.with(NodeStatus.DOWN).paused(false, false, false).fencing(false, 0, null), "left the cluster");
        if (c.unsend(new Command.Fence(n))) {
            // its session's end came first in this step (it closed the session as it left): a clean leave
            note(n + " node: left cleanly: the fence decided for its session's end is not sent");
        }
    }
}
