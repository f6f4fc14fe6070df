package io.havm.fencing;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.Fencer.Action;
import io.havm.port.Fencer.Outcome;
import io.havm.port.Fencer.Result;
import io.havm.model.InvalidInputException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's real fence agents (package fence-agents, ci/install-deps) run unchanged through
 * FenceAgentRunner, without hardware: fence_dummy against a status file, fence_redfish against a fake
 * Redfish BMC on 127.0.0.1 (HTTPS, basic auth), fence_redfish and fence_virsh against a closed port
 * and a port that never answers. Proves the stdin protocol, the exit codes, the confirmation of off
 * and the timeouts against the library every one of these agents is built on (fencing.py).
 */
class RealFenceAgentsTest {
    private static final Duration BUDGET = Duration.ofSeconds(60);

    @TempDir
    static Path keys;
    static Path keyStore;

    @TempDir
    Path dir;

    @BeforeAll
    static void makeKeyStore() {
        keyStore = FakeRedfishBmc.makeKeyStore(keys);
    }

    private static FenceAgentRunner runner(FenceDevice d) {
        return new FenceAgentRunner(Map.of("node1", d));
    }

    private static Map<String, String> redfish(int port, String password) {
        return Map.of("ip", "127.0.0.1", "ipport", Integer.toString(port), "username", FakeRedfishBmc.USER,
                "password", password, "ssl_insecure", "1");
    }

    @Test
    void fenceDummyThroughAWholeCycle() throws Exception {
        Path power = Files.writeString(dir.resolve("power"), "on");
        FenceAgentRunner runner = runner(new FenceDevice("fence_dummy", Map.of("status_file", power.toString()), BUDGET));

        assertEquals(new Result(Outcome.ON, "node1: fence_dummy status: exit 0 (Status: ON)"),
                runner.fence("node1", Action.STATUS));
        Result off = runner.fence("node1", Action.OFF);
        assertEquals(Outcome.OFF, off.outcome(), off.detail());
        assertTrue(off.detail().startsWith("node1: fence_dummy off: exit 0 (Success: Powered OFF); "
                + "fence_dummy status: exit 2 (Status: OFF): off confirmed in "), off.detail());
        assertEquals("off", Files.readString(power));
        assertEquals(new Result(Outcome.OFF, "node1: fence_dummy status: exit 2 (Status: OFF)"),
                runner.fence("node1", Action.STATUS));
        Result again = runner.fence("node1", Action.OFF);
        assertEquals(Outcome.OFF, again.outcome(), "off of an off node: " + again.detail());
        assertTrue(again.detail().contains("(Success: Already OFF)"), again.detail());

        assertEquals(new Result(Outcome.OK, "node1: fence_dummy on: exit 0 (Success: Powered ON)"),
                runner.fence("node1", Action.ON));
        assertEquals("on", Files.readString(power));
        assertEquals(new Result(Outcome.OK, "node1: fence_dummy reboot: exit 0 (Success: Rebooted)"),
                runner.fence("node1", Action.REBOOT));
        assertEquals(Outcome.OK, runner.fence("node1", Action.MONITOR).outcome());
    }

    @Test
    void fenceDummyCannotTellAnUnreadableStateAndSaysSo() throws Exception {
        Path power = Files.writeString(dir.resolve("power"), "flickering");
        Result r = runner(new FenceDevice("fence_dummy", Map.of("status_file", power.toString()), BUDGET))
                .fence("node1", Action.OFF);
        assertEquals(Outcome.FAILED, r.outcome());
        assertEquals("node1: fence_dummy off: exit 1 (ERROR: Failed: Unable to obtain correct plug status or plug is"
                + " not available)", r.detail());
    }

    @Test
    void metadataOfRealAgentsIsTheirXml() {
        for (String agent : List.of("fence_dummy", "fence_redfish", "fence_ipmilan", "fence_virsh")) {
            AgentMetadata md = FenceAgentRunner.metadata(new FenceDevice(agent, Map.of(), BUDGET));
            assertEquals(agent, md.name());
            assertTrue(md.xml().startsWith("<?xml"), md.xml());
            assertTrue(md.actions().containsAll(List.of("on", "off", "reboot", "status", "monitor", "metadata")),
                    agent + ": " + md.actions());
            assertTrue(md.parameter("action").orElseThrow().required(), agent);
        }
        AgentMetadata redfish = FenceAgentRunner.metadata(new FenceDevice("fence_redfish", Map.of(), BUDGET));
        AgentMetadata.Parameter password = redfish.parameter("password").orElseThrow();
        assertEquals("passwd", password.obsoletes());
        assertTrue(redfish.parameter("passwd").orElseThrow().deprecated());
        assertTrue(redfish.parameter("username").orElseThrow().required());
        assertTrue(redfish.parameter("power-timeout").isPresent(), "'-' and '_' alike, as fencing.py reads stdin");
    }

    @Test
    void validateChecksOptionsAgainstTheAgentsOwnParameters() {
        String w = "cluster.yaml: nodes.node1.fence";
        Map<String, String> good = new HashMap<>(redfish(443, "pw"));
        good.put("power-timeout", "20");
        FenceAgentRunner.validate(w, new FenceDevice("fence_redfish", good, BUDGET));

        Map<String, String> typo = new HashMap<>(redfish(443, "pw"));
        typo.put("pasword", typo.remove("password"));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> FenceAgentRunner.validate(w, new FenceDevice("fence_redfish", typo, BUDGET)));
        assertEquals(w + ".options.pasword", e.where());
        assertTrue(e.getMessage().contains("fence_redfish has no parameter 'pasword' (its parameters: ip, ipport,"),
                e.getMessage());
        assertTrue(e.getMessage().contains(" password, "), e.getMessage());

        Map<String, String> noUser = new HashMap<>(redfish(443, "pw"));
        noUser.remove("username");
        e = assertThrows(InvalidInputException.class,
                () -> FenceAgentRunner.validate(w, new FenceDevice("fence_redfish", noUser, BUDGET)));
        assertEquals(w + ".options: fence_redfish requires 'username' (or its old name 'login')", e.getMessage());
        noUser.put("login", "admin");
        FenceAgentRunner.validate(w, new FenceDevice("fence_redfish", noUser, BUDGET));

        e = assertThrows(InvalidInputException.class, () -> FenceAgentRunner.validate(w, new FenceDevice("fence_dummy",
                Map.of(), BUDGET, Map.of(Action.OFF, "disable"), true)));
        assertEquals(w + ".actions.off: fence_dummy has no action 'disable' (its actions: on, off, reboot, status,"
                + " monitor, metadata, manpage, validate-all)", e.getMessage());
    }

    @Test
    void redfishOffIsConfirmedAgainstAFakeBmc() throws Exception {
        try (FakeRedfishBmc bmc = new FakeRedfishBmc(keyStore)) {
            FenceAgentRunner runner = runner(new FenceDevice("fence_redfish", redfish(bmc.port(), FakeRedfishBmc.PASSWORD),
                    BUDGET));
            assertEquals(new Result(Outcome.ON, "node1: fence_redfish status: exit 0 (Status: ON)"),
                    runner.fence("node1", Action.STATUS));
            Result off = runner.fence("node1", Action.OFF);
            assertEquals(Outcome.OFF, off.outcome(), off.detail());
            assertTrue(off.detail().contains("fence_redfish status: exit 2 (Status: OFF): off confirmed"), off.detail());
            assertEquals(List.of("{\"ResetType\": \"ForceOff\"}"), bmc.resets);
            assertEquals("Off", bmc.powerState);
            assertEquals(Outcome.OFF, runner.fence("node1", Action.STATUS).outcome());
            Result on = runner.fence("node1", Action.ON);
            assertEquals(Outcome.OK, on.outcome(), on.detail());
            assertEquals("On", bmc.powerState);
        }
    }

    /** fence_redfish's options with the password in a secret file, as a configuration gives it. */
    private FenceDevice redfishWithPasswordFile(int port, String password, String mode) throws Exception {
        Path pw = Files.writeString(dir.resolve("bmc1-password"), password + "\n");
        Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
        Map<String, String> opts = new HashMap<>(redfish(port, "unused"));
        opts.remove("password");
        return new FenceDevice("fence_redfish", opts, BUDGET, Map.of(), true, Map.of("password", pw));
    }

    @Test
    void redfishGetsItsPasswordFromARootOnlyFileAtEachFence() throws Exception {
        try (FakeRedfishBmc bmc = new FakeRedfishBmc(keyStore)) {
            FenceDevice d = redfishWithPasswordFile(bmc.port(), FakeRedfishBmc.PASSWORD, "rw-------");
            FenceAgentRunner.validate("cluster.yaml: nodes.node1.fence", d); // password is a parameter of it
            FenceAgentRunner runner = runner(d);
            Result off = runner.fence("node1", Action.OFF);
            assertEquals(Outcome.OFF, off.outcome(), "the fake BMC checks basic auth: " + off.detail());
            assertEquals("Off", bmc.powerState);
            assertFalse(d.toString().contains(FakeRedfishBmc.PASSWORD), d.toString());

            // Read at each call, not at start: a changed password takes effect at the next fence.
            Files.writeString(d.optionFiles().get("password"), "changed-Pa55word\n");
            Result refused = runner.fence("node1", Action.STATUS);
            assertEquals(Outcome.FAILED, refused.outcome(), refused.detail());
            assertFalse(refused.detail().contains("changed-Pa55word"), refused.detail());
        }
    }

    @Test
    void aPasswordFileOthersCanReadIsRefusedByValidateAndAtFenceTime() throws Exception {
        try (FakeRedfishBmc bmc = new FakeRedfishBmc(keyStore)) {
            FenceDevice d = redfishWithPasswordFile(bmc.port(), FakeRedfishBmc.PASSWORD, "rw-r--r--");
            Path pw = d.optionFiles().get("password");
            String w = "cluster.yaml: nodes.node1.fence";
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> FenceAgentRunner.validate(w, d));
            assertEquals(w + ".options.password", e.where());
            assertTrue(e.getMessage().contains(pw + ": mode 0644 (rw-r--r--), owner root (uid 0): readable by group or"
                    + " others; a secret file must be for its owner only: chmod 600 " + pw), e.getMessage());
            Result r = runner(d).fence("node1", Action.OFF);
            assertEquals(Outcome.FAILED, r.outcome());
            assertTrue(r.detail().startsWith("node1: fence_redfish off: not run: options.password: " + pw
                    + ": mode 0644"), r.detail());
            assertFalse(r.detail().contains(FakeRedfishBmc.PASSWORD), r.detail());
            assertEquals("On", bmc.powerState, "nothing ran");
            assertEquals(List.of(), bmc.resets);
        }
    }

    @Test
    void redfishWithAWrongPasswordFailsWithoutShowingIt() throws Exception {
        String wrong = "wrong-Pa55word";
        try (FakeRedfishBmc bmc = new FakeRedfishBmc(keyStore)) {
            Map<String, String> opts = new HashMap<>(redfish(bmc.port(), wrong));
            opts.put("systems_uri", "/redfish/v1/Systems/1");
            opts.put("verbose", "1");
            Result r = runner(new FenceDevice("fence_redfish", opts, BUDGET)).fence("node1", Action.OFF);
            assertEquals(Outcome.FAILED, r.outcome(), r.detail());
            assertTrue(r.detail().contains("Unable to get PowerState"), r.detail());
            assertFalse(r.detail().contains(wrong), r.detail());
            assertEquals(List.of(), bmc.resets, "never got as far as a reset");
        }
    }

    @Test
    void redfishBmcThatIgnoresForceOffIsNotFenced() throws Exception {
        try (FakeRedfishBmc bmc = new FakeRedfishBmc(keyStore)) {
            bmc.ignoreReset = true;
            Map<String, String> opts = new HashMap<>(redfish(bmc.port(), FakeRedfishBmc.PASSWORD));
            opts.put("power_timeout", "2"); // fencing.py polls status after off for this long
            Result r = runner(new FenceDevice("fence_redfish", opts, BUDGET)).fence("node1", Action.OFF);
            assertEquals(Outcome.FAILED, r.outcome(), r.detail());
            assertEquals("node1: fence_redfish off: exit 1 (ERROR: Failed: Timed out waiting to power OFF)", r.detail());
            assertEquals(List.of("{\"ResetType\": \"ForceOff\"}"), bmc.resets);
        }
    }

    @Test
    void aDeviceThatNeverAnswersTimesOutAndTheAgentIsKilled() throws Exception {
        // Bound and listening, never accepting: the kernel completes the TCP handshake, the TLS
        // handshake then waits forever (fence_redfish sets no timeout of its own).
        try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            FenceDevice d = new FenceDevice("fence_redfish", redfish(silent.getLocalPort(), "pw"), Duration.ofSeconds(3));
            Result r = runner(d).fence("node1", Action.OFF);
            assertEquals(Outcome.FAILED, r.outcome(), r.detail());
            assertTrue(r.detail().startsWith("node1: fence_redfish off: timed out after 3"), r.detail());
            assertTrue(r.detail().contains("(budget 3 s for the whole fence call); the agent and its child processes"
                    + " were killed"), r.detail());
            await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.current().descendants()
                    .noneMatch(p -> p.info().commandLine().orElse("").contains("fence_redfish")));
        }
    }

    @Test
    void aClosedPortFailsFastWithTheAgentsReason() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        Result redfish = runner(new FenceDevice("fence_redfish", redfish(closed, "pw"), BUDGET)).fence("node1", Action.MONITOR);
        assertEquals(Outcome.FAILED, redfish.outcome());
        assertTrue(redfish.detail().startsWith("node1: fence_redfish monitor: exit 1 (ERROR: Failed: send_get_request:"),
                redfish.detail());
        assertTrue(redfish.detail().contains("Connection refused"), redfish.detail());

        Result virsh = runner(new FenceDevice("fence_virsh", Map.of("ip", "127.0.0.1", "ipport", Integer.toString(closed),
                "username", "root", "password", "pw", "plug", "vm1"), BUDGET)).fence("node1", Action.STATUS);
        assertEquals(new Result(Outcome.FAILED, "node1: fence_virsh status: exit 1 (ERROR: Unable to connect/login to"
                + " fencing device)"), virsh);
    }
}
