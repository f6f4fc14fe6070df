package io.havm.coordination;

import io.havm.coordination.EmbeddedZooKeeper.Peer;
import io.havm.coordination.EmbeddedZooKeeper.Settings;
import io.havm.model.InvalidInputException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A ZooKeeper ensemble whose peers all run in this JVM, each with its own ports and data dir
 * ({@code baseDir/zk<id>}). For tests and drills of quorum loss: stop peers one by one and watch
 * clients go SUSPENDED once fewer than a majority remain.
 */
public final class EmbeddedEnsemble implements AutoCloseable {
    private final Map<Integer, EmbeddedZooKeeper> servers = new LinkedHashMap<>();
    private final String connectString;

    public EmbeddedEnsemble(List<Peer> peers, Path baseDir, Settings settings) {
        if (peers.size() < 3) {
            throw new InvalidInputException("ensemble of " + peers.size(), "needs at least 3 peers to survive losing one");
        }
        for (Peer p : peers) {
            servers.put(p.id(), EmbeddedZooKeeper.peer(p.id(), peers, baseDir.resolve("zk" + p.id()), settings));
        }
        connectString = peers.stream().map(Peer::connectString).collect(Collectors.joining(","));
    }

    /** Starts every peer and waits until all serve. */
    public EmbeddedEnsemble start(Duration timeout) {
        try {
            servers.values().forEach(EmbeddedZooKeeper::start);
            awaitServing(servers.size(), timeout);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        return this;
    }

    /** Waits until at least {@code count} peers serve (a quorum has formed and elected a leader). */
    public void awaitServing(int count, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (serving() < count) {
            if (System.nanoTime() > deadline) {
                throw new CoordinationException("ZooKeeper ensemble " + connectString + ": " + serving() + " of "
                        + servers.size() + " peers serving after " + timeout.toMillis() + " ms, wanted " + count);
            }
            try {
                Thread.sleep(20); // a server's own state, no event to wait on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CoordinationException("interrupted while waiting for ensemble " + connectString, e);
            }
        }
    }

    /** How many peers serve clients right now. */
    public int serving() {
        return (int) servers.values().stream().filter(EmbeddedZooKeeper::isServing).count();
    }

    public EmbeddedZooKeeper server(int id) {
        EmbeddedZooKeeper s = servers.get(id);
        if (s == null) {
            throw new InvalidInputException("ZooKeeper peer id " + id, "not among " + servers.keySet());
        }
        return s;
    }

    /** {@code host:port,…} of every peer. */
    public String connectString() {
        return connectString;
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (EmbeddedZooKeeper s : servers.values()) {
            try {
                s.stop();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
