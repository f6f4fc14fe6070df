package io.havm.http;

import io.havm.engine.Codec;
import io.havm.port.Coordination;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The API's operations in the cluster store, one key each: {@code operations/<id>} holds an
 * {@link Operation} as JSON. Any agent reads them; each write is a compare-and-set on the key's
 * version, so two agents never both adopt one.
 */
public final class OperationStore {
    static final String ROOT = "operations";

    private final Coordination zk;
    private final String node;
    private final AtomicLong counter = new AtomicLong();

    public OperationStore(Coordination zk, String node) {
        this.zk = zk;
        this.node = node;
    }

    /** A new id: creation time, the accepting node, a counter. */
    String newId(java.time.Instant at) {
        return String.format("%013d-%s-%d", at.toEpochMilli(), node, counter.incrementAndGet());
    }

    public void create(Operation op) {
        zk.put(ROOT + "/" + op.id(), Codec.value(op), -1);
    }

    /** An operation with its key's version. */
    public record Stored(Operation op, int version) {}

    public Optional<Stored> get(String id) {
        return zk.get(ROOT + "/" + id).map(v -> new Stored(Codec.value(v.value(), Operation.class), v.version()));
    }

    /** Every operation, oldest first. */
    public List<Stored> all() {
        List<Stored> out = new ArrayList<>();
        zk.getAll(ROOT).forEach((k, v) -> out.add(new Stored(Codec.value(v.value(), Operation.class), v.version())));
        return out;
    }

    /** Writes {@code op} if the key is still at {@code version}; false when another writer was first. */
    public boolean update(Operation op, int version) {
        try {
            zk.put(ROOT + "/" + op.id(), Codec.value(op), version);
            return true;
        } catch (Coordination.ConflictException e) {
            return false;
        }
    }
}
