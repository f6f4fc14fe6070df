package io.havm.engine;

import io.havm.port.Clock;
import java.time.Duration;

/**
 * Lets a polling loop sleep until either its poll interval passes or something it watches
 * changes (a store watch, a member change, a fence result), whichever comes first. Signals are
 * never lost: one that arrives while the loop is busy makes its next wait return at once.
 *
 * <p>On a virtual clock it simply pauses on that clock. Under the simulator's scheduler nobody
 * waits here: a signal is passed on to the scheduler ({@link #alsoNotify}), which ends the loop's
 * virtual wait instead.
 */
final class Wakeup {
    private final Clock clock;
    private boolean signalled;
    private volatile Runnable also = () -> { };

    Wakeup(Clock clock) {
        this.clock = clock;
    }

    void signal() {
        synchronized (this) {
            signalled = true;
            notifyAll();
        }
        also.run();
    }

    /** Also runs {@code r} on every signal (outside this object's lock). */
    void alsoNotify(Runnable r) {
        also = r;
    }

    void await(Duration max) throws InterruptedException {
        if (clock != Clock.SYSTEM) {
            clock.pause(max);
            return;
        }
        synchronized (this) {
            if (!signalled) {
                clock.waitOn(this, max); // woken early by a signal (or spuriously: a loop polls anyway)
            }
            signalled = false;
        }
    }
}
