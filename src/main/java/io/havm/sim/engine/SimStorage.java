package io.havm.sim.engine;

import io.havm.model.StorageSpec;
import io.havm.port.Storage;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The cluster's shared storage in the simulator: files (domain definitions, save-state files) that
 * every node sees, and the disks of {@code storage.disks}. Faults: a disk's volume (or LUN) is lost
 * for everyone; a node's storage hangs (every check from it runs out of time, files cannot be read
 * or written). Each node reaches it through {@link #view}, the {@link Storage} port the real
 * resources are given.
 */
public final class SimStorage {
    private final StorageSpec spec;
    private final TreeMap<Path, String> files = new TreeMap<>();
    private final TreeSet<String> lost = new TreeSet<>();
    private final TreeSet<String> hung = new TreeSet<>();

    public SimStorage(StorageSpec spec) {
        this.spec = spec;
    }

    /** Whether a lost disk is what {@code target} (a volume file or a LUN's URL) names. */
    private boolean lostTarget(String target) {
        for (String d : lost) {
            StorageSpec.Disk disk = spec.disk(d).orElseThrow();
            StorageSpec.Pool pool = spec.poolOf(disk);
            String t = pool instanceof StorageSpec.SharedDir sd ? disk.file(sd).toString()
                    : ((StorageSpec.Iscsi) pool).url(disk.lun());
            if (t.equals(target)) {
                return true;
            }
        }
        return false;
    }

    /** Writes a file directly (the simulator's setup: definitions). */
    public void put(Path file, String text) {
        files.put(file, text);
    }

    public String get(Path file) {
        return files.get(file);
    }

    public void loseDisk(String disk) {
        lost.add(disk);
    }

    public void restoreDisk(String disk) {
        lost.remove(disk);
    }

    /** No disk lost, no node's storage hung. */
    boolean healthy() {
        return lost.isEmpty() && hung.isEmpty();
    }

    public boolean isLost(String disk) {
        return lost.contains(disk);
    }

    public void hang(String node) {
        hung.add(node);
    }

    public void unhang(String node) {
        hung.remove(node);
    }

    public boolean isHung(String node) {
        return hung.contains(node);
    }

    /** What node {@code node} sees. */
    public Storage view(String node) {
        return new Storage() {
            private IOException hungIo(Path p) {
                return new IOException(p + ": no answer (the storage of " + node + " hangs)");
            }

            @Override
            public List<Problem> checkDisk(String n, StorageSpec storage, StorageSpec.Disk disk, Duration timeout) {
                String label = "disk " + disk.name() + " (pool " + disk.pool() + ")";
                if (hung.contains(node)) {
                    return List.of(new Problem(node, disk.pool(), disk.name(), label + ": no answer within "
                            + timeout.toMillis() + " ms", true));
                }
                if (lost.contains(disk.name())) {
                    return List.of(new Problem(node, disk.pool(), disk.name(), label + ": volume "
                            + volumeOf(storage, disk) + " does not exist", false));
                }
                return List.of();
            }

            @Override
            public List<Problem> checkPool(String n, StorageSpec.Pool pool, Duration timeout) {
                if (hung.contains(node)) {
                    return List.of(new Problem(node, pool.name(), null, "pool " + pool.name() + ": no answer within "
                            + timeout.toMillis() + " ms", true));
                }
                return List.of();
            }

            @Override
            public Probe volume(Path file, Duration timeout) {
                if (hung.contains(node)) {
                    return Probe.timedOut("no answer within " + timeout.toMillis()
                            + " ms (is the shared file system hung?)");
                }
                return lostTarget(file.toString()) ? Probe.missing("no longer exists") : Probe.ok("present", 0);
            }

            @Override
            public Probe lunCapacity(StorageSpec.Iscsi pool, int lun, Duration timeout) {
                if (hung.contains(node)) {
                    return Probe.timedOut("pool " + pool.name() + " LUN " + lun + ": no answer within "
                            + timeout.toMillis() + " ms");
                }
                if (lostTarget(pool.url(lun))) {
                    return Probe.failed("pool " + pool.name() + " LUN " + lun + ": LOGICAL_UNIT_NOT_SUPPORTED");
                }
                return Probe.ok("1G", 1L << 30);
            }

            @Override
            public Probe readFirstBlock(String target, String format, Duration timeout) {
                if (hung.contains(node)) {
                    return Probe.timedOut("no answer within " + timeout.toMillis() + " ms");
                }
                return lostTarget(target) ? Probe.failed("Could not open '" + target + "': No such file or directory")
                        : Probe.ok("read 4096 bytes", 4096);
            }

            @Override
            public String read(Path file) throws IOException {
                if (hung.contains(node)) {
                    throw hungIo(file);
                }
                String s = files.get(file);
                if (s == null) {
                    throw new java.nio.file.NoSuchFileException(file.toString());
                }
                return s;
            }

            @Override
            public boolean exists(Path file) throws IOException {
                if (hung.contains(node)) {
                    throw hungIo(file);
                }
                return files.containsKey(file);
            }

            @Override
            public void createDirectories(Path dir) throws IOException {
                if (hung.contains(node)) {
                    throw hungIo(dir);
                }
            }

            @Override
            public void deleteIfExists(Path file) throws IOException {
                if (hung.contains(node)) {
                    throw hungIo(file);
                }
                files.remove(file);
            }
        };
    }

    private static String volumeOf(StorageSpec storage, StorageSpec.Disk disk) {
        StorageSpec.Pool pool = storage.poolOf(disk);
        return pool instanceof StorageSpec.SharedDir sd ? disk.file(sd).toString()
                : "LUN " + disk.lun() + " of pool " + disk.pool();
    }
}
