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
 * coordinator continues where a crashed one stopped.
 */
public record ClusterState(SortedMap<String, Node> nodes, SortedMap<String, Group> groups) {

    public ClusterState {
        nodes = new TreeMap<>(nodes);
        groups = new TreeMap<>(groups);
    }

    /**
     * A node.
     *
     * @param paused takes no new groups (drain, or operator pause)
     * @param draining being evacuated
     * @param shutdownAfterDrain leave the cluster once drained
     * @param lostAt when its session expired (LOST)
     * @param fenceAttempts failed fence attempts since it was lost
     * @param nextFenceAt when to try fencing again after a failure
     */
    public record Node(String name, NodeStatus status, boolean paused, boolean draining, boolean shutdownAfterDrain,
            Instant lostAt, int fenceAttempts, Instant nextFenceAt, boolean fenceInFlight) {

        public static Node up(String name) {
            return new Node(name, NodeStatus.UP, false, false, false, null, 0, null, false);
        }

        public boolean usable() {
            return status == NodeStatus.UP && !paused;
        }

        Node with(NodeStatus s) {
            return new Node(name, s, paused, draining, shutdownAfterDrain, lostAt, fenceAttempts, nextFenceAt,
                    fenceInFlight);
        }

        Node lost(Instant at) {
            return new Node(name, NodeStatus.LOST, paused, false, false, at, 0, at, false);
        }

        Node fencing(boolean inFlight, int attempts, Instant next) {
            return new Node(name, status, paused, draining, shutdownAfterDrain, lostAt, attempts, next, inFlight);
        }

        Node paused(boolean p, boolean draining, boolean shutdown) {
            return new Node(name, status, p, draining, shutdown, lostAt, fenceAttempts, nextFenceAt, fenceInFlight);
        }

        Node cameBack() {
            return new Node(name, NodeStatus.UP, paused, draining, shutdownAfterDrain, null, 0, null, false);
        }
    }

    /**
     * A group.
     *
     * @param node owner (ONLINE …), target (STARTING, MOVING), or lost owner (AWAITING_FENCE)
     * @param from source of a move
     * @param wantOnline desired state
     * @param failovers when it failed over, for the failover threshold
     * @param restarts per resource, when it was restarted in place
     * @param failedResources resources left failed (restart policy that does not affect the group)
     * @param tried nodes tried (and failed) since the group last ran, so a failover does not ping-pong
     * @param restarting the resource being restarted in place (RESTARTING)
     * @param retryAt when a pending group that has tried every node may try them again
     */
    public record Group(String name, GroupPhase phase, String node, String from, MoveMode mode, boolean wantOnline,
            List<Instant> failovers, Map<String, List<Instant>> restarts, Set<String> failedResources,
            Set<String> tried, String restarting, Instant retryAt) {

        public Group {
            failovers = List.copyOf(failovers);
            restarts = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(restarts));
            failedResources = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(failedResources));
            tried = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(tried));
        }

        public static Group offline(String name, boolean wantOnline) {
            return new Group(name, wantOnline ? GroupPhase.PENDING : GroupPhase.OFFLINE, null, null, null, wantOnline,
                    List.of(), Map.of(), Set.of(), Set.of(), null, null);
        }

        Group to(GroupPhase p, String node) {
            return new Group(name, p, node, null, null, wantOnline, failovers, restarts, failedResources, tried, null, retryAt);
        }

        Group moving(String from, String to, MoveMode m) {
            return new Group(name, GroupPhase.MOVING, to, from, m, wantOnline, failovers, restarts, failedResources,
                    tried, null, retryAt);
        }

        Group want(boolean w) {
            return new Group(name, phase, node, from, mode, w, failovers, restarts, failedResources, tried, restarting, retryAt);
        }

        Group withFailovers(List<Instant> f) {
            return new Group(name, phase, node, from, mode, wantOnline, f, restarts, failedResources, tried, restarting, retryAt);
        }

        Group withRestarts(Map<String, List<Instant>> r, String resource) {
            return new Group(name, GroupPhase.RESTARTING, node, from, mode, wantOnline, failovers, r, failedResources,
                    tried, resource, retryAt);
        }

        Group withFailed(Set<String> f) {
            return new Group(name, phase, node, from, mode, wantOnline, failovers, restarts, f, tried, restarting, retryAt);
        }

        Group withRetryAt(Instant at) {
            return new Group(name, phase, node, from, mode, wantOnline, failovers, restarts, failedResources, tried,
                    restarting, at);
        }

        Group withTried(Set<String> t) {
            return new Group(name, phase, node, from, mode, wantOnline, failovers, restarts, failedResources, t,
                    restarting, retryAt);
        }
    }
}
