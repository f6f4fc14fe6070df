package io.havm.resource;

import io.havm.storage.HostStorage;
import io.havm.port.Storage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.Result;
import io.havm.model.StorageSpec;
import io.havm.storage.PrivateTgtd;
import io.havm.storage.StorageCheck;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disks on a real iSCSI target (a private tgtd on loopback, see {@link PrivateTgtd}), reached
 * through libiscsi as QEMU reaches them. LUN 1 (64M) stays for the whole class; tests that break
 * a LUN use their own.
 */
class IscsiDiskTest {
    static final Duration T = Duration.ofSeconds(20);

    @TempDir
    static Path dir;
    static PrivateTgtd tgtd;

    @BeforeAll
    static void startTarget() throws IOException {
        tgtd = PrivateTgtd.start(dir);
        tgtd.addLun(1, 64L << 20);
    }

    @AfterAll
    static void stopTarget() {
        if (tgtd != null) {
            tgtd.close();
        }
    }

    private static StorageSpec storage(Path leaseDir, StorageSpec.Iscsi pool, StorageSpec.Disk... disks) {
        Map<String, StorageSpec.Disk> ds = new java.util.TreeMap<>();
        for (StorageSpec.Disk d : disks) {
            ds.put(d.name(), d);
        }
        return new StorageSpec(leaseDir, Map.of(pool.name(), pool), ds);
    }

    private static StorageSpec.Disk lun(String name, int lun, long size) {
        return new StorageSpec.Disk(name, "lab", null, lun, StorageSpec.Format.RAW, size, null, false);
    }

    private static String where(int lun) {
        return "pool lab (portal 127.0.0.1:" + PrivateTgtd.PORT + ", target " + PrivateTgtd.IQN + ") LUN " + lun;
    }

    @Test
    void aReachableTargetPassesThePoolCheck() {
        assertEquals(List.of(), StorageCheck.checkPool("host1", PrivateTgtd.pool("lab"), T));
    }

    @Test
    void aTargetThePortalDoesNotOfferIsNamedWithTheOnesItDoes() {
        StorageSpec.Iscsi wrong = new StorageSpec.Iscsi("lab", "127.0.0.1", PrivateTgtd.PORT,
                "iqn.2026-11.io.havm:other", List.of());
        assertEquals(List.of("host2: pool lab (iscsi 127.0.0.1:" + PrivateTgtd.PORT + " iqn.2026-11.io.havm:other):"
                + " the portal does not offer target iqn.2026-11.io.havm:other (offered: " + PrivateTgtd.IQN + ")"),
                StorageCheck.checkPool("host2", wrong, T).stream().map(Storage.Problem::message).toList());
    }

    @Test
    void aPortalNobodyListensOnIsReportedAsSuch() throws IOException {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        StorageSpec.Iscsi pool = new StorageSpec.Iscsi("lab", "127.0.0.1", closed, PrivateTgtd.IQN, List.of());
        List<Storage.Problem> ps = StorageCheck.checkPool("host2", pool, T);
        assertEquals(1, ps.size(), ps.toString());
        assertTrue(ps.get(0).message().startsWith("host2: pool lab (iscsi 127.0.0.1:" + closed + " " + PrivateTgtd.IQN
                + "): discovery failed: "), ps.get(0).message());
        assertTrue(ps.get(0).message().contains("Connection refused"), ps.get(0).message());
    }

    @Test
    void onlineChecksTheLunAndMakesItsLeaseFile() throws IOException {
        Path leases = Files.createDirectories(dir.resolve("lockd-online"));
        StorageSpec.Disk d = lun("web-data", 1, 64L << 20);
        DiskResource r = new DiskResource(HostStorage.INSTANCE, "host1", storage(leases, PrivateTgtd.pool("lab"), d), d, T);
        Result online = r.online();
        assertInstanceOf(Result.Ok.class, online, online.detail());
        assertTrue(online.detail().startsWith("host1: disk web-data (pool lab): iscsi://127.0.0.1:" + PrivateTgtd.PORT
                + "/" + PrivateTgtd.IQN + "/1"), online.detail());
        assertTrue(Files.isRegularFile(leases.resolve("havm-disk-web-data")), "the lockd lease of a non-shareable LUN");
        assertInstanceOf(Result.Ok.class, r.looksAlive(), r.looksAlive().detail());
        Result is = r.isAlive();
        assertInstanceOf(Result.Ok.class, is, is.detail());
    }

    @Test
    void aShareableLunHasNoLease() throws IOException {
        Path leases = Files.createDirectories(dir.resolve("lockd-shareable"));
        StorageSpec.Disk d = new StorageSpec.Disk("quorum", "lab", null, 1, StorageSpec.Format.RAW, 0, null, true);
        Result online = new DiskResource(HostStorage.INSTANCE, "host1", storage(leases, PrivateTgtd.pool("lab"), d), d, T).online();
        assertInstanceOf(Result.Ok.class, online, online.detail());
        try (var s = Files.list(leases)) {
            assertEquals(List.of(), s.toList());
        }
    }

    @Test
    void aLunSmallerThanTheDiskNeedsIsRefusedWithBothSizes() {
        StorageSpec.Disk d = lun("web-data", 1, 1L << 30);
        StorageSpec st = storage(null, PrivateTgtd.pool("lab"), d);
        assertEquals(List.of("host2: disk web-data (pool lab): LUN 1 is 64M, disk needs at least 1G"),
                StorageCheck.checkDisk("host2", st, d, T).stream().map(Storage.Problem::message).toList());
        Result online = new DiskResource(HostStorage.INSTANCE, "host2", st, d, T).online();
        assertEquals(new Result.Failed("host2: disk web-data (pool lab): LUN 1 is 64M, disk needs at least 1G"),
                online);
    }

    @Test
    void aLunTheTargetDoesNotHaveFailsOnlineWithLibiscsisReason() {
        StorageSpec.Disk d = lun("web-data", 7, 0);
        Result online = new DiskResource(HostStorage.INSTANCE, "host2", storage(null, PrivateTgtd.pool("lab"), d), d, T).online();
        assertInstanceOf(Result.Failed.class, online, online.detail());
        assertTrue(online.detail().startsWith("host2: disk web-data: " + where(7) + ": "), online.detail());
        assertTrue(online.detail().contains("LOGICAL_UNIT_NOT_SUPPORTED"), online.detail());
    }

    @Test
    void aLunDeletedUnderARunningDiskFailsBothHealthChecks() throws IOException {
        tgtd.addLun(3, 16L << 20);
        StorageSpec.Disk d = lun("web-logs", 3, 16L << 20);
        DiskResource r = new DiskResource(HostStorage.INSTANCE, "host1", storage(null, PrivateTgtd.pool("lab"), d), d, T);
        assertInstanceOf(Result.Ok.class, r.online(), "LUN 3 is there");
        assertInstanceOf(Result.Ok.class, r.looksAlive());
        assertInstanceOf(Result.Ok.class, r.isAlive());

        tgtd.deleteLun(3);

        Result looks = r.looksAlive();
        assertInstanceOf(Result.Failed.class, looks, looks.detail());
        assertTrue(looks.detail().startsWith("host1: disk web-logs: " + where(3) + ": "), looks.detail());
        assertTrue(looks.detail().contains("LOGICAL_UNIT_NOT_SUPPORTED"), looks.detail());
        Result is = r.isAlive();
        assertInstanceOf(Result.Failed.class, is, is.detail());
        assertTrue(is.detail().startsWith("host1: disk web-logs (pool lab): cannot read iscsi://127.0.0.1:"
                + PrivateTgtd.PORT + "/" + PrivateTgtd.IQN + "/3: "), is.detail());
        assertTrue(is.detail().contains("LOGICAL_UNIT_NOT_SUPPORTED"), is.detail());
        assertInstanceOf(Result.Ok.class, r.offline(), "nothing to release");
    }
}
