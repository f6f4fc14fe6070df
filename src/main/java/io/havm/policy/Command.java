package io.havm.policy;

import io.havm.model.MoveMode;

/** What the coordinator asks of agents and fencers. Data: the engine executes and journals it. */
public sealed interface Command {

    /** The node whose agent executes this command (a move runs on its source); null for Fence. */
    static String agentOf(Command c) {
        if (c instanceof Online x) {
            return x.node();
        } else if (c instanceof Offline x) {
            return x.node();
        } else if (c instanceof Terminate x) {
            return x.node();
        } else if (c instanceof Restart x) {
            return x.node();
        } else if (c instanceof Move x) {
            return x.from();
        } else if (c instanceof ShutdownNode x) {
            return x.node();
        }
        return null;
    }

    /** Bring the group online on node (resources bottom-up by dependency). */
    record Online(String group, String node) implements Command {}

    /** Take the group offline gracefully on node (resources top-down). */
    record Offline(String group, String node) implements Command {}

    /** Stop the group at once on node after a failure. */
    record Terminate(String group, String node) implements Command {}

    /** Restart one resource in place (terminate, online). */
    record Restart(String group, String resource, String node) implements Command {}

    /** Move the group between nodes. */
    record Move(String group, String from, String to, MoveMode mode) implements Command {}

    /** Power the node off through its fence agent. */
    record Fence(String node) implements Command {}

    /** The node is drained: stop its agent and leave the cluster. */
    record ShutdownNode(String node) implements Command {}
}
