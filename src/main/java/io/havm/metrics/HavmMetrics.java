package io.havm.metrics;

import io.havm.engine.Agent;
import io.havm.engine.EngineObserver;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.MoveMode;
import io.havm.model.ResourceSpec;
import io.havm.model.Result;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.policy.NodeStatus;
import io.havm.policy.Placement;
import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.havm.port.Fencer;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The Prometheus metrics of one agent, in a registry of its own ({@link #registry()}: never the
 * static default one, since the simulator and tests run many agents in one JVM).
 *
 * <p>Who exposes what (said in each HELP text too):
 * <ul>
 *   <li>Cluster-wide gauges ({@code havm_node_*}, {@code havm_group_*}, {@code havm_coordinator_epoch},
 *       {@code havm_n_plus_one_*}) are read at scrape time from the cluster state every agent
 *       reads, so every agent exposes the same values: aggregate them with {@code max by (...)},
 *       never {@code sum}.</li>
 *   <li>Per-agent gauges ({@code havm_coordinator}, {@code havm_agent_member},
 *       {@code havm_zookeeper_session_state}, {@code havm_config_version}) carry {@code node}: this
 *       agent's node.</li>
 *   <li>Counters and histograms are counted once, where it happened: failovers and their phases by
 *       the coordinator that saw them (a coordinator's counts end with its process), fences by the
 *       coordinator that ran them, migrations and guest answers by the agent that did them. Each
 *       event is counted by exactly one agent, so {@code sum} over agents is right.</li>
 * </ul>
 *
 * <p>Wiring: {@code HavmMetrics m = new HavmMetrics(node, HavmMetrics.version(), clock).bind(agent);}
 * before {@code agent.start()}, then serve {@code m.registry()::scrape}.
 */
public final class HavmMetrics implements EngineObserver {
    /** Failover phases and recoveries: 0.1 s to 300 s. */
    static final double[] PHASE_BUCKETS = {0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300};
    /** Fences: 0.1 s to 120 s (a fence agent's timeout is typically 20-60 s). */
    static final double[] FENCE_BUCKETS = {0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120};
    /** Migrations: 10 ms (a live migration's downtime) to 10 min. */
    static final double[] MIGRATION_BUCKETS = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300,
            600};
    private static final double MIB = 1024.0 * 1024.0;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final String node;
    private final Clock clock;
    private volatile Supplier<Agent> source = () -> null;

    private final Counter failovers;
    private final Histogram phases;
    private final Histogram recovery;
    private final Histogram fences;
    private final Histogram migrations;
    private final Histogram downtime;
    private final Counter restarts;
    private final Counter sessionEvents;

    /** Failovers in progress, by group, as this node's coordinator saw them begin. */
    private final Map<String, Incident> incidents = new HashMap<>();
    /** When this agent brought each group online (for the guest answering phase). */
    private final Map<String, Instant> onlineAt = new HashMap<>();
    /** N+1 admission of the configuration last seen: groups stranded by each node's loss. */
    private final Object admission = new Object();
    private ClusterSpec admitted;
    private Map<String, List<String>> stranded = Map.of();

    /** A failover in progress: what began it and when each phase ended. */
    private static final class Incident {
        final String reason;
        /** When it began for the coordinator (the node declared lost, or the failure reported). */
        final Instant began;
        /** The last sign of life before it (node losses), else {@link #began}. */
        final Instant fault;
        Instant fenced;
        Instant placed;

        Incident(String reason, Instant began, Instant fault) {
            this.reason = reason;
            this.began = began;
            this.fault = fault;
        }
    }

    /**
     * @param node this agent's node (the {@code node} label of per-agent gauges)
     * @param version what {@code havm_build_info} says
     * @param clock the agent's clock (restart and failover windows are counted up to its now)
     */
    public HavmMetrics(String node, String version, Clock clock) {
        this.node = node;
        this.clock = clock;
        Info.builder().name("havm_build_info").help("havm's version on this agent (value 1)")
                .labelNames("version").register(registry).addLabelValues(version);
        failovers = Counter.builder().name("havm_failovers_total")
                .help("Failovers ended, by group, reason (node_lost, node_unresponsive, node_left, resource_failed,"
                        + " start_failed, move_failed, stop_failed) and result (recovered, failed: threshold"
                        + " reached, abandoned: taken offline or removed); counted by the coordinator that saw the end,"
                        + " so sum over agents")
                .labelNames("group", "reason", "result").register(registry);
        phases = Histogram.builder().name("havm_failover_phase_seconds")
                .help("Failover phase durations: detect (last sign of life, else one session timeout before the"
                        + " loss, to the node declared lost), fence (to the old owner proven off: fenced or"
                        + " terminated), place (to the Online sent), start (to the group online), observed by the"
                        + " coordinator; guest_answering (Online done to the first IsAlive whose guest agent"
                        + " answered: an upper bound, as that check runs one IsAlive interval after the start) by the"
                        + " agent that started it; sum over agents")
                .labelNames("phase").classicOnly().classicUpperBounds(PHASE_BUCKETS).register(registry);
        recovery = Histogram.builder().name("havm_failover_recovery_seconds")
                .help("Failovers' total recovery, from the fault (as for detect) to the group online elsewhere,"
                        + " by reason; observed by the coordinator, sum over agents")
                .labelNames("reason").classicOnly().classicUpperBounds(PHASE_BUCKETS).register(registry);
        fences = Histogram.builder().name("havm_fence_duration_seconds")
                .help("Fence operations by fence agent (storage: the storage fence) and result (off, on, ok,"
                        + " failed); observed by the coordinator that fenced, sum over agents")
                .labelNames("agent", "result").classicOnly().classicUpperBounds(FENCE_BUCKETS).register(registry);
        migrations = Histogram.builder().name("havm_migration_duration_seconds")
                .help("Moves (live, quick, offline) from the command to the answer, by result (ok, failed);"
                        + " observed by the source agent that moved, sum over agents")
                .labelNames("mode", "result").classicOnly().classicUpperBounds(MIGRATION_BUCKETS)
                .register(registry);
        downtime = Histogram.builder().name("havm_migration_downtime_seconds")
                .help("Guest downtime of moves by mode and result: quick and offline moves the whole move (the"
                        + " guest is paused or off throughout); live moves each VM's switch-over as libvirt measured"
                        + " it (completed job stats on the target; ok only); sum over agents")
                .labelNames("mode", "result").classicOnly().classicUpperBounds(MIGRATION_BUCKETS)
                .register(registry);
        restarts = Counter.builder().name("havm_restarts_total")
                .help("Resource restarts in place by group, resource and result (ok, failed); counted by the"
                        + " agent that restarted, sum over agents")
                .labelNames("group", "resource", "result").register(registry);
        sessionEvents = Counter.builder().name("havm_zookeeper_connection_events_total")
                .help("This agent's ZooKeeper connection changes, by new state (connected, suspended,"
                        + " reconnected, lost)")
                .labelNames("node", "state").register(registry);
        registry.register(new StateCollector());
    }

    /** havm's version from the jar's manifest, else "unknown" (run from classes). */
    public static String version() {
        String v = HavmMetrics.class.getPackage().getImplementationVersion();
        return v == null ? "unknown" : v;
    }

    /** Observes {@code agent} (before it starts) and reads the cluster state through it at each scrape. */
    public HavmMetrics bind(Agent agent) {
        agent.observe(this);
        return source(() -> agent);
    }

    /**
     * Reads the cluster state through the agent {@code agent} gives at each scrape (null: none
     * runs now; the cluster and per-agent gauges are then absent). For drivers that restart
     * agents (the simulator); {@link #bind} for one agent.
     */
    public HavmMetrics source(Supplier<Agent> agent) {
        this.source = agent;
        return this;
    }

    /** This agent's registry: what its /metrics serves ({@code registry()::scrape}). */
    public PrometheusRegistry registry() {
        return registry;
    }

    // ------------------------------------------------------------------ engine events

    @Override
    public synchronized void stepped(long epoch, ClusterSpec spec, ClusterState before, ClusterState after,
            Instant at, Function<String, Optional<Instant>> lastSign) {
        for (String name : incidents.keySet().stream().filter(g -> !after.groups().containsKey(g)).toList()) {
            end(name, incidents.remove(name), "abandoned");
        }
        for (ClusterState.Group g : after.groups().values()) {
            ClusterState.Group b = before.groups().get(g.name());
            Incident inc = incidents.get(g.name());
            if (inc == null) {
                inc = begin(spec, b, g, before, after, at, lastSign);
                if (inc == null) {
                    continue;
                }
                incidents.put(g.name(), inc);
            }
            GroupPhase p = g.phase();
            if (inc.fenced == null && p != GroupPhase.FAILING && p != GroupPhase.AWAITING_FENCE) {
                inc.fenced = at;
                phases.labelValues("fence").observe(seconds(inc.began, at));
            }
            if (p == GroupPhase.STARTING && (b == null || b.phase() != GroupPhase.STARTING || b.attempt() != g.attempt())) {
                if (inc.placed == null) {
                    phases.labelValues("place").observe(seconds(inc.fenced, at));
                }
                inc.placed = at;
            }
            if (p == GroupPhase.ONLINE) {
                if (inc.placed != null) {
                    phases.labelValues("start").observe(seconds(inc.placed, at));
                }
                recovery.labelValues(inc.reason).observe(seconds(inc.fault, at));
                end(g.name(), inc, "recovered");
            } else if (p == GroupPhase.FAILED) {
                end(g.name(), inc, "failed");
            } else if (p == GroupPhase.OFFLINE || p == GroupPhase.STOPPING || p == GroupPhase.MOVING) {
                end(g.name(), inc, "abandoned"); // an operator took it offline (or it was found running)
            }
        }
    }

    /** The failover that {@code g} begins in this step, if it begins one (or is in one this coordinator took over). */
    private Incident begin(ClusterSpec spec, ClusterState.Group b, ClusterState.Group g, ClusterState before,
            ClusterState after, Instant at, Function<String, Optional<Instant>> lastSign) {
        GroupPhase p = g.phase();
        String reason;
        String lost = null;
        if (p == GroupPhase.AWAITING_FENCE) {
            lost = g.node();
            ClusterState.Node n = after.nodes().get(lost);
            reason = n != null && n.unresponsive() ? "node_unresponsive" : "node_lost";
        } else if (p == GroupPhase.FAILING) {
            GroupPhase was = b == null ? null : b.phase();
            reason = was == GroupPhase.STARTING ? "start_failed" : was == GroupPhase.MOVING ? "move_failed"
                    : was == GroupPhase.STOPPING ? "stop_failed" : "resource_failed";
        } else if ((p == GroupPhase.PENDING || p == GroupPhase.STARTING) && b != null && b.phase().mayRun()
                && b.node() != null && !b.node().equals(g.node()) && nodeGone(before, after, b.node())) {
            // its node went away and the policy needed no fence (left cleanly, or recovery without one)
            lost = b.node();
            ClusterState.Node n = after.nodes().get(lost);
            reason = n != null && n.status() == NodeStatus.DOWN ? "node_left" : "node_lost";
        } else {
            return null;
        }
        Instant began = at;
        Instant fault = at;
        if (lost != null) {
            ClusterState.Node n = after.nodes().get(lost);
            if (n != null && n.lostAt() != null && !n.lostAt().isAfter(at)) {
                began = n.lostAt();
            }
            if (!reason.equals("node_left")) {
                Instant sign = lastSign.apply(lost).orElse(null);
                fault = sign != null && !sign.isAfter(began) ? sign : began.minus(spec.timers().sessionTimeout());
                phases.labelValues("detect").observe(seconds(fault, began));
            } else {
                fault = began;
            }
        }
        return new Incident(reason, began, fault);
    }

    private static boolean nodeGone(ClusterState before, ClusterState after, String n) {
        ClusterState.Node a = after.nodes().get(n);
        ClusterState.Node b = before.nodes().get(n);
        return a != null && a.status() != NodeStatus.UP && (b == null || b.status() == NodeStatus.UP);
    }

    private void end(String group, Incident inc, String result) {
        incidents.remove(group);
        failovers.labelValues(group, inc.reason, result).inc();
    }

    @Override
    public void fenced(String n, String agent, Fencer.Result result, Duration took) {
        fences.labelValues(agent, result.outcome().name().toLowerCase()).observe(took.toNanos() / 1e9);
    }

    @Override
    public void migrated(String group, String domain, Duration paused) {
        downtime.labelValues(MoveMode.LIVE.name().toLowerCase(), "ok").observe(paused.toNanos() / 1e9);
    }

    @Override
    public synchronized void executed(Command c, Input answer, Instant began, Instant ended) {
        if (c instanceof Command.Move m && answer instanceof Input.Moved mv) {
            String mode = m.mode().name().toLowerCase();
            String result = mv.ok() ? "ok" : "failed";
            double s = seconds(began, ended);
            migrations.labelValues(mode, result).observe(s);
            if (m.mode() != MoveMode.LIVE) {
                downtime.labelValues(mode, result).observe(s);
            }
        } else if (c instanceof Command.Online o && answer instanceof Input.Onlined on) {
            if (on.ok()) {
                onlineAt.put(o.group(), ended);
            } else {
                onlineAt.remove(o.group());
            }
        } else if (c instanceof Command.Restart r && answer instanceof Input.Restarted rs) {
            restarts.labelValues(r.group(), r.resource(), rs.ok() ? "ok" : "failed").inc();
        }
    }

    /** What VmResource's IsAlive says once the guest agent answered (see io.havm.resource.VmResource). */
    static final String GUEST_ANSWERED = "guest agent answered";

    @Override
    public synchronized void checked(String group, String resource, Result result, Instant at) {
        Instant since = onlineAt.get(group);
        if (since != null && result instanceof Result.Ok ok && ok.detail() != null
                && ok.detail().endsWith(GUEST_ANSWERED)) {
            onlineAt.remove(group);
            phases.labelValues("guest_answering").observe(seconds(since, at));
        }
    }

    @Override
    public void connection(Coordination.ConnectionState state) {
        sessionEvents.labelValues(node, state.name().toLowerCase()).inc();
    }

    private static double seconds(Instant from, Instant to) {
        if (from == null || to == null) {
            return 0;
        }
        double s = Duration.between(from, to).toNanos() / 1e9;
        return Math.max(0, s);
    }

    // ------------------------------------------------------------------ gauges read at scrape time

    /** The N+1 admission of {@code spec}, computed once per configuration (under its own lock: never the engine's). */
    private Map<String, List<String>> stranded(ClusterSpec spec) {
        synchronized (admission) {
            if (spec != admitted) {
                stranded = Placement.admission(spec);
                admitted = spec;
            }
            return stranded;
        }
    }

    /** The gauges, read from the agent and the cluster state once per scrape. */
    private final class StateCollector implements MultiCollector {
        @Override
        public MetricSnapshots collect() {
            Gauges out = new Gauges();
            Agent a = source.get();
            if (a == null) {
                return out.build();
            }
            String here = node;
            out.put("havm_coordinator", "1 on the agent that is the coordinator now, else 0 (per agent)",
                    a.coordinating() ? 1 : 0, "node", here);
            out.put("havm_agent_member", "1 while this agent is a member: joined, connected, not waiting to join"
                    + " again (per agent)", a.isMember() ? 1 : 0, "node", here);
            for (Coordination.ConnectionState s : Coordination.ConnectionState.values()) {
                out.put("havm_zookeeper_session_state", "This agent's ZooKeeper connection: 1 for its state now"
                        + " (connected, suspended, reconnected, lost), 0 for the others (per agent)",
                        a.connection() == s ? 1 : 0, "node", here, "state", s.name().toLowerCase());
            }
            out.put("havm_config_version", "The configuration version in force on this agent (0: the one it"
                    + " started with; per agent)", a.configVersion(), "node", here);
            a.clusterEpoch().ifPresent(e -> out.put("havm_coordinator_epoch", "The coordinator's epoch (grows at"
                    + " every election; cluster-wide, the same on every agent)", e));
            ClusterSpec spec = a.spec();
            Optional<ClusterState> read = a.clusterState();
            out.put("havm_cluster_state_readable", "1 when this agent could read the cluster state at this scrape;"
                    + " 0 (cut off from ZooKeeper, or nothing stored yet): the cluster-wide gauges are absent (per agent)",
                    read.isPresent() ? 1 : 0, "node", here);
            if (read.isEmpty()) {
                return out.build();
            }
            ClusterState state = read.get();
            out.put("havm_cluster_formed", "1 once the cluster has formed (every node up at once, or the startup"
                    + " grace ran out): only then are groups placed (cluster-wide)", state.formed() ? 1 : 0);
            java.util.SortedSet<String> members = a.members();
            Map<String, Long> used = new TreeMap<>();
            for (ClusterSpec.NodeSpec ns : spec.nodes()) {
                used.put(ns.name(), 0L);
            }
            for (ClusterState.Group g : state.groups().values()) {
                GroupSpec gs = spec.groups().get(g.name());
                for (GroupPhase p : GroupPhase.values()) {
                    out.put("havm_group_state", "1 for the group's phase now, 0 for the others (cluster-wide)",
                            g.phase() == p ? 1 : 0, "group", g.name(), "phase", p.word());
                }
                out.put("havm_group_wanted_online", "1 when the group is wanted online (cluster-wide)",
                        g.wantOnline() ? 1 : 0, "group", g.name());
                if (g.phase().mayRun() && g.node() != null) {
                    out.put("havm_group_owner", "1 for the node the group runs on or is being started, moved or"
                            + " stopped on (cluster-wide)", 1, "group", g.name(), "node", g.node());
                    long need = gs == null ? 0 : gs.memoryMiB() + gs.vmCount() * spec.timers().perVmOverheadMiB();
                    used.merge(g.node(), need, Long::sum);
                    if (g.phase() == GroupPhase.MOVING && g.from() != null) {
                        used.merge(g.from(), need, Long::sum);
                    }
                }
                if (gs == null) {
                    continue;
                }
                Instant now = clock.now();
                out.put("havm_group_failovers", "Failovers within the group's failover period now (cluster-wide)",
                        within(g.failovers(), gs.failoverPeriod(), now), "group", g.name());
                out.put("havm_group_failover_limit", "Failovers allowed within the failover period before the group"
                        + " is left failed (cluster-wide)", gs.failoverThreshold(), "group", g.name());
                for (ResourceSpec r : gs.resources().values()) {
                    out.put("havm_group_restarts", "Restarts in place of the resource within its restart period now"
                            + " (cluster-wide)", within(g.restarts().getOrDefault(r.name(), List.of()),
                            r.restart().period(), now), "group", g.name(), "resource", r.name());
                    out.put("havm_group_restart_limit", "Restarts in place allowed within the restart period"
                            + " (cluster-wide)", r.restart().threshold(), "group", g.name(), "resource", r.name());
                }
            }
            Map<String, List<String>> strandedBy = stranded(spec);
            for (ClusterSpec.NodeSpec ns : spec.nodes()) {
                ClusterState.Node n = state.nodes().get(ns.name());
                NodeStatus status = n == null ? NodeStatus.DOWN : n.status();
                for (NodeStatus s : NodeStatus.values()) {
                    out.put("havm_node_state", "1 for the node's state now (up, lost, fenced, down), 0 for the others"
                            + " (cluster-wide)", status == s ? 1 : 0, "node", ns.name(), "state", s.word());
                }
                out.put("havm_node_member", "1 when the node is a ZooKeeper member now (cluster-wide)",
                        members.contains(ns.name()) ? 1 : 0, "node", ns.name());
                out.put("havm_node_paused", "1 when the node takes no new groups (paused or draining; cluster-wide)",
                        n != null && n.paused() ? 1 : 0, "node", ns.name());
                out.put("havm_node_draining", "1 while the node is being drained (cluster-wide)",
                        n != null && n.draining() ? 1 : 0, "node", ns.name());
                String fence = ns.fencing() == null ? "none" : ns.fencing().storage() ? "storage" : ns.fencing().agent();
                out.put("havm_node_fencing", "1, with the node's fence agent (storage: the storage fence; none: no fence"
                        + " agent, so its groups wait for it or its self-fence deadline; cluster-wide)", 1,
                        "node", ns.name(), "agent", fence);
                out.put("havm_node_memory_bytes", "Memory the node offers to HA groups, as configured (cluster-wide)",
                        ns.memoryMiB() * MIB, "node", ns.name());
                out.put("havm_node_memory_used_bytes", "Memory of the HA groups on the node (with per-VM overhead;"
                        + " both ends of a move; cluster-wide)", used.getOrDefault(ns.name(), 0L) * MIB,
                        "node", ns.name());
                out.put("havm_n_plus_one_stranded_groups", "Groups that would fit nowhere if this node were lost,"
                        + " by the configuration's N+1 admission (cluster-wide)",
                        strandedBy.getOrDefault(ns.name(), List.of()).size(), "node", ns.name());
            }
            headroom(spec, state, used).ifPresent(h -> out.put("havm_n_plus_one_headroom_bytes", "Memory left free"
                    + " on the usable nodes after the groups of the worst single node's loss moved there (negative:"
                    + " that loss strands groups; cluster-wide)", h * MIB));
            return out.build();
        }
    }

    /**
     * The worst single loss: for each node up, the free memory of the other usable nodes less the
     * memory of the groups on it; the least of these, in MiB (empty when no node is up).
     */
    static Optional<Long> headroom(ClusterSpec spec, ClusterState state, Map<String, Long> used) {
        Long worst = null;
        for (ClusterSpec.NodeSpec lost : spec.nodes()) {
            ClusterState.Node ln = state.nodes().get(lost.name());
            if (ln == null || ln.status() != NodeStatus.UP) {
                continue;
            }
            long free = 0;
            for (ClusterSpec.NodeSpec o : spec.nodes()) {
                ClusterState.Node on = state.nodes().get(o.name());
                if (!o.name().equals(lost.name()) && on != null && on.usable()) {
                    free += Math.max(0, o.memoryMiB() - used.getOrDefault(o.name(), 0L));
                }
            }
            long h = free - used.getOrDefault(lost.name(), 0L);
            worst = worst == null ? h : Math.min(worst, h);
        }
        return Optional.ofNullable(worst);
    }

    private static long within(List<Instant> times, Duration period, Instant now) {
        Instant from = now.minus(period);
        return times.stream().filter(t -> t.isAfter(from)).count();
    }

    /** Gauge families in the order first seen, each with its help and points. */
    private static final class Gauges {
        private final Map<String, GaugeSnapshot.Builder> families = new LinkedHashMap<>();

        void put(String name, String help, double value, String... labels) {
            families.computeIfAbsent(name, k -> GaugeSnapshot.builder().name(k).help(help))
                    .dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of(labels)).value(value).build());
        }

        MetricSnapshots build() {
            List<io.prometheus.metrics.model.snapshots.MetricSnapshot> out = new ArrayList<>();
            families.values().forEach(b -> out.add(b.build()));
            return new MetricSnapshots(out);
        }
    }
}
