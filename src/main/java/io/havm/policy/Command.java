package io.havm.policy;

import io.havm.model.MoveMode;

/**
 * What the coordinator asks of agents and fencers. Data: the engine executes and journals it.
 *
 * <p>Every command for a group carries an {@code attempt} number, unique per group and growing;
 * the agent's answer carries it back, so that an answer to an attempt that already timed out (or
 * to a stray-copy Terminate) is never taken for the answer to a later one.
 */
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

    /** The attempt number of a command for a group; 0 for Fence and ShutdownNode. */
    static long attemptOf(Command c) {
        if (c instanceof Online x) {
            return x.attempt();
        } else if (c instanceof Offline x) {
            return x.attempt();
        } else if (c instanceof Terminate x) {
            return x.attempt();
        } else if (c instanceof Restart x) {
            return x.attempt();
        } else if (c instanceof Move x) {
            return x.attempt();
        }
        return 0;
    }

    /**
     * Whether an agent about to start {@code c} should drop it: the coordinator's state (as
     * stored) no longer waits for this attempt (it timed out, or the group moved on while the
     * command sat queued behind a stuck call). Terminate is never dropped: stopping is always safe,
     * and stray copies are stopped by Terminates nothing waits for.
     */
    static boolean superseded(Command c, ClusterState state) {
        long attempt = attemptOf(c);
        if (attempt == 0 || c instanceof Terminate || state == null) {
            return false;
        }
        String group = c instanceof Online x ? x.group() : c instanceof Offline x ? x.group()
                : c instanceof Restart x ? x.group() : ((Move) c).group();
        ClusterState.Group g = state.groups().get(group);
        return g == null || g.attempt() != attempt;
    }

    /** Bring the group online on node (resources bottom-up by dependency). */
    record Online(String group, String node, long attempt) implements Command {}

    /** Take the group offline gracefully on node (resources top-down). */
    record Offline(String group, String node, long attempt) implements Command {}

    /** Stop the group at once on node after a failure. */
    record Terminate(String group, String node, long attempt) implements Command {}

    /** Restart one resource in place (terminate, online). */
    record Restart(String group, String resource, String node, long attempt) implements Command {}

    /** Move the group between nodes. */
    record Move(String group, String from, String to, MoveMode mode, long attempt) implements Command {}

    /** Power the node off through its fence agent. */
    record Fence(String node) implements Command {}

    /** The node is drained: stop its agent and leave the cluster. */
    record ShutdownNode(String node) implements Command {}
}
