package io.havm.policy;

import io.havm.model.MoveMode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Everything the coordinator knows, as immutable values. Persisted after every step so that a new
 * coordinator continues where a crashed one stopped: that includes the startup grace (when the
 * cluster began forming) and every outstanding command's attempt number and deadline.
 *
 * @param firstNodeUpAt when the coordinator first saw any node up (start of the startup grace);
 *        null before that
 * @param formedAt when the cluster formed: every configured node was up at once, or the startup
 *        grace ran out; null while forming. Groups that run nowhere are placed only once formed.
 * @param failbackTo nodes an operator resumed with {@code --failback} whose groups are still coming
 *        back (one live migration at a time per host, so over several steps)
 */
public record ClusterState(SortedMap<String, Node> nodes, SortedMap<String, Group> groups, Instant firstNodeUpAt,
        Instant formedAt, java.util.SortedSet<String> failbackTo) {

    public ClusterState {
        failbackTo = failbackTo == null ? new java.util.TreeSet<>() : new java.util.TreeSet<>(failbackTo);
        nodes = new TreeMap<>(nodes);
        groups = new TreeMap<>(groups);
    }

    /** A view for placement decisions, which do not depend on the cluster's formation. */
    public ClusterState(SortedMap<String, Node> nodes, SortedMap<String, Group> groups) {
        this(nodes, groups, null, null, null);
    }

    /** Whether groups that run nowhere may be placed (see {@link #formedAt()}). */
    public boolean formed() {
        return formedAt != null;
    }

    /**
     * A node.
     *
     * @param paused takes no new groups (drain, or operator pause)
     * @param draining being evacuated
     * @param shutdownAfterDrain leave the cluster once drained
     * @param lostAt when its session expired (LOST), from when the self-fence deadline runs
     * @param fenceAttempts failed fence attempts since it was lost
     * @param nextFenceAt when to try fencing again after a failure
     * @param unresponsive its agent left a Terminate unanswered past its budget while its
     *        ZooKeeper session lived on. UP: takes no new groups until it answers again (no fence
     *        agent to make sure). LOST or FENCED: the coordinator fences it although it is still a
     *        member; the self-fence deadline starts only when that session ends, because only a
     *        node cut off from ZooKeeper fences itself.
     * @param announcedAt when the coordinator's declaration that this node is lost reached the
     *        heartbeat storage, where the node reads it and stops (null: not yet). With a second
     *        channel the self-fence deadline runs from then: a node that cannot learn it is lost
     *        has no reason to stop.
     */
    public record Node(String name, NodeStatus status, boolean paused, boolean draining, boolean shutdownAfterDrain,
            Instant lostAt, int fenceAttempts, Instant nextFenceAt, boolean fenceInFlight, boolean unresponsive,
            Instant announcedAt) {

        public static Node up(String name) {
            return new Node(name, NodeStatus.UP, false, false, false, null, 0, null, false, false, null);
        }

        public boolean usable() {
            return status == NodeStatus.UP && !paused && !unresponsive;
        }

        Node with(NodeStatus s) {
            return new Node(name, s, paused, draining, shutdownAfterDrain, lostAt, fenceAttempts, nextFenceAt,
                    fenceInFlight, unresponsive, announcedAt);
        }

        /** Its session expired: the self-fence deadline runs from {@code at}. */
        Node lost(Instant at) {
            return new Node(name, NodeStatus.LOST, paused, false, false, at, 0, at, false, false, null);
        }

        /** Declared lost by the coordinator while its session lives on (see {@link #unresponsive()}). */
        Node evicted(Instant at) {
            return new Node(name, NodeStatus.LOST, paused, false, false, at, 0, at, false, true, null);
        }

        Node unresponsive(boolean u) {
            return new Node(name, status, paused, draining, shutdownAfterDrain, lostAt, fenceAttempts, nextFenceAt,
                    fenceInFlight, u, announcedAt);
        }

        /** The session of an evicted node ended: from now on it is an ordinary lost (or fenced) node. */
        Node sessionEnded(Instant at) {
            return new Node(name, status, paused, draining, shutdownAfterDrain,
                    status == NodeStatus.LOST ? at : lostAt, fenceAttempts, nextFenceAt, fenceInFlight, false, null);
        }

        Node fencing(boolean inFlight, int attempts, Instant next) {
            return new Node(name, status, paused, draining, shutdownAfterDrain, lostAt, attempts, next, inFlight,
                    unresponsive, announcedAt);
        }

        Node paused(boolean p, boolean draining, boolean shutdown) {
            return new Node(name, status, p, draining, shutdown, lostAt, fenceAttempts, nextFenceAt, fenceInFlight,
                    unresponsive, announcedAt);
        }

        /** Its loss is on the heartbeat storage from {@code at}. */
        Node announced(Instant at) {
            return new Node(name, status, paused, draining, shutdownAfterDrain, lostAt, fenceAttempts, nextFenceAt,
                    fenceInFlight, unresponsive, at);
        }

        Node cameBack() {
            return new Node(name, NodeStatus.UP, paused, draining, shutdownAfterDrain, null, 0, null, false, false, null);
        }
    }

    /**
     * What a group's phase is about, by name. The stored {@link Group} keeps these in positional
     * fields whose meaning changes with the phase ({@code node}, {@code from}, {@code mode},
     * {@code restarting}: the JSON a coordinator persists, which a successor must read back), so
     * the rules read and write them through {@link Group#work()} and the named writers instead.
     */
    public sealed interface Work {}

    /** OFFLINE, PENDING, FAILED: runs nowhere. */
    public record Nowhere() implements Work {}

    /** STARTING (its target), ONLINE (its owner), STOPPING (its owner). */
    public record On(String node) implements Work {}

    /** RESTARTING: {@code resource} is being restarted in place on {@code node}. */
    public record Restarting(String node, String resource) implements Work {}

    /** MOVING: being moved from {@code from} to {@code to}. */
    public record Moving(String from, String to, MoveMode mode) implements Work {}

    /**
     * FAILING: being terminated on {@code node}; then on {@code thenOn} (the other end of an
     * interrupted move, null if none) before it may go anywhere else.
     */
    public record Failing(String node, String thenOn) implements Work {}

    /**
     * AWAITING_FENCE: waits until {@code node} (lost, or unresponsive) is proven not to run it;
     * {@code otherEnd}, the other end of a move (null if none), may run it and is preferred then.
     */
    public record AwaitingFence(String node, String otherEnd) implements Work {}

    /**
     * A group. Its per-phase data is read by name through {@link #work()}; the positional fields
     * below are its stored form.
     *
     * @param node owner (ONLINE …), target (STARTING, MOVING), or lost owner (AWAITING_FENCE):
     *        see {@link Work}
     * @param from source of a move; in FAILING, the node to terminate next (other end of an
     *        interrupted move); in AWAITING_FENCE, the other end that may run it: see {@link Work}
     * @param wantOnline desired state
     * @param failovers when it failed over, for the failover threshold
     * @param restarts per resource, when it was restarted in place
     * @param failedResources resources left failed (restart policy that does not affect the group)
     * @param tried nodes tried (and failed) since the group last ran, so a failover does not ping-pong
     * @param restarting the resource being restarted in place (RESTARTING)
     * @param retryAt when a pending group that has tried every node may try them again
     * @param ops the last attempt number given to a command for this group (they only grow)
     * @param attempt the attempt number of the command whose answer the phase waits for; 0 for none.
     *        An answer carrying another number is late (its attempt timed out) or stray: ignored.
     * @param deadline when that command's budget runs out (see Coordinator's budgets); null for none
     */
    public record Group(String name, GroupPhase phase, String node, String from, MoveMode mode, boolean wantOnline,
            List<Instant> failovers, Map<String, List<Instant>> restarts, Set<String> failedResources,
            Set<String> tried, String restarting, Instant retryAt, long ops, long attempt, Instant deadline) {

        public Group {
            failovers = List.copyOf(failovers);
            restarts = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(restarts));
            failedResources = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(failedResources));
            tried = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(tried));
        }

        public static Group offline(String name, boolean wantOnline) {
            return new Group(name, wantOnline ? GroupPhase.PENDING : GroupPhase.OFFLINE, null, null, null, wantOnline,
                    List.of(), Map.of(), Set.of(), Set.of(), null, null, 0, 0, null);
        }

        /** The phase's data, by name. */
        public Work work() {
            return switch (phase) {
                case OFFLINE, PENDING, FAILED -> new Nowhere();
                case STARTING, ONLINE, STOPPING -> new On(node);
                case RESTARTING -> new Restarting(node, restarting);
                case MOVING -> new Moving(from, node, mode);
                case FAILING -> new Failing(node, from);
                case AWAITING_FENCE -> new AwaitingFence(node, from);
            };
        }

        /** Whether {@code n} is one of the nodes its phase is about (either end of a move …). */
        public boolean involves(String n) {
            return n.equals(node) || n.equals(from);
        }

        /**
         * Another phase whose only data is its node, if any ({@link Nowhere}, {@link On}); clears
         * the move, the restart and any awaited answer. The other phases have named writers.
         */
        Group to(GroupPhase p, String node) {
            assert p.mayRun() || node == null : p + " runs nowhere: no node";
            assert p != GroupPhase.RESTARTING && p != GroupPhase.MOVING && p != GroupPhase.FAILING
                    && p != GroupPhase.AWAITING_FENCE : p + " has a named writer";
            return new Group(name, p, node, null, null, wantOnline, failovers, restarts, failedResources, tried, null,
                    retryAt, ops, 0, null);
        }

        /** FAILING (see {@link Failing}); clears the restart and any awaited answer. */
        Group failing(String node, String thenOn) {
            return new Group(name, GroupPhase.FAILING, node, thenOn, null, wantOnline, failovers, restarts,
                    failedResources, tried, null, retryAt, ops, 0, null);
        }

        /** AWAITING_FENCE (see {@link AwaitingFence}); clears the restart and any awaited answer. */
        Group awaitingFence(String node, String otherEnd) {
            return new Group(name, GroupPhase.AWAITING_FENCE, node, otherEnd, null, wantOnline, failovers, restarts,
                    failedResources, tried, null, retryAt, ops, 0, null);
        }

        /** MOVING (see {@link Moving}); clears the restart and any awaited answer. */
        Group moving(String from, String to, MoveMode m) {
            return new Group(name, GroupPhase.MOVING, to, from, m, wantOnline, failovers, restarts, failedResources,
                    tried, null, retryAt, ops, 0, null);
        }

        /** Waits for the answer to command {@code attempt} until {@code by}. */
        Group awaiting(long attempt, Instant by) {
            return new Group(name, phase, node, from, mode, wantOnline, failovers, restarts, failedResources, tried,
                    restarting, retryAt, Math.max(ops, attempt), attempt, by);
        }

        /** Used up attempt number {@code op} for a command whose answer nothing waits for. */
        Group used(long op) {
            return new Group(name, phase, node, from, mode, wantOnline, failovers, restarts, failedResources, tried,
                    restarting, retryAt, Math.max(ops, op), attempt, deadline);
        }

        Group want(boolean w) {
            return new Group(name, phase, node, from, mode, w, failovers, restarts, failedResources, tried, restarting,
                    retryAt, ops, attempt, deadline);
        }

        Group withFailovers(List<Instant> f) {
            return new Group(name, phase, node, from, mode, wantOnline, f, restarts, failedResources, tried, restarting,
                    retryAt, ops, attempt, deadline);
        }

        /** RESTARTING {@code resource} (see {@link Restarting}), counting it in {@code r}. */
        Group withRestarts(Map<String, List<Instant>> r, String resource) {
            return new Group(name, GroupPhase.RESTARTING, node, from, mode, wantOnline, failovers, r, failedResources,
                    tried, resource, retryAt, ops, 0, null);
        }

        Group withFailed(Set<String> f) {
            return new Group(name, phase, node, from, mode, wantOnline, failovers, restarts, f, tried, restarting,
                    retryAt, ops, attempt, deadline);
        }

        Group withRetryAt(Instant at) {
            return new Group(name, phase, node, from, mode, wantOnline, failovers, restarts, failedResources, tried,
                    restarting, at, ops, attempt, deadline);
        }

        Group withTried(Set<String> t) {
            return new Group(name, phase, node, from, mode, wantOnline, failovers, restarts, failedResources, t,
                    restarting, retryAt, ops, attempt, deadline);
        }
    }
}
