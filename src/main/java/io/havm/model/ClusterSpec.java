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
 * @param zookeeper the ensemble's connect string ("h1:2181,h2:2181,h3:2181"); null when the
 *        configuration names none (the simulator needs none; an agent refuses to start without it)
 * @param admission what N+1 admission does when losing the largest host would strand HA groups
 * @param migrationsPerHost live-migration concurrency limit per host during drains
 * @param storage pools and disks ({@link StorageSpec#none()} when the configuration has none)
 * @param heartbeat the second channel on shared storage; null when none is configured
 * @param watchdog the hosts' watchdog; null when none is configured
 * @param migrationTls live migrations carry the guest's memory and state over QEMU's native TLS
 *        (VIR_MIGRATE_TLS; {@code cluster.migration.tls}): every host's qemu.conf then needs
 *        {@code migrate_tls_x509_cert_dir} (or {@code default_tls_x509_cert_dir}) with its certificates
 * @param api the REST API every agent serves ({@code cluster.api}); null: none
 */
public record ClusterSpec(String name, List<NodeSpec> nodes, Map<String, GroupSpec> groups, Timers timers,
        String zookeeper, Admission admission, int migrationsPerHost, StorageSpec storage, Heartbeat heartbeat,
        WatchdogSpec watchdog, boolean migrationTls, ApiSpec api) {

    /** A configuration without an API (as before it existed). */
    public ClusterSpec(String name, List<NodeSpec> nodes, Map<String, GroupSpec> groups, Timers timers,
            String zookeeper, Admission admission, int migrationsPerHost, StorageSpec storage, Heartbeat heartbeat,
            WatchdogSpec watchdog, boolean migrationTls) {
        this(name, nodes, groups, timers, zookeeper, admission, migrationsPerHost, storage, heartbeat, watchdog,
                migrationTls, null);
    }

    /** A configuration without TLS migration (as before it existed). */
    public ClusterSpec(String name, List<NodeSpec> nodes, Map<String, GroupSpec> groups, Timers timers,
            String zookeeper, Admission admission, int migrationsPerHost, StorageSpec storage, Heartbeat heartbeat,
            WatchdogSpec watchdog) {
        this(name, nodes, groups, timers, zookeeper, admission, migrationsPerHost, storage, heartbeat, watchdog, false);
    }

    /** A configuration without a second channel or a watchdog (as before they existed). */
    public ClusterSpec(String name, List<NodeSpec> nodes, Map<String, GroupSpec> groups, Timers timers,
            String zookeeper, Admission admission, int migrationsPerHost, StorageSpec storage) {
        this(name, nodes, groups, timers, zookeeper, admission, migrationsPerHost, storage, null, null);
    }

    /** The same cluster with other groups. */
    public ClusterSpec withGroups(Map<String, GroupSpec> g) {
        return new ClusterSpec(name, nodes, g, timers, zookeeper, admission, migrationsPerHost, storage, heartbeat,
                watchdog, migrationTls, api);
    }

    /**
     * This configuration plus the groups of {@code older} named in {@code keep} that it no longer
     * has (with the disks and pools they use that it lacks): what the engine still needs to know of
     * groups that were removed from the configuration while they ran, until they are offline.
     */
    public ClusterSpec retaining(ClusterSpec older, java.util.Collection<String> keep) {
        Map<String, GroupSpec> g = new java.util.TreeMap<>(groups);
        Map<String, StorageSpec.Pool> pools = new java.util.TreeMap<>(storage.pools());
        Map<String, StorageSpec.Disk> disks = new java.util.TreeMap<>(storage.disks());
        boolean changed = false;
        for (String name : keep) {
            GroupSpec old = older.groups().get(name);
            if (old == null || g.containsKey(name)) {
                continue;
            }
            g.put(name, old);
            changed = true;
            for (ResourceSpec r : old.resources().values()) {
                String d = r.properties().get(ResourceSpec.DISK);
                StorageSpec.Disk disk = d == null ? null : older.storage().disks().get(d);
                if (disk != null && !disks.containsKey(d)) {
                    disks.put(d, disk);
                    older.storage().pool(disk.pool()).ifPresent(p -> pools.putIfAbsent(p.name(), p));
                }
            }
        }
        if (!changed) {
            return this;
        }
        return new ClusterSpec(name, nodes, g, timers, zookeeper, admission, migrationsPerHost,
                new StorageSpec(storage.leaseDir(), pools, disks), heartbeat, watchdog, migrationTls, api);
    }

    /** The same cluster with another second channel and watchdog (the simulator and tests). */
    public ClusterSpec withSecondChannel(Heartbeat h, WatchdogSpec w) {
        return new ClusterSpec(name, nodes, groups, timers, zookeeper, admission, migrationsPerHost, storage, h, w,
                migrationTls, api);
    }

    /**
     * Heartbeats on storage every node reaches: the second channel beside ZooKeeper (see
     * {@code io.havm.port.Heartbeats}).
     *
     * @param dir a directory on a shared-dir pool (one file per slot), or null
     * @param pool an iscsi pool whose LUN {@code lun} holds the slots, or null
     * @param lun the LUN within {@code pool}
     * @param interval how often every agent writes its beat and reads the others'
     * @param timeout the bound on one storage I/O; a cut-off agent that cannot read storage this
     *        long has no proof either way and stops its HA groups
     * @param clockSkew how far apart the hosts' clocks may be (NTP); beats compare times across hosts
     */
    public record Heartbeat(String dir, String pool, int lun, Duration interval, Duration timeout,
            Duration clockSkew) {
        public String describe() {
            return dir != null ? "dir " + dir : "pool " + pool + " LUN " + lun;
        }

        /**
         * The longest a cut-off node takes to read that a coordinator acts on it, after the
         * coordinator decided so: it writes its beat within one interval, the node reads within the
         * next, and either I/O may take up to the timeout.
         */
        public Duration evidenceDelay() {
            return interval.multipliedBy(2).plus(timeout.multipliedBy(2));
        }
    }

    /**
     * The hosts' watchdog.
     *
     * @param device the device ({@code /dev/watchdog}); {@code {node}} in it is the node's name
     *        (the lab's per-host watchdog FIFOs)
     * @param timeout the host is reset this long after the agent's last pet
     */
    public record WatchdogSpec(String device, Duration timeout) {
        public String deviceFor(String node) {
            return device.replace("{node}", node);
        }
    }

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

    /**
     * How a node is fenced: a fence agent and its options, or {@value #STORAGE}: a fence request
     * written into the node's slot of the heartbeat storage (the node stops its HA groups and
     * acknowledges; silence past its watchdog's deadline counts).
     *
     * @param options     options given in the configuration; never a secret ({@link #isSecret}):
     *                    the loader refuses those in clear
     * @param optionFiles options whose value is read, when the agent runs, from a file readable by
     *                    root only ({@code password: {file: /etc/havm/secrets/bmc1}}): only the
     *                    path is in the configuration
     */
    public record Fencing(String agent, Map<String, String> options, Duration timeout, Map<String, java.nio.file.Path> optionFiles) {
        public static final String STORAGE = "storage";

        /** Option names whose values are secrets, e.g. password, passwd, snmp_priv_passwd, secret_key, hexadecimal_kg. */
        private static final java.util.regex.Pattern SECRET_NAME = java.util.regex.Pattern.compile(
                "(?i).*(passw|secret|token|api[_-]?key|private[_-]?key|community).*|(?i)(.*[_-])?kg");
        /** ...but not these: the path of a script or file that yields the secret is no secret. */
        private static final java.util.regex.Pattern NOT_SECRET = java.util.regex.Pattern.compile(
                "(?i).*[_-](script|file|path)");

        public Fencing {
            options = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(options));
            optionFiles = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(
                    optionFiles == null ? Map.of() : optionFiles));
        }

        /** No option from a file. */
        public Fencing(String agent, Map<String, String> options, Duration timeout) {
            this(agent, options, timeout, Map.of());
        }

        /**
         * Whether an option's value is a secret: passwords (password, passwd, snmp_priv_passwd),
         * keys and tokens (secret_key, apikey, token, hexadecimal_kg), SNMP communities. Fence agents'
         * metadata marks none of them as such, so this is by name, after fence-agents' parameter
         * names; a {@code *_script}, {@code *_file} or {@code *_path} parameter holds where a secret
         * is, not the secret.
         */
        public static boolean isSecret(String optionName) {
            return SECRET_NAME.matcher(optionName).matches() && !NOT_SECRET.matcher(optionName).matches();
        }

        /** Why a secret option in clear is refused, and how to move it to {@code file}; never the value. */
        public static String clearSecretProblem(String option, String file) {
            return "a secret in clear is refused: the configuration is stored in the cluster and shown by 'config"
                    + " show'. Put the value alone on one line in a file readable by root only (chmod 600, owner"
                    + " root) on every host, e.g. " + file + ", and write '" + option + ": {file: " + file + "}'";
        }

        /** Fenced through the heartbeat storage, not a power fence agent. */
        public boolean storage() {
            return STORAGE.equals(agent);
        }
    }

    /** Every way the timers, the second channel and the watchdog race, in words that name the numbers. */
    public List<String> clashes() {
        List<String> out = new java.util.ArrayList<>(timers.clashes(heartbeat != null));
        out.addAll(SafetyBudget.clashes(this));
        return out;
    }

    /** What is safe but worth an operator's attention (no refusal). */
    public List<String> cautions() {
        return SafetyBudget.cautions(this);
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
     * <p>The safety argument: let T0 be the last moment a node and ZooKeeper heard each other (an
     * idle client is heard by its pings, every third of the session timeout, so T0 may be up to that
     * long before the cut). The node notices at the latest at T0 + {@link #readTimeout()} (ZooKeeper's
     * client read timeout, 2/3 of the session timeout, counted from what it last heard), waits
     * {@code selfFenceAfter}, then turns its HA VMs off within {@code selfFenceDuration}. The
     * survivors see its session expire at T0 + sessionTimeout, at the server's next tick; both
     * count from T0, so the margin between them holds wherever the cut falls. Without a fence agent's
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

        /** Every way these numbers race (no second channel), in words that name them. */
        public List<String> clashes() {
            return clashes(false);
        }

        /**
         * Every way these numbers race, in words that name them; empty when they are consistent.
         * With a second channel, the recovery deadline is checked against it instead (see
         * {@link SafetyBudget}).
         */
        public List<String> clashes(boolean secondChannel) {
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
            if (recoveryWithoutFence != null && !secondChannel) {
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

        static String ms(Duration d) {
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
        }
    }
}
