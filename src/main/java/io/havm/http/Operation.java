package io.havm.http;

import java.time.Instant;
import java.util.Map;

/**
 * A write accepted by the API, followed to its end (see {@link OperationTracker}).
 *
 * @param id unique, sortable by creation
 * @param kind move, online, offline (a group's), drain, resume, shutdown (a node's)
 * @param target the group or node
 * @param params the request's parameters (to, mode, failback)
 * @param state pending (submitted, no effect seen yet), running, succeeded or failed
 * @param message what the state is based on, in words
 * @param progress what the tracker saw last (phase, node, groups left ...)
 * @param by the token holder's name
 * @param agent the node whose agent follows it now (the one that accepted it, or one that adopted it)
 * @param deadline when it fails if not done, from the configuration's timers
 * @param eventsAt how many timeline lines there were when it was submitted (later ones may be about it)
 */
public record Operation(String id, String kind, String target, Map<String, Object> params, String state,
        String message, Map<String, Object> progress, Instant createdAt, Instant updatedAt, String by, String agent,
        Instant deadline, long eventsAt) {

    public static final String PENDING = "pending";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";

    public Operation {
        params = params == null ? Map.of() : new java.util.LinkedHashMap<>(params);
        progress = progress == null ? Map.of() : new java.util.LinkedHashMap<>(progress);
    }

    public boolean ended() {
        return state.equals(SUCCEEDED) || state.equals(FAILED);
    }

    Operation with(String newState, String newMessage, Map<String, Object> newProgress, Instant at) {
        return new Operation(id, kind, target, params, newState, newMessage, newProgress, createdAt, at, by, agent,
                deadline, eventsAt);
    }

    Operation adoptedBy(String node, Instant at) {
        return new Operation(id, kind, target, params, state, message + " (followed by " + node + "'s agent since "
                + agent + "'s left)", progress, createdAt, at, by, node, deadline, eventsAt);
    }
}
