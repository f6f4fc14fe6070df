package io.havm.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster on the real lab, no operator: an agent in every host's namespace, the lab's
 * ZooKeeper, the lab fence agent. The host running the HA VM loses power; the cluster detects it,
 * fences it and restarts the VM on a survivor, exactly once, disk intact. Plain libvirt state on
 * every host is the referee.
 */
class ClusterIT {
    final RealLab lab = RealLab.get();
    final List<Process> agents = new ArrayList<>();
    RealLab.TestVm vm;
    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() {
        for (Process p : agents) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        lab.restoreAllHosts();
        if (vm != null) {
            lab.remove(vm.name());
        }
    }

    private Path config(String name) throws IOException {
        Path def = lab.lab.sharedDir().resolve("defs").resolve(vm.name() + ".xml");
        Files.createDirectories(def.getParent());
        Files.writeString(def, vm.props().definitionXml());
        StringBuilder y = new StringBuilder("cluster:\n  name: " + name + "\n  zookeeper: embedded\n"
                + "  timers: {sessionTimeout: 3s, zkTickTime: 500ms, selfFenceAfter: 0s, selfFenceDuration: 1s,"
                + " safetyMargin: 500ms, recoveryWithoutFence: never, fenceRetry: 2s}\n  nodes:\n");
        for (String h : lab.hosts.keySet()) {
            y.append("    - {name: ").append(h).append(", uri: '").append(lab.hv(h).uri()).append("', memoryMiB: 2048,")
                    .append(" fencing: {agent: ").append(lab.home.resolve("ci/fence_havm_lab")).append(", options: {plug: ")
                    .append(h).append("}, timeout: 60s}}\n");
        }
        y.append("groups:\n  web:\n    preferredOwners: [host1]\n    resources:\n      vm:\n        type: vm\n"
                + "        memoryMiB: 128\n        isAlive: 60s\n        properties: {domain: " + vm.name()
                + ", definition: " + def + ", stateDir: " + lab.lab.sharedDir().resolve("save")
                + ", unsafeSharedStorage: 'true'}\n");
        return Files.writeString(dir.resolve("cluster.yaml"), y.toString());
    }

    private void startAgent(String host, Path cfg) throws IOException {
        String cp = lab.home.resolve("target/havm.jar") + ":" + lab.home.resolve("target/lib") + "/*";
        ProcessBuilder pb = new ProcessBuilder(lab.home.resolve("ci/lab").toString(), "exec", host, "--", "java",
                "-Dhavm.home=" + lab.home, "-cp", cp, "io.havm.api.Main", "agent", "--config", cfg.toString(),
                "--node", host);
        pb.redirectErrorStream(true).redirectOutput(dir.resolve(host + ".log").toFile());
        agents.add(pb.start());
    }

    private static java.time.Instant at(String events, String needle) {
        return events.lines().filter(l -> l.contains(needle)).findFirst()
                .map(l -> java.time.Instant.parse(l.substring(0, l.indexOf(' '))))
                .orElseThrow(() -> new AssertionError("no event '" + needle + "' in:\n" + events));
    }

    private static double secs(java.time.Instant a, java.time.Instant b) {
        return Duration.between(a, b).toMillis() / 1000.0;
    }

    /** The node the cluster placed web on (whoever joined first may host it), once the guest booted. */
    private String ownerOnceOnline() {
        awaitOrLogs("web online", Duration.ofSeconds(120), () -> lab.activeOn(vm.name()).size() == 1);
        lab.awaitBooted(vm, 1);
        return lab.activeOn(vm.name()).get(0);
    }

    /** Waits for the condition; on timeout the failure carries every agent's log. */
    private void awaitOrLogs(String alias, Duration atMost, java.util.concurrent.Callable<Boolean> condition) {
        try {
            await(alias).atMost(atMost).pollInterval(Duration.ofMillis(200)).until(condition);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError(alias + " did not happen within " + atMost.toSeconds() + " s\n" + agentLogs(), e);
        }
    }

    private String agentLogs() {
        StringBuilder b = new StringBuilder();
        for (String h : lab.hosts.keySet()) {
            try {
                b.append("--- ").append(h).append('\n').append(Files.readString(dir.resolve(h + ".log")));
            } catch (IOException e) {
                b.append(e);
            }
        }
        return b.toString();
    }

    @Test
    void aHostPowerLossRestartsItsHaVmOnASurvivorExactlyOnceWithoutAnOperator() throws Exception {
        vm = lab.newVm("it-ha");
        String name = "it" + ProcessHandle.current().pid();
        Path cfg = config(name);
        for (String h : lab.hosts.keySet()) {
            startAgent(h, cfg);
        }
        String owner = ownerOnceOnline();

        long t0 = System.nanoTime();
        java.time.Instant pulled = java.time.Instant.now();
        Exec.run(Duration.ofMinutes(1), List.of(lab.home.resolve("ci/lab").toString(), "power-off", owner)).orThrow();
        lab.restoreConnections();
        awaitOrLogs("web recovered on a survivor", Duration.ofSeconds(90), () -> lab.activeOn(vm.name()).size() == 1);
        double seconds = (System.nanoTime() - t0) / 1e9;
        List<String> on = lab.activeOn(vm.name());
        assertTrue(on.size() == 1 && !on.contains(owner), on + "\n" + agentLogs());
        lab.awaitBooted(vm, 2);
        assertEquals(List.of(1, 2), vm.log().bootCounts(), "the disk kept its boot counter");
        assertEquals(1, lab.activeOn(vm.name()).size(), "exactly one copy");
        String events = Exec.run(Duration.ofMinutes(1), List.of("java", "-cp", lab.home.resolve("target/havm.jar") + ":"
                + lab.home.resolve("target/lib") + "/*", "io.havm.api.Main", "events", "--config", cfg.toString()))
                .out();
        assertTrue(events.contains(owner + " node: up -> lost (session expired)"), events);
        assertTrue(events.contains(owner + " node: lost -> fenced"), events);
        assertTrue(events.contains("starting on " + on.get(0)), events);
        // The cluster's own clock: the plug pull, then each phase as the coordinator logged it.
        java.time.Instant lost = at(events, owner + " node: up -> lost");
        java.time.Instant fenced = at(events, owner + " node: lost -> fenced");
        java.time.Instant running = at(events, "starting on " + on.get(0) + " -> online on " + on.get(0));
        System.out.printf("ClusterIT: host power loss -> VM running on %s after %.2f s (detection %.2f s, fence "
                + "%.2f s, start %.2f s); the test's own polling saw it after %.2f s%n", on.get(0),
                secs(pulled, running), secs(pulled, lost), secs(lost, fenced), secs(fenced, running), seconds);
    }

    @Test
    void anIsolatedHostSelfFencesAndTheSurvivorsRestartItsVmWithoutEverRunningTwoCopies() throws Exception {
        vm = lab.newVm("it-iso");
        Path cfg = config("iso" + ProcessHandle.current().pid());
        for (String h : lab.hosts.keySet()) {
            startAgent(h, cfg);
        }
        String owner = ownerOnceOnline();

        // Cut the owner off: its agent and libvirtd stay up but can reach nobody.
        lab.lab.isolate(owner);
        lab.restoreConnections();
        awaitOrLogs("web recovered on a survivor", Duration.ofSeconds(90), () -> lab.activeOn(vm.name()).size() == 1);
        lab.awaitBooted(vm, 2);
        int tick = vm.log().lastTick();
        lab.awaitConsole(vm, "boot 2 ticks for a while", c -> c.lastTick() >= tick + 3);
        // Both copies append to one serial log: had the isolated copy kept running after the new one
        // booted, its TICKs would interleave with boot 2's.
        assertTrue(vm.log().ticksContinuous(1), "boot 2's ticks: " + vm.log().ticksPerBoot().get(1) + "\n"
                + agentLogs());
        assertEquals(List.of(1, 2), vm.log().bootCounts());
        String log = Files.readString(dir.resolve(owner + ".log"));
        assertTrue(log.contains(owner + " agent: self-fenced: turned off " + vm.name()), log);
        assertEquals("off", lab.lab.host(owner).state(), "the survivors fenced the isolated host as well");
    }
}
