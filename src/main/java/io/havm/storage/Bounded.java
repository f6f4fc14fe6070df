package io.havm.storage;

import io.havm.util.Exec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Storage I/O with a hard deadline for the caller. A program touching a hung NFS mount can sit in
 * uninterruptible sleep: the watchdog's SIGKILL then does not end it, and a plain {@link Exec#run}
 * would keep waiting for it to exit. Here the work runs on a daemon thread and the caller stops
 * waiting at the deadline (plus a short grace for the watchdog to act); a stuck thread is left
 * behind rather than the agent.
 *
 * <p>Every call of havm to shared storage on an agent goes through here.
 */
public final class Bounded {
    /** Time the watchdog gets to kill a program that overran, before the caller gives up on it. */
    private static final long GRACE_MS = 2000;

    private static final ExecutorService IO = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "havm-storage-io");
        t.setDaemon(true);
        return t;
    });

    private Bounded() {}

    /** What a bounded call gave: a value, or that it did not finish in time, or its error. */
    record Outcome<T>(T value, boolean timedOut, Throwable error) {}

    /** {@link Exec#run} that returns within {@code timeout} + grace even if the program cannot be killed. */
    public static Exec.Outcome exec(Duration timeout, List<String> cmd) {
        Outcome<Exec.Outcome> o = call(timeout, () -> Exec.run(timeout, cmd));
        if (o.timedOut()) {
            return new Exec.Outcome(cmd, -1, true, "", cmd.get(0)
                    + " did not exit after being killed (stuck in uninterruptible I/O?)");
        }
        if (o.error() != null) {
            return new Exec.Outcome(cmd, 127, false, "", "cannot run " + cmd.get(0) + ": " + o.error());
        }
        return o.value();
    }

    /** Runs {@code work}; the caller waits at most {@code timeout} + grace. */
    static <T> Outcome<T> call(Duration timeout, Callable<T> work) {
        Future<T> f = IO.submit(work);
        try {
            return new Outcome<>(f.get(timeout.toMillis() + GRACE_MS, TimeUnit.MILLISECONDS), false, null);
        } catch (TimeoutException e) {
            f.cancel(true);
            return new Outcome<>(null, true, null);
        } catch (ExecutionException e) {
            return new Outcome<>(null, false, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            return new Outcome<>(null, true, null);
        }
    }
}
