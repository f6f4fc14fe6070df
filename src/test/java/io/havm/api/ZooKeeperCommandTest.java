package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.BootstrapLoader;
import io.havm.coordination.FreePorts;
import io.havm.model.Bootstrap;
import io.havm.model.InvalidInputException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havm zookeeper} up to the point where it would start the server: which member a machine
 * runs, the warnings, and every refusal (exit 2, the file and field or address named, nothing
 * started). The servers themselves are {@link ZooKeeperProcessTest}'s.
 */
class ZooKeeperCommandTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(List.of(args));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** A bootstrap file for {@code node} (null: a witness machine), members as YAML flow maps. */
    private Path file(String node, String extra, String... members) throws Exception {
        StringBuilder y = new StringBuilder();
        if (node != null) {
            y.append("node: ").append(node).append('\n');
        }
        y.append("cluster: prod\n").append(extra).append("ensemble:\n  dataDir: ").append(dir.resolve("zk"))
                .append("\n  tickTime: 2s\n  members:\n");
        for (String m : members) {
            y.append("    - ").append(m).append('\n');
        }
        return Files.writeString(dir.resolve((node == null ? "witness" : node) + ".yaml"), y.toString());
    }

    private static final String[] THREE = {
        "{id: 1, node: host1, host: 127.0.0.1, clientPort: 2181}",
        "{id: 2, node: host2, host: 127.0.0.2, clientPort: 2181}",
        "{id: 3, node: host3, host: 127.0.0.3, clientPort: 2181}"};
    private static final String[] TWO_AND_WITNESS = {
        "{id: 1, node: host1, host: 127.0.0.1}",
        "{id: 2, node: host2, host: 127.0.0.2}",
        "{id: 3, witness: true, host: 127.0.0.3}"};

    private ZooKeeperCommand.Plan plan(Path f, boolean witness) {
        return ZooKeeperCommand.plan(BootstrapLoader.load(f), witness);
    }

    @Test
    void eachHostRunsTheMemberOnItsNodeAndTheWitnessMachineTheWitness() throws Exception {
        ZooKeeperCommand.Plan p = plan(file("host2", "", THREE), false);
        assertEquals(2, p.member().id());
        assertEquals("127.0.0.2", p.member().host());
        assertEquals(List.of(), p.warnings());
        assertFalse(p.standalone());

        ZooKeeperCommand.Plan w = plan(file(null, "", TWO_AND_WITNESS), true);
        assertEquals(3, w.member().id());
        assertTrue(w.member().witness());
        assertEquals(List.of(), w.warnings(), "two hosts and a witness are three votes: no warning");
    }

    @Test
    void aSingleMemberIsAStandaloneServerWithoutComplaint() throws Exception {
        ZooKeeperCommand.Plan p = plan(file("host1", "", "{id: 1, node: host1, host: 127.0.0.1}"), false);
        assertTrue(p.standalone());
        assertEquals(List.of(), p.warnings());
    }

    @Test
    void aMachineWithoutAMemberIsRefusedWithTheMembersListed() throws Exception {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> plan(file("host4", "", THREE), false));
        assertTrue(e.getMessage().endsWith("host4.yaml: ensemble.members: no member runs on node 'host4' (members: 1 node"
                + " host1 at 127.0.0.1:2181, 2 node host2 at 127.0.0.2:2181, 3 node host3 at 127.0.0.3:2181)"),
                e.getMessage());

        // a witness machine that forgot --witness is told about it
        e = assertThrows(InvalidInputException.class, () -> plan(file(null, "", TWO_AND_WITNESS), false));
        assertTrue(e.getMessage().contains("witness.yaml: node: is not set") && e.getMessage().contains(
                "or run the witness with havm zookeeper --witness"), e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> plan(file("host9", "", TWO_AND_WITNESS), false));
        assertTrue(e.getMessage().contains("no member runs on node 'host9'")
                && e.getMessage().contains("if this machine is the witness: havm zookeeper --witness"), e.getMessage());
    }

    @Test
    void witnessWithoutAWitnessMemberOrOnAMembersHostIsRefused() throws Exception {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> plan(file(null, "", THREE), true));
        assertTrue(e.getMessage().contains("ensemble.members: --witness, but no member is 'witness: true'"),
                e.getMessage());

        e = assertThrows(InvalidInputException.class, () -> plan(file("host1", "", TWO_AND_WITNESS), true));
        assertTrue(e.getMessage().contains("host1.yaml: node: 'host1' runs member 1 already: the witness must run on"
                + " a third machine"), e.getMessage());
    }

    @Test
    void anExternalEnsembleLeavesNothingToRun() throws Exception {
        Path f = Files.writeString(dir.resolve("agent.yaml"), "node: host1\ncluster: prod\nzookeeper: 'zk1:2181,zk2:2181'\n");
        assertEquals(2, run("zookeeper", "--bootstrap", f.toString()));
        assertTrue(err().contains("agent.yaml: has no 'ensemble': havm zookeeper runs a member of the ensemble listed"
                + " there") && err().contains("with an external ensemble ('zookeeper: zk1:2181,zk2:2181') there is"
                + " nothing to run here"), err());
    }

    @Test
    void anEvenNumberOfVotersIsWarnedAboutWithTheArithmetic() throws Exception {
        List<String> two = plan(file("host1", "", TWO_AND_WITNESS[0], TWO_AND_WITNESS[1]), false).warnings();
        assertEquals(1, two.size(), two.toString());
        assertTrue(two.get(0).contains("2 voting members need 2 for a quorum, so the ensemble survives losing 0 — no"
                + " more than 1 member would") && two.get(0).contains("Add a witness"), two.get(0));

        List<String> four = plan(file("host1", "", THREE[0], THREE[1], THREE[2],
                "{id: 4, node: host4, host: 127.0.0.4}"), false).warnings();
        assertEquals(1, four.size(), four.toString());
        assertTrue(four.get(0).contains("4 voting members need 3 for a quorum, so the ensemble survives losing 1 — no"
                + " more than 3 members would") && four.get(0).contains("split 2|2, neither half serves"), four.get(0));
    }

    @Test
    void aSessionTimeoutTheEnsembleWouldClampIsWarnedAbout() throws Exception {
        // tick 2 s grants 4..40 s; the agent asks for 3 s
        List<String> w = plan(file("host1", "sessionTimeout: 3s\n", THREE), false).warnings();
        assertEquals(List.of(dir.resolve("host1.yaml") + ": sessionTimeout 3000 ms is outside what this ensemble"
                + " grants (2..20 ticks of ensemble.tickTime 2000 ms: 4000..40000 ms): ZooKeeper gives clients 4000 ms"
                + " sessions instead"), w);
    }

    @Test
    void aTakenPortIsRefusedWithTheAddressAndFieldNamedAndTheWarningsStillSaid() throws Exception {
        int[] p = FreePorts.pick(3);
        String me = "{id: 1, node: host1, host: 127.0.0.1, clientPort: " + p[0] + ", quorumPort: " + p[1]
                + ", electionPort: " + p[2] + "}";
        Path f = file("host1", "", me, "{id: 2, node: host2, host: 127.0.0.2}");
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p[2]));
            assertEquals(2, run("zookeeper", "--bootstrap", f.toString()));
        }
        assertTrue(err().contains("havm: " + f + ": member 1 (node host1): cannot listen on 127.0.0.1:" + p[2]
                + " (its electionPort): BindException Address already in use"), err());
        assertTrue(err().contains("havm zookeeper: warning: " + f + ": ensemble.members: 2 voting members"), err());
        assertEquals("", out.toString(StandardCharsets.UTF_8), "nothing started");
    }

    @Test
    void anAddressThatIsNotThisMachinesIsRefused() throws Exception {
        // TEST-NET-1 (RFC 5737): never assigned to a host
        Path f = file("host1", "", "{id: 1, node: host1, host: 192.0.2.1, clientPort: " + FreePorts.pick(1)[0] + "}");
        assertEquals(2, run("zookeeper", "--bootstrap", f.toString()));
        assertTrue(err().contains("member 1 (node host1): cannot listen on 192.0.2.1:") && err().contains(
                "is 192.0.2.1 an address of this machine?"), err());
    }

    @Test
    void aDataDirThatCannotBeMadeOrHoldsAnotherMembersDataIsRefused() throws Exception {
        int[] p = FreePorts.pick(3);
        String me = "{id: 2, node: host2, host: 127.0.0.1, clientPort: " + p[0] + ", quorumPort: " + p[1]
                + ", electionPort: " + p[2] + "}";
        // a regular file where a directory should be: refused even for root
        Path f = file("host2", "", THREE[0], me, THREE[2]);
        Files.writeString(dir.resolve("zk"), "not a directory");
        assertEquals(2, run("zookeeper", "--bootstrap", f.toString()));
        assertTrue(err().contains(f + ": ensemble.dataDir: " + dir.resolve("zk") + " cannot be created: ")
                && err().contains("member 2 (node host2) keeps its snapshots, transaction log and myid there"), err());

        Files.delete(dir.resolve("zk"));
        Files.createDirectories(dir.resolve("zk"));
        Files.writeString(dir.resolve("zk/myid"), "3\n");
        err.reset();
        assertEquals(2, run("zookeeper", "--bootstrap", f.toString()));
        assertTrue(err().contains(f + ": ensemble.dataDir: " + dir.resolve("zk") + " holds the data of member '3' (its"
                + " myid), not of member 2: a member must never start on another's data"), err());
        assertEquals("3\n", Files.readString(dir.resolve("zk/myid")), "left as it was");
    }

    @Test
    void badArgumentsAndAMissingFileAreRefused() throws Exception {
        assertEquals(2, run("zookeeper", "--colour", "blue"));
        assertTrue(err().contains("havm zookeeper: unknown option '--colour' (allowed: --bootstrap, --witness; usage:"
                + " havm zookeeper [--bootstrap FILE] [--witness])"), err());
        err.reset();
        assertEquals(2, run("zookeeper", "--bootstrap", dir.resolve("none.yaml").toString()));
        assertTrue(err().contains(dir.resolve("none.yaml") + ": does not exist (a bootstrap file was expected)"), err());
        assertEquals(Path.of("/etc/havm/agent.yaml"), Bootstrap.DEFAULT_FILE);
    }
}
