package io.havm.util;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.commons.exec.CommandLine;
import org.apache.commons.exec.DefaultExecutor;
import org.apache.commons.exec.ExecuteException;
import org.apache.commons.exec.ExecuteWatchdog;
import org.apache.commons.exec.PumpStreamHandler;

/** Runs a helper program (lab script, qemu-img, image recipe) with a timeout; output captured. */
public final class Exec {
    private Exec() {}

    /** Exit code, whether the watchdog killed it, stdout and stderr. */
    public record Outcome(List<String> command, int code, boolean timedOut, String out, String err) {
        public boolean ok() {
            return code == 0 && !timedOut;
        }

        /** Throws with the program's own error text unless it exited 0. */
        public Outcome orThrow() {
            if (!ok()) {
                String why = timedOut ? "timed out" : "exit " + code;
                String text = err.isBlank() ? out : err;
                throw new ExecFailedException(String.join(" ", command) + ": " + why
                        + (text.isBlank() ? "" : ": " + text.strip()), this);
            }
            return this;
        }
    }

    /** A helper program failed; carries its outcome. */
    public static final class ExecFailedException extends RuntimeException {
        private final transient Outcome outcome;

        ExecFailedException(String message, Outcome outcome) {
            super(message);
            this.outcome = outcome;
        }

        public Outcome outcome() {
            return outcome;
        }
    }

    public static Outcome run(Duration timeout, List<String> command) {
        return run(timeout, null, null, command);
    }

    public static Outcome run(Duration timeout, OutputStream errTee, List<String> command) {
        return run(timeout, errTee, null, command);
    }

    /**
     * Runs {@code command} with {@code env} (null: inherit); stderr is also copied to {@code errTee}
     * when given (progress for the operator). On timeout the whole process tree is killed: a script
     * that left a child holding its output open must not keep the caller waiting.
     */
    public static Outcome run(Duration timeout, OutputStream errTee, Map<String, String> env, List<String> command) {
        return run(timeout, errTee, env, null, command);
    }

    /**
     * As {@link #run(Duration, OutputStream, Map, List)}, and {@code stdin} (UTF-8; null: none) is
     * written to the program's standard input, which is then closed: programs that read their
     * parameters from stdin (fence agents) see end-of-file after the last line. Without stdin the
     * program's standard input is closed at once.
     */
    public static Outcome run(Duration timeout, OutputStream errTee, Map<String, String> env, String stdin,
            List<String> command) {
        CommandLine cl = new CommandLine(command.get(0));
        for (String a : command.subList(1, command.size())) {
            cl.addArgument(a, false);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        OutputStream errSink = errTee == null ? err : new TeeStream(err, errTee);
        TreeWatchdog watchdog = new TreeWatchdog(timeout);
        DefaultExecutor ex = DefaultExecutor.builder().get();
        ex.setStreamHandler(stdin == null ? new PumpStreamHandler(out, errSink)
                : new PumpStreamHandler(out, errSink, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8))));
        ex.setWatchdog(watchdog);
        ex.setExitValues(null);
        int code;
        try {
            code = env == null ? ex.execute(cl) : ex.execute(cl, env);
        } catch (ExecuteException e) {
            code = e.getExitValue();
        } catch (IOException e) {
            return new Outcome(command, 127, false, "", "cannot run " + command.get(0) + ": " + e.getMessage());
        }
        return new Outcome(command, code, watchdog.fired(), out.toString(StandardCharsets.UTF_8),
                err.toString(StandardCharsets.UTF_8));
    }

    public static Path projectHome() {
        return Path.of(System.getProperty("havm.home", System.getProperty("user.dir"))).toAbsolutePath();
    }

    /**
     * Kills the descendants first, then the process itself. Whether it fired is recorded here, before
     * any kill: a shell waiting on a child exits by itself once the child is killed (exit 137), and
     * then commons-exec's own {@code killedProcess()} would wrongly report an ordinary failure.
     */
    private static final class TreeWatchdog extends ExecuteWatchdog {
        private Process process;
        private boolean fired;

        @SuppressWarnings("deprecation")
        TreeWatchdog(Duration timeout) {
            super(timeout.toMillis());
        }

        @Override
        public synchronized void start(Process p) {
            this.process = p;
            super.start(p);
        }

        @Override
        public synchronized void timeoutOccured(org.apache.commons.exec.Watchdog w) {
            if (process != null && process.isAlive()) {
                fired = true;
                process.descendants().forEach(ProcessHandle::destroyForcibly);
            }
            super.timeoutOccured(w);
        }

        synchronized boolean fired() {
            return fired || killedProcess();
        }
    }

    private static final class TeeStream extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        TeeStream(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws IOException {
            a.flush();
            b.flush();
        }
    }
}
