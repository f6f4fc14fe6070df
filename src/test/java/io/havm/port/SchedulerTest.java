package io.havm.port;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** {@link Scheduler#together}: at once on threads, every result in order, every task ended before an error. */
class SchedulerTest {
    final Scheduler threads = Scheduler.threads(Clock.SYSTEM);

    @Test
    void tasksRunAtTheSameTimeAndAnswerInOrder() {
        CountDownLatch both = new CountDownLatch(2);
        Supplier<String> a = () -> meet(both, "a");
        Supplier<String> b = () -> meet(both, "b");
        // each waits until the other has started too: one after the other would time out
        assertEquals(List.of("a", "b"), threads.together("t", List.of(a, b)));
    }

    @Test
    void anErrorIsRethrownOnlyOnceEveryTaskHasEnded() {
        AtomicInteger ended = new AtomicInteger();
        Supplier<String> fails = () -> {
            throw new IllegalStateException("move failed");
        };
        Supplier<String> slow = () -> {
            sleepBriefly();
            ended.incrementAndGet();
            return "done";
        };
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> threads.together("t", List.of(fails, slow)));
        assertEquals("move failed", e.getMessage());
        assertEquals(1, ended.get(), "the other task was waited for");
    }

    @Test
    void theDefaultRunsThemOneAfterAnother() {
        Scheduler inOrder = new Scheduler() {
            @Override
            public Handle start(String name, boolean daemon, Runnable thread, Loop loop) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Handle after(String name, java.time.Duration delay, Runnable task) {
                throw new UnsupportedOperationException();
            }
        };
        StringBuilder order = new StringBuilder();
        assertEquals(List.of(1, 2), inOrder.together("t", List.of(() -> {
            order.append('1');
            return 1;
        }, () -> {
            order.append('2');
            return 2;
        })));
        assertEquals("12", order.toString());
    }

    private static String meet(CountDownLatch latch, String name) {
        latch.countDown();
        try {
            assertTrue(latch.await(20, TimeUnit.SECONDS), name + " never saw the other task running");
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        return name;
    }

    private static void sleepBriefly() {
        CountDownLatch never = new CountDownLatch(1);
        try {
            never.await(200, TimeUnit.MILLISECONDS); // a task that takes a moment
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
