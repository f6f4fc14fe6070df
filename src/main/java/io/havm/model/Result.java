package io.havm.model;

import java.time.Duration;

/**
 * The outcome of one entry point of a resource. A value, never an exception: the engine decides
 * what a result means for the group (restart in place, fail over, give up).
 */
public sealed interface Result {

    /** Short machine word for logs and JSON: ok, failed, retry-later, already-running, wrong-node, timeout. */
    String word();

    /** Human text for the operator. */
    String detail();

    default boolean ok() {
        return this instanceof Ok;
    }

    /** The entry point did what it was asked. */
    record Ok(String detail) implements Result {
        public Ok() { this(""); }
        public String word() { return "ok"; }
    }

    /** It failed; the reason names what was seen (host, domain, libvirt error). */
    record Failed(String detail) implements Result {
        public String word() { return "failed"; }
    }

    /**
     * A monitor's precise answer that the resource is not running here (OCF_NOT_RUNNING; a generic
     * script's non-zero looks-alive): a failure while it should run, and the only monitor answer
     * that proves it stopped. Any other failure of a monitor leaves its state unknown.
     */
    record NotRunning(String detail) implements Result {
        public String word() { return "failed"; }
    }

    /** Not possible now (e.g. hypervisor connection down), may succeed later; not a resource fault. */
    record RetryLater(String detail) implements Result {
        public String word() { return "retry-later"; }
    }

    /**
     * Online found the VM already running on this node. Distinct from Ok: something started it
     * behind the cluster's back, and (as in the seed) the Terminate that follows saves its state.
     */
    record AlreadyRunning(String detail) implements Result {
        public String word() { return "already-running"; }
    }

    /** The resource is held elsewhere (running on, or disk lease held by, another node). */
    record WrongNode(String detail) implements Result {
        public String word() { return "wrong-node"; }
    }

    /** The entry point did not finish within its budget. */
    record Timeout(String detail, Duration budget) implements Result {
        public String word() { return "timeout"; }
    }
}
