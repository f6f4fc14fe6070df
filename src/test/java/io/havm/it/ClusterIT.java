package io.havm.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.lab.LabCluster;
import io.havm.model.MoveMode;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.policy.NodeStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failover drills on the real lab, no operator: an agent in every host's namespace (started as an
 * operator starts them, {@code ci/lab agents start}), the lab's ZooKeeper, the lab fence agent.
 * Plain libvirt state on every host and each guest's own console and disk counter are the
 * referees: where a VM runs, that it runs once, whether it rebooted.
 */
class ClusterIT {
    private static final Duration BOOT = Duration.ofSeconds(120);

    final RealLab lab = RealLab.get();
    final List<RealLab.TestVm> vms = new ArrayList<>();
    LabCluster cluster;
    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() throws IOException {
        try {
            Drills.stop(cluster, lab);
        } finally {
            lab.restoreAllHosts();
            vms.forEach(v -> lab.remove(v.name()));
        }
    }

    // ------------------------------------------------------------------ set-up

    private RealLab.TestVm vm(String name) throws IOException {
        RealLab.TestVm v = Drills.vmWithDefinition(lab, name);
        vms.add(v);
        return v;
    }

    private String group(RealLab.TestVm v, String group, List<String> preferred, String groupExtra, String vmExtra) {
        return Drills.group(lab, v, group, preferred, groupExtra, vmExtra);
    }

    /** Writes the configuration, starts every agent and connects. */
    private void cluster(String name, String groups) {
        Path cfg = LabCluster.writeConfig(dir.resolve("cluster.yaml"), lab.home, name + ProcessHandle.current().pid(),
                lab.lab.status(), LabCluster.FAST_TIMERS, groups);
        cluster = LabCluster.of(lab.home, cfg);
        cluster.startAgents();
    }

    // ------------------------------------------------------------------ waiting, with the agents' logs on failure

    private void awaitOrLogs(String alias, Duration atMost, Callable<Boolean> condition) {
        Drills.awaitOrLogs(cluster, alias, atMost, condition);
    }

    /** Waits until the group is online on one node (and only there, by libvirt) and its guest booted. */
    private String online(String group, RealLab.TestVm v, int boots) {
        awaitOrLogs(group + " online", BOOT, () -> cluster.onlineOn(group).isPresent()
                && lab.activeOn(v.name()).equals(List.of(cluster.onlineOn(group).get())));
        lab.awaitBooted(v, boots);
        return cluster.onlineOn(group).orElseThrow();
    }

    private String onlineElsewhere(String group, RealLab.TestVm v, String notOn) {
        awaitOrLogs(group + " online away from " + notOn, BOOT, () -> cluster.onlineOn(group).filter(n -> !n.equals(notOn))
                .isPresent() && lab.activeOn(v.name()).equals(List.of(cluster.onlineOn(group).get())));
        return cluster.onlineOn(group).orElseThrow();
    }

    private static String appOn(Path marks) throws IOException {
        return Drills.appOn(marks, "");
    }

    /** The hosts {@link #appOn}'s app runs on, sorted. */
    private static List<String> appRunsOn(Path marks) throws IOException {
        try (var files = Files.list(marks)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> !n.equals("app.sh")).sorted().toList();
        }
    }

    private void move(String group, RealLab.TestVm v, String to) {
        if (!cluster.onlineOn(group).orElseThrow().equals(to)) {
            cluster.submit(new Input.MoveGroup(group, to, MoveMode.LIVE));
            awaitOrLogs(group + " moved to " + to, BOOT, () -> cluster.onlineOn(group).filter(to::equals).isPresent()
                    && lab.activeOn(v.name()).equals(List.of(to)));
        }
    }

    private List<String> eventsSince(Instant t) {
        return cluster.events().stream().filter(l -> !Instant.parse(l.substring(0, l.indexOf(' '))).isBefore(t))
                .toList();
    }

    // ------------------------------------------------------------------ drills

    // A host's power loss, its isolation, the coordinator's host lost and a libvirtd restart: the
    // shipped playbooks host-power-loss, host-isolation, coordinator-host-lost and libvirtd-restart,
    // run on the lab by DrillIT.

    @Test
    void drainingAHostLiveMigratesEveryVmAwayWithoutARebootAndResumeTakesVmsAgain() throws Exception {
        RealLab.TestVm web = vm("it-drain-a");
        RealLab.TestVm db = vm("it-drain-b");
        // web also has a service on top of its VM: a script that marks the host it runs on.
        Path marks = Files.createDirectories(dir.resolve("app-on"));
        cluster("drain", group(web, "web", List.of("host1"), "", "") + appOn(marks)
                + group(db, "db", List.of("host1"), "", ""));
        online("web", web, 1);
        online("db", db, 1);
        move("web", web, "host1");
        awaitOrLogs("web's app online on host1 only", Duration.ofSeconds(30), () -> appRunsOn(marks).equals(List.of("host1")));
        move("db", db, "host1");
        int webTick = web.log().lastTick();
        int dbTick = db.log().lastTick();

        Instant t0 = Instant.now();
        cluster.submit(new Input.DrainNode("host1"));
        awaitOrLogs("host1 drained", BOOT, () -> cluster.state().map(s -> s.nodes().get("host1").paused()
                && !s.nodes().get("host1").draining()).orElse(false));
        // Drained: nothing of theirs may run on host1 any more. web's app may still be coming online
        // where web arrived; then both are online elsewhere.
        for (String g : List.of("web", "db")) {
            awaitOrLogs(g + " online away from host1", Duration.ofSeconds(60), () -> cluster.group(g)
                    .filter(grp -> grp.phase() == GroupPhase.ONLINE && !"host1".equals(grp.node())).isPresent());
        }
        assertEquals(List.of(cluster.onlineOn("web").get()), lab.activeOn(web.name()));
        assertEquals(List.of(cluster.onlineOn("db").get()), lab.activeOn(db.name()));
        lab.awaitConsole(web, "web ticks on", c -> c.lastTick() > webTick + 2);
        lab.awaitConsole(db, "db ticks on", c -> c.lastTick() > dbTick + 2);
        for (RealLab.TestVm v : List.of(web, db)) {
            assertEquals(1, v.log().booted(), v.name() + " rebooted");
            assertTrue(v.log().ticksContinuous(0), v.name() + " lost ticks: " + v.log().ticksPerBoot().get(0));
        }
        List<String> ev = eventsSince(t0);
        assertTrue(ev.stream().filter(l -> l.contains("-> moving") && l.contains("live")).count() >= 2,
                String.join("\n", ev));
        assertFalse(ev.stream().anyMatch(l -> l.contains("-> starting") && !l.contains("(moved;")),
                "a drain never restarts: " + ev);
        // The app stopped on host1 for the move and came online where web now runs, and only there.
        String webOn = cluster.onlineOn("web").orElseThrow();
        assertEquals(List.of(webOn), appRunsOn(marks));
        assertTrue(cluster.agentLogs().contains(webOn + " online web/app: ok"), cluster.agentLogs());

        cluster.submit(new Input.ResumeNode("host1", true));
        awaitOrLogs("host1 resumed with failback", BOOT, () -> "host1".equals(cluster.onlineOn("web").orElse(null))
                && "host1".equals(cluster.onlineOn("db").orElse(null)));
        assertEquals(1, web.log().booted());
        assertEquals(1, db.log().booted());
        assertEquals(List.of("host1"), appRunsOn(marks), "the app came back with web");
    }

    /**
     * Three minutes (-Dhavm.soakMinutes) with six busy guests on two cores and every agent, libvirtd
     * and ZooKeeper competing for them: not one failover, restart or fence.
     */
    @Test
    void noFalseFailoverWithSixBusyGuests() throws Exception {
        Duration soak = Duration.ofMinutes(Long.getLong("havm.soakMinutes", 3));
        Map<String, RealLab.TestVm> groups = new LinkedHashMap<>();
        StringBuilder yaml = new StringBuilder();
        for (int i = 1; i <= 6; i++) {
            RealLab.TestVm v = vm("it-soak-" + i);
            String host = "host" + ((i - 1) % 3 + 1);
            groups.put("g" + i, v);
            yaml.append(group(v, "g" + i, List.of(host), "", "        looksAlive: 2s\n        isAlive: 10s\n"));
        }
        cluster("soak", yaml.toString());
        Map<String, String> placed = new LinkedHashMap<>();
        for (Map.Entry<String, RealLab.TestVm> e : groups.entrySet()) {
            placed.put(e.getKey(), online(e.getKey(), e.getValue(), 1));
        }
        for (RealLab.TestVm v : groups.values()) {
            // A busy loop in every guest (guest-exec through its agent): all six compete for the CPUs.
            String host = lab.activeOn(v.name()).get(0);
            lab.awaitAgent(lab.resource(v, host));
            lab.hv(host).agentCommand(v.name(), "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/sh\","
                    + "\"arg\":[\"-c\",\"while :; do :; done\"]}}", Duration.ofSeconds(10));
        }
        Instant t0 = Instant.now();
        System.out.printf("ClusterIT: soak of %d min with 6 busy guests, placed %s%n", soak.toMinutes(), placed);
        await("no group moves for " + soak.toMinutes() + " min").during(soak).atMost(soak.plusSeconds(30))
                .pollInterval(Duration.ofSeconds(5)).until(() -> {
                    for (Map.Entry<String, String> e : placed.entrySet()) {
                        if (!cluster.onlineOn(e.getKey()).filter(e.getValue()::equals).isPresent()
                                || !lab.activeOn(groups.get(e.getKey()).name()).equals(List.of(e.getValue()))) {
                            return false;
                        }
                    }
                    return cluster.state().map(s -> s.nodes().values().stream()
                            .allMatch(n -> n.status() == NodeStatus.UP)).orElse(false);
                });
        assertEquals(List.of(), eventsSince(t0), "not one transition in " + soak.toMinutes() + " min");
        for (RealLab.TestVm v : groups.values()) {
            assertEquals(1, v.log().booted(), v.name());
            assertTrue(v.log().ticksContinuous(0), v.name());
        }
    }
}
