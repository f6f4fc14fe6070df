package io.havm.storage;

import static org.junit.jupiter.api.Assertions.fail;

import io.havm.model.StorageSpec;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * A private iSCSI target for unit tests: Debian's {@code tgtd} on loopback, control port 78 and
 * TCP 3262 (the lab uses others), target 1 {@code iqn.2026-11.io.havm:unit}, LUNs backed by files.
 * {@link #close} always tears it down: target, system, then the process this class started.
 * A missing tgtd, or one already answering on port 78, fails the test with what to do: nothing is
 * skipped silently.
 */
public final class PrivateTgtd implements AutoCloseable {
    public static final int CONTROL = 78;
    public static final int PORT = 3262;
    public static final String IQN = "iqn.2026-11.io.havm:unit";
    private static final Duration CMD = Duration.ofSeconds(10);

    private final Path dir;
    private final Process process;

    private PrivateTgtd(Path dir, Process process) {
        this.dir = dir;
        this.process = process;
    }

    /** Starts tgtd and target 1 (no LUNs yet, open to every initiator); {@code dir} holds its log and LUN files. */
    public static PrivateTgtd start(Path dir) throws IOException {
        for (String tool : List.of("tgtd", "tgtadm", "iscsi-readcapacity16", "iscsi-ls", "qemu-io")) {
            if (Exec.run(CMD, List.of("sh", "-c", "command -v " + tool)).code() != 0) {
                fail(tool + " is not installed: these tests need a real iSCSI target and libiscsi"
                        + " (apt-get install tgt libiscsi-bin qemu-utils)");
            }
        }
        Exec.Outcome stale = tgtadm("--op", "show", "--mode", "system");
        if (stale.ok()) {
            fail("a tgtd already answers on control port " + CONTROL + " (left from an earlier run?); stop it with"
                    + " tgtadm -C " + CONTROL + " --op delete --mode system");
        }
        Path log = dir.resolve("tgtd.log");
        Process p = new ProcessBuilder("tgtd", "-f", "-C", Integer.toString(CONTROL), "--iscsi",
                "portal=127.0.0.1:" + PORT).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        PrivateTgtd t = new PrivateTgtd(dir, p);
        try {
            Awaitility.await("tgtd answering on control port " + CONTROL).atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> !p.isAlive() || tgtadm("--op", "show", "--mode", "system").ok());
            if (!p.isAlive()) {
                fail("tgtd exited at once (exit " + p.exitValue() + "): " + Files.readString(log));
            }
            run("--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "1", "-T", IQN);
            run("--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL");
        } catch (RuntimeException | Error | IOException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Adds LUN {@code lun} backed by a new sparse file of {@code bytes}. */
    public void addLun(int lun, long bytes) throws IOException {
        Path f = dir.resolve("lun" + lun + ".img");
        try (var raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(bytes);
        }
        run("--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", Integer.toString(lun),
                "-b", f.toString());
    }

    /** Removes LUN {@code lun} from the target, as a storage administrator might by mistake. */
    public void deleteLun(int lun) {
        run("--lld", "iscsi", "--op", "delete", "--mode", "logicalunit", "--tid", "1", "--lun",
                Integer.toString(lun));
    }

    /** A pool on this target. */
    public static StorageSpec.Iscsi pool(String name) {
        return new StorageSpec.Iscsi(name, "127.0.0.1", PORT, IQN, List.of());
    }

    @Override
    public void close() {
        tgtadm("--lld", "iscsi", "--op", "delete", "--mode", "target", "--tid", "1", "--force");
        tgtadm("--op", "delete", "--mode", "system");
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    private static void run(String... args) {
        Exec.Outcome o = tgtadm(args);
        if (!o.ok()) {
            fail("tgtadm " + String.join(" ", args) + ": " + (o.timedOut() ? "timed out" : "exit " + o.code()) + ": "
                    + (o.err() + o.out()).strip());
        }
    }

    private static Exec.Outcome tgtadm(String... args) {
        List<String> cmd = new ArrayList<>(List.of("tgtadm", "-C", Integer.toString(CONTROL)));
        cmd.addAll(List.of(args));
        return Exec.run(CMD, cmd);
    }
}
