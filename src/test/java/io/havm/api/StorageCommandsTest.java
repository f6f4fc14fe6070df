package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.util.Exec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** havm storage check|create: 0 fine, 1 problems (one line each), 2 bad input with nothing created. */
class StorageCommandsTest {
    @TempDir
    Path dir;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        out.reset();
        err.reset();
        return new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(List.of(args));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private Path pool() {
        return dir.resolve("pool");
    }

    /** Two nodes; web (host1 only) uses web-os and web-data, db (any node) uses db-os; scratch is in no group. */
    private Path config(String extraPools) throws Exception {
        Files.createDirectories(pool());
        return Files.writeString(dir.resolve("cluster.yaml"), """
                cluster:
                  nodes:
                    - {name: host1, uri: qemu+tcp://10.77.0.11/system}
                    - {name: host2, uri: qemu+tcp://10.77.0.12/system}
                storage:
                  pools:
                    shared: {type: shared-dir, path: POOL}
                EXTRA
                  disks:
                    web-os: {pool: shared, volume: web.qcow2, size: 64M}
                    web-data: {pool: shared, format: raw, size: 1M}
                    db-os: {pool: shared, size: 1M}
                    scratch: {pool: shared, size: 1M}
                groups:
                  web:
                    possibleOwners: [host1]
                    resources:
                      os: {type: disk, disk: web-os}
                      data: {type: disk, disk: web-data}
                      vm: {type: vm, disks: [os, data]}
                  db:
                    resources:
                      os: {type: disk, disk: db-os}
                """.replace("POOL", pool().toString()).replace("EXTRA\n", extraPools));
    }

    private List<String> poolFiles() throws Exception {
        try (var s = Files.list(pool())) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void createMakesTheMissingVolumesThenCheckIsHappy() throws Exception {
        String cfg = config("").toString();
        assertEquals(1, run("storage", "check", "--config", cfg, "--node", "host2"), err());
        assertEquals("host2: disk db-os (pool shared): volume " + pool().resolve("db-os.qcow2")
                + " does not exist (havm storage create makes it)\n", out(), "host2 may own db only");

        assertEquals(0, run("storage", "create", "--config", cfg), out() + err());
        assertEquals(List.of("db-os.qcow2", "scratch.qcow2", "web-data.raw", "web.qcow2"), poolFiles());
        assertTrue(out().contains("created web-os: " + pool().resolve("web.qcow2") + " (qcow2, 64M)\n"), out());
        assertTrue(out().contains("created web-data: " + pool().resolve("web-data.raw") + " (raw, 1M)\n"), out());

        assertEquals(0, run("storage", "create", "--config", cfg, "web-os"), out() + err());
        assertEquals("exists  web-os: " + pool().resolve("web.qcow2") + " (qcow2, 64M)\n", out());

        assertEquals(0, run("storage", "check", "--config", cfg, "--node", "host1"), out() + err());
        assertEquals("ok: host1: pools shared; disks db-os, web-data, web-os\n", out());

        assertEquals(0, run("storage", "check", "--config", cfg, "--node", "host2", "--json"), out() + err());
        JsonNode j = new ObjectMapper().readTree(out());
        assertEquals("host2", j.get("node").asText());
        assertTrue(j.get("ok").asBoolean());
        assertEquals("[\"db-os\"]", j.get("disks").toString());
    }

    @Test
    void checkPrintsOneLinePerProblemAndExits1() throws Exception {
        String cfg = config("").toString();
        run("storage", "create", "--config", cfg, "web-os");
        Exec.run(Duration.ofSeconds(30), List.of("qemu-img", "create", "-q", "-f", "qcow2",
                pool().resolve("web-data.raw").toString(), "1M")).orThrow();
        assertEquals(1, run("storage", "check", "--config", cfg, "--node", "host1"));
        assertEquals("host1: disk db-os (pool shared): volume " + pool().resolve("db-os.qcow2")
                + " does not exist (havm storage create makes it)\n"
                + "host1: disk web-data (pool shared): volume " + pool().resolve("web-data.raw")
                + " is qcow2, expected raw\n", out());
        assertEquals(1, run("storage", "check", "--config", cfg, "--node", "host1", "--json"));
        JsonNode j = new ObjectMapper().readTree(out());
        assertEquals(2, j.get("problems").size());
        assertEquals("web-data", j.get("problems").get(1).get("disk").asText());
        assertEquals("shared", j.get("problems").get(1).get("pool").asText());
    }

    @Test
    void createRefusesAnExistingVolumeOfTheWrongFormat() throws Exception {
        String cfg = config("").toString();
        Exec.run(Duration.ofSeconds(30), List.of("qemu-img", "create", "-q", "-f", "raw",
                pool().resolve("web.qcow2").toString(), "64M")).orThrow();
        assertEquals(1, run("storage", "create", "--config", cfg, "web-os"));
        assertEquals("exists  web-os: " + pool().resolve("web.qcow2") + " (qcow2, 64M)\n"
                + "here: disk web-os (pool shared): volume " + pool().resolve("web.qcow2") + " is raw, expected qcow2\n",
                out());
    }

    @Test
    void badInputIsRefusedWithExit2AndNothingCreated() throws Exception {
        String cfg = config("").toString();
        assertEquals(2, run("storage", "create", "--config", cfg, "web-os", "web-oss"));
        assertTrue(err().contains("havm storage create: unknown disk 'web-oss' (storage.disks: db-os, scratch,"
                + " web-data, web-os)"), err());
        assertEquals(List.of(), poolFiles(), "nothing created, not even web-os");

        assertEquals(2, run("storage", "check", "--config", cfg));
        assertTrue(err().contains("havm storage check: option --node is required: which node this host is decides the"
                + " disks it needs (nodes: host1, host2;"), err());
        assertEquals(2, run("storage", "check", "--config", cfg, "--node", "host9"));
        assertTrue(err().contains("--node: unknown node 'host9' (nodes: host1, host2)"), err());
        assertEquals(2, run("storage", "check", "--node", "host1"));
        assertTrue(err().contains("option --config is required"), err());
        assertEquals(2, run("storage", "frob"));
        assertTrue(err().contains("havm storage: unknown subcommand 'frob' (allowed: check, create)"), err());
        assertEquals(2, run("storage"));
        assertEquals(2, run("storage", "check", "--config", cfg, "--node", "host1", "--jsn"));
        assertTrue(err().contains("unknown option '--jsn'"), err());

        Path bad = Files.writeString(dir.resolve("bad.yaml"), Files.readString(Path.of(cfg))
                .replace("size: 64M", "size: 64 megs"));
        assertEquals(2, run("storage", "check", "--config", bad.toString(), "--node", "host1"));
        assertTrue(err().contains(bad + ":9: storage.disks.web-os.size: '64 megs' is not a size"), err());
        assertEquals(List.of(), poolFiles());
    }

    @Test
    void aSingleNodeConfigurationNeedsNoNodeOption() throws Exception {
        Path cfg = Files.writeString(dir.resolve("one.yaml"), """
                cluster:
                  nodes:
                    - {name: solo, uri: qemu:///system}
                groups:
                  web:
                    resources:
                      vm: {type: vm}
                """);
        assertEquals(0, run("storage", "check", "--config", cfg.toString()), err());
        assertEquals("ok: solo: no storage pools; no disks for its groups\n", out());
        assertEquals(0, run("storage", "create", "--config", cfg.toString()), err());
        assertEquals("ok: no disks in the configuration\n", out());
    }

    @Test
    void aLunThatDoesNotAnswerStopsCreateBeforeAnythingIsMade() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String cfg = config("    lab: {type: iscsi, portal: 127.0.0.1:" + closed
                + ", target: iqn.2026-11.io.havm:unit}\n").toString();
        Files.writeString(Path.of(cfg), Files.readString(Path.of(cfg)).replace("  disks:\n",
                "  disks:\n    web-lun: {pool: lab, lun: 1}\n"));
        assertEquals(1, run("storage", "create", "--config", cfg), out() + err());
        assertTrue(out().startsWith("here: pool lab (iscsi 127.0.0.1:" + closed
                + " iqn.2026-11.io.havm:unit): discovery failed: "), out());
        assertTrue(out().endsWith("nothing created\n"), out());
        assertEquals(List.of(), poolFiles());
    }

    @Test
    void createSaysWhatItMadeAsOneJsonDocument() throws Exception {
        String cfg = config("").toString();
        assertEquals(0, run("storage", "create", "--config", cfg, "--json", "web-os", "web-data"), out() + err());
        JsonNode j = ConfigCommandsTest.oneDocument(out());
        assertTrue(j.get("ok").asBoolean());
        assertEquals(0, j.get("problems").size());
        JsonNode os = j.get("disks").get(0);
        assertEquals("web-os", os.get("disk").asText());
        assertEquals("shared", os.get("pool").asText());
        assertEquals("created", os.get("action").asText());
        assertEquals(pool().resolve("web.qcow2").toString(), os.get("file").asText());
        assertEquals("qcow2", os.get("format").asText());
        assertEquals(64L << 20, os.get("sizeBytes").asLong());
        assertEquals("raw", j.get("disks").get(1).get("format").asText());
        assertEquals(List.of("web-data.raw", "web.qcow2"), poolFiles());

        assertEquals(0, run("storage", "create", "--config", cfg, "web-os", "--json"), out() + err());
        assertEquals("exists", ConfigCommandsTest.oneDocument(out()).get("disks").get(0).get("action").asText());

        // a volume there already that is not what the configuration says: in the document's problems, exit 1
        Exec.run(Duration.ofSeconds(30), List.of("qemu-img", "create", "-q", "-f", "raw",
                pool().resolve("db-os.qcow2").toString(), "1M")).orThrow();
        assertEquals(1, run("storage", "create", "--config", cfg, "db-os", "--json"));
        JsonNode bad = ConfigCommandsTest.oneDocument(out());
        assertFalse(bad.get("ok").asBoolean());
        assertEquals("db-os", bad.get("problems").get(0).get("disk").asText());
        assertTrue(bad.get("problems").get(0).get("message").asText().endsWith("is raw, expected qcow2"), out());

        assertEquals(2, run("storage", "create", "--config", cfg, "nope", "--json"));
        assertEquals("", out(), "bad input: nothing on stdout");
        assertTrue(err().contains("unknown disk 'nope'"), err());
    }
}
