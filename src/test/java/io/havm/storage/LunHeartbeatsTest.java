package io.havm.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.Heartbeats.Beat;
import io.havm.port.Heartbeats.FenceRequest;
import io.havm.port.Heartbeats.Unavailable;
import io.havm.model.StorageSpec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LunHeartbeats} on a real iSCSI target (a private tgtd on loopback, see
 * {@link PrivateTgtd}) through qemu-io: two instances as two nodes on one LUN.
 */
class LunHeartbeatsTest {
    private static final List<String> NODES = List.of("host1", "host2", "host3");
    private static final Duration T = Duration.ofSeconds(3);
    private static final Instant AT = Instant.parse("2026-11-03T10:15:30.5Z");
    private static final StorageSpec.Iscsi POOL = PrivateTgtd.pool("lab");

    @TempDir
    static Path dir;

    static PrivateTgtd tgtd;

    @BeforeAll
    static void start() throws IOException {
        tgtd = PrivateTgtd.start(dir);
        tgtd.addLun(1, 1 << 20);
        tgtd.addLun(2, 1 << 20);
        tgtd.addLun(3, 1 << 20);
        tgtd.addLun(4, 16384);
    }

    @AfterAll
    static void stop() {
        if (tgtd != null) {
            tgtd.close();
        }
    }

    static Beat beat(String node, long seq) {
        return new Beat(node, 1700000000000L, seq, AT.plusMillis(seq), seq % 2 == 0 ? null : AT, 3,
                seq % 2 == 0 ? AT : null, seq % 2 == 0 ? List.of("host3") : List.of(), false, seq);
    }

    private static String lunName(int lun) {
        return "pool lab (portal 127.0.0.1:" + PrivateTgtd.PORT + ", target " + PrivateTgtd.IQN + ") LUN " + lun;
    }

    @Test
    void twoNodesSeeEachOthersBeatsAndFenceRequests() throws Exception {
        try (LunHeartbeats host1 = new LunHeartbeats(POOL, 1, NODES, T);
                LunHeartbeats host2 = new LunHeartbeats(POOL, 1, NODES, T)) {
            assertEquals(Map.of(), host1.beats(), "a new LUN: zeros, nothing written");
            host1.beat(beat("host1", 1));
            host2.beat(beat("host2", 2));
            assertEquals(Map.of("host1", beat("host1", 1), "host2", beat("host2", 2)), host1.beats());
            assertEquals(host1.beats(), host2.beats());
            for (long seq = 3; seq < 10; seq++) {
                host2.beat(beat("host2", seq));
                assertEquals(beat("host2", seq), host1.beats().get("host2"), "host1 reads host2's last write");
            }

            assertEquals(Optional.empty(), host2.fenceRequest("host2"));
            FenceRequest r = new FenceRequest(3_000_002, 3, "host1", AT, 0, false, "c");
            host1.requestFence("host2", r);
            assertEquals(Optional.of(r), host2.fenceRequest("host2"));
            assertEquals(Optional.empty(), host2.fenceRequest("host1"));
            assertEquals(beat("host2", 9), host1.beats().get("host2"), "the fence block is beside the beat block");
            assertTrue(host1.describe().contains(lunName(1)), host1.describe());
            assertThrows(IllegalArgumentException.class, () -> host1.beat(beat("host9", 1)));
        }
    }

    @Test
    void aCorruptSlotIsAbsent() throws Exception {
        try (LunHeartbeats host1 = new LunHeartbeats(POOL, 2, NODES, T);
                LunHeartbeats host3 = new LunHeartbeats(POOL, 2, NODES, T)) {
            host1.beat(beat("host1", 1));
            host3.beat(beat("host3", 1));
            assertEquals(2, host1.beats().size());
            // a torn write of host3's beat block (slot 2 at 16384): its body changed under the CRC
            try (RandomAccessFile f = new RandomAccessFile(dir.resolve("lun2.img").toFile(), "rw")) {
                f.seek(2 * LunHeartbeats.SLOT + 40);
                f.write('#');
                f.getFD().sync();
            }
            assertEquals(Map.of("host1", beat("host1", 1)), host1.beats());
            host3.beat(beat("host3", 2));
            assertEquals(beat("host3", 2), host1.beats().get("host3"));

            // hosts that disagree on the node order: the blocks name their node, none is misread
            try (LunHeartbeats reordered = new LunHeartbeats(POOL, 2, List.of("host3", "host2", "host1"), T)) {
                assertEquals(Map.of(), reordered.beats());
                host1.requestFence("host3", new FenceRequest(1, 1, "host1", AT, 0, false, "c"));
                assertEquals(Optional.empty(), reordered.fenceRequest("host1"));
            }
        }
    }

    @Test
    void aLunRemovedFromTheTargetIsUnavailableThenWorksAgain() throws Exception {
        try (LunHeartbeats host1 = new LunHeartbeats(POOL, 3, NODES, T);
                LunHeartbeats host2 = new LunHeartbeats(POOL, 3, NODES, T)) {
            host1.beat(beat("host1", 1));
            host2.beat(beat("host2", 1));
            tgtd.deleteLun(3);
            try {
                for (var call : List.<Call>of(() -> host1.beats(), () -> host1.beat(beat("host1", 2)),
                        () -> host2.fenceRequest("host2"), () -> host2.requestFence("host1", new FenceRequest(1, 1,
                                "host2", AT, 0, false, "c")))) {
                    long t0 = System.nanoTime();
                    Unavailable e = assertThrows(Unavailable.class, call::run);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    assertTrue(ms < T.toMillis() + 1000, ms + " ms");
                    assertTrue(e.getMessage().contains(lunName(3)), e.getMessage());
                }
            } finally {
                tgtd.addLun(3, 1 << 20); // the same backing file: its blocks are still there
            }
            Awaitility.await("LUN 3 back").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                    .ignoreException(Unavailable.class)
                    .until(() -> host1.beats().equals(Map.of("host1", beat("host1", 1), "host2", beat("host2", 1))));
            host2.beat(beat("host2", 2));
            assertEquals(beat("host2", 2), host1.beats().get("host2"));
        }
    }

    @Test
    void aTargetThatDoesNotAnswerIsUnavailableWithinTheTimeout() throws Exception {
        // accepts the connection and never answers the login: qemu-io hangs, and is killed
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread acceptor = new Thread(() -> {
                while (!silent.isClosed()) {
                    try {
                        held.add(silent.accept());
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "silent-target");
            acceptor.setDaemon(true);
            acceptor.start();
            StorageSpec.Iscsi pool = new StorageSpec.Iscsi("dead", "127.0.0.1", silent.getLocalPort(), PrivateTgtd.IQN,
                    List.of());
            Duration t = Duration.ofMillis(700);
            try (LunHeartbeats h = new LunHeartbeats(pool, 1, NODES, t)) {
                for (int i = 0; i < 3; i++) {
                    long t0 = System.nanoTime();
                    Unavailable e = assertThrows(Unavailable.class, h::beats);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    assertTrue(ms < t.toMillis() + 500, ms + " ms");
                    assertTrue(e.getMessage().contains("portal 127.0.0.1:" + silent.getLocalPort())
                            && e.getMessage().contains("LUN 1"), e.getMessage());
                    assertTrue(e.getMessage().contains("no answer within 700 ms")
                            || e.getMessage().contains("previous I/O still stuck"), e.getMessage());
                }
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @Test
    void aLunTooSmallOrAbsentIsUnavailableWithWhy() {
        try (LunHeartbeats h = new LunHeartbeats(POOL, 4, NODES, T)) {
            Unavailable e = assertThrows(Unavailable.class, h::beats);
            assertTrue(e.getMessage().startsWith("heartbeat LUN: " + lunName(4) + ": the LUN holds 16 KiB, 3 nodes need"
                    + " 24576 bytes"), e.getMessage());
        }
        try (LunHeartbeats h = new LunHeartbeats(POOL, 9, NODES, T)) {
            Unavailable e = assertThrows(Unavailable.class, () -> h.beat(beat("host1", 1)));
            assertTrue(e.getMessage().startsWith("heartbeat LUN: " + lunName(9) + ": qemu-io ended"), e.getMessage());
        }
    }

    @Test
    void lengthAnswersInBytes() throws IOException {
        assertEquals(16384, LunHeartbeats.bytes("16 KiB"));
        assertEquals(1L << 30, LunHeartbeats.bytes("1 GiB"));
        assertEquals(3L << 29, LunHeartbeats.bytes("1.500000 GiB"));
        assertEquals(512, LunHeartbeats.bytes("512 bytes"));
    }

    private interface Call {
        void run() throws Exception;
    }
}
