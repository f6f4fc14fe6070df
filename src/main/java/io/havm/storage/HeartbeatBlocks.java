package io.havm.storage;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.havm.port.Heartbeats.Beat;
import io.havm.port.Heartbeats.FenceRequest;
import io.havm.port.Heartbeats.Unavailable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32;

/**
 * One heartbeat slot as one 4096-byte block, the unit both {@link DirHeartbeats} and
 * {@link LunHeartbeats} read and write in one I/O, and the bounded I/O thread both use.
 *
 * <p>Layout (integers big-endian):
 * <pre>
 *   0  4  magic "HVHB"
 *   4  1  version (1)
 *   5  1  kind: 'B' a beat, 'F' a fence request
 *   6  2  zero
 *   8  4  body length in bytes (1 .. 4080)
 *  12  4  CRC32 of the body
 *  16  n  body: UTF-8 JSON of the record, plus "slot": the node whose slot this is
 *  16+n   zero up to 4096
 * </pre>
 * A block of zeros is a slot never written. Anything else that does not check out (magic, version,
 * kind, length, CRC, JSON, or a slot that names another node) is a torn or corrupt block:
 * {@link Corrupt} says which slot and what is wrong. The slot's node is inside the body so that a
 * block read at the wrong place (hosts that disagree on a LUN's node order) is refused rather than
 * taken for another node's beat or fence request.
 */
public final class HeartbeatBlocks {
    /** Bytes of one slot block. */
    public static final int BLOCK = 4096;

    static final int HEADER = 16;
    static final int MAX_BODY = BLOCK - HEADER;
    static final byte[] MAGIC = {'H', 'V', 'H', 'B'};
    static final byte VERSION = 1;
    static final byte KIND_BEAT = 'B';
    static final byte KIND_FENCE = 'F';

    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private HeartbeatBlocks() {}

    /** A block that is neither all zero nor a valid slot: torn, overwritten, or from elsewhere. */
    public static final class Corrupt extends Exception {
        public Corrupt(String message) {
            super(message);
        }
    }

    /** The block of {@code b.node()}'s beat slot. */
    public static byte[] encodeBeat(Beat b) {
        return encode(KIND_BEAT, b.node(), b);
    }

    /** The block of {@code node}'s fence request slot holding {@code r}. */
    public static byte[] encodeFence(String node, FenceRequest r) {
        return encode(KIND_FENCE, node, r);
    }

    /**
     * The beat in {@code node}'s beat slot; empty for a block of zeros.
     *
     * @param where the slot, for the message (a file, or a LUN and offset)
     */
    public static Optional<Beat> decodeBeat(String node, String where, ByteBuffer block) throws Corrupt {
        Optional<JsonNode> body = body(KIND_BEAT, node, where, block);
        if (body.isEmpty()) {
            return Optional.empty();
        }
        Beat b = value(body.get(), Beat.class, where);
        if (!node.equals(b.node())) {
            throw new Corrupt(where + ": a beat of '" + b.node() + "' in the beat slot of '" + node + "'");
        }
        return Optional.of(b);
    }

    /** The fence request in {@code node}'s fence slot; empty for a block of zeros. */
    public static Optional<FenceRequest> decodeFence(String node, String where, ByteBuffer block) throws Corrupt {
        Optional<JsonNode> body = body(KIND_FENCE, node, where, block);
        return body.isEmpty() ? Optional.empty() : Optional.of(value(body.get(), FenceRequest.class, where));
    }

    private static byte[] encode(byte kind, String node, Object record) {
        ObjectNode n = JSON.createObjectNode();
        n.put("slot", node);
        n.setAll((ObjectNode) JSON.valueToTree(record));
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (body.length > MAX_BODY) {
            throw new IllegalArgumentException("a heartbeat slot holds at most " + MAX_BODY + " bytes of JSON, this "
                    + (kind == KIND_BEAT ? "beat" : "fence request") + " is " + body.length + ": " + record);
        }
        CRC32 crc = new CRC32();
        crc.update(body);
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        b.put(MAGIC).put(VERSION).put(kind).putShort((short) 0).putInt(body.length).putInt((int) crc.getValue())
                .put(body);
        return b.array();
    }

    /** The JSON body after every header check; empty for zeros. Reads from {@code block}'s position on. */
    private static Optional<JsonNode> body(byte kind, String node, String where, ByteBuffer block) throws Corrupt {
        ByteBuffer b = block.duplicate();
        if (b.remaining() < BLOCK) {
            throw new Corrupt(where + ": only " + b.remaining() + " of " + BLOCK + " bytes");
        }
        b.limit(b.position() + BLOCK);
        if (allZero(b)) {
            return Optional.empty();
        }
        int start = b.position();
        byte[] magic = new byte[4];
        b.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw new Corrupt(where + ": no heartbeat block (magic " + hex(magic) + ", expected " + hex(MAGIC)
                    + ": torn, or overwritten by something else)");
        }
        byte version = b.get();
        if (version != VERSION) {
            throw new Corrupt(where + ": block version " + version + ", this havm reads version " + VERSION);
        }
        byte k = b.get();
        if (k != kind) {
            throw new Corrupt(where + ": a " + kindName(k) + " block where a " + kindName(kind) + " block belongs");
        }
        b.getShort();
        int length = b.getInt();
        int stored = b.getInt();
        if (length < 1 || length > MAX_BODY) {
            throw new Corrupt(where + ": body length " + Integer.toUnsignedString(length) + " out of range 1.."
                    + MAX_BODY);
        }
        byte[] body = new byte[length];
        b.position(start + HEADER);
        b.get(body);
        CRC32 crc = new CRC32();
        crc.update(body);
        if ((int) crc.getValue() != stored) {
            throw new Corrupt(where + ": CRC32 of the " + length + "-byte body is "
                    + String.format("%08x", crc.getValue()) + ", the header says " + String.format("%08x", stored)
                    + " (torn or corrupt write)");
        }
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new Corrupt(where + ": body is not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new Corrupt(where + ": body is not JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw new Corrupt(where + ": body is not a JSON object");
        }
        String slot = n.path("slot").asText(null);
        if (!node.equals(slot)) {
            throw new Corrupt(where + ": block of the slot of '" + slot + "' where the slot of '" + node
                    + "' belongs (do all hosts list the nodes in the same order?)");
        }
        return Optional.of(n);
    }

    private static <T> T value(JsonNode n, Class<T> type, String where) throws Corrupt {
        try {
            return JSON.treeToValue(n, type);
        } catch (IOException | IllegalArgumentException e) {
            throw new Corrupt(where + ": body is not a " + type.getSimpleName() + ": " + e.getMessage());
        }
    }

    private static boolean allZero(ByteBuffer b) {
        for (int i = b.position(); i < b.limit(); i++) {
            if (b.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    private static String kindName(byte k) {
        return switch (k) {
            case KIND_BEAT -> "beat";
            case KIND_FENCE -> "fence request";
            default -> "kind-" + (k & 0xff);
        };
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x & 0xff));
        }
        return s.toString();
    }

    /** Work done on the I/O thread. */
    interface Io<T> {
        T run() throws Exception;
    }

    /**
     * One daemon thread per heartbeat driver, on which every I/O runs while the caller waits at
     * most its timeout. I/O on a hung mount can sit in uninterruptible sleep for minutes: the
     * caller gives up at the deadline and the thread stays behind. Until that I/O returns, later
     * calls fail at once ("still stuck") instead of queueing behind it or piling up threads.
     */
    static final class IoThread implements AutoCloseable {
        private final String where;
        private final ExecutorService thread;
        private final AtomicReference<Running> running = new AtomicReference<>();

        /** The I/O on the thread now; {@code abandoned} once its caller stopped waiting for it. */
        private static final class Running {
            final Instant since = Instant.now();
            volatile boolean abandoned;
        }

        IoThread(String name, String where) {
            this.where = where;
            this.thread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
        }

        /**
         * Runs {@code work} on the I/O thread; returns its value, or throws {@link Unavailable}
         * (naming {@code where}) for an I/O error or when it takes longer than {@code timeout}; when
         * {@code work} had started, {@code onTimeout} runs on the caller's thread first (to kill a
         * helper process, say).
         */
        <T> T call(Duration timeout, Io<T> work, Runnable onTimeout) throws Unavailable {
            Running stuck = running.get();
            if (stuck != null && stuck.abandoned) {
                throw new Unavailable(where + ": previous I/O still stuck since " + stuck.since + " ("
                        + Duration.between(stuck.since, Instant.now()).toMillis() + " ms)");
            }
            AtomicReference<Running> mine = new AtomicReference<>();
            Future<T> f;
            try {
                f = thread.submit(() -> {
                    Running r = new Running();
                    mine.set(r);
                    running.set(r);
                    try {
                        return work.run();
                    } finally {
                        running.compareAndSet(r, null);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                throw new Unavailable(where + ": closed");
            }
            try {
                return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                f.cancel(true);
                Running r = mine.get();
                if (r == null) {
                    throw new Unavailable(where + ": no answer within " + timeout.toMillis()
                            + " ms (waiting behind an earlier call)");
                }
                r.abandoned = true;
                onTimeout.run();
                throw new Unavailable(where + ": no answer within " + timeout.toMillis() + " ms");
            } catch (InterruptedException e) {
                f.cancel(true);
                Thread.currentThread().interrupt();
                throw new Unavailable(where + ": interrupted");
            } catch (CancellationException e) {
                throw new Unavailable(where + ": cancelled");
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof Unavailable u) {
                    throw u;
                }
                if (c instanceof IOException || c instanceof UncheckedIOException) {
                    throw new Unavailable(where + ": " + message(c));
                }
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                if (c instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(c);
            }
        }

        @Override
        public void close() {
            thread.shutdownNow();
        }

        private static String message(Throwable t) {
            String m = t.getMessage();
            return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
        }
    }
}
