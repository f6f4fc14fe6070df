package io.havm.engine;

import io.havm.port.Clock;
import java.time.Duration;
import java.time.Instant;

/** A clock that only moves when paused on: waits in tests take no real time. */
public final class ManualClock implements Clock {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public synchronized Instant now() {
        return now;
    }

    @Override
    public synchronized void pause(Duration d) {
        now = now.plus(d);
    }
}
