package io.havm.port;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * How the engine runs its loops and background work: real threads on hosts ({@link #threads}), a
 * single-threaded discrete-event driver in the simulator, which steps the very same loop bodies
 * at virtual times and so makes a whole cluster of real agents deterministic.
 *
 * <p>A loop is given twice, as the code a real thread runs (its own waits, exactly as before the
 * simulator existed) and as one pass ({@link Loop#step}) for a driver that does the waiting
 * itself. Hosts use only the first, the simulator only the second.
 */
public interface Scheduler {

    /** One pass of a loop, its unexpected errors handled as the loop's thread handles them. */
    interface Loop {
        /** Runs one pass; returns how long to wait before the next (a wake-up may cut it short), null once the loop is over. */
        Duration step();
    }

    /** A started loop or task. */
    interface Handle {
        /** Something the loop watches changed: end its current wait now (threads: their own Wakeup does it). */
        void wake();

        /** Stop it (threads: interrupt). */
        void cancel();
    }

    /** Starts loop {@code name}: {@code thread} on a new thread on hosts, {@code loop} stepped by a simulator. */
    Handle start(String name, boolean daemon, Runnable thread, Loop loop);

    /** Runs {@code task} once, {@code delay} from now, on its own daemon thread (hosts). */
    Handle after(String name, Duration delay, Runnable task);

    /**
     * Runs {@code tasks} together and returns their results in order once every one is done: each
     * on its own thread on hosts; one after another in the simulator, which keeps it deterministic.
     * The first task's exception (after all have ended) is rethrown.
     */
    default <T> List<T> together(String name, List<Supplier<T>> tasks) {
        List<T> out = new ArrayList<>();
        for (Supplier<T> t : tasks) {
            out.add(t.get());
        }
        return out;
    }

    /** Real threads: what the engine always did on hosts. Delays are paused on {@code clock}. */
    static Scheduler threads(Clock clock) {
        return new Scheduler() {
            @Override
            public Handle start(String name, boolean daemon, Runnable thread, Loop loop) {
                Thread t = new Thread(thread, name);
                t.setDaemon(daemon);
                t.start();
                return handle(t);
            }

            @Override
            public Handle after(String name, Duration delay, Runnable task) {
                Thread t = new Thread(() -> {
                    if (!delay.isZero()) {
                        try {
                            clock.pause(delay);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    task.run();
                }, name);
                t.setDaemon(true);
                t.start();
                return handle(t);
            }

            @Override
            public <T> List<T> together(String name, List<Supplier<T>> tasks) {
                if (tasks.size() < 2) {
                    return Scheduler.super.together(name, tasks);
                }
                List<Object> results = new ArrayList<>(java.util.Collections.nCopies(tasks.size(), null));
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < tasks.size(); i++) {
                    int at = i;
                    Thread t = new Thread(() -> {
                        try {
                            results.set(at, tasks.get(at).get());
                        } catch (RuntimeException | Error e) {
                            results.set(at, new Failed(e));
                        }
                    }, name + "-" + i);
                    t.setDaemon(true);
                    threads.add(t);
                }
                threads.forEach(Thread::start);
                boolean interrupted = false;
                for (Thread t : threads) {
                    while (true) {
                        try {
                            t.join(); // each task is bounded by its own timeouts
                            break;
                        } catch (InterruptedException e) {
                            interrupted = true; // the tasks still run: wait for them, then say so
                        }
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
                List<T> out = new ArrayList<>();
                for (Object r : results) {
                    if (r instanceof Failed f) {
                        if (f.e() instanceof RuntimeException re) {
                            throw re;
                        }
                        throw (Error) f.e();
                    }
                    @SuppressWarnings("unchecked")
                    T v = (T) r;
                    out.add(v);
                }
                return out;
            }

            private Handle handle(Thread t) {
                return new Handle() {
                    @Override
                    public void wake() {
                        // a real loop waits on its own Wakeup, which the same signal already ended
                    }

                    @Override
                    public void cancel() {
                        t.interrupt();
                    }
                };
            }
        };
    }

    /** A task of {@link #together} that threw. */
    record Failed(Throwable e) {}
}
