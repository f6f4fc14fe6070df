package io.havm.lab;

import io.havm.config.ClusterConfigLoader;
import io.havm.drill.DrillTarget;
import io.havm.drill.HostReferee;
import io.havm.drill.Preflight;
import io.havm.engine.Whereabouts;
import io.havm.libvirt.AccelProbe;
import io.havm.libvirt.GuestImage;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.ClusterSpec;
import io.havm.model.DomainType;
import io.havm.model.InvalidInputException;
import io.havm.model.Playbook;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.port.Clock;
import io.havm.validate.Check;
import io.havm.validate.LibvirtFacts;
import io.havm.validate.ReportFormat;
import io.havm.validate.Validate;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A drill on the lab's three real hosts: each playbook group is a test-guest VM (qcow2 on the
 * shared directory, serial console logged there) in a cluster of the lab's shape, an agent in each
 * host's namespaces. Faults go through ci/lab (the plug, the link, libvirtd, the agents, the lab's
 * ZooKeeper) or straight to the process (QEMU killed by its pid). The referees: every host's
 * libvirt asked directly, and the guest's own console (its BOOTED lines) and the boot counter it
 * keeps on its disk. The lab is brought up for the drill and torn down after it, also on failure.
 */
public final class LabTarget implements DrillTarget {
    /** What the lab can inject today; the rest is refused before anything is done. */
    static final Set<Playbook.FaultKind> CAN = EnumSet.of(Playbook.FaultKind.POWER_LOSS, Playbook.FaultKind.POWER_ON,
            Playbook.FaultKind.ISOLATE, Playbook.FaultKind.HEAL, Playbook.FaultKind.LIBVIRTD_RESTART,
            Playbook.FaultKind.QEMU_KILL, Playbook.FaultKind.AGENT_PAUSE, Playbook.FaultKind.AGENT_RESUME,
            Playbook.FaultKind.AGENT_KILL, Playbook.FaultKind.AGENT_START, Playbook.FaultKind.ZOOKEEPER_STOP,
            Playbook.FaultKind.ZOOKEEPER_START, Playbook.FaultKind.ZOOKEEPER_PAUSE, Playbook.FaultKind.ZOOKEEPER_RESUME,
            Playbook.FaultKind.ZOOKEEPER_RESTART, Playbook.FaultKind.FENCE_FAILS, Playbook.FaultKind.GUEST_AGENT_STOP,
            Playbook.FaultKind.GUEST_CRASH, Playbook.FaultKind.LUN_REMOVE, Playbook.FaultKind.LUN_RESTORE,
            Playbook.FaultKind.STORAGE_CUT, Playbook.FaultKind.STORAGE_RESTORE);
    private static final Duration PREPARE = Duration.ofSeconds(150);
    private static final int HOSTS = 3;
    /** Time to put a drill's failback windows in force (havm config apply) before its first step. */
    private static final Duration APPLY_WINDOWS = Duration.ofSeconds(15);

    private final Path home;
    private final PrintStream progress;
    private final Lab lab;
    private final Clock clock = Clock.SYSTEM;
    /** The drill cluster's configuration, as written for this drill. */
    private Path configFile;
    /** Every host's libvirt, asked by the referee (bounded; a connection never closed under a call). */
    private final HostReferee hosts = new HostReferee(clock);
    private final Map<String, LabVm> vms = new LinkedHashMap<>();
    /** The drill's cluster once its configuration is written (read by watchers on other threads). */
    private volatile LabCluster cluster;
    private volatile Instant lastFaultAt;
    private ClusterSpec spec;
    private Instant began;
    /** Whether this drill brought the lab up (then it takes it down), or found it up (then it leaves it as found). */
    private boolean broughtUp;
    private boolean touched;
    private final Set<Long> paused = new java.util.HashSet<>();
    /** Hosts whose heartbeat storage this drill cut (restored on close). */
    private final Set<String> storageCut = new java.util.TreeSet<>();
    /** LUNs this drill took off the lab's target (put back on close). */
    private final Set<Integer> removedLuns = new java.util.TreeSet<>();
    private Playbook playbook;
    /** The drill cluster's name and storage section, as first written (the windows' version keeps them). */
    private String name;
    private String storage;

    public LabTarget(Path home, PrintStream progress) {
        this.home = home;
        this.progress = progress;
        this.lab = new Lab(home, null);
    }

    /** The drill's cluster: null until the drill has written its configuration. */
    public LabCluster labCluster() {
        return cluster;
    }

    @Override
    public String describe() {
        return "the lab: " + HOSTS + " real libvirt hosts (QEMU guests), the lab's ZooKeeper and fence agent";
    }

    @Override
    public boolean simulated() {
        return false;
    }

    @Override
    public void check(Playbook p) {
        for (Playbook.Step s : p.steps()) {
            if (s instanceof Playbook.Fault f && !CAN.contains(f.kind())) {
                throw new InvalidInputException(p.file() + ":" + s.line() + ": fault", "'" + f.kind().word
                        + "' cannot be injected on the lab yet (the lab can: " + String.join(", ",
                        CAN.stream().map(k -> k.word).toList()) + "); rehearse it with --sim");
            }
            if (s instanceof Playbook.Fault f && f.disk() != null && !p.lunDisks().containsKey(f.disk())) {
                throw new InvalidInputException(p.file() + ":" + s.line() + ": disk", "unknown disk '" + f.disk()
                        + "': on the lab a drill's VM has a LUN only when its group says lun: N (groups: {web: {lun: 4}}"
                        + " gives disk web-lun)");
            }
            if (s instanceof Playbook.Check c && c.host() != null && c.host().host() != null
                    && !List.of("host1", "host2", "host3").contains(c.host().host())) {
                throw new InvalidInputException(p.file() + ":" + s.line() + ": host", "unknown host '"
                        + c.host().host() + "' (lab hosts: host1, host2, host3)");
            }
        }
    }

    @Override
    public ClusterSpec spec() {
        return spec;
    }

    @Override
    public void prepare(Playbook p) {
        progress.println("  preparing the lab: test guest image, 3 hosts, one VM per group, an agent per host");
        playbook = p;
        GuestImage guest = GuestImage.ensure(home);
        broughtUp = lab.status().stream().filter(Lab.Host::up).count() < HOSTS;
        touched = true;
        lab.up(HOSTS);
        for (Lab.Host h : lab.status()) {
            hosts.add(new LibvirtHypervisor(h.name(), h.uri()));
        }
        DomainType type = AccelProbe.resolve(System.getenv("HAVM_DOMAIN_TYPE"), guest.kernel(), guest.initrd(),
                Path.of("/var/cache/havm"));
        StringBuilder disks = new StringBuilder();
        for (Playbook.Need n : p.groups().values()) {
            vms.put(n.group(), LabVm.create(home, lab, hosts.hosts(), "drill-" + n.group(), type, guest, "64M"));
            if (n.lun() != 0) {
                disks.append(lunDisk(n));
            }
        }
        if (!disks.isEmpty()) { // the lab's pools (labStorage) name its shared directory pool too
            try {
                Files.createDirectories(lab.sharedDir().resolve("pool"));
            } catch (IOException e) {
                throw new IllegalStateException("cannot make " + lab.sharedDir().resolve("pool") + ": " + e.getMessage(), e);
            }
        }
        // leaseDir: the lab's hosts run virtlockd with their lockspace there
        storage = disks.isEmpty() ? "storage:\n  leaseDir: " + lab.sharedDir().resolve("lockd") + "\n"
                : LabCluster.labStorage(lab.facts()) + "  disks:\n" + disks;
        // A cluster name of its own: the lab's ZooKeeper keeps every earlier drill's state, which a
        // new coordinator of the same name would take for this cluster's.
        name = "drill-" + Long.toString(clock.now().toEpochMilli(), 36);
        Path cfg = writeConfig(p, lab.facts().root().resolve("drill/" + name + ".yaml"), null);
        spec = ClusterConfigLoader.load(cfg).spec();
        configFile = cfg;
        cluster = LabCluster.of(home, cfg);
        cluster.startAgents();
        Instant deadline = clock.now().plus(PREPARE);
        while (!ready(p)) {
            if (!clock.now().isBefore(deadline)) {
                StringBuilder logs = new StringBuilder();
                for (String h : List.of("host1", "host2", "host3")) {
                    List<String> lines = cluster.agentLog(h).lines().toList();
                    logs.append("\n--- agent ").append(h).append(" (last 25 lines)\n")
                            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size())));
                }
                throw new IllegalStateException("the groups did not all come online where the playbook wants them,"
                        + " guests booted, within " + PREPARE.toSeconds() + " s: " + cluster.state().orElse(null)
                        + logs);
            }
            pass(Duration.ofMillis(250));
        }
        began = clock.now();
    }

    /**
     * The failback windows, relative to the drill's start, written as times of day and put in
     * force as an operator changes a group's failback ({@code havm config apply}, ~3 s); the first
     * step starts when the windows' clock says the drill starts.
     */
    @Override
    public void begin(Playbook p) {
        if (!p.hasFailbackWindows()) {
            return;
        }
        Instant start = clock.now().plus(APPLY_WINDOWS).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        Path windows = writeConfig(p, lab.facts().root().resolve("drill/" + name + "-windows.yaml"), start);
        // the command an operator runs, from the built jar (./havm's build check is not for a drill)
        io.havm.util.Exec.Outcome o = io.havm.util.Exec.run(Duration.ofMinutes(1), BenchSupport.havm(home,
                "config", "apply", windows.toString(), "--comment", "the drill's failback windows"));
        if (o.code() != 0) {
            throw new IllegalStateException("havm config apply " + windows + " (the failback windows): " + o.out()
                    + o.err());
        }
        spec = ClusterConfigLoader.load(windows).spec();
        configFile = windows;
        if (clock.now().isAfter(start)) {
            throw new IllegalStateException("putting the failback windows in force took more than "
                    + APPLY_WINDOWS.toSeconds() + " s: the windows would open early");
        }
        pass(Duration.between(clock.now(), start));
    }

    /**
     * The drill cluster's configuration: the lab's hosts, timers, second channel and storage, one
     * group per playbook group; {@code start} non-null writes the failback windows relative to it
     * (in this machine's zone, the agents' too: they run here), null leaves them out (failback never).
     */
    private Path writeConfig(Playbook p, Path file, Instant start) {
        StringBuilder groups = new StringBuilder();
        for (Playbook.Need n : p.groups().values()) {
            LabVm vm = vms.get(n.group());
            List<String> preferred = n.on() == null ? List.of("host1", "host2", "host3") : List.of(n.on());
            String extra = start == null ? n.groupYaml() : n.groupYaml(start, java.time.ZoneId.systemDefault());
            groups.append(n.lun() != 0 ? lunGroup(n, vm, preferred, extra)
                    : LabCluster.vmGroup(n.group(), vm.name(), vm.definition(), lab.sharedDir().resolve("save"),
                            preferred, extra, "        looksAlive: 1s\n        isAlive: 5s\n"));
        }
        return LabCluster.writeConfig(file, home, name, lab.status(), LabCluster.FAST_TIMERS, storage,
                groups.toString());
    }

    /**
     * The storage disk of a group with {@code lun: N}: LUN N of the lab's iSCSI target, its first
     * sector cleared so that the guest's boot counter starts at 1 (an earlier test may have used
     * the LUN): the backing file is written before any initiator logs in to it.
     */
    private String lunDisk(Playbook.Need n) {
        Lab.Facts f = lab.facts();
        if (!f.luns().contains(n.lun())) {
            throw new IllegalStateException("group " + n.group() + ": lun " + n.lun() + " is not a LUN of the lab's"
                    + " target (LUNs: " + f.luns() + ")");
        }
        Path backing = f.root().resolve("iscsi").resolve("lun" + n.lun() + ".img");
        try (var ch = java.nio.channels.FileChannel.open(backing, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(512), 0);
            ch.force(true);
        } catch (IOException e) {
            throw new IllegalStateException("cannot clear the first sector of LUN " + n.lun() + " (" + backing + "): "
                    + e.getMessage(), e);
        }
        return "    " + n.lunDisk() + ": {pool: lab, lun: " + n.lun() + "}\n";
    }

    /** A group whose VM's only disk (vda, the guest's boot counter) is its LUN: a disk resource, then the VM on it. */
    private String lunGroup(Playbook.Need n, LabVm vm, List<String> preferred, String groupExtra) {
        return "  " + n.group() + ":\n    preferredOwners: [" + String.join(", ", preferred) + "]\n" + groupExtra
                + "    resources:\n      disk: {type: disk, disk: " + n.lunDisk() + ", looksAlive: 1s}\n"
                + "      vm:\n        type: vm\n        memoryMiB: 128\n        looksAlive: 1s\n        isAlive: 5s\n"
                + "        disks: [disk]\n        properties: {domain: " + vm.name() + ", definition: " + vm.definition()
                + ", stateDir: " + lab.sharedDir().resolve("save") + "}\n";
    }

    /** ci/lab iscsi remove-lun|add-lun N: the lab's target loses the LUN, or gets it back (same backing file). */
    private void iscsi(String verb, int lun) {
        io.havm.util.Exec.run(Duration.ofSeconds(30), List.of(home.resolve("ci/lab").toString(), "iscsi", verb,
                Integer.toString(lun))).orThrow();
    }

    private boolean ready(Playbook p) {
        for (Playbook.Need n : p.groups().values()) {
            ClusterState.Group g = group(n.group()).orElse(null);
            if (g == null || g.phase() != GroupPhase.ONLINE || (n.on() != null && !n.on().equals(g.node()))
                    || ConsoleLog.read(vms.get(n.group()).console()).booted() < 1) {
                return false;
            }
        }
        return true;
    }

    @Override
    public Instant now() {
        return clock.now();
    }

    @Override
    public void pass(Duration d) {
        DrillTarget.waitFor(clock, d);
    }

    @Override
    public Instant fault(Playbook.Fault f, String host) {
        Instant took = null;
        switch (f.kind()) {
            case POWER_LOSS -> {
                took = lab.pullPlug(host); // when its link went down, as ci/lab saw it
                hosts.drop(host); // a dead host answers nothing: not asked until it is back
                storageCut.remove(host); // its mount namespace, with the cut, is gone
            }
            case POWER_ON -> {
                lab.powerOn(HOSTS);
                hosts.addIfAbsent(host, n -> new LibvirtHypervisor(n, lab.host(n).uri()));
                cluster.startAgents(host);
            }
            case ISOLATE -> lab.isolate(host);
            case HEAL -> lab.heal(host);
            case LIBVIRTD_RESTART -> lab.restartLibvirtd(host);
            case QEMU_KILL -> {
                String vm = vms.get(f.group()).name();
                List<String> on = Whereabouts.activeOn(hosts.hosts(), vm);
                if (on.size() != 1) {
                    throw new IllegalStateException(vm + " runs on " + on + ": no single QEMU to kill");
                }
                long pid = pidIn(lab.facts().root().resolve("hosts").resolve(on.get(0))
                        .resolve("run/libvirt/qemu").resolve(vm + ".pid"));
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            case GUEST_CRASH -> {
                // A kernel panic: sysrq-c through the guest agent (the test guest enables sysrq). The
                // guest's pvpanic device tells QEMU, libvirt applies on_crash (destroy: shut off,
                // reason crashed), and the guest does not reset itself (panic=0). The shell waits a
                // little so that guest-exec answers before the kernel stops.
                String vm = vms.get(f.group()).name();
                List<String> on = Whereabouts.activeOn(hosts.hosts(), vm);
                if (on.size() != 1) {
                    throw new IllegalStateException(vm + " runs on " + on + ": no single guest to crash");
                }
                var hv = hosts.host(on.get(0));
                agentAnswers(hv, vm, Duration.ofSeconds(20));
                hv.agentCommand(vm, "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/sh\","
                        + "\"arg\":[\"-c\",\"sleep 0.2; echo c > /proc/sysrq-trigger\"]}}", Duration.ofSeconds(10));
            }
            case GUEST_AGENT_STOP -> {
                // The guest hangs as far as havm can tell: QEMU runs on, its guest agent answers
                // nothing. The agent stops itself: guest-exec runs a shell in the guest that sends
                // qemu-ga SIGSTOP (the test guest writes its pid to /run/qemu-ga.pid).
                String vm = vms.get(f.group()).name();
                List<String> on = Whereabouts.activeOn(hosts.hosts(), vm);
                if (on.size() != 1) {
                    throw new IllegalStateException(vm + " runs on " + on + ": no single guest to stop the agent of");
                }
                hosts.host(on.get(0)).agentCommand(vm, "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/sh\","
                        + "\"arg\":[\"-c\",\"kill -STOP $(cat /run/qemu-ga.pid)\"]}}", Duration.ofSeconds(10));
            }
            case AGENT_PAUSE -> {
                long pid = agentPid(host);
                signal(pid, "STOP");
                paused.add(pid);
            }
            case AGENT_RESUME -> {
                long pid = agentPid(host);
                signal(pid, "CONT");
                paused.remove(pid);
            }
            case FENCE_FAILS -> {
                // read by ci/fence_havm_lab: its next N power actions on this host fail
                Path fails = fenceFails().resolve(host);
                try {
                    Files.createDirectories(fails.getParent());
                    Files.writeString(fails, f.count() + "\n");
                } catch (IOException e) {
                    throw new IllegalStateException("cannot write " + fails + ": " + e.getMessage(), e);
                }
            }
            case LUN_REMOVE -> {
                int lun = playbook.lunDisks().get(f.disk()).lun();
                removedLuns.add(lun);
                iscsi("remove-lun", lun);
            }
            case LUN_RESTORE -> {
                int lun = playbook.lunDisks().get(f.disk()).lun();
                iscsi("add-lun", lun);
                removedLuns.remove(lun);
            }
            case STORAGE_CUT -> {
                // The host loses its heartbeat storage: inside its mount namespace (its agent's), an
                // empty read-only file system covers the cluster's heartbeat directory, so its agent
                // reads no one's heartbeat and cannot write its own (EROFS); the VMs' disks and
                // consoles on the shared directory stay reachable, as ZooKeeper does.
                Path dir = LabCluster.heartbeats(lab.facts()).resolve(name);
                lab.exec(host, "mount", "-t", "tmpfs", "-o", "ro,size=64k", "havm-storage-cut", dir.toString())
                        .orThrow();
                storageCut.add(host);
            }
            case STORAGE_RESTORE -> {
                storageRestore(host);
            }
            case AGENT_KILL -> lab.killAgent(host);
            case AGENT_START -> cluster.startAgents(host);
            case ZOOKEEPER_STOP -> lab.zookeeper("kill");
            case ZOOKEEPER_START -> lab.zookeeper("start");
            case ZOOKEEPER_PAUSE -> lab.zookeeper("pause");
            case ZOOKEEPER_RESUME -> lab.zookeeper("resume");
            case ZOOKEEPER_RESTART -> {
                lab.zookeeper("kill");
                pass(Duration.ofSeconds(2));
                lab.zookeeper("start");
            }
            default -> throw new IllegalStateException(f.kind().word + " cannot be injected on the lab yet");
        }
        lastFaultAt = took != null ? took : clock.now();
        return took;
    }

    /** When the last fault was injected (null: none yet), for watchers on other threads. */
    public Instant lastFaultAt() {
        return lastFaultAt;
    }

    /**
     * Waits until the guest's agent answers a ping: a guest just restarted has booted (its console
     * said so) a moment before its agent listens.
     */
    private void agentAnswers(io.havm.port.Hypervisor hv, String vm, Duration within) {
        Instant deadline = clock.now().plus(within);
        while (true) {
            try {
                hv.agentCommand(vm, "{\"execute\":\"guest-ping\"}", Duration.ofSeconds(2));
                return;
            } catch (RuntimeException e) {
                if (!clock.now().isBefore(deadline)) {
                    throw new IllegalStateException(vm + "'s guest agent does not answer within " + within.toSeconds()
                            + " s: " + e.getMessage(), e);
                }
                pass(Duration.ofMillis(250));
            }
        }
    }

    /** Takes the storage cut's file system off {@code host}'s heartbeat directory (its own files are there again). */
    private void storageRestore(String host) {
        if (storageCut.contains(host)) {
            lab.exec(host, "umount", LabCluster.heartbeats(lab.facts()).resolve(name).toString()).orThrow();
            storageCut.remove(host);
        }
    }

    /** Where the drill tells the lab's fence agent which power actions to fail (see ci/fence_havm_lab). */
    private Path fenceFails() {
        return lab.facts().root().resolve("fence-fails");
    }

    private long agentPid(String host) {
        return pidIn(lab.facts().agentsDir().resolve(host + ".pid"));
    }

    private static long pidIn(Path file) {
        try {
            return Long.parseLong(Files.readString(file).strip());
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("no pid in " + file + ": " + e.getMessage(), e);
        }
    }

    /** SIGSTOP / SIGCONT to a process this drill's lab started (by its pid). */
    private static void signal(long pid, String sig) {
        try {
            Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
            if (k.waitFor() != 0) {
                throw new IllegalStateException("kill -" + sig + " " + pid + ": " + new String(k.getInputStream()
                        .readAllBytes()).strip());
            }
        } catch (IOException e) {
            throw new IllegalStateException("kill -" + sig + " " + pid + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    @Override
    public void operate(Playbook.Operation o, String host) {
        cluster.submit(DrillTarget.input(o, host));
    }

    /**
     * {@code havm validate} of the drill's cluster, as the operator would run it: every host's
     * libvirt, the VMs' definitions, the fence agents' status, ZooKeeper, the timers, N+1.
     */
    @Override
    public Preflight preflight() {
        Validate.Report r = Validate.run(configFile, new LibvirtFacts(Validate.PER_HOST));
        Path out = lab.facts().root().resolve("drill").resolve(spec.name() + "-validate.json");
        try {
            Files.writeString(out, ReportFormat.json(r));
        } catch (IOException e) {
            out = null; // the summary still goes in the report
        }
        return Preflight.of(r.count(Check.Status.PASS), r.count(Check.Status.WARN), r.count(Check.Status.FAIL),
                r.count(Check.Status.SKIP), r.problems(),
                out == null ? "havm validate" : "havm validate, whole report in " + out);
    }

    @Override
    public Optional<String> coordinator() {
        return cluster.coordinator();
    }

    @Override
    public Optional<ClusterState.Group> group(String group) {
        try {
            return cluster.group(group);
        } catch (RuntimeException e) {
            throw new DrillTarget.Unreadable("havm's state cannot be read: " + e.getMessage(), e);
        }
    }

    /** Where libvirt has the VM executing (running or blocked), every host asked ({@link HostReferee#runningOn}). */
    @Override
    public List<String> runningOn(String group) {
        return hosts.runningOn(vms.get(group).name());
    }

    @Override
    public OptionalInt boots(String group) {
        return OptionalInt.of(ConsoleLog.read(vms.get(group).console()).booted());
    }

    @Override
    public Optional<Ticks> ticks(String group) {
        ConsoleLog log = ConsoleLog.read(vms.get(group).console());
        List<Integer> per = log.ticksPerBoot().stream().map(List::size).toList();
        boolean continuous = true;
        for (int b = 0; b < per.size(); b++) {
            continuous &= log.ticksContinuous(b);
        }
        return Optional.of(new Ticks(continuous, per.isEmpty() ? 0 : per.get(per.size() - 1), per));
    }

    @Override
    public Optional<Boolean> diskSurvived(String group) {
        List<Integer> counts = ConsoleLog.read(vms.get(group).console()).bootCounts();
        for (int i = 0; i < counts.size(); i++) {
            if (counts.get(i) != i + 1) {
                return Optional.of(false);
            }
        }
        return Optional.of(!counts.isEmpty());
    }

    @Override
    public List<String> refereeProblems() {
        return List.of();
    }

    @Override
    public List<String> events() {
        if (cluster == null) {
            return List.of();
        }
        return DrillTarget.eventsSince(cluster::events, began);
    }

    /**
     * Leaves the lab as the drill found it: paused agents continued and every agent stopped, the
     * drill's VMs removed from every host, hosts powered on and healed, the lab's ZooKeeper running;
     * a lab the drill brought up is taken down.
     */
    @Override
    public void close() {
        if (!touched) {
            return;
        }
        RuntimeException first = null;
        try (var fails = Files.list(fenceFails())) { // no injected fence failure outlives the drill
            for (Path f : fails.toList()) {
                Files.delete(f);
            }
        } catch (java.nio.file.NoSuchFileException none) {
            // no fence failure was injected
        } catch (IOException e) {
            first = new IllegalStateException("cannot clear " + fenceFails() + ": " + e.getMessage(), e);
        }
        for (String h : List.copyOf(storageCut)) { // no host's namespace keeps the cut
            try {
                storageRestore(h);
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        for (int lun : removedLuns) { // no LUN stays off the lab's target
            try {
                iscsi("add-lun", lun);
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        for (long pid : paused) {
            try {
                signal(pid, "CONT");
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (broughtUp) {
            hosts.close();
            if (cluster != null) {
                cluster.close();
            }
            progress.println("  tearing the lab down");
            lab.down();
            if (first != null) {
                throw first;
            }
            return;
        }
        try {
            if (cluster != null) {
                cluster.stopAgents();
                cluster.close();
            }
        } catch (RuntimeException e) {
            first = first == null ? e : first;
        }
        try {
            lab.zookeeper("start"); // a no-op when it runs
            for (Lab.Host h : lab.status()) {
                if ("isolated".equals(h.state())) {
                    lab.heal(h.name());
                }
            }
            lab.up(HOSTS);
            hosts.dropAll();
            for (Lab.Host h : lab.status()) {
                hosts.add(new LibvirtHypervisor(h.name(), h.uri()));
            }
            for (LabVm vm : vms.values()) {
                Whereabouts.removeEverywhere(hosts.hosts(), vm.name());
            }
        } catch (RuntimeException e) {
            first = first == null ? e : first;
        } finally {
            hosts.closeNow(); // fresh connections to hosts that are up
        }
        progress.println("  the lab is as the drill found it: hosts on, agents stopped, its VMs removed");
        if (first != null) {
            throw first;
        }
    }
}
