package io.havm.coordination;

/**
 * ZooKeeper could not do what was asked: unreachable within the retry budget, session expired
 * mid-call, or an unexpected server error. Not a conflict (that is
 * {@link io.havm.port.Coordination.ConflictException}): the caller cannot know whether a
 * write landed, so it must re-read before acting, and it must not act on the cluster's behalf
 * while the connection state is SUSPENDED or LOST.
 */
public class CoordinationException extends RuntimeException {
    public CoordinationException(String message, Throwable cause) {
        super(message, cause);
    }

    public CoordinationException(String message) {
        super(message);
    }
}
