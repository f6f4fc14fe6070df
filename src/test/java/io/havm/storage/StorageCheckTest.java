package io.havm.storage;

import io.havm.port.Storage;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.StorageSpec;
import io.havm.util.Exec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a node reports about shared-dir storage: each problem names the node, the pool or disk, and what is wrong. */
class StorageCheckTest {
    static final Duration T = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private StorageSpec storage(Path pool, StorageSpec.Disk... disks) {
        Map<String, StorageSpec.Disk> ds = new java.util.TreeMap<>();
        for (StorageSpec.Disk d : disks) {
            ds.put(d.name(), d);
        }
        return new StorageSpec(null, Map.of("shared", new StorageSpec.SharedDir("shared", pool, false)), ds);
    }

    private static StorageSpec.Disk qcow2(String name, long size) {
        return new StorageSpec.Disk(name, "shared", name + ".qcow2", null, StorageSpec.Format.QCOW2, size, null, false);
    }

    private static StorageSpec.Disk shareable(String name, long size) {
        return new StorageSpec.Disk(name, "shared", name + ".raw", null, StorageSpec.Format.RAW, size, null, true);
    }

    private static void img(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of("qemu-img", "create", "-q"));
        cmd.addAll(List.of(args));
        Exec.run(Duration.ofSeconds(30), cmd).orThrow();
    }

    private static List<String> messages(List<Storage.Problem> ps) {
        return ps.stream().map(Storage.Problem::message).toList();
    }

    @Test
    void aPresentVolumeOfTheRightFormatAndSizeIsFine() throws Exception {
        StorageSpec.Disk d = qcow2("web-os", 64L << 20);
        StorageSpec st = storage(dir, d);
        Volumes.create(st, d);
        assertEquals(List.of(), messages(StorageCheck.checkDisk("host1", st, d, T)));
        assertEquals(List.of(), messages(StorageCheck.checkPool("host1", st.poolOf(d), T)));
    }

    @Test
    void aMissingPoolDirectoryAsksWhetherTheFileSystemIsMounted() {
        Path gone = dir.resolve("not-mounted");
        StorageSpec.Disk d = qcow2("web-os", 64L << 20);
        StorageSpec st = storage(gone, d);
        List<Storage.Problem> ps = StorageCheck.checkDisk("host3", st, d, T);
        assertEquals(List.of("host3: pool shared: " + gone + " is not a directory (is the shared file system"
                + " mounted?)"), messages(ps));
        assertEquals("shared", ps.get(0).pool());
        assertFalse(ps.get(0).timedOut());
    }

    @Test
    void aPoolPathThatIsAFileIsNotADirectory() throws Exception {
        Path file = Files.writeString(dir.resolve("pool"), "x");
        assertEquals(List.of("host1: pool shared: " + file + " is a regular file, not a directory"),
                messages(StorageCheck.checkPool("host1", new StorageSpec.SharedDir("shared", file, false), T)));
    }

    @Test
    void aMissingVolumeSaysHowToCreateIt() {
        StorageSpec.Disk d = qcow2("web-os", 64L << 20);
        List<Storage.Problem> ps = StorageCheck.checkDisk("host1", storage(dir, d), d, T);
        assertEquals(List.of("host1: disk web-os (pool shared): volume " + dir.resolve("web-os.qcow2")
                + " does not exist (havm storage create makes it)"), messages(ps));
        assertEquals("web-os", ps.get(0).disk());
    }

    @Test
    void aVolumeOfTheWrongFormatSaysWhatItIs() {
        StorageSpec.Disk d = qcow2("web-os", 64L << 20);
        img("-f", "raw", dir.resolve("web-os.qcow2").toString(), "64M");
        assertEquals(List.of("host1: disk web-os (pool shared): volume " + dir.resolve("web-os.qcow2")
                + " is raw, expected qcow2"), messages(StorageCheck.checkDisk("host1", storage(dir, d), d, T)));
    }

    @Test
    void aShareableDiskWithABackingFileIsRefused() {
        StorageSpec.Disk d = shareable("quorum", 1L << 20);
        Path base = dir.resolve("base.raw");
        img("-f", "raw", base.toString(), "1M");
        // a shareable disk configured raw, but someone made a qcow2 over a base image by hand
        img("-f", "qcow2", "-b", base.toString(), "-F", "raw", dir.resolve("quorum.raw").toString());
        assertEquals(List.of(
                "host1: disk quorum (pool shared): volume " + dir.resolve("quorum.raw") + " is qcow2, expected raw",
                "host1: disk quorum (pool shared): volume " + dir.resolve("quorum.raw") + " has a backing file ("
                        + base + "); a shareable disk must be raw with none"),
                messages(StorageCheck.checkDisk("host1", storage(dir, d), d, T)));
    }

    @Test
    void aMissingBackingFileIsReported() throws Exception {
        Path base = dir.resolve("base.qcow2");
        img("-f", "qcow2", base.toString(), "1M");
        StorageSpec.Disk d = new StorageSpec.Disk("web-os", "shared", "web-os.qcow2", null, StorageSpec.Format.QCOW2,
                0, base, false);
        StorageSpec st = storage(dir, d);
        Volumes.create(st, d);
        assertEquals(List.of(), messages(StorageCheck.checkDisk("host1", st, d, T)));
        Files.delete(base);
        assertEquals(List.of("host1: disk web-os (pool shared): volume " + dir.resolve("web-os.qcow2")
                + ": its backing file " + base + " does not exist here"),
                messages(StorageCheck.checkDisk("host1", st, d, T)));
    }

    @Test
    void aVolumeSmallerThanConfiguredIsReportedWithBothSizes() {
        StorageSpec.Disk d = qcow2("web-os", 1L << 30);
        img("-f", "qcow2", dir.resolve("web-os.qcow2").toString(), "64M");
        assertEquals(List.of("host1: disk web-os (pool shared): volume " + dir.resolve("web-os.qcow2")
                + " is 64M, disk needs at least 1G"), messages(StorageCheck.checkDisk("host1", storage(dir, d), d, T)));
    }

    @Test
    void aFileThatIsNoImageAtAllIsRawToQemu() throws Exception {
        StorageSpec.Disk d = qcow2("web-os", 0);
        Files.writeString(dir.resolve("web-os.qcow2"), "not an image");
        assertEquals(List.of("host1: disk web-os (pool shared): volume " + dir.resolve("web-os.qcow2")
                + " is raw, expected qcow2"), messages(StorageCheck.checkDisk("host1", storage(dir, d), d, T)));
    }

    @Test
    void checkAllCoversEveryPoolAndTheDisksOfTheNodesGroupsOnceEach() throws Exception {
        Path pool = Files.createDirectories(dir.resolve("pool"));
        Path leases = dir.resolve("lockd");
        Path cfg = Files.writeString(dir.resolve("cluster.yaml"), """
                cluster:
                  nodes:
                    - {name: host1, uri: qemu+tcp://10.77.0.11/system}
                    - {name: host2, uri: qemu+tcp://10.77.0.12/system}
                storage:
                  leaseDir: LEASES
                  pools:
                    shared: {type: shared-dir, path: POOL}
                    gone: {type: shared-dir, path: POOL/../gone}
                  disks:
                    web-os: {pool: shared, size: 1M}
                    db-os: {pool: shared, size: 1M}
                    old-os: {pool: gone, size: 1M}
                groups:
                  web:
                    possibleOwners: [host1]
                    resources:
                      os: {type: disk, disk: web-os}
                      old: {type: disk, disk: old-os}
                  db:
                    possibleOwners: [host2]
                    resources:
                      os: {type: disk, disk: db-os}
                """.replace("LEASES", leases.toString()).replace("POOL", pool.toString()));
        ClusterSpec spec = ClusterConfigLoader.load(cfg).spec();
        assertEquals(List.of("web"), StorageCheck.groupsOwnableBy(spec, "host1"));
        List<String> host1 = messages(StorageCheck.checkAll("host1", spec,
                StorageCheck.groupsOwnableBy(spec, "host1")));
        assertEquals(List.of(
                "host1: pool gone: " + dir.resolve("gone") + " is not a directory (is the shared file system mounted?)",
                "host1: storage.leaseDir " + leases + " is not a directory (is the shared file system mounted?)",
                "host1: disk web-os (pool shared): volume " + pool.resolve("web-os.qcow2")
                        + " does not exist (havm storage create makes it)"), host1,
                "db-os belongs to a group host1 may not own; old-os's pool is reported once");
        Files.createDirectories(leases);
        Volumes.create(spec.storage(), spec.storage().disk("db-os").orElseThrow());
        assertEquals(List.of("host2: pool gone: " + dir.resolve("gone")
                + " is not a directory (is the shared file system mounted?)"),
                messages(StorageCheck.checkAll("host2", spec, StorageCheck.groupsOwnableBy(spec, "host2"))));
    }

    @Test
    void aProgramThatOverrunsIsKilledAndReportedAsATimeout() {
        Exec.Outcome o = Bounded.exec(Duration.ofMillis(200), List.of("sleep", "30"));
        assertTrue(o.timedOut());
        assertFalse(o.ok());
    }

    /**
     * A program stuck in uninterruptible I/O on a hung NFS mount survives SIGKILL; the caller must
     * still get its answer. Stood in for by work that ignores interrupts until the test releases it:
     * the answer is "timed out" while the work is still stuck, and the bounded thread is free again
     * once the work ends.
     */
    @Test
    void workThatCannotBeStoppedDoesNotHoldTheCaller() {
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean finished = new AtomicBoolean();
        try {
            Bounded.Outcome<String> o = Bounded.call(Duration.ofMillis(100), () -> {
                try {
                    while (true) {
                        try {
                            release.await();
                            return "released";
                        } catch (InterruptedException e) {
                            // like a process in D state: a kill does not end it
                        }
                    }
                } finally {
                    finished.set(true);
                }
            });
            assertTrue(o.timedOut(), "reported as timed out");
            assertFalse(finished.get(), "the caller got its answer while the work was still stuck: it was not held");
        } finally {
            release.countDown();
        }
        await().atMost(Duration.ofSeconds(10)).until(finished::get);
    }
}
