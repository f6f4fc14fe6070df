package io.havm.sim.engine;

import io.havm.port.Scheduler;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The simulator's one thread: a discrete-event queue ordered by (virtual time, sequence). Every
 * agent loop, coordinator term, self-fence watchdog, fence and coordination callback of the real
 * engine is an event here, tagged with the node it runs on, so that a node's power loss cancels
 * all of them and a paused (frozen) node's events wait until it resumes.
 *
 * <p>Same inputs, same order: ties are broken by the order events were scheduled, never by
 * hashing or wall time.
 */
public final class SimScheduler {
    /** More events than this at one virtual instant is a livelock, not a simulation. */
    private static final int MAX_EVENTS_PER_INSTANT = 200_000;

    private final VirtualClock clock;
    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private final Map<String, List<Cancellable>> tasks = new HashMap<>();
    private final TreeSet<String> frozen = new TreeSet<>();
    private final Map<String, List<Event>> held = new HashMap<>();
    /** Threads (loops by name) that hang in a call: their events wait, the rest of the process runs. */
    private final TreeSet<String> hung = new TreeSet<>();
    private final Map<String, List<Event>> heldThreads = new HashMap<>();
    private Function<String, Duration> latency = name -> Duration.ZERO;
    private java.util.function.Consumer<String> uncaught = line -> { };
    private long seq;
    private Instant lastAt;
    private int sameInstant;
    private long events;

    /** Events run so far. */
    long events() {
        return events;
    }

    public SimScheduler(VirtualClock clock) {
        this.clock = clock;
    }

    /** Where an uncaught exception of a background task is reported. */
    void uncaught(java.util.function.Consumer<String> c) {
        this.uncaught = c;
    }

    /** Extra virtual time a background task takes to complete, by task name (e.g. a fence agent's run). */
    void latency(Function<String, Duration> f) {
        this.latency = f;
    }

    /** A scheduled action. */
    static final class Event implements Comparable<Event> {
        Instant at;
        long seq;
        final String node;
        /** The loop's or task's name (a hung thread holds only its own events). */
        final String name;
        final Runnable action;
        boolean cancelled;

        Event(Instant at, long seq, String node, String name, Runnable action) {
            this.at = at;
            this.seq = seq;
            this.node = node;
            this.name = name;
            this.action = action;
        }

        @Override
        public int compareTo(Event o) {
            int c = at.compareTo(o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private interface Cancellable {
        void cancel();
    }

    Event at(Instant at, String node, Runnable action) {
        return at(at, node, null, action);
    }

    Event at(Instant at, String node, String name, Runnable action) {
        Instant when = at.isBefore(clock.now()) ? clock.now() : at;
        Event e = new Event(when, seq++, node, name, action);
        queue.add(e);
        return e;
    }

    /** Runs {@code action} as soon as possible, after what is already due now. */
    Event post(String node, Runnable action) {
        return at(clock.now(), node, action);
    }

    /** The next event's time, or null. */
    Instant next() {
        while (!queue.isEmpty() && queue.peek().cancelled) {
            queue.poll();
        }
        return queue.isEmpty() ? null : queue.peek().at;
    }

    /** Runs the next event due at or before {@code until}; false when there is none. */
    boolean runOne(Instant until) {
        Instant n = next();
        if (n == null || n.isAfter(until)) {
            return false;
        }
        Event e = queue.poll();
        if (frozen.contains(e.node)) {
            held.computeIfAbsent(e.node, k -> new ArrayList<>()).add(e);
            return true;
        }
        if (e.name != null && hung.contains(e.name)) {
            heldThreads.computeIfAbsent(e.name, k -> new ArrayList<>()).add(e);
            return true;
        }
        clock.advanceTo(e.at);
        if (clock.now().equals(lastAt)) {
            if (++sameInstant > MAX_EVENTS_PER_INSTANT) {
                throw new IllegalStateException("livelock: more than " + MAX_EVENTS_PER_INSTANT + " events at " + lastAt);
            }
        } else {
            lastAt = clock.now();
            sameInstant = 0;
        }
        events++;
        e.action.run();
        return true;
    }

    /** Cancels every loop and task of {@code node} (power loss, agent crash). */
    void kill(String node) {
        List<Cancellable> l = tasks.remove(node);
        if (l != null) {
            l.forEach(Cancellable::cancel);
        }
        held.remove(node);
        frozen.remove(node);
        heldThreads.values().forEach(held1 -> held1.removeIf(e -> e.node.equals(node)));
    }

    /** The node's process stops running (a long pause): its events wait. */
    void freeze(String node) {
        frozen.add(node);
    }

    /** The node runs again: what waited runs now, in its original order. */
    void thaw(String node) {
        frozen.remove(node);
        List<Event> l = held.remove(node);
        if (l != null) {
            for (Event e : l) {
                e.at = clock.now();
                e.seq = seq++;
                queue.add(e);
            }
        }
    }

    /** Thread {@code name} hangs in a call (its process lives on: other threads, the ZooKeeper session). */
    void hang(String name) {
        hung.add(name);
    }

    /** The hung call returns: the thread goes on where it was. */
    void unhang(String name) {
        hung.remove(name);
        List<Event> l = heldThreads.remove(name);
        if (l != null) {
            for (Event e : l) {
                e.at = clock.now();
                e.seq = seq++;
                queue.add(e);
            }
        }
    }

    boolean isHung(String name) {
        return hung.contains(name);
    }

    boolean isFrozen(String node) {
        return frozen.contains(node);
    }

    private void track(String node, Cancellable c) {
        tasks.computeIfAbsent(node, k -> new ArrayList<>()).add(c);
    }

    /** The engine's view of this scheduler for the agent (and its coordinator) on {@code node}. */
    Scheduler forNode(String node) {
        return new Scheduler() {
            @Override
            public Handle start(String name, boolean daemon, Runnable thread, Loop loop) {
                LoopTask t = new LoopTask(node, name, loop);
                track(node, t::cancel);
                t.schedule(clock.now());
                return t;
            }

            @Override
            public Handle after(String name, Duration delay, Runnable task) {
                Event e = at(clock.now().plus(delay).plus(latency.apply(name)), node, name, () -> {
                    try {
                        task.run();
                    } catch (RuntimeException ex) {
                        uncaught.accept(node + " thread " + name + " died: " + ex); // as a real thread's would
                    }
                });
                track(node, () -> e.cancelled = true);
                return new Handle() {
                    @Override
                    public void wake() { }

                    @Override
                    public void cancel() {
                        e.cancelled = true;
                    }
                };
            }
        };
    }

    /** A loop stepped at virtual times: waits what its step returns, or less when woken. */
    private final class LoopTask implements Scheduler.Handle {
        private final String node;
        private final String name;
        private final Scheduler.Loop loop;
        private Event next;
        private boolean running;
        private boolean woken;
        private boolean cancelled;

        LoopTask(String node, String name, Scheduler.Loop loop) {
            this.node = node;
            this.name = name;
            this.loop = loop;
        }

        void schedule(Instant t) {
            next = at(t, node, name, this::run);
        }

        private void run() {
            if (cancelled) {
                return;
            }
            running = true;
            woken = false;
            Duration wait;
            try {
                wait = loop.step();
            } finally {
                running = false;
            }
            if (wait == null || cancelled) {
                cancelled = true;
                return;
            }
            schedule(woken ? clock.now() : clock.now().plus(wait));
        }

        @Override
        public void wake() {
            if (cancelled) {
                return;
            }
            if (running) {
                woken = true;
            } else if (next != null && next.at.isAfter(clock.now())) {
                next.cancelled = true;
                schedule(clock.now());
            }
        }

        @Override
        public void cancel() {
            cancelled = true;
            if (next != null) {
                next.cancelled = true;
            }
        }
    }
}
