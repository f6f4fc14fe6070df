package io.havm.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.config.PlaybookLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.Playbook;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/** Drills rehearsed in the simulator (the real engine), and the runner's referee on a target that lies. */
class DrillRunnerTest {
    static final Path PLAYBOOKS = Path.of("playbooks");
    static final Duration SAMPLE = Duration.ofMillis(100);

    private static DrillReport rehearse(Playbook p) {
        try (SimTarget t = SimTarget.labShape(p)) {
            return new DrillRunner(t, SAMPLE, line -> { }).run(p);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyShippedPlaybookPassesItsRehearsal() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(PLAYBOOKS)) {
            files = s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 12, "at least 12 shipped playbooks: " + files);
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> {
            Playbook p = PlaybookLoader.load(f);
            assertEquals(f.getFileName().toString(), p.name() + ".yaml", "a playbook's file is named after it");
            DrillReport r = rehearse(p);
            assertTrue(r.passed(), f + ": " + r.steps() + "\n" + r.disagreements());
        }));
    }

    @Test
    void eachFaultsRecoveryStaysInTheReportWhenAnotherFaultFollows() {
        DrillReport r = rehearse(PlaybookLoader.load(PLAYBOOKS.resolve("second-host-lost.yaml")));
        List<DrillReport.Recovery> web = r.recoveries().stream().filter(x -> x.group().equals("web")).toList();
        assertEquals(2, web.size(), "web was lost with host1, then with host2: " + r.recoveries());
        assertTrue(web.get(0).fault() < web.get(1).fault(), web.toString());
        assertEquals("host2", web.get(0).on());
        assertEquals("host3", web.get(1).on());
        // isolation, then a power-on: the isolation's recovery is not replaced by the power-on's nothing
        DrillReport iso = rehearse(PlaybookLoader.load(PLAYBOOKS.resolve("host-isolation.yaml")));
        assertEquals(1, iso.recoveries().size(), iso.recoveries().toString());
        assertTrue(iso.recoveries().get(0).seconds() != null, iso.recoveries().toString());
    }

    @Test
    void aPowerLossIsMeasuredAndAWrongExpectationFailsWithoutStoppingTheDrill(@TempDir Path dir) throws Exception {
        Playbook p = PlaybookLoader.parse("p.yaml", "name: wrong\ndescription: d\ngroups:\n  web: {on: host1}\n"
                + "steps:\n"
                + "  - fault: power-loss\n    host: host1\n"
                + "  - wait: web\n    notOn: host1\n    within: 60s\n"
                + "  - check: runs-on\n    group: web\n    host: host1\n"          // wrong: it moved
                + "  - check: boots\n    group: web\n    count: 1\n"               // wrong: it booted again
                + "  - check: recovery\n    group: web\n    within: 1s\n"          // too strict: ~3.7 s
                + "  - check: ran-once\n    group: web\n"
                + "  - wait: web\n    on: host1\n    within: 5s\n"                 // never: host1 is off
                + "  - check: ran-once\n    group: web\n");
        DrillReport r = rehearse(p);
        List<String> status = r.steps().stream().map(DrillReport.StepResult::status).toList();
        assertEquals(List.of("ok", "ok", "failed", "failed", "failed", "ok", "failed", "not-run"), status,
                r.steps().toString());
        assertTrue(r.steps().get(2).detail().startsWith("havm: online on host"), r.steps().get(2).detail());
        assertEquals("booted 2 times, expected 1", r.steps().get(3).detail());
        assertTrue(r.steps().get(4).detail().matches("recovered in 3\\.\\d+ s, over its target of 1\\.0 s"),
                r.steps().get(4).detail());
        assertTrue(r.steps().get(6).detail().startsWith("still online on host"), r.steps().get(6).detail());
        assertEquals(11, r.steps().get(2).line());
        assertEquals(1, r.recoveries().size());
        assertTrue(r.recoveries().get(0).seconds() > 2.5 && r.recoveries().get(0).seconds() < 5,
                "the lab's shape: 3 s session, power fence: " + r.recoveries());
        assertFalse(r.passed());
        assertTrue(r.timeline().stream().anyMatch(e -> e.source().equals("libvirt") && e.text().equals("web: runs nowhere")),
                "the referee saw the VM gone: " + r.timeline());

        r.write(dir);
        Document junit = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(dir.resolve("junit.xml").toFile());
        assertEquals("drill.wrong", junit.getDocumentElement().getAttribute("name"));
        assertEquals("9", junit.getDocumentElement().getAttribute("tests"));
        assertEquals("4", junit.getDocumentElement().getAttribute("failures"));
        assertEquals("1", junit.getDocumentElement().getAttribute("skipped"));
        assertEquals(4, junit.getElementsByTagName("failure").getLength());
        String json = Files.readString(dir.resolve("report.json"));
        assertTrue(json.contains("\"schema\" : \"havm-drill-report/1\""), json);
        assertTrue(json.contains("\"status\" : \"not-run\""), json);
    }

    @Test
    void theHtmlReportChartsEachIncidentsPhasesAndWhatChangedSinceThePreviousRun(@TempDir Path dir) throws Exception {
        Playbook p = PlaybookLoader.load(PLAYBOOKS.resolve("host-power-loss.yaml"));
        DrillReport first = rehearse(p);
        first.write(dir);
        assertFalse(Files.exists(dir.resolve("previous.json")), "no previous run yet");
        String html = Files.readString(dir.resolve("report.html"));
        assertTrue(html.contains("<span class=\"v pass\">PASSED</span>"), html);
        List<DrillHtml.Phase> phases = DrillHtml.phases(first, first.recoveries().get(0));
        assertEquals(List.of("detected", "fenced", "placed", "running", "online", "guest answering"),
                phases.stream().map(DrillHtml.Phase::name).toList(), "power loss: every phase, in order");
        assertTrue(first.recoveries().get(0).answered() >= first.recoveries().get(0).seconds(),
                "the guest answers once it runs again: " + first.recoveries());
        assertTrue(phases.get(0).to() - phases.get(0).from() > 2.5, "detection: about the 3 s session: " + phases);
        for (DrillHtml.Phase ph : phases) {
            assertTrue(html.contains("<title>" + ph.name() + ": "), "a bar for " + ph.name());
        }
        assertTrue(html.contains("target 10.0 s"), "the recovery check's target is marked");
        assertFalse(html.contains("Since the previous run"), html);

        DrillReport again = rehearse(p);
        again.write(dir);
        assertTrue(Files.exists(dir.resolve("previous.json")));
        html = Files.readString(dir.resolve("report.html"));
        assertTrue(html.contains("<h2>Since the previous run</h2>"), html);
        assertTrue(html.contains("<td>web recovery</td>"), html);
        assertEquals(first.recoveries().get(0).seconds(), DrillReport.read(dir.resolve("previous.json"))
                .recoveries().get(0).seconds());
        assertFalse(html.contains("<script"), "self-contained and inert");
    }

    /** A target whose havm view and libvirt view can be made to differ: the referee must say so. */
    static class Lying implements DrillTarget {
        final ClusterSpec spec = ClusterConfigLoader.parse("c.yaml", "cluster:\n  nodes:\n"
                + "    - {name: host1, uri: 'test:///default'}\n    - {name: host2, uri: 'test:///default'}\n"
                + "groups:\n  web:\n    resources:\n      web-vm: {type: vm, memoryMiB: 128}\n").spec();
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        ClusterState.Group havm = online("host1");
        List<String> libvirt = List.of("host1");
        Instant lieFrom;
        List<String> lie;

        static ClusterState.Group online(String node) {
            return new ClusterState.Group("web", GroupPhase.ONLINE, node, null, null, true, List.of(),
                    java.util.Map.of(), java.util.Set.of(), java.util.Set.of(), null, null, 0, 0, null);
        }

        @Override
        public String describe() {
            return "a lying target";
        }

        @Override
        public boolean simulated() {
            return true;
        }

        @Override
        public ClusterSpec spec() {
            return spec;
        }

        @Override
        public void prepare(Playbook p) { }

        @Override
        public Instant now() {
            return now;
        }

        @Override
        public void pass(Duration d) {
            now = now.plus(d);
            if (lieFrom != null && !now.isBefore(lieFrom)) {
                libvirt = lie;
            }
        }

        @Override
        public Instant fault(Playbook.Fault f, String host) {
            lieFrom = now.plusSeconds(2);
            return null;
        }

        @Override
        public void operate(Playbook.Operation o, String host) { }

        @Override
        public Optional<String> coordinator() {
            return Optional.of("host1");
        }

        @Override
        public Optional<ClusterState.Group> group(String group) {
            return Optional.of(havm);
        }

        @Override
        public List<String> runningOn(String group) {
            return libvirt;
        }

        @Override
        public java.util.OptionalInt boots(String group) {
            return java.util.OptionalInt.of(1);
        }

        @Override
        public Optional<Boolean> diskSurvived(String group) {
            return Optional.empty();
        }

        @Override
        public List<String> refereeProblems() {
            return List.of();
        }

        @Override
        public List<String> events() {
            return new ArrayList<>();
        }

        @Override
        public void close() { }
    }

    @Test
    void aTargetThatCannotBePreparedIsSaidInALineWithExit1AndNoStackTrace() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream ps = new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8);
        Lying broken = new Lying() {
            @Override
            public void prepare(Playbook p) {
                throw new IllegalStateException("the groups did not all come online within 150 s");
            }
        };
        int code = new DrillCli(ps, () -> broken, (c, d) -> broken).run(List.of("run", "playbooks/live-migration.yaml"));
        String said = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(1, code, said);
        assertTrue(said.contains("havm drill: live-migration: could not be run: the groups did not all come online"
                + " within 150 s"), said);
        assertFalse(said.contains("\tat "), "no stack trace: " + said);
    }

    @Test
    void theRefereeReportsWhenHavmAndLibvirtDisagreeForLongerThanAStartTakes() {
        Playbook p = PlaybookLoader.parse("p.yaml", "name: lie\ndescription: d\ngroups:\n  web: {on: host1}\n"
                + "steps:\n  - fault: qemu-kill\n    group: web\n  - pause: 20s\n");
        Lying nowhere = new Lying();
        nowhere.lie = List.of();
        DrillReport r = new DrillRunner(nowhere, SAMPLE, line -> { }).run(p);
        assertEquals(List.of("t=2.00 s: web: havm says online on host1, libvirt runs nowhere (for 7.0 s)"),
                r.disagreements());
        assertFalse(r.passed(), "every step ok, yet the views disagreed");

        Lying twice = new Lying();
        twice.lie = List.of("host1", "host2");
        r = new DrillRunner(twice, SAMPLE, line -> { }).run(p);
        assertTrue(r.disagreements().contains("referee: web's VM ran on 2 hosts at once"), r.disagreements().toString());

        // shorter than the grace (the longer of the 5 s session timeout and the 5 s LooksAlive, + 2 s):
        // havm cannot know yet, or a start is in progress
        Lying brief = new Lying();
        brief.lie = List.of();
        p = PlaybookLoader.parse("p.yaml", "name: lie\ndescription: d\ngroups:\n  web: {on: host1}\n"
                + "steps:\n  - fault: qemu-kill\n    group: web\n  - pause: 6s\n");
        r = new DrillRunner(brief, SAMPLE, line -> { }).run(p);
        assertEquals(List.of(), r.disagreements());
    }
}
