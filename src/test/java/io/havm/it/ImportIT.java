package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.lab.LabCluster;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havm vm import} and {@code vm release} on the real lab: a VM the operator started with
 * libvirt alone (on host2, with a NIC on a libvirt network) becomes an HA group where it runs,
 * without a restart (same QEMU pid, one boot); it then moves live like any HA VM; released, it
 * keeps running where it is, no longer managed. Bad input (an unknown domain, a network missing on
 * an owner) is refused with the reason and changes nothing.
 */
class ImportIT {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final String NET = "<network><name>imp-net</name><bridge name='impbr0'/></network>";

    final RealLab lab = RealLab.get();
    final List<RealLab.TestVm> vms = new ArrayList<>();
    final List<String> netsOn = new ArrayList<>();
    LabCluster cluster;
    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() throws IOException {
        try {
            Drills.stop(cluster, lab);
        } finally {
            vms.forEach(v -> lab.remove(v.name()));
            for (String h : netsOn) {
                virsh(h, "net-destroy", "imp-net");
                virsh(h, "net-undefine", "imp-net");
            }
        }
    }

    private Exec.Outcome havm(String... args) {
        List<String> cmd = new ArrayList<>(List.of(lab.home.resolve("havm").toString()));
        cmd.addAll(List.of(args));
        return Exec.run(Duration.ofMinutes(3), cmd);
    }

    private Exec.Outcome virsh(String host, String... args) {
        List<String> cmd = new ArrayList<>(List.of("virsh", "-c", lab.hv(host).uri()));
        cmd.addAll(List.of(args));
        return Exec.run(Duration.ofSeconds(30), cmd);
    }

    private void network(String host) throws IOException {
        Path f = dir.resolve("imp-net.xml");
        Files.writeString(f, NET);
        netsOn.add(host);
        virsh(host, "net-define", f.toString()).orThrow();
        virsh(host, "net-start", "imp-net").orThrow();
    }

    /** The QEMU pid libvirt recorded for the domain on the host (its private /run). */
    private String qemuPid(String host, String domain) throws IOException {
        Path p = lab.lab.facts().root().resolve("hosts").resolve(host).resolve("run/libvirt/qemu/" + domain + ".pid");
        return Files.readString(p).strip();
    }

    @Test
    void aVmStartedWithVirshBecomesHaWhereItRunsWithoutARestartAndIsReleasedRunning() throws Exception {
        RealLab.TestVm web = lab.newVm("it-imp-web");
        vms.add(web);
        // As an operator would have made it: defined and started with libvirt alone, a second NIC on
        // a libvirt network, its MAC chosen by libvirt.
        String xml = web.props().definitionXml().replace("    <serial type='file'>",
                "    <interface type='network'>\n      <source network='imp-net'/>\n      <model type='virtio'/>\n"
                        + "    </interface>\n    <serial type='file'>");
        assertTrue(xml.contains("imp-net"), xml);
        network("host1");
        network("host2");
        Path def = dir.resolve("web.xml");
        Files.writeString(def, xml);
        virsh("host2", "define", def.toString()).orThrow();
        virsh("host2", "start", web.name()).orThrow();
        lab.awaitBooted(web, 1);
        String pid = qemuPid("host2", web.name());

        String name = "imp" + ProcessHandle.current().pid();
        String storage = "storage:\n  leaseDir: " + lab.lab.sharedDir().resolve("lockd") + "\n  pools:\n"
                + "    images: {type: shared-dir, path: " + lab.lab.sharedDir().resolve("images")
                + ", libvirtSeesShared: false}\n";
        Path config = LabCluster.writeConfig(dir.resolve("cluster.yaml"), lab.home, name, lab.lab.status(),
                LabCluster.FAST_TIMERS, storage, "");
        cluster = LabCluster.of(lab.home, config);
        cluster.startAgents();
        Path defs = lab.lab.sharedDir().resolve("images/definitions");
        Path stored = defs.resolve(web.name() + ".xml");
        Files.deleteIfExists(stored);

        // Refused, nothing changed: an unknown domain; a network host3 lacks.
        Exec.Outcome h0 = havm("config", "history", "--config", config.toString());
        assertEquals(0, h0.code(), h0.out() + h0.err());
        Exec.Outcome unknown = havm("vm", "import", "it-imp-nosuch", "--host", "host2", "--config", config.toString());
        assertEquals(2, unknown.code(), unknown.out() + unknown.err());
        assertTrue(unknown.err().contains("no domain 'it-imp-nosuch' on host2 (domains there: " + web.name()),
                unknown.err());
        Exec.Outcome noNet = havm("vm", "import", web.name(), "--host", "host2", "--config", config.toString());
        assertEquals(2, noNet.code(), noNet.out() + noNet.err());
        assertTrue(noNet.err().contains("interface 2: network 'imp-net' is missing on host3 (not defined)"),
                noNet.err());
        assertFalse(Files.exists(stored), "nothing written");
        Exec.Outcome h1 = havm("config", "history", "--config", config.toString());
        assertEquals(h0.out(), h1.out(), "no version stored");

        // Imported with the owners that have its network: adopted on host2, same QEMU, one boot.
        Exec.Outcome imp = havm("vm", "import", web.name(), "--host", "host2", "--group", "web", "--owners",
                "host1,host2", "--config", config.toString());
        assertEquals(0, imp.code(), imp.out() + imp.err() + cluster.agentLogs());
        assertTrue(imp.out().contains("adopted: group web is online on host2; its VM kept running as it was"),
                imp.out());
        assertEquals(Optional.of("host2"), cluster.onlineOn("web"));
        assertEquals(pid, qemuPid("host2", web.name()), "the same QEMU: never restarted");
        assertEquals(1, web.log().booted(), "never rebooted");
        assertTrue(cluster.events().stream().anyMatch(e -> e.contains("adopted on host2, where its VM runs")),
                String.join("\n", cluster.events()));
        String storedXml = Files.readString(stored);
        String liveMac = virsh("host2", "domiflist", web.name()).out();
        for (String line : liveMac.lines().toList()) {
            if (line.contains("imp-net")) {
                String mac = line.trim().split("\\s+")[4];
                assertTrue(storedXml.contains(mac), "the stored definition keeps the MAC " + mac + ":\n" + storedXml);
            }
        }

        // HA like any group: moved live to host1 (its network is there), still the same boot.
        Exec.Outcome move = havm("group", "move", "web", "--to", "host1", "--mode", "live", "--config",
                config.toString());
        assertEquals(0, move.code(), move.out() + move.err());
        Drills.awaitOrLogs(cluster, "web online on host1", BOOT, () -> cluster.onlineOn("web").equals(
                Optional.of("host1")) && lab.activeOn(web.name()).equals(List.of("host1")));
        assertEquals(1, web.log().booted(), "moved live, never rebooted");
        String movedPid = qemuPid("host1", web.name());

        // Released: gone from the cluster, still running on host1 (same QEMU), the stored definition removed.
        Exec.Outcome rel = havm("vm", "release", "web", "--config", config.toString());
        assertEquals(0, rel.code(), rel.out() + rel.err() + cluster.agentLogs());
        assertTrue(rel.out().contains("released: group web; its VM keeps running on host1, no longer managed by havm"),
                rel.out());
        assertTrue(cluster.state().map(s -> !s.groups().containsKey("web")).orElse(false));
        assertEquals(List.of("host1"), lab.activeOn(web.name()));
        assertEquals(movedPid, qemuPid("host1", web.name()));
        assertFalse(Files.exists(stored), "the definition vm import stored is gone");
        assertTrue(virsh("host1", "dominfo", web.name()).out().matches("(?s).*Persistent:\\s+yes.*"),
                "it stays defined where it runs");
        Exec.Outcome again = havm("vm", "release", "web", "--config", config.toString());
        assertEquals(2, again.code(), again.out() + again.err());
        assertTrue(again.err().contains("no group 'web'"), again.err());
        System.out.printf("ImportIT: %s imported on host2 (QEMU %s kept), moved live to host1, released running%n",
                web.name(), pid);
    }
}
