package io.havm.sim;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import io.havm.policy.Input;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Seeded random faults against the simulated cluster: nodes that boot late (startup grace),
 * power losses, partitions, ZooKeeper outages, coordinator crashes, guest crashes and hangs,
 * agents and libvirt calls that hang (commands time out), failing fences, onlines and
 * migrations, operator moves and drains. Invariants are checked after every event (never two
 * copies, no recovery before fencing, thresholds honoured); after the chaos everything is healed
 * and, after a quiet period, no group may be left offline while a node could run it.
 *
 * <p>The same seed gives the same run, to the event: a failure is replayed with
 * {@code mvn test -Dtest=FaultRunnerTest -Dhavm.seed=N}, which prints the whole log.
 */
public final class FaultRunner {
    static final Duration CHAOS = Duration.ofSeconds(240);
    static final Duration QUIET = Duration.ofSeconds(300);

    /** The outcome of one seed. */
    public record Outcome(long seed, List<String> problems, List<String> log, int events,
            io.havm.policy.ClusterState state) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    private FaultRunner() {}

    static ClusterSpec cluster(Random r) {
        boolean fencing = r.nextInt(4) != 0;
        String recovery = fencing && r.nextBoolean() ? "never" : "2s";
        String grace = new String[] {"0s", "10s", "20s", "60s"}[r.nextInt(4)];
        // Short pending timeouts, so that hung agents run into them within the chaos.
        String pending = new String[] {"4s", "10s", "60s"}[r.nextInt(3)];
        StringBuilder y = new StringBuilder("cluster:\n  name: chaos\n  timeZone: UTC\n  migrationsPerHost: " + (1 + r.nextInt(2))
                + "\n  timers: {sessionTimeout: 3s, zkTickTime: 500ms, selfFenceAfter: 0s, selfFenceDuration: 1s,"
                + " safetyMargin: 500ms, recoveryWithoutFence: " + recovery + ", fenceRetry: 2s, startupGrace: " + grace
                + "}\n  nodes:\n");
        for (int i = 1; i <= 4; i++) {
            y.append("    - {name: host").append(i).append(", uri: qemu+tcp://10.77.0.").append(10 + i)
                    .append("/system, memoryMiB: 2048")
                    .append(fencing ? ", fencing: {agent: fence_havm_lab, options: {plug: host" + i + "}}" : "")
                    .append("}\n");
        }
        String[] failbacks = {"never", "immediate", "window 22-06", "window 02-04"};
        y.append("groups:\n");
        String pt = "pendingTimeout: " + pending + ", ";
        y.append("  sql1: {preferredOwners: [host1], priority: 50, antiAffinity: [{class: sql, hard: true}],"
                + " failback: ").append(failbacks[r.nextInt(4)]).append(", resources: {sql1-vm: {type: vm, " + pt
                + "memoryMiB: 512, isAlive: 10s}}}\n");
        y.append("  sql2: {preferredOwners: [host2], priority: 50, antiAffinity: [{class: sql, hard: ")
                .append(r.nextBoolean()).append("}], resources: {sql2-vm: {type: vm, " + pt + "memoryMiB: 512}}}\n");
        y.append("  web: {preferredOwners: [host3, host1], failback: ").append(failbacks[r.nextInt(4)])
                .append(", resources: {web-disk: {type: script, " + pt + "}, web-vm: {type: vm, " + pt
                        + "memoryMiB: 256, dependsOn: [web-disk], restart: {threshold: ").append(r.nextInt(3))
                .append(", period: 60s}}}}\n");
        y.append("  app: {possibleOwners: [host2, host3, host4], failover: {threshold: ").append(1 + r.nextInt(3))
                .append(", period: 6h}, resources: {app-vm: {type: vm, " + pt + "memoryMiB: 768, isAlive: 10s}}}\n");
        y.append("  batch: {priority: -5, resources: {batch-vm: {type: vm, " + pt + "memoryMiB: 1024}, batch-log: {type: script,"
                + " " + pt + "restart: {threshold: 1, period: 60s, affectsGroup: false}}}}\n");
        return ClusterConfigLoader.parse("chaos.yaml", y.toString()).spec();
    }

    public static Outcome run(long seed) {
        // java.util.Random's first draws barely differ between nearby seeds (seeds 1..1000 never drew
        // 0 or 1 from nextInt(4), so no run ever had a cluster without fence agents): mix the seed.
        Random r = new Random(new SplittableRandom(seed).nextLong());
        ClusterSpec spec = cluster(r);
        SimCluster sim = new SimCluster(spec);
        sim.traceAgents = true;
        sim.boot();
        // Most nodes boot at once; some boot late (or only when a fault powers them on), as after a
        // cluster-wide power cut: the startup grace decides whether the early ones take everything.
        TreeMap<Long, String> late = new TreeMap<>(); // ms -> node; past 5 s: a fault boots it
        for (int i = 0; i < spec.nodeNames().size(); i++) {
            String n = spec.nodeNames().get(i);
            if (r.nextInt(4) == 0) {
                late.put(1000 + r.nextInt(8000) * 10L + i, n); // distinct keys: the last digit is the node
            } else {
                sim.powerOn(n);
            }
        }
        sim.settle();
        for (Map.Entry<Long, String> e : late.entrySet()) {
            if (e.getKey() < 5000) {
                sim.runUntil(sim.t0.plus(Duration.ofMillis(e.getKey())));
                sim.powerOn(e.getValue());
                sim.settle();
            }
        }
        List<String> nodes = spec.nodeNames();
        List<String> groups = new ArrayList<>(spec.groups().keySet());
        int events = 0;
        double t = 5;
        while (t < CHAOS.toSeconds() && sim.violations().isEmpty()) {
            sim.runUntil(sim.t0.plus(Duration.ofMillis((long) (t * 1000))));
            chaos(sim, r, spec, nodes, groups);
            sim.settle();
            events++;
            t += 0.5 + r.nextDouble() * 8;
        }
        // Heal everything, then let the cluster settle.
        if (sim.violations().isEmpty()) {
            sim.runUntil(sim.t0.plus(CHAOS));
            sim.zkUp();
            for (String n : nodes) {
                sim.recoverAgent(n);
            }
            sim.fenceFailures.clear();
            sim.onlineFailures.clear();
            sim.moveFailures.clear();
            for (String n : nodes) {
                sim.heal(n);
                sim.powerOn(n);
            }
            sim.settle();
            sim.runFor(Duration.ofSeconds(20));
            for (String n : nodes) {
                sim.operator(new Input.ResumeNode(n, false));
            }
            sim.settle();
            sim.runFor(QUIET);
        }
        List<String> problems = new ArrayList<>(sim.violations());
        if (problems.isEmpty()) {
            problems.addAll(sim.livenessProblems());
        }
        return new Outcome(seed, problems, sim.log(), events, sim.state());
    }

    private static void chaos(SimCluster sim, Random r, ClusterSpec spec, List<String> nodes, List<String> groups) {
        String n = nodes.get(r.nextInt(nodes.size()));
        String g = groups.get(r.nextInt(groups.size()));
        String res = new ArrayList<>(spec.groups().get(g).resources().keySet()).get(
                r.nextInt(spec.groups().get(g).resources().size()));
        int powered = (int) sim.nodes.values().stream().filter(x -> x.powered).count();
        switch (r.nextInt(22)) {
            case 0, 1 -> {
                if (powered > 2) {
                    sim.powerOff(n);
                }
            }
            case 2, 3 -> sim.powerOn(n);
            case 4 -> {
                if (powered > 2) {
                    sim.partition(n);
                }
            }
            case 5, 6 -> sim.heal(n);
            case 7 -> sim.crash(g, res);
            case 8 -> sim.hang(g, res);
            case 9 -> sim.failNextFences(n, 1 + r.nextInt(3));
            case 10 -> sim.failNextOnline(g, n, 1);
            case 11 -> sim.failNextMove(g);
            case 12 -> sim.crashCoordinator();
            case 13 -> {
                if (r.nextInt(3) == 0) {
                    sim.zkDown();
                } else {
                    sim.zkUp();
                }
            }
            case 14, 15 -> sim.operator(new Input.MoveGroup(g, n, MoveMode.values()[r.nextInt(3)]));
            case 16 -> sim.operator(new Input.DrainNode(n));
            case 17 -> sim.operator(new Input.ResumeNode(n, r.nextBoolean()));
            case 18 -> sim.operator(r.nextBoolean() ? new Input.GroupOffline(g) : new Input.GroupOnline(g));
            case 19 -> sim.hangAgent(n, r.nextBoolean());
            case 20 -> sim.recoverAgent(n);
            default -> sim.operator(new Input.GroupOnline(g));
        }
    }
}
