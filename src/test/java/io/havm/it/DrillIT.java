package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.havm.config.PlaybookLoader;
import io.havm.drill.DrillCli;
import io.havm.lab.LabTarget;
import io.havm.model.InvalidInputException;
import io.havm.model.Playbook;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Shipped playbooks run on the lab's real hosts with {@code havm drill run}: real QEMU guests,
 * faults through ci/lab, libvirt asked directly by the referee, the guest's console counting its
 * boots and its disk keeping its boot counter. Each report (report.html, report.json, junit.xml)
 * is kept under target/drill-reports/NAME, beside the simulator's prediction for the same
 * playbook. Every shipped playbook runs here, each drill starting with {@code havm validate} of
 * its cluster; one whose fault the lab cannot inject yet is shown refused with that reason, and
 * reported skipped. Playbooks replaced ClusterIT's hand-written power-loss, isolation, coordinator
 * loss and libvirtd-restart drills: one way to write a drill. ClusterIT and OutageIT keep what the
 * playbooks cannot say yet (guest work uninterrupted tick by tick, a script resource following its
 * VM); guest-crash replaced ClusterIT's crashing guest (QEMU killed) with a real kernel panic.
 */
class DrillIT {
    static final Path REPORTS = Path.of("target/drill-reports");
    /** The parameterized case's argument when -Ddrill.playbooks selects none of its playbooks. */
    private static final String NONE = "(none selected)";

    final RealLab lab = RealLab.get();

    @AfterEach
    void restore() {
        lab.restoreAllHosts(); // LabTarget leaves the lab as found; this is the guard if it could not
    }

    /**
     * The playbooks to run: {@code -Ddrill.playbooks=guest-crash,lun-lost} runs only those (while
     * one playbook is written); unset or empty, every shipped playbook.
     */
    static boolean selected(String playbook) {
        String only = System.getProperty("drill.playbooks", "").strip();
        return only.isEmpty() || List.of(only.split("\\s*,\\s*")).contains(playbook);
    }

    /** Every shipped (and selected) playbook but the five with tests of their own below. */
    static Stream<String> shipped() throws Exception {
        try (Stream<Path> s = Files.list(Path.of("playbooks"))) {
            List<String> names = s.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .map(n -> n.substring(0, n.length() - ".yaml".length()))
                    .filter(n -> !List.of("host-power-loss", "zookeeper-outage", "guest-crash", "failback-window",
                            "storage-cut").contains(n))
                    .filter(DrillIT::selected).sorted().toList();
            return names.isEmpty() ? Stream.of(NONE) : names.stream(); // JUnit refuses an empty source
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shipped")
    void aShippedPlaybookPassesOnTheLab(String playbook) throws Exception {
        Assumptions.assumeFalse(playbook.equals(NONE), "no other playbook selected by -Ddrill.playbooks");
        Playbook p = PlaybookLoader.load(Path.of("playbooks/" + playbook + ".yaml"));
        try {
            new LabTarget(lab.home, System.out).check(p);
        } catch (InvalidInputException refused) {
            assertTrue(refused.getMessage().contains("cannot be injected on the lab yet"), refused.getMessage());
            Assumptions.abort("refused up front, as it must be: " + refused.getMessage());
        }
        JsonNode r = drill(playbook);
        assertEquals(p.steps().size(), r.get("steps").size());
        assertTrue(r.get("preflight").get("status").asText().matches("passed|warnings"), r.get("preflight").toString());
    }

    private JsonNode drill(String playbook) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        return drill(playbook, new LabTarget(lab.home, ps), out, ps);
    }

    private JsonNode drill(String playbook, LabTarget target, ByteArrayOutputStream out, PrintStream ps)
            throws Exception {
        Path dir = REPORTS.resolve(playbook);
        int code = new DrillCli(ps, () -> target, (c, d) -> {
            throw new AssertionError("no --config");
        }).run(List.of("run",
                "playbooks/" + playbook + ".yaml", "--report", dir.toString()));
        String said = out.toString(StandardCharsets.UTF_8);
        System.out.println(said);
        assertEquals(0, code, said);
        assertTrue(said.contains("havm drill: " + playbook + ": passed (on the lab"), said);
        JsonNode r = io.havm.engine.Codec.json().readTree(Files.readString(dir.resolve("report.json")));
        assertFalse(r.get("simulated").asBoolean());
        assertEquals(0, r.get("disagreements").size(), r.toString());
        assertTrue(Files.readString(dir.resolve("junit.xml")).contains("failures=\"0\" errors=\"0\" skipped=\"0\""));
        // the lab is as the drill found it: no VM of the drill left on any host
        for (String g : PlaybookLoader.load(Path.of("playbooks/" + playbook + ".yaml")).groups().keySet()) {
            for (String h : List.of("host1", "host2", "host3")) {
                assertTrue(lab.hv(h).state("drill-" + g).isEmpty(), "drill-" + g + " left on " + h);
            }
        }
        return r;
    }

    /**
     * Also watched as an operator would: host3's dashboard in headless Chromium shows web move off
     * host1 by itself (its event stream), and every surviving agent's Prometheus scrape passes
     * promtool and counts the failover.
     */
    @Test
    void aHostPowerLossIsMeasuredAgainstItsPredictionAndTheGuestBootsOnceMore() throws Exception {
        Assumptions.assumeTrue(selected("host-power-loss"), "not selected by -Ddrill.playbooks");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        LabTarget target = new LabTarget(lab.home, ps);
        Path shots = Files.createDirectories(REPORTS.resolve("host-power-loss"));
        DashboardWatcher w = new DashboardWatcher(target, "web", "host1", "host3", shots);
        Thread watching = w.start();
        JsonNode r = drill("host-power-loss", target, out, ps);
        watching.join(Duration.ofMinutes(2).toMillis());
        assertFalse(watching.isAlive(), "the dashboard watcher is still waiting");
        if (w.failure != null) {
            throw new AssertionError("the dashboard during the drill: " + w.failure, w.failure);
        }
        assertEquals("host1", w.ownerBefore);
        assertTrue(w.ownerAfter.equals("host2") || w.ownerAfter.equals("host3"), w.ownerAfter);
        assertEquals(r.get("recoveries").get(0).get("on").asText(), w.ownerAfter, "the page and the referee agree");
        assertTrue(w.incident.startsWith("web: host1 → " + w.ownerAfter), w.incident);
        System.out.println("dashboard: web shown on " + w.ownerAfter + " " + w.pageLag.toMillis() / 1000.0
                + " s after the plug was pulled; incident: " + w.incident.replace('\n', ' '));
        assertEquals(List.of("host2: exit 0", "host3: exit 0"), w.promtool, "promtool check metrics on each survivor");
        long failovers = w.scrapes.values().stream().flatMap(String::lines)
                .filter(l -> l.startsWith("havm_failovers_total{") && l.contains("group=\"web\""))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
        assertTrue(failovers >= 1, "the failover counted by the agents that saw it: " + w.scrapes);
        JsonNode web = r.get("recoveries").get(0);
        assertEquals("web", web.get("group").asText());
        double measured = web.get("seconds").asDouble();
        assertTrue(measured > 2 && measured < 10, "plug pulled -> healthy on a survivor: " + measured + " s");
        JsonNode predicted = r.get("predicted").get(0);
        assertEquals("web", predicted.get("group").asText());
        assertTrue(predicted.get("seconds").asDouble() > 2, r.get("predicted").toString());
        assertTrue(r.get("timeline").toString().contains("web: runs nowhere"), "the referee saw it gone");
        assertTrue(r.get("steps").toString().contains("the guest's counter on its disk went on from where it was"),
                "judged by the guest's own disk, not skipped: " + r.get("steps"));
        Path html = REPORTS.resolve("host-power-loss/report.html");
        assertTrue(Files.readString(html).contains("<svg"));
        // the page as a person sees it: rendered by a real browser (headless Chromium)
        Path png = screenshot(html);
        byte[] b = Files.readAllBytes(png);
        assertTrue(b.length > 20_000 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G', png + ": " + b.length + " bytes");
    }

    /** report.png beside the page: Chromium, headless, as root (no sandbox), with a profile of its own. */
    private static Path screenshot(Path html) throws Exception {
        Path png = html.resolveSibling("report.png");
        Path profile = Files.createTempDirectory("havm-chromium");
        try {
            io.havm.util.Exec.run(java.time.Duration.ofSeconds(90), List.of("chromium", "--headless", "--no-sandbox",
                    "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=1100,1400",
                    "--screenshot=" + png.toAbsolutePath(), html.toAbsolutePath().toUri().toString())).orThrow();
        } finally {
            try (var s = Files.walk(profile)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
        return png;
    }

    /**
     * A real kernel panic (sysrq-c through the guest agent) reaches libvirt through pvpanic as a
     * crash: the first is restarted in place, the second, inside the restart period, fails the
     * group over (threshold 1 in 15 min).
     */
    @Test
    void aCrashedGuestIsRestartedInPlaceThenFailedOverAtTheThreshold() throws Exception {
        Assumptions.assumeTrue(selected("guest-crash"), "not selected by -Ddrill.playbooks");
        JsonNode r = drill("guest-crash");
        JsonNode rec = r.get("recoveries");
        assertEquals(2, rec.size(), rec.toString());
        assertEquals("host1", rec.get(0).get("on").asText(), "restarted in place: " + rec);
        assertFalse(rec.get(1).get("on").asText().equals("host1"), "failed over: " + rec);
        for (JsonNode x : rec) {
            double s = x.get("seconds").asDouble();
            assertTrue(s > 0.3 && s < 20, "crash -> online again: " + s + " s");
        }
        assertTrue(r.get("steps").toString().contains("the guest's counter on its disk went on from where it was"),
                "judged by the guest's own disk: " + r.get("steps"));
    }

    /**
     * The failback happens inside the group's window, written relative to the drill's start (25 s,
     * lasting 60 s): not before (the playbook's quiet check covers most of the wait), and not long
     * after it opens. Judged on havm's own event's time against the drill's clock at its start
     * (with failback immediate, web would come back as soon as host1 is resumed, about 5 s in).
     */
    @Test
    void aFailbackHappensOnlyInsideItsWindow() throws Exception {
        Assumptions.assumeTrue(selected("failback-window"), "not selected by -Ddrill.playbooks");
        JsonNode r = drill("failback-window");
        java.time.Instant start = java.time.Instant.parse(r.get("clockAtStart").asText());
        String failback = null;
        for (JsonNode e : r.get("events")) {
            if (e.asText().contains("(failback to preferred owner host1)")) {
                failback = e.asText();
            }
        }
        assertTrue(failback != null, "no failback to host1 in " + r.get("events"));
        double at = java.time.Duration.between(start, java.time.Instant.parse(failback.substring(0,
                failback.indexOf(' ')))).toMillis() / 1000.0;
        // the drill's clock starts (a few ms at most after) the instant the windows count from
        assertTrue(at >= 24.9 && at < 35, "failback " + at + " s after the drill's start (window: 25 s to 85 s): "
                + failback);
    }

    /**
     * host1's heartbeat storage cut for 15 s while ZooKeeper works: nothing moves (the playbook),
     * and the cut was real: host1's agent said the storage was unavailable, then answering again.
     */
    @Test
    void aStorageCutIsSeenByTheAgentAndMovesNothing() throws Exception {
        Assumptions.assumeTrue(selected("storage-cut"), "not selected by -Ddrill.playbooks");
        Path log = lab.lab.facts().agentsDir().resolve("host1.log");
        long before = Files.exists(log) ? Files.size(log) : 0;
        JsonNode r = drill("storage-cut");
        assertEquals(0, r.get("recoveries").size(), "nothing disrupted: " + r.get("recoveries"));
        byte[] all = Files.readAllBytes(log);
        String said = new String(all, (int) before, all.length - (int) before, StandardCharsets.UTF_8);
        int cut = said.indexOf("guard: heartbeat storage unavailable");
        assertTrue(cut >= 0, "host1's agent never saw its heartbeat storage go:\n" + said);
        assertTrue(said.indexOf("guard: heartbeat storage answers again", cut) > cut, said);
    }

    @Test
    void aZooKeeperOutageStopsNoVm() throws Exception {
        Assumptions.assumeTrue(selected("zookeeper-outage"), "not selected by -Ddrill.playbooks");
        JsonNode r = drill("zookeeper-outage");
        assertEquals(0, r.get("recoveries").size(), "nothing disrupted: " + r.get("recoveries"));
    }
}
