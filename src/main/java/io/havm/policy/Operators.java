package io.havm.policy;

import io.havm.model.GroupSpec;
import io.havm.model.MoveMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Operators' requests: move, online, offline, drain, resume. Refused requests change nothing. */
final class Operators extends Rules {
    Operators(StepContext c) {
        super(c);
    }

    void moveGroup(String name, String to, MoveMode mode) {
        ClusterState.Group g = groups.get(name);
        if (g == null) {
            note("- refused: move of unknown group " + name);
            return;
        }
        if (g.phase() != GroupPhase.ONLINE) {
            note(to + " refused: move " + name + ": group is " + describe(g) + ", not online");
            return;
        }
        if (to.equals(g.node())) {
            note(to + " refused: move " + name + ": already on " + to);
            return;
        }
        List<String> ok = placement.candidates(name, Set.of(g.node()));
        if (!ok.contains(to)) {
            note(to + " refused: move " + name + " to " + to + ": not a usable owner now (candidates: "
                    + (ok.isEmpty() ? "none" : String.join(" ", ok)) + ")");
            return;
        }
        String from = g.node();
        await(g.moving(from, to, mode), GroupEvent.OPERATOR_MOVE, "operator move " + mode.word,
                a -> new Command.Move(name, from, to, mode, a));
    }

    void groupOnline(String name) {
        ClusterState.Group g = groups.get(name);
        if (g == null) {
            note("- refused: online of unknown group " + name);
            return;
        }
        ClusterState.Group w = g.want(true);
        if (g.phase() == GroupPhase.OFFLINE || g.phase() == GroupPhase.FAILED) {
            set(w.to(GroupPhase.PENDING, null).withFailovers(List.of()).withTried(Set.of()), GroupEvent.OPERATOR_ONLINE,
                    "operator online");
        } else {
            groups.put(name, w);
        }
    }

    /**
     * A new configuration is in force: its new groups are added (pending when they start on their
     * own, else offline); groups it no longer has are taken offline as an operator's offline would,
     * and dropped once offline ({@link #dropRetired}). Nodes it no longer has are forgotten once
     * they are down and hold nothing.
     */
    void configChanged(long version) {
        Coordinator co = c.coordinator;
        for (GroupSpec gs : c.spec.groups().values()) {
            if (co.configured(gs.name()) && groups.get(gs.name()) == null) {
                String on = co.adoptOn(gs.name());
                ClusterState.Node n = on == null ? null : nodes.get(on);
                if (n != null && n.status() == NodeStatus.UP) {
                    // vm import: its VM runs on n already; an Online there finds it running and
                    // keeps it as it is. Placed anywhere else, the start would be refused by its
                    // disks' locks at best.
                    ClusterState.Group g = ClusterState.Group.offline(gs.name(), true);
                    groups.put(g);
                    note("group " + gs.name() + ": added by configuration version " + version
                            + " (vm import): adopted on " + on + ", where its VM runs");
                    c.scheduling.start(g, on, GroupEvent.ADOPTED, "adopted where its VM runs");
                    continue;
                }
                if (on != null && c.spec.node(on).isPresent()
                        && (n == null || n.status() == NodeStatus.LOST)) {
                    // vm import onto a node that is lost or has not joined (yet): its VM may run
                    // there. Placed elsewhere now, it could run twice; it waits as a lost node's
                    // group does: placed once the node is fenced, kept there once it reports it
                    // running.
                    ClusterState.Group g = ClusterState.Group.offline(gs.name(), true);
                    groups.put(g);
                    note("group " + gs.name() + ": added by configuration version " + version + " (vm import): "
                            + on + ", where its VM ran, is " + (n == null ? "not a member (yet)" : "lost")
                            + ": waits until " + on + " reports it running or is fenced");
                    set(g.awaitingFence(on, null), GroupEvent.ADOPTED, on + " may run it: placed only once "
                            + on + " is fenced or reports it");
                    continue;
                }
                groups.put(ClusterState.Group.offline(gs.name(), gs.autoStart()));
                note("group " + gs.name() + ": added by configuration version " + version
                        + (on == null ? "" : " (vm import: " + on + ", where its VM ran, is "
                                + (n == null ? "not a node of the cluster" : n.status().word() + ", so not running it")
                                + ": placed as any new group)")
                        + (gs.autoStart() ? "" : " (offline: autoStart is off)"));
            }
        }
        for (String name : co.retiring()) {
            ClusterState.Group g = groups.get(name);
            if (g != null && co.released(name)) {
                continue; // vm release: dropped as it is, once nothing is under way (dropRetired)
            }
            if (g != null && g.wantOnline()) {
                note("group " + name + ": not in configuration version " + version + ": taken offline, then removed");
                groupOffline(name);
            }
        }
        for (String n : new ArrayList<>(c.nodes.keySet())) {
            ClusterState.Node node = c.nodes.get(n);
            if (c.spec.node(n).isEmpty() && node.status() != NodeStatus.UP && groups.about(n).isEmpty()) {
                c.nodes.remove(n);
                note("node " + n + ": not in configuration version " + version + ": forgotten");
            }
        }
        dropRetired();
    }

    /** Groups no longer configured that are offline now leave the state. */
    void dropRetired() {
        java.util.SortedSet<String> r = c.coordinator.retiring();
        if (r.isEmpty()) {
            return;
        }
        for (java.util.Iterator<String> it = r.iterator(); it.hasNext();) {
            String name = it.next();
            ClusterState.Group g = groups.get(name);
            if (g == null) {
                it.remove();
            } else if (c.coordinator.released(name) && (g.phase() == GroupPhase.ONLINE
                    || g.phase() == GroupPhase.OFFLINE || g.phase() == GroupPhase.FAILED)) {
                // vm release: nothing is under way for it; it leaves the state as it is, its VM
                // left running (or stopped) where it is, no longer managed
                groups.remove(name);
                it.remove();
                note("group " + name + ": released" + (g.phase() == GroupPhase.ONLINE ? " running on " + g.node() : " "
                        + g.phase().word()) + ": no longer managed");
            } else if (g.phase() == GroupPhase.OFFLINE && !g.wantOnline()) {
                groups.remove(name);
                it.remove();
                note("group " + name + ": offline and no longer configured: removed");
            }
        }
    }

    void groupOffline(String name) {
        ClusterState.Group g = groups.get(name);
        if (g == null) {
            note("- refused: offline of unknown group " + name);
            return;
        }
        ClusterState.Group w = g.want(false);
        if (g.phase() == GroupPhase.PENDING || g.phase() == GroupPhase.FAILED) {
            set(w.to(GroupPhase.OFFLINE, null), GroupEvent.OPERATOR_OFFLINE, "operator offline");
        } else {
            groups.put(name, w); // schedule() stops it once it is online
        }
    }

    void drain(String n, boolean shutdown) {
        ClusterState.Node node = nodes.get(n);
        if (node == null || node.status() != NodeStatus.UP) {
            note(n + " refused: drain: node is " + (node == null ? "unknown" : node.status().word()));
            return;
        }
        setNode(node.paused(true, true, shutdown), shutdown ? "operator shutdown: drain first" : "operator drain");
    }

    void resume(String n, boolean failback) {
        ClusterState.Node node = nodes.get(n);
        if (node == null || node.status() != NodeStatus.UP) {
            note(n + " refused: resume: node is " + (node == null ? "unknown" : node.status().word()));
            return;
        }
        setNode(node.paused(false, false, false), "operator resume" + (failback ? " with failback" : ""));
        if (failback) {
            // Kept until every group that prefers n is back: the per-host migration limit
            // lets only some move in this step (schedule() moves the rest as slots free up).
            c.failbackTo.add(n);
        }
    }
}
