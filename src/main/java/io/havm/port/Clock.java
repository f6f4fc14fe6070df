package io.havm.port;

import java.time.Duration;
import java.time.Instant;

/** Time as a port: the real clock on hosts, a virtual one in the simulator. Waiting goes through it too. */
public interface Clock {
    Instant now();

    /** Pause the calling thread; polling loops use this between checks of a deadline. */
    void pause(Duration d) throws InterruptedException;

    Clock SYSTEM = new Clock() {
        @Override
        public Instant now() {
            return Instant.now();
        }

        @Override
        public void pause(Duration d) throws InterruptedException {
            Thread.sleep(d.toMillis());
        }
    };
}
