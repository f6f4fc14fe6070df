package io.havm.sim.engine;

import io.havm.port.Heartbeats;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Shared heartbeat storage as every node's {@link Heartbeats} sees it: one store of slots, and a
 * view per node that fails with {@link Heartbeats.Unavailable} while that node cannot reach the
 * storage (an isolated host whose heartbeat LUN sits behind the same network). Reads and writes
 * take no virtual time: the lab measured a beat's round trip in milliseconds, against a
 * heartbeat interval of hundreds.
 */
public final class SimHeartbeats {
    private final TreeMap<String, Heartbeats.Beat> beats = new TreeMap<>();
    private final TreeMap<String, Heartbeats.FenceRequest> requests = new TreeMap<>();
    private final TreeSet<String> cut = new TreeSet<>();

    /** {@code node} can no longer reach the storage. */
    public void cut(String node) {
        cut.add(node);
    }

    public void restore(String node) {
        cut.remove(node);
    }

    public boolean isCut(String node) {
        return cut.contains(node);
    }

    /** The referee's view of a node's last beat. */
    public Optional<Heartbeats.Beat> peek(String node) {
        return Optional.ofNullable(beats.get(node));
    }

    /** The view of {@code node}'s agent. */
    public Heartbeats view(String node) {
        return new Heartbeats() {
            private void reach() throws Unavailable {
                if (cut.contains(node)) {
                    throw new Unavailable("sim storage: " + node + " cannot reach the heartbeat storage");
                }
            }

            @Override
            public void beat(Beat b) throws Unavailable {
                reach();
                beats.put(b.node(), b);
            }

            @Override
            public Map<String, Beat> beats() throws Unavailable {
                reach();
                return new TreeMap<>(beats);
            }

            @Override
            public void requestFence(String n, FenceRequest r) throws Unavailable {
                reach();
                FenceRequest before = requests.get(n);
                if (before == null || before.epoch() <= r.epoch()) {
                    requests.put(n, r);
                }
            }

            @Override
            public Optional<FenceRequest> fenceRequest(String n) throws Unavailable {
                reach();
                return Optional.ofNullable(requests.get(n));
            }

            @Override
            public String describe() {
                return "sim storage";
            }
        };
    }
}
