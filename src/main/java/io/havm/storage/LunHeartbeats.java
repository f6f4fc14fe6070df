package io.havm.storage;

import io.havm.port.Heartbeats;
import io.havm.model.StorageSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Heartbeats on a small iSCSI LUN, reached with QEMU's userspace initiator like every other havm
 * disk: one long-lived interactive {@code qemu-io} per instance (commands on its stdin, answers on
 * its stdout up to its next {@code qemu-io> } prompt), so a beat costs one iSCSI round trip, not a
 * process start and a login.
 *
 * <p>Layout: node {@code i} (its index in the configured node list, which must be the same list in
 * the same order on every host) owns the 8 KiB at {@code i * 8192}: its beat block at {@code +0},
 * its fence request block at {@code +4096}. The LUN must hold {@code nodes * 8192} bytes. Each block
 * names its slot's node, so hosts that disagree on the order read each other's slots as corrupt
 * (absent) instead of as the wrong node's.
 *
 * <p>qemu-io opens the LUN with {@code cache.direct=on}; the iSCSI driver has no cache of its own,
 * so a read asks the target and sees every other host's last write. Writes use FUA ({@code write -f}):
 * when {@link #beat} returns the target has the block on stable storage. The block to write goes
 * through a private temporary file ({@code write -s}), the only way qemu-io 7.2 takes arbitrary data.
 *
 * <p>Every call is bounded by the timeout. A qemu-io that does not answer in time is killed and a
 * new one started by the next call; one that answers with an error is closed too, so every call
 * after a failure logs in afresh. {@link Heartbeats.Unavailable} names the pool's portal and target
 * and the LUN.
 */
public final class LunHeartbeats implements Heartbeats, AutoCloseable {
    /** Bytes of one node's slot: a beat block and a fence request block. */
    public static final int SLOT = 2 * HeartbeatBlocks.BLOCK;

    private static final String PROMPT = "qemu-io> ";
    private static final Pattern LENGTH = Pattern.compile("([0-9.]+) (bytes|KiB|MiB|GiB|TiB|PiB|EiB)");

    private final StorageSpec.Iscsi pool;
    private final int lun;
    private final List<String> nodes;
    private final Duration timeout;
    private final String where;
    private final HeartbeatBlocks.IoThread io;

    /** The running qemu-io, or null; only the I/O thread starts it, anyone may kill it. */
    private volatile Process qemu;
    /** Owned by the I/O thread. */
    private InputStream answers;
    private OutputStream commands;
    private Path source;

    public LunHeartbeats(StorageSpec.Iscsi pool, int lun, List<String> nodes, Duration timeout) {
        if (nodes.isEmpty() || nodes.stream().distinct().count() != nodes.size()) {
            throw new IllegalArgumentException("heartbeat nodes must be distinct and at least one: " + nodes);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("heartbeat timeout must be positive: " + timeout);
        }
        this.pool = pool;
        this.lun = lun;
        this.nodes = List.copyOf(nodes);
        this.timeout = timeout;
        this.where = "heartbeat LUN: pool " + pool.name() + " (portal " + pool.portal() + ", target " + pool.target()
                + ") LUN " + lun;
        this.io = new HeartbeatBlocks.IoThread("havm-heartbeats " + pool.portal() + " LUN " + lun, where);
    }

    @Override
    public void beat(Beat b) throws Unavailable {
        byte[] block = HeartbeatBlocks.encodeBeat(b);
        long off = (long) slot(b.node()) * SLOT;
        io.call(timeout, () -> {
            write(off, block);
            return null;
        }, this::kill);
    }

    @Override
    public Map<String, Beat> beats() throws Unavailable {
        return io.call(timeout, () -> {
            byte[] all = read(0, nodes.size() * SLOT);
            Map<String, Beat> beats = new LinkedHashMap<>();
            for (int i = 0; i < nodes.size(); i++) {
                String n = nodes.get(i);
                try {
                    HeartbeatBlocks.decodeBeat(n, blockName(i, "beat"), ByteBuffer.wrap(all, i * SLOT,
                            HeartbeatBlocks.BLOCK)).ifPresent(b -> beats.put(n, b));
                } catch (HeartbeatBlocks.Corrupt e) {
                    // a torn or foreign block: no beat from this node now
                }
            }
            return beats;
        }, this::kill);
    }

    @Override
    public void requestFence(String node, FenceRequest r) throws Unavailable {
        byte[] block = HeartbeatBlocks.encodeFence(node, r);
        long off = (long) slot(node) * SLOT + HeartbeatBlocks.BLOCK;
        io.call(timeout, () -> {
            write(off, block);
            return null;
        }, this::kill);
    }

    @Override
    public Optional<FenceRequest> fenceRequest(String node) throws Unavailable {
        int i = slot(node);
        return io.call(timeout, () -> {
            byte[] block = read((long) i * SLOT + HeartbeatBlocks.BLOCK, HeartbeatBlocks.BLOCK);
            try {
                return HeartbeatBlocks.decodeFence(node, blockName(i, "fence"), ByteBuffer.wrap(block));
            } catch (HeartbeatBlocks.Corrupt e) {
                return Optional.empty();
            }
        }, this::kill);
    }

    @Override
    public String describe() {
        return where + " (qemu-io, cache.direct=on, FUA writes, " + SLOT + " bytes per node from offset 0)";
    }

    /** Ends qemu-io and the I/O thread, and removes the temporary file. */
    @Override
    public void close() {
        kill();
        io.close();
        Path s = source;
        if (s != null) {
            try {
                Files.deleteIfExists(s);
            } catch (IOException e) {
                // in java.io.tmpdir, marked delete-on-exit
            }
        }
    }

    private int slot(String node) {
        int i = nodes.indexOf(node);
        if (i < 0) {
            throw new IllegalArgumentException("node '" + node + "' is not one of the heartbeat nodes " + nodes);
        }
        return i;
    }

    private String blockName(int i, String kind) {
        long off = (long) i * SLOT + ("beat".equals(kind) ? 0 : HeartbeatBlocks.BLOCK);
        return where + " " + kind + " block of " + nodes.get(i) + " at offset " + off;
    }

    private void kill() {
        Process p = qemu;
        if (p != null) {
            p.destroyForcibly();
        }
    }

    /** On the I/O thread: a qemu-io waiting at its prompt, started and checked if there was none. */
    private void ensureStarted() throws IOException {
        Process p = qemu;
        if (p != null && p.isAlive()) {
            return;
        }
        drop();
        if (source == null) {
            source = Files.createTempFile("havm-heartbeat-", ".block",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            source.toFile().deleteOnExit();
            if (source.toString().matches(".*\\s.*")) {
                throw new IOException("qemu-io cannot take the temporary file " + source + ": white space in its path"
                        + " (set java.io.tmpdir)");
            }
        }
        String opts = "driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=" + opt(pool.portal())
                + ",file.target=" + opt(pool.target()) + ",file.lun=" + lun + ",cache.direct=on";
        try {
            p = new ProcessBuilder("qemu-io", "--image-opts", opts).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException(e.getMessage() + " (install qemu-utils and qemu-block-extra)", e);
        }
        qemu = p;
        answers = p.getInputStream();
        commands = p.getOutputStream();
        answer(); // the first prompt: the LUN is open (qemu-io exits when it cannot open it)
        String length = converse("length");
        long bytes = bytes(length);
        long needed = (long) nodes.size() * SLOT;
        if (bytes < needed) {
            drop();
            throw new IOException("the LUN holds " + oneLine(length) + ", " + nodes.size() + " nodes need " + needed
                    + " bytes");
        }
    }

    private void write(long off, byte[] block) throws IOException {
        ensureStarted();
        Files.write(source, block, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        String a = converse("write -f -s " + source + " " + off + " " + block.length);
        if (!a.contains("wrote " + block.length + "/" + block.length + " bytes at offset " + off)) {
            failed("write of " + block.length + " bytes at offset " + off, a);
        }
    }

    private byte[] read(long off, int len) throws IOException {
        ensureStarted();
        String a = converse("read -v " + off + " " + len);
        if (!a.contains("read " + len + "/" + len + " bytes at offset " + off)) {
            failed("read of " + len + " bytes at offset " + off, a);
        }
        byte[] data = new byte[len];
        int n = 0;
        for (String line : a.split("\n")) {
            // "0000a000:  48 56 48 42 01 42 00 00 00 00 01 2c 5e 1f 03 9a  HVHB.B........"
            int colon = line.indexOf(':');
            if (colon < 8 || !line.startsWith(":  ", colon) || !hex(line, 0, colon)) {
                continue;
            }
            if (Long.parseLong(line, 0, colon, 16) != off + n) {
                failed("read of " + len + " bytes at offset " + off, "dump line out of order: " + line);
            }
            for (int p = colon + 3; p + 3 <= line.length() && line.charAt(p + 2) == ' ' && hex(line, p, p + 2);
                    p += 3) {
                if (n == len) {
                    failed("read of " + len + " bytes at offset " + off, "dump longer than asked");
                }
                data[n++] = (byte) Integer.parseInt(line, p, p + 2, 16);
            }
        }
        if (n != len) {
            failed("read of " + len + " bytes at offset " + off, "dump has " + n + " bytes");
        }
        return data;
    }

    private static boolean hex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /** Closes the session (the next call starts a new one) and throws. */
    private void failed(String what, String answer) throws IOException {
        drop();
        throw new IOException(what + " failed: " + oneLine(answer));
    }

    /** Sends one command and returns what qemu-io printed before its next prompt. */
    private String converse(String command) throws IOException {
        try {
            commands.write((command + "\n").getBytes(StandardCharsets.UTF_8));
            commands.flush();
        } catch (IOException e) {
            drop();
            throw new IOException("qemu-io ended (" + e.getMessage() + ")", e);
        }
        return answer();
    }

    /** Everything up to the next prompt; at the end of the output, IOException with what was said. */
    private String answer() throws IOException {
        StringBuilder s = new StringBuilder();
        byte[] buf = new byte[65536];
        while (true) {
            int n = answers.read(buf);
            if (n < 0) {
                Process p = qemu;
                String exit = "";
                try {
                    if (p != null && p.waitFor(1, TimeUnit.SECONDS)) {
                        exit = " (exit " + p.exitValue() + ")";
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                drop();
                String said = oneLine(s.toString());
                throw new IOException("qemu-io ended" + exit + (said.isEmpty() ? "" : ": " + said));
            }
            s.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
            int len = s.length();
            if (len >= PROMPT.length() && s.lastIndexOf(PROMPT) == len - PROMPT.length()
                    && (len == PROMPT.length() || s.charAt(len - PROMPT.length() - 1) == '\n')) {
                return s.substring(0, len - PROMPT.length());
            }
        }
    }

    /** Forgets the session, ending its process. */
    private void drop() {
        Process p = qemu;
        qemu = null;
        if (p != null) {
            p.destroyForcibly();
            try {
                p.getOutputStream().close();
            } catch (IOException e) {
                // it is gone
            }
        }
        answers = null;
        commands = null;
    }

    /**
     * qemu-io's {@code length} answer in bytes: "64 MiB", "1.500000 GiB", "512 bytes" (its
     * {@code %f}, with ".000000" cut). Six decimals are exact enough for sizes in whole sectors.
     */
    static long bytes(String length) throws IOException {
        Matcher m = LENGTH.matcher(length);
        if (!m.find()) {
            throw new IOException("cannot tell the LUN's size from qemu-io: " + oneLine(length));
        }
        int shift = switch (m.group(2)) {
            case "bytes" -> 0;
            case "KiB" -> 10;
            case "MiB" -> 20;
            case "GiB" -> 30;
            case "TiB" -> 40;
            case "PiB" -> 50;
            default -> 60;
        };
        return Math.round(Double.parseDouble(m.group(1)) * Math.pow(2, shift));
    }

    private static String opt(String value) {
        return value.replace(",", ",,");
    }

    private static String oneLine(String s) {
        return s.strip().replaceAll("\\s+", " ");
    }
}
