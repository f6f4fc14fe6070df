package io.havm.policy;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What putting a new configuration in force would do to the running cluster, judged before it is
 * stored: what is refused (and whether {@code --force} may override it), and what will happen.
 * The running cluster is the coordinator's state (null: no coordinator has run yet).
 */
public final class ConfigChange {
    /** The judgement: refusals, the subset of them {@code --force} may override, and the effects. */
    public record Verdict(List<String> refused, List<String> overridable, List<String> effects) {
        /** Whether it may be stored ({@code force}: the overridable refusals are accepted). */
        public boolean allowed(boolean force) {
            return refused.isEmpty() && (force || overridable.isEmpty());
        }
    }

    private ConfigChange() {}

    public static Verdict judge(ClusterSpec old, ClusterSpec next, ClusterState state) {
        List<String> refused = new ArrayList<>();
        List<String> overridable = new ArrayList<>();
        List<String> effects = new ArrayList<>();
        // What every agent fixed when it started: changing it live would leave hosts disagreeing.
        if (!old.name().equals(next.name())) {
            refused.add("cluster.name: '" + old.name() + "' -> '" + next.name() + "': a cluster's name is its place in"
                    + " ZooKeeper and never changes (make a new cluster with havm cluster init)");
        }
        if (!Objects.equals(old.heartbeat(), next.heartbeat())) {
            refused.add("cluster.heartbeat changes: every agent opens its heartbeat storage when it starts; change it"
                    + " with the cluster stopped (stop every agent, havm cluster init --replace)");
        }
        if (!Objects.equals(old.watchdog(), next.watchdog())) {
            refused.add("cluster.watchdog changes: every agent arms its watchdog when it starts; change it with the"
                    + " cluster stopped (stop every agent, havm cluster init --replace)");
        }
        if (!old.timers().sessionTimeout().equals(next.timers().sessionTimeout())) {
            refused.add("cluster.timers.sessionTimeout: " + old.timers().sessionTimeout().toMillis() + " ms -> "
                    + next.timers().sessionTimeout().toMillis() + " ms: every ZooKeeper session was made with it;"
                    + " change it with the cluster stopped (stop every agent, havm cluster init --replace)");
        }
        for (ClusterSpec.NodeSpec n : old.nodes()) {
            if (next.node(n.name()).isPresent()) {
                continue;
            }
            ClusterState.Node known = state == null ? null : state.nodes().get(n.name());
            List<String> holds = new ArrayList<>();
            if (state != null) {
                for (ClusterState.Group g : state.groups().values()) {
                    if (n.name().equals(g.node()) || n.name().equals(g.from())) {
                        holds.add(g.name());
                    }
                }
            }
            if (known != null && known.status() == NodeStatus.UP) {
                refused.add("node " + n.name() + " is removed but is up: drain it (havm node shutdown " + n.name()
                        + ") and stop its agent first");
            } else if (!holds.isEmpty()) {
                refused.add("node " + n.name() + " is removed but groups are on it: " + String.join(", ", holds));
            } else {
                effects.add("node " + n.name() + ": removed");
            }
        }
        for (ClusterSpec.NodeSpec n : next.nodes()) {
            if (old.node(n.name()).isEmpty()) {
                effects.add("node " + n.name() + ": added (it joins when its agent starts)");
            }
        }
        for (GroupSpec g : old.groups().values()) {
            if (next.groups().containsKey(g.name())) {
                continue;
            }
            ClusterState.Group now = state == null ? null : state.groups().get(g.name());
            if (now != null && now.phase() != GroupPhase.OFFLINE) {
                overridable.add("group " + g.name() + " is removed but is " + now.phase().word()
                        + (now.node() == null ? "" : " on " + now.node())
                        + ": take it offline first (havm group offline " + g.name() + "), or --force to have it taken"
                        + " offline and then removed");
                effects.add("group " + g.name() + ": taken offline" + (now.node() == null ? "" : " on " + now.node())
                        + ", then removed");
            } else {
                effects.add("group " + g.name() + ": removed (it is offline)");
            }
        }
        for (GroupSpec g : next.groups().values()) {
            GroupSpec before = old.groups().get(g.name());
            if (before == null) {
                effects.add("group " + g.name() + ": added" + (g.autoStart() ? ", placed and brought online"
                        : " offline (autoStart: false)"));
                continue;
            }
            ClusterState.Group now = state == null ? null : state.groups().get(g.name());
            boolean runs = now != null && now.phase().mayRun();
            if (runs && now.node() != null && !g.possibleOwners().isEmpty() && !g.possibleOwners().contains(now.node())) {
                boolean anyUp = false;
                for (String o : g.possibleOwners()) {
                    ClusterState.Node on = state.nodes().get(o);
                    anyUp |= on != null && on.status() == NodeStatus.UP;
                }
                if (!anyUp) {
                    overridable.add("group " + g.name() + " runs on " + now.node() + ", which its new possibleOwners "
                            + g.possibleOwners() + " exclude, and none of them is up: it would have nowhere to run;"
                            + " --force to accept");
                } else {
                    effects.add("group " + g.name() + ": keeps running on " + now.node() + " until it next moves"
                            + " (not among its new possibleOwners " + g.possibleOwners() + ")");
                }
            }
            if (!before.equals(g)) {
                boolean resources = !before.resources().equals(g.resources());
                effects.add("group " + g.name() + ": changed" + (resources && runs
                        ? " (its resources take the new definition at its next online; it keeps running as it is)"
                        : resources ? " (its resources take the new definition at its next online)"
                        : " (owners, failback, priority, anti-affinity and thresholds count from now on)"));
            }
        }
        if (!old.timers().equals(next.timers()) && old.timers().sessionTimeout().equals(next.timers().sessionTimeout())) {
            effects.add("cluster.timers: changed (from the next decision on)");
        }
        if (old.migrationsPerHost() != next.migrationsPerHost()) {
            effects.add("cluster.migrationsPerHost: " + old.migrationsPerHost() + " -> " + next.migrationsPerHost());
        }
        if (old.migrationTls() != next.migrationTls()) {
            effects.add("cluster.migration.tls: " + old.migrationTls() + " -> " + next.migrationTls()
                    + " (from the next live move on)");
        }
        return new Verdict(List.copyOf(refused), List.copyOf(overridable), List.copyOf(effects));
    }
}
