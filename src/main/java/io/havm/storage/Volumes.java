package io.havm.storage;

import io.havm.model.InvalidInputException;
import io.havm.model.StorageSpec;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Creates the volumes of a configuration's disks: qcow2 (optionally over a backing file) and raw
 * files in shared-dir pools, and the lockd lease file of each non-shareable LUN. A LUN itself is
 * the storage administrator's: it must exist on the target already.
 */
public final class Volumes {
    private static final Duration QEMU_IMG = Duration.ofMinutes(2);

    private Volumes() {}

    /** What {@link #create} made, so that a caller can undo it. */
    public record Created(List<Path> files) {}

    /**
     * Creates what is missing for {@code disk}; an existing volume is left as it is (its format is
     * checked where it is used). Returns the files created.
     */
    public static List<Path> create(StorageSpec storage, StorageSpec.Disk disk) {
        List<Path> made = new ArrayList<>();
        StorageSpec.Pool pool = storage.poolOf(disk);
        if (pool instanceof StorageSpec.SharedDir sd) {
            if (!Files.isDirectory(sd.path())) {
                throw new InvalidInputException("storage.pools." + sd.name() + ".path", sd.path()
                        + " is not a directory here (is the shared file system mounted?)");
            }
            Path file = disk.file(sd);
            if (!Files.exists(file)) {
                List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", disk.format().word));
                if (disk.format() == StorageSpec.Format.RAW) {
                    cmd.addAll(List.of("-o", "preallocation=off"));
                }
                if (disk.backing() != null) {
                    if (!Files.isRegularFile(disk.backing())) {
                        throw new InvalidInputException("storage.disks." + disk.name() + ".backing", disk.backing()
                                + " does not exist or is not a file");
                    }
                    cmd.addAll(List.of("-b", disk.backing().toString(), "-F", backingFormat(disk.backing())));
                }
                cmd.add(file.toString());
                if (disk.sizeBytes() > 0) {
                    cmd.add(Long.toString(disk.sizeBytes()));
                }
                Exec.run(QEMU_IMG, cmd).orThrow();
                made.add(file);
            }
        }
        ensureLease(storage, disk).ifPresent(made::add);
        return made;
    }

    /** Whether {@code disk} gets an explicit lockd lease: a non-shareable LUN, with a lease directory. */
    public static boolean needsLease(StorageSpec storage, StorageSpec.Disk disk) {
        return storage.poolOf(disk) instanceof StorageSpec.Iscsi && !disk.shareable() && storage.leaseDir() != null;
    }

    /**
     * Creates the lockd lease file of a non-shareable LUN when it is missing (the lease directory
     * too); returns the file when it made one. Nothing for other disks.
     */
    public static Optional<Path> ensureLease(StorageSpec storage, StorageSpec.Disk disk) {
        if (!needsLease(storage, disk)) {
            return Optional.empty();
        }
        Path lease = storage.leaseDir().resolve(disk.leaseKey());
        if (Files.exists(lease)) {
            return Optional.empty();
        }
        try {
            Files.createDirectories(storage.leaseDir());
            Files.createFile(lease);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            return Optional.empty(); // another node made it at the same moment
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the lease file " + lease, e);
        }
        return Optional.of(lease);
    }

    /** Removes files {@link #create} made (undo of a half-done creation). */
    public static void delete(List<Path> files) {
        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove " + f, e);
            }
        }
    }

    /** The format qemu-img reports for a backing file (raw or qcow2). */
    static String backingFormat(Path file) {
        try {
            return ImageInfo.read(file, Duration.ofSeconds(30)).format();
        } catch (ImageInfo.Unreadable e) {
            throw new IllegalStateException("qemu-img info " + file + ": " + e.getMessage(), e);
        }
    }
}
