package io.havm.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.port.Clock;
import io.havm.sim.engine.EngineFaultRunner;
import io.havm.sim.engine.EngineSim;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The metrics of real agents driven by the simulator: the cluster forms, the group is moved live
 * and quick, its host loses power (it was the coordinator too) and it fails over; the host comes
 * back. Each phase is counted exactly once, by the agent that saw it.
 */
class HavmMetricsSimTest {

    static ClusterSpec cluster() {
        StringBuilder y = new StringBuilder(EngineFaultRunner.clusterYaml("metrics", "", true, "never"));
        y.append("groups:\n  web:\n    preferredOwners: [host1]\n    resources:\n"
                + "      web-vm: {type: vm, memoryMiB: 256}\n");
        return ClusterConfigLoader.parse("metrics.yaml", y.toString()).spec();
    }

    /** One HavmMetrics per node, kept across that node's agent restarts, reading through its agent of the moment. */
    static Map<String, HavmMetrics> attach(EngineSim sim) {
        Map<String, HavmMetrics> m = new TreeMap<>();
        Clock clock = new Clock() {
            @Override
            public Instant now() {
                return sim.now();
            }

            @Override
            public void pause(Duration d) {
                throw new UnsupportedOperationException("a scrape never waits");
            }
        };
        for (String n : sim.spec().nodeNames()) {
            m.put(n, new HavmMetrics(n, "test", clock).source(() -> sim.agent(n).orElse(null)));
        }
        sim.observers(m::get);
        return m;
    }

    /** Each agent's scrape, in node order. */
    static List<Scrape> scrape(Map<String, HavmMetrics> m) {
        List<Scrape> all = new ArrayList<>();
        m.values().forEach(x -> all.add(Scrape.of(x.registry().scrape())));
        return all;
    }

    /** The scenario; returns each agent's scrape at its end, and adds those after the failover to {@code midway}. */
    static List<Scrape> scenario(List<List<Scrape>> midway) {
        try (EngineSim sim = new EngineSim(cluster())) {
            Map<String, HavmMetrics> m = attach(sim);
            sim.boot();
            sim.runTo(5);
            sim.operator(new Input.MoveGroup("web", "host2", MoveMode.LIVE));
            sim.runTo(15);
            sim.operator(new Input.MoveGroup("web", "host1", MoveMode.QUICK));
            sim.runTo(25);
            assertEquals("host1", sim.state().groups().get("web").node(), String.join("\n", sim.log()));
            sim.powerOff("host1");
            sim.runTo(60);
            assertEquals(List.of(), sim.violations());
            midway.add(scrape(m));
            sim.powerOn("host1");
            sim.runTo(80);
            assertEquals(GroupPhase.ONLINE, sim.state().groups().get("web").phase());
            return scrape(m);
        }
    }

    @Test
    void aHostPowerLossIsOneFailoverWithEachPhaseObservedOnce() {
        List<List<Scrape>> midway = new ArrayList<>();
        Scrape end = Scrape.all(scenario(midway));
        Scrape mid = Scrape.all(midway.get(0));

        assertEquals(1, end.sum("havm_failovers_total", "group", "web", "reason", "node_lost", "result", "recovered"),
                end.text());
        assertEquals(1, end.sum("havm_failovers_total"), "no other failover was counted");
        for (String phase : List.of("detect", "fence", "place", "start")) {
            assertEquals(1, end.sum("havm_failover_phase_seconds_count", "phase", phase), phase + "\n" + end.text());
        }
        // detection: one session timeout (3 s) without a second channel; the fence and the start take time
        assertEquals(3.0, end.sum("havm_failover_phase_seconds_sum", "phase", "detect"), 1e-9);
        assertTrue(end.sum("havm_failover_phase_seconds_sum", "phase", "fence") > 0, end.text());
        assertEquals(1, end.sum("havm_failover_recovery_seconds_count", "reason", "node_lost"));
        double recovery = end.sum("havm_failover_recovery_seconds_sum", "reason", "node_lost");
        double parts = 0;
        for (String phase : List.of("detect", "fence", "place", "start")) {
            parts += end.sum("havm_failover_phase_seconds_sum", "phase", phase);
        }
        assertEquals(recovery, parts, 1e-6, "the phases add up to the recovery");
        assertTrue(recovery < 30, "recovered in " + recovery + " s");
        assertEquals(1, end.sum("havm_fence_duration_seconds_count", "agent", "fence_havm_lab", "result", "off"));
        assertEquals(1, end.sum("havm_migration_duration_seconds_count", "mode", "live", "result", "ok"));
        assertEquals(1, end.sum("havm_migration_duration_seconds_count", "mode", "quick", "result", "ok"));
        assertEquals(1, end.sum("havm_migration_downtime_seconds_count", "mode", "quick", "result", "ok"));
        assertEquals(0, end.sum("havm_migration_downtime_seconds_count", "mode", "live"));

        // After the fence, before host1 came back: every live agent says host1 is fenced and web runs elsewhere.
        assertEquals(2, mid.sum("havm_node_state", "node", "host1", "state", "fenced"), mid.text());
        assertEquals(0, mid.sum("havm_node_state", "node", "host1", "state", "up"));
        assertEquals(0, mid.sum("havm_node_member", "node", "host1"));
        assertEquals(2, mid.sum("havm_group_state", "group", "web", "phase", "online"));
        assertEquals(0, mid.sum("havm_group_owner", "group", "web", "node", "host1"));
        assertEquals(2, mid.sum("havm_group_failovers", "group", "web"), "one failover in the window, on each agent");
        assertEquals(1, mid.sum("havm_coordinator"), "exactly one coordinator among the agents");
        assertEquals(0, mid.sum("havm_coordinator", "node", "host1"));
        assertTrue(mid.sum("havm_coordinator_epoch") >= 2 * 2, "a second election, seen by both agents");
        // N+1: two nodes of 2048 MiB up, web needs 256 MiB plus overhead
        assertTrue(mid.sum("havm_n_plus_one_headroom_bytes") > 0, mid.text());

        // Back: host1 is up and a member again on every agent (three now); web stays where it runs.
        assertEquals(3, end.sum("havm_node_state", "node", "host1", "state", "up"), end.text());
        assertEquals(3, end.sum("havm_node_member", "node", "host1"));
        assertEquals(3, end.sum("havm_agent_member"));
        assertEquals(3, end.sum("havm_zookeeper_session_state", "state", "connected")
                + end.sum("havm_zookeeper_session_state", "state", "reconnected"));
        assertEquals(1, end.sum("havm_group_owner", "group", "web") / 3, "one owner, as each agent says");
        assertEquals(1, end.sum("havm_coordinator"));
        assertEquals(3, end.sum("havm_build_info", "version", "test"));
        assertEquals(3, end.sum("havm_cluster_state_readable"));
        assertEquals(3, end.sum("havm_cluster_formed"));
        assertEquals(3, end.sum("havm_node_fencing", "node", "host2", "agent", "fence_havm_lab"));
    }

    @Test
    void aGuestThatCrashesTwiceIsRestartedInPlaceOnceThenFailsOverAsAResourceFailure() {
        try (EngineSim sim = new EngineSim(cluster())) {
            Map<String, HavmMetrics> m = attach(sim);
            sim.boot();
            sim.runTo(5);
            sim.crashGuest("web-vm");
            sim.runTo(15);
            Scrape mid = Scrape.all(scrape(m));
            assertEquals(1, mid.sum("havm_restarts_total", "group", "web", "resource", "web-vm", "result", "ok"),
                    String.join("\n", sim.log()));
            assertEquals(3, mid.sum("havm_group_restarts", "group", "web", "resource", "web-vm"),
                    "one restart in the window, as each of the three agents reads it");
            assertEquals(3, mid.sum("havm_group_restart_limit", "group", "web", "resource", "web-vm"));
            assertEquals(0, mid.sum("havm_failovers_total"), "a restart in place is no failover");
            sim.crashGuest("web-vm");
            sim.runTo(40);
            assertEquals(List.of(), sim.violations());
            assertEquals(GroupPhase.ONLINE, sim.state().groups().get("web").phase());
            Scrape end = Scrape.all(scrape(m));
            assertEquals(1, end.sum("havm_failovers_total", "group", "web", "reason", "resource_failed",
                    "result", "recovered"), end.text());
            assertEquals(0, end.sum("havm_failover_phase_seconds_count", "phase", "detect"),
                    "when a guest crashed is not known to the coordinator: no detect phase");
            for (String phase : List.of("fence", "place", "start")) {
                assertEquals(1, end.sum("havm_failover_phase_seconds_count", "phase", phase), phase);
            }
            assertEquals(0, end.sum("havm_fence_duration_seconds_count"), "terminated on its node, not fenced");
        }
    }

    /** The power-loss scenario's log with the observers {@code attach} sets (none: the engine's default). */
    private static List<String> powerLossLog(java.util.function.Consumer<EngineSim> attach) {
        try (EngineSim sim = new EngineSim(cluster())) {
            attach.accept(sim);
            sim.boot();
            sim.runTo(5);
            sim.operator(new Input.MoveGroup("web", "host2", MoveMode.LIVE));
            sim.runTo(15);
            sim.powerOff("host2");
            sim.runTo(40);
            assertEquals(GroupPhase.ONLINE, sim.state().groups().get("web").phase());
            return sim.log();
        }
    }

    @Test
    void observingChangesNothingTheEngineDoesNorWhenEvenIfTheObserverThrows() {
        List<String> plain = powerLossLog(sim -> { });
        assertEquals(plain, powerLossLog(HavmMetricsSimTest::attach), "with metrics");
        io.havm.engine.EngineObserver broken = new io.havm.engine.EngineObserver() {
            @Override
            public void stepped(long epoch, ClusterSpec spec, io.havm.policy.ClusterState before,
                    io.havm.policy.ClusterState after, Instant at,
                    java.util.function.Function<String, java.util.Optional<Instant>> lastSign) {
                throw new IllegalStateException("broken observer");
            }

            @Override
            public void fenced(String node, String agent, io.havm.port.Fencer.Result result, Duration took) {
                throw new IllegalStateException("broken observer");
            }

            @Override
            public void executed(io.havm.policy.Command command, Input answer, Instant began, Instant ended) {
                throw new IllegalStateException("broken observer");
            }
        };
        assertEquals(plain, powerLossLog(sim -> sim.observers(n -> broken)), "with an observer that throws");
    }

    @Test
    void anAgentCutOffFromZooKeeperSaysSoAndReadsNothing() {
        try (EngineSim sim = new EngineSim(cluster())) {
            Map<String, HavmMetrics> m = attach(sim);
            sim.boot();
            sim.runTo(5);
            sim.partition("host3");
            sim.runTo(7.5); // suspended at 2/3 of the 3 s session timeout; not yet lost
            Scrape cut = Scrape.of(m.get("host3").registry().scrape());
            assertEquals(1, cut.sum("havm_zookeeper_session_state", "node", "host3", "state", "suspended"), cut.text());
            assertEquals(0, cut.sum("havm_agent_member", "node", "host3"));
            assertEquals(0, cut.sum("havm_cluster_state_readable", "node", "host3"));
            assertTrue(!cut.has("havm_node_state") && !cut.has("havm_coordinator_epoch"),
                    "no cluster-wide gauge from an agent that cannot read the state");
            Scrape other = Scrape.of(m.get("host2").registry().scrape());
            assertEquals(1, other.sum("havm_cluster_state_readable"));
            assertEquals(1, other.sum("havm_node_state", "node", "host3", "state", "up"), "not lost yet");
            sim.heal("host3");
            sim.runTo(12);
            Scrape back = Scrape.of(m.get("host3").registry().scrape());
            assertEquals(1, back.sum("havm_cluster_state_readable"), back.text());
            assertEquals(1, back.sum("havm_zookeeper_connection_events_total", "state", "suspended"));
        }
    }
}
