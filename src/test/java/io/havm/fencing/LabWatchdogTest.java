package io.havm.fencing;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.Watchdog;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ci/lab-watchdog, the lab's watchdog daemon, driven through {@link Watchdogs} as an agent drives
 * it. No lab needed: the daemon's command is {@code touch MARKER} on a FIFO in a temp directory.
 */
class LabWatchdogTest {
    private static final Path DAEMON = Path.of(System.getProperty("user.dir"), "ci/lab-watchdog");
    private static final Duration TIMEOUT = Duration.ofMillis(600);
    /** How late a fired watchdog may be: it runs a bash 'touch'. */
    private static final Duration SLACK = Duration.ofSeconds(1);

    @TempDir
    Path dir;
    Path fifo;
    Path marker;
    Path daemonLog;
    final List<Process> started = new ArrayList<>();

    @AfterEach
    void killEverythingStarted() throws InterruptedException {
        for (Process p : started) {
            p.destroy();   // SIGTERM: the daemon ends quietly
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    private Process start(List<String> cmd, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        if (log != null) {
            pb.redirectErrorStream(true).redirectOutput(log.toFile());
        }
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** Starts the daemon on a fresh FIFO and waits until it has created it. */
    private Process daemon() throws IOException {
        fifo = dir.resolve("wd");
        marker = dir.resolve("fired");
        daemonLog = dir.resolve("wd.log");
        Process d = start(List.of(DAEMON.toString(), fifo.toString(), "--", "touch", marker.toString()), daemonLog);
        await("the daemon creates its FIFO").atMost(Duration.ofSeconds(5)).until(() -> Files.exists(fifo) || !d.isAlive());
        assertTrue(d.isAlive(), () -> "ci/lab-watchdog exited: " + log());
        return d;
    }

    private String log() {
        try {
            return Files.exists(daemonLog) ? Files.readString(daemonLog) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    void pettedItWaitsSilenceFiresOnceAndExits() throws Exception {
        Process d = daemon();
        Watchdog wd = Watchdogs.open(fifo.toString());
        wd.arm(TIMEOUT);
        ScheduledExecutorService petter = Executors.newSingleThreadScheduledExecutor();
        try {
            petter.scheduleAtFixedRate(() -> {
                try {
                    wd.pet();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }, 200, 200, TimeUnit.MILLISECONDS);
            // (a) petted every 200 ms for 2 s: it never fires and keeps running
            await("petted watchdog stays quiet").during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3))
                    .until(() -> !Files.exists(marker) && d.isAlive());
        } finally {
            petter.shutdownNow();
            assertTrue(petter.awaitTermination(5, TimeUnit.SECONDS));
        }
        // (b) the pets stop: it fires within the timeout (plus slack), not long before, and exits 0
        await("watchdog fires").atLeast(Duration.ofMillis(300)).atMost(TIMEOUT.plus(SLACK))
                .pollInterval(Duration.ofMillis(20)).until(() -> Files.exists(marker));
        assertTrue(d.waitFor(5, TimeUnit.SECONDS), "the daemon exits after firing");
        assertEquals(0, d.exitValue());
        assertEquals("lab-watchdog: " + fifo + ": no pet for 600 ms: running touch " + marker + "\n", log());
        // An agent learns that nobody watches any more: its next pet fails, naming the FIFO.
        IOException e = assertThrows(IOException.class, wd::pet);
        assertTrue(e.getMessage().startsWith(fifo + ": cannot pet: its ci/lab-watchdog daemon is gone"), e.getMessage());
    }

    @Test
    void magicCloseDisarmsAndItCanBeArmedAgain() throws Exception {
        Process d = daemon();
        Duration shortTimeout = Duration.ofMillis(300);
        Watchdog wd = Watchdogs.open(fifo.toString());
        wd.arm(shortTimeout);
        wd.pet();
        wd.disarm();
        wd.disarm();   // a second magic close is a no-op
        // (c) disarmed: nothing fires for twice the timeout (and more), and the daemon waits on
        await("disarmed watchdog stays quiet").during(shortTimeout.multipliedBy(4)).atMost(Duration.ofSeconds(3))
                .until(() -> !Files.exists(marker) && d.isAlive());
        // ... still able to serve the next agent incarnation: armed again, then left alone, it fires
        Watchdog again = Watchdogs.open(fifo.toString());
        again.arm(shortTimeout);
        await("re-armed watchdog fires").atMost(shortTimeout.plus(SLACK)).until(() -> Files.exists(marker));
        assertTrue(d.waitFor(5, TimeUnit.SECONDS));
    }

    @Test
    void anAgentThatCrashesWithoutMagicCloseIsPoweredOff() throws Exception {
        Process d = daemon();
        // (d) a real crash: another JVM arms and pets through Watchdogs, then is SIGKILLed (its fd
        // closes without 'V')
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process agent = start(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                CrashingAgent.class.getName(), fifo.toString(), Long.toString(TIMEOUT.toMillis())), null);
        try (BufferedReader out = new BufferedReader(new InputStreamReader(agent.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("armed", out.readLine(), () -> "the agent JVM did not arm: " + stderr(agent));
        }
        agent.destroyForcibly();
        assertTrue(agent.waitFor(5, TimeUnit.SECONDS));
        await("crashed agent's watchdog fires").atMost(TIMEOUT.plus(SLACK)).until(() -> Files.exists(marker));
        assertTrue(d.waitFor(5, TimeUnit.SECONDS));
        assertEquals(0, d.exitValue());
    }

    private static String stderr(Process p) {
        try {
            return new String(p.getErrorStream().readNBytes(4000), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** The agent of the crash test: arms, pets, says "armed", then waits to be killed. */
    public static final class CrashingAgent {
        public static void main(String[] args) throws Exception {
            Watchdog wd = Watchdogs.open(args[0]);
            wd.arm(Duration.ofMillis(Long.parseLong(args[1])));
            wd.pet();
            System.out.println("armed");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    @Test
    void aFifoNobodyReadsFailsAtArmNotLater() throws Exception {
        Path f = dir.resolve("orphan");
        new ProcessBuilder("mkfifo", f.toString()).start().waitFor();
        Watchdog wd = Watchdogs.open(f.toString());
        IOException e = assertThrows(IOException.class, () -> wd.arm(TIMEOUT));
        assertEquals(f + ": cannot open the lab watchdog FIFO: no ci/lab-watchdog daemon reads it (ci/lab up starts one per host)",
                e.getMessage());
        IOException p = assertThrows(IOException.class, wd::pet);
        assertEquals(f + ": cannot pet: not armed", p.getMessage());
        wd.disarm();   // never armed: nothing to do
    }

    @Test
    void aRegularFileOrDirectoryOrNothingIsNoWatchdog() throws Exception {
        Path file = Files.writeString(dir.resolve("plain"), "x");
        IOException e = assertThrows(IOException.class, () -> Watchdogs.open(file.toString()));
        assertEquals(file + " is neither a watchdog device nor a lab watchdog FIFO", e.getMessage());
        IOException d = assertThrows(IOException.class, () -> Watchdogs.open(dir.toString()));
        assertEquals(dir + " is neither a watchdog device nor a lab watchdog FIFO", d.getMessage());
        Path none = dir.resolve("none");
        IOException n = assertThrows(IOException.class, () -> Watchdogs.open(none.toString()));
        assertEquals(none + " is neither a watchdog device nor a lab watchdog FIFO (it does not exist)", n.getMessage());
        assertFalse(Files.exists(none));
    }

    @Test
    void aCharacterDeviceGetsTheDeviceDriver() throws Exception {
        // /dev/null is a character device; nothing is opened until arm, so this only checks the choice
        assertEquals("watchdog device /dev/null", Watchdogs.open("/dev/null").describe());
    }
}
