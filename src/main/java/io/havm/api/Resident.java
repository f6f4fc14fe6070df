package io.havm.api;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The resident client: one warm JVM per user that runs the launcher's {@code group} and
 * {@code node} commands, so that such a command costs what the cluster takes, not a JVM's start,
 * its class loading and a cold TLS handshake (about 0.6 s on a 2-core host: the CLI overhead
 * target of a {@code group move} is 0.3 s). The launcher ({@code ./havm}) talks to it over a
 * loopback TCP port with bash's {@code /dev/tcp}; without it, or when it does not answer, the
 * launcher runs the command in a JVM of its own, as before.
 *
 * <p>Where: a directory of this user's only (mode 0700), holding {@code lock} (one resident per
 * directory: a second one exits at once) and {@code endpoint}: {@code PORT SECRET IDENTITY PID},
 * mode 0600, written atomically once the port listens. IDENTITY is the launcher's word for the
 * jar it was started from (size and modification time): a launcher uses a resident of its own jar
 * only, and the resident exits when its jar changed or after {@link #IDLE} without a request.
 *
 * <p>The protocol, UTF-8 lines. The client sends its secret, {@code 1} or {@code 0} (whether it
 * talks to a terminal), its {@code HAVM_API_TOKEN} (an empty line: none), the number of
 * arguments, then each argument (paths already absolute: this JVM's directory is not the
 * caller's). The resident answers {@code r WHY} (refused: nothing was run, the launcher runs the
 * command itself) or {@code a} (accepted: from here the command runs here and the launcher must
 * never run it again), then the command's output as {@code o LINE} / {@code e LINE} (stdout /
 * stderr) or {@code p TEXT} / {@code f TEXT} (a line not ended yet: a progress redraw), then
 * {@code x CODE}. A client that goes away interrupts its command (as Ctrl-C would end a JVM of its
 * own); what the command already asked of the cluster stays asked.
 */
public final class Resident {
    /** A resident with no request for this long exits. */
    static final Duration IDLE = Duration.ofMinutes(10);
    /** The commands a resident runs: those whose only path is {@code --config} (made absolute by the launcher). */
    static final Set<String> COMMANDS = Set.of("group", "node");
    private static final int MAX_ARGS = 64;
    /** How often a resident looks whether it is idle or its jar changed. */
    static final Duration CHECK_EVERY = Duration.ofSeconds(5);
    /** How long a new resident waits for one of another version to hand the directory over. */
    static final Duration LOCK_WAIT = Duration.ofSeconds(20);
    /** How many training commands warm a new resident up. */
    static final int WARM_UPS = 5;
    private static final int MAX_LINE = 64 * 1024;

    private final Path dir;
    private final String identity;
    private final Path jar;
    private final String secret;
    private final AtomicLong lastRequest = new AtomicLong(System.nanoTime());
    private ServerSocket server;
    private volatile boolean closed;

    /** How a command is run: a Main with the caller's output, environment and terminal. */
    interface Runner {
        int run(List<String> argv, PrintStream out, PrintStream err, Map<String, String> env, boolean terminal);
    }

    private final Runner runner;

    Resident(Path dir, String identity, Path jar, Runner runner) {
        this.dir = dir;
        this.identity = identity;
        this.jar = jar;
        this.runner = runner;
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        this.secret = HexFormat.of().formatHex(b);
    }

    /** {@code java -cp havm.jar io.havm.api.Resident DIR IDENTITY}: what the launcher starts, in the background. */
    public static void main(String[] argv) throws IOException {
        if (argv.length != 2) {
            System.err.println("usage: java -cp havm.jar io.havm.api.Resident DIR IDENTITY (started by ./havm)");
            System.exit(2);
        }
        Path home = io.havm.util.Exec.projectHome();
        Path jar = Path.of(Resident.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        Path dir = Path.of(argv[0]);
        Resident r = new Resident(dir, argv[1], jar, (args, out, err, env, terminal) ->
                new Main(home, out, err, env, terminal).run(args));
        Thread warm = new Thread(() -> warmUp(dir.resolve("warm")), "havm-resident-warm-up");
        warm.setDaemon(true);
        warm.start();
        System.exit(r.serve() ? 0 : 1);
    }

    /**
     * Runs the training command of {@code ci/cds-archive} a few times against its stand-in API, when
     * the launcher left it a throw-away certificate in {@code warm}: the first real command then
     * finds its classes initialised and compiled and TLS ready, instead of paying for that itself
     * (measured on the lab: the first request of a cold resident took 1.2 s, the next ones 0.2 s).
     */
    static void warmUp(Path warm) {
        try {
            if (Files.isRegularFile(warm.resolve("cert.pem"))) {
                PrintStream quiet = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
                for (int i = 0; i < WARM_UPS; i++) {
                    CdsTraining.train(warm, quiet);
                }
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("havm resident: warming up: " + e);
        } finally {
            try (java.util.stream.Stream<Path> files = Files.exists(warm) ? Files.list(warm) : java.util.stream.Stream.of()) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
                Files.deleteIfExists(warm);
            } catch (IOException e) {
                System.err.println("havm resident: cannot remove " + warm + ": " + e.getMessage());
            }
        }
    }

    /**
     * Serves until idle, its jar changed, or {@link #close}: false when another resident holds the
     * directory (or it is not this user's alone), true after serving.
     */
    boolean serve() throws IOException {
        java.nio.file.LinkOption noLink = java.nio.file.LinkOption.NOFOLLOW_LINKS;
        if (!Files.isDirectory(dir, noLink) || !Files.getOwner(dir, noLink).getName().equals(System.getProperty(
                "user.name")) || !PosixFilePermissions.toString(Files.getPosixFilePermissions(dir, noLink))
                .equals("rwx------")) {
            System.err.println("havm resident: " + dir + " is not a directory of this user's alone (mode 0700):"
                    + " not serving");
            return false;
        }
        try (FileChannel lockFile = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS); FileLock lock = lock(lockFile)) {
            if (lock == null) {
                return false; // another resident serves this directory
            }
            server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
            Path tmp = dir.resolve("endpoint.tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, server.getLocalPort() + " " + secret + " " + identity + " "
                    + ProcessHandle.current().pid() + "\n");
            Files.move(tmp, dir.resolve("endpoint"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            Thread watch = new Thread(this::watchIdle, "havm-resident-idle");
            watch.setDaemon(true);
            watch.start();
            long jarStamp = stamp();
            while (!closed) {
                Socket s;
                try {
                    s = server.accept();
                } catch (SocketException e) {
                    break; // closed
                }
                lastRequest.set(System.nanoTime());
                if (stamp() != jarStamp) { // upgraded or rebuilt under it: a fresh resident will load the new classes
                    refuse(s, "stale: its jar changed");
                    close();
                    break;
                }
                active.incrementAndGet(); // counted before the loop can end: handle() ends it
                Thread t = new Thread(() -> handle(s), "havm-resident-request");
                t.setDaemon(true);
                t.start();
            }
            // no new request (a launcher now runs its command itself); those under way end first,
            // however long an operation they follow takes: exiting would cut their output off
            removeEndpoint();
            while (active.get() > 0) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    break;
                }
            }
            return true;
        } finally {
            removeEndpoint();
        }
    }

    /**
     * The directory's lock, or null: held by a resident of this same version (it serves), or still
     * held after {@link #LOCK_WAIT} by one of another version (that one exits within
     * {@link #CHECK_EVERY} of its jar changing: an upgrade or a rebuild hands over within seconds).
     */
    private FileLock lock(FileChannel f) throws IOException {
        long deadline = System.nanoTime() + LOCK_WAIT.toNanos();
        while (true) {
            FileLock l;
            try {
                l = f.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException e) {
                l = null; // held in this JVM (tests): held all the same
            }
            if (l != null) {
                return l;
            }
            String holder = "";
            try {
                String[] ep = Files.readString(dir.resolve("endpoint")).strip().split(" ");
                holder = ep.length == 4 ? ep[2] : "";
            } catch (IOException e) {
                // starting, or gone: wait as for another version
            }
            if (holder.equals(identity) || System.nanoTime() > deadline) {
                return null;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    /** The port it listens on (tests). */
    int port() {
        return server.getLocalPort();
    }

    String secret() {
        return secret;
    }

    void close() {
        closed = true;
        try {
            if (server != null) {
                server.close();
            }
        } catch (IOException e) {
            // closing
        }
    }

    private void removeEndpoint() {
        try {
            Path ep = dir.resolve("endpoint");
            if (Files.isRegularFile(ep) && Files.readString(ep).contains(" " + secret + " ")) {
                Files.delete(ep);
            }
        } catch (IOException e) {
            // a launcher that finds it refused connects fails and runs the command itself
        }
    }

    private long stamp() {
        try {
            return jar == null ? 0 : Files.getLastModifiedTime(jar).toMillis() * 31 + Files.size(jar);
        } catch (IOException e) {
            return -1;
        }
    }

    /** Ends the resident when idle, or when its jar changed under it (an upgrade, a rebuild). */
    private void watchIdle() {
        long jarStamp = stamp();
        while (!closed) {
            try {
                Thread.sleep(CHECK_EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            if (System.nanoTime() - lastRequest.get() > IDLE.toNanos() && active.get() == 0 || stamp() != jarStamp) {
                close();
            }
        }
    }

    private final java.util.concurrent.atomic.AtomicInteger active = new java.util.concurrent.atomic.AtomicInteger();

    private static void refuse(Socket s, String why) {
        try (s) {
            s.getOutputStream().write(("r " + why + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the client went away: it runs the command itself
        }
    }

    private void handle(Socket s) {
        try (s) {
            s.setSoTimeout(5000); // the request itself: a few lines, at once
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String given = line(in);
            if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8),
                    secret.getBytes(StandardCharsets.UTF_8))) {
                refuse(s, "not this resident's secret");
                return;
            }
            boolean terminal = "1".equals(line(in));
            String token = line(in);
            String count = line(in);
            int n;
            try {
                n = Integer.parseInt(count == null ? "" : count);
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1 || n > MAX_ARGS || token == null) {
                refuse(s, "a malformed request");
                return;
            }
            List<String> argv = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String a = line(in);
                if (a == null) {
                    refuse(s, "a malformed request");
                    return;
                }
                argv.add(a);
            }
            if (!COMMANDS.contains(argv.get(0))) {
                refuse(s, "not a command a resident runs: " + argv.get(0));
                return;
            }
            s.setSoTimeout(0);
            Map<String, String> env = token.isEmpty() ? Map.of() : Map.of("HAVM_API_TOKEN", token);
            Frames frames = new Frames(s.getOutputStream());
            frames.write("a", "");
            Thread command = Thread.currentThread();
            Thread hangUp = new Thread(() -> { // the client's end: EOF when it went away
                try {
                    while (s.getInputStream().read() >= 0) {
                        // nothing more is expected of it
                    }
                } catch (IOException e) {
                    // reset: gone as well
                }
                if (!frames.done) {
                    command.interrupt();
                }
            }, "havm-resident-hangup");
            hangUp.setDaemon(true);
            hangUp.start();
            int code;
            try (PrintStream out = new PrintStream(frames.stream("o", "p"), true, StandardCharsets.UTF_8);
                    PrintStream err = new PrintStream(frames.stream("e", "f"), true, StandardCharsets.UTF_8)) {
                code = runner.run(argv, out, err, env, terminal);
                out.flush();
                err.flush();
            }
            frames.done = true;
            frames.write("x", Integer.toString(code));
        } catch (IOException e) {
            // the client went away
        } finally {
            Thread.interrupted(); // a hang-up's interrupt ends with its request
            active.decrementAndGet();
            lastRequest.set(System.nanoTime());
        }
    }

    private static String line(BufferedReader in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (b.length() >= MAX_LINE) {
                return null;
            }
            b.append((char) c);
        }
        return c < 0 && b.length() == 0 ? null : b.toString();
    }

    /** The answer's frames, one line each; both output streams write through it, a frame at a time. */
    private static final class Frames {
        private final Writer w;
        volatile boolean done;

        Frames(OutputStream o) {
            this.w = new java.io.OutputStreamWriter(o, StandardCharsets.UTF_8);
        }

        synchronized void write(String kind, String text) throws IOException {
            w.write(kind);
            w.write(' ');
            w.write(text);
            w.write('\n');
            w.flush();
        }

        /** A stream whose whole lines are {@code line} frames and whose flushed rest a {@code partial} frame. */
        OutputStream stream(String line, String partial) {
            return new OutputStream() {
                private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

                @Override
                public void write(int b) throws IOException {
                    if (b == '\n') {
                        send(line);
                    } else {
                        buf.write(b);
                    }
                }

                @Override
                public void flush() throws IOException {
                    if (buf.size() > 0) {
                        send(partial);
                    }
                }

                private void send(String kind) throws IOException {
                    String text = buf.toString(StandardCharsets.UTF_8);
                    buf.reset();
                    // a frame is one line: a carriage return (a redraw) stays, any other line break cannot occur
                    Frames.this.write(kind, text);
                }
            };
        }
    }
}
