package io.havm.policy;

/**
 * What makes a group change phase, named by its cause: an input (a node, an agent's answer, an
 * operator), time running out, or a scheduling decision. {@link Transitions} says which phase
 * changes each one may cause. Each constant's documentation is its {@link #cause}, which the
 * rendered table (README, "The group state machine") shows too.
 */
public enum GroupEvent {
    PLACED("the scheduler found a node for a pending group"),
    FOUND_RUNNING("a joining node reports running a group known to run nowhere"),
    ADOPTED("havm vm import added it where its VM already runs: Online there (a running VM stays as it is);"
            + " awaiting that node's fence while it is lost or not yet a member"),
    ONLINE_OK("the agent brought it online"),
    ONLINE_FAILED("the agent failed to bring it online"),
    ONLINE_TIMEOUT("the Online got no answer within its budget"),
    OFFLINE_OK("the agent took it offline"),
    OFFLINE_FAILED("the agent failed to take it offline"),
    OFFLINE_TIMEOUT("the Offline got no answer within its budget"),
    TERMINATED("the agent proved it off on its node"),
    TERMINATE_FAILED("the agent could not prove it off"),
    TERMINATE_TIMEOUT("the Terminate got no answer within its budget"),
    RESOURCE_FAILED("a resource failed its health check on the owner, or its restart failed"),
    RESTART_OK("the agent restarted the resource in place"),
    RESTART_FAILED("the agent failed to restart the resource (then counted as RESOURCE_FAILED)"),
    RESTART_TIMEOUT("the Restart got no answer within its budget"),
    MOVE_DONE("the agent moved it"),
    MOVE_FAILED("the move failed; it still runs on the source"),
    MOVE_TIMEOUT("the Move got no answer within its budget"),
    NODE_LOST("its node's session expired, or it left with groups on it"),
    NODE_EVICTED("its node was declared lost for not proving a Terminate"),
    NODE_RESTARTED("its node came back with a new session"),
    NODE_BACK("the lost node it waited for rejoined"),
    NODE_ANSWERS("the unresponsive node it waited for answered again"),
    FENCE_CONFIRMED("the fence agent confirmed the node off"),
    SELF_FENCE_DEADLINE("the lost node's self-fence deadline passed"),
    OPERATOR_MOVE("operator: move"),
    OPERATOR_ONLINE("operator: online"),
    OPERATOR_OFFLINE("operator: offline"),
    WANTED_OFFLINE("online, but wanted offline"),
    DRAIN("its node is draining"),
    FAILBACK("its preferred owner takes groups again");

    /** What causes it, in a few words. */
    final String cause;

    GroupEvent(String cause) {
        this.cause = cause;
    }
}
