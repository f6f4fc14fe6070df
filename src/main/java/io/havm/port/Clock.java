package io.havm.port;

import java.time.Duration;
import java.time.Instant;

/** Time as a port: the real clock on hosts, a virtual one in the simulator. Waiting goes through it too. */
public interface Clock {
    Instant now();

    /** Pause the calling thread; polling loops use this between checks of a deadline. */
    void pause(Duration d) throws InterruptedException;

    /**
     * Waits on {@code monitor} (whose lock the caller holds) until notified or {@code d} passed,
     * whichever is first: how a loop sleeps that a signal may wake. A virtual clock pauses instead
     * (its driver ends waits itself).
     */
    default void waitOn(Object monitor, Duration d) throws InterruptedException {
        pause(d);
    }

    Clock SYSTEM = new Clock() {
        @Override
        public Instant now() {
            return Instant.now();
        }

        @Override
        public void pause(Duration d) throws InterruptedException {
            Thread.sleep(d.toMillis());
        }

        @Override
        public void waitOn(Object monitor, Duration d) throws InterruptedException {
            long ms = d.toMillis();
            if (ms > 0) {
                monitor.wait(ms); // a spurious or early wake-up is harmless: loops re-check and poll
            }
        }
    };
}
