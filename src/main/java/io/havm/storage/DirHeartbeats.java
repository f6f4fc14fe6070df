package io.havm.storage;

import com.sun.nio.file.ExtendedOpenOption;
import io.havm.port.Heartbeats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Heartbeats in a directory of a shared-dir pool (NFS, GFS2, CephFS…): {@code <node>.beat} and
 * {@code <node>.fence}, one {@link HeartbeatBlocks#BLOCK}-byte block each, written by their one
 * writer and read by everyone.
 *
 * <p>Every write is {@code O_DIRECT|O_DSYNC}: when {@link #beat} returns the block is on the storage,
 * not in this host's page cache; every read is {@code O_DIRECT}, so it sees what another host wrote
 * rather than a cached copy. A file system that refuses {@code O_DIRECT} (ramfs; one whose
 * fundamental block size does not divide 4096, such as NFS with a 1 MiB {@code wsize}, where
 * Java's direct I/O would demand 1 MiB I/Os) gets {@code O_DSYNC} writes and plain reads of a file
 * opened anew each time (NFS revalidates its cache on open), and {@link #describe} says so.
 *
 * <p>Every call is bounded by the timeout and runs on this instance's own I/O thread (see
 * {@link HeartbeatBlocks.IoThread}): a hung mount fails calls with {@link Heartbeats.Unavailable}
 * and never blocks the caller longer. A corrupt slot is absent from {@link #beats} and
 * {@link #fenceRequest}; nothing is logged here.
 */
public final class DirHeartbeats implements Heartbeats, AutoCloseable {
    private static final Pattern NODE = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*");
    private static final int ALIGN = HeartbeatBlocks.BLOCK;

    private final Path dir;
    private final List<String> nodes;
    private final Duration timeout;
    private final HeartbeatBlocks.IoThread io;
    /** Owned by the I/O thread. */
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(2 * ALIGN).alignedSlice(ALIGN);
    private final Set<Path> created = new HashSet<>();
    private final boolean tryDirect;

    /** Null until the first I/O found out; then whether files here are opened with O_DIRECT. */
    private volatile Boolean direct;
    private volatile String noDirectReason;
    private volatile long blockSize;

    public DirHeartbeats(Path dir, List<String> nodes, Duration timeout) {
        this(dir, nodes, timeout, true);
    }

    /** {@code tryDirect} false: as on a file system that refuses O_DIRECT (for tests). */
    DirHeartbeats(Path dir, List<String> nodes, Duration timeout, boolean tryDirect) {
        for (String n : nodes) {
            if (!NODE.matcher(n).matches()) {
                throw new IllegalArgumentException("node name '" + n + "' cannot name a heartbeat file");
            }
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("heartbeat timeout must be positive: " + timeout);
        }
        this.dir = dir.toAbsolutePath().normalize();
        this.nodes = List.copyOf(nodes);
        this.timeout = timeout;
        this.tryDirect = tryDirect;
        if (!tryDirect) {
            direct = false;
            noDirectReason = "O_DIRECT not tried";
        }
        this.io = new HeartbeatBlocks.IoThread("havm-heartbeats " + this.dir, "heartbeat directory " + this.dir);
    }

    @Override
    public void beat(Beat b) throws Unavailable {
        known(b.node());
        byte[] block = HeartbeatBlocks.encodeBeat(b);
        io.call(timeout, () -> {
            write(file(b.node(), "beat"), block);
            return null;
        }, () -> {});
    }

    @Override
    public Map<String, Beat> beats() throws Unavailable {
        return io.call(timeout, () -> {
            Map<String, Beat> all = new LinkedHashMap<>();
            for (String n : nodes) {
                Path f = file(n, "beat");
                Optional<ByteBuffer> block = read(f);
                if (block.isPresent()) {
                    try {
                        HeartbeatBlocks.decodeBeat(n, f.toString(), block.get()).ifPresent(b -> all.put(n, b));
                    } catch (HeartbeatBlocks.Corrupt e) {
                        // a torn or foreign block: no beat from this node now
                    }
                }
            }
            return all;
        }, () -> {});
    }

    @Override
    public void requestFence(String node, FenceRequest r) throws Unavailable {
        byte[] block = HeartbeatBlocks.encodeFence(known(node), r);
        io.call(timeout, () -> {
            write(file(node, "fence"), block);
            return null;
        }, () -> {});
    }

    @Override
    public Optional<FenceRequest> fenceRequest(String node) throws Unavailable {
        known(node);
        return io.call(timeout, () -> {
            Path f = file(node, "fence");
            Optional<ByteBuffer> block = read(f);
            if (block.isEmpty()) {
                return Optional.empty();
            }
            try {
                return HeartbeatBlocks.decodeFence(node, f.toString(), block.get());
            } catch (HeartbeatBlocks.Corrupt e) {
                return Optional.empty();
            }
        }, () -> {});
    }

    @Override
    public String describe() {
        Boolean d = direct;
        String how;
        if (d == null) {
            how = "direct I/O not probed yet";
        } else if (d) {
            how = "O_DIRECT reads, O_DIRECT|O_DSYNC writes, block size " + blockSize;
        } else {
            how = "O_DSYNC writes without O_DIRECT: " + noDirectReason;
        }
        return "heartbeat directory " + dir + " (" + how + ")";
    }

    /** Stops the I/O thread (a thread stuck in I/O ends when its I/O returns). */
    @Override
    public void close() {
        io.close();
    }

    private String known(String node) {
        if (!nodes.contains(node)) {
            throw new IllegalArgumentException("node '" + node + "' is not one of the heartbeat nodes " + nodes);
        }
        return node;
    }

    private Path file(String node, String kind) {
        return dir.resolve(node + "." + kind);
    }

    /** On the I/O thread: the directory exists, and O_DIRECT decided. */
    private void ready() throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(Files.exists(dir) ? "not a directory" : "does not exist (is the pool mounted?)");
        }
        if (direct == null) {
            long bs = Files.getFileStore(dir).getBlockSize();
            blockSize = bs;
            if (bs <= 0 || bs > ALIGN || ALIGN % bs != 0) {
                noDirectReason = "the file system's block size " + bs + " does not divide a " + ALIGN
                        + "-byte slot";
                direct = false;
            }
        }
    }

    private void write(Path f, byte[] block) throws IOException {
        ready();
        ByteBuffer b = buffer.clear();
        b.put(block).flip();
        boolean fresh = !created.contains(f);
        try (FileChannel ch = open(f, StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.DSYNC)) {
            while (b.hasRemaining()) {
                ch.write(b, b.position());
            }
        }
        if (fresh) {
            // O_DSYNC covers the data, not the new directory entry: sync it once per file
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
            created.add(f);
        }
    }

    /** The slot's block; empty when the file does not exist or is empty (never written). */
    private Optional<ByteBuffer> read(Path f) throws IOException {
        ready();
        ByteBuffer b = buffer.clear();
        b.limit(ALIGN);
        try (FileChannel ch = open(f, StandardOpenOption.READ)) {
            boolean aligned = Boolean.TRUE.equals(direct);
            while (b.hasRemaining() && !(aligned && b.position() % ALIGN != 0)) {
                // with O_DIRECT a short read is the end of the file: another one would be misaligned
                if (ch.read(b, b.position()) < 0) {
                    break;
                }
            }
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (b.position() == 0) {
            return Optional.empty();
        }
        b.flip();
        return Optional.of(b);
    }

    private FileChannel open(Path f, OpenOption... options) throws IOException {
        if (!Boolean.FALSE.equals(direct)) {
            List<OpenOption> o = new ArrayList<>(List.of(options));
            o.add(ExtendedOpenOption.DIRECT);
            try {
                FileChannel ch = FileChannel.open(f, o.toArray(OpenOption[]::new));
                direct = true;
                return ch;
            } catch (NoSuchFileException e) {
                throw e;
            } catch (FileSystemException e) {
                if (direct != null || !refusesDirect(e, f)) {
                    throw e;
                }
                FileChannel ch = FileChannel.open(f, options);
                noDirectReason = "the file system refused O_DIRECT (" + e.getReason() + ")";
                direct = false;
                return ch;
            }
        }
        return FileChannel.open(f, options);
    }

    /** EINVAL on opening a regular file (or where one is created): O_DIRECT is what it refused. */
    private static boolean refusesDirect(FileSystemException e, Path f) {
        return "Invalid argument".equals(e.getReason()) && (Files.isRegularFile(f) || !Files.exists(f));
    }
}
