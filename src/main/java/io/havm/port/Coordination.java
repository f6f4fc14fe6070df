package io.havm.port;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
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
 * makes carries its epoch ({@link #putFenced}, {@link #commitFenced}); writes with a stale epoch are
 * refused.
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

    /**
     * ZooKeeper's default {@code jute.maxbuffer} (0xfffff bytes): the most one value, and one
     * whole request (a {@link #commitFenced} transaction included), may hold. Both implementations
     * refuse more, the simulated one too, so that a layout that would not fit a real ensemble fails
     * in the simulator first.
     */
    int MAX_REQUEST_BYTES = 0xfffff;

    /** One write of a {@link #commitFenced} transaction: {@link Put} or {@link Delete}. */
    sealed interface Op {
        /** The store key written. */
        String key();

        /** The bytes this operation adds to a request, as {@link #requestBytes} estimates them. */
        default int bytes() {
            // the path as ZooKeeper sees it (root and store prefix: 64 bytes is generous), the
            // value, and each operation's header, ACL and version fields
            int value = this instanceof Put p ? p.value().length : 0;
            return key().getBytes(StandardCharsets.UTF_8).length + value + 128;
        }

        /** Creates {@code key} (and its missing parents) or replaces its value. */
        record Put(String key, byte[] value) implements Op {
            public Put {
                Objects.requireNonNull(key, "key");
                Objects.requireNonNull(value, "value");
            }
        }

        /** Deletes {@code key}, which must have no children; a missing key is not an error. */
        record Delete(String key) implements Op {
            public Delete {
                Objects.requireNonNull(key, "key");
            }
        }

        static Op put(String key, byte[] value) {
            return new Put(key, value);
        }

        static Op delete(String key) {
            return new Delete(key);
        }
    }

    /** The size of a transaction of {@code ops} as checked against {@link #MAX_REQUEST_BYTES}. */
    static long requestBytes(List<Op> ops) {
        long total = 64;
        for (Op op : ops) {
            total += op.bytes();
        }
        return total;
    }

    /** Refuses a value or transaction ZooKeeper would refuse (it would drop the connection instead). */
    static void checkRequest(List<Op> ops) {
        for (Op op : ops) {
            if (op instanceof Op.Put p && p.value().length > MAX_REQUEST_BYTES) {
                throw new IllegalArgumentException("value of " + p.key() + " is " + p.value().length
                        + " bytes, over ZooKeeper's limit of " + MAX_REQUEST_BYTES + " (jute.maxbuffer)");
            }
        }
        long size = requestBytes(ops);
        if (size > MAX_REQUEST_BYTES) {
            throw new IllegalArgumentException("a transaction of " + ops.size() + " operations is about " + size
                    + " bytes, over ZooKeeper's limit of " + MAX_REQUEST_BYTES + " (jute.maxbuffer): split it");
        }
    }

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
     * The children of {@code parent} with their values, by child name (sorted); empty if it does
     * not exist. One listing, then every read issued at once (pipelined), so thousands of small
     * keys cost about one round trip plus their bytes. Not a snapshot: a child written meanwhile
     * may be seen old or new, and one deleted meanwhile is left out.
     */
    SortedMap<String, Versioned> getAll(String parent);

    /**
     * The values of {@code keys} that exist, by key: every read issued at once (one round trip for
     * a few dozen keys). Not a snapshot, like {@link #getAll}.
     */
    java.util.Map<String, Versioned> getMany(List<String> keys);

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

    /**
     * Applies {@code ops} in order as one transaction, only if {@code epoch} is still the current
     * epoch: all of them or none (a stale epoch gets a {@link ConflictException} and changes
     * nothing). A put creates its key's missing parents inside the same transaction. The whole
     * transaction must fit {@link #MAX_REQUEST_BYTES} (an {@link IllegalArgumentException} says
     * when it does not): callers split large writes and keep each far below, e.g. 512 KiB.
     */
    void commitFenced(List<Op> ops, long epoch);

    /**
     * Creates or replaces {@code key} as an ephemeral value of this client's session (parents made
     * as needed, persistent): gone when the session ends, or when {@link #delete}d. Not fenced: for
     * what an agent publishes about itself, e.g. a live migration's progress.
     */
    void putEphemeral(String key, byte[] value);

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
