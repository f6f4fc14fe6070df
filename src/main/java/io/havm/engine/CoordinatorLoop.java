package io.havm.engine;

import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.havm.port.Fencer;
import io.havm.port.Heartbeats;
import io.havm.port.Scheduler;
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
 * <p>Order of a step: state first (only the records that changed), then its event lines, then
 * commands, then the inputs it consumed are deleted, each in as few transactions as fit (see
 * {@link ClusterStore}). A new coordinator that takes over after a crash between those writes
 * re-reads the persisted state and the inputs still there.
 *
 * <p>Membership is judged by what is true now, never by the end of an old session: its own node
 * is a member while it coordinates (it holds a live session to be elected at all); a node absent
 * from the members whose storage heartbeat still advances, and that is connected again or was cut
 * off by the same outage this coordinator lived through (a restarted ZooKeeper expires the
 * sessions it restored while their clients already hold new ones), is given one session timeout
 * to join again before it is declared lost; a fence is re-judged just before it runs, and not run
 * for a node that is a member again (unless it was evicted for not answering while a member).
 *
 * <p>While in office it says so on the second channel ({@link #claim}): its epoch, when its last
 * ZooKeeper round trip began, and the nodes it acts on. A cut-off node stops its groups only
 * when it reads there that a coordinator that reaches ZooKeeper has declared it lost.
 *
 * <p>Its thread and the fence threads go through a {@link Scheduler}: real threads on hosts, a
 * deterministic driver stepping the same {@link Term#step} in the simulator.
 */
public final class CoordinatorLoop implements Coordination.Leadership {
    private static final Logger LOG = LoggerFactory.getLogger(CoordinatorLoop.class);
    /** Fallback only: member changes, new inputs and fence results wake the loop at once. */
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration TICK = Duration.ofSeconds(1);

    /** The configuration in force (its nodes, timers; the policy's is {@link #policy}'s). */
    private volatile ClusterSpec spec;
    /** Every definition this process has seen: where retired groups' definitions come from. */
    private volatile ClusterSpec known;
    private volatile long configVersion;
    private final Coordination zk;
    private final ClusterStore store;
    private final Fencer fencer;
    private final Clock clock;
    private final String node;
    private final Consumer<String> log;
    private volatile Coordinator policy;
    private final Wakeup wakeup;
    private final Scheduler scheduler;
    private volatile Scheduler.Handle thread;
    private volatile long epoch;
    private volatile Guard guard;
    /** While in office: the epoch, when its last good ZooKeeper round trip began, the nodes it acts on. */
    private volatile Claim claim;
    /** The end of the last outage of this node already written to the event log. */
    private volatile Instant outageReported;
    private long fenceRequests;
    private volatile EngineObserver observer = EngineObserver.NONE;
    /** The state as of this coordinator's last step, while in office (null otherwise). */
    private volatile ClusterState office;

    /** What the coordinator says of itself on the second channel (see {@link Guard}). */
    public record Claim(long epoch, Instant zkOkAt, List<String> actsOn) {}

    /** How long after its last good ZooKeeper round trip a claim still stands. */
    private static final Duration CLAIM_FRESH = POLL.multipliedBy(3);

    public CoordinatorLoop(ClusterSpec spec, String node, Coordination zk, Fencer fencer, Clock clock,
            Consumer<String> log) {
        this(spec, node, zk, fencer, clock, log, Scheduler.threads(clock));
    }

    public CoordinatorLoop(ClusterSpec spec, String node, Coordination zk, Fencer fencer, Clock clock,
            Consumer<String> log, Scheduler scheduler) {
        this.spec = spec;
        this.known = spec;
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

    /**
     * Configuration version {@code version} is in force: the next step decides with it (new groups
     * placed, groups it no longer has taken offline and dropped). {@code known}: every definition
     * this process has seen, for groups retired while they run.
     */
    void reconfigure(ClusterSpec next, long version, ClusterSpec known) {
        this.known = known;
        this.spec = next;
        this.configVersion = version;
        wakeup.signal();
    }

    /** Who is told of each step and fence (metrics); {@link EngineObserver#NONE} by default. */
    void observe(EngineObserver o) {
        this.observer = EngineObserver.safe(o);
    }

    /** The cluster state as of its last step while this node is the coordinator; null when it is not. */
    ClusterState office() {
        return thread == null ? null : office;
    }

    /** The epoch this node was last elected in (0: never). */
    long epoch() {
        return epoch;
    }

    /** The agent's guard: heartbeats read on this node, and the agent's outages. */
    void guard(Guard g) {
        this.guard = g;
    }

    /** The claim to write in this node's beat, or null when it is not a coordinator that reaches ZooKeeper now. */
    Claim claim(Instant now) {
        Claim c = claim;
        if (c == null || thread == null || c.epoch() != epoch || now.isAfter(c.zkOkAt().plus(CLAIM_FRESH))) {
            return null;
        }
        return c;
    }

    @Override
    public synchronized void revoked() {
        claim = null;
        office = null;
        Scheduler.Handle t = thread;
        thread = null;
        if (t != null) {
            log.accept(node + " coordinator: stepped down (epoch " + epoch + ")");
            t.cancel();
        }
    }

    /** How often the coordinator prunes the timeline. */
    static final Duration PRUNE_EVERY = Duration.ofMinutes(1);

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
        /** The state as stored (null: nothing stored yet), which the next write is a difference from. */
        private ClusterState stored;
        private Instant lastTick = Instant.MIN;
        /** The term's first step tells the policy it took office (Input.Elected). */
        private boolean first = true;
        /** Absent nodes given time to join again, since when. */
        private final java.util.Map<String, Instant> holding = new java.util.TreeMap<>();
        /** When the timeline is next pruned (ClusterStore.pruneEvents): its term's first step, then every minute. */
        private Instant nextPrune = Instant.MIN;

        Term(long e) {
            this.e = e;
            this.stored = store.state().orElse(null);
            this.state = stored != null ? stored : policy.initial();
        }

        /**
         * The timeline's housekeeping, at most once a minute, after the step's own writes: a
         * failure is said and left for the next minute (it never fails the step), but a newer
         * coordinator's epoch ends this term as any write would.
         */
        private void prune(Instant now) {
            if (now.isBefore(nextPrune)) {
                return;
            }
            nextPrune = now.plus(PRUNE_EVERY);
            try {
                int n = store.pruneEvents(e, now);
                if (n > 0) {
                    LOG.info("{} coordinator: pruned the timeline's {} oldest steps", node, n);
                }
            } catch (Coordination.ConflictException ex) {
                throw ex;
            } catch (RuntimeException ex) {
                LOG.warn("{} coordinator: pruning the timeline failed (tried again in a minute): {}", node, ex.toString());
            }
        }

        private boolean holds(String n, Instant now) {
            return holdsAbsent(holding, n, now);
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
                Instant began = clock.now();
                List<Input> batch = new ArrayList<>();
                if (first) {
                    batch.add(new Input.Elected()); // its predecessor's fences in flight died with it
                }
                long version = configVersion;
                if (first || policy.configVersion() != version) {
                    // Taking office, or a new configuration: decide with it from this step on. What
                    // the state holds that it no longer has is retired; what it adds is placed.
                    // Groups handed over by havm vm import | release are adopted where they run,
                    // or dropped running, instead of placed or taken offline.
                    java.util.Map<String, String> adopt = new java.util.TreeMap<>();
                    java.util.Set<String> release = new java.util.TreeSet<>();
                    for (ClusterStore.Handover h : store.handovers().values()) {
                        if (h.release()) {
                            release.add(h.group());
                        } else {
                            adopt.put(h.group(), h.node());
                        }
                    }
                    policy = Coordinator.forConfig(spec, version, known, state, adopt, release);
                    batch.add(new Input.ConfigChanged(version));
                }
                reportOutage(e);
                java.util.TreeSet<String> members = new java.util.TreeSet<>(zk.members());
                members.add(node); // it coordinates, so it holds a live session: never its own loss
                for (ClusterSpec.NodeSpec n : spec.nodes()) {
                    ClusterState.Node known = state.nodes().get(n.name());
                    boolean member = members.contains(n.name());
                    // A node fenced for not answering is still a member until its session ends: that
                    // session is not a rejoin, and its end is news the policy waits for.
                    boolean up = known != null && (known.status() == NodeStatus.UP || known.unresponsive());
                    if (member) {
                        holding.remove(n.name());
                    }
                    if (member && known != null && known.status() == NodeStatus.FENCED && known.unresponsive()) {
                        // fenced and still a member: the policy judges whether that proves it stopped
                        batch.add(new Input.StoppedEverything(n.name()));
                    } else if (member && !up) {
                        batch.add(new Input.NodeUp(n.name(), store.running(n.name())));
                    } else if (!member && up) {
                        if (!known.unresponsive() && holds(n.name(), began)) {
                            continue;
                        }
                        batch.add(new Input.NodeLost(n.name()));
                    }
                }
                Guard g = guard;
                if (g != null && spec.heartbeat() != null) {
                    for (ClusterState.Node n : state.nodes().values()) {
                        if (n.status() == NodeStatus.LOST && n.announcedAt() == null && n.lostAt() != null
                                && g.announced(e, n.name(), n.lostAt())) {
                            batch.add(new Input.Announced(n.name()));
                        }
                    }
                }
                List<ClusterStore.Keyed<Input>> inputs = store.inputs();
                inputs.forEach(k -> batch.add(k.value()));
                // That read was a ZooKeeper round trip that began at 'began' and succeeded.
                claim = new Claim(e, began, actsOn(state));
                Instant now = clock.now();
                if (!now.isBefore(lastTick.plus(TICK))) {
                    batch.add(new Input.Tick());
                    lastTick = now;
                }
                if (batch.isEmpty()) {
                    office = state;
                    prune(now);
                    return timeToTick(lastTick, now);
                }
                first = false;
                Coordinator.Step step = policy.apply(state, batch, now);
                // Only what changed is written (nothing on a quiet tick).
                try {
                    store.putState(stored, step.state(), e);
                } catch (RuntimeException ex) {
                    // The write may have landed although it failed here (a connection lost during
                    // the commit): what is stored is unknown, so the next write is a whole one.
                    stored = null;
                    throw ex;
                }
                ClusterState before = state;
                state = step.state();
                stored = state;
                office = state;
                observer.stepped(e, spec, before, state, now, CoordinatorLoop.this::lastSign);
                claim = new Claim(e, began, actsOn(state));
                List<String> lines = new ArrayList<>();
                for (String line : step.log()) {
                    log.accept(line);
                    lines.add(String.format("%s %s", now, line));
                }
                store.events(lines, e);
                List<Command> sends = new ArrayList<>();
                for (Command c : step.commands()) {
                    if (c instanceof Command.Fence f) {
                        store.send(sends, e); // the commands before it go first, as they were decided
                        sends.clear();
                        ClusterState.Node fn = state.nodes().get(f.node());
                        fence(f.node(), e, fn != null && fn.unresponsive());
                    } else {
                        sends.add(c);
                    }
                }
                store.send(sends, e);
                store.consumed(inputs, e);
                prune(now);
                return timeToTick(lastTick, clock.now());
            } catch (Coordination.ConflictException ex) {
                log.accept(node + " coordinator: epoch " + e + " superseded: " + ex.getMessage());
                return null;
            }
        }
    }

    /**
     * Whether absent node {@code n} is given time to join again: storage shows its beat advancing,
     * it has not stopped its groups, and it is connected again or was cut off by the outage this
     * coordinator's own node lived through. At most one session timeout; says so once.
     */
    private boolean holdsAbsent(java.util.Map<String, Instant> holding, String n, Instant now) {
        Guard g = guard;
        ClusterSpec.Heartbeat h = spec.heartbeat();
        if (g == null || h == null) {
            return false;
        }
        // Advanced within two intervals and one I/O bound: it beats now (a dead host stops at once).
        Heartbeats.Beat b = g.alive(n, h.interval().multipliedBy(2).plus(h.timeout())).orElse(null);
        if (b == null || b.selfFenced()) {
            return false;
        }
        boolean shared;
        if (b.cutOffSince() == null) {
            shared = true; // connected again: it is joining under its new session
        } else {
            Instant[] mine = g.ownOutage();
            shared = mine != null && !b.cutOffSince().isBefore(mine[0].minus(spec.timers().sessionTimeout()))
                    && !b.cutOffSince().isAfter(mine[1]);
        }
        if (!shared) {
            return false;
        }
        Instant since = holding.get(n);
        if (since == null) {
            holding.put(n, now);
            log.accept(node + " coordinator: " + n + " is not a member but its storage heartbeat advances ("
                    + (b.cutOffSince() == null ? "connected again" : "cut off since " + b.cutOffSince()
                    + ", in the outage this node saw too") + "): waiting up to "
                    + spec.timers().sessionTimeout().toMillis() + " ms for it to join again");
            return true;
        }
        if (now.isBefore(since.plus(spec.timers().sessionTimeout()))) {
            return true;
        }
        log.accept(node + " coordinator: " + n + " did not join again within " + spec.timers().sessionTimeout().toMillis()
                + " ms: it is lost");
        return false;
    }

    /** Nodes the state has declared lost (and not yet seen back): a cut-off node reading its name here stops. */
    private static List<String> actsOn(ClusterState s) {
        List<String> out = new ArrayList<>();
        for (ClusterState.Node n : s.nodes().values()) {
            if (n.status() == NodeStatus.LOST || n.status() == NodeStatus.FENCED) {
                out.add(n.name());
            }
        }
        return out;
    }

    /** Writes this node's last outage to the event log once, when a term begins after it. */
    private void reportOutage(long e) {
        Guard g = guard;
        Instant[] o = g == null ? null : g.endedOutage();
        if (o == null || o[1].equals(outageReported)) {
            return;
        }
        outageReported = o[1];
        String line = node + " coordination: zookeeper unreachable from " + o[0] + " to " + o[1] + " ("
                + Duration.between(o[0], o[1]).toMillis() + " ms); " + node + " is coordinator again (epoch " + e + ")";
        log.accept(line);
        try {
            store.event(String.format("%s %s", clock.now(), line), e);
        } catch (RuntimeException ex) {
            LOG.warn("{}: cannot record the outage: {}", node, ex.toString());
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

    /**
     * Fences {@code n} on its own thread. Re-judged first: a node lost with its session that is a
     * member again is not fenced (its agent answers commands again; the policy terminates there
     * what must not run). A node evicted while a member ({@code evicted}) is fenced regardless.
     */
    private void fence(String n, long e, boolean evicted) {
        ClusterSpec.NodeSpec ns = spec.node(n).orElse(null);
        Instant began = clock.now();
        String agent = ns == null || ns.fencing() == null ? "none"
                : ns.fencing().storage() ? "storage" : ns.fencing().agent();
        if (ns != null && ns.fencing() != null && ns.fencing().storage()) {
            Guard g = guard;
            Heartbeats.Beat last = g == null ? null : g.beats().get(n);
            StorageFence sf = new StorageFence(spec, n, node, e, ++fenceRequests, g == null ? null : g.heartbeats(),
                    clock, zk::members, log, last == null ? 0 : last.incarnation(), evicted);
            scheduler.start("havm-storage-fence-" + n, true, () -> {
                Duration d;
                while ((d = sf.step()) != null) {
                    try {
                        clock.pause(d);
                    } catch (InterruptedException ex) {
                        return;
                    }
                }
                fenced(n, agent, began, sf.result());
            }, () -> {
                Duration d = sf.step();
                if (d == null) {
                    fenced(n, agent, began, sf.result());
                }
                return d;
            });
            return;
        }
        scheduler.after("havm-fence-" + n, Duration.ZERO, () -> {
            if (!evicted && zk.members().contains(n)) {
                fenced(n, agent, began, new Fencer.Result(Fencer.Outcome.FAILED, "not run: " + n + " is a member again"));
                return;
            }
            fenced(n, agent, began, fencer.fence(n, Fencer.Action.OFF));
        });
    }

    /** When node {@code n} last wrote its storage heartbeat, as this node read it; empty without a second channel. */
    private java.util.Optional<Instant> lastSign(String n) {
        Guard g = guard;
        Heartbeats.Beat b = g == null ? null : g.beats().get(n);
        return java.util.Optional.ofNullable(b == null ? null : b.at());
    }

    private void fenced(String n, String agent, Instant began, Fencer.Result r) {
        observer.fenced(n, agent, r, Duration.between(began, clock.now()));
        log.accept(n + " fencer: " + r.outcome().name().toLowerCase() + " (" + r.detail() + ")");
        try {
            store.submit(new Input.Fenced(n, r.outcome() == Fencer.Outcome.OFF, r.detail()));
        } catch (RuntimeException e) {
            // Cut off meanwhile: this term is over, and the next coordinator fences again
            // (Input.Elected: a fence in flight when a coordinator stops is never assumed done).
            log.accept(n + " fencer: answer not delivered (" + e.getMessage() + ")");
        }
        wakeup.signal();
    }
}
