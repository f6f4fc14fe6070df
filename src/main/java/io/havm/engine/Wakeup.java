package io.havm.engine;

import io.havm.engine.port.Clock;
import java.time.Duration;

/**
 * Lets a polling loop sleep until either its poll interval passes or something it watches
 * changes (a store watch, a member change, a fence result), whichever comes first. Signals are
 * never lost: one that arrives while the loop is busy makes its next wait return at once.
 *
 * <p>On a virtual clock (the simulator) it simply pauses on that clock.
 */
final class Wakeup {
    private final Clock clock;
    private boolean signalled;

    Wakeup(Clock clock) {
        this.clock = clock;
    }

    synchronized void signal() {
        signalled = true;
        notifyAll();
    }

    void await(Duration max) throws InterruptedException {
        if (clock != Clock.SYSTEM) {
            clock.pause(max);
            return;
        }
        synchronized (this) {
            long deadline = System.nanoTime() + max.toNanos();
            while (!signalled) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            signalled = false;
        }
    }
}
