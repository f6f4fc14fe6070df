package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.lab.Lab;
import io.havm.lab.LabCluster;
import io.havm.model.MoveMode;
import io.havm.policy.Input;
import io.havm.policy.NodeStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ZooKeeper ensemble that ships with havm, run as production runs it: one {@code havm
 * zookeeper} member inside each lab host's namespaces ({@code ci/lab ensemble up}), so that a
 * host's power loss takes its member along, as it would on real hardware; and the two-host shape,
 * host1 and host2 plus {@code havm zookeeper --witness} on a third machine ({@code ci/lab ensemble
 * up --hosts 2}: a netns of its own, no libvirtd). The agents' cluster configuration names the
 * ensemble's members, nothing else.
 *
 * <p>Checked: the cluster keeps its quorum through the loss of one vote (the leading member with
 * its host; the witness alone), the VM of the lost host is recovered exactly once on a survivor,
 * and nothing else stops or is fenced. The referee is {@link OutageIT.Referee}: which QEMU
 * processes libvirt recorded are alive in every lab host, every half second.
 */
class EnsembleIT {
    private static final Duration BOOT = Duration.ofSeconds(120);

    final RealLab lab = RealLab.get();
    final List<RealLab.TestVm> vms = new ArrayList<>();
    LabCluster cluster;
    OutageIT.Referee referee;
    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() throws IOException {
        try {
            if (referee != null) {
                referee.close();
            }
            Drills.stop(cluster, lab);
        } finally {
            try {
                LabZooKeeper.ensembleDown();
            } finally {
                lab.restoreAllHosts();
                vms.forEach(v -> lab.remove(v.name()));
            }
        }
    }

    // ------------------------------------------------------------------ set-up

    private RealLab.TestVm vm(String name) throws IOException {
        RealLab.TestVm v = Drills.vmWithDefinition(lab, name);
        vms.add(v);
        return v;
    }

    private String group(RealLab.TestVm v, String group, String preferred) {
        return Drills.group(lab, v, group, List.of(preferred), "", "");
    }

    /** A cluster of {@code nodes}, power-fenced, its ZooKeeper the lab's ensemble (the shape that runs). */
    private void cluster(String name, Set<String> nodes, String groups) {
        List<Lab.Host> hosts = lab.lab.status().stream().filter(h -> nodes.contains(h.name())).toList();
        Path cfg = LabCluster.writeConfig(dir.resolve("cluster.yaml"), lab.home, name + ProcessHandle.current().pid(),
                hosts, LabCluster.FAST_TIMERS, "", groups, LabCluster.Fencing.POWER, LabZooKeeper.ensemble());
        cluster = LabCluster.of(lab.home, cfg);
        cluster.startAgents(nodes.stream().sorted().toArray(String[]::new));
    }

    private String online(String group, RealLab.TestVm v, int boots) {
        Drills.awaitOrLogs(cluster, group + " online", BOOT, () -> cluster.onlineOn(group).isPresent()
                && lab.activeOn(v.name()).equals(List.of(cluster.onlineOn(group).get())));
        lab.awaitBooted(v, boots);
        return cluster.onlineOn(group).orElseThrow();
    }

    private String onlineElsewhere(String group, RealLab.TestVm v, String notOn) {
        Drills.awaitOrLogs(cluster, group + " online away from " + notOn, BOOT, () -> cluster.onlineOn(group)
                .filter(n -> !n.equals(notOn)).isPresent()
                && lab.activeOn(v.name()).equals(List.of(cluster.onlineOn(group).get())));
        return cluster.onlineOn(group).orElseThrow();
    }

    private void move(String group, RealLab.TestVm v, String to) {
        if (!cluster.onlineOn(group).orElseThrow().equals(to)) {
            cluster.submit(new Input.MoveGroup(group, to, MoveMode.LIVE));
            Drills.awaitOrLogs(cluster, group + " moved to " + to, BOOT, () -> cluster.onlineOn(group)
                    .filter(to::equals).isPresent() && lab.activeOn(v.name()).equals(List.of(to)));
        }
    }

    /** The member that leads, polled until one does (an election may run). */
    private static String leader(Duration atMost) {
        String[] m = new String[1];
        Awaitility.await("an ensemble leader").atMost(atMost).pollInterval(Duration.ofMillis(100))
                .ignoreExceptions().until(() -> {
                    m[0] = LabZooKeeper.ensembleLeaderMember(); // fails while no member leads
                    return true;
                });
        return m[0];
    }

    private Instant at(String needle, Instant since) {
        return LabCluster.eventTime(cluster.events(), needle, since).orElseThrow(() -> new AssertionError(
                "no event '" + needle + "' since " + since + ":\n" + String.join("\n", cluster.events())));
    }

    private static double secs(Instant a, Instant b) {
        return Duration.between(a, b).toMillis() / 1000.0;
    }

    /**
     * {@code v} ran on {@code host} in every sample of the referee, never rebooted and ticked on
     * without a gap: it was not stopped, moved or restarted.
     */
    private void untouched(RealLab.TestVm v, String host) {
        int tick = v.log().lastTick();
        lab.awaitConsole(v, v.name() + " ticks on", c -> c.lastTick() > tick + 2);
        assertEquals(List.of(List.of(host)), referee.distinct(v.name()), v.name() + " ran only on " + host
                + " in every sample\n" + cluster.agentLogs());
        assertEquals(List.of(1), v.log().bootCounts(), v.name() + " never rebooted");
        assertTrue(v.log().ticksContinuous(0), v.name() + " ticks: " + v.log().ticksPerBoot());
    }

    /**
     * {@code lost}'s VM {@code v} came back exactly once, on {@code survivor}; only {@code lost} was
     * lost and fenced, and the timeline has nothing about {@code bystanderGroup}.
     */
    private void recoveredOnce(RealLab.TestVm v, String lost, String survivor, Instant pulled, String bystanderGroup) {
        lab.awaitBooted(v, 2);
        assertEquals(List.of(1, 2), v.log().bootCounts(), "the disk kept its boot counter: one reboot");
        assertEquals(List.of(survivor), lab.activeOn(v.name()), "exactly one copy");
        assertEquals(0, referee.twoCopies(v.name()), "never two copies: " + referee.timeline(v.name()));
        at(lost + " node: lost -> fenced", pulled);
        for (String e : cluster.events()) {
            if (LabCluster.eventTime(List.of(e), "", pulled).isPresent()) {
                for (Lab.Host h : lab.lab.status()) {
                    if (!h.name().equals(lost)) {
                        assertFalse(e.contains(h.name() + " node:") && (e.contains("lost") || e.contains("fence")),
                                "only " + lost + " was lost and fenced: " + e);
                    }
                }
                assertFalse(e.contains(" group " + bystanderGroup + ":"), "nothing happened to " + bystanderGroup
                        + ": " + e);
            }
        }
        for (Lab.Host h : lab.lab.status()) {
            if (!h.name().equals(lost)) {
                assertEquals("up", h.state(), h.name() + " stays on");
            }
        }
    }

    // ------------------------------------------------------------------ drills

    @Test
    void threeHostsLosingTheHostOfTheLeadingMemberKeepQuorumAndRecoverItsVmOnceOnASurvivor() throws Exception {
        LabZooKeeper.ensembleUp(3);
        String first = "host" + leader(Duration.ofSeconds(10));
        String other = first.equals("host1") ? "host2" : "host1";
        RealLab.TestVm victim = vm("it-ens-victim");
        RealLab.TestVm bystander = vm("it-ens-by");
        cluster("ens3", Set.of("host1", "host2", "host3"), group(victim, "web", first) + group(bystander, "db", other));
        online("web", victim, 1);
        online("db", bystander, 1);
        // The leader may have changed meanwhile (a re-election under load): the victim goes where it is now.
        String owner = "host" + leader(Duration.ofSeconds(10));
        if (cluster.onlineOn("db").orElseThrow().equals(owner)) {
            move("db", bystander, List.of("host1", "host2", "host3").stream().filter(h -> !h.equals(owner)
                    && !h.equals(cluster.onlineOn("web").orElseThrow())).findFirst().orElseThrow());
        }
        move("web", victim, owner);
        String by = cluster.onlineOn("db").orElseThrow();
        referee = new OutageIT.Referee(lab, vms.stream().map(RealLab.TestVm::name).toList());

        Instant pulled = lab.lab.pullPlug(owner);
        String next = "host" + leader(Duration.ofSeconds(30));
        Instant elected = Instant.now();
        assertNotEquals(owner, next, "the leading member went with its host");
        lab.restoreConnections();
        String survivor = onlineElsewhere("web", victim, owner);
        recoveredOnce(victim, owner, survivor, pulled, "db");
        untouched(bystander, by);
        referee.close();
        Instant running = at("-> online on " + survivor, pulled);
        System.out.printf("EnsembleIT: 3 hosts: %s (its member led) powered off: %s's member leads within %.2f s (as"
                + " polled); detection %.2f s, fenced %.2f s, web online on %s %.2f s after the pull; db untouched%n",
                owner, next, secs(pulled, elected), secs(pulled, at(owner + " node: up -> lost", pulled)),
                secs(pulled, at(owner + " node: lost -> fenced", pulled)), survivor, secs(pulled, running));
    }

    @Test
    void twoHostsAndAWitnessLoseTheWitnessWithoutAChangeAndAHostWithItsVmRecoveredOnTheOther() throws Exception {
        LabZooKeeper.ensembleUp(2);
        RealLab.TestVm victim = vm("it-ens2-victim");
        RealLab.TestVm bystander = vm("it-ens2-by");
        cluster("ens2", Set.of("host1", "host2"), group(victim, "web", "host1") + group(bystander, "db", "host2"));
        String owner = online("web", victim, 1);
        String by = online("db", bystander, 1);
        assertNotEquals(owner, by);
        referee = new OutageIT.Referee(lab, vms.stream().map(RealLab.TestVm::name).toList());

        // The witness alone: one vote of three, the hosts' two keep the quorum. Held longer than the
        // agents' 3 s session, so that anything that depended on the witness would show.
        Instant t0 = Instant.now();
        LabZooKeeper.ensembleKill("witness");
        String without = leader(Duration.ofSeconds(30));
        assertNotEquals("witness", without);
        Drills.keepFaultFor(Duration.ofSeconds(5));
        Drills.awaitOrLogs(cluster, "both nodes up", Duration.ofSeconds(30), () -> cluster.state().map(s -> s.nodes()
                .values().stream().allMatch(n -> n.status() == NodeStatus.UP)).orElse(false));
        for (String e : cluster.events()) {
            if (LabCluster.eventTime(List.of(e), "", t0).isPresent()) {
                assertFalse(e.contains("fence") || e.contains("lost") || e.contains("-> restarting")
                        || e.contains("-> failing"), "the witness alone changes nothing: " + e);
            }
        }
        LabZooKeeper.ensembleStart("witness");
        System.out.printf("EnsembleIT: 2 hosts + witness: witness killed for 5 s (member %s led without it):"
                + " nothing stopped, started or fenced%n", without);

        // A host: its member goes with it; the other host's member and the witness are a quorum.
        Instant pulled = lab.lab.pullPlug(owner);
        String next = leader(Duration.ofSeconds(30));
        Instant elected = Instant.now();
        assertTrue(Set.of(by.substring("host".length()), "witness").contains(next), "leader " + next);
        lab.restoreConnections();
        String survivor = onlineElsewhere("web", victim, owner);
        assertEquals(by, survivor);
        recoveredOnce(victim, owner, survivor, pulled, "db");
        untouched(bystander, by);
        referee.close();
        Instant running = at("-> online on " + survivor, pulled);
        System.out.printf("EnsembleIT: 2 hosts + witness: %s powered off: member %s leads within %.2f s (as polled);"
                + " detection %.2f s, fenced %.2f s, web online on %s %.2f s after the pull; db untouched%n", owner,
                next, secs(pulled, elected), secs(pulled, at(owner + " node: up -> lost", pulled)),
                secs(pulled, at(owner + " node: lost -> fenced", pulled)), survivor, secs(pulled, running));
    }
}
