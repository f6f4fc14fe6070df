package io.havm.coordination;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.coordination.EmbeddedZooKeeper.Peer;
import io.havm.coordination.EmbeddedZooKeeper.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A three-peer ZooKeeper ensemble in this JVM: the cluster works with two peers, not with one. */
@ExtendWith(QuietZooKeeper.class)
class ZkQuorumTest {
    @TempDir
    Path tmp;

    private EmbeddedEnsemble ensemble;
    private ZkCoordination client;

    @AfterEach
    void stopAll() {
        if (client != null) {
            client.close();
        }
        if (ensemble != null) {
            ensemble.close();
        }
    }

    private static ConditionFactory within(int seconds) {
        return await().atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(20));
    }

    @Test
    void twoOfThreePeersServeAndOneAloneSuspendsItsClients() {
        int[] ports = FreePorts.pick(9);
        List<Peer> peers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            peers.add(new Peer(i + 1, "127.0.0.1", ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]));
        }
        ensemble = new EmbeddedEnsemble(peers, tmp, Settings.FAST).start(Duration.ofSeconds(20));

        client = new ZkCoordination(ensemble.connectString(), "/havm/quorum", Duration.ofSeconds(4), Duration.ofSeconds(2));
        Recorder r = new Recorder();
        client.onConnectionState(r::state);
        client.elect("node1", r);
        within(5).until(() -> r.has("elected 1"));
        client.put("before", "1".getBytes(UTF_8), -1);

        // One peer down: a majority is left, the cluster keeps working (after a re-election if the
        // leader was the one stopped; the client moves to another peer if it was on this one).
        ensemble.server(3).stop();
        ensemble.awaitServing(2, Duration.ofSeconds(10));
        client.put("with-two", "2".getBytes(UTF_8), -1);
        assertArrayEquals("1".getBytes(UTF_8), client.get("before").orElseThrow().value());

        // Two peers down: the last one has no quorum, stops serving, and the client is SUSPENDED.
        int mark = r.events.size();
        ensemble.server(2).stop();
        within(5).until(() -> r.hasSince(mark, "state SUSPENDED"));
        within(5).until(() -> !ensemble.server(1).isServing());
        assertFalse(r.leading(), "no coordinator without a quorum: " + r);

        // A majority again: the client reconnects (its session survives if the ensemble is back
        // within the session timeout; if not, LOST comes first), and the data is all there.
        int back = r.events.size();
        ensemble.server(2).start();
        within(15).until(() -> r.hasSince(back, "state RECONNECTED"));
        assertArrayEquals("2".getBytes(UTF_8), client.get("with-two").orElseThrow().value());
        within(10).until(r::leading);
        assertTrue(r.lastEpoch().orElseThrow() > 1, r.toString());
    }
}
