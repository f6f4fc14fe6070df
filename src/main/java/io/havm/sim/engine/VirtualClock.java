package io.havm.sim.engine;

import io.havm.port.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The simulator's clock: it moves only when the driver advances it to the next event, or when a
 * step pauses on it (a blocking wait inside a step takes virtual time, and the world waits too).
 * It never goes backwards.
 */
public final class VirtualClock implements Clock {
    private Instant now;

    public VirtualClock(Instant start) {
        this.now = start;
    }

    @Override
    public Instant now() {
        return now;
    }

    @Override
    public void pause(Duration d) {
        if (d.isNegative()) {
            return;
        }
        now = now.plus(d);
    }

    /** Moves to {@code t} unless already past it. */
    void advanceTo(Instant t) {
        if (t.isAfter(now)) {
            now = t;
        }
    }
}
