package io.havm.util;

import io.havm.port.Processes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The processes port on a host: child processes through {@link Exec}, QEMU by the pid libvirt recorded. */
public final class HostProcesses implements Processes {
    public static final HostProcesses INSTANCE = new HostProcesses(Path.of("/run/libvirt/qemu"));

    /** Where libvirt's QEMU driver records each running domain's QEMU pid on this host. */
    private final Path qemuPidDir;

    HostProcesses(Path qemuPidDir) {
        this.qemuPidDir = qemuPidDir;
    }

    @Override
    public Outcome run(List<String> command, Map<String, String> env, Duration timeout) {
        Map<String, String> all = new HashMap<>(System.getenv());
        all.putAll(env);
        Exec.Outcome o = Exec.run(timeout, null, all, command);
        return new Outcome(o.code(), o.timedOut(), o.out(), o.err());
    }

    @Override
    public boolean executable(Path file) {
        return Files.isRegularFile(file) && Files.isExecutable(file);
    }

    /**
     * Why SIGKILL and not libvirt's destroy: destroy asks QEMU to stop (SIGTERM) and waits; a TCG
     * guest took 1.4-1.6 s here, longer than a self-fence budget allows. Waits up to 2 s for the
     * process to be gone (a kernel may hold it in I/O; the caller's proof asks again).
     */
    @Override
    public boolean killQemu(String domain) {
        Optional<ProcessHandle> p = recordedQemu(domain);
        if (p.isEmpty() || !p.get().destroyForcibly()) {
            return false; // libvirt's destroy still turns it off, only slower
        }
        try {
            p.get().onExit().get(2, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // still exiting: the proof asks again
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    @Override
    public boolean qemuAlive(String domain) {
        return recordedQemu(domain).isPresent();
    }

    /** The live QEMU process libvirt recorded for {@code domain} on this host, if any. */
    private Optional<ProcessHandle> recordedQemu(String domain) {
        Path pidFile = qemuPidDir.resolve(domain + ".pid");
        try {
            if (!Files.isRegularFile(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(p -> p.info().command().map(c -> c.contains("qemu")).orElse(false));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
