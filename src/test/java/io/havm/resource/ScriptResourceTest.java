package io.havm.resource;

import io.havm.util.HostProcesses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.InvalidInputException;
import io.havm.model.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Script resources with Debian's real OCF agents (resource-agents package) and plain scripts. */
class ScriptResourceTest {
    @TempDir
    Path dir;

    @Test
    void ocfDummyRunsUnchanged() {
        Path stateFile = dir.resolve("dummy.state");
        ScriptResource r = ScriptResource.ocf(HostProcesses.INSTANCE, "dummy1", "ocf:heartbeat:Dummy",
                Map.of("state", stateFile.toString()), Duration.ofSeconds(20));
        assertTrue(r.open().ok(), r.open().detail());
        Result before = r.looksAlive();
        assertInstanceOf(Result.NotRunning.class, before, "OCF_NOT_RUNNING: the one proof that it is stopped");
        assertTrue(before.detail().contains("OCF_NOT_RUNNING"), before.detail());
        assertTrue(r.online().ok());
        assertTrue(Files.exists(stateFile), "Dummy's start writes its state file");
        assertTrue(r.looksAlive().ok());
        assertTrue(r.isAlive().ok(), "deep monitor (OCF_CHECK_LEVEL=20)");
        assertTrue(r.offline().ok());
        assertFalse(Files.exists(stateFile));
        assertInstanceOf(Result.NotRunning.class, r.isAlive());
        assertTrue(r.terminate().ok(), "stop of a stopped resource is success in OCF");
        assertTrue(r.close().ok());
    }

    @Test
    void ocfCheckLevelAndParametersReachTheAgent() throws Exception {
        Path root = dir.resolve("ocf");
        Path agent = root.resolve("resource.d/havm/Probe");
        Files.createDirectories(agent.getParent());
        Files.writeString(agent, "#!/bin/sh\necho \"$1 level=${OCF_CHECK_LEVEL:-none} color=$OCF_RESKEY_color\" >> "
                + dir.resolve("calls") + "\n[ \"$1\" = monitor ] && [ \"$OCF_CHECK_LEVEL\" = 20 ] && exit 7\nexit 0\n");
        Files.setPosixFilePermissions(agent, PosixFilePermissions.fromString("rwxr-xr-x"));
        ScriptResource r = new ScriptResource(HostProcesses.INSTANCE, "p", agent, ScriptResource.Dialect.OCF, Map.of("color", "blue"),
                Duration.ofSeconds(10), Duration.ofSeconds(5), root);
        assertTrue(r.looksAlive().ok());
        assertInstanceOf(Result.NotRunning.class, r.isAlive());
        String calls = Files.readString(dir.resolve("calls"));
        assertTrue(calls.contains("monitor level=0 color=blue"), calls);
        assertTrue(calls.contains("monitor level=20 color=blue"), calls);
    }

    @Test
    void genericScriptExitCodesAndTimeout() throws Exception {
        Path s = dir.resolve("svc");
        Files.writeString(s, "#!/bin/sh\ncase \"$1\" in online) exit 0;; looks-alive) exit 1;; offline) sleep 30;; "
                + "*) exit 0;; esac\n");
        Files.setPosixFilePermissions(s, PosixFilePermissions.fromString("rwxr-xr-x"));
        ScriptResource r = new ScriptResource(HostProcesses.INSTANCE, "svc", s, ScriptResource.Dialect.GENERIC, Map.of(),
                Duration.ofSeconds(1), Duration.ofSeconds(1), ScriptResource.DEFAULT_OCF_ROOT);
        assertTrue(r.online().ok());
        Result la = r.looksAlive();
        assertInstanceOf(Result.NotRunning.class, la, "generic: a monitor's non-zero exit says not alive");
        assertTrue(la.detail().contains("exit 1"));
        Result off = r.offline();
        assertInstanceOf(Result.Timeout.class, off, off.detail());
        assertEquals(Duration.ofSeconds(1), ((Result.Timeout) off).budget());
    }

    @Test
    void anOcfMonitorThatErrsDoesNotProveTheResourceStopped() throws Exception {
        Path root = dir.resolve("ocf2");
        Path agent = root.resolve("resource.d/havm/Broken");
        Files.createDirectories(agent.getParent());
        Files.writeString(agent, "#!/bin/sh\n[ \"$1\" = monitor ] && exit 1\nexit 0\n");
        Files.setPosixFilePermissions(agent, PosixFilePermissions.fromString("rwxr-xr-x"));
        ScriptResource r = new ScriptResource(HostProcesses.INSTANCE, "b", agent, ScriptResource.Dialect.OCF, Map.of(),
                Duration.ofSeconds(10), Duration.ofSeconds(5), root);
        Result m = r.looksAlive();
        assertInstanceOf(Result.Failed.class, m, "OCF_ERR_GENERIC: state unknown, not 'stopped'");
        assertTrue(m.detail().contains("OCF_ERR_GENERIC"), m.detail());
    }

    @Test
    void badAgentNamesAreRefusedPrecisely() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> ScriptResource.ocf(HostProcesses.INSTANCE, "x", "heartbeat:Dummy", Map.of(), Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("ocf:<provider>:<type>"), e.getMessage());
        e = assertThrows(InvalidInputException.class,
                () -> ScriptResource.ocf(HostProcesses.INSTANCE, "x", "ocf:heartbeat:NoSuchAgent", Map.of(), Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("/usr/lib/ocf/resource.d/heartbeat/NoSuchAgent not found"), e.getMessage());
    }
}
