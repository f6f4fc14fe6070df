package io.havm.util;

import java.io.PrintStream;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A long operation's progress lines. Piped (or when the output is no terminal) each line is
 * printed as it comes, plain. On a terminal a line that ends in "..." is a step under way: it
 * stays open and shows its elapsed seconds, redrawn every second, until the next line closes it;
 * and {@link #update} redraws one line in place (a migration's percentage).
 */
public final class Progress implements java.util.function.Consumer<String>, AutoCloseable {
    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier nanos;
    private final ScheduledExecutorService ticker;
    private String open;
    private long openedAt;
    /** A line drawn by {@link #update} is on the terminal, not yet ended. */
    private boolean updating;

    private Progress(PrintStream out, boolean terminal, LongSupplier nanos, boolean tick) {
        this.out = out;
        this.terminal = terminal;
        this.nanos = nanos;
        this.ticker = terminal && tick ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "havm-progress");
            t.setDaemon(true);
            return t;
        }) : null;
        if (ticker != null) {
            ticker.scheduleAtFixedRate(this::tick, 1, 1, TimeUnit.SECONDS);
        }
    }

    /** Progress on {@code out}: redrawn when this process talks to a terminal, plain lines otherwise. */
    public static Progress to(PrintStream out) {
        return to(out, System.console() != null);
    }

    /** Progress on {@code out}, redrawn when {@code terminal} (a resident client's caller's terminal). */
    public static Progress to(PrintStream out, boolean terminal) {
        return new Progress(out, terminal, System::nanoTime, true);
    }

    /** For tests: {@code terminal} as given, the clock given, redrawn only by {@link #tick()}. */
    static Progress forTest(PrintStream out, boolean terminal, LongSupplier nanos) {
        return new Progress(out, terminal, nanos, false);
    }

    @Override
    public synchronized void accept(String line) {
        if (!terminal) {
            out.println(line);
            out.flush();
            return;
        }
        closeOpen();
        endUpdate();
        if (line.endsWith("...")) {
            open = line;
            openedAt = nanos.getAsLong();
            out.print(line);
        } else {
            out.println(line);
        }
        out.flush();
    }

    /**
     * The latest state of one thing under way (e.g. "live: 40% of 2048 MiB, 900 ms"): on a
     * terminal it replaces the previous one on the same line; piped, a line each.
     */
    public synchronized void update(String line) {
        if (!terminal) {
            out.println(line);
            out.flush();
            return;
        }
        closeOpen();
        out.print("\r\033[K" + line);
        updating = true;
        out.flush();
    }

    private void endUpdate() {
        if (updating) {
            out.print("\n");
            updating = false;
        }
    }

    /** Redraws the step under way with its elapsed time (every second on a terminal). */
    synchronized void tick() {
        if (open != null) {
            out.print("\r" + open + " " + elapsed() + " s");
            out.flush();
        }
    }

    private long elapsed() {
        return TimeUnit.NANOSECONDS.toSeconds(nanos.getAsLong() - openedAt);
    }

    private void closeOpen() {
        if (open != null) {
            out.print("\r" + open + " " + elapsed() + " s\n");
            open = null;
        }
    }

    @Override
    public synchronized void close() {
        if (ticker != null) {
            ticker.shutdownNow();
        }
        if (terminal) {
            closeOpen();
            endUpdate();
            out.flush();
        }
    }
}
