package io.havm.fencing;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.ptr.IntByReference;
import io.havm.port.Watchdog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Watchdog drivers: {@link #open} looks at what the path is and returns the driver for it.
 *
 * <ul>
 *   <li>A FIFO: the lab's watchdog, {@code ci/lab-watchdog} (see ci/lab-README.md, "Watchdog"), which
 *       powers its lab host off when the pets stop. Protocol: {@code arm <ms>\n} arms, any other byte
 *       pets (we write {@code .}), {@code V} disarms. The FIFO is opened write-only and non-blocking:
 *       the open fails at once (ENXIO) when no daemon reads it, a write fails (EAGAIN) instead of
 *       blocking when the daemon stopped reading, and one to a daemon that died fails (EPIPE; the JVM
 *       ignores SIGPIPE). So the agent learns that it is unprotected, and no call ever hangs. (Opening
 *       it read-write would not block either, but then we would be a reader ourselves: pets into a
 *       dead daemon's FIFO would succeed.)
 *   <li>A character device: the Linux watchdog API ({@code /dev/watchdog}, softdog or hardware).
 *       Opening it starts it; {@code WDIOC_SETTIMEOUT} sets the timeout in whole seconds (we ask for
 *       the asked timeout rounded down, never up) and returns what the driver accepted, which must not
 *       be longer; any write pets; {@code V} then close stops it (unless the kernel says nowayout).
 *       <b>Not tested here</b>: the lab kernel has no watchdog device (modules are off). It is kept
 *       to those four system calls.
 * </ul>
 *
 * <p>Every failure is an {@link IOException} naming the path; {@link Watchdog#disarm} cannot throw
 * one (the port does not declare it), so its failure is an {@link UncheckedIOException} around one.
 * A pet is one {@code write(2)}. The drivers are thread-safe.
 */
public final class Watchdogs {

    private Watchdogs() {}

    // Linux (x86-64 and arm64 share these values).
    private static final int S_IFMT = 0170000;
    private static final int S_IFIFO = 0010000;
    private static final int S_IFCHR = 0020000;
    private static final int O_WRONLY = 01;
    private static final int O_NONBLOCK = 04000;
    private static final int O_CLOEXEC = 02000000;
    private static final int ENXIO = 6;
    private static final int EAGAIN = 11;
    private static final int EPIPE = 32;
    /** {@code _IOWR('W', 6, int)}: set the timeout (seconds), returns the one the driver accepted. */
    private static final NativeLong WDIOC_SETTIMEOUT = new NativeLong(0xC0045706L);

    /** libc through JNA; each call throws {@link LastErrorException} (errno) when it returns -1. */
    interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int open(String path, int flags) throws LastErrorException;

        int ioctl(int fd, NativeLong request, IntByReference arg) throws LastErrorException;

        NativeLong write(int fd, byte[] buf, NativeLong count) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    /**
     * The driver for {@code path}: a lab watchdog FIFO or a watchdog device. Nothing is opened yet:
     * {@link Watchdog#arm} opens it (opening a watchdog device starts it).
     */
    public static Watchdog open(String path) throws IOException {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(Path.of(path), "unix:mode");
        } catch (NoSuchFileException e) {
            throw new IOException(path + " is neither a watchdog device nor a lab watchdog FIFO (it does not exist)", e);
        } catch (IOException | UnsupportedOperationException e) {
            throw new IOException(path + ": cannot tell what it is: " + e.getMessage(), e);
        }
        return switch (mode & S_IFMT) {
            case S_IFIFO -> new LabFifo(path);
            case S_IFCHR -> new Device(path);
            default -> throw new IOException(path + " is neither a watchdog device nor a lab watchdog FIFO");
        };
    }

    private static String errno(LastErrorException e) {
        return e.getMessage() == null ? "errno " + e.getErrorCode() : e.getMessage();
    }

    /** What the drivers share: one fd, one write per call. */
    private abstract static class Driver implements Watchdog {
        final String path;
        int fd = -1;

        Driver(String path) {
            this.path = path;
        }

        /** Writes all of {@code bytes} in one write(2), or fails naming the path. */
        void write(byte[] bytes, String what) throws IOException {
            if (fd < 0) {
                throw new IOException(path + ": cannot " + what + ": not armed");
            }
            long n;
            try {
                n = LibC.INSTANCE.write(fd, bytes, new NativeLong(bytes.length)).longValue();
            } catch (LastErrorException e) {
                throw new IOException(path + ": cannot " + what + ": " + writeError(e), e);
            }
            if (n != bytes.length) {
                throw new IOException(path + ": cannot " + what + ": wrote " + n + " of " + bytes.length + " bytes");
            }
        }

        String writeError(LastErrorException e) {
            return errno(e);
        }

        /** Closes the fd; errors are reported, the fd is gone either way. */
        void closeFd() throws IOException {
            int f = fd;
            fd = -1;
            if (f < 0) {
                return;
            }
            try {
                LibC.INSTANCE.close(f);
            } catch (LastErrorException e) {
                throw new IOException(path + ": close failed: " + errno(e), e);
            }
        }

        @Override
        public synchronized void pet() throws IOException {
            write(PET, "pet");
        }

        /** Magic close: 'V', then close. */
        @Override
        public synchronized void disarm() {
            if (fd < 0) {
                return;
            }
            try {
                try {
                    write(MAGIC, "disarm");
                } finally {
                    closeFd();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(new IOException(e.getMessage() + " (the watchdog may still be armed)", e));
            }
        }

        @Override
        public String toString() {
            return describe();
        }
    }

    private static final byte[] PET = {'.'};
    private static final byte[] MAGIC = {'V'};

    /** The lab's watchdog: the FIFO of a ci/lab-watchdog daemon. */
    static final class LabFifo extends Driver {
        LabFifo(String path) {
            super(path);
        }

        @Override
        public synchronized void arm(Duration timeout) throws IOException {
            long ms = timeout.toMillis();
            if (ms <= 0) {
                throw new IllegalArgumentException(path + ": watchdog timeout must be at least 1 ms, not " + timeout);
            }
            if (fd < 0) {
                try {
                    fd = LibC.INSTANCE.open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                } catch (LastErrorException e) {
                    throw new IOException(path + ": cannot open the lab watchdog FIFO: " + (e.getErrorCode() == ENXIO
                            ? "no ci/lab-watchdog daemon reads it (ci/lab up starts one per host)"
                            : errno(e)), e);
                }
            }
            write(("arm " + ms + "\n").getBytes(StandardCharsets.US_ASCII), "arm");
        }

        @Override
        String writeError(LastErrorException e) {
            return switch (e.getErrorCode()) {
                case EPIPE -> "its ci/lab-watchdog daemon is gone (EPIPE)";
                case EAGAIN -> "its ci/lab-watchdog daemon does not read (FIFO full)";
                default -> errno(e);
            };
        }

        @Override
        public String describe() {
            return "lab watchdog " + path;
        }
    }

    /** A Linux watchdog device ({@code /dev/watchdog}). Not tested here: no such device in the lab. */
    static final class Device extends Driver {
        Device(String path) {
            super(path);
        }

        @Override
        public synchronized void arm(Duration timeout) throws IOException {
            long asked = timeout.toSeconds();   // rounded down: the device may fire earlier, never later
            if (asked < 1 || asked > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(path + ": a watchdog device counts whole seconds (1 s or more), not " + timeout);
            }
            boolean opened = false;
            if (fd < 0) {
                try {
                    fd = LibC.INSTANCE.open(path, O_WRONLY | O_CLOEXEC);   // starts it (driver's default timeout)
                } catch (LastErrorException e) {
                    throw new IOException(path + ": cannot open the watchdog device: " + errno(e), e);
                }
                opened = true;
            }
            IntByReference t = new IntByReference((int) asked);
            try {
                LibC.INSTANCE.ioctl(fd, WDIOC_SETTIMEOUT, t);
                if (t.getValue() > asked) {
                    throw new IOException(path + ": the watchdog device accepted a timeout of " + t.getValue()
                            + " s, longer than the " + asked + " s asked");
                }
            } catch (LastErrorException | IOException e) {
                if (opened) {
                    try {
                        disarm();   // do not leave a device we just started running with a timeout we did not set
                    } catch (UncheckedIOException ignored) {
                        // the arm failure below is what matters
                    }
                }
                throw e instanceof IOException io ? io
                        : new IOException(path + ": WDIOC_SETTIMEOUT " + asked + " s failed: " + errno((LastErrorException) e), e);
            }
        }

        @Override
        public String describe() {
            return "watchdog device " + path;
        }
    }
}
