package io.havm.fencing;

import static io.havm.fencing.StubAgents.alive;
import static io.havm.fencing.StubAgents.script;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.havm.port.Fencer.Action;
import io.havm.port.Fencer.Outcome;
import io.havm.port.Fencer.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * FenceAgentRunner against stub agents that speak the stdin protocol: what each exit code means,
 * when OFF is confirmed, timeouts, secrets. Real Debian agents: {@link RealFenceAgentsTest}.
 */
class FenceAgentRunnerTest {
    private static final String PASSWORD = "s3cr3t-Pw";

    @TempDir
    Path dir;

    /**
     * A stub agent: records its stdin in {@code calls} (one block per run, ended by "--"), then runs
     * {@code body} with {@code $action} set from its stdin.
     */
    private Path agent(String body) {
        return script(dir, "fence_stub", "in=$(cat)\nprintf '%s\\n--\\n' \"$in\" >> " + dir.resolve("calls") + "\n"
                + "action=$(sed -n 's/^action=//p' <<<\"$in\")\n" + body);
    }

    private List<String> calledActions() throws Exception {
        return Files.readAllLines(dir.resolve("calls")).stream().filter(l -> l.startsWith("action="))
                .map(l -> l.substring("action=".length())).toList();
    }

    private static FenceAgentRunner runner(Path agent, Map<String, String> options, Duration timeout) {
        return new FenceAgentRunner(Map.of("node1", new FenceDevice(agent.toString(), options, timeout)));
    }

    private static FenceAgentRunner runner(Path agent) {
        return runner(agent, Map.of("plug", "3"), Duration.ofSeconds(20));
    }

    @Test
    void offConfirmedByStatusIsOff() throws Exception {
        Path a = agent("""
                case $action in
                  off) echo 'Success: Powered OFF' ;;
                  status) echo 'Status: OFF'; exit 2 ;;
                  *) exit 1 ;;
                esac
                """);
        Result r = runner(a).fence("node1", Action.OFF);
        assertEquals(Outcome.OFF, r.outcome(), r.detail());
        assertTrue(r.detail().contains("fence_stub off: exit 0 (Success: Powered OFF)"), r.detail());
        assertTrue(r.detail().contains("fence_stub status: exit 2 (Status: OFF): off confirmed"), r.detail());
        assertEquals(List.of("off", "status"), calledActions());
    }

    @Test
    void offSucceededButStatusStillOnIsNotConfirmed() throws Exception {
        Path a = agent("""
                case $action in
                  off) echo 'Success: Powered OFF' ;;
                  status) echo 'Status: ON'; exit 0 ;;
                esac
                """);
        Result r = runner(a).fence("node1", Action.OFF);
        assertEquals(Outcome.FAILED, r.outcome(), r.detail());
        assertTrue(r.detail().contains("NOT fenced, the device still reports the node on"), r.detail());
        assertEquals(List.of("off", "status"), calledActions());
    }

    @Test
    void offSucceededButStatusErrorIsNotConfirmed() {
        Path a = agent("""
                case $action in
                  off) exit 0 ;;
                  status) echo 'ERROR: Failed: Unable to obtain correct plug status' >&2; exit 1 ;;
                esac
                """);
        Result r = runner(a).fence("node1", Action.OFF);
        assertEquals(Outcome.FAILED, r.outcome(), r.detail());
        assertTrue(r.detail().contains("status: exit 1 (ERROR: Failed: Unable to obtain correct plug status)"
                + ": NOT fenced, could not confirm"), r.detail());
    }

    @Test
    void failedOffIsFailedAndNotFollowedByStatus() throws Exception {
        Path a = agent("""
                echo '2026-01-02 03:04:05,678 ERROR: Unable to connect/login to fencing device' >&2
                echo '2026-01-02 03:04:05,679 ERROR: Please use '"'"'-h'"'"' for usage' >&2
                exit 1
                """);
        Result r = runner(a).fence("node1", Action.OFF);
        assertEquals(Outcome.FAILED, r.outcome());
        assertEquals("node1: fence_stub off: exit 1 (ERROR: Unable to connect/login to fencing device)", r.detail());
        assertEquals(List.of("off"), calledActions());
    }

    @Test
    void statusExitCodes() {
        Path a = agent("""
                echo "Status: $(cat %s)"
                case $(cat %s) in ON) exit 0 ;; OFF) exit 2 ;; *) echo 'ERROR: Failed: no answer' >&2; exit 1 ;; esac
                """.formatted(dir.resolve("power"), dir.resolve("power")));
        FenceAgentRunner runner = runner(a);
        write("power", "ON");
        assertEquals(Outcome.ON, runner.fence("node1", Action.STATUS).outcome());
        write("power", "OFF");
        Result off = runner.fence("node1", Action.STATUS);
        assertEquals(Outcome.OFF, off.outcome());
        assertEquals("node1: fence_stub status: exit 2 (Status: OFF)", off.detail());
        write("power", "UNKNOWN");
        Result failed = runner.fence("node1", Action.STATUS);
        assertEquals(Outcome.FAILED, failed.outcome());
        assertTrue(failed.detail().contains("exit 1 (ERROR: Failed: no answer)"), failed.detail());
    }

    @Test
    void onRebootMonitor() {
        Path a = agent("""
                case $action in
                  on) echo 'Success: Powered ON' ;;
                  reboot) echo 'Success: Rebooted' ;;
                  monitor) exit 2 ;;
                esac
                """);
        FenceAgentRunner runner = runner(a);
        assertEquals(new Result(Outcome.OK, "node1: fence_stub on: exit 0 (Success: Powered ON)"),
                runner.fence("node1", Action.ON));
        assertEquals(Outcome.OK, runner.fence("node1", Action.REBOOT).outcome());
        Result monitor = runner.fence("node1", Action.MONITOR);
        assertEquals(Outcome.OK, monitor.outcome(), "monitor exit 2: device reachable, port off");
        assertTrue(monitor.detail().contains("device reachable, its port reports off"), monitor.detail());
    }

    @Test
    void stdinCarriesActionNodenameAndOptionsOnePerLine() throws Exception {
        Path a = agent("exit 0\n");
        runner(a, Map.of("plug", "3", "ip", "10.0.0.5", "power_timeout", "20"), Duration.ofSeconds(20))
                .fence("node1", Action.ON);
        assertEquals("action=on\nnodename=node1\nip=10.0.0.5\nplug=3\npower_timeout=20\n--\n",
                Files.readString(dir.resolve("calls")));
    }

    @Test
    void actionMappingRunsTheAgentsOwnActionNames() throws Exception {
        Path a = agent("""
                case $action in disable) exit 0 ;; state) exit 2 ;; *) exit 1 ;; esac
                """);
        FenceDevice d = new FenceDevice(a.toString(), Map.of(), Duration.ofSeconds(20),
                Map.of(Action.OFF, "disable", Action.STATUS, "state"), true);
        Result r = new FenceAgentRunner(Map.of("node1", d)).fence("node1", Action.OFF);
        assertEquals(Outcome.OFF, r.outcome(), r.detail());
        assertEquals(List.of("disable", "state"), calledActions());
    }

    @Test
    void confirmOffFalseTrustsTheAgentsOff() throws Exception {
        Path a = agent("exit 0\n");
        FenceDevice d = new FenceDevice(a.toString(), Map.of(), Duration.ofSeconds(20), Map.of(), false);
        Result r = new FenceAgentRunner(Map.of("node1", d)).fence("node1", Action.OFF);
        assertEquals(Outcome.OFF, r.outcome());
        assertTrue(r.detail().contains("not checked with status: confirm-off is false"), r.detail());
        assertEquals(List.of("off"), calledActions());
    }

    @Test
    void timeoutKillsTheAgentsProcessTreeAndNamesTheBudget() throws Exception {
        Path pidFile = dir.resolve("child.pid");
        Path a = agent("sleep 300 &\necho $! > " + pidFile + "\nwait\n");
        Result r = runner(a, Map.of(), Duration.ofSeconds(1)).fence("node1", Action.OFF);
        assertEquals(Outcome.FAILED, r.outcome(), r.detail());
        assertTrue(r.detail().contains("fence_stub off: timed out after"), r.detail());
        assertTrue(r.detail().contains("(budget 1 s for the whole fence call); the agent and its child processes were killed"),
                r.detail());
        // The agent's child (a 300 s sleep) is gone: killed with the agent, not waited for.
        long child = Long.parseLong(Files.readString(pidFile).strip());
        await().atMost(Duration.ofSeconds(10)).until(() -> !alive(child));
        assertEquals(List.of("off"), calledActions(), "no status after an off that timed out");
    }

    @Test
    void statusRunGetsWhatTheOffLeftOfTheBudget() {
        Path a = agent("""
                case $action in off) exit 0 ;; status) sleep 300 & wait ;; esac
                """);
        Result r = runner(a, Map.of(), Duration.ofSeconds(1)).fence("node1", Action.OFF);
        assertEquals(Outcome.FAILED, r.outcome(), r.detail());
        assertTrue(r.detail().contains("fence_stub off: exit 0; fence_stub status: timed out after"), r.detail());
        assertTrue(r.detail().contains("NOT fenced"), r.detail());
    }

    @Test
    void secretsAreMaskedInDetailsAndLogs() {
        Path a = agent("echo \"ERROR: Failed: login with $(tr '\\n' ' ' <<<\"$in\")\" >&2\nexit 1\n");
        Logger logger = (Logger) LoggerFactory.getLogger(FenceAgentRunner.class);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Level before = logger.getLevel();
        logger.setLevel(Level.DEBUG);
        logger.addAppender(logs);
        try {
            FenceDevice d = new FenceDevice(a.toString(), Map.of("username", "admin", "password", PASSWORD,
                    "snmp_priv_passwd", "pr1v", "passwd_script", "/etc/havm/pw"), Duration.ofSeconds(20));
            FenceAgentRunner runner = new FenceAgentRunner(Map.of("node1", d));
            for (Action action : Action.values()) {
                Result r = runner.fence("node1", action);
                assertEquals(Outcome.FAILED, r.outcome());
                assertFalse(r.detail().contains(PASSWORD) || r.detail().contains("pr1v"), r.detail());
                assertTrue(r.detail().contains("password=****"), r.detail());
                assertTrue(r.detail().contains("username=admin"), r.detail());
                assertTrue(r.detail().contains("passwd_script=/etc/havm/pw"), "a script's path is no secret: " + r.detail());
            }
            assertFalse(d.toString().contains(PASSWORD), d.toString());
            assertFalse(logs.list.isEmpty());
            for (ILoggingEvent e : logs.list) {
                assertFalse(e.getFormattedMessage().contains(PASSWORD), e.getFormattedMessage());
                assertFalse(e.getFormattedMessage().contains("pr1v"), e.getFormattedMessage());
            }
        } finally {
            logger.detachAppender(logs);
            logger.setLevel(before);
        }
    }

    @Test
    void aPasswordFromAFileGoesOnlyOnTheAgentsStdinAndIsMaskedEverywhereElse() throws Exception {
        // The agent echoes its whole stdin back in an error, as a careless agent might.
        Path a = script(dir, "fence_stub", "in=$(cat)\nprintf 'argc=%s\\n%s\\n--\\n' $# \"$in\" >> "
                + dir.resolve("calls") + "\necho \"ERROR: Failed: login with $(tr '\\n' ' ' <<<\"$in\")\" >&2\nexit 1\n");
        Path pw = Files.writeString(dir.resolve("bmc1"), PASSWORD + "\n");
        Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        FenceDevice d = new FenceDevice(a.toString(), Map.of("username", "admin"), Duration.ofSeconds(20), Map.of(),
                true, Map.of("password", pw));
        Logger logger = (Logger) LoggerFactory.getLogger(FenceAgentRunner.class);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Level before = logger.getLevel();
        logger.setLevel(Level.DEBUG);
        logger.addAppender(logs);
        try {
            Result r = new FenceAgentRunner(Map.of("node1", d)).fence("node1", Action.OFF);
            assertEquals(Outcome.FAILED, r.outcome());
            assertEquals("argc=0\naction=off\nnodename=node1\npassword=" + PASSWORD + "\nusername=admin\n--\n",
                    Files.readString(dir.resolve("calls")), "on stdin, never as an argument");
            assertTrue(r.detail().contains("password=****"), r.detail());
            assertFalse(r.detail().contains(PASSWORD), r.detail());
            assertEquals("password=<file " + pw + "> username=admin", d.maskedOptions());
            assertFalse(d.toString().contains(PASSWORD), d.toString());
            assertFalse(d.readOptions().toString().contains(PASSWORD));
            assertFalse(logs.list.isEmpty());
            for (ILoggingEvent e : logs.list) {
                assertFalse(e.getFormattedMessage().contains(PASSWORD), e.getFormattedMessage());
            }
        } finally {
            logger.detachAppender(logs);
            logger.setLevel(before);
        }
    }

    @Test
    void aMissingPasswordFileFailsTheFenceBeforeTheAgentRuns() {
        Path a = agent("exit 0\n");
        Path missing = dir.resolve("no-such-secret");
        FenceDevice d = new FenceDevice(a.toString(), Map.of(), Duration.ofSeconds(20), Map.of(), true,
                Map.of("password", missing));
        Result r = new FenceAgentRunner(Map.of("node1", d)).fence("node1", Action.OFF);
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.detail().startsWith("node1: fence_stub off: not run: options.password: " + missing
                + ": does not exist"), r.detail());
        assertFalse(Files.exists(dir.resolve("calls")), "the agent never ran");
    }

    @Test
    void aNodeWithoutDeviceFails() {
        Result r = runner(agent("exit 0\n")).fence("node7", Action.OFF);
        assertEquals(new Result(Outcome.FAILED, "node7: no fence device configured (nodes with one: node1)"), r);
    }

    @Test
    void anAgentThatVanishedFails() throws Exception {
        Path a = agent("exit 0\n");
        FenceAgentRunner runner = runner(a);
        Files.delete(a);
        Result r = runner.fence("node1", Action.OFF);
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.detail().contains("cannot run " + a), r.detail());
    }

    private void write(String name, String text) {
        try {
            Files.writeString(dir.resolve(name), text);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
