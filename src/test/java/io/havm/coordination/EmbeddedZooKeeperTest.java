package io.havm.coordination;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.InvalidInputException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The embedded server as the command line builds it: arguments, start, stop, restart on its data. */
@ExtendWith(QuietZooKeeper.class)
class EmbeddedZooKeeperTest {
    @TempDir
    Path tmp;

    private EmbeddedZooKeeper zk;
    private EmbeddedZooKeeper other;

    @AfterEach
    void stop() {
        if (zk != null) {
            zk.close();
        }
        if (other != null) {
            other.close();
        }
    }

    @Test
    void argumentsStartAStandaloneServerThatKeepsItsDataAcrossRestarts() {
        int port = FreePorts.pick(1)[0];
        zk = EmbeddedZooKeeper.fromArgs(new String[] {
            "--bind", "127.0.0.1", "--port", Integer.toString(port), "--data", tmp.resolve("zk").toString(), "--tick-ms", "200"});
        assertEquals("127.0.0.1:" + port, zk.connectString());
        zk.start();
        assertTrue(zk.isServing());
        assertTrue(EmbeddedZooKeeper.answers("127.0.0.1", port, Duration.ofSeconds(2)));

        try (ZkCoordination c = new ZkCoordination(zk.connectString(), "/havm/t", Duration.ofSeconds(2), Duration.ofSeconds(2))) {
            c.put("kept", "yes".getBytes(UTF_8), -1);
        }
        zk.stop();
        assertFalse(zk.isServing());
        assertFalse(EmbeddedZooKeeper.answers("127.0.0.1", port, Duration.ofSeconds(2)));

        zk.start();
        try (ZkCoordination c = new ZkCoordination(zk.connectString(), "/havm/t", Duration.ofSeconds(2), Duration.ofSeconds(2))) {
            assertArrayEquals("yes".getBytes(UTF_8), c.get("kept").orElseThrow().value());
        }
    }

    @Test
    void aTakenPortFailsTheStartWithTheAddressNamed() {
        int port = FreePorts.pick(1)[0];
        zk = EmbeddedZooKeeper.standalone("127.0.0.1", port, tmp.resolve("a"), EmbeddedZooKeeper.Settings.FAST).start();
        other = EmbeddedZooKeeper.standalone("127.0.0.1", port, tmp.resolve("b"), EmbeddedZooKeeper.Settings.FAST);
        CoordinationException e = assertThrows(CoordinationException.class, other::start);
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
        assertFalse(other.isServing());
        assertTrue(zk.isServing(), "the first server is unharmed");
    }

    @Test
    void peerArgumentsDescribeOneMemberOfAnEnsemble() {
        EmbeddedZooKeeper peer = EmbeddedZooKeeper.fromArgs(new String[] {
            "--data", tmp.toString(), "--id", "2",
            "--peer", "1=10.0.0.1:2181:2888:3888", "--peer", "2=10.0.0.2:2181:2888:3888", "--peer", "3=10.0.0.3:2181:2888:3888"});
        assertEquals("10.0.0.2:2181", peer.connectString());
    }

    @Test
    void badArgumentsAreRefusedWithTheOptionNamed() {
        assertRefused("--data", "--port", "2181");
        assertRefused("--port", "--port", "twenty", "--data", "/x");
        assertRefused("--colour", "--colour", "blue", "--data", "/x");
        assertRefused("--port", "--data", "/x", "--port");
        assertRefused("65536", "--data", "/x", "--port", "65536");
        assertRefused("--peer 1=host:1", "--data", "/x", "--id", "1", "--peer", "1=host:1");
        assertRefused("--id/--peer", "--data", "/x", "--peer", "1=h:1:2:3");
        assertRefused("peer id 4", "--data", "/x", "--id", "4", "--peer", "1=h:1:2:3");
    }

    private static void assertRefused(String named, String... args) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> EmbeddedZooKeeper.fromArgs(args));
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }
}
