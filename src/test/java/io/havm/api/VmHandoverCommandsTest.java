package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.FreePorts;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * havm vm import and vm release with --json, on a real ZooKeeper and libvirt's test driver (one file
 * per node: web runs on h1, its disk in the cluster's shared-dir pool). No agent runs, so the import
 * stores its version but is not adopted; the release finds no coordinator state and completes.
 */
class VmHandoverCommandsTest {
    @TempDir
    Path dir;
    EmbeddedZooKeeper zk;
    ByteArrayOutputStream out;
    ByteArrayOutputStream err;
    Path cfg;

    @BeforeEach
    void start() throws Exception {
        zk = EmbeddedZooKeeper.standalone("127.0.0.1", FreePorts.pick(1)[0], dir.resolve("zk"),
                EmbeddedZooKeeper.Settings.FAST).start();
        Path pool = Files.createDirectories(dir.resolve("pool"));
        Files.writeString(pool.resolve("web.qcow2"), "d");
        Path h1 = Files.writeString(dir.resolve("h1.xml"), "<node><domain type='test'><name>web</name>"
                + "<memory>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices><disk type='file'"
                + " device='disk'><driver name='qemu' type='qcow2'/><source file='" + pool.resolve("web.qcow2")
                + "'/><target dev='vda' bus='virtio'/></disk></devices></domain></node>");
        Path h2 = Files.writeString(dir.resolve("h2.xml"), "<node></node>");
        cfg = Files.writeString(dir.resolve("cluster.yaml"), "cluster:\n  name: imp\n  zookeeper: '"
                + zk.connectString() + "'\n  nodes:\n"
                + "    - {name: h1, uri: 'test://" + h1 + "', memoryMiB: 4096}\n"
                + "    - {name: h2, uri: 'test://" + h2 + "', memoryMiB: 4096}\n"
                + "storage:\n  pools:\n    shared: {type: shared-dir, path: " + pool + "}\n"
                + "groups:\n  old:\n    resources:\n      vm: {type: vm, properties: {domain: old}, memoryMiB: 256}\n");
        assertEquals(0, run("cluster", "init", "--config", cfg.toString()), err());
    }

    @AfterEach
    void stop() {
        zk.close();
    }

    private int run(String... args) {
        out = new ByteArrayOutputStream();
        err = new ByteArrayOutputStream();
        return new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(List.of(args));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void importAndReleaseSayWhatTheyStoredAsOneJsonDocument() throws Exception {
        Path definition = dir.resolve("pool/definitions/web.xml");
        assertEquals(0, run("vm", "import", "web", "--host", "h1", "--dry-run", "--json", "--config", cfg.toString()),
                err());
        JsonNode dry = ConfigCommandsTest.oneDocument(out());
        assertEquals("web", dry.get("domain").asText());
        assertEquals("h1", dry.get("host").asText());
        assertEquals("web", dry.get("group").asText());
        assertEquals("cluster.d/vm-web.yaml", dry.get("fragment").asText());
        assertTrue(dry.get("fragmentText").asText().contains("web"), out());
        assertEquals(definition.toString(), dry.get("definition").asText());
        assertTrue(dry.get("notes").isArray());
        assertTrue(dry.get("dryRun").asBoolean());
        assertFalse(dry.get("stored").asBoolean());
        assertEquals(1, dry.get("version").asLong());
        assertFalse(Files.exists(definition));

        // no agent adopts it here: the version is stored, the group not adopted (exit 1, why on stderr)
        assertEquals(1, run("vm", "import", "web", "--host", "h1", "--timeout", "1", "--json", "--config",
                cfg.toString()));
        JsonNode imp = ConfigCommandsTest.oneDocument(out());
        assertTrue(imp.get("stored").asBoolean());
        assertEquals(1, imp.get("was").asLong());
        assertEquals(2, imp.get("version").asLong());
        assertFalse(imp.get("adopted").asBoolean());
        assertTrue(imp.get("phase").isNull(), out());
        assertTrue(err().contains("group web is not in the coordinator's state after 1 s"), err());
        assertTrue(Files.exists(definition));

        assertEquals(0, run("vm", "release", "web", "--json", "--config", cfg.toString()), err());
        JsonNode rel = ConfigCommandsTest.oneDocument(out());
        assertEquals("web", rel.get("group").asText());
        assertEquals("cluster.d/vm-web.yaml", rel.get("fragment").asText());
        assertEquals(2, rel.get("was").asLong());
        assertEquals(3, rel.get("version").asLong());
        assertTrue(rel.get("released").asBoolean());
        assertTrue(rel.get("runningOn").isNull(), "no coordinator state: where it runs is not known");
        assertEquals(definition.toString(), rel.get("removed").get(0).asText());
        assertFalse(Files.exists(definition));

        assertEquals(2, run("vm", "release", "web", "--json", "--config", cfg.toString()));
        assertEquals("", out(), "bad input: nothing on stdout");
        assertTrue(err().contains("no group 'web' in configuration version 3"), err());
        assertEquals(2, run("vm", "import", "nope", "--host", "h1", "--json", "--config", cfg.toString()));
        assertEquals("", out());
    }
}
