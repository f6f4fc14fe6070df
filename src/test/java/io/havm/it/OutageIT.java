package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.lab.LabCluster;
import io.havm.policy.NodeStatus;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Never an outage havm itself caused", drilled on the real lab: ZooKeeper killed and restarted
 * with its data, paused, or losing its leader in an ensemble stops, starts and fences nothing;
 * an isolated host with storage fencing only, a paused agent and a Terminate that libvirt cannot
 * do still never run a VM twice.
 *
 * <p>The referee is outside havm: every half second, inside every lab host's namespaces, which
 * QEMU processes libvirt recorded are alive (this works while a host is isolated and while its
 * libvirtd is stopped), plus each guest's console (TICKs, BOOTED) and the boot counter on its disk.
 */
class OutageIT {
    private static final Duration BOOT = Duration.ofSeconds(120);
    /** Time to settle after coordination comes back: sessions restored by a restarted server expire, agents rejoin. */
    private static final Duration SETTLE = Duration.ofSeconds(15);

    final RealLab lab = RealLab.get();
    final List<RealLab.TestVm> vms = new ArrayList<>();
    LabCluster cluster;
    Referee referee;
    boolean ensemble;
    /** The lab's ZooKeeper was killed or paused by this test: it is brought back in the clean-up. */
    boolean zkKilled;
    boolean zkPaused;
    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() throws IOException {
        try {
            if (referee != null) {
                referee.close();
            }
            if (zkPaused) {
                LabZooKeeper.resume();
            }
            if (zkKilled) {
                LabZooKeeper.start();
            }
            Drills.stop(cluster, lab);
        } finally {
            if (ensemble) {
                LabZooKeeper.ensembleDown();
            }
            lab.restoreAllHosts();
            vms.forEach(v -> lab.remove(v.name()));
        }
    }

    // ------------------------------------------------------------------ set-up

    private RealLab.TestVm vm(String name) throws IOException {
        RealLab.TestVm v = Drills.vmWithDefinition(lab, name);
        vms.add(v);
        return v;
    }

    private String group(RealLab.TestVm v, String group, String preferred) {
        return Drills.group(lab, v, group, List.of(preferred), "", "");
    }

    private void cluster(String name, String groups, LabCluster.Fencing fencing, String zk) {
        Path cfg = LabCluster.writeConfig(dir.resolve("cluster.yaml"), lab.home, name + ProcessHandle.current().pid(),
                lab.lab.status(), LabCluster.FAST_TIMERS, "", groups, fencing, zk);
        cluster = LabCluster.of(lab.home, cfg);
        cluster.startAgents();
    }

    private String online(String group, RealLab.TestVm v, int boots) {
        Drills.awaitOrLogs(cluster, group + " online", BOOT, () -> cluster.onlineOn(group).isPresent()
                && lab.activeOn(v.name()).equals(List.of(cluster.onlineOn(group).get())));
        lab.awaitBooted(v, boots);
        return cluster.onlineOn(group).orElseThrow();
    }

    /** Two groups, web on host1 and db on host2, online and booted; the referee watching them. */
    private Map<String, String> twoGroups(String name, LabCluster.Fencing fencing, String zk) throws IOException {
        RealLab.TestVm web = vm("it-out-web");
        RealLab.TestVm db = vm("it-out-db");
        cluster(name, group(web, "web", "host1") + group(db, "db", "host2"), fencing, zk);
        Map<String, String> placed = new LinkedHashMap<>();
        placed.put(web.name(), online("web", web, 1));
        placed.put(db.name(), online("db", db, 1));
        referee = new Referee(lab, vms.stream().map(RealLab.TestVm::name).toList());
        return placed;
    }

    /**
     * Nothing happened to any VM: every sample of the referee shows each where it was, the guests
     * never rebooted and ticked on without a gap, every host is on, the cluster sees every node up
     * and its timeline has no failover, restart or fence since {@code t0}.
     */
    private void assertNothingHappened(Map<String, String> placed, Instant t0) {
        Drills.awaitOrLogs(cluster, "every node a member and up again", Duration.ofSeconds(60),
                () -> cluster.members().size() == 3 && cluster.state().map(s -> s.nodes().values().stream()
                        .allMatch(n -> n.status() == NodeStatus.UP)).orElse(false));
        for (RealLab.TestVm v : vms) {
            int tick = v.log().lastTick();
            lab.awaitConsole(v, "ticks on", c -> c.lastTick() > tick + 2);
        }
        referee.close();
        for (Map.Entry<String, String> e : placed.entrySet()) {
            assertEquals(List.of(List.of(e.getValue())), referee.distinct(e.getKey()),
                    e.getKey() + " ran only on " + e.getValue() + " in every sample\n" + cluster.agentLogs());
        }
        for (RealLab.TestVm v : vms) {
            assertEquals(1, v.log().booted(), v.name() + " never rebooted");
            assertTrue(v.log().ticksContinuous(0), v.name() + " ticks: " + v.log().ticksPerBoot());
        }
        for (var h : lab.lab.status()) {
            assertEquals("up", h.state(), h.name() + " was not fenced");
        }
        List<String> events = eventsSince(t0);
        for (String e : events) {
            assertFalse(e.contains("fence") || e.contains("-> awaiting-fence") || e.contains("-> restarting")
                    || e.contains("-> failing") || e.contains("lost"), "no fence, loss, restart or failover: " + e
                    + "\n" + String.join("\n", events));
        }
    }

    private List<String> eventsSince(Instant t0) {
        List<String> out = new ArrayList<>();
        for (String e : cluster.events()) {
            if (LabCluster.eventTime(List.of(e), "", t0).isPresent()) {
                out.add(e);
            }
        }
        return out;
    }

    private Instant at(String needle, Instant since) {
        return LabCluster.eventTime(cluster.events(), needle, since).orElseThrow(() -> new AssertionError(
                "no event '" + needle + "' since " + since + ":\n" + String.join("\n", cluster.events())));
    }

    private static double secs(Instant a, Instant b) {
        return Duration.between(a, b).toMillis() / 1000.0;
    }

    // ------------------------------------------------------------------ coordination outages

    @Test
    void zooKeeperKilledAndRestartedWithItsDataAfter20sAnd3MinStopsStartsAndFencesNothing() throws Exception {
        Map<String, String> placed = twoGroups("zkk", LabCluster.Fencing.POWER, null);
        long minutes = Long.getLong("havm.zkOutageMinutes", 3);
        for (Duration outage : List.of(Duration.ofSeconds(20), Duration.ofMinutes(minutes))) {
            Instant t0 = Instant.now();
            zkKilled = true;
            LabZooKeeper.kill();
            Drills.keepFaultFor(outage);
            LabZooKeeper.start();
            zkKilled = false;
            Drills.keepFaultFor(SETTLE); // the restored sessions expire meanwhile: nothing may follow
            assertNothingHappened(placed, t0);
            assertTrue(cluster.events().stream().anyMatch(e -> e.contains("coordination: zookeeper unreachable from")),
                    "the outage is one entry of the timeline:\n" + String.join("\n", cluster.events()));
            System.out.printf("OutageIT: zookeeper killed for %d s and restarted: nothing stopped, started or fenced%n",
                    outage.toSeconds());
            referee = new Referee(lab, vms.stream().map(RealLab.TestVm::name).toList());
        }
    }

    @Test
    void zooKeeperPausedFor2500msWithA3sSessionChangesNothing() throws Exception {
        Map<String, String> placed = twoGroups("zkp", LabCluster.Fencing.POWER, null);
        Instant t0 = Instant.now();
        zkPaused = true;
        LabZooKeeper.pause();
        Drills.keepFaultFor(Duration.ofMillis(2500));
        LabZooKeeper.resume();
        zkPaused = false;
        Drills.keepFaultFor(SETTLE);
        assertNothingHappened(placed, t0);
    }

    @Test
    void anEnsembleLosingItsLeaderOrAFollowerChangesNothing() throws Exception {
        ensemble = true;
        LabZooKeeper.ensembleUp();
        Map<String, String> placed = twoGroups("zke", LabCluster.Fencing.POWER, LabZooKeeper.ensemble());
        Instant t0 = Instant.now();
        int leader = LabZooKeeper.ensembleLeader();
        LabZooKeeper.ensembleKill(leader);
        int[] next = new int[1];
        org.awaitility.Awaitility.await("a new leader").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
                    next[0] = LabZooKeeper.ensembleLeader(); // fails while the election runs
                    return next[0] != leader;
                });
        Drills.keepFaultFor(SETTLE);
        assertNothingHappened(placed, t0);
        LabZooKeeper.ensembleStart(leader);
        System.out.printf("OutageIT: ensemble leader zk%d killed, zk%d leads: nothing stopped, started or fenced%n",
                leader, next[0]);
        // Any single server: now a follower.
        int follower = java.util.stream.IntStream.rangeClosed(1, 3).filter(i -> i != next[0]).findFirst().orElseThrow();
        referee = new Referee(lab, vms.stream().map(RealLab.TestVm::name).toList());
        Instant t1 = Instant.now();
        LabZooKeeper.ensembleKill(follower);
        Drills.keepFaultFor(SETTLE);
        assertNothingHappened(placed, t1);
        LabZooKeeper.ensembleStart(follower);
        System.out.printf("OutageIT: ensemble follower zk%d killed: nothing stopped, started or fenced%n", follower);
    }

    // ------------------------------------------------------------------ real failures, never two copies

    @Test
    void anIsolatedOwnerWithStorageFencingOnlyStopsItsVmBeforeItStartsOnASurvivor() throws Exception {
        RealLab.TestVm v = vm("it-out-iso");
        cluster("sfi", group(v, "web", "host1"), LabCluster.Fencing.STORAGE, null);
        String owner = online("web", v, 1);
        referee = new Referee(lab, List.of(v.name()));
        Instant cut = Instant.now();
        lab.lab.isolate(owner);
        Drills.awaitOrLogs(cluster, "web online away from " + owner, BOOT, () -> cluster.onlineOn("web")
                .filter(n -> !n.equals(owner)).isPresent());
        lab.restoreConnections();
        String survivor = cluster.onlineOn("web").orElseThrow();
        lab.awaitBooted(v, 2);
        Instant booted = Instant.now();
        int tick = v.log().lastTick();
        lab.awaitConsole(v, "boot 2 ticks on", c -> c.lastTick() >= tick + 3);
        referee.close();
        assertEquals(0, referee.twoCopies(v.name()), "never two copies: " + referee.timeline(v.name()));
        assertTrue(v.log().ticksContinuous(1), "boot 2's ticks: " + v.log().ticksPerBoot().get(1));
        assertEquals(List.of(1, 2), v.log().bootCounts());
        Instant stopped = referee.lastSeenOn(v.name(), owner);
        Instant started = referee.firstSeenOn(v.name(), survivor);
        assertTrue(stopped.isBefore(started), "stopped on " + owner + " at " + stopped + ", started on " + survivor
                + " at " + started);
        String log = cluster.agentLog(owner);
        assertTrue(log.contains(owner + " agent: self-fence ("), log);
        assertTrue(cluster.events().stream().anyMatch(e -> e.contains(owner + " node: lost -> fenced (fenced: acknowledged")),
                String.join("\n", cluster.events()));
        assertEquals("isolated", lab.lab.host(owner).state(), "no power fence: the host itself is still on");
        System.out.printf("OutageIT: isolation, storage fencing only: cut -> VM started on %s after %.2f s, guest"
                + " userspace after %.2f s (stopped on %s %.2f s after the cut)%n", survivor, secs(cut, started),
                secs(cut, booted), owner, secs(cut, stopped));
    }

    @Test
    void anOwnerWhoseAgentIsPausedIsPoweredOffByItsWatchdogAndItsVmRecoveredOnce() throws Exception {
        RealLab.TestVm v = vm("it-out-stop");
        cluster("wdg", group(v, "web", "host1"), LabCluster.Fencing.STORAGE, null);
        String owner = online("web", v, 1);
        referee = new Referee(lab, List.of(v.name()));
        long pid = Long.parseLong(Files.readString(lab.lab.facts().agentsDir().resolve(owner + ".pid")).strip());
        Instant paused = Instant.now();
        Exec.run(Duration.ofSeconds(5), List.of("kill", "-STOP", Long.toString(pid))).orThrow();
        Drills.awaitOrLogs(cluster, owner + " powered off by its watchdog", Duration.ofSeconds(30),
                () -> "off".equals(lab.lab.host(owner).state()));
        Instant off = Instant.now();
        Drills.awaitOrLogs(cluster, "web online away from " + owner, BOOT, () -> cluster.onlineOn("web")
                .filter(n -> !n.equals(owner)).isPresent());
        lab.restoreConnections();
        String survivor = cluster.onlineOn("web").orElseThrow();
        lab.awaitBooted(v, 2);
        referee.close();
        assertEquals(0, referee.twoCopies(v.name()), "never two copies: " + referee.timeline(v.name()));
        assertEquals(List.of(1, 2), v.log().bootCounts());
        String wd = Files.readString(lab.lab.facts().watchdogDir().resolve(owner + ".log"));
        assertTrue(wd.contains("no pet for"), wd);
        assertTrue(referee.lastSeenOn(v.name(), owner).isBefore(referee.firstSeenOn(v.name(), survivor)));
        System.out.printf("OutageIT: agent paused on %s: watchdog powered it off after %.2f s; web on %s after %.2f s%n",
                owner, secs(paused, off), survivor, secs(paused, referee.firstSeenOn(v.name(), survivor)));
    }

    @Test
    void aTerminateWithTheOwnersLibvirtdStoppedKillsTheVmByPidBeforeItStartsElsewhere() throws Exception {
        RealLab.TestVm v = vm("it-out-term");
        Path marks = Files.createDirectories(dir.resolve("marks"));
        String app = Drills.appOn(marks, "        looksAlive: 1s\n        restart: {threshold: 0, period: 60s}\n");
        cluster("term", group(v, "web", "host1") + app, LabCluster.Fencing.POWER, null);
        String owner = online("web", v, 1);
        referee = new Referee(lab, List.of(v.name()));
        // libvirtd of the owner stops; then the app fails: the group must leave, and libvirt cannot
        // turn the VM off there. The agent kills QEMU by the pid libvirt recorded, proves it, and
        // only then may the VM start elsewhere.
        lab.lab.exec(owner, "sh", "-c", "kill $(cat /run/libvirtd.pid)").orThrow();
        Files.delete(marks.resolve(owner));
        Drills.awaitOrLogs(cluster, "web online away from " + owner, BOOT, () -> cluster.onlineOn("web")
                .filter(n -> !n.equals(owner)).isPresent());
        lab.restoreConnections();
        String survivor = cluster.onlineOn("web").orElseThrow();
        lab.awaitBooted(v, 2);
        referee.close();
        assertEquals(0, referee.twoCopies(v.name()), "never two copies: " + referee.timeline(v.name()));
        String log = cluster.agentLog(owner);
        assertTrue(log.contains("escalated") && log.contains("killed the QEMU of " + v.name() + " by its pid"), log);
        assertTrue(referee.lastSeenOn(v.name(), owner).isBefore(referee.firstSeenOn(v.name(), survivor)));
        assertEquals(List.of(1, 2), v.log().bootCounts());
    }

    // ------------------------------------------------------------------ the referee

    /**
     * Every half second, in every lab host's namespaces: which of the VMs have a live QEMU that
     * libvirt recorded. Needs neither the host's network nor its libvirtd.
     */
    static final class Referee implements AutoCloseable {
        private final RealLab lab;
        private final List<String> vms;
        private final List<String> hosts;
        private final List<Instant> at = new ArrayList<>();
        private final List<Map<String, List<String>>> samples = new ArrayList<>();
        private final Thread thread;
        private volatile boolean stop;

        Referee(RealLab lab, List<String> vms) {
            this.lab = lab;
            this.vms = List.copyOf(vms);
            this.hosts = List.copyOf(lab.hosts.keySet());
            thread = new Thread(this::run, "referee");
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            StringBuilder sh = new StringBuilder();
            for (String d : vms) {
                sh.append("f=/run/libvirt/qemu/").append(d).append(".pid; if [ -f $f ] && grep -q qemu /proc/$(cat $f)/cmdline"
                        + " 2>/dev/null; then echo ").append(d).append("; fi; ");
            }
            while (!stop) {
                Instant t = Instant.now();
                Map<String, List<String>> where = new TreeMap<>();
                vms.forEach(d -> where.put(d, new ArrayList<>()));
                for (String h : hosts) {
                    Exec.Outcome o = lab.lab.exec(h, "sh", "-c", sh.toString());
                    if (o.code() != 0) {
                        continue; // powered off: none of its processes is left
                    }
                    for (String line : o.out().lines().toList()) {
                        if (where.containsKey(line.strip())) {
                            where.get(line.strip()).add(h);
                        }
                    }
                }
                synchronized (this) {
                    at.add(t);
                    samples.add(where);
                }
                Duration left = Duration.ofMillis(500).minus(Duration.between(t, Instant.now()));
                if (!left.isNegative()) {
                    try {
                        Thread.sleep(left.toMillis()); // the sampling period, not a wait for a condition
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }

        @Override
        public void close() {
            stop = true;
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        synchronized int twoCopies(String vm) {
            return (int) samples.stream().filter(s -> s.get(vm).size() > 1).count();
        }

        /** The distinct placements in order of appearance (consecutive repeats folded). */
        synchronized List<List<String>> distinct(String vm) {
            List<List<String>> out = new ArrayList<>();
            for (Map<String, List<String>> s : samples) {
                if (out.isEmpty() || !out.get(out.size() - 1).equals(s.get(vm))) {
                    out.add(s.get(vm));
                }
            }
            return out;
        }

        synchronized Instant lastSeenOn(String vm, String host) {
            Instant last = null;
            for (int i = 0; i < samples.size(); i++) {
                if (samples.get(i).get(vm).contains(host)) {
                    last = at.get(i);
                }
            }
            if (last == null) {
                throw new AssertionError(vm + " never seen on " + host + ": " + timeline(vm));
            }
            return last;
        }

        synchronized Instant firstSeenOn(String vm, String host) {
            for (int i = 0; i < samples.size(); i++) {
                if (samples.get(i).get(vm).contains(host)) {
                    return at.get(i);
                }
            }
            throw new AssertionError(vm + " never seen on " + host + ": " + timeline(vm));
        }

        synchronized String timeline(String vm) {
            StringBuilder b = new StringBuilder();
            List<String> prev = null;
            for (int i = 0; i < samples.size(); i++) {
                List<String> now = samples.get(i).get(vm);
                if (!now.equals(prev)) {
                    b.append('\n').append(at.get(i)).append(' ').append(now);
                    prev = now;
                }
            }
            return b.toString();
        }
    }
}
