package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.lab.LabCluster;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havm validate} on the real 3-host lab, through the {@code ./havm} launcher: a clean lab
 * cluster has no FAIL; then it is broken on purpose and validate must say what and where, each
 * read from the JSON report: a bridge that exists on host1 and host2 only, an ISO in host1's own
 * (private) /var/lib/libvirt, a CPU feature the hosts' QEMU cannot give, a fence device whose
 * {@code status} fails, and a host powered off (FAIL for it, its dependent checks skipped, the
 * whole run bounded).
 */
class ValidateIT {
    static final String BRIDGE = "brval0";
    static final String ISO = "/var/lib/libvirt/images/it-validate.iso";

    final RealLab lab = RealLab.get();
    final List<RealLab.TestVm> vms = new ArrayList<>();
    boolean poweredOff;
    @TempDir
    Path dir;

    @AfterEach
    void restore() {
        for (String h : List.of("host1", "host2", "host3")) {
            lab.lab.exec(h, "sh", "-c", "ip link del " + BRIDGE + " 2>/dev/null; rm -f " + ISO + "; true");
        }
        if (poweredOff) {
            lab.restoreAllHosts();
        }
        vms.forEach(v -> lab.remove(v.name()));
    }

    private Exec.Outcome validate(Path config, Path json) {
        return Exec.run(Duration.ofMinutes(2), List.of(lab.home.resolve("havm").toString(), "validate", "--config",
                config.toString(), "--json", json.toString()));
    }

    private Path config(String file, String groups) throws IOException {
        Path shared = lab.lab.sharedDir();
        Files.createDirectories(shared.resolve("lockd"));
        return LabCluster.writeConfig(dir.resolve(file), lab.home, "val" + ProcessHandle.current().pid(),
                lab.lab.status(), LabCluster.FAST_TIMERS, "storage:\n  leaseDir: " + shared.resolve("lockd") + "\n",
                groups);
    }

    private static List<JsonNode> checks(JsonNode report, String id, String subject, String host) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode c : report.get("checks")) {
            if (c.get("id").asText().equals(id) && c.get("subject").get("name").asText().equals(subject)
                    && (host == null || host.equals(c.get("host").asText(null)))) {
                out.add(c);
            }
        }
        assertTrue(!out.isEmpty(), id + " " + subject + " " + host + " in " + report);
        return out;
    }

    private static String status(JsonNode report, String id, String subject, String host) {
        return checks(report, id, subject, host).get(0).get("status").asText();
    }

    @Test
    void aCleanLabPassesThenEachBreakageIsNamedWithItsHost() throws Exception {
        LabZooKeeper.start();
        RealLab.TestVm web = Drills.vmWithDefinition(lab, "it-val-web");
        vms.add(web);
        Path clean = config("clean.yaml", Drills.group(lab, web, "web", List.of("host1"), "", ""));
        Path cleanJson = dir.resolve("clean.json");
        Exec.Outcome ok = validate(clean, cleanJson);
        JsonNode r = new ObjectMapper().readTree(cleanJson.toFile());
        assertEquals(0, ok.code(), ok.out() + ok.err());
        assertEquals("havm-validate-report/1", r.get("schema").asText());
        assertEquals(0, r.get("summary").get("fail").asInt(), ok.out());
        for (String h : List.of("host1", "host2", "host3")) {
            assertEquals("pass", status(r, "host.reachable", h, null));
            assertEquals("pass", status(r, "host.fence", h, null));
            assertEquals("pass", status(r, "host.shared-storage", h, null));
            assertEquals("pass", status(r, "host.clock", h, null));
            assertEquals("pass", status(r, "vm.machine", web.name(), h));
        }
        assertEquals("pass", status(r, "vm.disk", web.name(), null));
        assertEquals("warn", status(r, "cluster.zookeeper", r.get("cluster").asText(), null),
                "the lab's single ZooKeeper answers, and one server is no ensemble");

        // Broken on purpose: a bridge host3 lacks, an ISO only host1 has, a CPU feature no host's
        // QEMU gives, and host3's fence device pointed at a plug that does not exist.
        for (String h : List.of("host1", "host2")) {
            Exec.Outcome b = lab.lab.exec(h, "ip", "link", "add", BRIDGE, "type", "bridge");
            assertEquals(0, b.code(), b.err());
        }
        Exec.Outcome iso = lab.lab.exec("host1", "sh", "-c", "mkdir -p /var/lib/libvirt/images && truncate -s 1M " + ISO);
        assertEquals(0, iso.code(), iso.err());
        RealLab.TestVm bad = Drills.vmWithDefinition(lab, "it-val-bad");
        vms.add(bad);
        Path badDef = lab.lab.sharedDir().resolve("defs").resolve(bad.name() + ".xml");
        String xml = Files.readString(badDef)
                .replace("<interface type='user'>", "<interface type='bridge'><source bridge='" + BRIDGE + "'/>")
                .replace("</os>", "</os>\n  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model>"
                        + "<feature policy='require' name='avx512f'/></cpu>")
                .replace("<channel type='unix'>", "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
                        + "<source file='" + ISO + "'/><target dev='hdc' bus='ide'/><readonly/></disk>\n"
                        + "    <channel type='unix'>");
        assertTrue(xml.contains(BRIDGE) && xml.contains("avx512f") && xml.contains(ISO), xml);
        Files.writeString(badDef, xml);
        Path broken = config("broken.yaml", Drills.group(lab, web, "web", List.of("host1"), "", "")
                + Drills.group(lab, bad, "bad", List.of("host2"), "", ""));
        Files.writeString(broken, Files.readString(broken).replace("plug: host3}", "plug: host9}"));
        Path brokenJson = dir.resolve("broken.json");
        Exec.Outcome failed = validate(broken, brokenJson);
        assertEquals(1, failed.code(), failed.out() + failed.err());
        JsonNode b = new ObjectMapper().readTree(brokenJson.toFile());
        assertEquals("pass", status(b, "vm.network", bad.name(), "host1"));
        assertEquals("pass", status(b, "vm.network", bad.name(), "host2"));
        JsonNode net = checks(b, "vm.network", bad.name(), "host3").get(0);
        assertEquals("fail", net.get("status").asText());
        assertTrue(net.get("detail").asText().contains(BRIDGE) && net.get("hint").asText().contains("host3"), net.toString());
        JsonNode isoCheck = checks(b, "vm.disk", bad.name(), "host2").get(0);
        assertEquals("fail", isoCheck.get("status").asText());
        assertTrue(isoCheck.get("detail").asText().contains("host-local"), isoCheck.toString());
        assertEquals("fail", status(b, "vm.disk", bad.name(), "host3"));
        for (String h : List.of("host1", "host2", "host3")) {
            assertEquals("fail", status(b, "vm.cpu", bad.name(), h));
        }
        JsonNode fence = checks(b, "host.fence", "host3", null).get(0);
        assertEquals("fail", fence.get("status").asText());
        assertTrue(fence.get("detail").asText().contains("host9"), fence.toString());
        assertEquals("pass", status(b, "host.fence", "host1", null));
        assertEquals("pass", status(b, "vm.cpu", web.name(), null), "the clean VM stays clean beside the broken one");

        // host3 powered off: a FAIL for it, what needs it skipped with the reason, and bounded.
        lab.lab.exec("host1", "rm", "-f", ISO);
        poweredOff = true;
        lab.lab.powerOff("host3");
        Path offJson = dir.resolve("off.json");
        long t0 = System.nanoTime();
        Exec.Outcome off = validate(clean, offJson);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertEquals(1, off.code(), off.out() + off.err());
        assertTrue(took.compareTo(Duration.ofSeconds(60)) < 0, "validate with a host off took " + took);
        JsonNode o = new ObjectMapper().readTree(offJson.toFile());
        assertEquals("fail", status(o, "host.reachable", "host3", null));
        assertEquals("pass", status(o, "host.reachable", "host1", null));
        JsonNode skipped = checks(o, "vm.machine", web.name(), "host3").get(0);
        assertEquals("skip", skipped.get("status").asText());
        assertTrue(skipped.get("detail").asText().contains("unreachable"), skipped.toString());
        assertEquals("skip", status(o, "host.clock", "host3", null));
        assertEquals("warn", status(o, "host.fence", "host3", null), "the fence device answers: host3 is off");
        assertEquals(1, o.get("summary").get("fail").asInt(), off.out());
    }
}
