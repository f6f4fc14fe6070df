package io.havm.policy;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where a group may run, and where it should: configuration, the nodes and the step's
 * {@link GroupTable} in, a node out.
 *
 * <p>Candidates = possible owners ∩ usable (up, not paused) ∩ not excluded ∩ hard anti-affinity ∩
 * capacity (memory of the groups there plus per-VM overhead). Order: preferred owners in their
 * order first; then nodes without a soft anti-affinity conflict; then least loaded; then name.
 *
 * <p>Cost: the table keeps each node's load and anti-affinity classes current, so one choice looks
 * at the preferred owners, then walks the nodes least loaded first and stops at the first that
 * fits without a soft conflict: about O(preferred + log N) for a group without constraints, O(N)
 * at worst, never proportional to the number of groups.
 */
public final class Placement {
    private final ClusterSpec spec;
    private final Map<String, ClusterState.Node> nodes;
    private final GroupTable table;
    private final Map<String, Long> memory = new HashMap<>();

    Placement(ClusterSpec spec, Map<String, ClusterState.Node> nodes, GroupTable table) {
        this.spec = spec;
        this.nodes = nodes;
        this.table = table;
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            memory.put(n.name(), n.memoryMiB());
        }
    }

    /**
     * The best node for {@code group} in {@code state}, for a single question from outside the
     * policy (it indexes the whole state first: O(groups)).
     */
    public static Optional<String> choose(ClusterSpec spec, ClusterState state, String group, Set<String> exclude) {
        return new Placement(spec, state.nodes(), new GroupTable(spec, state.groups())).choose(group, exclude);
    }

    /** The best node for {@code group}, or empty with nowhere to go. */
    Optional<String> choose(String group, Set<String> exclude) {
        GroupSpec g = spec.groups().get(group);
        for (String n : g.preferredOwners()) {
            if (fits(g, n, exclude)) {
                return Optional.of(n); // preference comes before everything else
            }
        }
        Iterable<String> scan = g.possibleOwners().isEmpty() ? table.byLoad() : g.possibleOwners();
        boolean sorted = g.possibleOwners().isEmpty();
        // The nodes the group occupies itself count its own share in the table's order: judge them
        // on their own, and walk the others least loaded first.
        String best = null;
        for (String n : occupied(group)) {
            if (fits(g, n, exclude)) {
                best = better(g, best, n);
            }
        }
        for (String n : scan) {
            if (sorted && best != null && !softConflict(g, best) && after(n, best, group)) {
                break; // every node from here on comes after a conflict-free candidate
            }
            if (fits(g, n, exclude)) {
                best = better(g, best, n);
            }
        }
        return Optional.ofNullable(best);
    }

    /** All nodes that may take {@code group} now, best first. */
    List<String> candidates(String group, Set<String> exclude) {
        GroupSpec g = spec.groups().get(group);
        List<String> out = new ArrayList<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            if (fits(g, n.name(), exclude)) {
                out.add(n.name());
            }
        }
        out.sort(order(g));
        return out;
    }

    /**
     * Whether {@code node} may take {@code g} now: configured, usable, not excluded, a possible
     * owner, no hard anti-affinity conflict, enough memory free.
     */
    boolean fits(GroupSpec g, String node, Set<String> exclude) {
        ClusterState.Node ns = nodes.get(node);
        if (ns == null || !ns.usable() || exclude.contains(node) || !memory.containsKey(node)) {
            return false;
        }
        if (!g.possibleOwners().isEmpty() && !g.possibleOwners().contains(node)) {
            return false;
        }
        if (conflicts(g, node, true)) {
            return false;
        }
        return memory.get(node) - used(node, g.name()) >= need(spec, g);
    }

    private Comparator<String> order(GroupSpec g) {
        return Comparator.comparingInt((String n) -> preference(g, n))
                .thenComparing(n -> softConflict(g, n))
                .thenComparingLong(n -> used(n, g.name()))
                .thenComparing(Comparator.naturalOrder());
    }

    private String better(GroupSpec g, String a, String b) {
        return a == null || order(g).compare(b, a) < 0 ? b : a;
    }

    private List<String> occupied(String group) {
        ClusterState.Group g = table.get(group);
        if (g == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>(2);
        for (String n : new String[] {g.node(), g.from()}) {
            if (n != null && GroupTable.occupies(g, n) && !out.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    /** Whether {@code n} comes after {@code best} by load, then name (the walk's order). */
    private boolean after(String n, String best, String group) {
        long a = used(n, group);
        long b = used(best, group);
        return a > b || a == b && n.compareTo(best) > 0;
    }

    private long used(String node, String group) {
        return table.used(node, group);
    }

    private boolean softConflict(GroupSpec g, String node) {
        return conflicts(g, node, false);
    }

    /** Whether another group sharing one of g's anti-affinity classes (hard or soft, as asked) is on node. */
    private boolean conflicts(GroupSpec g, String node, boolean hard) {
        for (GroupSpec.AntiAffinity a : g.antiAffinity()) {
            if (a.hard() == hard && table.carrying(node, a.className(), g.name()) > 0) {
                return true;
            }
        }
        return false;
    }

    /** Index in the preferred owners, or MAX for a node that is not preferred. */
    static int preference(GroupSpec g, String node) {
        int i = g.preferredOwners().indexOf(node);
        return i < 0 ? Integer.MAX_VALUE : i;
    }

    static long need(ClusterSpec spec, GroupSpec g) {
        return g.memoryMiB() + g.vmCount() * spec.timers().perVmOverheadMiB();
    }

    /** Groups in start order: higher priority first, then name. */
    public static Comparator<String> priorityOrder(ClusterSpec spec) {
        return Comparator.comparingInt((String g) -> -spec.groups().get(g).priority())
                .thenComparing(Comparator.naturalOrder());
    }

    /**
     * N+1 admission: for each node whose loss strands HA groups, which ones.
     *
     * <p>The cluster as it forms places every auto-start group, priority first, as the coordinator
     * would. Then, for each node in turn, the groups placed there fail over onto what the others
     * have left, while every other group stays where it runs (a failover moves only the lost
     * node's groups), and the ones that fit nowhere are stranded by its loss. Groups that fit
     * nowhere even with every node up are stranded by any loss. One placement of M groups plus,
     * per node, the placement of its own groups: about M × (candidate hosts) in all, not N × M².
     */
    public static Map<String, List<String>> admission(ClusterSpec spec) {
        TreeMap<String, ClusterState.Node> up = new TreeMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            up.put(n.name(), ClusterState.Node.up(n.name()));
        }
        GroupTable table = new GroupTable(spec, Map.of());
        Placement p = new Placement(spec, up, table);
        List<String> order = new ArrayList<>();
        for (GroupSpec g : spec.groups().values()) {
            if (g.autoStart()) {
                order.add(g.name());
            }
        }
        order.sort(priorityOrder(spec));
        List<String> nowhere = new ArrayList<>();
        for (String g : order) {
            Optional<String> n = p.choose(g, Set.of());
            if (n.isEmpty()) {
                nowhere.add(g);
            } else {
                table.put(ClusterState.Group.offline(g, true).to(GroupPhase.ONLINE, n.get()));
            }
        }
        Map<String, List<String>> out = new TreeMap<>();
        for (ClusterSpec.NodeSpec lost : spec.nodes()) {
            List<String> stranded = new ArrayList<>(nowhere);
            List<String> here = new ArrayList<>(table.about(lost.name()));
            here.sort(priorityOrder(spec));
            up.put(lost.name(), ClusterState.Node.up(lost.name()).with(NodeStatus.DOWN));
            for (String g : here) {
                table.put(table.get(g).to(GroupPhase.PENDING, null));
            }
            for (String g : here) {
                Optional<String> n = p.choose(g, Set.of());
                if (n.isEmpty()) {
                    stranded.add(g);
                } else {
                    table.put(table.get(g).to(GroupPhase.ONLINE, n.get()));
                }
            }
            // Back as it was before the next node's turn.
            for (String g : here) {
                table.put(table.get(g).to(GroupPhase.ONLINE, lost.name()));
            }
            up.put(lost.name(), ClusterState.Node.up(lost.name()));
            if (!stranded.isEmpty()) {
                stranded.sort(priorityOrder(spec));
                out.put(lost.name(), stranded);
            }
        }
        return out;
    }
}
