package io.havm.sim.engine;

import io.havm.port.Watchdog;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * A host's watchdog on the virtual clock: once armed, it resets (powers off) its host unless
 * petted within the timeout. It runs outside the node's processes, so a paused or crashed agent
 * does not stop it; only a power loss or the magic close does.
 */
final class SimWatchdog implements Watchdog {
    private final String node;
    private final SimScheduler sched;
    private final VirtualClock clock;
    private final Consumer<String> reset;
    private Duration timeout;
    private Instant lastPet;
    private boolean armed;

    SimWatchdog(String node, SimScheduler sched, VirtualClock clock, Consumer<String> reset) {
        this.node = node;
        this.sched = sched;
        this.clock = clock;
        this.reset = reset;
    }

    @Override
    public void arm(Duration t) {
        timeout = t;
        armed = true;
        pet();
    }

    @Override
    public void pet() {
        if (!armed) {
            return;
        }
        Instant at = clock.now();
        lastPet = at;
        sched.at(at.plus(timeout), "watchdog-" + node, () -> {
            if (armed && at.equals(lastPet)) {
                armed = false;
                reset.accept("watchdog: not petted for " + timeout.toMillis() + " ms");
            }
        });
    }

    @Override
    public void disarm() {
        armed = false;
    }

    /** The host lost power: the watchdog goes with it. */
    void off() {
        armed = false;
    }

    @Override
    public String describe() {
        return "sim watchdog of " + node;
    }
}
