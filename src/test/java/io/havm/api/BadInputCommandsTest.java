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
        // --json: the document says it too (ok false, each host's why); stderr keeps its one line
        assertEquals(1, run("vm", "remove", vm.toString(), "--config", c.toString(), "--json"));
        com.fasterxml.jackson.databind.JsonNode rm = ConfigCommandsTest.oneDocument(out());
        assertFalse(rm.get("ok").asBoolean());
        assertEquals(0, rm.get("removedFrom").size());
        assertTrue(rm.get("unreachable").get("h2").asText().contains("127.0.0.1:3"), out());
        assertTrue(err().startsWith("havm vm remove: web may remain where it could not be asked"), err());
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

    @Test
    void anEmptyPathIsSaidAsSuchNotAsTheCurrentDirectory() {
        // --config "$C" with C unset: the empty path, which Java would resolve to where the user stands
        assertEquals(2, run("status", "--config", ""));
        assertEquals("havm: (an empty path): a cluster configuration file was expected, not an empty path",
                err().strip());
    }

    @Test
    void vmFileValuesAreCheckedWithTheirRangeAndLine() throws Exception {
        String[][] cases = {
            {"memoryMiB: 99999999999999999999\n", "vm.yaml: memoryMiB: 99999999999999999999 is out of range (allowed:"
                + " 32..1048576)"},
            {"vcpus: 0\n", "vm.yaml: vcpus: 0 is out of range (allowed: 1..256)"},
            {"migration: {bandwidthMiBs: -5}\n", "vm.yaml: migration.bandwidthMiBs: -5 is out of range (allowed:"
                + " 0..1048576)"},
            {"resource: {onlineTimeout: 99999999999999999999s}\n", "vm.yaml: resource.onlineTimeout:"
                + " '99999999999999999999s' is out of range (allowed: 100ms..24h)"},
            {"cmdline: \"a\\0b\"\n", "vm.yaml: cmdline: must not contain a NUL character (\\0)"},
            {"serialLog: \"/tmp/a\\0b\"\n", "vm.yaml: serialLog: must not contain a NUL character (\\0)"},
            {"name: other\n", "vm.yaml:6: malformed YAML: Duplicate field 'name'"},
            {"\tvcpus: 2\n", "vm.yaml:6: malformed YAML: found character '\\t(TAB)' that cannot start any token"},
            {"colour: blue\n", "vm.yaml: colour: unknown field (allowed: cmdline"},
            {"memryMiB: 64\n", "vm.yaml: memryMiB: unknown field: did you mean 'memoryMiB'? (allowed: "},
            {"x: " + "[".repeat(5000) + "]".repeat(5000) + "\n", "vm.yaml:6: lists and mappings nested too deeply: at"
                + " most 50 levels are allowed"},
        };
        for (String[] k : cases) {
            Path vm = vmFile(k[0]);
            assertEquals(2, run("vm", "status", vm.toString(), "--config", "c.yaml"), k[0] + err());
            assertTrue(err().contains(k[1]), k[0] + ": " + err());
            oneLineNoTrace();
        }
    }

    @Test
    void aDrillReportDirectoryIsCheckedBeforeTheDrillRuns() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertEquals(2, run("drill", "run", "playbooks/host-power-loss.yaml", "--sim", "--report", file.toString()));
        assertEquals("havm: havm drill run --report: " + file + " is not a directory (reports are written into a"
                + " directory: report.html, report.json, junit.xml)", err().strip());
        assertEquals(2, run("drill", "run", "playbooks/host-power-loss.yaml", "--sim", "--report",
                file.resolve("sub").toString()));
        assertTrue(err().startsWith("havm: havm drill run --report: cannot write into " + file.resolve("sub")), err());
        assertEquals("", out(), "nothing ran");
    }

    @Test
    void extraArgumentsAndBadVersionsAreRefusedBeforeAnyConnection() throws Exception {
        assertEquals(2, run("--version", "now"));
        assertEquals("havm: havm --version: expected 0 argument(s), got 1 (usage: havm --version)", err().strip());
        assertEquals(2, run("help", "me"));
        Path c = deadCluster();
        long t0 = System.nanoTime();
        assertEquals(2, run("config", "show", "--version", "abc", "--config", c.toString()));
        assertTrue(err().contains("'abc' is not a version number"), err());
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "refused before waiting for ZooKeeper");
    }

    @Test
    void anUnexpectedExceptionIsOneLineWithTheCommandNeverATrace() {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        PrintStream p = new PrintStream(e, true, StandardCharsets.UTF_8);
        assertEquals(1, io.havm.util.Cli.exitCode(p, "havm x", () -> {
            throw new IllegalStateException("boom");
        }));
        assertEquals("havm x: internal error: java.lang.IllegalStateException: boom (a bug in havm; HAVM_DEBUG=1"
                + " prints the stack trace)", e.toString(StandardCharsets.UTF_8).strip());
        e.reset();
        assertEquals(1, io.havm.util.Cli.exitCode(p, "havm x", () -> {
            throw new java.io.UncheckedIOException("cannot write the report into /r",
                    new java.io.IOException("/r"));
        }));
        assertEquals("havm x: cannot write the report into /r", e.toString(StandardCharsets.UTF_8).strip());
    }
}
