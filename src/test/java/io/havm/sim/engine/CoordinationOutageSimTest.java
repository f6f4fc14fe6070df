package io.havm.sim.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.policy.NodeStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * "Never an outage havm itself caused", on the real engine: a ZooKeeper stall, crash or restart
 * stops, starts and fences nothing (the simulator's referee checks it at every event, see
 * {@link EngineSim#zkDown}); a host cut off, a hung agent and a Terminate that cannot succeed
 * still never give two copies.
 */
class CoordinationOutageSimTest {

    /** Fencing per node: "power" (a fence agent), "storage" (fence requests), "none". */
    static ClusterSpec cluster(String fencing, String recovery, boolean heartbeat, boolean watchdog) {
        StringBuilder y = new StringBuilder("cluster:\n  name: outage\n");
        if (heartbeat) {
            y.append("  heartbeat: {dir: /srv/havm/heartbeat, interval: 500ms, timeout: 1s}\n");
        }
        if (watchdog) {
            y.append("  watchdog: {device: /dev/watchdog, timeout: 6s}\n");
        }
        y.append("  timers: {sessionTimeout: 3s, zkTickTime: 500ms, selfFenceAfter: 0s, selfFenceDuration: 1s,"
                + " safetyMargin: 500ms, recoveryWithoutFence: ").append(recovery).append(", fenceRetry: 2s}\n  nodes:\n");
        for (int i = 1; i <= 3; i++) {
            y.append("    - {name: host").append(i).append(", uri: qemu+tcp://10.77.0.").append(10 + i)
                    .append("/system, memoryMiB: 2048");
            if (fencing.equals("power")) {
                y.append(", fencing: {agent: fence_havm_lab, options: {plug: host").append(i).append("}}");
            } else if (fencing.equals("storage")) {
                y.append(", fencing: {agent: storage}");
            }
            y.append("}\n");
        }
        y.append("groups:\n  web:\n    preferredOwners: [host1]\n    resources:\n      web-vm: {type: vm, memoryMiB: 256}\n"
                + "  db:\n    preferredOwners: [host2]\n    resources:\n      db-vm: {type: vm, memoryMiB: 256}\n");
        return ClusterConfigLoader.parse("outage.yaml", y.toString()).spec();
    }

    private static String why(EngineSim sim) {
        return String.join("\n", sim.log());
    }

    private static void assertUndisturbed(EngineSim sim, int startsBefore) {
        if (Boolean.getBoolean("havm.printSim")) {
            System.out.println(why(sim));
        }
        assertEquals(List.of(), sim.violations(), why(sim));
        assertEquals(List.of("host1"), sim.runningOn("web-vm"), why(sim));
        assertEquals(List.of("host2"), sim.runningOn("db-vm"), why(sim));
        assertEquals(startsBefore, sim.starts().size(), "no VM started again:\n" + why(sim));
        assertTrue(sim.fenced().isEmpty(), "nothing fenced: " + sim.fenced() + "\n" + why(sim));
        ClusterState s = sim.state();
        for (String n : List.of("host1", "host2", "host3")) {
            assertEquals(NodeStatus.UP, s.nodes().get(n).status(), n + "\n" + why(sim));
        }
        assertEquals(GroupPhase.ONLINE, s.groups().get("web").phase(), why(sim));
        assertTrue(s.groups().get("web").restarts().isEmpty(), "no restart budget spent\n" + why(sim));
    }

    @Test
    void aZooKeeperStallShorterThanTheSessionStopsNothing() {
        for (String fencing : List.of("power", "storage")) {
            try (EngineSim sim = new EngineSim(cluster(fencing, "never", true, true)).boot()) {
                sim.runTo(8);
                int starts = sim.starts().size();
                sim.zkDown();
                sim.runTo(10.5);
                sim.zkUp();
                sim.runTo(30);
                assertUndisturbed(sim, starts);
            }
        }
    }

    @Test
    void aZooKeeperCrashAndRestartAfter20sOrSeveralMinutesStopsStartsAndFencesNothing() {
        for (double down : new double[] {20, 200}) {
            for (String fencing : List.of("power", "storage")) {
                try (EngineSim sim = new EngineSim(cluster(fencing, "never", true, true)).boot()) {
                    sim.runTo(8);
                    int starts = sim.starts().size();
                    long epoch = sim.epoch();
                    sim.zkCrash();
                    sim.runTo(8 + down);
                    sim.zkRestart();
                    sim.runTo(8 + down + 30);
                    assertUndisturbed(sim, starts);
                    assertTrue(sim.epoch() > epoch, "a coordinator took office again");
                    assertTrue(sim.events().stream().anyMatch(e -> e.contains("coordination: zookeeper unreachable from")),
                            "the outage is in the event log: " + sim.events());
                    assertTrue(sim.log().stream().noneMatch(l -> l.contains("self-fence")), why(sim));
                }
            }
        }
    }

    @Test
    void aNodeSlowToReconnectAfterTheRestartIsGivenTimeInsteadOfBeingFenced() {
        try (EngineSim sim = new EngineSim(cluster("power", "never", true, true)).boot()) {
            sim.runTo(8);
            int starts = sim.starts().size();
            sim.zkCrash();
            sim.runTo(28);
            sim.partition("host2"); // its client will not reach the restarted server for a while
            sim.zkRestart();
            sim.runTo(33); // the restarted server expires host2's old session at 31: host2 is no member
            sim.heal("host2");
            sim.runTo(60);
            assertEquals(List.of(), sim.violations(), why(sim));
            assertTrue(sim.log().stream().anyMatch(l -> l.contains("host2 is not a member but its storage heartbeat advances")),
                    why(sim));
            assertTrue(sim.fenced().isEmpty(), sim.fenced() + "\n" + why(sim));
            assertEquals(starts, sim.starts().size(), why(sim));
            assertEquals(List.of("host2"), sim.runningOn("db-vm"), why(sim));
            assertEquals(NodeStatus.UP, sim.state().nodes().get("host2").status(), why(sim));
        }
    }

    @Test
    void withoutASecondChannelButWithPowerFencingAnOutageStopsNothingEither() {
        try (EngineSim sim = new EngineSim(cluster("power", "never", false, false)).boot()) {
            sim.runTo(8);
            int starts = sim.starts().size();
            sim.zkCrash();
            sim.runTo(30);
            sim.zkRestart();
            sim.runTo(60);
            assertUndisturbed(sim, starts);
        }
    }

    @Test
    void anOwnerCutOffFromZooKeeperStopsItsVmBeforeTheStorageFenceLetsItStartElsewhere() {
        try (EngineSim sim = new EngineSim(cluster("storage", "never", true, true)).boot()) {
            sim.runTo(8);
            sim.partition("host1"); // storage still reachable: it reads the fence request
            sim.runTo(40);
            assertEquals(List.of(), sim.violations(), why(sim));
            ClusterState.Group web = sim.state().groups().get("web");
            assertEquals(GroupPhase.ONLINE, web.phase(), why(sim));
            assertFalse(web.node().equals("host1"), why(sim));
            assertEquals(List.of(web.node()), sim.runningOn("web-vm"));
            assertTrue(sim.log().stream().anyMatch(l -> l.contains("host1 fencer: off (acknowledged fence request")),
                    why(sim));
            assertTrue(sim.fenced().isEmpty(), "no power fence here");
        }
    }

    @Test
    void aRestartedAgentDoesNotObeyAFenceRequestItsPredecessorAlreadyAcknowledged() {
        try (EngineSim sim = new EngineSim(cluster("storage", "never", true, true)).boot()) {
            sim.runTo(8);
            sim.partition("host1");
            sim.runTo(30); // host1 obeyed and acknowledged a fence request; web runs elsewhere
            sim.heal("host1");
            sim.runTo(40);
            sim.operator(new io.havm.policy.Input.MoveGroup("db", "host1", io.havm.model.MoveMode.LIVE));
            sim.runTo(50);
            assertEquals(List.of("host1"), sim.runningOn("db-vm"), why(sim));
            sim.crashAgent("host1");
            sim.runTo(50.5);
            sim.startAgent("host1"); // an upgrade, a supervisor restart: the old request is still in its slot
            sim.runTo(70);
            assertEquals(List.of(), sim.violations(), why(sim));
            assertEquals(List.of("host1"), sim.runningOn("db-vm"), why(sim));
            long selfFences = sim.log().stream().filter(l -> l.contains("host1 agent: self-fence (fence request")).count();
            assertEquals(1, selfFences, why(sim));
        }
    }

    /**
     * A restarted agent that loses ZooKeeper right after its join, before it has written anything
     * else (found by the failover benchmark: the process ended, nothing guarded host1, nobody
     * acknowledged the storage fence and web stayed down). The agent now keeps running, its guard
     * obeys the fence request or stops the VM on silence, web starts elsewhere only after that, and
     * once the network is back the node joins again.
     */
    @Test
    void anAgentCutOffBetweenItsJoinAndItsFirstWriteKeepsRunningGuardedAndNothingWaitsForever() {
        for (boolean isolated : new boolean[] {false, true}) {
            for (double restartAt : new double[] {8.5, 12}) { // within the old session's timeout, or after it (before the watchdog resets host1)
                String c = (isolated ? "isolated" : "zookeeper only") + ", restart at " + restartAt + " s\n";
                try (EngineSim sim = new EngineSim(cluster("storage", "never", true, true)).boot()) {
                    sim.runTo(8);
                    sim.crashAgent("host1");
                    sim.runTo(restartAt);
                    sim.cutOffAfterNextJoin("host1", isolated);
                    sim.startAgent("host1");
                    sim.runTo(restartAt + 60);
                    assertEquals(List.of(), sim.violations(), c + why(sim));
                    assertTrue(sim.agentRuns("host1"), c + "the agent process is still there\n" + why(sim));
                    assertTrue(sim.log().stream().anyMatch(l -> l.contains("host1 agent: joined, but cannot announce")),
                            c + why(sim));
                    // Proof that host1 stopped web (its acknowledgement, or its watchdog's deadline), then web elsewhere.
                    ClusterState.Group web = sim.state().groups().get("web");
                    assertEquals(GroupPhase.ONLINE, web.phase(), c + why(sim));
                    assertFalse(web.node().equals("host1"), c + why(sim));
                    assertEquals(List.of(web.node()), sim.runningOn("web-vm"), c + why(sim));
                    sim.heal("host1");
                    sim.runTo(restartAt + 120);
                    assertEquals(List.of(), sim.violations(), c + why(sim));
                    assertEquals(List.of(), sim.livenessProblems(), c + why(sim));
                }
            }
        }
    }

    @Test
    void anOwnerIsolatedFromZooKeeperAndStorageStopsOnItsOwnAndSilenceCountsAfterTheWatchdog() {
        try (EngineSim sim = new EngineSim(cluster("storage", "never", true, true)).boot()) {
            sim.runTo(8);
            sim.isolate("host1");
            sim.runTo(45);
            assertEquals(List.of(), sim.violations(), why(sim));
            ClusterState.Group web = sim.state().groups().get("web");
            assertEquals(GroupPhase.ONLINE, web.phase(), why(sim));
            assertFalse(web.node().equals("host1"), why(sim));
            assertTrue(sim.log().stream().anyMatch(l -> l.contains("host1 agent: self-fence (cut off from zookeeper")),
                    why(sim));
            assertTrue(sim.log().stream().anyMatch(l -> l.contains("host1 fencer: off (no acknowledgement")), why(sim));
        }
    }

    @Test
    void aPausedOwnerAgentIsResetByItsWatchdogBeforeItsVmStartsElsewhere() {
        try (EngineSim sim = new EngineSim(cluster("storage", "never", true, true)).boot()) {
            sim.runTo(8);
            sim.freeze("host1");
            sim.runTo(38);
            sim.thaw("host1");
            sim.runTo(50);
            assertEquals(List.of(), sim.violations(), why(sim));
            assertTrue(sim.log().stream().anyMatch(l -> l.contains("fault: power off host1 (watchdog")), why(sim));
            ClusterState.Group web = sim.state().groups().get("web");
            assertEquals(GroupPhase.ONLINE, web.phase(), why(sim));
            assertFalse(web.node().equals("host1"), why(sim));
        }
    }

    @Test
    void aNodeThatCannotReachTheHeartbeatStorageAloneKeepsEverything() {
        try (EngineSim sim = new EngineSim(cluster("storage", "never", true, true)).boot()) {
            sim.runTo(8);
            int starts = sim.starts().size();
            sim.storageCut("host1");
            sim.runTo(30);
            sim.storageRestore("host1");
            sim.runTo(40);
            assertEquals(List.of(), sim.violations(), why(sim));
            assertEquals(List.of("host1"), sim.runningOn("web-vm"), why(sim));
            assertEquals(starts, sim.starts().size(), why(sim));
        }
    }

    @Test
    void aTerminateWithLibvirtdDownKillsByPidAndIsProvenBeforeTheVmMoves() {
        try (EngineSim sim = new EngineSim(cluster("power", "never", true, true)).boot()) {
            sim.runTo(8);
            sim.libvirtd("host1", false);
            sim.runTo(60);
            assertEquals(List.of(), sim.violations(), why(sim));
            List<String> on = sim.runningOn("web-vm");
            assertEquals(1, on.size(), why(sim));
        }
    }
}
