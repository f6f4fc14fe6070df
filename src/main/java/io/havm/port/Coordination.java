package io.havm.port;

import java.util.List;
import java.util.Optional;
import java.util.SortedSet;
import java.util.function.Consumer;

/**
 * The port to the cluster's coordination service: membership, one elected coordinator with an
 * epoch, and a versioned store. ZooKeeper via Curator on real hosts; a simulated one (with
 * injectable session loss and partitions) in the simulator.
 *
 * <p>Losing coordination is an input, handled with judgement by the engine: SUSPENDED and LOST
 * mean take no new decisions; whether to stop what runs is decided on the second channel
 * ({@link Heartbeats}), never on the connection state alone. Every write a leader
 * makes carries its epoch ({@link #putFenced}); writes with a stale epoch are refused.
 */
public interface Coordination extends AutoCloseable {

    /** Connection to the coordination service, as Curator's ConnectionState sees it. */
    enum ConnectionState {
        /** First connection made. */
        CONNECTED,
        /** Connection lost, session may still be alive: stop acting on the cluster's behalf. */
        SUSPENDED,
        /** Connection back within the session: resume. */
        RECONNECTED,
        /** Session expired: this client's membership is gone (or will be, when the server notices). */
        LOST
    }

    /** A stored value with its version (ZooKeeper's data version). */
    record Versioned(byte[] value, int version) {}

    /** The store refused a write: version or epoch no longer current. */
    final class ConflictException extends RuntimeException {
        public ConflictException(String message) {
            super(message);
        }
    }

    /** Called when this node wins or loses the coordinator role. */
    interface Leadership {
        /** This node is now the coordinator; {@code epoch} is strictly greater than any earlier one. */
        void elected(long epoch);

        /** This node is no longer the coordinator (lost the session, or closed). */
        void revoked();
    }

    /** Registers {@code node} as a live member (ephemeral: gone when the session expires). */
    void join(String node, byte[] info);

    /**
     * Joins again after this client's session was lost, while its node kept running what it ran:
     * like {@link #join}, but a member entry left by one of this client's own earlier sessions is
     * replaced in one step, so the node never vanishes from the members in between (a restarted
     * ZooKeeper restores old sessions and expires them after their timeout, when the node already
     * holds a new one). An entry of another client is still refused.
     */
    void rejoin(String node, byte[] info);

    /** Live members, sorted. */
    SortedSet<String> members();

    /** Calls {@code listener} with the new member set after every change. */
    void watchMembers(Consumer<SortedSet<String>> listener);

    /** Takes part in the coordinator election as {@code node}. */
    void elect(String node, Leadership listener);

    /** The current epoch (0 before any election). */
    long currentEpoch();

    Optional<Versioned> get(String key);

    /** Child keys of {@code key}, sorted. */
    List<String> children(String key);

    /**
     * Creates ({@code expectedVersion} = -1) or updates a value; returns the new version.
     * Throws {@link ConflictException} if the version is not current.
     */
    int put(String key, byte[] value, int expectedVersion);

    /**
     * Writes (creating if needed) only if {@code epoch} is still the current epoch, atomically;
     * throws {@link ConflictException} otherwise. The coordinator's commands go through this.
     */
    void putFenced(String key, byte[] value, long epoch);

    void delete(String key);

    /**
     * Calls {@code onChange} whenever anything under {@code key} is created, changed or deleted,
     * so that loops wake at once instead of waiting for their next poll. A hint only: a loop still
     * polls, and reads the store itself.
     */
    void watchChildren(String key, Runnable onChange);

    void onConnectionState(Consumer<ConnectionState> listener);

    @Override
    void close();
}
