package io.havm.policy;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where a group may run, and where it should. Pure: configuration and state in, a node out.
 *
 * <p>Candidates = possible owners ∩ usable (up, not paused) ∩ not excluded ∩ hard anti-affinity ∩
 * capacity (memory of the groups there plus per-VM overhead). Order: preferred owners in their
 * order first; then nodes without a soft anti-affinity conflict; then least loaded; then name.
 */
public final class Placement {
    private Placement() {}

    /** The best node for {@code group}, or empty with nowhere to go. */
    public static Optional<String> choose(ClusterSpec spec, ClusterState state, String group, Set<String> exclude) {
        return candidates(spec, state, group, exclude).stream().findFirst();
    }

    /** All nodes that may take {@code group} now, best first. */
    public static List<String> candidates(ClusterSpec spec, ClusterState state, String group, Set<String> exclude) {
        GroupSpec g = spec.groups().get(group);
        List<String> out = new ArrayList<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            ClusterState.Node ns = state.nodes().get(n.name());
            if (ns == null || !ns.usable() || exclude.contains(n.name())) {
                continue;
            }
            if (!g.possibleOwners().isEmpty() && !g.possibleOwners().contains(n.name())) {
                continue;
            }
            if (conflicts(spec, state, g, n.name(), true)) {
                continue;
            }
            if (free(spec, state, n.name(), group) < need(spec, g)) {
                continue;
            }
            out.add(n.name());
        }
        Comparator<String> order = Comparator.comparingInt((String n) -> preference(g, n))
                .thenComparing(n -> conflicts(spec, state, g, n, false))
                .thenComparingLong(n -> used(spec, state, n, group))
                .thenComparing(Comparator.naturalOrder());
        out.sort(order);
        return out;
    }

    /** Index in the preferred owners, or MAX for a node that is not preferred. */
    static int preference(GroupSpec g, String node) {
        int i = g.preferredOwners().indexOf(node);
        return i < 0 ? Integer.MAX_VALUE : i;
    }

    static long need(ClusterSpec spec, GroupSpec g) {
        return g.memoryMiB() + g.vmCount() * spec.timers().perVmOverheadMiB();
    }

    /** Memory used on {@code node} by groups that (may) run there, except {@code group} itself. */
    static long used(ClusterSpec spec, ClusterState state, String node, String group) {
        long sum = 0;
        for (ClusterState.Group other : state.groups().values()) {
            if (!other.name().equals(group) && occupies(other, node)) {
                sum += need(spec, spec.groups().get(other.name()));
            }
        }
        return sum;
    }

    static long free(ClusterSpec spec, ClusterState state, String node, String group) {
        return spec.node(node).orElseThrow().memoryMiB() - used(spec, state, node, group);
    }

    /** A group counts on a node while it runs there or is headed there (both ends of a move). */
    static boolean occupies(ClusterState.Group g, String node) {
        if (!g.phase().mayRun() || g.phase() == GroupPhase.AWAITING_FENCE) {
            return false;
        }
        return g.involves(node);
    }

    /** Whether another group sharing an anti-affinity class (hard or soft, as asked) is on node. */
    static boolean conflicts(ClusterSpec spec, ClusterState state, GroupSpec g, String node, boolean hard) {
        for (GroupSpec.AntiAffinity a : g.antiAffinity()) {
            if (a.hard() != hard) {
                continue;
            }
            for (ClusterState.Group other : state.groups().values()) {
                if (other.name().equals(g.name()) || !occupies(other, node)) {
                    continue;
                }
                GroupSpec os = spec.groups().get(other.name());
                if (os.antiAffinity().stream().anyMatch(b -> b.className().equals(a.className()))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Groups in start order: higher priority first, then name. */
    public static Comparator<String> priorityOrder(ClusterSpec spec) {
        return Comparator.comparingInt((String g) -> -spec.groups().get(g).priority())
                .thenComparing(Comparator.naturalOrder());
    }

    /** Groups that could not be placed after losing {@code node}: N+1 admission. */
    public static List<String> strandedWithout(ClusterSpec spec, String node) {
        Map<String, ClusterState.Node> nodes = new java.util.TreeMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            nodes.put(n.name(), n.name().equals(node) ? ClusterState.Node.up(n.name()).with(NodeStatus.DOWN)
                    : ClusterState.Node.up(n.name()));
        }
        ClusterState s = new ClusterState(new java.util.TreeMap<>(nodes), new java.util.TreeMap<>());
        List<String> stranded = new ArrayList<>();
        List<String> order = new ArrayList<>(spec.groups().keySet());
        order.sort(priorityOrder(spec));
        for (String g : order) {
            if (!spec.groups().get(g).autoStart()) {
                continue;
            }
            Optional<String> n = choose(spec, s, g, Set.of());
            if (n.isEmpty()) {
                stranded.add(g);
            } else {
                s.groups().put(g, ClusterState.Group.offline(g, true).to(GroupPhase.ONLINE, n.get()));
            }
        }
        return stranded;
    }

    /** N+1 admission: for each node whose loss strands HA groups, which ones. */
    public static Map<String, List<String>> admission(ClusterSpec spec) {
        Map<String, List<String>> out = new java.util.TreeMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            List<String> s = strandedWithout(spec, n.name());
            if (!s.isEmpty()) {
                out.put(n.name(), s);
            }
        }
        return out;
    }
}
