package io.havm.policy;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The groups of one step, with what they occupy kept current as they change: per node the memory
 * its groups need, how many of them carry each anti-affinity class, how many moves involve it,
 * and which groups are about it. Every change to a group goes through {@link #put}, so placing K
 * groups costs about K × (candidate hosts) instead of K × (all groups), and a rule about one node
 * looks at that node's groups only.
 *
 * <p>A group occupies a node while it runs there or is headed there (both ends of a move), in
 * every phase that may run except AWAITING_FENCE (its lost node is not a place to count; the
 * group is about it all the same, see {@link #about}).
 */
final class GroupTable {
    private final ClusterSpec spec;
    private final TreeMap<String, ClusterState.Group> groups = new TreeMap<>();
    /** Memory each node's occupying groups need (MiB). */
    private final Map<String, Long> used = new HashMap<>();
    /** Per node: anti-affinity class → occupying groups that carry it. */
    private final Map<String, Map<String, Integer>> classes = new HashMap<>();
    /** Per node: groups moving to or from it. */
    private final Map<String, Integer> moves = new HashMap<>();
    /** Per node: every group whose node or other end it is, whatever its phase. */
    private final Map<String, Set<String>> about = new HashMap<>();
    /** Groups that remember nodes they failed on ({@link ClusterState.Group#tried()} not empty). */
    private final Set<String> withTried = new TreeSet<>();
    /** Configured nodes, least used first, then by name (re-sorted as their load changes). */
    private final TreeSet<String> byLoad;

    GroupTable(ClusterSpec spec, Map<String, ClusterState.Group> initial) {
        this.spec = spec;
        this.byLoad = new TreeSet<>(Comparator.comparingLong((String n) -> used.getOrDefault(n, 0L))
                .thenComparing(Comparator.naturalOrder()));
        // In bulk: the groups (already sorted), their counts, then the nodes in load order.
        groups.putAll(initial);
        for (ClusterState.Group g : groups.values()) {
            count(g, +1);
        }
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            byLoad.add(n.name());
        }
    }

    ClusterState.Group get(String name) {
        return groups.get(name);
    }

    Collection<ClusterState.Group> values() {
        return groups.values();
    }

    Set<String> keySet() {
        return groups.keySet();
    }

    SortedMap<String, ClusterState.Group> asMap() {
        return groups;
    }

    /** Replaces (or adds) the group, updating every index. */
    ClusterState.Group put(ClusterState.Group g) {
        ClusterState.Group prev = groups.put(g.name(), g);
        if (prev != null) {
            count(prev, -1);
        }
        count(g, +1);
        return prev;
    }

    /** Drops the group (a group no longer configured, once offline), updating every index. */
    ClusterState.Group remove(String name) {
        ClusterState.Group prev = groups.remove(name);
        if (prev != null) {
            count(prev, -1);
        }
        return prev;
    }

    ClusterState.Group put(String name, ClusterState.Group g) {
        assert name.equals(g.name()) : name + " != " + g.name();
        return put(g);
    }

    private void count(ClusterState.Group g, int sign) {
        if (!g.tried().isEmpty()) {
            if (sign > 0) {
                withTried.add(g.name());
            } else {
                withTried.remove(g.name());
            }
        }
        for (String n : ends(g)) {
            Set<String> a = about.computeIfAbsent(n, k -> new TreeSet<>());
            if (sign > 0) {
                a.add(g.name());
            } else {
                a.remove(g.name());
            }
            if (!occupies(g, n)) {
                continue;
            }
            GroupSpec gs = spec.groups().get(g.name());
            if (gs != null) {
                boolean sorted = byLoad.remove(n);
                used.merge(n, sign * Placement.need(spec, gs), Long::sum);
                if (sorted) {
                    byLoad.add(n);
                }
                Map<String, Integer> cs = classes.computeIfAbsent(n, k -> new HashMap<>());
                for (String cls : classNames(gs)) {
                    cs.merge(cls, sign, Integer::sum);
                }
            }
            if (g.phase() == GroupPhase.MOVING) {
                moves.merge(n, sign, Integer::sum);
            }
        }
    }

    /** The nodes a group is about: its node and the other end of its move (if any), without repeats. */
    private static List<String> ends(ClusterState.Group g) {
        if (g.node() == null) {
            return g.from() == null ? List.of() : List.of(g.from());
        }
        return g.from() == null || g.from().equals(g.node()) ? List.of(g.node()) : List.of(g.node(), g.from());
    }

    static boolean occupies(ClusterState.Group g, String node) {
        return g.phase().mayRun() && g.phase() != GroupPhase.AWAITING_FENCE && g.involves(node);
    }

    static Set<String> classNames(GroupSpec gs) {
        Set<String> out = new LinkedHashSet<>();
        for (GroupSpec.AntiAffinity a : gs.antiAffinity()) {
            out.add(a.className());
        }
        return out;
    }

    /** Memory the groups occupying {@code node} need, {@code except} that group's own share. */
    long used(String node, String except) {
        long u = used.getOrDefault(node, 0L);
        ClusterState.Group g = except == null ? null : groups.get(except);
        if (g != null && occupies(g, node)) {
            u -= Placement.need(spec, spec.groups().get(except));
        }
        return u;
    }

    /** Occupying groups other than {@code except} that carry anti-affinity class {@code cls} on {@code node}. */
    int carrying(String node, String cls, String except) {
        Map<String, Integer> cs = classes.get(node);
        int c = cs == null ? 0 : cs.getOrDefault(cls, 0);
        ClusterState.Group g = except == null ? null : groups.get(except);
        if (g != null && occupies(g, node) && classNames(spec.groups().get(except)).contains(cls)) {
            c--;
        }
        return c;
    }

    /** Groups moving to or from {@code node}. */
    int movesInvolving(String node) {
        return moves.getOrDefault(node, 0);
    }

    /** Names of the groups whose node or other end is {@code node}, in any phase, by name (a copy). */
    List<String> about(String node) {
        Set<String> a = about.get(node);
        return a == null ? List.of() : List.copyOf(a);
    }

    /** The groups {@link #about} {@code node} as they are now, by name (a snapshot). */
    List<ClusterState.Group> on(String node) {
        Set<String> a = about.get(node);
        if (a == null) {
            return List.of();
        }
        List<ClusterState.Group> out = new java.util.ArrayList<>(a.size());
        for (String name : a) {
            out.add(groups.get(name));
        }
        return out;
    }

    /** The groups that remember nodes they failed on, as they are now, by name (a snapshot). */
    List<ClusterState.Group> withTried() {
        List<ClusterState.Group> out = new java.util.ArrayList<>(withTried.size());
        for (String name : withTried) {
            out.add(groups.get(name));
        }
        return out;
    }

    /** Configured nodes, least used first. */
    NavigableSet<String> byLoad() {
        return byLoad;
    }
}
