package io.havm.drill;

import io.havm.model.Playbook;
import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.ResourceSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.sim.engine.EngineSim;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A drill in the simulator: the real coordinator, agents and policy on simulated hosts, libvirt,
 * ZooKeeper and fence devices, in virtual time ({@link EngineSim}). Its referee is the simulator's
 * own: where each simulated libvirt runs a domain, every start, and a start while another copy
 * runs.
 */
public final class SimTarget implements DrillTarget {
    /** The lab's timers (io.havm.lab.LabCluster.FAST_TIMERS; a test keeps them equal). */
    public static final String LAB_TIMERS = "{sessionTimeout: 3s, zkTickTime: 250ms, selfFenceAfter: 0s,"
            + " selfFenceDuration: 1s, safetyMargin: 500ms, recoveryWithoutFence: never, fenceRetry: 2s}";

    /** How long preparing may take: the cluster forms, places and starts every group. */
    private static final Duration PREPARE = Duration.ofSeconds(120);

    private final ClusterSpec spec;
    private final EngineSim sim;
    private int startsBefore;
    private int eventsBefore;
    /** The playbook whose groups make this lab-shaped cluster (null: a cluster's own configuration). */
    private Playbook shapeOf;

    private SimTarget(ClusterSpec spec) {
        this.spec = spec;
        this.sim = new EngineSim(spec);
    }

    /**
     * The lab's shape (three hosts with the lab's fence agent, its timers and second channel) with
     * one VM group per playbook group, preferring the host the playbook puts it on, monitored as
     * the lab's drills monitor it (LooksAlive every second, IsAlive through the guest agent every 5 s).
     */
    public static SimTarget labShape(Playbook p) {
        SimTarget t = new SimTarget(ClusterConfigLoader.parse("the lab's shape (simulated)", labYaml(p, null)).spec());
        t.shapeOf = p;
        return t;
    }

    /**
     * The lab's shape for playbook {@code p} as a configuration; {@code start} non-null writes the
     * groups' failback windows relative to it (in UTC, the simulated cluster's zone), null leaves
     * them out (failback never).
     */
    private static String labYaml(Playbook p, Instant start) {
        StringBuilder y = new StringBuilder("cluster:\n  name: drill\n  timeZone: UTC\n"
                + "  heartbeat: {dir: /sim/shared/heartbeat, interval: 500ms, timeout: 1s}\n"
                + "  watchdog: {device: /dev/watchdog, timeout: 10s}\n"
                + "  timers: " + LAB_TIMERS + "\n  nodes:\n");
        for (int i = 1; i <= 3; i++) {
            y.append("    - {name: host").append(i).append(", uri: 'qemu+tcp://10.77.0.1").append(i)
                    .append("/system', memoryMiB: 2048, fencing: {agent: fence_havm_lab, options: {plug: host")
                    .append(i).append("}}}\n");
        }
        if (!p.lunDisks().isEmpty()) { // the lab's iSCSI target, as the lab's drill cluster names it
            y.append("storage:\n  pools:\n    lab: {type: iscsi, portal: '10.77.0.1:3260', target:"
                    + " 'iqn.2026-11.io.havm:lab', luns: [1,2,3,4,5,6,7,8]}\n  disks:\n");
            p.lunDisks().forEach((d, n) -> y.append("    ").append(d).append(": {pool: lab, lun: ").append(n.lun())
                    .append("}\n"));
        }
        y.append("groups:\n");
        for (Playbook.Need n : p.groups().values()) {
            y.append("  ").append(n.group()).append(":\n");
            if (n.on() != null) {
                y.append("    preferredOwners: [").append(n.on()).append("]\n");
            }
            y.append(start == null ? n.groupYaml() : n.groupYaml(start, java.time.ZoneOffset.UTC));
            y.append("    resources:\n");
            if (n.lun() != 0) {
                y.append("      disk: {type: disk, disk: ").append(n.lunDisk()).append(", looksAlive: 1s}\n");
            }
            y.append("      ").append(n.group()).append("-vm: {type: vm, memoryMiB: ").append(n.memoryMiB())
                    .append(", looksAlive: 1s, isAlive: 5s").append(n.lun() != 0 ? ", disks: [disk]" : "").append("}\n");
        }
        return y.toString();
    }

    /** A cluster configuration, simulated: the playbook's groups must be among its groups. */
    public static SimTarget of(ClusterSpec spec) {
        return new SimTarget(spec);
    }

    @Override
    public String describe() {
        return "the simulator (havm's real engine; simulated hosts, libvirt, ZooKeeper and fence devices; virtual"
                + " time): " + spec.nodeNames().size() + " hosts";
    }

    @Override
    public boolean simulated() {
        return true;
    }

    @Override
    public ClusterSpec spec() {
        return spec;
    }

    @Override
    public void prepare(Playbook p) {
        for (String n : spec.nodeNames()) {
            sim.powerOn(n);
        }
        Instant deadline = sim.now().plus(PREPARE);
        Set<String> moved = new java.util.HashSet<>();
        while (!ready(p)) {
            // a cluster's own configuration may place a group elsewhere: moved (live) where the
            // playbook wants it, as a drill on that cluster's hosts moves it
            for (Playbook.Need n : p.groups().values()) {
                ClusterState.Group g = group(n.group()).orElse(null);
                if (n.on() != null && g != null && g.phase() == GroupPhase.ONLINE && !n.on().equals(g.node())
                        && moved.add(n.group())) {
                    sim.operator(new io.havm.policy.Input.MoveGroup(n.group(), n.on(), io.havm.model.MoveMode.LIVE));
                }
            }
            if (!sim.now().isBefore(deadline)) {
                throw new IllegalStateException("the groups did not all come online where the playbook wants them"
                        + " within " + PREPARE.toSeconds() + " s: " + sim.state());
            }
            sim.runFor(Duration.ofMillis(100));
        }
        startsBefore = 0; // the first start is a boot the drill counts
        eventsBefore = sim.events().size();
    }

    private boolean ready(Playbook p) {
        for (Playbook.Need n : p.groups().values()) {
            ClusterState.Group g = group(n.group()).orElse(null);
            if (g == null || g.phase() != GroupPhase.ONLINE || (n.on() != null && !n.on().equals(g.node()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void begin(Playbook p) {
        if (shapeOf != null && p.hasFailbackWindows()) {
            // as on the lab: the windows, relative to the drill's start, put in force as it starts
            // (on a whole second: a window is written in whole seconds)
            int nanos = sim.now().getNano();
            if (nanos != 0) {
                sim.runFor(Duration.ofNanos(1_000_000_000L - nanos));
            }
            try {
                Path f = Files.createTempFile("havm-drill-windows", ".yaml");
                try {
                    Files.writeString(f, labYaml(p, sim.now()));
                    sim.applyConfig(f);
                } finally {
                    Files.delete(f);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Override
    public Instant now() {
        return sim.now();
    }

    @Override
    public void pass(Duration d) {
        sim.runFor(d);
    }

    @Override
    public Instant fault(Playbook.Fault f, String host) {
        switch (f.kind()) {
            case POWER_LOSS -> sim.powerOff(host);
            case POWER_ON -> sim.powerOn(host);
            case ISOLATE -> sim.isolate(host);
            case HEAL -> sim.heal(host);
            case LIBVIRTD_RESTART -> {
                sim.libvirtd(host, false);
                sim.runFor(Duration.ofSeconds(1)); // a restart: down for about as long as on a real host
                sim.libvirtd(host, true);
            }
            case QEMU_KILL, GUEST_CRASH -> domains(f.group()).forEach(sim::crashGuest);
            case GUEST_AGENT_STOP -> domains(f.group()).forEach(sim::hangGuest);
            case AGENT_PAUSE -> sim.freeze(host);
            case AGENT_RESUME -> sim.thaw(host);
            case AGENT_KILL -> sim.crashAgent(host);
            case AGENT_START -> sim.startAgent(host);
            case ZOOKEEPER_STOP -> sim.zkCrash();
            case ZOOKEEPER_START -> sim.zkRestart();
            case ZOOKEEPER_PAUSE -> sim.zkDown();
            case ZOOKEEPER_RESUME -> sim.zkUp();
            case ZOOKEEPER_RESTART -> {
                sim.zkCrash();
                sim.runFor(Duration.ofSeconds(2));
                sim.zkRestart();
            }
            case FENCE_FAILS -> sim.failNextFences(host, f.count());
            case LUN_REMOVE -> sim.loseDisk(f.disk());
            case LUN_RESTORE -> sim.restoreDisk(f.disk());
            case STORAGE_CUT -> sim.storageCut(host);
            case STORAGE_RESTORE -> sim.storageRestore(host);
            default -> throw new IllegalStateException(f.kind().word);
        }
        return null;
    }

    @Override
    public void operate(Playbook.Operation o, String host) {
        sim.operator(DrillTarget.input(o, host));
    }

    @Override
    public Optional<String> coordinator() {
        return sim.coordinator();
    }

    @Override
    public Optional<ClusterState.Group> group(String group) {
        ClusterState s = sim.state();
        return s == null ? Optional.empty() : Optional.ofNullable(s.groups().get(group));
    }

    private List<String> domains(String group) {
        GroupSpec g = spec.groups().get(group);
        List<String> out = new ArrayList<>();
        for (ResourceSpec r : g.resources().values()) {
            if (r.type() == ResourceSpec.Type.VM) {
                out.add(r.domain());
            }
        }
        return out;
    }

    @Override
    public List<String> runningOn(String group) {
        Set<String> on = new LinkedHashSet<>();
        for (String d : domains(group)) {
            on.addAll(sim.runningOn(d));
        }
        return List.copyOf(on);
    }

    @Override
    public java.util.OptionalInt boots(String group) {
        List<String> ds = domains(group);
        int k = 0;
        List<String> starts = sim.starts();
        for (int i = startsBefore; i < starts.size(); i++) {
            String[] w = starts.get(i).split(" ");
            if (w.length >= 4 && ds.contains(w[2]) && w[3].equals("start")) {
                k++;
            }
        }
        return java.util.OptionalInt.of(k);
    }

    @Override
    public Optional<Boolean> diskSurvived(String group) {
        return Optional.empty();
    }

    @Override
    public List<String> refereeProblems() {
        return List.copyOf(sim.violations());
    }

    @Override
    public List<String> events() {
        List<String> e = sim.events();
        return List.copyOf(e.subList(Math.min(eventsBefore, e.size()), e.size()));
    }

    /** The simulator's own log: every fault, agent action and coordinator decision, in virtual time. */
    public List<String> log() {
        return sim.log();
    }

    /** Checks that a configuration has what the playbook names. */
    public static void requireGroups(Playbook p, ClusterSpec spec, String configFile) {
        for (Playbook.Need n : p.groups().values()) {
            if (!spec.groups().containsKey(n.group())) {
                throw new InvalidInputException(p.file() + ": groups." + n.group(), "no such group in " + configFile
                        + " (groups: " + String.join(", ", spec.groups().keySet()) + ")");
            }
            // what only a drill's own groups can have: a cluster's groups keep their configuration
            if (n.lun() != 0 || n.failbackWindow() != null) {
                throw new InvalidInputException(p.file() + ": groups." + n.group() + "." + (n.lun() != 0 ? "lun"
                        : "failbackWindow"), "is for the lab's drill groups only: on " + configFile + " group "
                        + n.group() + " has its own disks and failback (change them there)");
            }
        }
    }

    @Override
    public void close() {
        sim.close();
    }
}
