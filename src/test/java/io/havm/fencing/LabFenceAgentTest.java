package io.havm.fencing;

import static io.havm.fencing.StubAgents.script;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.port.Fencer.Action;
import io.havm.port.Fencer.Outcome;
import io.havm.port.Fencer.Result;
import io.havm.model.InvalidInputException;
import io.havm.util.Exec;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/**
 * ci/fence_havm_lab, the lab's fence agent, against a stub ci/lab (no real lab: the lead may be
 * running one, with the same fixed names). The agent is copied next to the stub as {@code ci/}, so
 * that finding ci/lab relative to its own path is what is tested; HAVM_LAB_SCRIPT has its own test.
 */
class LabFenceAgentTest {
    private static final Path REAL_AGENT = Path.of("ci/fence_havm_lab").toAbsolutePath();
    private static final Duration BUDGET = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    Path agent;

    /**
     * A stub of ci/lab: hosts and states in {@code labstate} ("host1 up" lines), every call appended
     * to {@code labcalls}; {@code stuck} makes power-off a no-op, {@code broken} fails status.
     */
    @BeforeEach
    void stubLab() throws Exception {
        agent = Files.copy(REAL_AGENT, Files.createDirectories(dir.resolve("ci")).resolve("fence_havm_lab"),
                StandardCopyOption.COPY_ATTRIBUTES);
        Path d = dir;
        script(dir, "ci/lab", """
                state=%1$s/labstate
                echo "$*" >> %1$s/labcalls
                case $1 in
                  status)
                    [[ -e %1$s/broken ]] && { echo 'lab: cannot read /var/lib/havm-lab' >&2; exit 1; }
                    printf '{"bridge":"havm0","subnet":"10.77.0.0/24","shared_dir":"/var/lib/havm-lab/shared","hosts":['
                    first=1
                    while read -r n s; do
                      ((first)) || printf ','; first=0
                      printf '{"name":"%%s","ip":"10.77.0.1%%s","uri":"qemu+tcp://10.77.0.1%%s/system","netns":"havm-%%s","state":"%%s","pids":{"libvirtd":null,"virtlogd":12,"virtlockd":null}}' \\
                        "$n" "${n#host}" "${n#host}" "$n" "$s"
                    done < "$state"
                    printf ']}\\n' ;;
                  power-state)
                    [[ -e %1$s/broken ]] && { echo 'lab: cannot read /var/lib/havm-lab' >&2; exit 1; }
                    grep -q "^$2 " "$state" || { echo "lab: unknown host '$2' (hosts: host1 host2)" >&2; exit 2; }
                    if grep -q "^$2 off$" "$state"; then echo off; else echo on; fi ;;
                  power-off)
                    grep -q "^$2 " "$state" || { echo "lab: unknown host '$2' (hosts: host1 host2)" >&2; exit 2; }
                    [[ -e %1$s/stuck ]] || sed -i "s/^$2 .*/$2 off/" "$state"
                    echo "lab: $2 powered off in 0.1s" >&2 ;;
                  up) sed -i 's/ off$/ up/' "$state"; echo "HOST STATE" ;;
                  *) echo "lab: unknown command '$1'" >&2; exit 2 ;;
                esac
                """.formatted(d));
        Files.writeString(dir.resolve("labstate"), "host1 up\nhost2 up\n");
    }

    private FenceAgentRunner runner(String plug) {
        return new FenceAgentRunner(Map.of("node2", new FenceDevice(agent.toString(), Map.of("plug", plug), BUDGET)));
    }

    private List<String> labCalls() throws Exception {
        return Files.readAllLines(dir.resolve("labcalls")).stream().filter(l -> !l.equals("status --json") && !l.startsWith("power-state ")).toList();
    }

    private String state() throws Exception {
        return Files.readString(dir.resolve("labstate"));
    }

    private Exec.Outcome run(Path exe, String stdin, Map<String, String> env, String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of(exe.toString()));
        cmd.addAll(List.of(args));
        return Exec.run(BUDGET, null, env, stdin, cmd);
    }

    @Test
    void offIsConfirmedOnPowersOnStatusReads() throws Exception {
        FenceAgentRunner runner = runner("host2");
        assertEquals(new Result(Outcome.ON, "node2: fence_havm_lab status: exit 0 (Status: ON)"),
                runner.fence("node2", Action.STATUS));
        Result off = runner.fence("node2", Action.OFF);
        assertEquals(Outcome.OFF, off.outcome(), off.detail());
        assertTrue(off.detail().startsWith("node2: fence_havm_lab off: exit 0 (Success: Powered OFF); fence_havm_lab"
                + " status: exit 2 (Status: OFF): off confirmed in "), off.detail());
        assertEquals("host1 up\nhost2 off\n", state());
        assertEquals(List.of("power-off host2"), labCalls());
        assertEquals(Outcome.OFF, runner.fence("node2", Action.STATUS).outcome());

        Result on = runner.fence("node2", Action.ON);
        assertEquals(new Result(Outcome.OK, "node2: fence_havm_lab on: exit 0 (Success: Powered ON)"), on);
        assertEquals("host1 up\nhost2 up\n", state());
        assertEquals(List.of("power-off host2", "up --hosts 2"), labCalls(), "up --hosts 2: creates no host");

        assertEquals(new Result(Outcome.OK, "node2: fence_havm_lab reboot: exit 0 (Success: Rebooted)"),
                runner.fence("node2", Action.REBOOT));
        assertEquals(List.of("power-off host2", "up --hosts 2", "power-off host2", "up --hosts 2"), labCalls());
        assertEquals(Outcome.OK, runner.fence("node2", Action.MONITOR).outcome());
    }

    @Test
    void aDrillsInjectedFailureFailsTheNextActionsThenPowerWorksAgain() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state/fence-fails"));
        Files.writeString(state.resolve("host2"), "2\n");
        Map<String, String> env = Map.of("HAVM_LAB_STATE", dir.resolve("state").toString());
        for (int left = 1; left >= 0; left--) {
            Exec.Outcome o = run(agent, "action=off\nplug=host2\n", env);
            assertEquals(1, o.code(), o.toString());
            assertTrue(o.err().contains("host2's fence device did not answer (a failure a drill injected; " + left
                    + " more to come)"), o.err());
            assertEquals("host1 up\nhost2 up\n", state(), "nothing powered off");
        }
        Exec.Outcome status = run(agent, "action=status\nplug=host2\n", env);
        assertEquals(0, status.code(), "status still answers: " + status);
        Exec.Outcome off = run(agent, "action=off\nplug=host2\n", env);
        assertEquals(0, off.code(), off.toString());
        assertEquals("host1 up\nhost2 off\n", state());
    }

    @Test
    void offOfAnOffHostAndOnOfAnOnHostChangeNothing() throws Exception {
        Files.writeString(dir.resolve("labstate"), "host1 up\nhost2 off\n");
        Result off = runner("host2").fence("node2", Action.OFF);
        assertEquals(Outcome.OFF, off.outcome());
        assertTrue(off.detail().contains("(Success: Already OFF)"), off.detail());
        assertEquals(new Result(Outcome.OK, "node2: fence_havm_lab on: exit 0 (Success: Already ON)"),
                runner("host1").fence("node2", Action.ON));
        assertEquals(List.of(), labCalls());
    }

    @Test
    void anIsolatedOrDegradedHostIsOn() throws Exception {
        Files.writeString(dir.resolve("labstate"), "host1 isolated\nhost2 degraded\n");
        assertEquals(Outcome.ON, runner("host1").fence("node2", Action.STATUS).outcome());
        assertEquals(Outcome.ON, runner("host2").fence("node2", Action.STATUS).outcome());
    }

    @Test
    void aPowerOffThatDidNotTakeIsAFailure() throws Exception {
        Files.writeString(dir.resolve("stuck"), "");
        Result r = runner("host2").fence("node2", Action.OFF);
        assertEquals(new Result(Outcome.FAILED, "node2: fence_havm_lab off: exit 1 (fence_havm_lab: host2 is still on"
                + " after power-off)"), r);
    }

    @Test
    void anUnknownHostOrABrokenLabFailsWithTheReason() throws Exception {
        assertEquals(new Result(Outcome.FAILED, "node2: fence_havm_lab status: exit 1 (lab: unknown host 'host9' (hosts:"
                + " host1 host2) | fence_havm_lab: '" + dir.resolve("ci/lab") + " power-state host9' failed (exit 2))"),
                runner("host9").fence("node2", Action.STATUS));
        assertEquals(Outcome.FAILED, runner("host9").fence("node2", Action.OFF).outcome());
        assertEquals(List.of(), labCalls(), "no power-off of a host the lab does not have");
        Files.writeString(dir.resolve("broken"), "");
        Result broken = runner("host2").fence("node2", Action.STATUS);
        assertEquals(Outcome.FAILED, broken.outcome());
        assertTrue(broken.detail().contains("lab: cannot read /var/lib/havm-lab"), broken.detail());
        assertTrue(broken.detail().contains("power-state host2' failed (exit 1)"), broken.detail());
    }

    @Test
    void stdinFollowsTheFenceAgentConventions() throws Exception {
        Exec.Outcome o = run(agent, "# a comment\n\n   action=status\nplug=\"host1\"\nsomething_unknown=1\n", null);
        assertEquals(0, o.code(), o.err());
        assertEquals("Status: ON\n", o.out());
        assertEquals(0, run(agent, "action=STATUS\nport=host1\n", null).code(), "old name port; action case-insensitive");
        assertEquals(0, run(agent, "action=status\nnodename=host1\n", null).code(), "nodename when no plug");
        assertEquals(0, run(agent, "action=status\nnodename=host9\nplug=host1\n", null).code(), "plug wins");
        assertEquals(0, run(agent, "action=off\naction=status\nplug=host1\n", null).code(), "the last one wins");
        assertEquals(List.of(), labCalls());

        Exec.Outcome unknown = run(agent, "action=explode\nplug=host1\n", null);
        assertEquals(1, unknown.code());
        assertEquals("fence_havm_lab: unknown action 'explode' (actions: on off reboot status monitor list metadata"
                + " validate-all)\n", unknown.err());
        Exec.Outcome noPlug = run(agent, "action=off\n", null);
        assertEquals(1, noPlug.code());
        assertEquals("fence_havm_lab: missing plug: which lab host to off (plug=host2)\n", noPlug.err());

        Exec.Outcome list = run(agent, "action=list\n", null);
        assertEquals(0, list.code(), list.err());
        assertEquals("host1,10.77.0.11\nhost2,10.77.0.12\n", list.out());
        assertEquals(0, run(agent, "action=validate-all\nplug=host1\n", null).code());
        assertEquals(1, run(agent, "action=validate-all\n", null).code());

        Exec.Outcome cli = run(agent, null, null, "-o", "status", "-n", "host2");
        assertEquals("Status: ON\n", cli.out(), "command-line mode, for a human at a shell");
    }

    @Test
    void labScriptFromTheEnvironment() throws Exception {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("HAVM_LAB_SCRIPT", dir.resolve("ci/lab").toString());
        Exec.Outcome o = run(REAL_AGENT, "action=status\nplug=host2\n", env);
        assertEquals(0, o.code(), o.err());
        assertEquals("Status: ON\n", o.out());
        assertEquals(List.of("power-state host2"), Files.readAllLines(dir.resolve("labcalls")),
                "the repository's agent asked the stub, not the real ci/lab");
    }

    @Test
    void metadataDescribesParametersAndActions() throws Exception {
        FenceDevice d = new FenceDevice(agent.toString(), Map.of("plug", "host2"), BUDGET);
        AgentMetadata md = FenceAgentRunner.metadata(d);
        assertEquals("fence_havm_lab", md.name());
        assertEquals(List.of("on", "off", "reboot", "status", "monitor", "list", "metadata", "validate-all"), md.actions());
        AgentMetadata.Parameter plug = md.parameter("plug").orElseThrow();
        assertTrue(plug.required());
        assertEquals("port", plug.obsoletes());
        assertTrue(md.parameter("port").orElseThrow().deprecated());
        FenceAgentRunner.validate("lab.host2", d);
        InvalidInputException e = org.junit.jupiter.api.Assertions.assertThrows(InvalidInputException.class,
                () -> FenceAgentRunner.validate("lab.host2", new FenceDevice(agent.toString(), Map.of(), BUDGET)));
        assertEquals("lab.host2.options: fence_havm_lab requires 'plug' (or its old name 'port')", e.getMessage());

        // The shape fence-agents' lib/metadata.rng asks for.
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        Document doc = f.newDocumentBuilder().parse(new InputSource(new StringReader(md.xml())));
        Element root = doc.getDocumentElement();
        assertTrue(root.hasAttribute("name") && root.hasAttribute("shortdesc"));
        assertEquals(1, root.getElementsByTagName("longdesc").getLength());
        assertEquals(1, root.getElementsByTagName("vendor-url").getLength());
        NodeList ps = root.getElementsByTagName("parameter");
        for (int i = 0; i < ps.getLength(); i++) {
            Element p = (Element) ps.item(i);
            assertTrue(p.getAttribute("unique").matches("[01]") && p.getAttribute("required").matches("[01]"));
            assertEquals(1, p.getElementsByTagName("getopt").getLength());
            assertTrue(((Element) p.getElementsByTagName("content").item(0)).getAttribute("type").matches("string|boolean|second|integer"));
            assertTrue(p.getElementsByTagName("shortdesc").getLength() >= 1);
        }
    }
}
