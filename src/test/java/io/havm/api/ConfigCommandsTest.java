package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.FreePorts;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ConfigStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The configuration in the cluster store, through the command line, on a real ZooKeeper: init,
 * apply (diff, effects, dry run, conflicts), show, diff, history, rollback, and bad input refused
 * with nothing stored. (What the running cluster does with a version: the simulator's
 * config-apply-live scenario and ConfigIT on the lab.)
 */
class ConfigCommandsTest {
    @TempDir
    Path dir;
    EmbeddedZooKeeper zk;
    ByteArrayOutputStream out;
    ByteArrayOutputStream err;

    @BeforeEach
    void start() {
        zk = EmbeddedZooKeeper.standalone("127.0.0.1", FreePorts.pick(1)[0], dir.resolve("zk"),
                EmbeddedZooKeeper.Settings.FAST).start();
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

    private Path config(String name, String groups) throws Exception {
        String y = "cluster:\n  name: cfgtest\n  zookeeper: '" + zk.connectString() + "'\n  nodes:\n"
                + "    - {name: n1, uri: 'test:///default', memoryMiB: 4096}\n"
                + "    - {name: n2, uri: 'test:///default', memoryMiB: 4096}\n"
                + "groups:\n" + groups;
        return Files.writeString(dir.resolve(name), y);
    }

    private static String group(String name, int mem) {
        return "  " + name + ":\n    resources:\n      " + name + "-vm: {type: vm, properties: {domain: " + name + "}, memoryMiB: " + mem
                + "}\n";
    }

    private ConfigStore.Version stored() {
        try (ZkCoordination c = new ZkCoordination(zk.connectString(), "/havm/cfgtest", Duration.ofSeconds(4),
                Duration.ofSeconds(4))) {
            return new ConfigStore(c).current().orElseThrow();
        }
    }

    @Test
    void initApplyShowDiffHistoryRollback() throws Exception {
        Path v1 = config("cluster.yaml", group("web", 256));
        assertEquals(0, run("cluster", "init", "--config", v1.toString()), err());
        assertTrue(out().contains("stored configuration version 1 of cluster cfgtest"), out());
        assertEquals(2, run("cluster", "init", "--config", v1.toString()));
        assertTrue(err().contains("already has configuration version 1 (change it with havm config apply"), err());

        assertEquals(0, run("config", "diff", v1.toString()), err());
        assertTrue(out().contains("no differences: " + v1 + " is configuration version 1"), out());

        Path v2 = config("v2.yaml", group("web", 512) + group("app", 256));
        assertEquals(1, run("config", "diff", v2.toString()));
        assertTrue(out().contains("-      web-vm: {type: vm, properties: {domain: web}, memoryMiB: 256}"), out());
        assertTrue(out().contains("+      web-vm: {type: vm, properties: {domain: web}, memoryMiB: 512}"), out());

        assertEquals(0, run("config", "apply", v2.toString(), "--dry-run"), err());
        assertTrue(out().contains("will: group app: added, placed and brought online"), out());
        assertTrue(out().contains("will: group web: changed (its resources take the new definition at its next online)"),
                out());
        assertTrue(out().contains("dry run: nothing stored (version 1 stays in force)"), out());
        assertEquals(1, stored().number());

        assertEquals(0, run("config", "apply", v2.toString(), "--comment", "app"), err());
        assertTrue(out().contains("stored configuration version 2 (was 1)"), out());
        assertEquals(2, stored().number());
        assertEquals(0, run("config", "apply", v2.toString()), err());
        assertTrue(out().contains("no change: " + v2 + " is configuration version 2"), out());

        assertEquals(0, run("config", "show", "--config", v2.toString()), err());
        assertTrue(out().startsWith("# v2.yaml (configuration version 2)\n"), out());
        assertTrue(out().contains("app-vm: {type: vm, properties: {domain: app}, memoryMiB: 256}"), out());
        assertEquals(0, run("config", "show", "--version", "1", "--config", v2.toString()), err());
        assertFalse(out().contains("app-vm"), out());
        // --into writes the version's files, to edit and apply again; never over existing files
        Path into = dir.resolve("in-force");
        assertEquals(0, run("config", "show", "--into", into.toString(), "--config", v2.toString()), err());
        assertEquals(java.nio.file.Files.readString(v2), java.nio.file.Files.readString(into.resolve("v2.yaml")));
        assertEquals(0, run("config", "apply", into.resolve("v2.yaml").toString()), err());
        assertTrue(out().contains("no change: "), out());
        assertEquals(2, run("config", "show", "--into", into.toString(), "--config", v2.toString()));
        assertTrue(err().contains("is not empty: name a new or empty directory (nothing written)"), err());

        assertEquals(0, run("config", "history", "--config", v2.toString()), err());
        List<String> lines = out().lines().toList();
        assertEquals(2, lines.size(), out());
        assertTrue(lines.get(0).startsWith("     1  ") && lines.get(0).endsWith("cluster init"), lines.get(0));
        assertTrue(lines.get(1).startsWith("*    2  ") && lines.get(1).endsWith("app"), lines.get(1));

        // Rollback is a new version with version 1's files; with no coordinator state, app is offline.
        assertEquals(0, run("config", "rollback", "1", "--config", v2.toString()), err());
        assertTrue(out().contains("will: group app: removed (it is offline)"), out());
        assertTrue(out().contains("stored configuration version 3 (was 2)"), out());
        assertEquals(stored().files().values().iterator().next(), Files.readString(v1));
        assertEquals(2, run("config", "rollback", "9", "--config", v2.toString()));
        assertTrue(err().contains("there is no configuration version 9 (stored: [1, 2, 3])"), err());
    }

    @Test
    void fragmentsAreStoredWithTheMainFile() throws Exception {
        Path main = config("cluster.yaml", group("web", 256));
        Files.createDirectories(dir.resolve("cluster.d"));
        Files.writeString(dir.resolve("cluster.d/gc.yaml"), "groups:\n" + group("gc-1", 256));
        assertEquals(0, run("cluster", "init", "--config", main.toString()), err());
        assertEquals(List.of("cluster.yaml", "cluster.d/gc.yaml"), List.copyOf(stored().files().keySet()));
        Files.delete(dir.resolve("cluster.d/gc.yaml"));
        assertEquals(1, run("config", "diff", main.toString()));
        assertTrue(out().contains("--- version 1/cluster.d/gc.yaml"), out());
        assertEquals(0, run("config", "apply", main.toString()), err());
        assertTrue(out().contains("will: group gc-1: removed (it is offline)"), out());
        assertEquals(List.of("cluster.yaml"), List.copyOf(stored().files().keySet()));
    }

    @Test
    void badInputIsRefusedAndNothingIsStored() throws Exception {
        Path v1 = config("cluster.yaml", group("web", 256));
        assertEquals(0, run("cluster", "init", "--config", v1.toString()), err());
        Path bad = Files.writeString(dir.resolve("bad.yaml"), Files.readString(v1).replace("memoryMiB: 256",
                "memoryMiB: lots"));
        assertEquals(2, run("config", "apply", bad.toString()));
        assertTrue(err().contains("bad.yaml:"), err());
        assertTrue(err().contains("memoryMiB"), err());
        Path renamed = Files.writeString(dir.resolve("renamed.yaml"), Files.readString(v1).replace("name: cfgtest",
                "name: other"));
        assertEquals(2, run("config", "apply", renamed.toString()));
        assertTrue(err().contains("the cluster has no configuration yet"), err()); // 'other' is another cluster
        Path session = Files.writeString(dir.resolve("session.yaml"), Files.readString(v1).replace("  nodes:\n",
                "  timers: {sessionTimeout: 4s}\n  nodes:\n"));
        assertEquals(2, run("config", "apply", session.toString(), "--force"));
        assertTrue(err().contains("refused, nothing stored:"), err());
        assertTrue(err().contains("cluster.timers.sessionTimeout: 3000 ms -> 4000 ms: every ZooKeeper session was"
                + " made with it"), err());
        assertEquals(2, run("config", "show", "--version", "x", "--config", v1.toString()));
        assertTrue(err().contains("'x' is not a version number"), err());
        assertEquals(2, run("config", "frobnicate"));
        assertTrue(err().contains("unknown subcommand 'frobnicate' (allowed: check, apply, diff, show, history,"
                + " rollback)"), err());
        assertEquals(1, stored().number());
    }

    @Test
    void aBootstrapFileFindsTheCluster() throws Exception {
        Path v1 = config("cluster.yaml", group("web", 256));
        Path boot = Files.writeString(dir.resolve("agent.yaml"), "node: n1\ncluster: cfgtest\nzookeeper: '"
                + zk.connectString() + "'\n");
        Files.writeString(v1, Files.readString(v1).replaceAll("  zookeeper: .*\n", ""));
        assertEquals(0, run("cluster", "init", "--config", v1.toString(), "--bootstrap", boot.toString()), err());
        assertEquals(0, run("config", "history", "--bootstrap", boot.toString()), err());
        assertTrue(out().startsWith("*    1  "), out());
        Path wrong = Files.writeString(dir.resolve("wrong.yaml"), "node: n1\ncluster: nope\nzookeeper: '"
                + zk.connectString() + "'\n");
        assertEquals(2, run("config", "apply", v1.toString(), "--bootstrap", wrong.toString()));
        assertTrue(err().contains("cluster.name: is 'cfgtest' but " + wrong + " says this host's cluster is 'nope'"),
                err());
    }

    /** stdout as exactly one JSON document on one line (what --json promises scripts). */
    static JsonNode oneDocument(String stdout) throws Exception {
        assertTrue(stdout.endsWith("\n") && stdout.indexOf('\n') == stdout.length() - 1, "one line: " + stdout);
        ObjectMapper m = new ObjectMapper();
        List<JsonNode> docs = m.readerFor(JsonNode.class).<JsonNode>readValues(stdout).readAll();
        assertEquals(1, docs.size(), stdout);
        assertTrue(docs.get(0).isObject(), stdout);
        return docs.get(0);
    }

    private static List<String> texts(JsonNode array) {
        List<String> l = new java.util.ArrayList<>();
        array.forEach(n -> l.add(n.asText()));
        return l;
    }

    @Test
    void initApplyDiffAndRollbackSayEverythingAsOneJsonDocument() throws Exception {
        Path v1 = config("cluster.yaml", group("web", 256));
        assertEquals(0, run("cluster", "init", "--config", v1.toString(), "--json", "--comment", "first"), err());
        JsonNode init = oneDocument(out());
        assertEquals("cfgtest", init.get("cluster").asText());
        assertEquals(1, init.get("version").asLong());
        assertTrue(init.get("replaced").isNull(), out());
        assertEquals(List.of("cluster.yaml"), texts(init.get("files")));
        assertTrue(init.get("bytes").asLong() > 0, out());
        assertEquals("first", init.get("comment").asText());
        assertTrue(init.get("warnings").size() > 0, out()); // e.g. no fence agents: in the document, not on stderr
        assertEquals("", err());
        assertEquals(2, run("cluster", "init", "--config", v1.toString(), "--json"));
        assertEquals("", out(), "an error prints nothing on stdout");
        assertTrue(err().contains("already has configuration version 1"), err());

        assertEquals(0, run("config", "diff", v1.toString(), "--json"), err());
        JsonNode same = oneDocument(out());
        assertTrue(same.get("same").asBoolean());
        assertEquals(1, same.get("version").asLong());
        assertEquals(0, same.get("changes").size());

        Path v2 = config("v2.yaml", group("web", 512) + group("app", 256));
        assertEquals(1, run("config", "diff", v2.toString(), "--json"), "differs: exit 1, as the text");
        JsonNode diff = oneDocument(out());
        assertFalse(diff.get("same").asBoolean());
        assertEquals(v2.toString(), diff.get("source").asText());
        JsonNode c = diff.get("changes").get(0);
        assertEquals("v2.yaml", c.get("file").asText());
        assertEquals("cluster.yaml", c.get("storedFile").asText());
        assertEquals("changed", c.get("change").asText());
        assertEquals(4, c.get("linesAdded").asInt(), out()); // web's new line and app's three
        assertEquals(1, c.get("linesRemoved").asInt(), out());
        assertTrue(texts(c.get("diff")).contains("+      web-vm: {type: vm, properties: {domain: web}, memoryMiB: 512}"),
                out());
        // the text is the same diff, line for line
        assertEquals(1, run("config", "diff", v2.toString()));
        assertEquals(String.join("\n", texts(c.get("diff"))) + "\n", out());

        assertEquals(0, run("config", "apply", v2.toString(), "--dry-run", "--json"), err());
        JsonNode dry = oneDocument(out());
        assertTrue(dry.get("dryRun").asBoolean());
        assertFalse(dry.get("stored").asBoolean());
        assertEquals(1, dry.get("version").asLong());
        assertTrue(texts(dry.get("effects")).contains("group app: added, placed and brought online"), out());
        assertEquals(1, dry.get("changes").size());
        assertEquals(1, stored().number());

        assertEquals(0, run("config", "apply", v2.toString(), "--comment", "app", "--json"), err());
        JsonNode applied = oneDocument(out());
        assertTrue(applied.get("stored").asBoolean());
        assertEquals(1, applied.get("was").asLong());
        assertEquals(2, applied.get("version").asLong());
        assertEquals("app", applied.get("comment").asText());
        assertEquals(2, applied.get("effects").size(), out());
        assertEquals(2, stored().number());
        assertEquals(0, run("config", "apply", v2.toString(), "--json"), err());
        JsonNode none = oneDocument(out());
        assertFalse(none.get("stored").asBoolean());
        assertEquals(0, none.get("changes").size());
        assertEquals(2, none.get("version").asLong());

        // refused: nothing on stdout, the reasons on stderr, nothing stored
        Path session = Files.writeString(dir.resolve("session.yaml"), Files.readString(v2).replace("  nodes:\n",
                "  timers: {sessionTimeout: 4s}\n  nodes:\n"));
        assertEquals(2, run("config", "apply", session.toString(), "--force", "--json"));
        assertEquals("", out());
        assertTrue(err().contains("refused, nothing stored:"), err());

        assertEquals(0, run("config", "rollback", "1", "--config", v2.toString(), "--json"), err());
        JsonNode back = oneDocument(out());
        assertEquals("version 1", back.get("source").asText());
        assertEquals(3, back.get("version").asLong());
        assertEquals("rollback to version 1", back.get("comment").asText());
        assertTrue(texts(back.get("effects")).contains("group app: removed (it is offline)"), out());
        assertEquals(3, stored().number());
        assertEquals(2, run("config", "rollback", "9", "--config", v2.toString(), "--json"));
        assertEquals("", out());
    }

    @Test
    void secureSaysHowManyZnodesItLockedAsJson() throws Exception {
        Path v1 = config("cluster.yaml", group("web", 256));
        assertEquals(0, run("cluster", "init", "--config", v1.toString()), err());
        Path creds = Files.writeString(dir.resolve("zk.secret"), "havm:s3cret\n");
        Files.setPosixFilePermissions(creds, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path boot = Files.writeString(dir.resolve("agent.yaml"), "node: n1\ncluster: cfgtest\nzookeeper: '"
                + zk.connectString() + "'\ncredentials: " + creds + "\n");
        assertEquals(0, run("cluster", "secure", "--bootstrap", boot.toString(), "--json"), err());
        JsonNode d = oneDocument(out());
        assertEquals("cfgtest", d.get("cluster").asText());
        assertEquals("/havm/cfgtest", d.get("root").asText());
        assertTrue(d.get("znodesSecured").asInt() > 1, out());
        assertEquals(0, run("cluster", "secure", "--bootstrap", boot.toString(), "--json"), err());
        assertEquals(0, oneDocument(out()).get("znodesSecured").asInt(), "a second run has nothing to do");
    }
}
