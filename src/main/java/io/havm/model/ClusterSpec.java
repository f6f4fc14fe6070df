package io.havm.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A whole cluster's configuration, validated (see io.havm.config.ClusterConfigLoader).
 *
 * @param name cluster name (ZooKeeper root)
 * @param nodes the hosts, in configuration order
 * @param groups the groups, sorted by name
 * @param timers detection, self-fence and monitor timers
 * @param zookeeper connect string ("h1:2181,h2:2181,h3:2181"), or "embedded"
 * @param admission what N+1 admission does when losing the largest host would strand HA groups
 * @param migrationsPerHost live-migration concurrency limit per host during drains
 * @param storage pools and disks ({@link StorageSpec#none()} when the configuration has none)
 */
public record ClusterSpec(String name, List<NodeSpec> nodes, Map<String, GroupSpec> groups, Timers timers,
        String zookeeper, Admission admission, int migrationsPerHost, StorageSpec storage) {

    public ClusterSpec {
        nodes = List.copyOf(nodes);
        groups = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(groups));
    }

    public Optional<NodeSpec> node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst();
    }

    public List<String> nodeNames() {
        return nodes.stream().map(NodeSpec::name).toList();
    }

    /** One host. */
    public record NodeSpec(String name, String uri, long memoryMiB, Fencing fencing) {}

    /** How a node is fenced: a fence agent and its options (passwords included, never logged). */
    public record Fencing(String agent, Map<String, String> options, Duration timeout) {
        public Fencing {
            options = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(options));
        }
    }

    /** What to do when N+1 admission fails. */
    public enum Admission {
        /** Load the configuration and say which groups would be stranded. */
        WARN,
        /** Refuse the configuration. */
        REFUSE
    }

    /**
     * Timers, checked against each other when the configuration loads (see {@link #clashes()}).
     *
     * <p>The safety argument: a node cut off at time T0 notices at the latest at
     * T0 + {@link #readTimeout()} (ZooKeeper's client read timeout, 2/3 of the session timeout),
     * waits {@code selfFenceAfter}, then turns its HA VMs off within {@code selfFenceDuration}. The
     * survivors see its session expire at T0 + sessionTimeout. Without a fence agent's
     * confirmation they may recover its VMs only {@code recoveryWithoutFence} later; that must come
     * after the isolated node is done, plus {@code safetyMargin}.
     *
     * @param sessionTimeout ZooKeeper session timeout: how long a silent node stays a member (detection)
     * @param zkTickTime the ZooKeeper server's tick; it clamps sessions to [2, 20] ticks
     * @param selfFenceAfter an agent suspended this long stops its HA VMs
     * @param selfFenceDuration budget for turning off (or saving) a node's HA VMs when self-fencing
     * @param safetyMargin slack between an isolated node's self-fence and the survivors' recovery
     * @param recoveryWithoutFence wait after session expiry before recovering a node's VMs with no
     *        fence agent confirmation; null = never without a confirmed fence
     * @param fenceRetry wait between fence attempts after a failure
     * @param perVmOverheadMiB memory counted per VM beyond its own (QEMU, page tables)
     * @param startupGrace while the cluster first forms, how long the coordinator waits for every
     *        configured node to join before it places groups that run nowhere (so that preferred
     *        owners that boot a little later still get their groups); counted from the first node
     *        it sees up. Groups a joining node reports running are adopted at once regardless.
     */
    public record Timers(Duration sessionTimeout, Duration zkTickTime, Duration selfFenceAfter,
            Duration selfFenceDuration, Duration safetyMargin, Duration recoveryWithoutFence, Duration fenceRetry,
            long perVmOverheadMiB, Duration startupGrace) {

        /** ZooKeeper's client declares the connection lost after 2/3 of the session timeout. */
        public Duration readTimeout() {
            return sessionTimeout.multipliedBy(2).dividedBy(3);
        }

        /** Latest time after being cut off at which an isolated node has its HA VMs off. */
        public Duration isolatedNodeDoneBy() {
            return readTimeout().plus(selfFenceAfter).plus(selfFenceDuration);
        }

        /** Every way these numbers race, in words that name them; empty when they are consistent. */
        public List<String> clashes() {
            List<String> out = new java.util.ArrayList<>();
            Duration min = zkTickTime.multipliedBy(2);
            Duration max = zkTickTime.multipliedBy(20);
            if (sessionTimeout.compareTo(min) < 0 || sessionTimeout.compareTo(max) > 0) {
                out.add("timers.sessionTimeout " + ms(sessionTimeout) + " is outside ZooKeeper's [2, 20] x tickTime = ["
                        + ms(min) + ", " + ms(max) + "] (timers.zkTickTime " + ms(zkTickTime)
                        + "): the server would silently change it");
            }
            if (selfFenceAfter.compareTo(sessionTimeout.minus(readTimeout())) >= 0) {
                out.add("timers.selfFenceAfter " + ms(selfFenceAfter) + " must be shorter than sessionTimeout "
                        + ms(sessionTimeout) + " - readTimeout " + ms(readTimeout()) + " = "
                        + ms(sessionTimeout.minus(readTimeout())) + ": the session expires before the node self-fences");
            }
            if (recoveryWithoutFence != null) {
                Duration survivorsRecoverAt = sessionTimeout.plus(recoveryWithoutFence);
                Duration isolatedDone = isolatedNodeDoneBy().plus(safetyMargin);
                if (survivorsRecoverAt.compareTo(isolatedDone) < 0) {
                    out.add("timers: survivors would recover at sessionTimeout " + ms(sessionTimeout)
                            + " + recoveryWithoutFence " + ms(recoveryWithoutFence) + " = " + ms(survivorsRecoverAt)
                            + ", before an isolated node is done self-fencing at readTimeout " + ms(readTimeout())
                            + " + selfFenceAfter " + ms(selfFenceAfter) + " + selfFenceDuration "
                            + ms(selfFenceDuration) + " + safetyMargin " + ms(safetyMargin) + " = " + ms(isolatedDone)
                            + ": raise recoveryWithoutFence to at least " + ms(isolatedDone.minus(sessionTimeout)));
                }
            }
            return out;
        }

        private static String ms(Duration d) {
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
        }
    }
}
