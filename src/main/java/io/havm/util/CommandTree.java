package io.havm.util;

import io.havm.model.InvalidInputException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The {@code havm} command tree on picocli: every command and subcommand with what it does, its
 * synopsis and its options. It answers {@code --help}/{@code -h} at every level and
 * {@code havm help CMD...}, makes the shell completion ({@code havm completion bash}) and the "did
 * you mean" suggestions for a misspelt command. Each command's own arguments are then parsed by
 * its handler, on picocli too ({@link io.havm.util.Args}), whose messages (the allowed options, the
 * usage) are the ones the tests pin; {@code CommandTreeTest} checks that the tree and each
 * handler agree on every command's options.
 *
 * <p>A leaf's options come from its synopsis: {@code --config F} takes a value labelled F,
 * {@code [--json]} is a flag, upper-case words are arguments.
 */
public final class CommandTree {
    /** What the common options mean; an option not here is described by its synopsis alone. */
    private static final Map<String, String> OPTION_HELP = Map.ofEntries(
            Map.entry("--config", "the cluster's configuration file (cluster.yaml), relative to this directory"),
            Map.entry("--bootstrap", "the bootstrap file that finds the cluster (default /etc/havm/agent.yaml)"),
            Map.entry("--json", "print JSON instead of text (for scripts)"),
            Map.entry("--node", "the node (a name of the configuration's nodes)"),
            Map.entry("--host", "the host (a node of the configuration)"),
            Map.entry("--to", "the destination node"),
            Map.entry("--from", "the node the VM ran on"),
            Map.entry("--mode", "live, quick or offline"),
            Map.entry("--state-dir", "where havm keeps this host's state"),
            Map.entry("--force", "do it although havm would refuse (it says what it will do)"),
            Map.entry("--dry-run", "say what would happen, change nothing"),
            Map.entry("--report", "write report.html, report.json and junit.xml into this directory"),
            Map.entry("--comment", "a comment stored with the new version"),
            Map.entry("--version", "a stored configuration version"),
            Map.entry("--runs", "how many runs"));

    private CommandTree() {}

    /**
     * The version this build was made from: the pom's, copied into {@code io/havm/version.properties}
     * by Maven's resource filtering, so the jar, the Debian package and a unit test's classpath all
     * agree on it. A missing or unfiltered resource is a build fault: said as such, never guessed.
     */
    public static String version() {
        try (var in = CommandTree.class.getResourceAsStream("/io/havm/version.properties")) {
            if (in != null) {
                var p = new java.util.Properties();
                p.load(in);
                String v = p.getProperty("version", "");
                if (!v.isBlank() && !v.contains("${")) {
                    return v;
                }
            }
        } catch (java.io.IOException e) {
            // reported below like a missing resource
        }
        return "(unknown: io/havm/version.properties was not made by the Maven build)";
    }

    /** The whole tree; its root is {@code havm}, with {@code --help} and {@code --version}. */
    public static CommandLine build() {
        CommandSpec root = CommandSpec.create().name("havm").version("havm " + version());
        root.usageMessage().description("havm: highly available VMs on KVM (havm --help: every command;"
                + " havm COMMAND --help: one)");
        root.addOption(OptionSpec.builder("-h", "--help").usageHelp(true).description("this help").build());
        root.addOption(OptionSpec.builder("--version").versionHelp(true)
                .description("havm's version (havm X.Y.Z), as the package and the jar carry it").build());
        CommandLine cl = new CommandLine(root);

        add(cl, leaf("demo", "a 3-host cluster on the lab: an HA VM placed, moved live and quick, drained, then its"
                + " host powered off and the VM recovered, no operator (./havm demo)", "[--json FILE] [--keep]"));
        CommandLine bench = add(cl, group("bench", "the lab's benchmarks (./havm bench NAME)"));
        add(bench, leaf("failover", "power loss -> VM running, side by side with detection + raw start",
                "[--runs N] [--isolation-runs N] [--json FILE]"));
        add(bench, leaf("scale", "the policy engine on a simulated cluster of N hosts, against Pacemaker's",
                "[--hosts N] [--groups M] [--on-lost K] [--runs R] [--pacemaker BASELINE] [--json FILE]"));
        add(bench, leaf("migrate", "live and quick moves timed on the lab, the CLI's overhead beside the move's own"
                + " time", "--mode M [--pairs N] [--json FILE]"));
        add(bench, leaf("drain", "a node drained on the lab, timed", "[--vms N] [--migrations-per-host K]"
                + " [--json FILE]"));
        add(bench, leaf("agent", "the agent's own overhead (CPU, memory) on the lab", "[--vms N] [--lab-vms M]"
                + " [--seconds S] [--json FILE]"));

        CommandLine lab = add(cl, group("lab", "the namespaced multi-host lab (ci/lab)"));
        add(lab, leaf("up", "boot the lab's hosts", "[--hosts N]"));
        add(lab, leaf("down", "tear the lab down", ""));
        add(lab, leaf("status", "the lab's hosts, addresses and ZooKeeper", "[--json]"));
        add(lab, leaf("power-off", "cut HOST's power (its fence agent's view)", "HOST"));
        add(lab, leaf("power-state", "HOST's power state", "HOST"));
        add(lab, leaf("isolate", "cut HOST off the network", "HOST"));
        add(lab, leaf("heal", "give HOST its network back", "HOST"));
        add(lab, leaf("restart-libvirtd", "restart libvirtd on HOST", "HOST"));
        add(lab, leaf("exec", "run a command on HOST", "HOST -- CMD..."));
        CommandLine agents = add(lab, group("agents", "havm agents on the lab's hosts"));
        add(agents, leaf("start", "start the agents of CONFIG on the hosts (all by default)", "CONFIG [HOST...]"));
        add(agents, leaf("stop", "stop the agents (all by default)", "[HOST...]"));
        add(agents, leaf("status", "which agents run", ""));

        CommandLine vm = add(cl, group("vm", "one VM (a VM file) on the hosts of a cluster configuration"));
        add(vm, leaf("create", "create the disk if missing, define, bring online on H", "FILE --host H --config C [--json]"));
        add(vm, leaf("move", "move the VM to H (M = live | quick | offline)", "FILE --to H --mode M --config C [--json]"));
        add(vm, leaf("recover", "start the VM on H after DEAD's fence agent reports it off",
                "FILE --from DEAD --to H --config C [--json]"));
        add(vm, leaf("status", "the domain's state on every node", "FILE [--json] --config C"));
        add(vm, leaf("remove", "turn off and undefine everywhere (the disk is kept)", "FILE --config C [--json]"));
        add(vm, leaf("import", "a VM running on H becomes an HA group where it runs, without a restart",
                "DOMAIN --host H [--group G] [--owners N1,N2] [--definition-dir D] [--state-dir D] [--timeout S]"
                        + " [--bootstrap FILE] [--config C] [--dry-run] [--json]"));
        add(vm, leaf("release", "undo vm import: the group leaves the cluster, its VM keeps running",
                "GROUP [--timeout SECONDS] [--bootstrap FILE] [--config C] [--json]"));

        add(cl, leaf("resource", "run one entry point of a VM resource: open | online | looks-alive | is-alive |"
                + " offline | terminate | close", "ENTRY FILE --host H --config C [--json]"));
        add(cl, leaf("validate", "pre-flight check of C's hosts and HA VMs through their libvirt: PASS/WARN/FAIL"
                + " per host and VM with a fix (exit 1 on a FAIL; --json - prints the report)",
                "--config C [--json F|-] [--html F]"));

        CommandLine cluster = add(cl, group("cluster", "the cluster's configuration store and its security"));
        add(cluster, leaf("init", "store F (and its fragments) as the cluster's configuration, version 1",
                "--config F [--bootstrap FILE] [--replace] [--comment TEXT] [--json]"));
        add(cluster, leaf("secure", "lock the cluster's ZooKeeper tree with B's credentials (ACLs)",
                "[--bootstrap B] [--json]"));

        CommandLine config = add(cl, group("config", "check, apply and look at cluster configurations"));
        add(config, leaf("check", "validate a cluster configuration (timers, owners, N+1)", "FILE [--json]"));
        add(config, leaf("apply", "validate F against the running cluster, show the diff and what will happen,"
                + " store it as the next version", "F [--force] [--dry-run] [--comment TEXT] [--json] [--bootstrap FILE]"));
        add(config, leaf("diff", "F against a stored version", "F [--version N] [--json] [--bootstrap FILE]"));
        add(config, leaf("show", "a stored version's files",
                "[--version N] [--into DIR] [--json] [--bootstrap FILE] [--config C]"));
        add(config, leaf("history", "every stored version", "[--json] [--bootstrap FILE] [--config C]"));
        add(config, leaf("rollback", "put version N in force again",
                "N [--force] [--dry-run] [--comment TEXT] [--json] [--bootstrap FILE] [--config C]"));

        CommandLine storage = add(cl, group("storage", "the cluster's pools and disks"));
        add(storage, leaf("check", "from this host as node N: every pool reachable, every disk of N's groups there",
                "--config F [--node N] [--json]"));
        add(storage, leaf("create", "create the missing volumes (and LUN lease files) of the disks, all by default",
                "--config F [--json] [DISK...]"));

        add(cl, leaf("sim", "run a scenario (DIR: cluster.yaml + events.txt) in the simulator, or seeded random"
                + " faults with invariants checked at every step", "DIR [--json]", "--seeds N [--first K] [--json]"));
        CommandLine drill = add(cl, group("drill", "failure drills from playbooks (playbooks/README.md)"));
        add(drill, leaf("check", "check drill playbooks", "PLAYBOOK... [--json]"));
        add(drill, leaf("run", "rehearse a drill in the simulator (--sim), or run it on cluster C's own hosts"
                + " (--config C) or on the lab (./havm drill run PLAYBOOK)",
                "PLAYBOOK [--sim] [--config C] [--destructive] [--report DIR] [--force] [--json]"));
        add(cl, leaf("agent", "run this node's agent (and coordinator when elected), in the foreground",
                "[--bootstrap FILE] [--state-dir DIR]", "--config F --node N [--state-dir DIR]"));
        add(cl, leaf("zookeeper", "run this machine's member of the ZooKeeper ensemble (or with --witness the"
                + " witness), in the foreground, until SIGTERM", "[--bootstrap FILE] [--witness]"));
        add(cl, leaf("status", "the coordinator's view: members, nodes, groups", "--config F [--json]"));
        add(cl, leaf("events", "the timeline of every transition", "--config F [--json]"));
        CommandLine group = add(cl, group("group", "ask the coordinator to move, start or stop a group"));
        add(group, leaf("move", "move group G to node N", "G --to N [--mode M] --config F [--json]"));
        add(group, leaf("online", "bring group G online", "G --config F [--json]"));
        add(group, leaf("offline", "take group G offline", "G --config F [--json]"));
        CommandLine node = add(cl, group("node", "ask the coordinator to drain, resume or shut down a node"));
        add(node, leaf("drain", "move every group off node N and pause it", "N --config F [--json]"));
        add(node, leaf("resume", "let node N run groups again (--failback: bring back now every group that prefers"
                + " it, whatever its failback setting or window: those govern failback no one asked for)",
                "N [--failback] --config F [--json]"));
        add(node, leaf("shutdown", "drain node N, then stop its agent", "N --config F [--json]"));
        CommandLine gc = add(cl, group("guest-cluster", "guest clusters: VMs sharing disks, one per node"));
        add(gc, leaf("create", "N VMs NAME-1..N, one per node, sharing raw shareable disks",
                "NAME --members N --shared-disk DNAME:SIZE [--pool P] [--os-pool P] [--memory MiB] [--os-size SIZE]"
                        + " [--domain-type TYPE] [--console-dir DIR] [--state-dir DIR] [--json] --config F"));
        add(gc, leaf("remove", "its fragment, definitions and volumes (LUNs keep their data)",
                "NAME [--cluster-stopped] [--host-off HOST] [--json] --config F"));
        add(gc, leaf("list", "guest clusters made by havm: members, shared disks", "--config F [--json]"));
        CommandLine completion = add(cl, group("completion", "shell completion for havm"));
        add(completion, leaf("bash", "print the bash completion script (source it, or install it in"
                + " /etc/bash_completion.d/havm)", ""));
        add(cl, leaf("help", "this text, or a command's (havm help COMMAND...)", "[COMMAND...]"));
        return cl;
    }

    private static CommandLine add(CommandLine parent, CommandSpec child) {
        CommandLine c = new CommandLine(child);
        parent.addSubcommand(child.name(), c);
        return c;
    }

    private static CommandSpec group(String name, String description) {
        CommandSpec s = CommandSpec.create().name(name);
        s.parser().separator(" "); // havm's options take their value as the next word: --config F
        s.usageMessage().description(description);
        s.addOption(OptionSpec.builder("-h", "--help").usageHelp(true).description("this help").build());
        return s;
    }

    /** A command that takes arguments; {@code synopses}: its alternative forms after its name. */
    private static CommandSpec leaf(String name, String description, String... synopses) {
        CommandSpec s = group(name, description);
        Set<String> seen = new LinkedHashSet<>(List.of("-h", "--help"));
        for (String syn : synopses) {
            String[] t = syn.isBlank() ? new String[0] : syn.trim().split("\\s+");
            for (int i = 0; i < t.length; i++) {
                String opt = bare(t[i]);
                if (!opt.startsWith("--") || opt.equals("--") || !seen.add(opt)) {
                    continue;
                }
                boolean flag = t[i].endsWith("]") || i + 1 >= t.length || bare(t[i + 1]).startsWith("-")
                        || t[i + 1].equals("|");
                OptionSpec.Builder b = OptionSpec.builder(opt).description(OPTION_HELP.getOrDefault(opt, ""));
                if (flag) {
                    b.arity("0");
                } else {
                    b.arity("1").paramLabel(bare(t[i + 1])).type(String.class);
                }
                s.addOption(b.build());
            }
        }
        s.usageMessage().customSynopsis(synopsis(synopses));
        return s;
    }

    private static String bare(String token) {
        return token.replace("[", "").replace("]", "").replace("...", "");
    }

    /** The usage lines; the qualified name is filled in when the usage is printed (see {@link #usage}). */
    private static String[] synopsis(String... synopses) {
        List<String> lines = new ArrayList<>();
        for (String s : synopses) {
            lines.add("@NAME@" + (s.isBlank() ? "" : " " + s));
        }
        return lines.toArray(String[]::new);
    }

    /** The full name of a command ("havm vm move"). */
    static String qualifiedName(CommandLine c) {
        return c.getCommandSpec().qualifiedName(" ");
    }

    /** Prints command {@code c}'s usage (its synopses, what it does, its options or subcommands). */
    static void usage(CommandLine c, PrintStream out) {
        var um = c.getCommandSpec().usageMessage();
        String[] custom = um.customSynopsis();
        if (custom.length > 0) {
            String name = qualifiedName(c);
            String[] lines = new String[custom.length];
            for (int i = 0; i < custom.length; i++) {
                lines[i] = (i == 0 ? "" : "       ") + custom[i].replace("@NAME@", name);
            }
            um.customSynopsis(lines);
            try {
                c.usage(new PrintWriter(out, true, StandardCharsets.UTF_8), CommandLine.Help.Ansi.OFF);
            } finally {
                um.customSynopsis(custom);
            }
        } else {
            c.usage(new PrintWriter(out, true, StandardCharsets.UTF_8), CommandLine.Help.Ansi.OFF);
        }
        out.flush();
    }

    /** Where {@code args} lead in the tree: the deepest command they name, and the words that follow it. */
    public record Position(CommandLine command, List<String> rest) {}

    public static Position walk(CommandLine root, List<String> args) {
        CommandLine c = root;
        int i = 0;
        while (i < args.size() && c.getSubcommands().containsKey(args.get(i))) {
            c = c.getSubcommands().get(args.get(i));
            i++;
        }
        return new Position(c, args.subList(i, args.size()));
    }

    private static boolean isHelp(String s) {
        return s.equals("--help") || s.equals("-h");
    }

    /**
     * Answers what the tree answers by itself: {@code COMMAND... --help}, {@code help COMMAND...}
     * and {@code completion bash}. Empty: the command's handler takes {@code argv} (the top
     * {@code --help}, {@code --version} and bad input stay with it, their messages unchanged).
     */
    public static Optional<Integer> answer(List<String> argv, PrintStream out) {
        if (argv.isEmpty() || !argv.get(0).equals("help") && !argv.get(0).equals("completion")
                && argv.stream().noneMatch(CommandTree::isHelp)) {
            return Optional.empty(); // the tree is built only when asked (a command starts faster without it)
        }
        CommandLine root = build();
        if (argv.get(0).equals("help") && argv.size() == 2 && isHelp(argv.get(1))) {
            usage(root.getSubcommands().get("help"), out);
            return Optional.of(0);
        }
        if (argv.get(0).equals("help") && argv.size() > 1) {
            Position p = walk(root, argv.subList(1, argv.size()));
            if (!p.rest().isEmpty()) {
                CommandLine at = p.command();
                throw new InvalidInputException("havm help", "unknown command '" + String.join(" ", argv.subList(1,
                        argv.size())) + "' (" + (at == root ? "commands" : qualifiedName(at) + "'s subcommands")
                        + ": " + String.join(", ", at.getSubcommands().keySet()) + ")" + suggestion(at, p.rest().get(0)));
            }
            usage(p.command(), out);
            return Optional.of(0);
        }
        Position p = walk(root, argv);
        if (p.command() == root) {
            return Optional.empty();
        }
        List<String> rest = p.rest().contains("--") ? p.rest().subList(0, p.rest().indexOf("--")) : p.rest();
        boolean leaf = p.command().getSubcommands().isEmpty();
        if (leaf ? rest.stream().anyMatch(CommandTree::isHelp) : !rest.isEmpty() && isHelp(rest.get(0))) {
            usage(p.command(), out);
            return Optional.of(0);
        }
        if (qualifiedName(p.command()).equals("havm completion bash")) {
            if (!p.rest().isEmpty()) {
                throw new InvalidInputException("havm completion bash", "takes no arguments (usage: havm completion"
                        + " bash)");
            }
            out.print(AutoComplete.bash("havm", root));
            out.flush();
            return Optional.of(0);
        }
        if (qualifiedName(p.command()).equals("havm completion")) {
            throw new InvalidInputException("havm completion", (p.rest().isEmpty() ? "a shell is required"
                    : "unknown shell '" + p.rest().get(0) + "'") + " (allowed: bash)");
        }
        return Optional.empty();
    }

    /**
     * "; did you mean ...?" when {@code args} stop at a command with subcommands on a word that
     * is none of them and resembles one (picocli's suggestions); empty otherwise.
     */
    public static String didYouMean(List<String> args) {
        CommandLine root = build();
        Position p = walk(root, args);
        if (p.rest().isEmpty() || p.command().getSubcommands().isEmpty() || p.rest().get(0).startsWith("-")) {
            return "";
        }
        return suggestion(p.command(), p.rest().get(0));
    }

    private static String suggestion(CommandLine at, String word) {
        List<String> s = new CommandLine.UnmatchedArgumentException(at, List.of(word)).getSuggestions();
        return s.isEmpty() ? "" : "; did you mean " + s.get(0) + "?";
    }
}
