package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.util.Exec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The havm command against the real lab, as an operator runs it: bad input exits 2 with a precise
 * message and changes nothing (no disk created, no domain defined on any host).
 */
class CliIT {
    final RealLab lab = RealLab.get();
    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() throws Exception {
        lab.remove("cli-web");
        // vm remove keeps the disk on purpose; the next test must start without it.
        Files.deleteIfExists(lab.lab.sharedDir().resolve("images/cli-web.qcow2"));
    }

    /** havm ARGS --config C: C names the lab's hosts as the cluster's nodes (vm and resource act on those). */
    private Exec.Outcome havm(String... args) {
        Path config = io.havm.lab.LabCluster.writeConfig(dir.resolve("cluster.yaml"), lab.home,
                "cli" + ProcessHandle.current().pid(), lab.lab.status(), io.havm.lab.LabCluster.FAST_TIMERS, "");
        List<String> cmd = new java.util.ArrayList<>(List.of("java", "-Dhavm.home=" + lab.home, "-cp",
                System.getProperty("java.class.path"), "io.havm.api.Main"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--config", config.toString()));
        return Exec.run(Duration.ofMinutes(3), cmd);
    }

    private Path vmFile(String extra) throws Exception {
        return Files.writeString(dir.resolve("web.yaml"), "name: cli-web\nmemoryMiB: 128\ndomainType: qemu\n"
                + "disk: {path: " + lab.lab.sharedDir().resolve("images/cli-web.qcow2") + ", size: 16M}\n"
                + "migration: {unsafeSharedStorage: true}\n" + extra);
    }

    private void assertNothingChanged() {
        assertFalse(Files.exists(lab.lab.sharedDir().resolve("images/cli-web.qcow2")), "no disk created");
        for (String h : lab.hosts.keySet()) {
            assertTrue(lab.hv(h).state("cli-web").isEmpty(), "no domain defined on " + h);
        }
    }

    @Test
    void anUnknownHostIsRefusedNamingTheHostsThereAreAndNothingChanges() throws Exception {
        Exec.Outcome o = havm("vm", "create", vmFile("").toString(), "--host", "host7");
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("unknown host 'host7' (nodes of the configuration: host1 host2 host3)"), o.err());
        assertNothingChanged();
    }

    @Test
    void aMissingImageOrTemplateIsRefusedAndNothingChanges() throws Exception {
        Exec.Outcome o = havm("vm", "create", vmFile("kernel: /nonexistent/vmlinuz\n").toString(), "--host", "host1");
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("kernel: /nonexistent/vmlinuz does not exist or is not a file"), o.err());
        assertNothingChanged();

        o = havm("vm", "create", vmFile("template: no-such-template\n").toString(), "--host", "host1");
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("template: 'no-such-template'"), o.err());
        assertNothingChanged();
    }

    @Test
    void theCommandLineDrivesARealVmFromCreateToRemove() throws Exception {
        Path f = vmFile("");
        Exec.Outcome o = havm("vm", "create", f.toString(), "--host", "host1");
        assertEquals(0, o.code(), o.out() + o.err());
        o = havm("vm", "create", f.toString(), "--host", "host2");
        assertEquals(1, o.code(), "a second create elsewhere is refused: " + o.out());
        assertTrue(o.err().contains("already runs on host1"), o.err());
        o = havm("vm", "move", f.toString(), "--to", "host3", "--mode", "live");
        assertEquals(0, o.code(), o.out() + o.err());
        assertEquals(List.of("host3"), lab.activeOn("cli-web"));
        o = havm("vm", "status", f.toString(), "--json");
        assertTrue(o.out().contains("\"host3\":\"running (migrated)\""), o.out());
        o = havm("resource", "looks-alive", f.toString(), "--host", "host3");
        assertEquals(0, o.code(), o.out());
        o = havm("vm", "recover", f.toString(), "--from", "host3", "--to", "host1");
        assertEquals(1, o.code(), "recovery refused while host3 is not fenced");
        assertTrue(o.err().contains("refused: host3 is not proven off"), o.err());
        assertEquals(List.of("host3"), lab.activeOn("cli-web"));
        o = havm("vm", "remove", f.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(lab.activeOn("cli-web").isEmpty());
    }

    @Test
    void plainVirshFromTheRootNamespaceReachesEveryHost() {
        for (io.havm.lab.Lab.Host h : lab.lab.status()) {
            Exec.Outcome o = Exec.run(Duration.ofSeconds(30), List.of("virsh", "-c", h.uri(), "hostname"));
            assertEquals(0, o.code(), h.name() + ": " + o.err());
            assertEquals(h.name(), o.out().strip(), "each host has its own UTS namespace");
        }
    }

    @Test
    void theLabRefusesBadArgumentsWithExitTwo() {
        Exec.Outcome o = Exec.run(Duration.ofSeconds(30), List.of(lab.home.resolve("ci/lab").toString(),
                "power-off", "host9"));
        assertEquals(2, o.code());
        assertTrue(o.err().contains("unknown host 'host9'"), o.err());
        o = Exec.run(Duration.ofSeconds(30), List.of(lab.home.resolve("ci/lab").toString(), "up", "--hosts", "ten"));
        assertEquals(2, o.code());
        assertEquals(3, lab.lab.status().size(), "nothing changed");
    }
}
