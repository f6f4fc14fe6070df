package io.havm.port;

import io.havm.model.StorageSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The cluster's storage as a node sees it: checks of pools, volumes and LUNs (each bounded in
 * time: a hung mount or a dead portal answers "timed out", never blocks the caller for good), and
 * the files resources keep on it (domain definitions, save-state files). On hosts, {@code
 * io.havm.storage.HostStorage}; in the simulator, a simulated storage that can lose a volume,
 * hang or be slow.
 */
public interface Storage {
    /** One problem found by a check: {@code host2: disk web-data (pool lab): LUN 5 is 64M, …}. */
    record Problem(String node, String pool, String disk, String detail, boolean timedOut) {
        public String message() {
            return node + ": " + detail;
        }

        @Override
        public String toString() {
            return message();
        }
    }

    /** How one probe ended. */
    enum Status { OK, MISSING, FAILED, TIMED_OUT }

    /** A probe's result: its status, what it saw or why not, and a number where it measures one (bytes). */
    record Probe(Status status, String detail, long bytes) {
        public static Probe ok(String detail, long bytes) {
            return new Probe(Status.OK, detail, bytes);
        }

        public static Probe missing(String detail) {
            return new Probe(Status.MISSING, detail, 0);
        }

        public static Probe failed(String detail) {
            return new Probe(Status.FAILED, detail, 0);
        }

        public static Probe timedOut(String detail) {
            return new Probe(Status.TIMED_OUT, detail, 0);
        }

        public boolean ok() {
            return status == Status.OK;
        }
    }

    /** Everything a disk needs before a VM may use it from {@code node}: pool, volume, format, size, lease. */
    List<Problem> checkDisk(String node, StorageSpec storage, StorageSpec.Disk disk, Duration timeout);

    /** Whether {@code node} reaches {@code pool} at all. */
    List<Problem> checkPool(String node, StorageSpec.Pool pool, Duration timeout);

    /** Whether a volume file still exists (without touching its data). */
    Probe volume(Path file, Duration timeout);

    /** A LUN's capacity in bytes (READ CAPACITY). */
    Probe lunCapacity(StorageSpec.Iscsi pool, int lun, Duration timeout);

    /** Reads the first 4 KiB of what QEMU opens ({@code target}: a file or a libiscsi URL), read-only. */
    Probe readFirstBlock(String target, String format, Duration timeout);

    /**
     * A whole (small) file, e.g. a domain definition. Like every file call here, bounded in time:
     * a hung mount gives an IOException saying so instead of holding the caller.
     */
    String read(Path file) throws IOException;

    /** Whether the file exists; an IOException when the storage cannot tell (hung, unreachable). */
    boolean exists(Path file) throws IOException;

    void createDirectories(Path dir) throws IOException;

    void deleteIfExists(Path file) throws IOException;
}
