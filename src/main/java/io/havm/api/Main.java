package io.havm.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.storage.HostStorage;
import io.havm.util.Args;
import io.havm.port.Scheduler;
import io.havm.resource.NodeResources;
import io.havm.engine.FenceConfirmation;
import io.havm.engine.Mover;
import io.havm.engine.Whereabouts;
import io.havm.port.Clock;
import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.fencing.FenceAgentRunner;
import io.havm.fencing.FenceDevice;
import io.havm.port.Fencer;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.MoveMode;
import io.havm.model.Result;
import io.havm.resource.VmResource;
import io.havm.util.Cli;
import io.havm.util.Exec;
import io.havm.util.Json;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The {@code havm} command. Exit codes: 0 done, 1 the operation failed, 2 bad input (nothing was
 * changed). The hosts of {@code vm} and {@code resource} are the nodes of a cluster configuration
 * ({@code --config}: their names and libvirt URIs). {@code demo} and {@code bench} run on the lab
 * and start from the lab's own entry point (the {@code ./havm} launcher sends them there).
 */
public final class Main {
    static final String USAGE = """
            usage: havm COMMAND ...
              demo [--json FILE] [--keep]         a 3-host cluster on the lab: an HA VM placed, moved live and quick,
                                                  drained, then its host powered off and the VM recovered, no operator
              bench failover [--runs N] [--json F]  power loss -> VM running, side by side with detection + raw start
              lab up [--hosts N] | down | status [--json] | power-off HOST | power-state HOST | isolate HOST
                  | heal HOST | restart-libvirtd HOST | exec HOST -- CMD...
                  | agents start CONFIG [HOST...] | agents stop [HOST...] | agents status
              vm create FILE --host H --config C [--json]
                                                  create the disk if missing, define, bring online on H
              vm move FILE --to H --mode M --config C [--json]   M = live | quick | offline
              vm recover FILE --from DEAD --to H --config C [--json]
                                                  after DEAD's fence agent reports it off
              vm status FILE [--json] --config C  the domain's state on every node
              vm remove FILE --config C [--json]  turn off and undefine everywhere (the disk is kept)
              vm import DOMAIN --host H [--group G] [--owners N1,N2] [--definition-dir D] [--state-dir D] [--dry-run] [--json]
                                                  a VM running on H (made with virsh, virt-install, ...) becomes an HA
                                                  group where it runs, without a restart: its disks must be in a
                                                  shared-dir pool, its networks on every owner; its definition goes to
                                                  shared storage (refused with every reason, nothing changed)
              vm release G [--json]               undo vm import: the group leaves the cluster, its VM keeps running
                                                  (import and release find the cluster as config show does)
              resource ENTRY FILE --host H --config C [--json]   run one entry point: open | online | looks-alive
                                                  | is-alive | offline | terminate | close
                                                  (vm and resource: hosts are C's nodes, by their libvirt URIs)
              config check FILE [--json]          validate a cluster configuration (timers, owners, N+1)
              validate --config C [--json F|-] [--html F]
                                                  pre-flight check of C's hosts and HA VMs through their libvirt:
                                                  versions, machine types, CPUs, networks, storage, host devices,
                                                  guest agent, clocks, fence status, ZooKeeper, timers, N+1;
                                                  PASS/WARN/FAIL per host and VM with a fix (exit 1 on a FAIL;
                                                  --json -: the report as JSON on stdout)
              cluster init --config F [--replace] [--json]
                                                  store F (and its fragments) as the cluster's configuration,
                                                  version 1 (--replace: a new version whole, every agent stopped)
              cluster secure [--bootstrap B] [--json]
                                                  lock the cluster's ZooKeeper tree with B's credentials (ACLs)
              config apply F [--force] [--dry-run] [--json]
                                                  validate F against the running cluster, show the diff and
                                                  what will happen, store it as the next version: agents apply
                                                  it live (refused with reasons: e.g. removing an online group,
                                                  unless --force, which says what it will do)
              config diff F [--json] | show [--version N] [--into DIR] [--json] | history [--json]
              config rollback N [--force] [--json]
                                                  (these find the cluster through --bootstrap FILE, default
                                                  /etc/havm/agent.yaml, or F's cluster.zookeeper)
              storage check --config F [--node N] [--json]
                                                  from this host as node N: every pool reachable, every disk of
                                                  N's groups there (format, backing file, size; LUN capacity)
              storage create --config F [DISK...] [--json]
                                                  create the missing volumes (and LUN lease files) of the disks,
                                                  all by default; LUNs must exist already (never created)
              sim DIR [--json]                    run a scenario (cluster.yaml + events.txt) in the simulator
              sim --seeds N [--first K] [--json]  seeded random faults; invariants checked at every step
              drill check PLAYBOOK... [--json]    check drill playbooks (playbooks/README.md)
              drill run PLAYBOOK --sim [--config C] [--report DIR] [--json]
                                                  rehearse a drill in the simulator (the real engine);
                                                  report.json and junit.xml in DIR (on the lab's real
                                                  hosts: ./havm drill run PLAYBOOK); --json: the report on
                                                  stdout, the progress on stderr
              drill run PLAYBOOK --config C [--destructive] [--report DIR] [--force]
                                                  run it on cluster C's own hosts: power-loss/power-on
                                                  through each node's fence agent, qemu-kill through
                                                  libvirt (power-loss and qemu-kill only with
                                                  --destructive); the groups must be online
              agent --config F --node N           run this node's agent (and coordinator when elected)
              zookeeper [--bootstrap FILE] [--witness]
                                                  run this machine's member of the ZooKeeper ensemble listed in
                                                  FILE (default /etc/havm/agent.yaml): the member on FILE's node,
                                                  or with --witness the witness (a third machine of a two-host
                                                  cluster); in the foreground, until SIGTERM
              status --config F [--json]          the coordinator's view: members, nodes, groups
              events --config F [--json]          the timeline of every transition
              group move G --to N [--mode M] --config F | group online|offline G --config F [--json]
              node drain|resume [--failback]|shutdown N --config F [--json]
              guest-cluster create NAME --members N --shared-disk DNAME:SIZE [--shared-disk ...] [--pool P]
                  [--os-pool P] [--memory MiB] [--os-size SIZE] [--domain-type auto|kvm|qemu]
                  [--console-dir DIR] [--state-dir DIR] --config F [--json]
                                                  N VMs NAME-1..N, one per node (hard anti-affinity class NAME),
                                                  sharing raw shareable disks (files in a shared-dir pool or free
                                                  LUNs of an iscsi pool), written as a fragment beside F
                                                  (F = cluster.yaml: cluster.d/NAME.yaml)
              guest-cluster remove NAME [--cluster-stopped] [--host-off HOST ...] --config F [--json]
                                                  its fragment, definitions and volumes (LUNs keep their data);
                                                  refused while the cluster wants a member online or libvirt
                                                  shows one running; --cluster-stopped: no agent runs (ZooKeeper
                                                  is not asked); --host-off: that node is powered off
              guest-cluster list --config F [--json]
                                                  guest clusters made by havm: members, shared disks
                                                  (create and remove put the configuration in force as a new
                                                  version: the agents apply it live)
              COMMAND [SUBCOMMAND] --help | help COMMAND [SUBCOMMAND]
                                                  what a command does, its forms and options (every command and
                                                  subcommand answers --help and -h)
              completion bash                     the bash completion script: source <(havm completion bash), or
                                                  put it in /etc/bash_completion.d/havm
              help | --help                       this text
              --version                           havm's version (havm X.Y.Z), as the package and the jar carry it""";

    private final Path home;
    private final PrintStream out;
    private final PrintStream err;
    /** What guest-cluster takes from outside (the test guest, LUN sizes); tests replace it. */
    io.havm.guestcluster.GuestClusters.Env guestClusterEnv;

    /** The caller's environment and whether it sees a terminal: this process's, or a resident client's caller's. */
    private final Map<String, String> env;
    private final boolean terminal;

    Main(Path home, PrintStream out, PrintStream err) {
        this(home, out, err, System.getenv(), System.console() != null);
    }

    Main(Path home, PrintStream out, PrintStream err, Map<String, String> env, boolean terminal) {
        this.home = home;
        this.out = out;
        this.err = err;
        this.env = env;
        this.terminal = terminal;
        this.guestClusterEnv = GuestClusterCommands.realEnv(home);
    }

    public static void main(String[] argv) {
        int code = new Main(Exec.projectHome(), System.out, System.err).run(Arrays.asList(argv));
        System.out.flush();
        System.exit(code);
    }

    int run(List<String> argv) {
        if (argv.isEmpty()) {
            err.println("havm: a command is required\n" + USAGE);
            return 2;
        }
        String cmd = argv.get(0);
        List<String> rest = argv.subList(1, argv.size());
        return Cli.exitCode(err, "havm " + cmd, () -> {
            try {
                // --help at any level, help COMMAND..., completion: the command tree answers them
                Optional<Integer> answered = io.havm.util.CommandTree.answer(argv, out);
                if (answered.isPresent()) {
                    return answered.get();
                }
                return dispatch(cmd, rest);
            } catch (InvalidInputException e) {
                // a misspelt command or subcommand: the handler's message, and what it resembles
                String hint = e.problem().startsWith("unknown ") ? io.havm.util.CommandTree.didYouMean(argv) : "";
                throw hint.isEmpty() ? e : new InvalidInputException(e.where(), e.problem() + hint);
            } catch (io.havm.coordination.CoordinationException e) {
                // ZooKeeper unreachable or lost mid-command: the operation failed, said in one line.
                err.println("havm " + cmd + ": " + e.getMessage());
                return 1;
            }
        });
    }

    private int dispatch(String cmd, List<String> rest) throws InterruptedException {
        return switch (cmd) {
            case "help", "--help", "-h" -> {
                Args.parse("havm " + cmd, rest, Set.of(), Set.of(), 0, "havm help");
                out.println(USAGE);
                yield 0;
            }
            case "--version" -> {
                Args.parse("havm --version", rest, Set.of(), Set.of(), 0, "havm --version");
                out.println("havm " + version());
                yield 0;
            }
            case "demo", "bench" -> throw new InvalidInputException("havm " + cmd, "the lab's own command: run it"
                    + " through the launcher, ./havm " + cmd + " (it builds and boots the lab it needs)");
            case "lab" -> lab(rest);
            case "vm" -> vm(rest);
            case "resource" -> resource(rest);
            case "config" -> config(rest);
            case "cluster" -> new ConfigCommands(out, err).cluster(rest);
            case "storage" -> new StorageCommands(out).main(rest);
            case "agent" -> new ClusterCommands(out).agent(rest);
            case "zookeeper" -> new ZooKeeperCommand(out, err).run(rest);
            case "status" -> new ClusterCommands(out).status(rest);
            case "events" -> new ClusterCommands(out).events(rest);
            case "group", "node" -> new ClusterCommands(out, err, env, terminal).request(cmd, rest);
            case "sim" -> sim(rest);
            case "validate" -> io.havm.validate.ValidateCommand.run(rest, out, err);
            case "drill" -> {
                checkReportDir(rest);
                yield new io.havm.drill.DrillCli(out, () -> {
                    throw new InvalidInputException("havm drill run", "a drill on real hosts runs on a cluster's own"
                            + " hosts (--config cluster.yaml) or on the lab, through its launcher: ./havm drill run"
                            + " PLAYBOOK; or rehearse it here with --sim");
                }, (config, destructive) -> new ClusterTarget(config, destructive, rest.contains("--json") ? err : out))
                        .progressTo(err).run(rest);
            }
            case "guest-cluster" -> new GuestClusterCommands(home, out, err, guestClusterEnv).run(rest);
            default -> throw new InvalidInputException("havm", "unknown command '" + cmd
                    + "' (commands: demo, bench, lab, vm, resource, cluster, config, storage, sim, drill, agent, zookeeper,"
                    + " status, events, group, node, guest-cluster, validate, completion, help)");
        };
    }

    /**
     * The version this build was made from: the pom's, copied into {@code io/havm/version.properties}
     * by Maven's resource filtering, so the jar, the Debian package and a unit test's classpath all
     * agree on it. A missing or unfiltered resource is a build fault: said as such, never guessed.
     */
    static String version() {
        return io.havm.util.CommandTree.version();
    }

    private int lab(List<String> args) {
        // ci/lab validates its own arguments (exit 2 with a precise message on bad ones).
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("ci/lab").toString());
        cmd.addAll(args);
        try {
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            return p.waitFor();
        } catch (java.io.IOException e) {
            err.println("havm lab: cannot run " + cmd.get(0) + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    // ---------------------------------------------------------------- vm

    private int vm(List<String> args) {
        if (args.isEmpty()) {
            throw new InvalidInputException("havm vm", "a subcommand is required (create, move, recover, status, remove,"
                    + " import, release)");
        }
        String sub = args.get(0);
        List<String> rest = args.subList(1, args.size());
        return switch (sub) {
            case "create" -> vmCreate(rest);
            case "move" -> vmMove(rest);
            case "recover" -> vmRecover(rest);
            case "status" -> vmStatus(rest);
            case "remove" -> vmRemove(rest);
            case "import" -> new VmHandoverCommands(out, err).importVm(rest);
            case "release" -> new VmHandoverCommands(out, err).release(rest);
            default -> throw new InvalidInputException("havm vm", "unknown subcommand '" + sub
                    + "' (allowed: create, move, recover, status, remove, import, release)");
        };
    }

    private int vmCreate(List<String> args) {
        String usage = "havm vm create FILE --host H --config C [--json]";
        Args a = Args.parse("havm vm create", args, Set.of("--host", "--config"), Set.of("--json"), 1, usage);
        VmFile f = VmFile.load(Path.of(a.positional.get(0)), home);
        return onHosts(a, "havm vm create", usage, hosts -> {
            Hypervisor target = host(hosts, a.require("havm vm create", "--host", usage));
            // Validates template, kernel and disks before anything changes; sized missing disks are created below.
            var props = f.withDefinition(home, true);
            // The host is asked before anything is made: an unreachable one leaves no disk behind.
            String down = unreachable(Map.of(target.host(), target), f.spec().name()).get(target.host());
            if (down != null) {
                err.println("havm vm create: host " + target.host() + " is unreachable (" + down + "): nothing was"
                        + " created");
                return 1;
            }
            Optional<String> elsewhere = runningOn(hosts, f.spec().name());
            if (elsewhere.isPresent()) {
                err.println("havm vm create: " + f.spec().name() + " already runs on " + elsewhere.get());
                return 1;
            }
            for (var d : f.spec().disks()) {
                if (!Files.exists(d.path())) {
                    mkdirs(d.path().getParent());
                    Exec.run(Duration.ofMinutes(1), List.of("qemu-img", "create", "-q", "-f", d.format(),
                            d.path().toString(), f.diskSizes().get(d.path()))).orThrow();
                }
            }
            mkdirs(f.spec().serialLog().getParent());
            Result r = new VmResource(props, target, Clock.SYSTEM, HostStorage.INSTANCE).online();
            printResult(a, r, Map.of("vm", f.spec().name(), "host", target.host(), "entry", "online"));
            return r.ok() ? 0 : 1;
        });
    }

    private int vmMove(List<String> args) {
        String usage = "havm vm move FILE --to H --mode live|quick|offline --config C [--json]";
        Args a = Args.parse("havm vm move", args, Set.of("--to", "--mode", "--config"), Set.of("--json"), 1, usage);
        MoveMode mode = MoveMode.parse("--mode", a.require("havm vm move", "--mode", usage));
        VmFile f = VmFile.load(Path.of(a.positional.get(0)), home);
        return onHosts(a, "havm vm move", usage, hosts -> {
            Hypervisor to = host(hosts, a.require("havm vm move", "--to", usage));
            String name = f.spec().name();
            Optional<String> on = runningOn(hosts, name);
            if (on.isEmpty()) {
                Map<String, String> down = unreachable(hosts, name);
                if (!down.isEmpty()) {
                    err.println("havm vm move: " + name + " runs on no reachable host, and " + describe(down)
                            + ": where it runs is unknown, nothing was moved");
                    return 1;
                }
                throw new InvalidInputException("havm vm move", name + " is not running on any host");
            }
            Hypervisor from = hosts.get(on.get());
            Mover.Report r;
            // on a terminal the migration's progress is one line redrawn; piped, a line each
            // with --json stdout holds the report alone: the progress goes to stderr
            try (io.havm.util.Progress progress = io.havm.util.Progress.to(a.flag("--json") ? err : out)) {
                r = new Mover(Clock.SYSTEM, f.migration(), NodeResources.vmsOnHost(Clock.SYSTEM),
                        Scheduler.threads(Clock.SYSTEM)).move(mode, f.withDefinition(home), from, to,
                        p -> progress.update(String.format("  %s: %.0f%% of %d MiB, %d ms", mode.word, p.percent(),
                                p.dataTotal() >> 20, p.elapsedMs())));
            }
            if (a.flag("--json")) {
                out.println(Json.write(moveReport(r, "move", name, from.host(), to.host(), mode.word)));
            } else {
                out.printf("%s: %s move %s %s -> %s in %.2f s: %s%n", r.ok() ? "ok" : "failed", mode.word, name,
                        from.host(), to.host(), r.took().toMillis() / 1000.0, r.detail());
            }
            return r.ok() ? 0 : 1;
        });
    }

    private int vmRecover(List<String> args) {
        String usage = "havm vm recover FILE --from DEAD --to H --config C [--json]";
        Args a = Args.parse("havm vm recover", args, Set.of("--from", "--to", "--config"), Set.of("--json"), 1, usage);
        VmFile f = VmFile.load(Path.of(a.positional.get(0)), home);
        ClusterSpec spec = ClusterCommands.spec(a, "havm vm recover");
        String dead = a.require("havm vm recover", "--from", usage);
        ClusterSpec.NodeSpec deadNode = spec.node(dead).orElseThrow(() -> new InvalidInputException("--from",
                "unknown node '" + dead + "' (nodes: " + String.join(", ", spec.nodeNames()) + ")"));
        // The proof that DEAD cannot run the VM any more is its own fence device saying "off", asked now.
        if (deadNode.fencing() == null || deadNode.fencing().storage()) {
            err.println("havm vm recover: refused: " + dead + " has no power fence agent in " + a.get("--config")
                    + " that could prove it off");
            return 1;
        }
        FenceDevice device = fenceDevice(a.get("--config"), deadNode);
        Fencer.Result status = new FenceAgentRunner(Map.of(dead, device)).fence(dead, Fencer.Action.STATUS);
        if (status.outcome() != Fencer.Outcome.OFF) {
            err.println("havm vm recover: refused: " + dead + " is not proven off (" + status.detail()
                    + "); fence it first");
            return 1;
        }
        FenceConfirmation fence = new FenceConfirmation(dead, "fence agent status: " + status.detail(), Instant.now());
        return onHosts(a, "havm vm recover", usage, hosts -> {
            Hypervisor to = host(hosts, a.require("havm vm recover", "--to", usage));
            Mover.Report r = new Mover(Clock.SYSTEM, f.migration(), NodeResources.vmsOnHost(Clock.SYSTEM)).recover(f.withDefinition(home), dead,
                    hosts.get(dead), to, fence);
            if (a.flag("--json")) {
                out.println(Json.write(moveReport(r, "recover", f.spec().name(), dead, to.host(), null)));
            } else {
                out.printf("%s: recover %s on %s in %.2f s: %s%n", r.ok() ? "ok" : "failed", f.spec().name(),
                        to.host(), r.took().toMillis() / 1000.0, r.detail());
            }
            return r.ok() ? 0 : 1;
        });
    }

    private int vmStatus(List<String> args) {
        String usage = "havm vm status FILE [--json] --config C";
        Args a = Args.parse("havm vm status", args, Set.of("--config"), Set.of("--json"), 1, usage);
        VmFile f = VmFile.load(Path.of(a.positional.get(0)), home);
        return onHosts(a, "havm vm status", usage, hosts -> {
            Map<String, String> states = new LinkedHashMap<>();
            for (Hypervisor h : hosts.values()) {
                String s;
                try {
                    s = h.state(f.spec().name()).map(DomainState::toString).orElse("not defined");
                } catch (HypervisorException e) {
                    s = "unknown (" + e.kind().name().toLowerCase() + ")";
                }
                states.put(h.host(), s);
            }
            if (a.flag("--json")) {
                out.println(new ObjectMapper().valueToTree(Map.of("vm", f.spec().name(), "hosts", states)));
            } else {
                states.forEach((h, s) -> out.printf("%-8s %s%n", h, s));
            }
            return 0;
        });
    }

    private int vmRemove(List<String> args) {
        String usage = "havm vm remove FILE --config C [--json]";
        Args a = Args.parse("havm vm remove", args, Set.of("--config"), Set.of("--json"), 1, usage);
        VmFile f = VmFile.load(Path.of(a.positional.get(0)), home);
        return onHosts(a, "havm vm remove", usage, hosts -> {
            String name = f.spec().name();
            Map<String, String> down = unreachable(hosts, name);
            List<Hypervisor> up = hosts.values().stream().filter(h -> !down.containsKey(h.host())).toList();
            List<String> removed = Whereabouts.removeEverywhere(up, name);
            if (a.flag("--json")) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("ok", down.isEmpty());
                doc.put("vm", name);
                doc.put("removedFrom", removed);
                doc.put("unreachable", down);
                doc.put("hosts", List.copyOf(hosts.keySet()));
                out.println(Json.write(doc));
            }
            for (String h : a.flag("--json") ? List.<String>of() : removed) {
                out.println("removed " + name + " from " + h);
            }
            if (!down.isEmpty()) {
                err.println("havm vm remove: " + name + " may remain where it could not be asked: " + describe(down)
                        + "; run it again once they answer");
                return 1;
            }
            if (removed.isEmpty() && !a.flag("--json")) {
                out.println(name + " is defined on no host (" + String.join(", ", hosts.keySet()) + "): nothing to"
                        + " remove");
            }
            return 0;
        });
    }

    private int resource(List<String> args) {
        String usage = "havm resource ENTRY FILE --host H --config C [--json]";
        Args a = Args.parse("havm resource", args, Set.of("--host", "--config"), Set.of("--json"), 2, usage);
        String entry = a.positional.get(0);
        Set<String> entries = Set.of("open", "online", "looks-alive", "is-alive", "offline", "terminate", "close");
        if (!entries.contains(entry)) {
            throw new InvalidInputException("havm resource", "unknown entry point '" + entry
                    + "' (allowed: open, online, looks-alive, is-alive, offline, terminate, close)");
        }
        VmFile f = VmFile.load(Path.of(a.positional.get(1)), home);
        return onHosts(a, "havm resource", usage, hosts -> {
            Hypervisor h = host(hosts, a.require("havm resource", "--host", usage));
            VmResource r = new VmResource(f.withDefinition(home), h, Clock.SYSTEM, HostStorage.INSTANCE);
            Result res = switch (entry) {
                case "open" -> r.open();
                case "online" -> r.online();
                case "looks-alive" -> r.looksAlive();
                case "is-alive" -> r.isAlive();
                case "offline" -> r.offline();
                case "terminate" -> r.terminate();
                default -> r.close();
            };
            printResult(a, res, Map.of("entry", a.positional.get(0), "host", a.get("--host")));
            return res.ok() ? 0 : 1;
        });
    }

    private int config(List<String> args) {
        String usage = "havm config check FILE [--json]";
        if (args.isEmpty()) {
            throw new InvalidInputException("havm config", "a subcommand is required (allowed: check, apply, diff,"
                    + " show, history, rollback)");
        }
        if (!args.get(0).equals("check")) {
            return new ConfigCommands(out, err).run(args);
        }
        Args a = Args.parse("havm config check", args.subList(1, args.size()), Set.of(), Set.of("--json"), 1, usage);
        boolean json = a.flag("--json");
        List<String> warnings = new ArrayList<>();
        // said on stderr as text; with --json, in the document (stdout holds JSON only)
        java.util.function.Consumer<String> warn = w -> {
            warnings.add(w);
            if (!json) {
                err.println("warning: " + w);
            }
        };
        var loaded = io.havm.config.ClusterConfigLoader.load(Path.of(a.positional.get(0))).forRealHosts();
        loaded.warnings().forEach(warn);
        if (loaded.spec().zookeeper() == null) {
            warn.accept(a.positional.get(0) + ": cluster.zookeeper is not set: the agents and the"
                    + " status, events, group and node commands need the ZooKeeper servers' connect string (e.g."
                    + " zookeeper: 'zk1:2181,zk2:2181,zk3:2181')");
        }
        var spec = loaded.spec();
        for (var n : spec.nodes()) {
            if (n.fencing() == null) {
                warn.accept(n.name() + " has no fence agent: its VMs are recovered only after "
                        + (spec.timers().recoveryWithoutFence() == null ? "it returns (recoveryWithoutFence: never)"
                        : "the self-fence deadline (" + spec.timers().recoveryWithoutFence().toMillis() + " ms)")
                        + "; if its agent stops answering while it stays a member, they wait until it answers again");
                continue;
            }
            if (n.fencing().storage()) {
                continue; // a fence request on the heartbeat storage: SafetyBudget checked its numbers
            }
            // The agent's own metadata says which options it takes: a typo fails here, not during a failover.
            var device = fenceDevice(a.positional.get(0), n);
            io.havm.fencing.FenceAgentRunner.validate(a.positional.get(0) + ": cluster.nodes." + n.name() + ".fencing",
                    device);
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("ok", true);
            doc.put("file", a.positional.get(0));
            doc.put("cluster", spec.name());
            doc.put("nodes", spec.nodeNames());
            doc.put("groups", List.copyOf(spec.groups().keySet()));
            doc.put("detectionMs", spec.timers().sessionTimeout().toMillis());
            doc.put("isolatedNodeDoneByMs", spec.timers().isolatedNodeDoneBy().toMillis());
            doc.put("startupGraceMs", spec.timers().startupGrace().toMillis());
            doc.put("secondChannel", spec.heartbeat() == null ? null : spec.heartbeat().describe());
            doc.put("warnings", warnings);
            out.println(Json.write(doc));
            return 0;
        }
        if (spec.heartbeat() == null) {
            out.printf("ok: cluster %s: %d nodes, %d groups; detection %d ms, an isolated node is done self-fencing "
                    + "by %d ms; startup grace %d ms; no second channel%n", spec.name(), spec.nodes().size(),
                    spec.groups().size(), spec.timers().sessionTimeout().toMillis(),
                    spec.timers().isolatedNodeDoneBy().toMillis(), spec.timers().startupGrace().toMillis());
        } else {
            var h = spec.heartbeat();
            out.printf("ok: cluster %s: %d nodes, %d groups; detection %d ms; second channel: heartbeats on %s every"
                    + " %d ms (I/O bound %d ms): a cut-off node reads that it is lost within %d ms; watchdog %s;"
                    + " startup grace %d ms%n", spec.name(), spec.nodes().size(), spec.groups().size(),
                    spec.timers().sessionTimeout().toMillis(), h.describe(), h.interval().toMillis(),
                    h.timeout().toMillis(), h.evidenceDelay().toMillis(),
                    spec.watchdog() == null ? "none" : spec.watchdog().device() + " " + spec.watchdog().timeout().toMillis()
                            + " ms", spec.timers().startupGrace().toMillis());
        }
        return 0;
    }

    /** The most seeds one run tries: about a day of simulation; more is a typo. */
    static final int MAX_SEEDS = 1_000_000;
    /** The largest first seed: any seed a run reaches stays a positive long. */
    static final long MAX_FIRST_SEED = Long.MAX_VALUE / 2;

    private int sim(List<String> args) {
        String usage = "havm sim DIR [--json] | havm sim --seeds N [--first K] [--json]";
        Args a = Args.parse("havm sim", args, Set.of("--seeds", "--first"), Set.of("--json"),
                args.contains("--seeds") ? 0 : 1, usage);
        boolean json = a.flag("--json");
        if (a.get("--seeds") == null) {
            List<String> lines = io.havm.sim.engine.EngineScenario.run(Path.of(a.positional.get(0)));
            if (json) {
                out.println(Json.write(Map.of("scenario", a.positional.get(0), "timeline", lines)));
            } else {
                lines.forEach(out::println);
            }
            return 0;
        }
        long first;
        int seeds;
        try {
            seeds = Integer.parseInt(a.get("--seeds"));
            first = a.get("--first") == null ? 1 : Long.parseLong(a.get("--first"));
        } catch (NumberFormatException e) {
            throw new InvalidInputException("havm sim", "--seeds and --first take whole numbers (--seeds 1.."
                    + MAX_SEEDS + ", --first 0.." + MAX_FIRST_SEED + "; usage: " + usage + ")");
        }
        if (seeds < 1 || seeds > MAX_SEEDS) {
            throw new InvalidInputException("havm sim --seeds", seeds + " is out of range (allowed: 1.." + MAX_SEEDS
                    + ")");
        }
        if (first < 0 || first > MAX_FIRST_SEED) {
            throw new InvalidInputException("havm sim --first", first + " is out of range (allowed: 0.."
                    + MAX_FIRST_SEED + ")");
        }
        int failed = 0;
        List<Map<String, Object>> failures = new ArrayList<>();
        for (long s = first; s < first + seeds; s++) {
            var o = io.havm.sim.engine.EngineFaultRunner.run(s);
            if (!o.ok()) {
                failed++;
                failures.add(Map.of("seed", s, "problems", o.problems()));
                if (!json) {
                    out.println("seed " + s + ": " + String.join("; ", o.problems()));
                }
            }
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("first", first);
            doc.put("seeds", seeds);
            doc.put("passed", seeds - failed);
            doc.put("failed", failures);
            out.println(Json.write(doc));
        } else {
            out.println(seeds - failed + " passed, " + failed + " failed");
        }
        return failed == 0 ? 0 : 1;
    }

    // ---------------------------------------------------------------- helpers

    /** An entry point's result: "word: detail", or with --json one document (what, result, ok, detail). */
    private void printResult(Args a, Result r, Map<String, Object> what) {
        if (!a.flag("--json")) {
            out.println(r.word() + ": " + r.detail());
            return;
        }
        Map<String, Object> doc = new LinkedHashMap<>(new TreeMap<>(what));
        doc.put("result", r.word());
        doc.put("ok", r.ok());
        doc.put("detail", r.detail());
        out.println(Json.write(doc));
    }

    /** A move's or recovery's report for --json. */
    private static Map<String, Object> moveReport(Mover.Report r, String op, String vm, String from, String to,
            String mode) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("ok", r.ok());
        doc.put("operation", op);
        doc.put("vm", vm);
        doc.put("from", from);
        doc.put("to", to);
        if (mode != null) {
            doc.put("mode", mode);
        }
        doc.put("seconds", r.took().toMillis() / 1000.0);
        doc.put("detail", r.detail());
        return doc;
    }

    /**
     * Connects to every node of the cluster configuration {@code --config} names (by its libvirt
     * URI), runs {@code body}, and closes the connections whatever happens.
     */
    private int onHosts(Args a, String command, String usage,
            java.util.function.ToIntFunction<Map<String, Hypervisor>> body) {
        a.require(command, "--config", usage);
        ClusterSpec spec = ClusterCommands.spec(a, command);
        Map<String, Hypervisor> hosts = new TreeMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            hosts.put(n.name(), new LibvirtHypervisor(n.name(), n.uri()));
        }
        try {
            return body.applyAsInt(hosts);
        } finally {
            hosts.values().forEach(Hypervisor::close);
        }
    }

    /**
     * {@code drill run ... --report DIR}: a directory havm can write into, checked before the drill
     * runs rather than after it (an unwritable path would waste the run). A missing directory is
     * made here, as the drill would.
     */
    static void checkReportDir(List<String> args) {
        int i = args.indexOf("--report");
        if (i < 0 || i + 1 >= args.size()) {
            return; // absent, or the drill's own parser says the value is missing
        }
        Path dir = Path.of(args.get(i + 1));
        try {
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                throw new InvalidInputException("havm drill run --report", dir + " is not a directory (reports are"
                        + " written into a directory: report.html, report.json, junit.xml)");
            }
            Files.createDirectories(dir);
            Files.delete(Files.createTempFile(dir, ".havm-write-check", ""));
        } catch (java.io.IOException | SecurityException e) {
            throw new InvalidInputException("havm drill run --report", "cannot write into " + dir + " ("
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                    + "): name a directory you can write");
        }
    }

    /** Node {@code n}'s fence device; a missing agent named with the file and node that give it. */
    static FenceDevice fenceDevice(String file, ClusterSpec.NodeSpec n) {
        try {
            return FenceDevice.of(n.fencing());
        } catch (InvalidInputException e) {
            throw new InvalidInputException(file + ": cluster.nodes." + n.name() + ".fencing." + e.where(),
                    e.problem());
        }
    }

    private static Hypervisor host(Map<String, Hypervisor> hosts, String name) {
        Hypervisor h = hosts.get(name);
        if (h == null) {
            throw new InvalidInputException("host", "unknown host '" + name + "' (nodes of the configuration: "
                    + String.join(" ", hosts.keySet()) + ")");
        }
        return h;
    }

    /** The hosts that cannot be asked about {@code domain}, with why (the connection's error). */
    private static Map<String, String> unreachable(Map<String, Hypervisor> hosts, String domain) {
        Map<String, String> down = new TreeMap<>();
        for (Map.Entry<String, Hypervisor> e : hosts.entrySet()) {
            try {
                e.getValue().state(domain);
            } catch (HypervisorException x) {
                if (x.kind() == HypervisorException.Kind.HOST_UNREACHABLE) {
                    String why = String.valueOf(x.getMessage());
                    down.put(e.getKey(), why.startsWith(e.getKey() + ": ") ? why.substring(e.getKey().length() + 2) : why);
                }
            }
        }
        return down;
    }

    /** "host h1 is unreachable (why)" or "hosts h1, h2 are unreachable (h1: why; h2: why)". */
    private static String describe(Map<String, String> down) {
        if (down.size() == 1) {
            var e = down.entrySet().iterator().next();
            return "host " + e.getKey() + " is unreachable (" + e.getValue() + ")";
        }
        List<String> why = new ArrayList<>();
        down.forEach((h, w) -> why.add(h + ": " + w));
        return "hosts " + String.join(", ", down.keySet()) + " are unreachable (" + String.join("; ", why) + ")";
    }

    private static Optional<String> runningOn(Map<String, Hypervisor> hosts, String domain) {
        return Whereabouts.activeOn(hosts.values(), domain).stream().findFirst();
    }

    private static void mkdirs(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new InvalidInputException(dir.toString(), "cannot create directory: " + e.getMessage());
        }
    }
}
