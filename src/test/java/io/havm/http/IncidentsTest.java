package io.havm.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Recoveries read from the timeline as the coordinator writes it. */
class IncidentsTest {
    private static List<EventLine> lines(String... raw) {
        List<EventLine> out = new ArrayList<>();
        for (String r : raw) {
            out.add(EventLine.parse(out.size() + 1, r));
        }
        return out;
    }

    @Test
    void eventLinesNameTheirGroupAndNode() {
        EventLine g = EventLine.parse(7, "2026-12-07T10:00:00Z kvm2 group web: pending -> starting on kvm2 (placed)");
        assertEquals("web", g.group());
        assertEquals("kvm2", g.node());
        assertEquals("kvm2 group web: pending -> starting on kvm2 (placed)", g.text());
        assertEquals("2026-12-07T10:00:00Z", g.time().toString());
        EventLine n = EventLine.parse(8, "2026-12-07T10:00:00Z kvm1 node: up -> lost (session expired)");
        assertEquals("kvm1", n.node());
        assertEquals(null, n.group());
        EventLine free = EventLine.parse(9, "no time here");
        assertEquals(null, free.time());
        assertEquals("no time here", free.text());
        assertEquals("kvm1", EventLine.parse(1, "2026-12-07T10:00:00Z kvm1 refused: drain: node is lost").node());
        assertEquals(null, EventLine.parse(1, "2026-12-07T10:00:00Z - group db: illegal transition").node());
    }

    @Test
    void aNodeLossIsTimedPhaseByPhase() {
        List<Incidents.Incident> in = Incidents.of(lines(
                "2026-12-07T10:00:00Z kvm1 group web: none -> online on kvm1 (adopted)",
                "2026-12-07T10:00:00Z kvm2 group db: none -> online on kvm2 (adopted)",
                "2026-12-07T10:01:00Z kvm1 node: up -> lost (session expired)",
                "2026-12-07T10:01:00Z kvm1 group web: online on kvm1 -> awaiting-fence on kvm1 (node lost)",
                "2026-12-07T10:01:02.500Z   command fence kvm1",
                "2026-12-07T10:01:04Z kvm1 node: lost -> fenced (fence_ipmilan: off)",
                "2026-12-07T10:01:04Z kvm2 group web: awaiting-fence on kvm1 -> starting on kvm2 (fenced)",
                "2026-12-07T10:01:09.250Z kvm2 group web: starting on kvm2 -> online on kvm2 (started)"));
        assertEquals(1, in.size());
        Incidents.Incident x = in.get(0);
        assertEquals("web", x.group());
        assertEquals("kvm1", x.fromNode());
        assertEquals("kvm2", x.toNode());
        assertEquals(9.25, x.totalSeconds());
        assertEquals(List.of("detected", "fenced", "placed", "running"), x.phases().stream().map(Incidents.Phase::name)
                .toList());
        assertEquals(List.of(0.0, 4.0, 0.0, 5.25), x.phases().stream().map(Incidents.Phase::seconds).toList());
    }

    @Test
    void aRecoveryUnderWayHasNoTotalAndAPlannedMoveIsNoIncident() {
        List<Incidents.Incident> in = Incidents.of(lines(
                "2026-12-07T10:00:00Z kvm1 group web: none -> online on kvm1 (adopted)",
                "2026-12-07T10:00:10Z kvm2 group web: online on kvm1 -> moving kvm1->kvm2 live (operator move)",
                "2026-12-07T10:00:20Z kvm2 group web: moving kvm1->kvm2 live -> online on kvm2 (moved)",
                "2026-12-07T10:01:00Z kvm2 node: up -> lost (session expired)"));
        assertEquals(1, in.size());
        assertEquals("kvm2", in.get(0).fromNode());
        assertEquals(null, in.get(0).totalSeconds());
        assertEquals(null, in.get(0).toNode());
    }
}
