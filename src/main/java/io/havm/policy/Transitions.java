package io.havm.policy;

import static io.havm.policy.GroupEvent.*;
import static io.havm.policy.GroupPhase.*;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The group state machine, declared once: which phase each {@link GroupEvent} may take a group
 * to from each phase. The coordinator checks every phase change of a group against it (see
 * {@code StepContext.set}); a change the table does not list is a bug in the coordinator, not a
 * situation to handle.
 *
 * <p>Where one event may lead to several phases, the coordinator's rules choose among them (a
 * failover may start the group, leave it pending or, past its threshold, failed). A row whose
 * "from" and "to" are the same phase changes the node (or renews the awaited command).
 *
 * <p>README.md carries {@link #markdown()} under "The group state machine"; a test keeps it equal.
 */
public final class Transitions {

    /**
     * Whether an illegal transition throws (tests: surefire runs with assertions enabled, or
     * {@code -Dhavm.strictTransitions=true}) rather than being logged and refused (production,
     * where one group's bug must not stop the coordinator deciding for every other group).
     */
    static final boolean STRICT = Transitions.class.desiredAssertionStatus()
            || Boolean.getBoolean("havm.strictTransitions");

    private static final Map<GroupPhase, Map<GroupEvent, Set<GroupPhase>>> TABLE = new EnumMap<>(GroupPhase.class);

    /** Where a group whose lost node is proven off (or back, reporting it stopped) may go. */
    private static final GroupPhase[] RECOVERED = {AWAITING_FENCE, FAILING, OFFLINE, STARTING, PENDING, FAILED};

    /** Phases with a node that may run the group, other than AWAITING_FENCE (which already waits). */
    private static final GroupPhase[] ON_A_NODE = {STARTING, ONLINE, RESTARTING, FAILING, MOVING, STOPPING};

    static {
        // Operators and scheduling.
        row(OFFLINE, OPERATOR_ONLINE, PENDING);
        row(FAILED, OPERATOR_ONLINE, PENDING);
        row(PENDING, OPERATOR_OFFLINE, OFFLINE);
        row(FAILED, OPERATOR_OFFLINE, OFFLINE);
        row(PENDING, PLACED, STARTING);
        row(PENDING, ADOPTED, STARTING, AWAITING_FENCE);
        row(ONLINE, OPERATOR_MOVE, MOVING);
        row(ONLINE, DRAIN, MOVING);
        row(ONLINE, FAILBACK, MOVING);
        row(ONLINE, WANTED_OFFLINE, STOPPING);
        // Agents' answers, and their silence.
        row(STARTING, ONLINE_OK, ONLINE);
        row(STARTING, ONLINE_FAILED, FAILING);
        row(STARTING, ONLINE_TIMEOUT, FAILING);
        row(STOPPING, OFFLINE_OK, PENDING, OFFLINE);
        row(STOPPING, OFFLINE_FAILED, FAILING);
        row(STOPPING, OFFLINE_TIMEOUT, FAILING);
        row(ONLINE, RESOURCE_FAILED, RESTARTING, FAILING);
        row(RESTARTING, RESTART_OK, ONLINE);
        row(RESTARTING, RESTART_FAILED, ONLINE);
        row(RESTARTING, RESTART_TIMEOUT, FAILING);
        row(MOVING, MOVE_DONE, STARTING, ONLINE);
        row(MOVING, MOVE_FAILED, ONLINE);
        row(MOVING, MOVE_TIMEOUT, FAILING);
        // Terminated on one end of an interrupted move: then the other end, or wait for its fence,
        // or fail over.
        row(FAILING, TERMINATED, FAILING, AWAITING_FENCE, OFFLINE, STARTING, PENDING, FAILED);
        row(FAILING, TERMINATE_FAILED, AWAITING_FENCE);
        row(FAILING, TERMINATE_TIMEOUT, AWAITING_FENCE);
        // Membership and fencing.
        for (GroupPhase p : ON_A_NODE) {
            row(p, NODE_LOST, AWAITING_FENCE);
            row(p, NODE_EVICTED, AWAITING_FENCE);
        }
        row(OFFLINE, FOUND_RUNNING, ONLINE);
        row(PENDING, FOUND_RUNNING, ONLINE);
        row(FAILED, FOUND_RUNNING, ONLINE);
        row(STARTING, NODE_RESTARTED, ONLINE, FAILING);
        row(ONLINE, NODE_RESTARTED, FAILING);
        row(RESTARTING, NODE_RESTARTED, FAILING);
        row(STOPPING, NODE_RESTARTED, FAILING);
        row(FAILING, NODE_RESTARTED, FAILING);
        row(MOVING, NODE_RESTARTED, FAILING);
        row(AWAITING_FENCE, NODE_BACK, ONLINE);
        row(AWAITING_FENCE, NODE_BACK, RECOVERED);
        row(AWAITING_FENCE, NODE_ANSWERS, FAILING);
        row(AWAITING_FENCE, FENCE_CONFIRMED, RECOVERED);
        row(AWAITING_FENCE, SELF_FENCE_DEADLINE, RECOVERED);
    }

    private Transitions() {}

    private static void row(GroupPhase from, GroupEvent event, GroupPhase... to) {
        TABLE.computeIfAbsent(from, f -> new EnumMap<>(GroupEvent.class))
                .computeIfAbsent(event, e -> EnumSet.noneOf(GroupPhase.class))
                .addAll(java.util.List.of(to));
    }

    /** Whether {@code event} may take a group in phase {@code from} to phase {@code to}. */
    public static boolean allowed(GroupPhase from, GroupEvent event, GroupPhase to) {
        return TABLE.getOrDefault(from, Map.of()).getOrDefault(event, Set.of()).contains(to);
    }

    /**
     * The table as Markdown, one row per transition, ordered by phase and event as declared in
     * their enums; then what each event means.
     */
    public static String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("| from | event | to |\n|---|---|---|\n");
        for (GroupPhase from : GroupPhase.values()) {
            for (Map.Entry<GroupEvent, Set<GroupPhase>> e : TABLE.getOrDefault(from, Map.of()).entrySet()) {
                for (GroupPhase to : e.getValue()) {
                    b.append("| ").append(from.word()).append(" | ").append(e.getKey()).append(" | ")
                            .append(to.word()).append(" |\n");
                }
            }
        }
        b.append("\n| event | cause |\n|---|---|\n");
        for (GroupEvent e : GroupEvent.values()) {
            b.append("| ").append(e).append(" | ").append(e.cause).append(" |\n");
        }
        return b.toString();
    }
}
