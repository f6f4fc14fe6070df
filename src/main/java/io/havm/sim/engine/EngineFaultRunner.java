package io.havm.sim.engine;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import io.havm.policy.Input;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded random faults against the real engine ({@link EngineSim}) with every resource type (VMs,
 * a disk, an OCF script): power losses, agent crashes, hung agent threads and crashed coordinators,
 * partitions, ZooKeeper quorum loss, crashes and restarts, isolation, heartbeat storage cuts,
 * libvirtd outages, failing starts, migrations and fences, guest crashes and hangs, scripts that
 * fail to start or stop, die, hang, are sick or whose monitor is broken, lost disks, hung storage,
 * operator moves, drains, shutdowns, offline and online. The referee checks after every event that
 * nothing runs twice, nothing starts while another copy runs, a Terminate counts only when nothing
 * of the group still runs there, thresholds hold, and a coordination outage alone changes nothing;
 * after the chaos everything is healed and, after a quiet period, no group may be left offline
 * while a node could run it.
 *
 * <p>Agents are crashed, hung or paused only where a host whose agent stopped answering is stopped
 * before its groups are recovered: a watchdog, or power fencing with no recovery without a fence.
 */
public final class EngineFaultRunner {
    static final Duration CHAOS = Duration.ofSeconds(60);
    static final Duration SETTLE = Duration.ofSeconds(10);
    static final Duration QUIET = Duration.ofSeconds(65);

    /** The outcome of one seed. */
    public record Outcome(long seed, List<String> problems, List<String> log, io.havm.policy.ClusterState state) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    private EngineFaultRunner() {}

    /**
     * The {@code cluster:} section of a 3-node simulated cluster (host1..host3, 2 GiB each, 3 s
     * sessions), with the lab fence agent on every node when {@code fencing}; groups follow.
     */
    public static String clusterYaml(String name, String extra, boolean fencing, String recoveryWithoutFence) {
        StringBuilder y = new StringBuilder("cluster:\n  name: " + name + "\n" + extra
                + "  timers: {sessionTimeout: 3s, zkTickTime: 500ms, selfFenceAfter: 0s, selfFenceDuration: 1s,"
                + " safetyMargin: 500ms, recoveryWithoutFence: " + recoveryWithoutFence + ", fenceRetry: 2s}\n"
                + "  nodes:\n");
        for (int i = 1; i <= 3; i++) {
            y.append("    - {name: host").append(i).append(", uri: qemu+tcp://10.77.0.").append(10 + i)
                    .append("/system, memoryMiB: 2048")
                    .append(fencing ? ", fencing: {agent: fence_havm_lab, options: {plug: host" + i + "}}" : "")
                    .append("}\n");
        }
        return y.toString();
    }

    /** The second channel and watchdog most chaos clusters run with (what production should). */
    static final String SECOND_CHANNEL = "  heartbeat: {dir: /srv/havm/heartbeat, interval: 500ms, timeout: 1s}\n"
            + "  watchdog: {device: /dev/watchdog, timeout: 6s}\n";

    static ClusterSpec cluster(Random r, boolean fencing, boolean secondChannel, boolean storageFencing) {
        String recovery = fencing && r.nextBoolean() ? "never" : secondChannel ? "5s" : "2s";
        String extra = "  migrationsPerHost: " + (1 + r.nextInt(2)) + "\n" + (secondChannel ? SECOND_CHANNEL : "");
        String base = clusterYaml("chaos", extra, fencing, recovery);
        if (storageFencing) {
            base = base.replaceAll("fencing: \\{agent: fence_havm_lab, options: \\{plug: host\\d\\}\\}",
                    "fencing: {agent: storage}");
        }
        StringBuilder y = new StringBuilder(base);
        String[] failbacks = {"never", "immediate"};
        y.append("storage:\n  pools: {shared: {type: shared-dir, path: /srv/havm/pool}}\n"
                + "  disks: {web-os: {pool: shared, size: 1G}}\n");
        y.append("groups:\n");
        y.append("  web: {preferredOwners: [host1], failback: ").append(failbacks[r.nextInt(2)])
                .append(", resources: {os: {type: disk, disk: web-os}, web-vm: {type: vm, memoryMiB: 256,"
                        + " dependsOn: [os], disks: [os], restart: {threshold: ").append(r.nextInt(3))
                .append(", period: 60s}}}}\n");
        y.append("  db: {preferredOwners: [host2], antiAffinity: [{class: data, hard: false}], resources: {db-vm:"
                + " {type: vm, memoryMiB: 512, offlineAction: ").append(r.nextBoolean() ? "save" : "turn-off")
                .append("}}}\n");
        y.append("  app: {possibleOwners: [host2, host3], failover: {threshold: 2, period: 6h}, resources: {app-vm:"
                + " {type: vm, memoryMiB: 256}, app-svc: {type: script, dependsOn: [app-vm], isAlive: 7s,"
                + " properties: {agent: \"ocf:heartbeat:Dummy\"}}}}\n");
        return ClusterConfigLoader.parse("engine-chaos.yaml", y.toString()).spec();
    }

    public static Outcome run(long seed) {
        Random r = new Random(seed);
        boolean fencing = r.nextInt(4) != 0;
        boolean secondChannel = r.nextInt(4) != 0;
        boolean storageFencing = fencing && secondChannel && r.nextInt(3) == 0;
        ClusterSpec spec = cluster(r, fencing, secondChannel, storageFencing);
        try (EngineSim sim = new EngineSim(spec)) {
            sim.boot();
            List<String> nodes = spec.nodeNames();
            List<String> groups = new ArrayList<>(spec.groups().keySet());
            double t = 5;
            while (t < CHAOS.toSeconds() && sim.violations().isEmpty()) {
                sim.runTo(t);
                // A crashed or paused agent is safe only if its host is stopped before its VMs are
                // recovered: a watchdog, or recovery that always waits for a power fence.
                boolean hungSafe = spec.watchdog() != null || fencing && spec.timers().recoveryWithoutFence() == null;
                chaos(sim, r, hungSafe, nodes, groups);
                t += 0.5 + r.nextDouble() * 6;
            }
            if (sim.violations().isEmpty()) {
                sim.runTo(CHAOS.toSeconds());
                sim.zkUp();
                sim.zkRestart();
                sim.clearFenceFailures();
                sim.restoreDisk("web-os");
                sim.scriptSick("app-svc", false);
                sim.scriptBroken("app-svc", false);
                for (String n : nodes) {
                    sim.recoverAgent(n);
                    sim.storageHang(n, false);
                    sim.scriptHang(n, "app-svc", false);
                    sim.scriptStartFails(n, "app-svc", 0);
                    sim.scriptStopFails(n, "app-svc", 0);
                    sim.failNextMigrations(n, 0);
                    sim.heal(n);
                    sim.thaw(n);
                    sim.host(n).failNextStarts(0);
                    if (sim.host(n).powered()) {
                        sim.host(n).libvirtd(true);
                    }
                    sim.powerOn(n);
                    sim.startAgent(n);
                }
                sim.runFor(SETTLE);
                for (String n : nodes) {
                    sim.operator(new Input.ResumeNode(n, false));
                }
                sim.runFor(QUIET);
            }
            List<String> problems = new ArrayList<>(sim.violations());
            if (problems.isEmpty()) {
                problems.addAll(sim.livenessProblems());
            }
            if (Boolean.getBoolean("havm.engineProfile")) {
                System.out.println("seed " + seed + " events " + sim.eventsRun());
            }
            return new Outcome(seed, problems, List.copyOf(sim.log()), sim.state());
        }
    }

    /**
     * One random fault. {@code hungSafe}: a host whose agent hangs is stopped before its VMs are
     * recovered (a power fence agent or a watchdog); only then are agent crashes and pauses injected.
     */
    private static void chaos(EngineSim sim, Random r, boolean hungSafe, List<String> nodes, List<String> groups) {
        String n = nodes.get(r.nextInt(nodes.size()));
        String g = groups.get(r.nextInt(groups.size()));
        long powered = nodes.stream().filter(x -> sim.host(x).powered()).count();
        boolean fencing = hungSafe;
        int k = r.nextInt(33);
        if (k >= 21) {
            switch (k) {
                case 31 -> {
                    if (hungSafe) {
                        sim.crashCoordinator();
                    }
                }
                case 32 -> {
                    if (powered > 2) {
                        sim.operator(new Input.ShutdownNode(n)); // drains, then the node leaves
                    }
                }
                case 21 -> sim.scriptStartFails(n, "app-svc", 1 + r.nextInt(2));
                case 22 -> sim.scriptStopFails(n, "app-svc", 1 + r.nextInt(2));
                case 23 -> sim.crashScript("app-svc");
                case 24 -> sim.scriptHang(n, "app-svc", r.nextBoolean());
                case 25 -> {
                    switch (r.nextInt(3)) {
                        case 0 -> sim.scriptSick("app-svc", r.nextBoolean());
                        case 1 -> sim.scriptBroken("app-svc", true);
                        default -> sim.scriptBroken("app-svc", false);
                    }
                }
                case 26 -> {
                    if (r.nextBoolean()) {
                        sim.loseDisk("web-os");
                    } else {
                        sim.restoreDisk("web-os");
                    }
                }
                case 27 -> sim.storageHang(n, r.nextBoolean());
                case 28 -> {
                    if (hungSafe && r.nextBoolean()) {
                        sim.hangAgent(n);
                    } else {
                        sim.recoverAgent(n);
                    }
                }
                case 29 -> sim.failNextMigrations(n, 1 + r.nextInt(2));
                default -> sim.hangGuest(g + "-vm");
            }
            return;
        }
        if (k >= 16) {
            switch (k) {
                case 16 -> sim.zkCrash();
                case 17 -> sim.zkRestart();
                case 18 -> {
                    if (powered > 2) {
                        sim.isolate(n);
                    }
                }
                case 19 -> {
                    if (r.nextBoolean()) {
                        sim.storageCut(n);
                    } else {
                        sim.storageRestore(n);
                    }
                }
                default -> {
                    if (hungSafe && r.nextBoolean()) {
                        sim.freeze(n);
                    } else {
                        sim.thaw(n);
                    }
                }
            }
            return;
        }
        switch (k) {
            case 0 -> {
                if (powered > 2) {
                    sim.powerOff(n);
                }
            }
            case 1, 2 -> sim.powerOn(n);
            case 3 -> {
                if (fencing) {
                    sim.crashAgent(n);
                }
            }
            case 4 -> sim.startAgent(n);
            case 5 -> sim.partition(n);
            case 6, 7 -> sim.heal(n);
            case 8 -> {
                if (r.nextInt(3) == 0) {
                    sim.zkDown();
                } else {
                    sim.zkUp();
                }
            }
            case 9 -> {
                if (sim.host(n).powered()) {
                    sim.libvirtd(n, r.nextBoolean());
                }
            }
            case 10 -> sim.failNextStarts(n, 1 + r.nextInt(2));
            case 11 -> sim.failNextFences(n, 1 + r.nextInt(3));
            case 12 -> sim.crashGuest(g + "-vm");
            case 13 -> sim.operator(new Input.MoveGroup(g, n, MoveMode.values()[r.nextInt(3)]));
            case 14 -> sim.operator(r.nextBoolean() ? new Input.DrainNode(n) : new Input.ResumeNode(n, r.nextBoolean()));
            default -> sim.operator(r.nextBoolean() ? new Input.GroupOffline(g) : new Input.GroupOnline(g));
        }
    }
}
