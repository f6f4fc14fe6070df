package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.havm.api.ClusterTarget;
import io.havm.coordination.ZkCoordination;
import io.havm.drill.DrillCli;
import io.havm.lab.Lab;
import io.havm.lab.LabCluster;
import io.havm.lab.LabVm;
import io.havm.policy.GroupPhase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havm drill run PLAYBOOK --config cluster.yaml --destructive} on a cluster's own hosts: a
 * havm cluster made on the lab as an operator makes one (its cluster.yaml, an agent per host, one
 * HA group with its VM), then a playbook in this test's directory pulls the plug of the group's
 * host through that node's own fence agent (fence_havm_lab), then destroys the group's VM through
 * libvirt, and the drill judges both recoveries with libvirt as referee. The cluster's VMs have no test-guest console for the drill: boots is
 * reported skipped, not passed. The drill powers the host back on when it ends; the test leaves the
 * lab as found (agents stopped, the VM removed, hosts on), also when it fails.
 */
class ClusterDrillIT {
    final RealLab lab = RealLab.get();

    @TempDir
    Path dir;

    @Test
    void aPowerLossThroughTheNodesOwnFenceAgentIsRecoveredOnTheClustersOwnHosts() throws Exception {
        long t0 = System.nanoTime();
        Lab.Facts facts = lab.lab.facts();
        String name = "cdrill-" + Long.toString(System.currentTimeMillis(), 36);
        LabVm vm = LabVm.create(lab.home, lab.lab, lab.hosts.values(), "cdrill-web", lab.type, lab.guest, "64M");
        String groups = LabCluster.vmGroup("web", vm.name(), vm.definition(), facts.sharedDir().resolve("save"),
                List.of("host1", "host2", "host3"), "", "        looksAlive: 1s\n        isAlive: 5s\n");
        Path cfg = LabCluster.writeConfig(dir.resolve("cluster.yaml"), lab.home, name, lab.lab.status(),
                LabCluster.FAST_TIMERS, "storage:\n  leaseDir: " + facts.sharedDir().resolve("lockd") + "\n", groups);
        Path playbook = Files.writeString(dir.resolve("cluster-faults.yaml"), """
                name: cluster-faults
                description: The host that runs web loses power through its own fence agent, then its VM is destroyed.
                groups:
                  web: {on: host2}
                steps:
                  - fault: power-loss
                    host: {ownerOf: web}
                    label: power off web's host (fence agent)
                  - wait: web
                    notOn: {lastFaulted: true}
                    within: 60s
                  - check: recovery
                    group: web
                    within: 30s
                  - check: ran-once
                    group: web
                  - check: not-on
                    group: web
                    host: {lastFaulted: true}
                  - check: boots
                    group: web
                    count: 2
                  - fault: qemu-kill
                    group: web
                    label: destroy web's VM (libvirt)
                  - check: recovery
                    group: web
                    within: 30s
                  - check: ran-once
                    group: web
                """);
        LabCluster cluster = LabCluster.of(lab.home, cfg);
        try {
            cluster.startAgents();
            // a running cluster: web online (on host1, its first preferred owner; the drill moves it to host2)
            assertTrue(cluster.await(Duration.ofSeconds(90), s -> s.groups().get("web") != null
                    && s.groups().get("web").phase() == GroupPhase.ONLINE), () -> "web not online: "
                    + cluster.summary() + "\n" + cluster.agentLogs());
            // the drill's {coordinator: true}: read from the election, as the agents' own logs say it
            try (ZkCoordination zk = new ZkCoordination(cluster.spec().zookeeper(), "/havm/" + name,
                    Duration.ofSeconds(3), Duration.ofSeconds(3))) {
                assertEquals(cluster.coordinator(), zk.leader());
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
            Path report = dir.resolve("report");
            int code = new DrillCli(ps, () -> {
                throw new AssertionError("a run with --config is the cluster's");
            }, (c, destructive) -> new ClusterTarget(c, destructive, ps)).run(List.of("run", playbook.toString(),
                    "--config", cfg.toString(), "--destructive", "--report", report.toString()));
            String said = out.toString(StandardCharsets.UTF_8);
            System.out.println(said);
            assertEquals(0, code, said + "\n" + cluster.agentLogs());
            assertTrue(said.contains("havm drill: cluster-faults: passed (on the cluster " + name), said);
            JsonNode r = io.havm.engine.Codec.json().readTree(Files.readString(report.resolve("report.json")));
            assertFalse(r.get("simulated").asBoolean());
            assertEquals(0, r.get("disagreements").size(), r.toString());
            assertTrue(r.get("preflight").get("status").asText().matches("passed|warnings"), r.get("preflight").toString());
            JsonNode steps = r.get("steps");
            assertEquals(9, steps.size());
            for (int i = 0; i < 5; i++) {
                assertEquals("ok", steps.get(i).get("status").asText(), steps.toString());
            }
            assertEquals("on host2", steps.get(0).get("detail").asText(), "the drill moved web to host2 first");
            assertEquals("skipped", steps.get(5).get("status").asText(), "boots is not judged on a cluster: " + steps);
            for (int i = 6; i < 9; i++) {
                assertEquals("ok", steps.get(i).get("status").asText(), "qemu-kill, restarted: " + steps);
            }
            JsonNode web = r.get("recoveries").get(0);
            assertTrue(web.get("seconds").asDouble() < 30, web.toString());
            // the drill powered host2 back on through its fence agent
            assertTrue(lab.lab.status().stream().filter(h -> h.name().equals("host2")).allMatch(Lab.Host::up),
                    lab.lab.status().toString());
        } finally {
            try {
                cluster.stopAgents();
                cluster.close();
            } finally {
                lab.restoreAllHosts(); // the guard if the drill could not power its host back on
                lab.remove(vm.name());
            }
            System.out.printf("ClusterDrillIT: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
    }
}
