package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.lab.Lab;
import io.havm.lab.LabCluster;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.port.Hypervisor;
import io.havm.port.MigrationOptions;
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
 * libvirt over TLS between lab hosts (issue 11, item 5), with the certificates ci/lab makes
 * ({@code /var/lib/havm-lab/pki}): every host answers on qemu+tls with the lab's client
 * certificate and refuses a client whose certificate another CA signed; a live migration goes
 * peer-to-peer over qemu+tls with the memory stream over QEMU's native TLS (VIR_MIGRATE_TLS), seen
 * in the destination QEMU's command line; and havm agents whose nodes are qemu+tls URIs move an HA
 * VM live with {@code havm group move}, the guest never rebooting.
 */
class TlsIT {
    private static final Duration BOOT = Duration.ofSeconds(120);

    final RealLab lab = RealLab.get();
    final List<RealLab.TestVm> vms = new ArrayList<>();
    final Map<String, Hypervisor> tls = new TreeMap<>();
    LabCluster cluster;
    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() throws IOException {
        try {
            Drills.stop(cluster, lab);
        } finally {
            tls.values().forEach(Hypervisor::close);
            vms.forEach(v -> lab.remove(v.name()));
        }
    }

    private Hypervisor tls(String host) {
        return tls.computeIfAbsent(host, h -> new LibvirtHypervisor(h, lab.lab.host(h).tlsUri()));
    }

    private Path pki() {
        return lab.lab.facts().root().resolve("pki");
    }

    private static Exec.Outcome run(String... cmd) {
        return Exec.run(Duration.ofSeconds(30), List.of(cmd));
    }

    /**
     * Host {@code host}'s log of every QMP message its libvirtd sent to a QEMU (ci/lab's
     * {@code log_filters = "1:qemu.qemu_monitor"}), from byte {@code from} on.
     */
    private String monitorLog(String host, long from) throws IOException {
        byte[] all = Files.readAllBytes(monitorLogFile(host));
        return new String(all, (int) Math.min(from, all.length), (int) Math.max(0, all.length - from),
                java.nio.charset.StandardCharsets.UTF_8);
    }

    private Path monitorLogFile(String host) {
        return lab.lab.facts().root().resolve("hosts").resolve(host).resolve("var-log-libvirt/qemu-monitor.log");
    }

    private long monitorLogSize(String host) throws IOException {
        return Files.size(monitorLogFile(host));
    }

    /**
     * Asserts that the migration whose QMP traffic is in {@code src} (the source's) and
     * {@code dst} (the target's) ran over QEMU's TLS: libvirt gave each QEMU the host's
     * credentials (client on the source, server on the target, both verifying the peer) and set
     * them as the migration's {@code tls-creds}, with the target's address as the name its
     * certificate must carry.
     */
    private void assertMigratedOverTls(String src, String dst, String from, String to) {
        String creds = "{\"qom-type\":\"tls-creds-x509\",\"id\":\"objlibvirt_migrate_tls0\",\"dir\":\"";
        assertTrue(src.contains(creds + pki().resolve(from + "/qemu") + "\",\"endpoint\":\"client\","
                + "\"verify-peer\":true}"), "source's QMP:\n" + grep(src, "tls"));
        assertTrue(dst.contains(creds + pki().resolve(to + "/qemu") + "\",\"endpoint\":\"server\","
                + "\"verify-peer\":true}"), "target's QMP:\n" + grep(dst, "tls"));
        assertTrue(src.contains("\"migrate-set-parameters\",\"arguments\":{\"tls-creds\":\"objlibvirt_migrate_tls0\","
                + "\"tls-hostname\":\"" + lab.lab.host(to).ip() + "\""), "source's QMP:\n" + grep(src, "tls"));
        assertTrue(dst.contains("\"migrate-set-parameters\",\"arguments\":{\"tls-creds\":\"objlibvirt_migrate_tls0\""),
                "target's QMP:\n" + grep(dst, "tls"));
    }

    private static String grep(String text, String needle) {
        return String.join("\n", text.lines().filter(l -> l.contains(needle)).limit(20).toList());
    }

    @Test
    void everyHostAnswersOverTlsAndRefusesAClientOfAnotherCa() throws IOException {
        for (Lab.Host h : lab.lab.status()) {
            assertTrue(h.tlsUri().startsWith("qemu+tls://" + h.ip() + "/system?pkipath="), h.tlsUri());
            long t0 = System.nanoTime();
            Exec.Outcome o = run("virsh", "-c", h.tlsUri(), "hostname");
            long t1 = System.nanoTime();
            assertEquals(0, o.code(), h.name() + ": " + o.out() + o.err());
            assertEquals(h.name(), o.out().strip(), "the TLS connection reached " + h.name() + "'s libvirtd");
            long t2 = System.nanoTime();
            run("virsh", "-c", h.uri(), "hostname").orThrow();
            System.out.printf("TlsIT: %s: virsh hostname over TLS %.0f ms, over TCP %.0f ms%n", h.name(),
                    (t1 - t0) / 1e6, (System.nanoTime() - t2) / 1e6);
            tls(h.name()).ping();
        }
        // A client certificate signed by a CA of its own. The client trusts the lab's CA (so it
        // accepts the server) and its own (libvirt checks the client's certificate against its
        // cacert.pem before connecting); the server, which trusts the lab's CA only, must refuse it.
        Path rogue = Files.createDirectories(dir.resolve("rogue"));
        Path ca = rogue.resolve("rogue-ca");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                ca + "-key.pem", "-out", ca + "-cert.pem", "-days", "1", "-subj", "/O=not the lab/CN=rogue CA");
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                rogue.resolve("clientkey.pem").toString(), "-out", rogue.resolve("client.csr").toString(), "-subj",
                "/O=havm lab/CN=havm lab client");
        Path ext = Files.writeString(rogue.resolve("ext.cnf"), "basicConstraints = critical,CA:FALSE\n"
                + "keyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = clientAuth\n");
        openssl("x509", "-req", "-in", rogue.resolve("client.csr").toString(), "-CA", ca + "-cert.pem", "-CAkey",
                ca + "-key.pem", "-set_serial", "7", "-days", "1", "-extfile", ext.toString(), "-out",
                rogue.resolve("clientcert.pem").toString());
        Files.writeString(rogue.resolve("cacert.pem"), Files.readString(pki().resolve("client/cacert.pem"))
                + Files.readString(Path.of(ca + "-cert.pem")));
        Lab.Host host1 = lab.lab.host("host1");
        Path serverLog = lab.lab.facts().root().resolve("hosts/host1/var-log-libvirt/libvirtd.log");
        long before = Files.size(serverLog);
        Exec.Outcome refused = run("virsh", "-c", "qemu+tls://" + host1.ip() + "/system?pkipath=" + rogue, "hostname");
        assertNotEquals(0, refused.code(), "a client certificate of another CA: " + refused.out());
        assertFalse(refused.out().contains("host1"), refused.out());
        String said = new String(Files.readAllBytes(serverLog), java.nio.charset.StandardCharsets.UTF_8)
                .substring((int) before);
        assertTrue(said.contains("authentication failed: Failed to verify peer's certificate"),
                "host1's libvirtd refused the client: " + said);
        System.out.printf("TlsIT: every host answers over TLS; a client of another CA gets: %s; host1's libvirtd: %s%n",
                refused.err().strip().replace('\n', ' '), grep(said, "error").replace('\n', ' '));
        // The same with the lab's client certificate, and the same files otherwise, works: it is the CA that counts.
        Files.copy(pki().resolve("client/clientcert.pem"), rogue.resolve("clientcert.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(pki().resolve("client/clientkey.pem"), rogue.resolve("clientkey.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Exec.Outcome accepted = run("virsh", "-c", "qemu+tls://" + host1.ip() + "/system?pkipath=" + rogue,
                "hostname");
        assertEquals(0, accepted.code(), accepted.out() + accepted.err());
    }

    private static void openssl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Exec.run(Duration.ofSeconds(30), cmd).orThrow();
    }

    @Test
    void aLiveMigrationGoesOverQemuTlsWithItsMemoryStreamOverTls() throws IOException {
        RealLab.TestVm vm = lab.newVm("it-tls-mig");
        vms.add(vm);
        Hypervisor from = tls("host1");
        Hypervisor to = tls("host2");
        from.define(vm.props().definitionXml());
        from.start(vm.name());
        lab.awaitBooted(vm, 1);
        int tick = vm.log().lastTick();
        long src0 = monitorLogSize("host1");
        long dst0 = monitorLogSize("host2");
        long t0 = System.nanoTime();
        // p2p: host1's libvirtd opens host2's qemu+tls URI itself (pkipath names the lab's client
        // certificate, at the same path inside every host); the lab's shared dir needs UNSAFE (LAB.md).
        from.migrateLive(vm.name(), to, new MigrationOptions(true, 0, 0, true));
        double secs = (System.nanoTime() - t0) / 1e9;
        assertEquals(List.of("host2"), lab.activeOn(vm.name()));
        lab.awaitConsole(vm, "ticks after the TLS migration", c -> c.lastTick() > tick);
        assertEquals(1, vm.log().booted(), "the guest kept running");
        assertMigratedOverTls(monitorLog("host1", src0), monitorLog("host2", dst0), "host1", "host2");
        System.out.printf("TlsIT: live migration host1 -> host2 over qemu+tls with its memory stream over TLS in"
                + " %.2f s%n", secs);
    }

    @Test
    void agentsOnQemuTlsUrisMoveAnHaVmLive() throws Exception {
        RealLab.TestVm vm = Drills.vmWithDefinition(lab, "it-tls-web");
        vms.add(vm);
        String name = "tls" + ProcessHandle.current().pid();
        List<Lab.Host> hosts = lab.lab.status().stream().map(Lab.Host::overTls).toList();
        Path cfg = LabCluster.writeConfig(dir.resolve("cluster.yaml"), lab.home, name, hosts, LabCluster.FAST_TIMERS,
                Drills.group(lab, vm, "web", List.of("host1"), "", ""));
        String yaml = Files.readString(cfg);
        Files.writeString(cfg, yaml.replaceFirst("cluster:\n", "cluster:\n  migration: {tls: true}\n"));
        for (Lab.Host h : hosts) {
            assertTrue(Files.readString(cfg).contains("uri: '" + h.tlsUri() + "'"), Files.readString(cfg));
        }
        cluster = LabCluster.of(lab.home, cfg);
        assertTrue(cluster.spec().migrationTls());
        cluster.startAgents();
        Drills.awaitOrLogs(cluster, "web online on host1", BOOT, () -> cluster.onlineOn("web").filter("host1"::equals)
                .isPresent() && lab.activeOn(vm.name()).equals(List.of("host1")));
        lab.awaitBooted(vm, 1);
        int tick = vm.log().lastTick();
        long src0 = monitorLogSize("host1");
        long dst0 = monitorLogSize("host2");

        long t0 = System.nanoTime();
        Exec.Outcome move = Exec.run(Duration.ofMinutes(2), List.of(lab.home.resolve("havm").toString(), "group",
                "move", "web", "--to", "host2", "--mode", "live", "--config", cfg.toString()));
        assertEquals(0, move.code(), move.out() + move.err());
        Drills.awaitOrLogs(cluster, "web online on host2", BOOT, () -> cluster.onlineOn("web").filter("host2"::equals)
                .isPresent() && lab.activeOn(vm.name()).equals(List.of("host2")));
        double secs = (System.nanoTime() - t0) / 1e9;
        lab.awaitConsole(vm, "ticks after the move", c -> c.lastTick() > tick);
        assertEquals(1, vm.log().booted(), "web never rebooted");
        assertTrue(vm.log().ticksContinuous(0), "no tick lost or repeated: " + vm.log().ticksPerBoot().get(0));
        assertTrue(cluster.events().stream().anyMatch(e -> e.contains("web") && e.contains("host2")),
                String.join("\n", cluster.events()));
        assertMigratedOverTls(monitorLog("host1", src0), monitorLog("host2", dst0), "host1", "host2");
        System.out.printf("TlsIT: agents on qemu+tls moved web host1 -> host2 live (migration over TLS) in %.2f s"
                + " (havm group move until online there)%n", secs);
    }
}
