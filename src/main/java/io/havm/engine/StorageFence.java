package io.havm.engine;

import io.havm.port.Clock;
import io.havm.port.Fencer;
import io.havm.port.Heartbeats;
import io.havm.model.ClusterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Storage fencing ("poison pill"), for nodes whose {@code fencing.agent} is {@code storage}: the
 * coordinator writes a fence request into the node's message slot on the heartbeat storage and
 * waits. The node's guard reads it, stops every HA group, proves it, and acknowledges in its beat:
 * fenced. Silence counts as fenced once {@code watchdog.timeout + safetyMargin} have passed since
 * the request was written, but only for a node whose beat stopped advancing and that is no longer
 * a ZooKeeper member: then its agent is hung, paused or dead (its watchdog stopped being petted
 * before the node was declared lost, so it has reset the host), or it cannot read the storage and
 * has stopped its groups on its own (see {@link io.havm.model.SafetyBudget}). A node whose beat
 * still advances will read the request and answer; one that is still a member is alive and must
 * answer: neither is counted fenced by silence.
 *
 * <p>One poll per {@link #step}, so the same code runs on a thread on hosts and on the simulator's
 * virtual clock.
 */
final class StorageFence {
    private final ClusterSpec spec;
    private final String target;
    private final String by;
    private final long epoch;
    private final long id;
    private final Heartbeats hb;
    private final Clock clock;
    private final Supplier<Set<String>> members;
    private final Consumer<String> log;
    private final Instant started;
    /** The target's agent process as last seen on storage (0: unknown, any). */
    private final long incarnation;
    private final boolean evicted;
    private Instant writtenAt;
    private Heartbeats.Beat lastSeen;
    private Instant lastAdvance;
    private String problem;
    private Fencer.Result result;

    StorageFence(ClusterSpec spec, String target, String by, long epoch, long counter, Heartbeats hb, Clock clock,
            Supplier<? extends Set<String>> members, Consumer<String> log, long incarnation, boolean evicted) {
        this.spec = spec;
        this.target = target;
        this.by = by;
        this.epoch = epoch;
        // Unique across every coordinator that ever wrote to this storage, whatever its epoch (a new
        // cluster starts again at epoch 1): the time in ms, then the epoch and a counter.
        this.id = (clock.now().toEpochMilli() << 20) | ((epoch & 0xff) << 12) | (counter & 0xfff);
        this.hb = hb;
        this.clock = clock;
        this.members = () -> Set.copyOf(members.get());
        this.log = log;
        this.started = clock.now();
        this.incarnation = incarnation;
        this.evicted = evicted;
    }

    /** One poll; the wait before the next, or null when {@link #result} is known. */
    Duration step() {
        if (result != null) {
            return null;
        }
        if (hb == null || spec.watchdog() == null) {
            result = new Fencer.Result(Fencer.Outcome.FAILED, "storage fencing needs cluster.heartbeat and cluster.watchdog");
            return null;
        }
        Duration interval = spec.heartbeat().interval();
        Duration wait = spec.watchdog().timeout().plus(spec.timers().safetyMargin());
        Instant now = clock.now();
        try {
            if (writtenAt == null) {
                // The target's beat before the request is the baseline: only a beat written after
                // it shows that its agent still runs (and so reads the request).
                lastSeen = hb.beats().get(target);
                hb.requestFence(target, new Heartbeats.FenceRequest(id, epoch, by, now, incarnation, evicted, spec.name()));
                writtenAt = clock.now();
                log.accept(target + " fencer: fence request " + id + " written on " + hb.describe()
                        + "; waiting for its acknowledgement (silence counts after " + wait.toMillis() + " ms)");
            }
            Map<String, Heartbeats.Beat> beats = hb.beats();
            Heartbeats.Beat b = beats.get(target);
            if (b != null && b.fenceAck() == id) {
                result = new Fencer.Result(Fencer.Outcome.OFF, "acknowledged fence request " + id
                        + ": it stopped every HA group");
                return null;
            }
            if (b != null && !b.equals(lastSeen)) {
                lastAdvance = clock.now(); // a beat the target wrote since the request
            }
            if (b != null) {
                lastSeen = b;
            }
            problem = null;
        } catch (Heartbeats.Unavailable e) {
            problem = e.getMessage();
        }
        if (writtenAt == null) {
            // Never written: nothing tells the node; give up after the same wait and let the policy retry.
            if (!now.isBefore(started.plus(wait))) {
                result = new Fencer.Result(Fencer.Outcome.FAILED, "cannot write the fence request: " + problem);
                return null;
            }
            return interval;
        }
        if (!now.isBefore(writtenAt.plus(wait))) {
            boolean beating = lastAdvance != null;
            boolean member = members.get().contains(target);
            if (!beating && !member) {
                result = new Fencer.Result(Fencer.Outcome.OFF, "no acknowledgement " + wait.toMillis()
                        + " ms after fence request " + id + ", no heartbeat since, and no ZooKeeper session: its"
                        + " watchdog has reset it, or it stopped its groups on its own");
            } else {
                result = new Fencer.Result(Fencer.Outcome.FAILED, "fence request " + id + " not acknowledged within "
                        + wait.toMillis() + " ms although " + target + (member ? " is still a ZooKeeper member"
                        : " still beats on storage") + ": not proven off");
            }
            return null;
        }
        return interval;
    }

    Fencer.Result result() {
        return result;
    }
}
