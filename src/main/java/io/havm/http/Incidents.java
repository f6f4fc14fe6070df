package io.havm.http;

import io.havm.policy.Milestones;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recoveries read from the timeline: a group that ran on a node when that node was lost (or that
 * failed where it ran) and came back online, with where its seconds went: detected (the loss, or
 * the failure) → fenced (the lost node proven off; none for a failure) → placed (starting on a
 * survivor) → running (online there). The milestones are {@link Milestones}', as the drill report
 * reads them.
 */
final class Incidents {
    /** One phase: its milestone, when it was reached, and the seconds since the previous one. */
    record Phase(String name, Instant at, double seconds) {}

    /** A recovery; {@code toNode}, the later phases and {@code totalSeconds} are null while it runs. */
    record Incident(String group, String fromNode, String toNode, List<Phase> phases, Double totalSeconds) {}

    /** "kvm1 group web: online on kvm1 -> starting on kvm2 (...)": the phase after the arrow and its node. */
    private static final Pattern ARROW = Pattern.compile(".*? -> ([a-z-]+)(?: on (\\S+))?(?: .*)?");

    private Incidents() {}

    static List<Incident> of(List<EventLine> lines) {
        Map<String, String> onNode = new HashMap<>(); // group -> node it is online on
        Map<String, Open> open = new LinkedHashMap<>();
        List<Incident> out = new ArrayList<>();
        for (EventLine e : lines) {
            if (e.time() == null) {
                continue;
            }
            if (e.group() == null && e.node() != null) {
                String m = Milestones.of(e.text(), "");
                if (Milestones.DETECTED.equals(m)) {
                    onNode.forEach((g, n) -> {
                        if (n.equals(e.node()) && !open.containsKey(g)) {
                            open.put(g, new Open(g, n, e.time()));
                        }
                    });
                } else if (Milestones.FENCED.equals(m)) {
                    for (Open o : open.values()) {
                        if (o.from.equals(e.node()) && o.fenced == null && o.placed == null) {
                            o.fenced = e.time();
                        }
                    }
                }
                continue;
            }
            if (e.group() == null) {
                continue;
            }
            Matcher a = ARROW.matcher(e.text());
            if (!a.matches()) {
                continue;
            }
            String phase = a.group(1);
            String node = a.group(2);
            Open o = open.get(e.group());
            if (phase.equals("failing") && o == null && onNode.containsKey(e.group())) {
                open.put(e.group(), new Open(e.group(), onNode.get(e.group()), e.time()));
            } else if (o != null && Milestones.PLACED.equals(Milestones.of(e.text(), e.group())) && o.placed == null) {
                o.placed = e.time();
                o.to = node;
            } else if (o != null && Milestones.RUNNING.equals(Milestones.of(e.text(), e.group()))) {
                if (o.placed == null) {
                    o.to = node;
                }
                if (o.to == null || o.to.equals(node)) {
                    o.to = node;
                    out.add(o.close(e.time()));
                    open.remove(e.group());
                }
            } else if (o != null && (phase.equals("offline") || phase.equals("failed"))) {
                open.remove(e.group()); // taken offline or given up: no recovery to time
            }
            if (phase.equals("online") && node != null) {
                onNode.put(e.group(), node);
            } else if (!phase.equals("online")) {
                onNode.remove(e.group());
            }
        }
        for (Open o : open.values()) {
            out.add(o.close(null));
        }
        return out;
    }

    private static final class Open {
        final String group;
        final String from;
        final Instant detected;
        Instant fenced;
        Instant placed;
        String to;

        Open(String group, String from, Instant detected) {
            this.group = group;
            this.from = from;
            this.detected = detected;
        }

        Incident close(Instant running) {
            List<Phase> phases = new ArrayList<>();
            phases.add(new Phase(Milestones.DETECTED, detected, 0));
            Instant last = detected;
            for (Object[] p : new Object[][] {{Milestones.FENCED, fenced}, {Milestones.PLACED, placed},
                {Milestones.RUNNING, running}}) {
                Instant at = (Instant) p[1];
                if (at != null) {
                    phases.add(new Phase((String) p[0], at, seconds(last, at)));
                    last = at;
                }
            }
            return new Incident(group, from, running == null ? to : to, phases,
                    running == null ? null : seconds(detected, running));
        }
    }

    private static double seconds(Instant a, Instant b) {
        return Duration.between(a, b).toMillis() / 1000.0;
    }
}
