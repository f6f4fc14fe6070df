package io.havm.port;

import java.io.IOException;
import java.time.Duration;

/**
 * A hardware or kernel watchdog: once armed, the host is reset unless {@link #pet} is called
 * within the timeout. The agent pets it only while it is healthy, so a hung, paused or dead agent
 * takes its host (and every VM on it) down before the survivors count the node as fenced.
 *
 * <p>On real hosts: the Linux watchdog device ({@code /dev/watchdog}, softdog where there is no
 * hardware one) with the magic close. In the lab: a per-host watchdog process outside the host's
 * namespaces that powers the lab host off. In the simulator: a timer that cuts the node's power.
 */
public interface Watchdog {

    /** Opens and arms it: from now on the host is reset unless petted within {@code timeout}. */
    void arm(Duration timeout) throws IOException;

    /** Restarts the countdown. */
    void pet() throws IOException;

    /** Magic close: disarms it (a clean agent stop only; a crash leaves it armed, as it must). */
    void disarm();

    /** Where it is, for messages. */
    String describe();

    /** No watchdog configured: arming and petting do nothing. */
    Watchdog NONE = new Watchdog() {
        @Override
        public void arm(Duration timeout) {}

        @Override
        public void pet() {}

        @Override
        public void disarm() {}

        @Override
        public String describe() {
            return "none";
        }
    };
}
