package io.havm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Progress lines: plain when piped, a step under way redrawn with its elapsed seconds on a terminal. */
class ProgressTest {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    final AtomicLong now = new AtomicLong();

    private String printed() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void pipedTheLinesArePrintedAsTheyCome() {
        try (Progress p = Progress.forTest(out, false, now::get)) {
            p.accept("  [1/2] pull the plug on host1 ...");
            now.addAndGet(3_000_000_000L);
            p.tick();
            p.accept("  ok  3.00 s  pull the plug on host1");
        }
        assertEquals("  [1/2] pull the plug on host1 ...\n  ok  3.00 s  pull the plug on host1\n", printed());
    }

    @Test
    void updatesAreOneLineRedrawnOnATerminalAndLinesWhenPiped() {
        try (Progress p = Progress.forTest(out, false, now::get)) {
            p.update("  live: 10% of 1024 MiB, 100 ms");
            p.update("  live: 90% of 1024 MiB, 900 ms");
        }
        assertEquals("  live: 10% of 1024 MiB, 100 ms\n  live: 90% of 1024 MiB, 900 ms\n", printed());
        bytes.reset();
        try (Progress p = Progress.forTest(out, true, now::get)) {
            p.update("  live: 10% of 1024 MiB, 100 ms");
            p.update("  live: 90% of 1024 MiB, 900 ms");
            p.accept("done");
            p.update("  quick: 50% of 1024 MiB, 500 ms");
        }
        assertEquals("\r\033[K  live: 10% of 1024 MiB, 100 ms\r\033[K  live: 90% of 1024 MiB, 900 ms\ndone\n"
                + "\r\033[K  quick: 50% of 1024 MiB, 500 ms\n", printed());
    }

    @Test
    void onATerminalTheStepUnderWayShowsItsElapsedTime() {
        try (Progress p = Progress.forTest(out, true, now::get)) {
            p.accept("drill host-power-loss");
            p.accept("  [1/2] pull the plug on host1 ...");
            now.addAndGet(1_000_000_000L);
            p.tick();
            now.addAndGet(1_500_000_000L);
            p.tick();
            p.accept("  [2/2] web online ...");
            now.addAndGet(4_000_000_000L);
        }
        assertEquals("drill host-power-loss\n"
                + "  [1/2] pull the plug on host1 ...\r  [1/2] pull the plug on host1 ... 1 s"
                + "\r  [1/2] pull the plug on host1 ... 2 s\r  [1/2] pull the plug on host1 ... 2 s\n"
                + "  [2/2] web online ...\r  [2/2] web online ... 4 s\n", printed());
    }
}
