package io.havm.policy;

import io.havm.model.MoveMode;
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
