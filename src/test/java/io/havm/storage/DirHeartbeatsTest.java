package io.havm.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.Heartbeats;
import io.havm.port.Heartbeats.Beat;
import io.havm.port.Heartbeats.FenceRequest;
import io.havm.port.Heartbeats.Unavailable;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link DirHeartbeats} on a real directory under /var/tmp (ext4 here: O_DIRECT works), two
 * instances as two nodes, and {@link HeartbeatBlocks}' encoding.
 */
class DirHeartbeatsTest {
    private static final List<String> NODES = List.of("host1", "host2", "host3");
    private static final Duration T = Duration.ofSeconds(2);
    private static final Instant AT = Instant.parse("2026-11-03T10:15:30.123456789Z");

    private Path dir;
    private DirHeartbeats host1;
    private DirHeartbeats host2;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "havm-heartbeats-test-");
        host1 = new DirHeartbeats(dir, NODES, T);
        host2 = new DirHeartbeats(dir, NODES, T);
    }

    @AfterEach
    void tearDown() throws IOException {
        host1.close();
        host2.close();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static Beat beat(String node, long seq) {
        return new Beat(node, 1700000000000L, seq, AT.plusMillis(seq), null, 0, null, List.of(), false, 0);
    }

    @Test
    void twoNodesSeeEachOthersBeatsAndFenceRequests() throws Exception {
        assertEquals(Map.of(), host1.beats(), "nothing written yet");
        host1.beat(beat("host1", 1));
        host2.beat(beat("host2", 7));
        Map<String, Beat> seen = host1.beats();
        assertEquals(Map.of("host1", beat("host1", 1), "host2", beat("host2", 7)), seen);
        assertEquals(seen, host2.beats());

        host2.beat(beat("host2", 8));
        assertEquals(beat("host2", 8), host1.beats().get("host2"), "the newest block, not a cached one");

        assertEquals(Optional.empty(), host2.fenceRequest("host2"));
        FenceRequest r = new FenceRequest(5_000_001, 5, "host1", AT, 0, false, "c");
        host1.requestFence("host2", r);
        assertEquals(Optional.of(r), host2.fenceRequest("host2"));
        assertEquals(Optional.empty(), host2.fenceRequest("host3"));
        assertTrue(Files.exists(dir.resolve("host2.fence")) && Files.size(dir.resolve("host2.fence")) == 4096);
        assertTrue(host1.describe().contains("O_DIRECT reads, O_DIRECT|O_DSYNC writes"), host1.describe());
        assertTrue(host1.describe().contains(dir.toString()), host1.describe());
    }

    @Test
    void beatsReadOnlyTheConfiguredNodes() throws Exception {
        try (DirHeartbeats other = new DirHeartbeats(dir, List.of("host9"), T)) {
            other.beat(beat("host9", 1));
        }
        host2.beat(beat("host2", 1));
        assertEquals(Map.of("host2", beat("host2", 1)), host1.beats());
        assertThrows(IllegalArgumentException.class, () -> host1.beat(beat("host9", 2)));
        assertThrows(IllegalArgumentException.class, () -> host1.fenceRequest("host9"));
    }

    @Test
    void aCorruptOrTornSlotIsAbsent() throws Exception {
        host1.beat(beat("host1", 1));
        host2.beat(beat("host2", 1));
        Path f = dir.resolve("host2.beat");
        byte[] b = Files.readAllBytes(f);
        b[40] ^= 0x01; // inside the JSON body
        Files.write(f, b);
        assertEquals(Map.of("host1", beat("host1", 1)), host1.beats());

        host2.beat(beat("host2", 2));
        assertEquals(beat("host2", 2), host1.beats().get("host2"), "a new beat heals the slot");

        Files.write(f, new byte[100]); // a short file
        assertEquals(Map.of("host1", beat("host1", 1)), host1.beats());

        Files.write(dir.resolve("host3.fence"), HeartbeatBlocks.encodeFence("host2", new FenceRequest(1, 1, "h", AT, 0, false, "c")));
        assertEquals(Optional.empty(), host1.fenceRequest("host3"), "host2's request in host3's slot");

        Files.write(f, new byte[0]); // created, never written
        assertEquals(Map.of("host1", beat("host1", 1)), host1.beats());
    }

    @Test
    void aMissingDirectoryIsUnavailableAndNamesIt() throws Exception {
        Path gone = dir.resolve("not-mounted");
        try (DirHeartbeats h = new DirHeartbeats(gone, NODES, T)) {
            Unavailable e = assertThrows(Unavailable.class, h::beats);
            assertTrue(e.getMessage().contains(gone.toString()) && e.getMessage().contains("does not exist"),
                    e.getMessage());
            e = assertThrows(Unavailable.class, () -> h.beat(beat("host1", 1)));
            assertTrue(e.getMessage().contains(gone.toString()), e.getMessage());
            Files.createDirectory(gone);
            h.beat(beat("host1", 1));
            assertEquals(Map.of("host1", beat("host1", 1)), h.beats());
        }
    }

    @Test
    void withoutDirectIoItStillWorksAndSaysSo() throws Exception {
        try (DirHeartbeats h = new DirHeartbeats(dir, NODES, T, false)) {
            h.beat(beat("host3", 1));
            assertEquals(beat("host3", 1), host1.beats().get("host3"));
            host1.beat(beat("host1", 4));
            assertEquals(beat("host1", 4), h.beats().get("host1"));
            assertTrue(h.describe().contains("O_DSYNC writes without O_DIRECT"), h.describe());
        }
    }

    /**
     * A slot file that blocks on open (a FIFO nobody writes to) stands for a hung NFS mount: the
     * call gives up at the timeout, the next fails at once while the I/O is stuck, and calls work
     * again once it returns.
     */
    @Test
    void aStuckIoFailsWithinTheTimeoutAndDoesNotPileUp() throws Exception {
        Duration shortT = Duration.ofMillis(500);
        Path fifo = dir.resolve("host3.beat");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        assertEquals(0, mk.waitFor(), new String(mk.getInputStream().readAllBytes()));
        try (DirHeartbeats h = new DirHeartbeats(dir, NODES, shortT)) {
            long t0 = System.nanoTime();
            Unavailable e = assertThrows(Unavailable.class, h::beats);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 450 && ms < 1500, ms + " ms");
            assertTrue(e.getMessage().contains("no answer within 500 ms") && e.getMessage().contains(dir.toString()),
                    e.getMessage());

            t0 = System.nanoTime();
            e = assertThrows(Unavailable.class, () -> h.beat(beat("host1", 1)));
            ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 200, "fails at once, took " + ms + " ms");
            assertTrue(e.getMessage().contains("previous I/O still stuck since"), e.getMessage());

            // the I/O returns: open the FIFO's other end, then replace it with a real slot
            CompletableFuture<Void> unblock = CompletableFuture.runAsync(() -> {
                try (FileOutputStream w = new FileOutputStream(fifo.toFile())) {
                    w.flush();
                } catch (IOException x) {
                    throw new java.io.UncheckedIOException(x);
                }
            });
            unblock.get(5, java.util.concurrent.TimeUnit.SECONDS);
            Files.delete(fifo);
            host2.beat(beat("host2", 3));
            Awaitility.await("calls work again").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                    .ignoreException(Unavailable.class)
                    .until(() -> h.beats().equals(Map.of("host2", beat("host2", 3))));
            h.beat(beat("host1", 2));
            assertEquals(beat("host1", 2), host1.beats().get("host1"));
        }
    }

    @Test
    void encodingRoundTripsIncludingNulls() throws Exception {
        Beat full = new Beat("host1", 1700000000123L, 42, AT, AT.minusSeconds(3), 7, AT.minusMillis(250),
                List.of("host2", "host3"), true, 7_000_003);
        Beat sparse = new Beat("host1", 1, 0, AT, null, 0, null, null, false, 0);
        for (Beat b : List.of(full, sparse)) {
            byte[] block = HeartbeatBlocks.encodeBeat(b);
            assertEquals(HeartbeatBlocks.BLOCK, block.length);
            assertEquals(Optional.of(b), HeartbeatBlocks.decodeBeat("host1", "slot", ByteBuffer.wrap(block)));
        }
        FenceRequest r = new FenceRequest(9_000_001, 9, "host3", AT, 0, false, "c");
        assertEquals(Optional.of(r), HeartbeatBlocks.decodeFence("host2", "slot",
                ByteBuffer.wrap(HeartbeatBlocks.encodeFence("host2", r))));
        FenceRequest nulls = new FenceRequest(1, 1, null, null, 0, false, "c");
        assertEquals(Optional.of(nulls), HeartbeatBlocks.decodeFence("host2", "slot",
                ByteBuffer.wrap(HeartbeatBlocks.encodeFence("host2", nulls))));

        byte[] block = HeartbeatBlocks.encodeBeat(full);
        assertArrayEquals(new byte[] {'H', 'V', 'H', 'B', 1, 'B', 0, 0}, java.util.Arrays.copyOf(block, 8));
        int length = ByteBuffer.wrap(block, 8, 4).getInt();
        String body = new String(block, 16, length, java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(body.startsWith("{\"slot\":\"host1\",\"node\":\"host1\"") && body.contains(
                "\"cutOffSince\":\"2026-11-03T10:15:27.123456789Z\""), body);
        for (int i = 16 + length; i < block.length; i++) {
            assertEquals(0, block[i], "zero padding at " + i);
        }
    }

    @Test
    void aBlockOfZerosIsNeverWritten() throws Exception {
        assertEquals(Optional.empty(), HeartbeatBlocks.decodeBeat("host1", "slot", ByteBuffer.allocate(4096)));
        assertEquals(Optional.empty(), HeartbeatBlocks.decodeFence("host1", "slot", ByteBuffer.allocate(4096)));
    }

    @Test
    void aCorruptBlockSaysWhichSlotAndWhatIsWrong() throws Exception {
        byte[] good = HeartbeatBlocks.encodeBeat(beat("host1", 1));
        assertEquals(Optional.of(beat("host1", 1)), HeartbeatBlocks.decodeBeat("host1", "/hb/host1.beat",
                ByteBuffer.wrap(flip(good, 4095))), "the padding is not checked (old bytes of a torn longer write)");
        assertCorrupt("/hb/host1.beat: CRC32 of the", flip(good, 30), "host1");
        assertCorrupt("/hb/host1.beat: no heartbeat block (magic 49564842", flip(good, 0), "host1");
        assertCorrupt("/hb/host1.beat: block version 2", set(good, 4, 2), "host1");
        assertCorrupt("/hb/host1.beat: a fence request block where a beat block belongs", set(good, 5, 'F'), "host1");
        assertCorrupt("/hb/host1.beat: body length 4081 out of range", setInt(good, 8, 4081), "host1");
        assertCorrupt("/hb/host1.beat: body length 0 out of range", setInt(good, 8, 0), "host1");
        assertCorrupt("/hb/host1.beat: only 4000 of 4096 bytes", java.util.Arrays.copyOf(good, 4000), "host1");
        assertCorrupt("/hb/host2.beat: block of the slot of 'host1' where the slot of 'host2' belongs", good, "host2");
        HeartbeatBlocks.Corrupt e = assertThrows(HeartbeatBlocks.Corrupt.class, () -> HeartbeatBlocks.decodeFence(
                "host1", "/hb/host1.fence", ByteBuffer.wrap(good)));
        assertEquals("/hb/host1.fence: a beat block where a fence request block belongs", e.getMessage());
    }

    private static void assertCorrupt(String prefix, byte[] block, String node) {
        HeartbeatBlocks.Corrupt e = assertThrows(HeartbeatBlocks.Corrupt.class,
                () -> HeartbeatBlocks.decodeBeat(node, "/hb/" + node + ".beat", ByteBuffer.wrap(block)));
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }

    private static byte[] flip(byte[] b, int at) {
        byte[] c = b.clone();
        c[at] ^= 0x01;
        return c;
    }

    private static byte[] set(byte[] b, int at, int value) {
        byte[] c = b.clone();
        c[at] = (byte) value;
        return c;
    }

    private static byte[] setInt(byte[] b, int at, int value) {
        byte[] c = b.clone();
        ByteBuffer.wrap(c).putInt(at, value);
        return c;
    }

    /** The port's contract, as the engine sees it: also through the interface type. */
    @Test
    void isAHeartbeatsPort() throws Exception {
        Heartbeats h = host1;
        h.beat(beat("host1", 3));
        assertEquals(Map.of("host1", beat("host1", 3)), h.beats());
    }
}
