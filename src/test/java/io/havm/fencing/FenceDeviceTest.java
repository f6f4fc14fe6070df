package io.havm.fencing;

import static io.havm.fencing.StubAgents.script;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.Fencer.Action;
import io.havm.model.InvalidInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fence device configuration: rejected at load with the field and what is allowed. */
class FenceDeviceTest {
    private static final Duration MIN = Duration.ofMinutes(1);

    @TempDir
    Path dir;

    private static InvalidInputException rejects(Runnable r) {
        return assertThrows(InvalidInputException.class, r::run);
    }

    @Test
    void bareNamesAreFoundInUsrSbin() {
        FenceDevice d = new FenceDevice("fence_dummy", Map.of(), MIN);
        assertEquals(Path.of("/usr/sbin/fence_dummy"), d.executable(), "Debian's fence-agents (ci/install-deps)");
        assertEquals("fence_dummy", d.agentName());
    }

    @Test
    void unknownAgentNamesTheSearchPath() {
        InvalidInputException e = rejects(() -> new FenceDevice("fence_nope", Map.of(), MIN));
        assertEquals("agent", e.where());
        assertEquals("agent: 'fence_nope' not found: no executable /usr/sbin/fence_nope (installed agents:"
                + " /usr/sbin/fence_*; Debian's fence-agents package, ci/install-deps)", e.getMessage());
        assertTrue(rejects(() -> new FenceDevice("ipmi", Map.of(), MIN)).getMessage()
                .contains("is neither a fence agent name (fence_<name>, found as /usr/sbin/fence_*) nor an absolute path"));
        assertTrue(rejects(() -> new FenceDevice("ci/fence_havm_lab", Map.of(), MIN)).getMessage()
                .contains("must be an absolute path"));
        assertTrue(rejects(() -> new FenceDevice(dir.resolve("missing").toString(), Map.of(), MIN)).getMessage()
                .contains("is not an executable file"));
        assertEquals("agent", rejects(() -> new FenceDevice(" ", Map.of(), MIN)).where());
    }

    @Test
    void aFileThatIsNotExecutableIsRejected() throws Exception {
        Path f = Files.writeString(dir.resolve("fence_x"), "#!/bin/sh\n");
        assertTrue(rejects(() -> new FenceDevice(f.toString(), Map.of(), MIN)).getMessage()
                .contains("'" + f + "' is not an executable file"));
    }

    @Test
    void optionsBecomeSafeStdinLines() {
        Path a = script(dir, "fence_a", "exit 0\n");
        assertEquals("options.ip addr", rejects(() -> new FenceDevice(a.toString(), Map.of("ip addr", "x"), MIN)).where());
        assertEquals("options.a=b", rejects(() -> new FenceDevice(a.toString(), Map.of("a=b", "x"), MIN)).where());
        InvalidInputException action = rejects(() -> new FenceDevice(a.toString(), Map.of("action", "off"), MIN));
        assertEquals("options.action", action.where());
        assertTrue(action.getMessage().contains("use 'actions'"), action.getMessage());
        assertEquals("options.option", rejects(() -> new FenceDevice(a.toString(), Map.of("option", "off"), MIN)).where());
        InvalidInputException nl = rejects(() -> new FenceDevice(a.toString(), Map.of("ip", "1.2.3.4\naction=reboot"), MIN));
        assertEquals("options.ip", nl.where());
        assertTrue(nl.getMessage().contains("must be one line"), nl.getMessage());
        InvalidInputException pw = rejects(() -> new FenceDevice(a.toString(), Map.of("password", "pw\nx"), MIN));
        assertFalse(pw.getMessage().contains("pw\\nx"), "a secret is not repeated in the error: " + pw.getMessage());
        Map<String, String> nullValue = new HashMap<>();
        nullValue.put("ip", null);
        assertEquals("options.ip", rejects(() -> new FenceDevice(a.toString(), nullValue, MIN)).where());
    }

    @Test
    void timeoutIsPositiveAndBounded() {
        Path a = script(dir, "fence_a", "exit 0\n");
        for (Duration bad : new Duration[] {Duration.ZERO, Duration.ofSeconds(-1), Duration.ofMinutes(11), null}) {
            InvalidInputException e = rejects(() -> new FenceDevice(a.toString(), Map.of(), bad));
            assertEquals("timeout", e.where());
            assertTrue(e.getMessage().contains("must be a positive duration of at most 10 min"), e.getMessage());
        }
    }

    @Test
    void actionsDefaultToTheirOwnNames() {
        Path a = script(dir, "fence_a", "exit 0\n");
        FenceDevice d = new FenceDevice(a.toString(), Map.of(), MIN);
        assertEquals("off", d.agentAction(Action.OFF));
        assertEquals("monitor", d.agentAction(Action.MONITOR));
        assertTrue(d.confirmOff());
        assertEquals("actions.off", rejects(() -> new FenceDevice(a.toString(), Map.of(), MIN,
                Map.of(Action.OFF, "Power Off"), true)).where());
    }

    @Test
    void fromConfigReadsTheYamlShape() {
        Path a = script(dir, "fence_a", "exit 0\n");
        Map<String, Object> raw = new LinkedHashMap<>();
        raw.put("agent", a.toString());
        raw.put("timeout", "90s");
        raw.put("options", Map.of("ip", "10.0.0.5", "ipport", 623, "lanplus", true, "password",
                Map.of("file", "/etc/havm/secrets/bmc2")));
        raw.put("actions", Map.of("off", "disable"));
        raw.put("confirm-off", false);
        FenceDevice d = FenceDevice.fromConfig("cluster.yaml: nodes.host2.fence", raw);
        assertEquals(Duration.ofSeconds(90), d.timeout());
        assertEquals(Map.of("ip", "10.0.0.5", "ipport", "623", "lanplus", "true"), d.options());
        assertEquals(Map.of("password", Path.of("/etc/havm/secrets/bmc2")), d.optionFiles());
        assertEquals("disable", d.agentAction(Action.OFF));
        assertFalse(d.confirmOff());
        assertEquals(FenceDevice.DEFAULT_TIMEOUT, FenceDevice.fromConfig("f", Map.of("agent", a.toString())).timeout());
        assertEquals("ip=10.0.0.5 ipport=623 lanplus=true password=<file /etc/havm/secrets/bmc2>", d.maskedOptions());
    }

    @Test
    void fromConfigErrorsNameWhereAndWhatIsAllowed() {
        Path a = script(dir, "fence_a", "exit 0\n");
        String w = "cluster.yaml: nodes.host2.fence";
        InvalidInputException unknownKey = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", a.toString(), "timout", "5s")));
        assertEquals(w + ".timout: unknown key (allowed: agent, options, timeout, actions, confirm-off)", unknownKey.getMessage());
        InvalidInputException badTimeout = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", a.toString(), "timeout", "soon")));
        assertEquals(w + ".timeout: 'soon' is not a duration (e.g. 60s, 500ms, 2m, or seconds)", badTimeout.getMessage());
        InvalidInputException badAction = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", a.toString(),
                "actions", Map.of("halt", "off"))));
        assertEquals(w + ".actions.halt: is not an havm action (allowed: off, on, reboot, status, monitor)", badAction.getMessage());
        InvalidInputException badConfirm = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", a.toString(),
                "confirm-off", "yes")));
        assertEquals(w + ".confirm-off", badConfirm.where());
        InvalidInputException nested = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", a.toString(),
                "options", Map.of("ip", List.of("a", "b")))));
        assertEquals(w + ".options.ip: must be a single value or {file: PATH}, not a list", nested.getMessage());
        InvalidInputException clear = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", a.toString(),
                "options", Map.of("passwd", "pw-in-clear"))));
        assertEquals(w + ".options.passwd: a secret in clear is refused: the configuration is stored in the cluster"
                + " and shown by 'config show'. Put the value alone on one line in a file readable by root only (chmod"
                + " 600, owner root) on every host, e.g. /etc/havm/secrets/passwd, and write 'passwd: {file:"
                + " /etc/havm/secrets/passwd}'", clear.getMessage());
        InvalidInputException relative = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", a.toString(),
                "options", Map.of("password", Map.of("file", "secrets/bmc")))));
        assertEquals(w + ".options.password: a mapping here names the file that holds the value:"
                + " {file: /etc/havm/secrets/NAME} (an absolute path)", relative.getMessage());
        InvalidInputException missing = rejects(() -> FenceDevice.fromConfig(w, Map.of("timeout", "5s")));
        assertEquals(w + ".agent", missing.where());
        InvalidInputException notFound = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", "fence_nope")));
        assertTrue(notFound.getMessage().startsWith(w + ".agent: 'fence_nope' not found"), notFound.getMessage());
        InvalidInputException tooLong = rejects(() -> FenceDevice.fromConfig(w, Map.of("agent", a.toString(), "timeout", "11m")));
        assertEquals(w + ".timeout", tooLong.where());
    }

    @Test
    void durations() {
        assertEquals(Duration.ofMillis(500), FenceDevice.parseDuration("t", "500ms"));
        assertEquals(Duration.ofMinutes(2), FenceDevice.parseDuration("t", "2m"));
        assertEquals(Duration.ofMillis(1500), FenceDevice.parseDuration("t", "1.5s"));
        assertEquals(Duration.ofSeconds(30), FenceDevice.parseDuration("t", 30));
    }

    @Test
    void secretNames() {
        // Every secret-looking parameter of Debian's fence-agents 4.12 (their metadata marks none as secret).
        for (String s : List.of("password", "passwd", "snmp_priv_passwd", "secret_key", "token", "api_key", "apikey",
                "community", "hexadecimal_kg", "Password")) {
            assertTrue(FenceDevice.isSecret(s), s);
        }
        for (String s : List.of("ip", "username", "login", "passwd_script", "password_script", "snmp_priv_passwd_script",
                "token_file", "identity_file", "plug", "key", "access_key")) {
            assertFalse(FenceDevice.isSecret(s), s);
        }
    }
}
