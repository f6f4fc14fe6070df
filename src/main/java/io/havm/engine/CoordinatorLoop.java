package io.havm.engine;

import io.havm.engine.port.Clock;
import io.havm.engine.port.Coordination;
import io.havm.engine.port.Fencer;
import io.havm.engine.port.Scheduler;
import io.havm.model.ClusterSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Coordinator;
import io.havm.policy.Input;
import io.havm.policy.NodeStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator role on a real cluster: elected through the Coordination port, it turns
 * membership changes, stored inputs and the passing of time into steps of the pure
 * {@link Coordinator}, then persists the new state and sends the commands, every write fenced by
 * its epoch. A coordinator that lost its role (a stale epoch) can no longer write anything.
 *
 * <p>Order of a step: state first, then commands, then the inputs it consumed are deleted. A new
 * coordinator that takes over after a crash between those writes re-reads the persisted state and
 * the inputs still there.
 *
 * <p>Its thread and the fence threads go through a {@link Scheduler}: real threads on hosts, a
 * deterministic driver stepping the same {@link Term#step} in the simulator.
 */
public final class CoordinatorLoop implements Coordination.Leadership {
    private static final Logger LOG = LoggerFactory.getLogger(CoordinatorLoop.class);
    /** Fallback only: member changes, new inputs and fence results wake the loop at once. */
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration TICK = Duration.ofSeconds(1);

    private final ClusterSpec spec;
    private final Coordination zk;
    private final ClusterStore store;
    private final Fencer fencer;
    private final Clock clock;
    private final String node;
    private final Consumer<String> log;
    private final Coordinator policy;
    private final Wakeup wakeup;
    private final Scheduler scheduler;
    private volatile Scheduler.Handle thread;
    private volatile long epoch;

    public CoordinatorLoop(ClusterSpec spec, String node, Coordination zk, Fencer fencer, Clock clock,
            Consumer<String> log) {
        this(spec, node, zk, fencer, clock, log, Scheduler.threads(clock));
    }

    public CoordinatorLoop(ClusterSpec spec, String node, Coordination zk, Fencer fencer, Clock clock,
            Consumer<String> log, Scheduler scheduler) {
        this.spec = spec;
        this.scheduler = scheduler;
        this.node = node;
        this.zk = zk;
        this.store = new ClusterStore(zk, node + "c", clock);
        this.fencer = fencer;
        this.clock = clock;
        this.log = log;
        this.policy = new Coordinator(spec);
        this.wakeup = new Wakeup(clock);
        zk.watchMembers(m -> wakeup.signal());
        zk.watchChildren("inputs", wakeup::signal);
    }

    @Override
    public synchronized void elected(long e) {
        epoch = e;
        log.accept(node + " coordinator: elected (epoch " + e + ")");
        Term[] term = new Term[1];
        Scheduler.Handle t = scheduler.start("havm-coordinator", true, () -> run(e), () -> {
            if (term[0] == null) {
                term[0] = new Term(e);
            }
            return term[0].stepOrRetry();
        });
        thread = t;
        wakeup.alsoNotify(t::wake);
    }

    @Override
    public synchronized void revoked() {
        Scheduler.Handle t = thread;
        thread = null;
        if (t != null) {
            log.accept(node + " coordinator: stepped down (epoch " + epoch + ")");
            t.cancel();
        }
    }

    private void run(long e) {
        Term term = new Term(e);
        while (!Thread.currentThread().isInterrupted() && epoch == e) {
            try {
                Duration wait = term.step();
                if (wait == null) {
                    return;
                }
                wakeup.await(wait);
            } catch (InterruptedException ex) {
                return;
            } catch (RuntimeException ex) {
                LOG.warn("{} coordinator step failed, retrying: {}", node, ex.toString());
                try {
                    clock.pause(POLL);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** One term of office: the state it carries from step to step. */
    private final class Term {
        private final long e;
        private ClusterState state;
        private Instant lastTick = Instant.MIN;
        /** The term's first step tells the policy it took office (Input.Elected). */
        private boolean first = true;

        Term(long e) {
            this.e = e;
            this.state = store.state().orElse(policy.initial());
        }

        /** For a driver that waits itself: errors handled as the thread handles them; null when the term is over. */
        Duration stepOrRetry() {
            if (epoch != e) {
                return null;
            }
            try {
                return step();
            } catch (RuntimeException ex) {
                LOG.warn("{} coordinator step failed, retrying: {}", node, ex.toString());
                return POLL;
            }
        }

        /** One step; returns the wait before the next, or null when superseded. */
        Duration step() {
            try {
                List<Input> batch = new ArrayList<>();
                if (first) {
                    batch.add(new Input.Elected()); // its predecessor's fences in flight died with it
                }
                SortedSet<String> members = zk.members();
                for (ClusterSpec.NodeSpec n : spec.nodes()) {
                    ClusterState.Node known = state.nodes().get(n.name());
                    boolean member = members.contains(n.name());
                    // A node fenced for not answering is still a member until its session ends: that
                    // session is not a rejoin, and its end is news the policy waits for.
                    boolean up = known != null && (known.status() == NodeStatus.UP || known.unresponsive());
                    if (member && !up) {
                        batch.add(new Input.NodeUp(n.name(), store.running(n.name())));
                    } else if (!member && up) {
                        batch.add(new Input.NodeLost(n.name()));
                    }
                }
                List<ClusterStore.Keyed<Input>> stored = store.inputs();
                stored.forEach(k -> batch.add(k.value()));
                Instant now = clock.now();
                if (!now.isBefore(lastTick.plus(TICK))) {
                    batch.add(new Input.Tick());
                    lastTick = now;
                }
                if (batch.isEmpty()) {
                    return timeToTick(lastTick, now);
                }
                first = false;
                Coordinator.Step step = policy.apply(state, batch, now);
                if (!step.state().equals(state) || !stored.isEmpty()) {
                    // A quiet tick changes nothing: no need to rewrite the whole state every second.
                    store.putState(step.state(), e);
                }
                state = step.state();
                for (String line : step.log()) {
                    log.accept(line);
                    store.event(String.format("%s %s", now, line), e);
                }
                for (Command c : step.commands()) {
                    if (c instanceof Command.Fence f) {
                        fence(f.node());
                    } else {
                        store.send(Command.agentOf(c), c, e);
                    }
                }
                for (ClusterStore.Keyed<Input> k : stored) {
                    store.delete(k.key());
                }
                return timeToTick(lastTick, clock.now());
            } catch (Coordination.ConflictException ex) {
                log.accept(node + " coordinator: epoch " + e + " superseded: " + ex.getMessage());
                return null;
            }
        }
    }

    /** Until the next policy tick is due, at most POLL. */
    private static Duration timeToTick(Instant lastTick, Instant now) {
        if (lastTick.equals(Instant.MIN)) {
            return Duration.ZERO;
        }
        Duration left = Duration.between(now, lastTick.plus(TICK));
        return left.isNegative() ? Duration.ZERO : left.compareTo(POLL) < 0 ? left : POLL;
    }

    private void fence(String n) {
        scheduler.after("havm-fence-" + n, Duration.ZERO, () -> {
            Fencer.Result r = fencer.fence(n, Fencer.Action.OFF);
            log.accept(n + " fencer: " + r.outcome().name().toLowerCase() + " (" + r.detail() + ")");
            store.submit(new Input.Fenced(n, r.outcome() == Fencer.Outcome.OFF, r.detail()));
            wakeup.signal();
        });
    }
}
