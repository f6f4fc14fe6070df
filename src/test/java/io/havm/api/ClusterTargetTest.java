package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.PlaybookLoader;
import io.havm.model.InvalidInputException;
import io.havm.model.Playbook;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a drill on a cluster's own hosts refuses before it touches the cluster: a fault it cannot
 * inject, power through a node without a fence agent, destructive steps without --destructive.
 * Nothing listens on the configuration's ZooKeeper (port 1): a check that connected would fail.
 */
class ClusterTargetTest {
    @TempDir
    Path dir;

    private Path config() throws Exception {
        return Files.writeString(dir.resolve("cluster.yaml"), "cluster:\n  name: prod\n  zookeeper: '127.0.0.1:1'\n"
                + "  nodes:\n"
                + "    - {name: kvm1, uri: 'test:///default', fencing: {agent: /bin/true, options: {plug: kvm1}}}\n"
                + "    - {name: kvm2, uri: 'test:///default', fencing: {agent: /bin/true, options: {plug: kvm2}}}\n"
                + "groups:\n  web:\n    resources:\n      vm: {type: vm, memoryMiB: 128, properties: {domain: web-vm}}\n");
    }

    private Playbook playbook(String steps) throws Exception {
        return PlaybookLoader.load(Files.writeString(dir.resolve("p.yaml"), "name: p\ndescription: d\n"
                + "groups: {web: {on: kvm1}}\nsteps:\n" + steps));
    }

    private ClusterTarget target(boolean destructive) throws Exception {
        return new ClusterTarget(config(), destructive, new PrintStream(new ByteArrayOutputStream()));
    }

    @Test
    void aFaultTheClusterCannotTakeIsRefusedNamingItsLineAndWhatItCan() throws Exception {
        Playbook p = playbook("  - fault: power-loss\n    host: kvm1\n  - fault: isolate\n    host: kvm2\n");
        try (ClusterTarget t = target(true)) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> t.check(p));
            assertEquals(dir.resolve("p.yaml") + ":7: fault: 'isolate' cannot be injected on a cluster's own hosts"
                    + " (a cluster target can: power-loss, power-on, qemu-kill); rehearse it with --sim --config "
                    + dir.resolve("cluster.yaml"), e.getMessage());
        }
    }

    @Test
    void destructiveStepsAreRefusedWithoutTheFlag() throws Exception {
        Playbook p = playbook("  - fault: power-loss\n    host: kvm1\n  - wait: web\n    notOn: kvm1\n    within: 30s\n"
                + "  - fault: qemu-kill\n    group: web\n  - fault: power-on\n    host: kvm1\n");
        try (ClusterTarget t = target(false)) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> t.check(p));
            assertEquals(dir.resolve("p.yaml") + ": destructive steps on the cluster's own hosts: line 5 (power-loss),"
                    + " line 10 (qemu-kill) (power-loss powers a host off through its fence agent, qemu-kill destroys"
                    + " a VM): run with --destructive to allow them", e.getMessage());
        }
        try (ClusterTarget t = target(true)) {
            t.check(p); // allowed with the flag
        }
        try (ClusterTarget t = target(false)) {
            t.check(playbook("  - fault: power-on\n    host: kvm2\n  - operation: drain\n    host: kvm2\n"));
        }
    }

    @Test
    void theGroupsMustBeTheClustersWithTheirVms() throws Exception {
        Playbook p = PlaybookLoader.load(Files.writeString(dir.resolve("q.yaml"), "name: q\ndescription: d\n"
                + "groups: {db: {}}\nsteps:\n  - pause: 1s\n"));
        try (ClusterTarget t = target(true)) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> t.check(p));
            assertEquals(dir.resolve("q.yaml") + ": groups.db: no such group in " + dir.resolve("cluster.yaml")
                    + " (groups: web)", e.getMessage());
        }
    }

    @Test
    void theCommandRefusesUpFrontWithExitTwo() throws Exception {
        Path c = config();
        playbook("  - fault: power-loss\n    host: kvm1\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main(Path.of("."), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(java.util.List.of("drill", "run",
                dir.resolve("p.yaml").toString(), "--config", c.toString()));
        assertEquals(2, code, out.toString(StandardCharsets.UTF_8));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("line 5 (power-loss)")
                && err.toString(StandardCharsets.UTF_8).contains("--destructive"), err.toString(StandardCharsets.UTF_8));
        code = new Main(Path.of("."), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(java.util.List.of("drill", "run",
                dir.resolve("p.yaml").toString(), "--sim", "--destructive"));
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("havm drill run --destructive: is for a run on a"
                + " cluster's own hosts (--config without --sim)"), err.toString(StandardCharsets.UTF_8));
    }
}
