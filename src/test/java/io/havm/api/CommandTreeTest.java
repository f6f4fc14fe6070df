package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import io.havm.util.CommandTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command tree: --help everywhere, help COMMAND, completion, --json, and the user's relative paths. */
class CommandTreeTest {
    @TempDir
    Path dir;

    record Ran(int code, String out, String err) {}

    private static Ran run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(List.of(args));
        return new Ran(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Every command of the tree, as the words that name it ([] is havm itself). */
    private static List<List<String>> paths(CommandLine c, List<String> prefix) {
        List<List<String>> all = new ArrayList<>();
        all.add(prefix);
        c.getSubcommands().forEach((name, sub) -> {
            List<String> p = new ArrayList<>(prefix);
            p.add(name);
            all.addAll(paths(sub, p));
        });
        return all;
    }

    private static List<List<String>> commands() {
        return paths(CommandTree.build(), List.of()).stream().filter(p -> !p.isEmpty()).toList();
    }

    @Test
    void everyCommandAndSubcommandAnswersHelpWithWhatItDoes() {
        List<List<String>> all = commands();
        assertTrue(all.size() > 50, "the tree has every command: " + all.size());
        for (List<String> path : all) {
            for (String flag : List.of("--help", "-h")) {
                List<String> argv = new ArrayList<>(path);
                argv.add(flag);
                Ran r = run(argv.toArray(String[]::new));
                String what = String.join(" ", argv);
                assertEquals(0, r.code(), what + ": " + r.err());
                assertEquals("", r.err(), what + " says nothing on stderr");
                assertTrue(r.out().startsWith("Usage: havm " + String.join(" ", path)), what + ":\n" + r.out());
                String description = CommandTree.walk(CommandTree.build(), path).command().getCommandSpec()
                        .usageMessage().description()[0];
                assertFalse(description.isBlank(), what + " has a description");
                assertTrue(r.out().contains(description.substring(0, Math.min(30, description.length()))),
                        what + " says what it does:\n" + r.out());
            }
            List<String> help = new ArrayList<>(List.of("help"));
            help.addAll(path);
            Ran h = run(help.toArray(String[]::new));
            assertEquals(0, h.code(), help + ": " + h.err());
            assertEquals(run(withHelp(path)).out(), h.out(), "havm help " + path + " = " + path + " --help");
        }
    }

    private static String[] withHelp(List<String> path) {
        List<String> argv = new ArrayList<>(path);
        argv.add("--help");
        return argv.toArray(String[]::new);
    }

    @Test
    void havmItselfAnswersHelpAndVersion() {
        Ran h = run("--help");
        assertEquals(0, h.code());
        assertEquals("", h.err());
        assertTrue(h.out().contains("completion bash") && h.out().contains("COMMAND [SUBCOMMAND] --help"), h.out());
        Ran v = run("--version");
        assertEquals(0, v.code());
        assertTrue(v.out().matches("havm \\S+\n"), v.out());
    }

    @Test
    void helpAfterArgumentsStillAnswersAndChangesNothing() {
        Ran r = run("group", "move", "web", "--to", "kvm2", "--config", "nowhere.yaml", "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Usage: havm group move G --to N [--mode M] --config F [--json]"), r.out());
        assertTrue(r.out().contains("--mode M"), r.out());
        // after "--" the words are a command's own (lab exec HOST -- CMD --help)
        assertTrue(CommandTree.answer(List.of("lab", "exec", "h1", "--", "virsh", "--help"), System.out).isEmpty(),
                "ci/lab runs it");
    }

    @Test
    void unknownCommandsKeepTheirMessageAndSayWhatTheyResemble() {
        Ran r = run("stauts", "--config", "c.yaml");
        assertEquals(2, r.code());
        assertEquals("havm: havm: unknown command 'stauts' (commands: demo, bench, lab, vm, resource, cluster, config,"
                + " storage, sim, drill, agent, zookeeper, status, events, group, node, guest-cluster, validate,"
                + " completion, help); did you mean status?", r.err().strip());
        assertEquals("", r.out());
        Ran v = run("vm", "stauts", "x.yaml");
        assertEquals(2, v.code());
        assertTrue(v.err().contains("unknown subcommand 'stauts' (allowed: create, move, recover, status, remove, import,"
                + " release); did you mean status?"), v.err());
        Ran h = run("help", "vm", "frob");
        assertEquals(2, h.code());
        assertEquals("havm: havm help: unknown command 'vm frob' (havm vm's subcommands: create, move, recover, status,"
                + " remove, import, release)", h.err().strip());
        Ran c = run("completion", "fish");
        assertEquals(2, c.code());
        assertTrue(c.err().contains("unknown shell 'fish' (allowed: bash)"), c.err());
        Ran o = run("status", "--jsn", "--config", "c.yaml");
        assertEquals(2, o.code());
        assertEquals("havm: havm status: unknown option '--jsn' (allowed: --config, --json; usage: havm status --config"
                + " cluster.yaml [--json]): did you mean '--json'?", o.err().strip());
        assertFalse((r.err() + v.err() + h.err() + c.err() + o.err()).contains("\tat "), "no stack trace");
    }

    /**
     * The tree's options (help, completion) and each command's own parser (its "allowed:" list)
     * name the same options: an unknown option makes the parser list them.
     */
    @Test
    void theTreeAndEachCommandsParserAgreeOnItsOptions() {
        Set<String> skipped = Set.of("lab", "completion", "help"); // ci/lab's own; no options
        Pattern allowed = Pattern.compile("unknown option '--zz-nothing' \\(allowed: ([^;]*);");
        int compared = 0;
        for (List<String> path : commands()) {
            CommandLine c = CommandTree.walk(CommandTree.build(), path).command();
            if (skipped.contains(path.get(0)) || !c.getSubcommands().isEmpty()) {
                continue;
            }
            List<String> argv = new ArrayList<>(path);
            argv.add("--zz-nothing");
            // demo and bench are the lab's own commands (io.havm.lab.LabMain, which ./havm sends them to)
            Ran r = Set.of("demo", "bench").contains(path.get(0)) ? runLab(argv) : run(argv.toArray(String[]::new));
            assertEquals(2, r.code(), argv + ": " + r.err());
            Matcher m = allowed.matcher(r.err());
            assertTrue(m.find(), argv + ": " + r.err());
            Set<String> parser = new TreeSet<>(Arrays.asList(m.group(1).split(", ")));
            parser.remove("none");
            Set<String> tree = new TreeSet<>();
            c.getCommandSpec().options().forEach(o -> tree.add(o.longestName()));
            tree.remove("--help");
            assertEquals(parser, tree, String.join(" ", path) + ": the tree's options and the parser's");
            compared++;
        }
        assertTrue(compared > 30, "compared " + compared);
    }

    private static Ran runLab(List<String> argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new io.havm.lab.LabMain(Path.of("").toAbsolutePath(), new PrintStream(out, true,
                StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)).run(argv);
        return new Ran(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theLabsOwnCommandsAnswerHelpThere() {
        for (List<String> argv : List.of(List.of("demo", "--help"), List.of("bench", "scale", "-h"),
                List.of("drill", "run", "--help"))) {
            Ran r = runLab(argv);
            assertEquals(0, r.code(), argv + ": " + r.err());
            assertEquals("", r.err());
            assertTrue(r.out().startsWith("Usage: havm " + String.join(" ", argv.subList(0, argv.size() - 1))), r.out());
        }
    }

    @Test
    void bashCompletionCompletesCommandsAndOptions() throws Exception {
        Ran r = run("completion", "bash");
        assertEquals(0, r.code(), r.err());
        Path script = Files.writeString(dir.resolve("havm-completion.bash"), r.out());
        assertEquals("group", complete(script, "havm gr"));
        assertEquals("move online offline", complete(script, "havm group "));
        assertEquals("--config", complete(script, "havm status --con"));
    }

    /** What bash completes for {@code line} (the cursor at its end), with the script sourced. */
    private String complete(Path script, String line) throws Exception {
        String words = line.endsWith(" ") ? line + "''" : line;
        String bash = "source " + script + "\n"
                + "compopt() { :; }\n" // bash allows it only while it completes for real
                + "COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}\n"
                + "COMP_WORDS=(" + words + "); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
                + "_complete_havm havm \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
                + "echo \"${COMPREPLY[*]}\"\n";
        Process p = new ProcessBuilder("bash", "-c", bash).redirectErrorStream(true).start();
        String got = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), got);
        return got;
    }

    @Test
    void jsonOutputsParseAsJson() throws Exception {
        ObjectMapper m = new ObjectMapper();
        Ran check = run("config", "check", "examples/cluster.yaml", "--json");
        assertEquals(0, check.code(), check.err());
        JsonNode c = m.readTree(check.out());
        assertTrue(c.get("ok").asBoolean());
        assertEquals("prod", c.get("cluster").asText());
        assertEquals(3, c.get("nodes").size());

        Ran drill = run("drill", "check", "playbooks/host-power-loss.yaml", "playbooks/agent-pause.yaml", "--json");
        assertEquals(0, drill.code(), drill.err());
        JsonNode d = m.readTree(drill.out());
        assertEquals("host-power-loss", d.get("playbooks").get(0).get("playbook").asText());
        assertEquals(2, d.get("playbooks").size());

        Ran sim = run("sim", "--seeds", "2", "--json");
        assertEquals(0, sim.code(), sim.err());
        JsonNode s = m.readTree(sim.out());
        assertEquals(2, s.get("passed").asInt());
        assertEquals(0, s.get("failed").size());

        Ran scenario = run("sim", "src/test/resources/engine-scenarios/graceful-node-shutdown", "--json");
        assertEquals(0, scenario.code(), scenario.err());
        assertTrue(m.readTree(scenario.out()).get("timeline").size() > 3, scenario.out());

        // a VM on libvirt's test driver: its entry points and status as JSON
        Path k = Files.writeString(dir.resolve("vmlinuz"), "k");
        Files.writeString(dir.resolve("disk.qcow2"), "d");
        Path vm = Files.writeString(dir.resolve("vm.yaml"), "name: web\nkernel: " + k + "\ninitrd: " + k
                + "\ndomainType: qemu\ndisk: {path: " + dir.resolve("disk.qcow2") + "}\n");
        Path hosts = Files.writeString(dir.resolve("c.yaml"), "cluster:\n  nodes:\n"
                + "    - {name: kvm1, uri: 'test:///default'}\n    - {name: kvm2, uri: 'test:///default'}\n");
        Ran alive = run("resource", "is-alive", vm.toString(), "--host", "kvm1", "--config", hosts.toString(), "--json");
        assertEquals(1, alive.code(), alive.err());
        JsonNode al = m.readTree(alive.out());
        assertFalse(al.get("ok").asBoolean());
        assertEquals("is-alive", al.get("entry").asText());
        assertTrue(al.get("detail").asText().contains("no such domain"), alive.out());
        Ran status = run("vm", "status", vm.toString(), "--config", hosts.toString(), "--json");
        assertEquals(0, status.code(), status.err());
        assertEquals("not defined", m.readTree(status.out()).get("hosts").get("kvm2").asText());

        Path report = dir.resolve("report");
        Ran run = run("drill", "run", "playbooks/host-power-loss.yaml", "--sim", "--json", "--report", report.toString());
        assertEquals(0, run.code(), run.err());
        JsonNode rep = m.readTree(run.out()); // stdout: the report alone; the progress went to stderr
        assertEquals("host-power-loss", rep.get("playbook").asText());
        assertTrue(rep.get("simulated").asBoolean());
        assertEquals(m.readTree(Files.readString(report.resolve("report.json"))).get("steps"), rep.get("steps"));
    }

    @Test
    void relativePathsAreTheUsersDirectoryNotHavmsHome() throws Exception {
        // the user's own examples/cluster.yaml, a different cluster from havm's
        Path user = Files.createDirectories(dir.resolve("user"));
        Files.createDirectories(user.resolve("examples"));
        Files.writeString(user.resolve("examples/cluster.yaml"), Files.readString(Path.of("examples/cluster.yaml"))
                .replaceFirst("name: prod", "name: users-own"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dhavm.home=" + Path.of("").toAbsolutePath(), "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "config", "check", "examples/../examples/cluster.yaml", "--json")
                .directory(user.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals("users-own", new ObjectMapper().readTree(out).get("cluster").asText(), out);
    }

    /**
     * The ./havm launcher runs its own steps from its folder but leaves the JVM in the user's
     * directory: run it from elsewhere, with its steps stubbed (install-deps, and a java that says
     * where it runs).
     */
    @Test
    void theLauncherKeepsTheUsersDirectory() throws Exception {
        Path home = Files.createDirectories(dir.resolve("home"));
        Files.copy(Path.of("havm"), home.resolve("havm"));
        Files.createDirectories(home.resolve("ci"));
        Files.createDirectories(home.resolve("src/main"));
        Files.writeString(home.resolve("pom.xml"), "");
        Files.writeString(home.resolve("ci/install-deps"), "#!/bin/sh\npwd > \"$(dirname \"$0\")/../deps-ran-in\"\n");
        Files.createDirectories(home.resolve("target"));
        Path jar = Files.writeString(home.resolve("target/havm.jar"), "");
        jar.toFile().setLastModified(System.currentTimeMillis() + 60_000); // newer than the sources: no build
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Files.writeString(bin.resolve("java"), "#!/bin/sh\necho \"java ran in $(pwd): $*\"\n");
        for (Path x : List.of(home.resolve("havm"), home.resolve("ci/install-deps"), bin.resolve("java"))) {
            x.toFile().setExecutable(true);
        }
        Path user = Files.createDirectories(dir.resolve("elsewhere"));
        ProcessBuilder pb = new ProcessBuilder(home.resolve("havm").toString(), "config", "check",
                "examples/cluster.yaml").directory(user.toFile()).redirectErrorStream(true);
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("java ran in " + user.toRealPath() + ": "), out);
        assertTrue(out.strip().endsWith("config check examples/cluster.yaml"), out);
        assertEquals(home.toRealPath().toString(), Files.readString(home.resolve("deps-ran-in")).strip(),
                "install-deps runs from havm's folder");

        // lab commands go to ci/lab (in the user's directory too), their --help to havm's command tree
        Files.writeString(home.resolve("ci/lab"), "#!/bin/sh\necho \"ci/lab ran in $(pwd): $*\"\n");
        home.resolve("ci/lab").toFile().setExecutable(true);
        assertEquals("ci/lab ran in " + user.toRealPath() + ": agents start cluster.yaml",
                launch(home, user, bin, "lab", "agents", "start", "cluster.yaml"));
        String help = launch(home, user, bin, "lab", "status", "--help");
        assertTrue(help.startsWith("java ran in " + user.toRealPath() + ": ") && help.endsWith(" lab status --help"),
                help);
        assertTrue(launch(home, user, bin, "lab", "exec", "host1", "--", "ls", "--help").startsWith("ci/lab ran in"));
    }

    private static String launch(Path home, Path user, Path bin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(home.resolve("havm").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(user.toFile()).redirectErrorStream(true);
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
