package io.havm.policy;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.MoveMode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Scheduling, once per step after every input: stop what is wanted offline, drain, place pending
 * groups (once the cluster has formed), fail back; and the failover every other rule ends in.
 */
final class Scheduling extends Rules {
    Scheduling(StepContext c) {
        super(c);
    }

    void start(ClusterState.Group g, String node, GroupEvent event, String why) {
        await(g.to(GroupPhase.STARTING, node), event, why, a -> new Command.Online(g.name(), node, a));
    }

    /** Start the group on the best node other than {@code exclude}, counting a failover. */
    void failover(ClusterState.Group g, Set<String> exclude, GroupEvent event, String why) {
        GroupSpec gs = spec.groups().get(g.name());
        List<Instant> recent = within(g.failovers(), gs.failoverPeriod());
        if (recent.size() >= gs.failoverThreshold()) {
            set(g.to(GroupPhase.FAILED, null), event, why + "; failover threshold " + gs.failoverThreshold() + " in "
                    + gs.failoverPeriod().toSeconds() + " s reached: left failed");
            return;
        }
        Optional<String> target = placement.choose(g.name(), exclude);
        if (target.isEmpty()) {
            set(g.to(GroupPhase.PENDING, null)
                    .withRetryAt(g.tried().isEmpty() ? null : now.plus(Coordinator.PENDING_RETRY)), event,
                    why + "; no node can take it now");
            return;
        }
        List<Instant> next = new ArrayList<>(recent);
        next.add(now);
        start(g.withFailovers(next), target.get(), event, why + "; failover " + next.size() + " of "
                + gs.failoverThreshold() + " to " + target.get());
    }

    boolean tryMove(ClusterState.Group g, String to, GroupEvent event, String why) {
        int limit = spec.migrationsPerHost();
        if (groups.movesInvolving(g.node()) >= limit || groups.movesInvolving(to) >= limit) {
            return false;
        }
        String from = g.node();
        return await(g.moving(from, to, MoveMode.LIVE), event, why,
                a -> new Command.Move(g.name(), from, to, MoveMode.LIVE, a));
    }

    /**
     * Whether the cluster has formed: every configured node was up at once, or the startup
     * grace since the first node was seen has run out. Until then groups that run nowhere wait.
     */
    boolean formed() {
        if (c.formedAt != null) {
            return true;
        }
        if (c.firstNodeUpAt == null) {
            return false; // no node yet: nowhere to place anything anyway
        }
        List<String> missing = new ArrayList<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            ClusterState.Node ns = nodes.get(n.name());
            if (ns == null || ns.status() != NodeStatus.UP) {
                missing.add(n.name());
            }
        }
        boolean waited = c.firstNodeUpAt.isBefore(now); // nothing to say when it formed in one step
        if (missing.isEmpty()) {
            c.formedAt = now;
            if (waited) {
                note("cluster: formed (all " + spec.nodes().size() + " nodes up): placing groups");
            }
            return true;
        }
        Instant until = c.firstNodeUpAt.plus(spec.timers().startupGrace());
        if (!now.isBefore(until)) {
            c.formedAt = now;
            if (waited) {
                note("cluster: startup grace expired (" + secs(spec.timers().startupGrace()) + ") without "
                        + String.join(", ", missing) + ": placing groups on the nodes that are up");
            }
            return true;
        }
        if (c.membershipChanged) {
            note("cluster: forming, waiting for " + String.join(", ", missing) + " (startup grace ends in "
                    + secs(Duration.between(now, until)) + ")");
        }
        return false;
    }

    void schedule() {
        boolean formed = formed();
        // 1. Wanted offline but online: stop.
        for (ClusterState.Group g : new ArrayList<>(groups.values())) {
            if (!g.wantOnline() && g.phase() == GroupPhase.ONLINE) {
                await(g.to(GroupPhase.STOPPING, g.node()), GroupEvent.WANTED_OFFLINE, "wanted offline",
                        a -> new Command.Offline(g.name(), g.node(), a));
            }
        }
        // 2. Drains, one move per host pair slot, priority order.
        for (ClusterState.Node n : new ArrayList<>(nodes.values())) {
            if (!n.draining()) {
                continue;
            }
            List<String> here = new ArrayList<>();
            boolean busy = false;
            for (String name : groups.about(n.name())) {
                ClusterState.Group g = groups.get(name);
                if (g.phase().mayRun()) {
                    busy = true;
                    if (g.phase() == GroupPhase.ONLINE) {
                        here.add(g.name());
                    }
                }
            }
            here.sort(Placement.priorityOrder(spec));
            for (String name : here) {
                Set<String> exclude = new TreeSet<>(groups.get(name).tried());
                exclude.add(n.name());
                Optional<String> to = placement.choose(name, exclude);
                if (to.isPresent()) {
                    tryMove(groups.get(name), to.get(), GroupEvent.DRAIN, "drain " + n.name());
                }
            }
            if (!busy) {
                setNode(n.paused(true, false, false), "drained");
                if (n.shutdownAfterDrain()) {
                    command(new Command.ShutdownNode(n.name()));
                }
            }
        }
        // 3. Pending groups, priority order.
        List<String> pending = new ArrayList<>();
        for (ClusterState.Group g : groups.values()) {
            if (g.phase() == GroupPhase.PENDING && g.wantOnline()) {
                pending.add(g.name());
            }
        }
        pending.sort(Placement.priorityOrder(spec));
        if (!formed) {
            pending.clear(); // startup grace: their preferred owners may still be booting
        }
        for (String name : pending) {
            ClusterState.Group g = groups.get(name);
            if (!g.tried().isEmpty() && g.retryAt() != null && !now.isBefore(g.retryAt())) {
                // Every node failed it once; after a while they all get another chance.
                g = g.withTried(Set.of()).withRetryAt(null);
                groups.put(name, g);
                note("- group " + name + ": retrying the nodes that failed to start it");
            }
            Optional<String> to = placement.choose(name, g.tried());
            if (to.isPresent()) {
                start(g, to.get(), GroupEvent.PLACED, "placed");
            }
        }
        // 4. Failback to nodes resumed with --failback, as migration slots allow. A group whose
        //    move there failed is not retried (no migration storm): it stays where it runs.
        for (String n : new ArrayList<>(c.failbackTo)) {
            ClusterState.Node node = nodes.get(n);
            boolean movingThere = groups.about(n).stream().map(groups::get)
                    .anyMatch(g -> g.phase() == GroupPhase.MOVING && n.equals(g.node()));
            List<ClusterState.Group> back = new ArrayList<>();
            List<String> gaveUp = new ArrayList<>();
            if (node != null && node.usable()) {
                for (ClusterState.Group g : wantBackTo(n)) {
                    if (g.tried().contains(n)) {
                        gaveUp.add(g.name());
                    } else {
                        back.add(g);
                    }
                }
            }
            if (back.isEmpty() && !movingThere) {
                c.failbackTo.remove(n);
                note("- failback to " + n + ": done" + (node == null || !node.usable()
                        ? " (" + n + " no longer takes groups)"
                        : gaveUp.isEmpty() ? "" : " (left where they run after a failed move: "
                                + String.join(", ", gaveUp) + ")"));
                continue;
            }
            for (ClusterState.Group g : back) {
                if (placement.fits(spec.groups().get(g.name()), n, Set.of(g.node()))) {
                    tryMove(g, n, GroupEvent.FAILBACK, "failback to resumed " + n);
                }
            }
        }
        // 5. Failback to a preferred owner that is usable again.
        for (ClusterState.Group g : new ArrayList<>(groups.values())) {
            if (g.phase() != GroupPhase.ONLINE || !g.wantOnline()) {
                continue;
            }
            GroupSpec gs = spec.groups().get(g.name());
            boolean allowed = gs.failback() instanceof GroupSpec.Failback.Immediate
                    || gs.failback() instanceof GroupSpec.Failback.Window w
                            && w.contains(now);
            if (!allowed) {
                continue;
            }
            // The best candidate, if preferred over where it runs: only a preferred owner before
            // the current one can be (placement puts preferred owners first, in their order).
            int current = Placement.preference(gs, g.node());
            Set<String> exclude = new TreeSet<>(g.tried());
            exclude.add(g.node());
            for (String cand : gs.preferredOwners().subList(0, Math.min(current, gs.preferredOwners().size()))) {
                if (placement.fits(gs, cand, exclude)) {
                    tryMove(g, cand, GroupEvent.FAILBACK, "failback to preferred owner " + cand);
                    break;
                }
            }
        }
    }

    /** Groups online elsewhere that prefer {@code n} over where they run. */
    List<ClusterState.Group> wantBackTo(String n) {
        List<ClusterState.Group> out = new ArrayList<>();
        for (ClusterState.Group g : groups.values()) {
            GroupSpec gs = spec.groups().get(g.name());
            if (g.phase() == GroupPhase.ONLINE && g.wantOnline() && !n.equals(g.node())
                    && Placement.preference(gs, n) < Placement.preference(gs, g.node())) {
                out.add(g);
            }
        }
        out.sort((a, b) -> Placement.priorityOrder(spec).compare(a.name(), b.name()));
        return out;
    }
}
