package io.havm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new operator gets wrong in a cluster configuration, each refused where it is written:
 * file, line, field and what is allowed; never a Java exception's words.
 */
class BadConfigInputTest {
    static final String NODES = """
            cluster:
              nodes:
                - {name: host1, uri: 'qemu+tcp://10.0.0.1/system', memoryMiB: 4096}
                - {name: host2, uri: 'qemu+tcp://10.0.0.2/system', memoryMiB: 2048}
            """;

    @TempDir
    Path dir;

    private static String error(String yaml) {
        return assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.parse("c.yaml", yaml).forRealHosts())
                .getMessage();
    }

    private String fileError(Path f) {
        return assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.load(f)).getMessage();
    }

    /** NODES with {@code line} added under cluster. */
    private static String clusterWith(String line) {
        return NODES.replace("cluster:\n", "cluster:\n  " + line + "\n");
    }

    private static String group(String resource) {
        return NODES + "groups:\n  web:\n    resources:\n      " + resource + "\n";
    }

    @Test
    void aFileThatIsNoConfigurationIsRefusedBeforeParsing() throws Exception {
        assertEquals(dir + ": is a directory, not a cluster configuration file", fileError(dir));
        assertEquals(dir.resolve("nope.yaml") + ": does not exist (a cluster configuration file was expected)",
                fileError(dir.resolve("nope.yaml")));
        Path latin = Files.write(dir.resolve("latin.yaml"), "cluster:\n  name: caf\u00e9\n"
                .getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(latin + ":2: is not UTF-8 text (byte 0xe9 at offset 20): a binary file, or text in another"
                + " encoding (save it as UTF-8)", fileError(latin));
        Path bin = Files.write(dir.resolve("bin.yaml"), new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, (byte) 0x80});
        assertTrue(fileError(bin).startsWith(bin + ":1: is not UTF-8 text"), fileError(bin));
        Path text = Files.writeString(dir.resolve("text.yaml"), "just some words\n");
        assertEquals(text + ":1: the document must be a mapping of cluster, groups, storage", fileError(text));
    }

    @Test
    void aBillionLaughsAndDeepNestingAreRefusedWithTheLineAndTheLimit() throws Exception {
        StringBuilder bomb = new StringBuilder("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (char c = 'b'; c <= 'i'; c++) {
            bomb.append(c).append(": &").append(c).append(" [");
            String prev = "*" + (char) (c - 1);
            bomb.append(String.join(", ", java.util.Collections.nCopies(9, prev))).append("]\n");
        }
        assertEquals("c.yaml:7: too many aliases (*name) of lists or mappings: at most 50 are allowed (a document"
                + " that expands by aliases, a \"billion laughs\", is refused)", error(bomb.toString()));
        assertEquals("c.yaml:1: lists and mappings nested too deeply: at most 50 levels are allowed",
                error("[".repeat(10_000) + "]".repeat(10_000) + "\n"));
        StringBuilder block = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            block.append("  ".repeat(i)).append("-\n");
        }
        assertEquals("c.yaml:51: lists and mappings nested too deeply: at most 50 levels are allowed",
                error(block.toString()));
    }

    @Test
    void aLargeFileIsReadWhenItIsAConfigurationAndRefusedByLineWhenNot() throws Exception {
        // 4 MiB of comments around a valid configuration: size alone refuses nothing.
        String comment = ("# " + "x".repeat(1021) + "\n").repeat(4096);
        Path big = Files.writeString(dir.resolve("big.yaml"), comment + group("vm: {properties: {domain: web}}"));
        assertTrue(Files.size(big) > 4_000_000);
        assertEquals(1, ClusterConfigLoader.load(big).spec().groups().size());
        java.util.Random r = new java.util.Random(7);
        StringBuilder garbage = new StringBuilder();
        String alphabet = "abc: -\n#{}[]";
        while (garbage.length() < 4 * 1024 * 1024) {
            garbage.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        Path junk = Files.writeString(dir.resolve("junk.yaml"), garbage);
        assertTrue(fileError(junk).matches("\\Q" + junk + "\\E:[0-9]+: malformed YAML: .*"), fileError(junk));
    }

    @Test
    void durationsAndNumbersOutOfRangeAreRefusedWithTheRange() {
        assertEquals("c.yaml:2: cluster.timers.sessionTimeout: '99999999999999999999s' is out of range (allowed:"
                + " 2s..2m)", error(clusterWith("timers: {sessionTimeout: 99999999999999999999s}")));
        assertEquals("c.yaml:2: cluster.timers.sessionTimeout: '9999999999999h' is out of range (allowed: 2s..2m)",
                error(clusterWith("timers: {sessionTimeout: 9999999999999h}")));
        // passed check once, then overflowed in status (an int of milliseconds)
        assertEquals("c.yaml:2: cluster.timers.sessionTimeout: '4000h' is out of range (allowed: 2s..2m)",
                error(clusterWith("timers: {sessionTimeout: 4000h}")));
        assertEquals("c.yaml:2: cluster.migrationsPerHost: 99999999999999999999 is out of range (allowed: 1..16)",
                error(clusterWith("migrationsPerHost: 99999999999999999999")));
        assertEquals("c.yaml:2: cluster.migrationsPerHost: 'many' is not a whole number (allowed: 1..16)",
                error(clusterWith("migrationsPerHost: many")));
        assertEquals("c.yaml:7: groups.web.failover.period: '9999999999999999h' is out of range (allowed: 1s..720h)",
                error(NODES + "groups:\n  web:\n    failover: {period: 9999999999999999h}\n    resources: {vm:"
                        + " {properties: {domain: web}}}\n"));
    }

    @Test
    void zeroIntervalsAndTimeoutsAreRefused() {
        assertEquals("c.yaml:8: groups.web.resources.vm.looksAlive: '0s' is out of range (allowed: 100ms..1h)",
                error(group("vm: {looksAlive: 0s, properties: {domain: web}}")));
        assertEquals("c.yaml:8: groups.web.resources.vm.isAlive: '0ms' is out of range (allowed: 100ms..24h)",
                error(group("vm: {isAlive: 0ms, properties: {domain: web}}")));
        assertEquals("c.yaml:8: groups.web.resources.vm.pendingTimeout: '0s' is out of range (allowed: 1s..24h)",
                error(group("vm: {pendingTimeout: 0s, properties: {domain: web}}")));
    }

    @Test
    void aVmNamesItsDomainOrDefinitionWithKnownPropertiesAndALegalName() {
        String none = group("vm: {type: vm}");
        assertEquals("c.yaml:8: groups.web.resources.vm.properties: a VM needs 'domain' (its libvirt domain, defined"
                + " on every possible owner) or 'definition' (its domain XML on shared storage), or both", error(none));
        // the simulator needs neither: it loads such a configuration, only real hosts refuse it
        assertEquals(1, ClusterConfigLoader.parse("c.yaml", none).spec().groups().size());
        assertEquals("c.yaml:8: groups.web.resources.vm.properties.domian: unknown field: did you mean 'domain'?"
                + " (allowed: definition, domain, stateDir, unsafeSharedStorage)",
                error(group("vm: {properties: {domian: web}}")));
        assertEquals("c.yaml:8: groups.web.resources.vm.properties.domain: 'bad/name' is not a libvirt domain name:"
                + " it contains '/' (libvirt refuses it: the name is a file name on every host)",
                error(group("vm: {properties: {domain: bad/name}}")));
        assertEquals("c.yaml:8: groups.web.resources.vm.properties.definition: 'web.xml' is not an absolute path (the"
                + " domain XML on storage every possible owner reads)",
                error(group("vm: {properties: {definition: web.xml}}")));
        assertEquals("c.yaml:8: groups.web.resources.vm.properties.unsafeSharedStorage: 'yes please' is not allowed"
                + " (allowed: true, false)", error(group("vm: {properties: {domain: web, unsafeSharedStorage: yes"
                + " please}}")));
        assertEquals("c.yaml:8: groups.web.resources.d.properties.x: unknown field (allowed: none)",
                error(group("d: {type: disk, disk: x, properties: {x: y}}")));
        assertEquals("c.yaml:8: groups.web.resources.s.properties: a script resource needs 'agent' (an OCF resource"
                + " agent, e.g. heartbeat/Filesystem) or 'script' (an absolute path to a Generic Script)",
                error(group("s: {type: script}")));
    }

    @Test
    void oneLibvirtDomainBelongsToOneResource() {
        assertEquals("c.yaml:9: groups.web2.resources.vm.properties.domain: libvirt domain 'web' is already web/vm's:"
                + " two resources would start, stop and move the same VM", error(NODES + """
                groups:
                  web:
                    resources: {vm: {properties: {domain: web}}}
                  web2:
                    resources: {vm: {properties: {domain: web}}}
                """));
        assertEquals("c.yaml:9: groups.web2.resources.vm.properties.domain: is not given, so the libvirt domain is the"
                + " resource's name 'vm', which is already web/vm's: name each VM's domain (properties.domain)",
                error(NODES + """
                groups:
                  web:
                    resources: {vm: {properties: {definition: /x.xml}}}
                  web2:
                    resources: {vm: {properties: {definition: /y.xml}}}
                """));
    }

    @Test
    void aGroupHasResourcesAndFitsOnSomeNode() {
        assertEquals("c.yaml:7: groups.web.resources: is empty: a group needs at least one resource",
                error(NODES + "groups:\n  web:\n    resources: {}\n"));
        assertEquals("c.yaml:8: groups.web.resources.vm.memoryMiB: VM vm (8192 MiB; group web needs 8256 MiB with"
                + " 64 MiB per VM of overhead, timers.perVmOverheadMiB) fits on no node: the largest it may run on,"
                + " host1, has 4096 MiB", error(group("vm: {memoryMiB: 8192, properties: {domain: web}}")));
        // the policy's tests and the simulator model a group that fits nowhere on purpose
        assertEquals(1, ClusterConfigLoader.parse("c.yaml", group("vm: {memoryMiB: 8192, properties: {domain: web}}"))
                .spec().groups().size());
        assertEquals("c.yaml:9: groups.web.resources.vm.memoryMiB: VM vm (3000 MiB; group web needs 3064 MiB with"
                + " 64 MiB per VM of overhead, timers.perVmOverheadMiB) fits on no node: the largest it may run on,"
                + " host2, has 2048 MiB", error(NODES + "groups:\n  web:\n    possibleOwners: [host2]\n    resources:\n"
                + "      vm: {memoryMiB: 3000, properties: {domain: web}}\n"));
    }

    @Test
    void racingTimersAreNamedWithTheirLine() {
        assertTrue(error(clusterWith("name: t\n  timers: {recoveryWithoutFence: 0s}"))
                .startsWith("c.yaml:3: timers race: "));
    }

    @Test
    void bootstrapAndPlaybookFilesAreReadTheSameWay() throws Exception {
        assertEquals(dir + ": is a directory, not a bootstrap file; the bootstrap file names this host's node,"
                + " cluster and zookeeper (see the README's production install)",
                assertThrows(InvalidInputException.class, () -> BootstrapLoader.load(dir)).getMessage());
        Path big = Files.writeString(dir.resolve("agent.yaml"), "#".repeat(2 * 1024 * 1024));
        assertTrue(assertThrows(InvalidInputException.class, () -> BootstrapLoader.load(big)).getMessage()
                .startsWith(big + ": is 2097152 bytes: a bootstrap is at most 1048576 bytes"));
        assertEquals("b.yaml:3: sessionTimeout: '99999999999999999999s' is out of range (allowed: 2s..2m)",
                assertThrows(InvalidInputException.class, () -> BootstrapLoader.parse("b.yaml",
                        "cluster: prod\nzookeeper: 'zk1:2181'\nsessionTimeout: 99999999999999999999s\n"))
                        .getMessage());
    }
}
