package io.havm.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havm.lab.PacemakerBaseline.Scenario;
import io.havm.lab.PacemakerBaseline.Shape;
import io.havm.model.InvalidInputException;
import io.havm.util.Exec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PacemakerBaselineTest {
    private static final Shape SMALL = Shape.of(4, 40, 5);

    @TempDir
    Path dir;

    private static void needsPacemaker() {
        assumeTrue(PacemakerBaseline.available(), "crm_simulate is not installed (Debian's pacemaker-cli-utils; ci/install-deps installs it)");
    }

    @Test
    void hostLostFencesNode1AndMovesItsVms() {
        needsPacemaker();
        PacemakerBaseline.Result r = PacemakerBaseline.run(SMALL, Scenario.HOST_LOST, dir);
        assertEquals(5, r.placed());
        assertEquals(List.of("node1"), r.fenced());
        assertTrue(r.version().startsWith("Pacemaker "), r.version());
        assertEquals(List.of("crm_simulate", "--run", "--xml-file", r.cib().toString()), r.command());
        assertTrue(r.wall().compareTo(Duration.ZERO) > 0);
        assertTrue(r.cpu() != null && !r.cpu().isNegative() && r.cpu().compareTo(r.wall().multipliedBy(2).plusMillis(20)) <= 0, r.toString());
    }

    @Test
    void formationStartsEveryVm() {
        needsPacemaker();
        PacemakerBaseline.Result r = PacemakerBaseline.run(SMALL, Scenario.FORMATION, dir);
        assertEquals(40, r.placed());
        assertEquals(List.of(), r.fenced());
    }

    /** -S carries the transition out: node1 ends fenced (OFFLINE, not UNCLEAN) and every VM runs on a survivor. */
    @Test
    void theSimulatedTransitionFencesAndRecovers() throws Exception {
        needsPacemaker();
        PacemakerBaseline.Result r = PacemakerBaseline.run(SMALL, Scenario.HOST_LOST, dir);
        String out = Exec.run(Duration.ofSeconds(60), List.of("crm_simulate", "--simulate", "--xml-file", r.cib().toString()))
                .orThrow().out();
        String revised = out.substring(out.indexOf("Revised Cluster Status:"));
        assertTrue(out.contains("Fencing node1 (reboot)"), out);
        assertTrue(revised.contains("OFFLINE: [ node1 ]"), revised);
        Matcher m = Pattern.compile("\\* vm\\d+\\s+\\(ocf:heartbeat:VirtualDomain\\):\\s+Started node([2-4])\\s*$", Pattern.MULTILINE)
                .matcher(revised);
        int running = 0;
        while (m.find()) {
            running++;
        }
        assertEquals(40, running, revised);
    }

    /** A steady cluster (the same CIB with node1 online) gives an empty transition: the history's digests are Pacemaker's. */
    @Test
    void aSteadyClusterDecidesNothing() throws Exception {
        needsPacemaker();
        Path cib = PacemakerBaseline.run(SMALL, Scenario.HOST_LOST, dir).cib();
        Path steady = dir.resolve("steady.xml");
        Files.writeString(steady, Files.readString(cib).replace("in_ccm=\"false\" crmd=\"offline\" join=\"down\"",
                "in_ccm=\"true\" crmd=\"online\" join=\"member\""));
        String out = Exec.run(Duration.ofSeconds(60), List.of("crm_simulate", "--run", "--xml-file", steady.toString())).orThrow().out();
        PacemakerBaseline.Counts c = PacemakerBaseline.parse(out);
        assertEquals(new PacemakerBaseline.Counts(List.of(), 0, 0, java.util.Map.of()), c, out);
    }

    @Test
    void theProcessOverheadIsMeasuredOnATinyCib() {
        needsPacemaker();
        assertTrue(PacemakerBaseline.processOverhead(dir, 3).compareTo(Duration.ZERO) > 0);
    }

    /** --profile times the scheduler alone and leaves nothing behind but the CIB. */
    @Test
    void theSchedulerAloneIsTimedWithProfile() throws Exception {
        needsPacemaker();
        Path cib = PacemakerBaseline.run(SMALL, Scenario.HOST_LOST, dir).cib();
        assertTrue(PacemakerBaseline.schedulerTime(cib, 2).compareTo(Duration.ZERO) >= 0);
        try (var files = Files.list(dir)) {
            assertEquals(List.of(cib), files.toList());
        }
        PacemakerBaseline.BaselineException e = assertThrows(PacemakerBaseline.BaselineException.class,
                () -> PacemakerBaseline.schedulerTime(dir.resolve("missing.xml"), 1));
        assertTrue(e.getMessage().contains("missing.xml"), e.getMessage());
    }

    @Test
    void aTransitionThatDidNotHappenFailsLoudly() {
        String nothing = "Current cluster status:\n  * Node List:\n\nTransition Summary:\n\n";
        PacemakerBaseline.BaselineException e = assertThrows(PacemakerBaseline.BaselineException.class,
                () -> PacemakerBaseline.check(SMALL, Scenario.HOST_LOST, PacemakerBaseline.parse(nothing), "crm_simulate"));
        assertTrue(e.getMessage().contains("fenced [], expected [node1]"), e.getMessage());
        assertTrue(e.getMessage().contains("moved 0 VMs off node1"), e.getMessage());
        String restarts = "Transition Summary:\n  * Fence (reboot) node1 'peer is no longer part of the cluster'\n"
                + "  * Move       vm1     ( node1 -> node3 )\n"
                + "  * Restart    vm6     (          node2 )  due to resource definition change\n";
        e = assertThrows(PacemakerBaseline.BaselineException.class,
                () -> PacemakerBaseline.check(SMALL, Scenario.HOST_LOST, PacemakerBaseline.parse(restarts), "crm_simulate"));
        assertTrue(e.getMessage().contains("other actions {Restart vm=1}"), e.getMessage());
        assertThrows(PacemakerBaseline.BaselineException.class, () -> PacemakerBaseline.parse("no summary at all"));
    }

    @Test
    void aShapeThatCannotFitIsRefused() {
        assertThrows(InvalidInputException.class, () -> Shape.of(1, 10, 0));
        assertThrows(InvalidInputException.class, () -> new Shape(4, 40, 5, 8192, 4096, "balanced"));
        assertThrows(InvalidInputException.class, () -> Shape.of(4, 40, 41));
    }
}
