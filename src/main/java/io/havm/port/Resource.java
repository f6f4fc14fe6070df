package io.havm.port;

import io.havm.model.Result;

/**
 * A cluster resource on one node, with the Generic Script entry points. Each returns a
 * {@link Result}; none throws for an expected failure.
 */
public interface Resource {
    String name();

    /** Resource created on this node: check what it needs is reachable, fill defaults. */
    Result open();

    /** Bring online here. */
    Result online();

    /** Cheap, frequent health check. */
    Result looksAlive();

    /** Thorough, rarer health check. */
    Result isAlive();

    /** Graceful stop. */
    Result offline();

    /** Immediate stop after a failure. */
    Result terminate();

    /** Resource removed from this node: release handles. */
    Result close();
}
