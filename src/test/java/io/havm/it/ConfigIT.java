package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.lab.LabCluster;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The configuration changed live on the real lab, with agents running: {@code havm config apply}
 * adds an HA VM, which is placed and boots, and removes it again (refused while it runs, then
 * forced: taken offline, then dropped), without any agent restarting and without touching the VM
 * that was there all along (an outside referee samples where each QEMU runs every half second).
 */
class ConfigIT {
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
            vms.forEach(v -> lab.remove(v.name()));
        }
    }

    private Exec.Outcome havm(String... args) {
        List<String> cmd = new ArrayList<>(List.of(lab.home.resolve("havm").toString()));
        cmd.addAll(List.of(args));
        return Exec.run(Duration.ofMinutes(3), cmd);
    }

    private Path config(String file, String name, String groups) {
        return LabCluster.writeConfig(dir.resolve(file), lab.home, name, lab.lab.status(), LabCluster.FAST_TIMERS, groups);
    }

    /** Each agent's pid, from the lab's pid files. */
    private Map<String, String> agentPids() throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (var h : lab.lab.status()) {
            Path p = lab.lab.facts().agentsDir().resolve(h.name() + ".pid");
            out.put(h.name(), Files.exists(p) ? Files.readString(p).strip() : "none");
        }
        return out;
    }

    @Test
    void aGroupAddedAndRemovedLiveWhileAgentsRunAndTheOtherVmIsUntouched() throws Exception {
        RealLab.TestVm web = Drills.vmWithDefinition(lab, "it-cfg-web");
        vms.add(web);
        RealLab.TestVm app = Drills.vmWithDefinition(lab, "it-cfg-app");
        vms.add(app);
        String name = "cfg" + ProcessHandle.current().pid();
        String webGroup = Drills.group(lab, web, "web", List.of("host1"), "", "");
        String appGroup = Drills.group(lab, app, "app", List.of("host2"), "", "");
        Path v1 = config("cluster.yaml", name, webGroup);
        cluster = LabCluster.of(lab.home, v1);
        cluster.startAgents();
        Drills.awaitOrLogs(cluster, "web online", BOOT, () -> cluster.onlineOn("web").isPresent()
                && lab.activeOn(web.name()).equals(List.of(cluster.onlineOn("web").get())));
        lab.awaitBooted(web, 1);
        String webHost = cluster.onlineOn("web").orElseThrow();
        referee = new OutageIT.Referee(lab, List.of(web.name(), app.name()));
        Map<String, String> pids = agentPids();
        Exec.Outcome h1 = havm("config", "history", "--config", v1.toString());
        assertEquals(0, h1.code(), h1.out() + h1.err());
        // One agent stored the file (agents starting together race for it; a number a loser took
        // stays unused): one version, in force.
        assertEquals(1, h1.out().lines().count(), h1.out());
        assertTrue(h1.out().startsWith("*"), "in force: " + h1.out());
        long first = Long.parseLong(h1.out().substring(1).trim().split("\\s+")[0]);

        // Add app: stored as version 2, placed on its preferred owner and booted; no agent restarted.
        Path v2 = config("v2.yaml", name, webGroup + appGroup);
        Exec.Outcome add = havm("config", "apply", v2.toString());
        assertEquals(0, add.code(), add.out() + add.err());
        assertTrue(add.out().contains("will: group app: added, placed and brought online"), add.out());
        assertTrue(add.out().contains("stored configuration version " + (first + 1) + " (was " + first + ")"),
                add.out());
        Drills.awaitOrLogs(cluster, "app online on host2", BOOT, () -> cluster.onlineOn("app").equals(
                java.util.Optional.of("host2")) && lab.activeOn(app.name()).equals(List.of("host2")));
        lab.awaitBooted(app, 1);
        for (String host : pids.keySet()) {
            assertTrue(cluster.agentLog(host).contains(host + " agent: configuration version " + (first + 1)
                    + " in force"),
                    cluster.agentLog(host));
        }
        assertEquals(pids, agentPids(), "no agent restarted");

        // Removing app while it runs is refused and stores nothing; forced, it is stopped, then dropped.
        Exec.Outcome refused = havm("config", "apply", v1.toString());
        assertEquals(2, refused.code(), refused.out() + refused.err());
        assertTrue(refused.err().contains("group app is removed but is online on host2: take it offline first"),
                refused.err());
        assertEquals(List.of("host2"), lab.activeOn(app.name()));
        Exec.Outcome forced = havm("config", "apply", v1.toString(), "--force");
        assertEquals(0, forced.code(), forced.out() + forced.err());
        assertTrue(forced.out().contains("will: group app: taken offline on host2, then removed"), forced.out());
        Drills.awaitOrLogs(cluster, "app stopped and gone", BOOT, () -> lab.activeOn(app.name()).isEmpty()
                && cluster.state().map(s -> !s.groups().containsKey("app")).orElse(false));
        assertTrue(cluster.events().stream().anyMatch(e -> e.contains("group app: offline and no longer configured:"
                + " removed")), String.join("\n", cluster.events()));
        assertEquals(pids, agentPids(), "no agent restarted");

        referee.close();
        assertEquals(List.of(List.of(webHost)), referee.distinct(web.name()), "web ran on " + webHost + " throughout");
        assertEquals(1, web.log().booted(), "web never rebooted");
        assertEquals(0, referee.twoCopies(app.name()));
        Exec.Outcome h = havm("config", "history", "--config", v1.toString());
        assertEquals(3, h.out().lines().count(), h.out());
        System.out.printf("ConfigIT: app added and removed live (versions 2 and 3); web untouched on %s;"
                + " agents not restarted%n", webHost);
    }
}
