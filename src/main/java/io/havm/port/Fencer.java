package io.havm.port;

/**
 * The port that powers nodes off: fence agents (fence_ipmilan, fence_redfish, the lab's own …) on
 * real clusters, a simulated one with injectable failures in the simulator. Recovery of a node's
 * VMs elsewhere waits for {@link Outcome#OFF} from here (or a self-fence deadline).
 */
public interface Fencer {

    /** What was asked of the agent. */
    enum Action {
        /** Power off. */
        OFF,
        /** Power on. */
        ON,
        /** Power off, then on. */
        REBOOT,
        /** Report power state. */
        STATUS,
        /** Check the fence device itself is reachable. */
        MONITOR
    }

    /** What the agent reported. */
    enum Outcome {
        /** The node is (now) powered off: fencing confirmed. */
        OFF,
        /** The node is powered on. */
        ON,
        /** The agent ran and succeeded (on, reboot, monitor). */
        OK,
        /** The agent failed or timed out: the node's state is unknown. */
        FAILED
    }

    /** The result, with the agent's own words for the operator. */
    record Result(Outcome outcome, String detail) {}

    Result fence(String node, Action action);
}
