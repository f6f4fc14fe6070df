package io.havm.libvirt;

import io.havm.port.Clock;
import io.havm.util.Exec;
import io.havm.model.DomainType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Chooses the domain type by trying, never by assuming: /dev/kvm existing is not enough (a
 * nested PVM hypervisor exposes /dev/kvm on which a stock guest kernel aborts or hangs). The probe
 * boots the test guest for real under {@code -accel kvm -cpu host} and picks kvm only if it
 * reaches BOOTED. The answer is cached per guest image.
 */
public final class AccelProbe {
    private static final Duration BUDGET = Duration.ofSeconds(25);

    private AccelProbe() {}

    /** Parses a configured value: auto (probe), kvm or qemu. */
    public static DomainType resolve(String configured, Path kernel, Path initrd, Path cacheDir) {
        if (configured == null || configured.equals("auto")) {
            return probe(kernel, initrd, cacheDir);
        }
        return DomainType.parse("domainType", configured);
    }

    public static DomainType probe(Path kernel, Path initrd, Path cacheDir) {
        Path cached = cacheDir.resolve("accel-probe");
        try {
            if (Files.exists(cached)) {
                return DomainType.parse("accel-probe cache " + cached, Files.readString(cached).strip());
            }
        } catch (IOException | RuntimeException e) {
            // an unreadable cache is re-probed
        }
        DomainType t = bootsUnderKvm(kernel, initrd) ? DomainType.KVM : DomainType.QEMU;
        try {
            Files.createDirectories(cacheDir);
            Files.writeString(cached, t.word + "\n");
        } catch (IOException e) {
            // probing again next time is only slower
        }
        return t;
    }

    static boolean bootsUnderKvm(Path kernel, Path initrd) {
        Path dev = Path.of("/dev/kvm");
        if (!Files.exists(dev) || !Files.isReadable(dev) || !Files.isWritable(dev)) {
            return false;
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("havm-accel-probe");
        } catch (IOException e) {
            return false;
        }
        Path serial = dir.resolve("serial.log");
        Path pid = dir.resolve("qemu.pid");
        try {
            Exec.Outcome start = Exec.run(Duration.ofSeconds(10), List.of("qemu-system-x86_64", "-accel", "kvm",
                    "-cpu", "host", "-m", "128", "-display", "none", "-no-reboot", "-kernel", kernel.toString(),
                    "-initrd", initrd.toString(), "-append", "console=ttyS0 quiet panic=-1",
                    "-serial", "file:" + serial, "-daemonize", "-pidfile", pid.toString()));
            if (!start.ok()) {
                return false;
            }
            Instant deadline = Clock.SYSTEM.now().plus(BUDGET);
            while (Clock.SYSTEM.now().isBefore(deadline)) {
                if (Files.exists(serial) && Files.readString(serial).contains("BOOTED")) {
                    return true;
                }
                if (!alive(pid)) {
                    return false;
                }
                Clock.SYSTEM.pause(Duration.ofMillis(200));
            }
            return false;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            kill(pid);
            try (var s = Files.list(dir)) {
                for (Path f : s.toList()) {
                    Files.deleteIfExists(f);
                }
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // temp leftovers only
            }
        }
    }

    private static boolean alive(Path pidFile) throws IOException {
        if (!Files.exists(pidFile)) {
            return false;
        }
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void kill(Path pidFile) {
        try {
            if (Files.exists(pidFile)) {
                long pid = Long.parseLong(Files.readString(pidFile).strip());
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | NumberFormatException e) {
            // nothing started
        }
    }
}
