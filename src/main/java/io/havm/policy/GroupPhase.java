package io.havm.policy;

/** The states of a group in the coordinator's state machine. */
public enum GroupPhase {
    /** Not running anywhere, and not wanted online. */
    OFFLINE,
    /**
     * Wanted online but no node can take it now (nothing alive, allowed, free or fitting, or the
     * cluster is still forming within its startup grace); retried on every change.
     */
    PENDING,
    /** Online command sent to {@code node}; waiting for its answer (within the Online budget). */
    STARTING,
    /** Running on {@code node}. */
    ONLINE,
    /** A resource failed on {@code node} and is being restarted in place. */
    RESTARTING,
    /**
     * Failed on {@code node} (or a command there got no answer in time): being terminated there
     * before failing over; {@code from}, if set, is terminated next (the other end of a move).
     */
    FAILING,
    /** Being moved from {@code from} to {@code node} (live, quick or offline). */
    MOVING,
    /** Offline command sent to {@code node} (operator offline). */
    STOPPING,
    /**
     * Its node was lost, or its agent left a Terminate unanswered: waiting until that node is
     * proven fenced (or, without a fence agent, answers again or loses its session) before starting
     * it elsewhere.
     */
    AWAITING_FENCE,
    /** Given up: failover threshold reached; stays offline until an operator brings it online. */
    FAILED;

    /** Phases in which the group may be running on some node. */
    public boolean mayRun() {
        return this != OFFLINE && this != PENDING && this != FAILED;
    }

    public String word() {
        return name().toLowerCase().replace('_', '-');
    }
}
