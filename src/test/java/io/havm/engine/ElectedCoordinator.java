package io.havm.engine;

import static org.awaitility.Awaitility.await;

import io.havm.coordination.EmbeddedZooKeeper;
import io.havm.coordination.FreePorts;
import io.havm.coordination.ZkCoordination;
import io.havm.policy.ClusterState;
import io.havm.port.Clock;
import io.havm.port.Coordination;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * For tests of what reads the cluster store (the API, the dashboard, the command line): a real
 * ZooKeeper server, and a session on it that joined as {@code node} and was elected coordinator,
 * writing the state and timeline as the coordinator does (fenced by its epoch). Others connect
 * with {@link #session}.
 */
public final class ElectedCoordinator implements AutoCloseable {
    public final EmbeddedZooKeeper server;
    public final ZkCoordination zk;
    public final ClusterStore store;
    private final String root;
    private final AtomicLong epoch = new AtomicLong();
    private ClusterState state;

    public ElectedCoordinator(Path dir, String root, String node) throws Exception {
        this.root = root;
        server = EmbeddedZooKeeper.standalone("127.0.0.1", FreePorts.pick(1)[0], dir, EmbeddedZooKeeper.Settings.FAST)
                .start();
        zk = session(node);
        zk.elect(node, new Coordination.Leadership() {
            @Override
            public void elected(long e) {
                epoch.set(e);
            }

            @Override
            public void revoked() {}
        });
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> epoch.get() > 0);
        store = new ClusterStore(zk, node, Clock.SYSTEM);
    }

    /** A new session on the same cluster root, joined as member {@code node}. */
    public ZkCoordination session(String node) {
        ZkCoordination s = new ZkCoordination(server.connectString(), root, Duration.ofSeconds(4), Duration.ofSeconds(4));
        s.join(node, new byte[0]);
        return s;
    }

    public long epoch() {
        return epoch.get();
    }

    public ClusterState state() {
        return state;
    }

    /** Stores {@code next} as the coordinator's state (after the one stored before, if any). */
    public void put(ClusterState next) {
        store.putState(state, next, epoch.get());
        state = next;
    }

    /** Appends lines to the timeline. */
    public void events(String... lines) {
        store.events(List.of(lines), epoch.get());
    }

    @Override
    public void close() {
        zk.close();
        server.close();
    }
}
