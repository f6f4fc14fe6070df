package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Commands given what a new user types: a ZooKeeper or hosts that do not answer, files that are
 * not what the command takes, numbers out of range. One line naming what and where, exit 2 for
 * bad input (nothing changed) and 1 for a failed operation; never a stack trace.
 */
class BadInputCommandsTest {
    @TempDir
    Path dir;
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private int run(String... args) {
        err.reset();
        out.reset();
        Main m = new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return m.run(List.of(args));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Two hosts on loopback ports nobody listens on, and a ZooKeeper likewise. */
    private Path deadCluster() throws Exception {
        return Files.writeString(dir.resolve("c.yaml"), """
                cluster:
                  name: t
                  zookeeper: '127.0.0.1:1'
                  nodes:
                    - {name: h1, uri: 'qemu+tcp://127.0.0.1:2/system'}
                    - {name: h2, uri: 'qemu+tcp://127.0.0.1:3/system'}
                groups:
                  web: {resources: {vm: {type: vm, memoryMiB: 256, properties: {domain: web}}}}
                """);
    }

    private Path vmFile(String extra) throws Exception {
        Path k = Files.writeString(dir.resolve("vmlinuz"), "k");
        return Files.writeString(dir.resolve("vm.yaml"), "name: web\nkernel: " + k + "\ninitrd: " + k
                + "\ndomainType: qemu\ndisk: {path: " + dir.resolve("img/web.qcow2") + ", size: 64M}\n" + extra);
    }

    private void oneLineNoTrace() {
        assertEquals(1, err().strip().lines().count(), err());
        assertFalse(err().contains("Exception") || err().contains("\tat "), err());
    }

    @Test
    void anUnreachableZooKeeperIsOneLineAndExitOneWithinSeconds() throws Exception {
        Path c = deadCluster();
        for (String[] cmd : List.of(new String[] {"status"}, new String[] {"events"},
                new String[] {"group", "move", "web", "--to", "h2"}, new String[] {"node", "drain", "h1"})) {
            List<String> args = new java.util.ArrayList<>(List.of(cmd));
            args.addAll(List.of("--config", c.toString()));
            long t0 = System.nanoTime();
            assertEquals(1, run(args.toArray(String[]::new)), err());
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertTrue(took.compareTo(ClusterCommands.COMMAND_WAIT.plusSeconds(5)) < 0, took + " " + args);
            assertTrue(err().contains("no connection to ZooKeeper at 127.0.0.1:1 within 3000 ms"), err());
            oneLineNoTrace();
        }
        assertEquals(Duration.ofSeconds(3), ClusterCommands.commandWait(Duration.ofMinutes(2)));
        assertEquals(Duration.ofSeconds(2), ClusterCommands.commandWait(Duration.ofSeconds(2)));
    }

    @Test
    void unreachableHostsAreNamedByRemoveMoveAndCreateWhichCreateNothing() throws Exception {
        Path c = deadCluster();
        Path vm = vmFile("");
        assertEquals(1, run("vm", "remove", vm.toString(), "--config", c.toString()));
        assertTrue(err().startsWith("havm vm remove: web may remain where it could not be asked: hosts h1, h2 are"
                + " unreachable (h1: "), err());
        oneLineNoTrace();
        assertEquals(1, run("vm", "move", vm.toString(), "--to", "h2", "--mode", "live", "--config", c.toString()));
        assertTrue(err().startsWith("havm vm move: web runs on no reachable host, and hosts h1, h2 are unreachable"),
                err());
        assertTrue(err().contains("nothing was moved"), err());
        oneLineNoTrace();
        assertEquals(1, run("vm", "create", vm.toString(), "--host", "h1", "--config", c.toString()));
        assertTrue(err().startsWith("havm vm create: host h1 is unreachable (connect qemu+tcp://127.0.0.1:2/system"),
                err());
        assertTrue(err().contains("nothing was created"), err());
        assertFalse(Files.exists(dir.resolve("img/web.qcow2")), "no disk made for a host that does not answer");
    }

    @Test
    void vmCreateRendersOnlyDomainTemplates() throws Exception {
        Path c = deadCluster();
        Path xml = Files.writeString(dir.resolve("not-domain.xml"), "<network><name>${NAME}</name></network>");
        Path noName = Files.writeString(dir.resolve("no-name.xml"), "<domain type='kvm'><name>x</name></domain>");
        Path text = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        String[][] cases = {
            {"../../../etc/passwd", "' is not a domain template: it is not XML"},
            {text.toString(), "' is not a domain template: it is not XML"},
            {xml.toString(), "' is not a domain template: its root element is <network>, not <domain>"},
            {noName.toString(), "' is not a domain template: it does not take the VM's name (<name>${NAME}</name>)"},
            {dir.toString(), "' is a directory, not a domain template file"},
            {dir.resolve("none.xml").toString(), "' does not exist (a domain template file was expected)"},
        };
        for (String[] k : cases) {
            Path vm = vmFile("template: '" + k[0] + "'\n");
            assertEquals(2, run("vm", "create", vm.toString(), "--host", "h1", "--config", c.toString()), k[0]);
            assertTrue(err().contains("vm.yaml: template: '") && err().contains(k[1]), k[0] + ": " + err());
            oneLineNoTrace();
        }
        Path vm = vmFile("template: nosuch\n");
        assertEquals(2, run("vm", "create", vm.toString(), "--host", "h1", "--config", c.toString()));
        assertTrue(err().contains("template: 'nosuch' is not a template of ") && err().contains("(templates: "
                + "cloud-image, lab-direct-kernel; or the path of a domain template"), err());
        assertFalse(Files.exists(dir.resolve("img/web.qcow2")));
    }

    @Test
    void simSeedsOutOfRangeAreBadInput() {
        assertEquals(2, run("sim", "--seeds", "0"));
        assertEquals("havm: havm sim --seeds: 0 is out of range (allowed: 1..1000000)", err().strip());
        assertEquals(2, run("sim", "--seeds", "-1"));
        assertEquals("havm: havm sim --seeds: -1 is out of range (allowed: 1..1000000)", err().strip());
        assertEquals(2, run("sim", "--seeds", "2", "--first", "-3"));
        assertTrue(err().contains("--first: -3 is out of range (allowed: 0.."), err());
    }

    @Test
    void aMissingFenceAgentNamesTheNodeAndTheFile() throws Exception {
        Path c = Files.writeString(dir.resolve("f.yaml"), """
                cluster:
                  nodes:
                    - {name: h1, uri: 'qemu+tcp://127.0.0.1:2/system', fencing: {agent: fence_nonexistent_x}}
                groups:
                  web: {resources: {vm: {type: vm, memoryMiB: 256, properties: {domain: web}}}}
                """);
        assertEquals(2, run("config", "check", c.toString()));
        assertTrue(err().contains("havm: " + c + ": cluster.nodes.h1.fencing.agent: 'fence_nonexistent_x' not found"),
                err());
    }

    @Test
    void anUnexpectedFailureIsOneLineNeverATrace() {
        // a configuration directory with a fragment directory that is a file: whatever fails, no trace
        assertEquals(2, run("config", "check", dir.toString()));
        assertEquals("havm: " + dir + ": is a directory, not a cluster configuration file", err().strip());
    }
}
