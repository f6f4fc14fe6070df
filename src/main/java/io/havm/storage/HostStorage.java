package io.havm.storage;

import io.havm.model.StorageSpec;
import io.havm.port.Storage;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The storage port on a host: checks through {@link StorageCheck}, {@link Luns} and helper
 * programs run in a bounded thread ({@link Bounded}: a process stuck in uninterruptible I/O on a
 * hung mount cannot hold the caller), files through java.nio.
 */
public final class HostStorage implements Storage {
    public static final HostStorage INSTANCE = new HostStorage();

    private HostStorage() {}

    @Override
    public List<Problem> checkDisk(String node, StorageSpec storage, StorageSpec.Disk disk, Duration timeout) {
        List<Problem> problems = new ArrayList<>(StorageCheck.checkDisk(node, storage, disk, timeout));
        if (problems.isEmpty()) {
            problems.addAll(StorageCheck.ensureLease(node, storage, disk, timeout));
        }
        return problems;
    }

    @Override
    public List<Problem> checkPool(String node, StorageSpec.Pool pool, Duration timeout) {
        return StorageCheck.checkPool(node, pool, timeout);
    }

    /** {@code stat} in a child process: a Java call on a hung mount could block for good. */
    @Override
    public Probe volume(Path file, Duration timeout) {
        Exec.Outcome o = Bounded.exec(timeout, List.of("stat", "-L", "-c", "%F", file.toString()));
        if (o.timedOut()) {
            return Probe.timedOut("no answer within " + timeout.toMillis() + " ms (is the shared file system hung?)");
        }
        if (!o.ok()) {
            String why = o.err().strip();
            return why.endsWith("No such file or directory") ? Probe.missing("no longer exists")
                    : Probe.failed(why.isEmpty() ? "exit " + o.code() : why);
        }
        return Probe.ok("present", 0);
    }

    @Override
    public Probe lunCapacity(StorageSpec.Iscsi pool, int lun, Duration timeout) {
        try {
            long size = Luns.capacityBytes(pool, lun, timeout);
            return Probe.ok(StorageSpec.formatSize(size), size);
        } catch (Luns.Unreachable e) {
            return e.timedOut() ? Probe.timedOut(e.getMessage()) : Probe.failed(e.getMessage());
        }
    }

    /** {@code qemu-io} through the block driver QEMU uses, read-only, without the image lock the VM holds. */
    @Override
    public Probe readFirstBlock(String target, String format, Duration timeout) {
        Exec.Outcome o = Bounded.exec(timeout, List.of("qemu-io", "-r", "-U", "-f", format, "-c", "read 0 4k",
                target));
        if (o.timedOut()) {
            return Probe.timedOut("no answer within " + timeout.toMillis() + " ms");
        }
        // qemu-io exits 1 on a failed read too, but check the report itself: it is what counts.
        if (o.code() == 0 && o.out().contains("read 4096/4096 bytes")) {
            return Probe.ok("read 4096 bytes", 4096);
        }
        String text = (o.err().isBlank() ? o.out() : o.err() + " " + o.out()).strip().replaceAll("\\s+", " ");
        return Probe.failed(text.isEmpty() ? "qemu-io exit " + o.code() : text);
    }

    /** How long one file call may take: a hung mount must not hold an agent's thread. */
    static final Duration FILE_TIMEOUT = StorageCheck.DEFAULT_TIMEOUT;

    @Override
    public String read(Path file) throws IOException {
        return bounded(file, "read", () -> Files.readString(file));
    }

    @Override
    public boolean exists(Path file) throws IOException {
        return bounded(file, "stat", () -> Files.exists(file));
    }

    @Override
    public void createDirectories(Path dir) throws IOException {
        bounded(dir, "create", () -> Files.createDirectories(dir));
    }

    @Override
    public void deleteIfExists(Path file) throws IOException {
        bounded(file, "delete", () -> Files.deleteIfExists(file));
    }

    /** Runs one file call on the bounded I/O thread; its own IOException passes through. */
    private static <T> T bounded(Path p, String what, java.util.concurrent.Callable<T> call) throws IOException {
        Bounded.Outcome<T> o = Bounded.call(FILE_TIMEOUT, call);
        if (o.timedOut()) {
            throw new IOException(what + " " + p + ": no answer within " + FILE_TIMEOUT.toMillis()
                    + " ms (is the shared file system hung?)");
        }
        if (o.error() instanceof IOException e) {
            throw e;
        }
        if (o.error() != null) {
            throw new IOException(what + " " + p + ": " + o.error(), o.error());
        }
        return o.value();
    }
}
