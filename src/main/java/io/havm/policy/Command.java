package io.havm.policy;

import io.havm.model.MoveMode;

/** What the coordinator asks of agents and fencers. Data: the engine executes and journals it. */
public sealed interface Command {

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
