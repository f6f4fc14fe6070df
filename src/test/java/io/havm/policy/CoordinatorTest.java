package io.havm.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The startup grace and pending-operation timeouts, step by step on the pure policy (the golden
 * scenarios show the same through the simulator).
 */
class CoordinatorTest {
    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    static ClusterSpec spec(int nodes, boolean fencing, String groups) {
        StringBuilder y = new StringBuilder("cluster:\n  timers: {sessionTimeout: 3s, zkTickTime: 500ms,"
                + " selfFenceAfter: 0s, selfFenceDuration: 1s, safetyMargin: 500ms, recoveryWithoutFence: 2s}\n"
                + "  nodes:\n");
        for (int i = 1; i <= nodes; i++) {
            y.append("    - {name: host").append(i).append(", uri: 'qemu+tcp://10.77.0.1").append(i).append("/system'")
                    .append(fencing ? ", fencing: {agent: fence_havm_lab, options: {plug: host" + i + "}}" : "")
                    .append("}\n");
        }
        return ClusterConfigLoader.parse("c.yaml", y + "groups:\n" + groups).spec();
    }

    static final String WEB_ON_HOST2 = """
              web: {preferredOwners: [host2], resources: {web-vm: {type: vm, memoryMiB: 256, pendingTimeout: 10s}}}
              db: {preferredOwners: [host1], resources: {db-vm: {type: vm, memoryMiB: 256, pendingTimeout: 10s}}}
            """;

    static Instant at(double seconds) {
        return T0.plus(Duration.ofMillis(Math.round(seconds * 1000)));
    }

    /** A coordinator run that keeps the state between steps, as the store does. */
    static final class Run {
        Coordinator c; // a new version's coordinator once reconfigured
        ClusterState state;
        Coordinator.Step last;

        Run(ClusterSpec spec) {
            c = new Coordinator(spec);
            state = c.initial();
        }

        Coordinator.Step step(double t, Input... in) {
            last = c.apply(state, List.of(in), at(t));
            state = last.state();
            return last;
        }

        ClusterState.Group group(String g) {
            return state.groups().get(g);
        }
    }

    @Test
    void theFirstNodeDoesNotTakeEveryGroupWhileTheClusterForms() {
        Run r = new Run(spec(3, true, WEB_ON_HOST2));
        Coordinator.Step s = r.step(0, new Input.NodeUp("host1", Set.of()));
        assertEquals(List.of(), s.commands(), "nothing placed while host2 and host3 may still boot");
        assertTrue(s.log().contains("cluster: forming, waiting for host2, host3 (startup grace ends in 20 s)"), s.log()
                .toString());
        assertEquals(GroupPhase.PENDING, r.group("web").phase());
        assertFalse(r.state.formed());

        // A new coordinator (failover) continues from the persisted state: same grace, same deadline.
        Run next = new Run(r.c.spec());
        next.state = r.state;
        s = next.step(5, new Input.NodeUp("host2", Set.of()));
        assertEquals(List.of("host2 node: unknown -> up (joined)",
                "cluster: forming, waiting for host3 (startup grace ends in 15 s)"), s.log());
        s = next.step(6, new Input.NodeUp("host3", Set.of()));
        assertTrue(s.log().contains("cluster: formed (all 3 nodes up): placing groups"), s.log().toString());
        assertTrue(s.commands().contains(new Command.Online("web", "host2", 1)), "web goes to its preferred owner");
        assertTrue(s.commands().contains(new Command.Online("db", "host1", 1)));
        assertEquals(at(6), next.state.formedAt());
    }

    @Test
    void aGroupAJoiningNodeRunsIsAdoptedAtOnceWhileTheRestWaits() {
        Run r = new Run(spec(3, true, WEB_ON_HOST2));
        Coordinator.Step s = r.step(0, new Input.NodeUp("host1", Set.of("web")));
        assertEquals(GroupPhase.ONLINE, r.group("web").phase());
        assertEquals("host1", r.group("web").node());
        assertEquals(GroupPhase.PENDING, r.group("db").phase(), "db runs nowhere: it waits for the grace");
        assertEquals(List.of(), s.commands());
    }

    @Test
    void whenTheGraceRunsOutTheNodesThatAreUpTakeTheGroups() {
        Run r = new Run(spec(3, true, WEB_ON_HOST2));
        r.step(0, new Input.NodeUp("host1", Set.of()));
        assertEquals(List.of(), r.step(19.999, new Input.Tick()).commands());
        Coordinator.Step s = r.step(20, new Input.Tick());
        assertTrue(s.log().contains("cluster: startup grace expired (20 s) without host2, host3: placing groups on the"
                + " nodes that are up"), s.log().toString());
        assertEquals(Set.of(new Command.Online("web", "host1", 1), new Command.Online("db", "host1", 1)),
                Set.copyOf(s.commands()));
        // Once formed, never forming again: host2 joining later is failback's business, not the grace's.
        s = r.step(30, new Input.NodeUp("host2", Set.of()));
        assertFalse(s.log().stream().anyMatch(l -> l.startsWith("cluster:")), s.log().toString());
    }

    @Test
    void aClusterThatFormsInOneStepSaysNothingAboutIt() {
        Run r = new Run(spec(2, true, WEB_ON_HOST2));
        Coordinator.Step s = r.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of()));
        assertFalse(s.log().stream().anyMatch(l -> l.startsWith("cluster:")), s.log().toString());
        assertEquals(2, s.commands().size());
    }

    @Test
    void budgetsFollowThePendingTimeouts() {
        ClusterSpec spec = spec(2, true, """
                  web:
                    resources:
                      disk: {type: script, pendingTimeout: 10s}
                      vm: {type: vm, pendingTimeout: 20s, dependsOn: [disk]}
                      log: {type: script, pendingTimeout: 5s}
                """);
        Coordinator c = new Coordinator(spec);
        Duration session = Duration.ofSeconds(3);
        assertEquals(Duration.ofSeconds(35).plus(session), c.budget("web", GroupPhase.STARTING, null));
        assertEquals(Duration.ofSeconds(35).plus(session), c.budget("web", GroupPhase.STOPPING, null));
        assertEquals(Duration.ofSeconds(35).plus(session), c.budget("web", GroupPhase.FAILING, null));
        assertEquals(Duration.ofSeconds(70).plus(session), c.budget("web", GroupPhase.MOVING, null));
        assertEquals(Duration.ofSeconds(60).plus(session), c.budget("web", GroupPhase.RESTARTING, "disk"),
                "disk and vm (its dependent) go down and come back");
        assertEquals(Duration.ofSeconds(10).plus(session), c.budget("web", GroupPhase.RESTARTING, "log"));
    }

    /** web on host1 of a formed 2-node cluster, online (attempt 1 answered). */
    static Run webOnlineOnHost1(boolean fencing) {
        return webOnlineOnHost1(fencing, 2);
    }

    static Run webOnlineOnHost1(boolean fencing, int nodes) {
        Run r = new Run(spec(nodes, fencing, """
                  web: {preferredOwners: [host1], resources: {web-vm: {type: vm, memoryMiB: 256, pendingTimeout: 10s}}}
                """));
        Input[] up = new Input[nodes];
        for (int i = 0; i < nodes; i++) {
            up[i] = new Input.NodeUp("host" + (i + 1), Set.of());
        }
        r.step(0, up);
        r.step(0.5, new Input.Onlined("web", "host1", true, "started", 1));
        assertEquals(GroupPhase.ONLINE, r.group("web").phase());
        return r;
    }

    @Test
    void aSilentOnlineCountsAsFailedAndIsTerminatedThereFirst() {
        Run r = new Run(spec(2, true, """
                  web: {preferredOwners: [host1], resources: {web-vm: {type: vm, memoryMiB: 256, pendingTimeout: 10s}}}
                """));
        r.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of()));
        assertEquals(at(13), r.group("web").deadline(), "10 s pending timeout + 3 s session timeout");
        assertEquals(List.of(), r.step(12.999, new Input.Tick()).commands());
        Coordinator.Step s = r.step(13, new Input.Tick());
        assertEquals(List.of(new Command.Terminate("web", "host1", 2)), s.commands());
        assertEquals(GroupPhase.FAILING, r.group("web").phase());
        assertEquals(Set.of("host1"), r.group("web").tried());
        // The late answer to attempt 1 changes nothing: the group waits for the Terminate.
        s = r.step(14, new Input.Onlined("web", "host1", true, "started", 1));
        assertEquals(List.of(), s.commands());
        assertEquals(GroupPhase.FAILING, r.group("web").phase());
        s = r.step(14.3, new Input.Terminated("web", "host1", true, "terminated", 2));
        assertEquals(List.of(new Command.Online("web", "host2", 3)), s.commands());
        assertEquals(1, r.group("web").failovers().size(), "counted like a failed Online");
    }

    @Test
    void aTerminateThatWasNotProvenFencesTheNodeBeforeTheGroupStartsElsewhere() {
        Run r = new Run(spec(2, true, """
                  web: {preferredOwners: [host1], resources: {web-vm: {type: vm, memoryMiB: 256, pendingTimeout: 10s}}}
                """));
        r.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of()));
        r.step(13, new Input.Tick()); // online 1 timed out: terminate 2 on host1
        Coordinator.Step s = r.step(14, new Input.Terminated("web", "host1", false,
                "web-vm: libvirtd does not answer and the QEMU it recorded still lives", 2));
        assertEquals(List.of(new Command.Fence("host1")), s.commands(), "fenced, not started on host2");
        assertEquals(GroupPhase.AWAITING_FENCE, r.group("web").phase());
        s = r.step(15, new Input.Fenced("host1", true, "off"));
        assertEquals(List.of(new Command.Online("web", "host2", 3)), s.commands());
    }

    @Test
    void anAnswerForAnotherAttemptOnTheSameNodeIsIgnored() {
        Run r = new Run(spec(1, true, """
                  web: {resources: {web-vm: {type: vm, memoryMiB: 256, pendingTimeout: 10s}}}
                """));
        r.step(0, new Input.NodeUp("host1", Set.of()));
        r.step(13, new Input.Tick()); // online 1 timed out: terminate 2
        r.step(13.3, new Input.Terminated("web", "host1", true, "terminated", 2)); // nowhere else to go: pending, retried in 60 s
        assertEquals(GroupPhase.PENDING, r.group("web").phase());
        Coordinator.Step s = r.step(73.3, new Input.Tick());
        assertEquals(List.of(new Command.Online("web", "host1", 3)), s.commands());
        s = r.step(74, new Input.Onlined("web", "host1", false, "late failure of attempt 1", 1));
        assertEquals(List.of("host1 online answer for web ignored: it answers attempt 1, the group (starting on"
                + " host1) waits for attempt 3"), s.log());
        assertEquals(GroupPhase.STARTING, r.group("web").phase());
        r.step(74.5, new Input.Onlined("web", "host1", true, "started", 3));
        assertEquals(GroupPhase.ONLINE, r.group("web").phase());
        assertNull(r.group("web").deadline());
    }

    @Test
    void aSilentTerminateFencesTheNodeAndItsDeadlineWaitsForItsSession() {
        Run r = webOnlineOnHost1(true);
        r.step(1, new Input.GroupOffline("web")); // offline 2
        r.step(14, new Input.Tick()); // offline timed out: terminate 3
        assertEquals(GroupPhase.FAILING, r.group("web").phase());
        Coordinator.Step s = r.step(27, new Input.Tick());
        assertEquals(List.of(new Command.Fence("host1")), s.commands());
        ClusterState.Node host1 = r.state.nodes().get("host1");
        assertEquals(NodeStatus.LOST, host1.status());
        assertTrue(host1.unresponsive());
        assertEquals(GroupPhase.AWAITING_FENCE, r.group("web").phase());
        // recoveryWithoutFence is 2 s, but host1 is still a member: it will not fence itself.
        r.step(27, new Input.Fenced("host1", false, "fence agent failed"));
        assertEquals(List.of(), r.step(40, new Input.Tick()).commands().stream()
                .filter(c -> !(c instanceof Command.Fence)).toList());
        assertEquals(NodeStatus.LOST, r.state.nodes().get("host1").status());
        s = r.step(41, new Input.NodeLost("host1"));
        assertTrue(s.log().contains("host1 node: session expired before its fence was confirmed; its self-fence"
                + " deadline runs from now; fence it again"), s.log().toString());
        assertEquals(List.of(new Command.Fence("host1")), s.commands(), "the retry sent at t=40 may have died with"
                + " the coordinator that sent it");
        s = r.step(43, new Input.Tick());
        assertEquals(NodeStatus.FENCED, r.state.nodes().get("host1").status());
        assertEquals(GroupPhase.OFFLINE, r.group("web").phase(), "wanted offline, proven off");
    }

    /** host1 evicted for a silent Terminate and fenced while its session lives: the state both tests start from. */
    private static Run evictedAndFenced() {
        return evictedAndFenced(webOnlineOnHost1(true));
    }

    /** The same, in a cluster that fences by storage (poison pill, heartbeat and watchdog). */
    private static Run evictedAndStorageFenced() {
        String yaml = "cluster:\n  heartbeat: {dir: /srv/havm/heartbeat, interval: 500ms, timeout: 1s}\n"
                + "  watchdog: {device: /dev/watchdog, timeout: 6s}\n"
                + "  timers: {sessionTimeout: 3s, zkTickTime: 500ms, selfFenceAfter: 0s, selfFenceDuration: 1s,"
                + " safetyMargin: 500ms, recoveryWithoutFence: never}\n  nodes:\n"
                + "    - {name: host1, uri: 'qemu+tcp://10.77.0.11/system', fencing: {agent: storage}}\n"
                + "    - {name: host2, uri: 'qemu+tcp://10.77.0.12/system', fencing: {agent: storage}}\n"
                + "groups:\n  web: {preferredOwners: [host1], resources: {web-vm: {type: vm, memoryMiB: 256,"
                + " pendingTimeout: 10s}}}\n";
        Run r = new Run(ClusterConfigLoader.parse("c.yaml", yaml).spec());
        r.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of()));
        r.step(0.5, new Input.Onlined("web", "host1", true, "started", 1));
        return evictedAndFenced(r);
    }

    private static Run evictedAndFenced(Run r) {
        r.step(1, new Input.GroupOffline("web"));
        r.step(14, new Input.Tick());
        r.step(27, new Input.Tick()); // terminate timed out: host1 evicted, fence sent
        r.step(28, new Input.Fenced("host1", true, "acknowledged fence request 1: it stopped every HA group"));
        assertEquals(NodeStatus.FENCED, r.state.nodes().get("host1").status());
        assertTrue(r.state.nodes().get("host1").unresponsive());
        // still a member with the same session: a NodeUp is not a rejoin (the loop sends none)
        return r;
    }

    @Test
    void aNodeThatAcknowledgedItsStorageFenceWhileAMemberMayJoinAgain() {
        // power-fenced and still a member: its session has yet to end, which the policy waits for
        Run power = evictedAndFenced();
        power.step(29, new Input.StoppedEverything("host1"));
        assertTrue(power.state.nodes().get("host1").unresponsive());
        Run r = evictedAndStorageFenced();
        Coordinator.Step s = r.step(29, new Input.StoppedEverything("host1"));
        assertTrue(s.log().contains("host1 node: stopped every group on its fence request and lives on: it may join"
                + " again"), s.log().toString());
        assertFalse(r.state.nodes().get("host1").unresponsive());
        r.step(30, new Input.NodeUp("host1", Set.of()));
        assertEquals(NodeStatus.UP, r.state.nodes().get("host1").status(), "back, and may take groups again");
        assertTrue(r.state.nodes().get("host1").usable());
    }

    @Test
    void aNewAgentProcessEndsTheEvictionOfItsNode() {
        Run r = evictedAndFenced();
        Coordinator.Step s = r.step(29, new Input.AgentStarted("host1"));
        assertTrue(s.log().contains("host1 node: a new agent process started: the one that did not answer is gone"),
                s.log().toString());
        r.step(30, new Input.NodeUp("host1", Set.of()));
        assertEquals(NodeStatus.UP, r.state.nodes().get("host1").status());
        // and on a node that answers, a new process changes nothing
        s = r.step(31, new Input.AgentStarted("host2"));
        assertEquals(List.of(), s.log().stream().filter(l -> l.contains("agent process")).toList());
    }

    @Test
    void withoutAFenceAgentTheGroupWaitsUntilTheNodeAnswersAgain() {
        Run r = webOnlineOnHost1(false);
        r.step(1, new Input.GroupOffline("web"));
        r.step(14, new Input.Tick()); // terminate 3
        Coordinator.Step s = r.step(27, new Input.Tick());
        assertEquals(List.of(), s.commands());
        ClusterState.Node host1 = r.state.nodes().get("host1");
        assertEquals(NodeStatus.UP, host1.status());
        assertTrue(host1.unresponsive());
        assertFalse(host1.usable(), "takes no new groups");
        assertEquals(GroupPhase.AWAITING_FENCE, r.group("web").phase());
        assertEquals(List.of(), r.step(100, new Input.Tick()).commands(), "no deadline runs while it is a member");
        // Its agent works again: the late answer to the offline proves it answers; terminate there first.
        s = r.step(101, new Input.Offlined("web", "host1", true, "stopped", 2));
        assertEquals(List.of(new Command.Terminate("web", "host1", 4)), s.commands());
        assertTrue(s.log().contains("host1 node: up/unresponsive -> up (answers again)"), s.log().toString());
        r.step(101.3, new Input.Terminated("web", "host1", true, "terminated", 3)); // the old one: not what it waits for
        assertEquals(GroupPhase.FAILING, r.group("web").phase());
        r.step(101.6, new Input.Terminated("web", "host1", true, "terminated", 4));
        assertEquals(GroupPhase.OFFLINE, r.group("web").phase());
    }

    @Test
    void aSilentMoveIsAnInterruptedMove() {
        Run r = webOnlineOnHost1(true);
        r.step(1, new Input.MoveGroup("web", "host2", io.havm.model.MoveMode.LIVE));
        assertEquals(at(24), r.group("web").deadline(), "2 x 10 s + 3 s");
        Coordinator.Step s = r.step(24, new Input.Tick());
        assertEquals(List.of(new Command.Terminate("web", "host1", 3)), s.commands());
        assertEquals("host2", r.group("web").from(), "then on the target");
        r.step(25, new Input.Moved("web", "host1", "host2", true, "done", 2)); // late: ignored
        assertEquals(GroupPhase.FAILING, r.group("web").phase());
        s = r.step(25.3, new Input.Terminated("web", "host1", true, "terminated", 3));
        assertEquals(List.of(new Command.Terminate("web", "host2", 4)), s.commands());
    }

    @Test
    void aStartDecidedForANodeThatIsLostAndBackInTheSameStepIsNotSent() {
        // Inputs piled up while nobody led: host1 is fenced (web may start on host2), host2's old
        // session expired, and host2 is back with a new one, all in one step.
        Run r = webOnlineOnHost1(true, 3);
        r.step(10, new Input.NodeLost("host1"));
        Coordinator.Step s = r.step(11, new Input.Fenced("host1", true, "off"), new Input.NodeLost("host2"),
                new Input.NodeUp("host2", Set.of()));
        assertEquals(List.of(new Command.Online("web", "host3", 3)), s.commands(),
                "only the start decided after host2's new report; the one before would have raced it: " + s.log());
        assertTrue(s.log().contains("- group web: online web on host2 not sent: superseded in the same step (now"
                + " starting on host3)"), s.log().toString());
    }

    @Test
    void anInterruptedMoveWhoseOtherEndIsFencedIsNotTerminatedThere() {
        Run r = webOnlineOnHost1(true);
        r.step(1, new Input.MoveGroup("web", "host2", io.havm.model.MoveMode.LIVE));
        r.step(24, new Input.Tick()); // terminate 3 on host1, then host2
        r.step(25, new Input.NodeLost("host2")); // the target is lost: web waits for its fence
        assertEquals(GroupPhase.AWAITING_FENCE, r.group("web").phase());
        r.step(25.7, new Input.Fenced("host2", true, "off"));
        // host2 proven off: the other end (host1) may run it: online there (behind its terminate).
        assertEquals(GroupPhase.STARTING, r.group("web").phase());
        assertEquals("host1", r.group("web").node());
    }

    @Test
    void aMoveTargetBackBeforeItsFenceDoesNotProveTheMoveOver() {
        Run r = webOnlineOnHost1(false, 3);
        r.step(1, new Input.MoveGroup("web", "host2", io.havm.model.MoveMode.LIVE));
        r.step(2, new Input.NodeLost("host2"));
        assertEquals(GroupPhase.AWAITING_FENCE, r.group("web").phase());
        // host2 is back with a new session before the self-fence deadline: it reports nothing, but
        // host1 may still be migrating web there, so neither end is trusted: terminate both.
        Coordinator.Step s = r.step(3, new Input.NodeUp("host2", Set.of()));
        assertEquals(List.of(new Command.Terminate("web", "host1", 3)), s.commands(), s.log().toString());
        assertEquals("host2", r.group("web").from(), "then on host2");
    }

    @Test
    void aNewCoordinatorFencesAgainWhatItsPredecessorHadInFlight() {
        Run r = webOnlineOnHost1(true);
        r.step(10, new Input.NodeLost("host1")); // fence sent; the coordinator dies with it in flight
        assertTrue(r.state.nodes().get("host1").fenceInFlight());
        Run next = new Run(r.c.spec());
        next.state = r.state;
        Coordinator.Step s = next.step(11, new Input.Elected(), new Input.Tick()); // before the 2 s deadline
        assertEquals(List.of(new Command.Fence("host1")), s.commands());
        next.step(11.7, new Input.Fenced("host1", true, "off"));
        assertEquals(GroupPhase.STARTING, next.group("web").phase());
        assertEquals("host2", next.group("web").node());
        // Nothing in flight: taking office says nothing and sends nothing.
        s = next.step(20, new Input.Elected());
        assertEquals(List.of(), s.commands());
        assertEquals(List.of(), s.log());
    }

    @Test
    void aFenceDecidedForANodeThatRejoinsInTheSameStepIsNotSent() {
        Run r = webOnlineOnHost1(true);
        Coordinator.Step s = r.step(10, new Input.NodeLost("host1"), new Input.NodeUp("host1", Set.of()));
        assertFalse(s.commands().contains(new Command.Fence("host1")), s.commands().toString());
        assertFalse(s.log().contains("  command fence host1"), s.log().toString());
        assertTrue(s.log().contains("host1 node: back before its fence was sent: fence cancelled"), s.log().toString());
    }

    /** One step of {@code next}'s coordinator on {@code r}'s state, as a coordinator takes a new version. */
    private static Coordinator.Step reconfigured(Run r, ClusterSpec next, double t, java.util.Map<String, String> adopt,
            Set<String> release) {
        r.c = Coordinator.forConfig(next, 2, r.c.spec(), r.state, adopt, release);
        Coordinator.Step s = r.c.apply(r.state, List.of(new Input.ConfigChanged(2)), at(t));
        r.state = s.state();
        return s;
    }

    @Test
    void anImportedGroupStartsWhereItsVmRunsNotWherePlacementWouldPutIt() {
        Run r = new Run(spec(3, true, WEB_ON_HOST2));
        r.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of()),
                new Input.NodeUp("host3", Set.of()));
        ClusterSpec next = spec(3, true, WEB_ON_HOST2
                + "  old: {preferredOwners: [host1], resources: {old-vm: {type: vm, memoryMiB: 256}}}\n");
        Coordinator.Step s = reconfigured(r, next, 1, java.util.Map.of("old", "host3"), Set.of());
        assertTrue(s.commands().stream().anyMatch(c -> c instanceof Command.Online o && o.group().equals("old")
                && o.node().equals("host3")), "adopted on host3, where it runs, though it prefers host1: " + s.commands());
        assertEquals(GroupPhase.STARTING, r.group("old").phase());
        assertEquals("host3", r.group("old").node());

        // With a handover naming no node of the cluster, a new group is placed as any other.
        Run plain = new Run(spec(3, true, WEB_ON_HOST2));
        plain.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of()),
                new Input.NodeUp("host3", Set.of()));
        Coordinator.Step p = reconfigured(plain, next, 1, java.util.Map.of("old", "host9"), Set.of());
        assertTrue(p.log().stream().anyMatch(l -> l.contains("vm import: host9, where its VM ran, is not a node of the"
                + " cluster: placed as any new group")), p.log().toString());
        assertEquals("host1", plain.group("old").node(), "placed on its preferred owner: " + plain.group("old"));
    }

    @Test
    void anImportOntoALostNodeWaitsForItsFenceBeforeTheGroupIsPlacedElsewhere() {
        Run r = new Run(spec(3, true, WEB_ON_HOST2));
        r.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of("web")),
                new Input.NodeUp("host3", Set.of()));
        Coordinator.Step s = r.step(1, new Input.NodeLost("host3"));
        assertEquals(List.of(new Command.Fence("host3")), s.commands());
        ClusterSpec next = spec(3, true, WEB_ON_HOST2
                + "  old: {preferredOwners: [host1], resources: {old-vm: {type: vm, memoryMiB: 256}}}\n");
        s = reconfigured(r, next, 2, java.util.Map.of("old", "host3"), Set.of());
        assertEquals(GroupPhase.AWAITING_FENCE, r.group("old").phase(), r.group("old").toString());
        assertEquals("host3", r.group("old").node());
        assertFalse(s.commands().stream().anyMatch(c -> c instanceof Command.Online), "its VM may run on host3: "
                + s.commands());
        assertTrue(s.log().stream().anyMatch(l -> l.contains("host3, where its VM ran, is lost: waits until host3"
                + " reports it running or is fenced")), s.log().toString());
        // host3's self-fence deadline proves off only what its agent knew: not a VM imported after
        // it was cut off.
        s = r.step(60, new Input.Tick());
        assertEquals(NodeStatus.FENCED, r.state.nodes().get("host3").status(), r.state.toString());
        assertEquals(GroupPhase.AWAITING_FENCE, r.group("old").phase(), r.group("old").toString());
        assertFalse(s.commands().stream().anyMatch(c -> c instanceof Command.Online), "self-fenced only: "
                + s.commands());
        assertTrue(s.log().stream().anyMatch(l -> l.contains("its self-fence spares the VM")), s.log().toString());

        s = r.step(61, new Input.Fenced("host3", true, "off"));
        assertTrue(s.commands().stream().anyMatch(c -> c instanceof Command.Online o && o.group().equals("old")
                && o.node().equals("host1")), "host3 proven off: placed on its preferred owner: " + s.commands());
    }

    @Test
    void anImportOntoANodeNotYetJoinedWaitsAndStaysWhereItRunsWhenTheNodeReportsIt() {
        Run r = new Run(spec(3, true, WEB_ON_HOST2));
        r.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of("web")));
        ClusterSpec next = spec(3, true, WEB_ON_HOST2
                + "  old: {preferredOwners: [host1], resources: {old-vm: {type: vm, memoryMiB: 256}}}\n");
        Coordinator.Step s = reconfigured(r, next, 1, java.util.Map.of("old", "host3"), Set.of());
        assertEquals(GroupPhase.AWAITING_FENCE, r.group("old").phase(), r.group("old").toString());
        assertFalse(s.commands().stream().anyMatch(c -> c instanceof Command.Online), s.commands().toString());
        assertTrue(s.log().stream().anyMatch(l -> l.contains("host3, where its VM ran, is not a member (yet)")),
                s.log().toString());

        s = r.step(3, new Input.NodeUp("host3", Set.of("old")));
        assertEquals(GroupPhase.ONLINE, r.group("old").phase(), r.group("old").toString());
        assertEquals("host3", r.group("old").node(), "kept where it runs");
        assertFalse(s.commands().stream().anyMatch(c -> c.toString().contains("old")), "nothing sent: "
                + s.commands());
    }

    @Test
    void aNodeBackWithoutReportingAnImportedVmGetsItsOnlineNotAFailover() {
        // Its agent may report from a version older than the import: not running proves nothing.
        Run r = new Run(spec(3, true, WEB_ON_HOST2));
        r.step(0, new Input.NodeUp("host1", Set.of()), new Input.NodeUp("host2", Set.of("web")));
        ClusterSpec next = spec(3, true, WEB_ON_HOST2
                + "  old: {preferredOwners: [host1], resources: {old-vm: {type: vm, memoryMiB: 256}}}\n");
        reconfigured(r, next, 1, java.util.Map.of("old", "host3"), Set.of());
        Coordinator.Step s = r.step(3, new Input.NodeUp("host3", Set.of()));
        assertEquals(List.of(new Command.Online("old", "host3", 1)), s.commands().stream()
                .filter(c -> c.toString().contains("old")).toList(), "adopted on host3 only: " + s.commands());
        assertEquals(GroupPhase.STARTING, r.group("old").phase());
        s = r.step(4, new Input.Onlined("old", "host3", true, "already running", 1));
        assertEquals(GroupPhase.ONLINE, r.group("old").phase());
        assertEquals("host3", r.group("old").node());
        // once online, the import is done: host3's later loss is an ordinary one
        r.step(5, new Input.NodeLost("host3"));
        s = r.step(60, new Input.Tick());
        assertEquals(GroupPhase.STARTING, r.group("old").phase(), "self-fenced host3 spares no VM it knew: "
                + r.group("old"));
    }

    @Test
    void aReleasedGroupLeavesTheStateRunningWhileARemovedOneIsTakenOfflineFirst() {
        Run r = new Run(spec(3, true, WEB_ON_HOST2));
        r.step(0, new Input.NodeUp("host1", Set.of("db")), new Input.NodeUp("host2", Set.of("web")),
                new Input.NodeUp("host3", Set.of()));
        assertEquals(GroupPhase.ONLINE, r.group("web").phase(), r.state.toString());
        assertEquals(GroupPhase.ONLINE, r.group("db").phase(), r.state.toString());
        ClusterSpec none = spec(3, true, "  other: {resources: {other-vm: {type: vm, memoryMiB: 256}}}\n");
        Coordinator.Step s = reconfigured(r, none, 1, java.util.Map.of(), Set.of("web"));
        assertNull(r.group("web"), "released: gone from the state at once");
        assertFalse(s.commands().stream().anyMatch(c -> c.toString().contains("web")), "nothing sent for web: "
                + s.commands());
        assertTrue(s.log().contains("group web: released running on host2: no longer managed"), s.log().toString());
        assertTrue(s.commands().stream().anyMatch(c -> c instanceof Command.Offline o && o.group().equals("db")
                && o.node().equals("host1")),
                "removed without a release: taken offline first: " + s.commands());
    }
}
