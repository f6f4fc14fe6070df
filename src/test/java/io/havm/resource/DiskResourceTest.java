package io.havm.resource;

import io.havm.storage.HostStorage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.Result;
import io.havm.model.StorageSpec;
import io.havm.storage.Volumes;
import io.havm.util.Exec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk resource on a shared-dir pool: Online refuses a disk this node cannot use, the health
 * checks notice one that goes away.
 */
class DiskResourceTest {
    static final Duration T = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private StorageSpec storage(StorageSpec.Disk d) {
        return new StorageSpec(null, Map.of("shared", new StorageSpec.SharedDir("shared", dir, false)),
                Map.of(d.name(), d));
    }

    private static StorageSpec.Disk disk(String volume, StorageSpec.Format f, long size) {
        return new StorageSpec.Disk("web-os", "shared", volume, null, f, size, null, false);
    }

    @Test
    void aCreatedVolumeComesOnlineAndStaysAlive() {
        StorageSpec.Disk d = disk("web.qcow2", StorageSpec.Format.QCOW2, 64L << 20);
        StorageSpec st = storage(d);
        Volumes.create(st, d);
        DiskResource r = new DiskResource(HostStorage.INSTANCE, "host1", st, d, T);
        assertEquals("web-os", r.name());
        assertInstanceOf(Result.Ok.class, r.open());
        assertEquals(new Result.Ok("host1: disk web-os (pool shared): " + dir.resolve("web.qcow2") + " reachable"),
                r.online());
        assertEquals(new Result.Ok("host1: disk web-os (pool shared): volume " + dir.resolve("web.qcow2")
                + " present"), r.looksAlive());
        assertEquals(new Result.Ok("host1: disk web-os (pool shared): read the first 4 KiB of "
                + dir.resolve("web.qcow2")), r.isAlive());
        assertInstanceOf(Result.Ok.class, r.offline());
        assertInstanceOf(Result.Ok.class, r.terminate());
        assertInstanceOf(Result.Ok.class, r.close());
    }

    @Test
    void onlineRefusesAMissingVolumeWithThePreciseReason() {
        StorageSpec.Disk d = disk("web.qcow2", StorageSpec.Format.QCOW2, 64L << 20);
        assertEquals(new Result.Failed("host2: disk web-os (pool shared): volume " + dir.resolve("web.qcow2")
                + " does not exist (havm storage create makes it)"),
                new DiskResource(HostStorage.INSTANCE, "host2", storage(d), d, T).online());
    }

    @Test
    void onlineRefusesAVolumeOfTheWrongFormat() {
        StorageSpec.Disk d = disk("web.qcow2", StorageSpec.Format.QCOW2, 64L << 20);
        Exec.run(T, List.of("qemu-img", "create", "-q", "-f", "raw", dir.resolve("web.qcow2").toString(), "64M"))
                .orThrow();
        assertEquals(new Result.Failed("host1: disk web-os (pool shared): volume " + dir.resolve("web.qcow2")
                + " is raw, expected qcow2"), new DiskResource(HostStorage.INSTANCE, "host1", storage(d), d, T).online());
    }

    @Test
    void onlineRefusesAPoolThatIsNotMounted() {
        StorageSpec.Disk d = disk("web.qcow2", StorageSpec.Format.QCOW2, 64L << 20);
        Path gone = dir.resolve("mnt");
        StorageSpec st = new StorageSpec(null, Map.of("shared", new StorageSpec.SharedDir("shared", gone, false)),
                Map.of(d.name(), d));
        assertEquals(new Result.Failed("host3: pool shared: " + gone + " is not a directory (is the shared file"
                + " system mounted?)"), new DiskResource(HostStorage.INSTANCE, "host3", st, d, T).online());
    }

    @Test
    void aVolumeDeletedWhileOnlineFailsLooksAliveAndIsAlive() throws Exception {
        StorageSpec.Disk d = disk("web.raw", StorageSpec.Format.RAW, 1L << 20);
        StorageSpec st = storage(d);
        Volumes.create(st, d);
        DiskResource r = new DiskResource(HostStorage.INSTANCE, "host1", st, d, T);
        assertInstanceOf(Result.Ok.class, r.online());

        Files.delete(dir.resolve("web.raw"));

        assertEquals(new Result.Failed("host1: disk web-os (pool shared): volume " + dir.resolve("web.raw")
                + " no longer exists"), r.looksAlive());
        Result is = r.isAlive();
        assertInstanceOf(Result.Failed.class, is, is.detail());
        assertTrue(is.detail().startsWith("host1: disk web-os (pool shared): cannot read " + dir.resolve("web.raw")
                + ": "), is.detail());
        assertTrue(is.detail().contains("No such file or directory"), is.detail());
    }

    @Test
    void isAliveReadsThroughTheBackingChainAsQemuDoes() throws Exception {
        Path base = dir.resolve("base.qcow2");
        Exec.run(T, List.of("qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "1M")).orThrow();
        StorageSpec.Disk d = new StorageSpec.Disk("web-os", "shared", "web.qcow2", null, StorageSpec.Format.QCOW2, 0,
                base, false);
        StorageSpec st = storage(d);
        Volumes.create(st, d);
        DiskResource r = new DiskResource(HostStorage.INSTANCE, "host1", st, d, T);
        assertInstanceOf(Result.Ok.class, r.isAlive());
        Files.delete(base);
        Result is = r.isAlive();
        assertInstanceOf(Result.Failed.class, is, is.detail());
        assertTrue(is.detail().contains(base.toString()), "names the missing backing file: " + is.detail());
    }

    /** A read that never returns (here: a FIFO nobody writes to; in life: a hung mount) is a timeout, not a hang. */
    @Test
    void aReadThatHangsIsATimeout() throws Exception {
        StorageSpec.Disk d = disk("web.raw", StorageSpec.Format.RAW, 0);
        Exec.run(T, List.of("mkfifo", dir.resolve("web.raw").toString())).orThrow();
        Duration budget = Duration.ofMillis(500);
        Result is = new DiskResource(HostStorage.INSTANCE, "host1", storage(d), d, budget).isAlive();
        assertEquals(new Result.Timeout("host1: disk web-os (pool shared): reading the first 4 KiB of "
                + dir.resolve("web.raw") + ": no answer within 500 ms", budget), is);
        assertEquals(new Result.Failed("host1: disk web-os (pool shared): volume " + dir.resolve("web.raw")
                + " is a fifo, not a volume"), new DiskResource(HostStorage.INSTANCE, "host1", storage(d), d, budget).online());
    }
}
