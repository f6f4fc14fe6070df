package io.havm.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ConsoleLogTest {
    @Test
    void readsBootsCountersAndTicks() {
        ConsoleLog c = ConsoleLog.parse("BOOTCOUNT 1\nBOOTED\nTICK 1\nTICK 2\r\nTICK 3\nBOOTCOUNT 2\nBOOTED\nTICK 1\n");
        assertEquals(2, c.booted());
        assertEquals(List.of(1, 2), c.bootCounts());
        assertEquals(List.of(1, 2, 3), c.ticksPerBoot().get(0));
        assertTrue(c.ticksContinuous(0));
        assertEquals(1, c.lastTick());
        assertEquals(2, c.lastBootCount());
    }

    @Test
    void aGapOrARestartInTheTicksIsNotContinuous() {
        assertFalse(ConsoleLog.parse("BOOTED\nTICK 1\nTICK 3\n").ticksContinuous(0));
        assertFalse(ConsoleLog.parse("BOOTED\nTICK 5\nTICK 1\n").ticksContinuous(0));
        assertEquals(0, ConsoleLog.parse("").lastTick());
        assertEquals(-1, ConsoleLog.parse("").lastBootCount());
    }
}
