package io.havm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExecTest {
    /**
     * A shell waiting on a child exits by itself once the watchdog kills the child — here with exit
     * 0. The outcome must still say "timed out", never "ok": a hung Offline must not pass as done.
     * The waited-for child starts first and forty more follow, so while the watchdog is still killing
     * those the shell has long woken up and exited.
     */
    @Test
    void aShellWhoseChildIsKilledStillCountsAsTimedOut() {
        for (int i = 0; i < 5; i++) {
            Exec.Outcome o = Exec.run(Duration.ofMillis(300), List.of("/bin/sh", "-c",
                    "sleep 30 & p=$!; for i in $(seq 40); do sleep 30 & done; wait $p; exit 0"));
            assertTrue(o.timedOut(), "run " + i + ": exit " + o.code() + " not reported as a timeout");
            assertFalse(o.ok());
        }
    }

    @Test
    void aQuickExitIsNotATimeout() {
        Exec.Outcome o = Exec.run(Duration.ofSeconds(5), List.of("/bin/sh", "-c", "echo hi; exit 3"));
        assertFalse(o.timedOut());
        assertEquals(3, o.code());
        assertEquals("hi\n", o.out());
    }
}
