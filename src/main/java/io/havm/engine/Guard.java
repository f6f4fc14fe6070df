package io.havm.engine;

import io.havm.port.Clock;
import io.havm.port.Heartbeats;
import io.havm.port.Scheduler;
import io.havm.port.Watchdog;
import io.havm.model.ClusterSpec;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The agent's second channel and its watchdog: one loop, every heartbeat interval, on its own
 * thread (the agent's main loop may sit in a long Online; this one must not).
 *
 * <p>Each pass:
 * <ol>
 *   <li>writes this node's {@link Heartbeats.Beat} (cut off or not, coordinator or not — with the
 *       time of its coordinator's last ZooKeeper round trip and the nodes it acts on) and reads
 *       every node's beat and this node's fence request;</li>
 *   <li>obeys a new fence request: stops every HA group here, then acknowledges in its beat;</li>
 *   <li>while the agent is cut off from ZooKeeper, decides whether to stop its HA groups. Yes when a
 *       coordinator on another node, whose last ZooKeeper round trip began after this node was cut
 *       off, lists this node among those it acts on (it will recover them elsewhere); yes when the
 *       storage has not answered for {@code heartbeat.timeout} (no proof either way); otherwise no:
 *       a ZooKeeper outage for everyone shows no coordinator acting anywhere;</li>
 *   <li>pets the watchdog while healthy: not cut off, or cut off with no reason to stop, or
 *       everything stopped and proven. A node that must stop but cannot prove it did stops
 *       petting, and its watchdog resets it. A hung or paused process pets nothing.</li>
 * </ol>
 * It also remembers when it last saw each node's beat advance, which the coordinator on this node
 * uses to tell a node that is slow to rejoin after a shared outage from a dead one
 * ({@link #alive}).
 *
 * <p>Without heartbeats configured the agent cannot tell an outage for everyone from its own
 * isolation: it stops its groups after {@code selfFenceAfter} only when the survivors may recover
 * without a fence ({@code recoveryWithoutFence}), and keeps them when every recovery waits for a
 * power fence.
 */
public final class Guard {
    /** How often the loop runs without heartbeats (watchdog petting only). */
    private static final Duration DEFAULT_INTERVAL = Duration.ofMillis(500);

    /** The configuration in force (its timers may change live; heartbeat and watchdog cannot). */
    private volatile ClusterSpec spec;
    private final String node;
    private final Heartbeats hb;
    private final ClusterSpec.Heartbeat hbSpec;
    private final Watchdog watchdog;
    private final Clock clock;
    private final Consumer<String> log;
    private final Agent agent;
    private final CoordinatorLoop coordinator;
    private final long incarnation;
    private final Duration interval;
    private long seq;
    private long fenceAck;
    /**
     * A fence request found stale while this node was a ZooKeeper member again: never obeyed later
     * either. The coordinator saw the node back and took its groups back as running here; its wait
     * for that request can no longer end in "off" (this node beat on storage after it was
     * written), so a node that is cut off again is judged by the rules for a cut-off node, and by a
     * new request if the coordinator still needs one. Obeying the old one at the next ZooKeeper
     * outage stopped VMs for nothing (found by the simulator once its sessions expired as real ones do).
     */
    private long dismissed;
    private long dismissedSaid;
    /** The previous incarnation's acknowledgement has been read (first successful storage read). */
    private boolean resumed;
    private Instant lastStorageOk;
    private String storageProblem;
    private boolean armed;
    private String watchdogProblem;
    private String lastDecision;
    private volatile boolean closed;
    private Scheduler.Handle handle;
    /** Each node's last beat, and when (this host's clock) its seq was last seen to advance. */
    private final Map<String, Heartbeats.Beat> beats = new TreeMap<>();
    private final Map<String, Instant> advancedAt = new TreeMap<>();
    /** The last coordinator claim this node got onto the storage, and when. */
    private volatile CoordinatorLoop.Claim claimWritten;
    private volatile Instant claimWrittenAt;

    Guard(ClusterSpec spec, String node, Heartbeats hb, Watchdog watchdog, Clock clock, Consumer<String> log,
            Agent agent, CoordinatorLoop coordinator) {
        this.spec = spec;
        this.node = node;
        this.hb = spec.heartbeat() == null ? null : hb;
        this.hbSpec = spec.heartbeat();
        this.watchdog = spec.watchdog() == null || watchdog == null ? Watchdog.NONE : watchdog;
        this.clock = clock;
        this.log = log;
        this.agent = agent;
        this.coordinator = coordinator;
        this.incarnation = clock.now().toEpochMilli();
        this.interval = hbSpec != null ? hbSpec.interval() : DEFAULT_INTERVAL;
        this.lastStorageOk = clock.now();
        if (spec.heartbeat() != null && hb == null) {
            throw new IllegalArgumentException("cluster.heartbeat is configured but the agent has no heartbeat driver");
        }
    }

    void start(Scheduler scheduler) {
        if (spec.watchdog() != null) {
            try {
                watchdog.arm(spec.watchdog().timeout());
                armed = true;
                log.accept(node + " guard: watchdog " + watchdog.describe() + " armed (" + spec.watchdog().timeout().toMillis()
                        + " ms)");
            } catch (IOException e) {
                // Refusing to start would leave the VMs here unprotected too; say it loudly instead.
                watchdogProblem = e.getMessage();
                log.accept(node + " guard: WATCHDOG NOT ARMED: " + e.getMessage());
            }
        }
        handle = scheduler.start("havm-guard-" + node, true, this::run, this::stepOrNull);
    }

    void reconfigure(ClusterSpec next) {
        this.spec = next;
    }

    void wake() {
        Scheduler.Handle h = handle;
        if (h != null) {
            h.wake();
        }
    }

    private void run() {
        while (!closed) {
            Duration d = step();
            try {
                clock.pause(d);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private Duration stepOrNull() {
        return closed ? null : step();
    }

    /** One pass; returns the wait before the next. */
    synchronized Duration step() {
        try {
            pass();
        } catch (RuntimeException e) {
            log.accept(node + " guard: " + e);
        }
        Instant cut = agent.cutOffSince();
        if (cut != null && !agent.selfFenced()) {
            // Be on time for the self-fence deadline, not up to an interval late.
            Duration left = Duration.between(clock.now(), cut.plus(spec.timers().selfFenceAfter()));
            if (left.compareTo(Duration.ZERO) > 0 && left.compareTo(interval) < 0) {
                return left;
            }
        }
        return interval;
    }

    private void pass() {
        Instant now = clock.now();
        Instant cut = agent.cutOffSince();
        Optional<Heartbeats.FenceRequest> request = Optional.empty();
        boolean storageOk = false;
        if (hb != null) {
            try {
                if (!resumed) {
                    // Carry over what the previous agent process on this node acknowledged: a fence
                    // request it already obeyed must not stop this one's VMs again (an upgrade, a
                    // restart). One it did not acknowledge is obeyed: safer than two copies.
                    Heartbeats.Beat before = hb.beats().get(node);
                    if (before != null && before.fenceAck() != 0) {
                        fenceAck = before.fenceAck();
                    }
                    resumed = true;
                }
                Heartbeats.Beat mine = beat(now, cut);
                hb.beat(mine);
                if (mine.coordinatorEpoch() > 0) {
                    claimWritten = coordinator.claim(now);
                    claimWrittenAt = clock.now();
                }
                Map<String, Heartbeats.Beat> read = hb.beats();
                request = hb.fenceRequest(node);
                Instant after = clock.now();
                for (Map.Entry<String, Heartbeats.Beat> e : read.entrySet()) {
                    Heartbeats.Beat before = beats.put(e.getKey(), e.getValue());
                    if (before == null || before.incarnation() != e.getValue().incarnation()
                            || before.seq() != e.getValue().seq()) {
                        advancedAt.put(e.getKey(), after);
                    }
                }
                lastStorageOk = after;
                storageOk = true;
                if (storageProblem != null) {
                    log.accept(node + " guard: heartbeat storage answers again (" + hb.describe() + ")");
                    storageProblem = null;
                }
            } catch (Heartbeats.Unavailable e) {
                if (storageProblem == null) {
                    log.accept(node + " guard: heartbeat storage unavailable: " + e.getMessage());
                }
                storageProblem = e.getMessage();
            }
        }
        String mustStop = null;
        if (request.isPresent() && request.get().cluster() != null && !request.get().cluster().equals(spec.name())) {
            decided("fence request " + request.get().id() + " is cluster " + request.get().cluster() + "'s, not "
                    + spec.name() + "'s: not obeyed (give every cluster a heartbeat location of its own)");
        } else if (request.isPresent() && request.get().id() != fenceAck && request.get().incarnation() != 0
                && request.get().incarnation() != incarnation) {
            decided("fence request " + request.get().id() + " was for this node's previous agent process (started at "
                    + Instant.ofEpochMilli(request.get().incarnation()) + "), not this one: not obeyed");
        } else if (request.isPresent() && request.get().id() != fenceAck && !request.get().evicted()
                && agent.member()) {
            dismissed = request.get().id();
            decided("fence request " + request.get().id() + " (epoch " + request.get().epoch()
                    + ") is stale: this node is a member again; the coordinator terminates here what must not run");
        } else if (request.isPresent() && request.get().id() == dismissed) {
            if (dismissedSaid != dismissed) { // once: the cut-off decisions below alternate with it
                dismissedSaid = dismissed;
                log.accept(node + " guard: fence request " + dismissed + " was found stale while this node was a"
                        + " member again: not obeyed now either (a new one would be)");
            }
        } else if (request.isPresent() && request.get().id() != fenceAck) {
            Heartbeats.FenceRequest r = request.get();
            mustStop = "fence request " + r.id() + " from the coordinator on " + r.by() + " (epoch " + r.epoch() + ")";
            if (agent.selfFence(mustStop)) {
                fenceAck = r.id();
                log.accept(node + " guard: acknowledged fence request " + r.id());
                try {
                    hb.beat(beat(clock.now(), agent.cutOffSince()));
                } catch (Heartbeats.Unavailable e) {
                    // the next pass writes it again
                }
            }
        }
        if (cut != null && !agent.selfFenced()) {
            String why = cutOffReason(now, cut, storageOk);
            if (why != null) {
                mustStop = why;
                agent.selfFence(why);
            } else {
                decided("cut off since " + cut + "; no coordinator acts on this node: every HA group keeps running");
            }
        }
        boolean healthy = !agent.stopped() && (mustStop == null || agent.selfFenced());
        if (armed && healthy) {
            try {
                watchdog.pet();
                if (watchdogProblem != null) {
                    log.accept(node + " guard: watchdog petted again");
                    watchdogProblem = null;
                }
            } catch (IOException e) {
                if (watchdogProblem == null) {
                    log.accept(node + " guard: cannot pet the watchdog: " + e.getMessage());
                }
                watchdogProblem = e.getMessage();
            }
        } else if (armed && mustStop != null) {
            decided("must stop (" + mustStop + ") but could not prove it: no longer petting the watchdog");
        }
    }

    /** Why this cut-off node must stop its HA groups now, or null when it must not. */
    private String cutOffReason(Instant now, Instant cut, boolean storageOk) {
        ClusterSpec.Timers t = spec.timers();
        if (now.isBefore(cut.plus(t.selfFenceAfter()))) {
            return null;
        }
        if (hb == null) {
            if (t.recoveryWithoutFence() != null) {
                return "cut off from zookeeper since " + cut + ", and no heartbeat storage to tell an outage for"
                        + " everyone from this node's isolation; the survivors may recover without a fence";
            }
            return null; // every recovery waits for a power fence: keep running
        }
        if (storageOk) {
            for (Heartbeats.Beat b : beats.values()) {
                if (b.node().equals(node) || b.coordinatorEpoch() <= 0 || b.coordinatorZkOkAt() == null) {
                    continue;
                }
                if (b.coordinatorActsOn().contains(node)
                        && b.coordinatorZkOkAt().isAfter(cut.plus(hbSpec.clockSkew()))) {
                    return "the coordinator on " + b.node() + " (epoch " + b.coordinatorEpoch() + ") reached zookeeper at "
                            + b.coordinatorZkOkAt() + ", after this node was cut off at " + cut
                            + ", and has declared it lost";
                }
            }
            return null;
        }
        Duration silent = Duration.between(lastStorageOk, now);
        if (silent.compareTo(hbSpec.timeout()) >= 0) {
            return "cut off from zookeeper since " + cut + " and the heartbeat storage has not answered for "
                    + silent.toMillis() + " ms (" + storageProblem + "): no proof either way";
        }
        return null;
    }

    private Heartbeats.Beat beat(Instant now, Instant cut) {
        CoordinatorLoop.Claim c = coordinator.claim(now);
        return new Heartbeats.Beat(node, incarnation, ++seq, now, cut, c == null ? 0 : c.epoch(),
                c == null ? null : c.zkOkAt(), c == null ? java.util.List.of() : c.actsOn(), agent.selfFenced(), fenceAck);
    }

    private void decided(String what) {
        if (!what.equals(lastDecision)) {
            lastDecision = what;
            log.accept(node + " guard: " + what);
        }
    }

    /**
     * Whether {@code n}'s beat advanced within the last {@code within} (this host's clock), with the
     * beat itself; empty when storage shows nothing recent of it.
     */
    synchronized Optional<Heartbeats.Beat> alive(String n, Duration within) {
        Instant at = advancedAt.get(n);
        if (at == null || clock.now().isAfter(at.plus(within))) {
            return Optional.empty();
        }
        return Optional.ofNullable(beats.get(n));
    }

    /**
     * Whether this node's storage beat has said, since {@code since}, that coordinator epoch
     * {@code epoch} acts on {@code n}: from then a cut-off {@code n} that reads storage stops.
     */
    boolean announced(long epoch, String n, Instant since) {
        CoordinatorLoop.Claim c = claimWritten;
        Instant at = claimWrittenAt;
        return c != null && at != null && c.epoch() == epoch && c.actsOn().contains(n) && !at.isBefore(since);
    }

    /** The latest beats read (for the storage fencer on this node). */
    synchronized Map<String, Heartbeats.Beat> beats() {
        return new TreeMap<>(beats);
    }

    Heartbeats heartbeats() {
        return hb;
    }

    /** This node's last cut-off period that has ended ([since, back]); null if none. */
    Instant[] endedOutage() {
        return agent.lastOutage();
    }

    /** This node's own cut-off period: the current one ([since, now]) or the last that ended; null if none. */
    Instant[] ownOutage() {
        Instant cut = agent.cutOffSince();
        if (cut != null) {
            return new Instant[] {cut, clock.now()};
        }
        return agent.lastOutage();
    }

    /** A clean leave: disarm (magic close), so the host is not reset for a stop it meant. */
    void disarm() {
        if (armed) {
            armed = false;
            try {
                watchdog.disarm();
                log.accept(node + " guard: watchdog disarmed (clean stop)");
            } catch (RuntimeException e) {
                log.accept(node + " guard: cannot disarm the watchdog (" + e.getMessage() + "): the host may be reset");
            }
        }
    }

    void close() {
        closed = true;
        disarm();
        Scheduler.Handle h = handle;
        if (h != null) {
            h.cancel();
        }
    }
}
