package io.havm.model;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The timing argument behind "never two copies" once a second channel and a watchdog exist,
 * checked when a configuration loads: the survivors must never start a VM before the node that
 * ran it must have stopped it. Each rule names its numbers.
 *
 * <p>Notation: R = ZooKeeper's read timeout (2/3 of the session), A = selfFenceAfter,
 * F = selfFenceDuration, M = safetyMargin, i/T = heartbeat interval/timeout, W = watchdog timeout,
 * E = evidence delay = 2i + 2T (a coordinator's decision reaches a cut-off node's storage read).
 * A node is declared lost at the earliest R after it was cut off (its session outlives its last
 * ping by at least R).
 * <ul>
 *   <li>A cut-off node that reads a coordinator acting on it is done E + F after the decision.
 *       One that cannot read storage is done by max(R + A, T + i) + F after the cut.</li>
 *   <li>recoveryWithoutFence (RwF): survivors start at decision + RwF. So RwF >= E + F + M, and
 *       R + RwF >= max(R + A, T + i) + F + M.</li>
 *   <li>Storage fencing counts silence as fenced W + M after the request, written at the decision:
 *       so W >= E + F (a live node acknowledges first) and R + W >= max(R + A, T + i) + F (one
 *       that cannot read storage has stopped by then). A hung agent stops petting before it is
 *       declared lost, so its watchdog fires by decision + W.</li>
 *   <li>The agent pets every interval: W >= 3i, or a slow storage I/O would reset healthy hosts.</li>
 * </ul>
 */
public final class SafetyBudget {
    private SafetyBudget() {}

    static List<String> clashes(ClusterSpec c) {
        List<String> out = new ArrayList<>();
        ClusterSpec.Timers t = c.timers();
        ClusterSpec.Heartbeat h = c.heartbeat();
        ClusterSpec.WatchdogSpec w = c.watchdog();
        Duration r = t.readTimeout();
        boolean storageFencing = c.nodes().stream().anyMatch(n -> n.fencing() != null && n.fencing().storage());
        if (storageFencing && (h == null || w == null)) {
            out.add("fencing.agent: storage needs cluster.heartbeat (where the fence request is written) and"
                    + " cluster.watchdog (what stops a node that cannot read it)"
                    + (h == null ? "; cluster.heartbeat is missing" : "") + (w == null ? "; cluster.watchdog is missing" : ""));
        }
        if (h == null) {
            return out;
        }
        if (h.interval().compareTo(h.timeout()) > 0) {
            out.add("cluster.heartbeat.interval " + ms(h.interval()) + " must not exceed cluster.heartbeat.timeout "
                    + ms(h.timeout()));
        }
        Duration e = h.evidenceDelay();
        Duration unreadableDone = max(r.plus(t.selfFenceAfter()), h.timeout().plus(h.interval())).plus(t.selfFenceDuration());
        if (t.recoveryWithoutFence() != null) {
            Duration need = e.plus(t.selfFenceDuration()).plus(t.safetyMargin());
            if (t.recoveryWithoutFence().compareTo(need) < 0) {
                out.add("timers.recoveryWithoutFence " + ms(t.recoveryWithoutFence()) + " is shorter than the time a"
                        + " cut-off node needs to read that it is lost and stop: heartbeat evidence 2 x interval "
                        + ms(h.interval()) + " + 2 x timeout " + ms(h.timeout()) + " + selfFenceDuration "
                        + ms(t.selfFenceDuration()) + " + safetyMargin " + ms(t.safetyMargin()) + " = " + ms(need));
            }
            Duration need2 = unreadableDone.plus(t.safetyMargin()).minus(r);
            if (t.recoveryWithoutFence().compareTo(need2) < 0) {
                out.add("timers.recoveryWithoutFence " + ms(t.recoveryWithoutFence()) + " is shorter than a node that"
                        + " cannot read the heartbeat storage needs: max(readTimeout " + ms(r) + " + selfFenceAfter "
                        + ms(t.selfFenceAfter()) + ", heartbeat.timeout " + ms(h.timeout()) + " + interval "
                        + ms(h.interval()) + ") + selfFenceDuration " + ms(t.selfFenceDuration()) + " + safetyMargin "
                        + ms(t.safetyMargin()) + " - readTimeout = " + ms(need2));
            }
            if (w != null && w.timeout().compareTo(r.plus(t.recoveryWithoutFence()).minus(t.safetyMargin())) > 0) {
                out.add("cluster.watchdog.timeout " + ms(w.timeout()) + " is longer than readTimeout " + ms(r)
                        + " + recoveryWithoutFence " + ms(t.recoveryWithoutFence()) + " - safetyMargin "
                        + ms(t.safetyMargin()) + ": a hung agent's host would still run when the survivors recover");
            }
        }
        if (w != null) {
            if (w.timeout().compareTo(h.interval().multipliedBy(3)) < 0) {
                out.add("cluster.watchdog.timeout " + ms(w.timeout()) + " is shorter than 3 x heartbeat.interval "
                        + ms(h.interval().multipliedBy(3)) + ": one slow beat would reset a healthy host");
            }
            if (storageFencing) {
                Duration need = e.plus(t.selfFenceDuration());
                if (w.timeout().compareTo(need) < 0) {
                    out.add("cluster.watchdog.timeout " + ms(w.timeout()) + " is shorter than a live node needs to read"
                            + " a fence request and stop (2 x interval " + ms(h.interval()) + " + 2 x timeout "
                            + ms(h.timeout()) + " + selfFenceDuration " + ms(t.selfFenceDuration()) + " = " + ms(need)
                            + "): storage fencing would count it fenced too early");
                }
                Duration need2 = unreadableDone.minus(r);
                if (w.timeout().compareTo(need2) < 0) {
                    out.add("cluster.watchdog.timeout " + ms(w.timeout()) + " is shorter than a node that cannot read the"
                            + " heartbeat storage needs to stop after it is declared lost (" + ms(need2) + ")");
                }
            }
        }
        return out;
    }

    static List<String> cautions(ClusterSpec c) {
        List<String> out = new ArrayList<>();
        ClusterSpec.Timers t = c.timers();
        boolean allPower = c.nodes().stream().allMatch(n -> n.fencing() != null && !n.fencing().storage());
        if (c.heartbeat() == null && t.recoveryWithoutFence() != null) {
            out.add("no cluster.heartbeat while timers.recoveryWithoutFence is set: a node cut off from ZooKeeper"
                    + " cannot tell a ZooKeeper outage from its own isolation, so it stops its HA groups after"
                    + " selfFenceAfter either way (a ZooKeeper outage stops every HA VM); add cluster.heartbeat");
        }
        if (c.watchdog() == null && t.recoveryWithoutFence() != null) {
            out.add("no cluster.watchdog while timers.recoveryWithoutFence is set: when a host's agent hangs or dies"
                    + (allPower ? " and its power fence fails" : "") + ", the survivors recover its VMs after the"
                    + " deadline while they may still run there; add cluster.watchdog");
        }
        return out;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private static String ms(Duration d) {
        return ClusterSpec.Timers.ms(d);
    }
}
