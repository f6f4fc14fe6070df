package io.havm.resource;

import io.havm.storage.HostStorage;
import io.havm.port.VmProperties;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.engine.FakeHypervisor;
import io.havm.engine.ManualClock;
import io.havm.port.HypervisorException;
import io.havm.model.AgentFailureAction;
import io.havm.model.OfflineAction;
import io.havm.model.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Entry-point semantics of the VM resource, on a fake hypervisor (the real lab is in VmResourceIT). */
class VmResourceTest {
    @TempDir
    Path state;
    FakeHypervisor hv;
    VmProperties props;

    @BeforeEach
    void setUp() {
        hv = new FakeHypervisor("host1");
        props = VmProperties.defaults("web", "<domain><name>web</name></domain>", state);
    }

    private VmResource vm(VmProperties p) {
        return new VmResource(p, hv, new ManualClock(), HostStorage.INSTANCE);
    }

    @Test
    void onlineDefinesAndStartsWhenTheDomainIsUnknownHere() {
        Result r = vm(props).online();
        assertInstanceOf(Result.Ok.class, r, r.detail());
        assertTrue(hv.calls.contains("define"));
        assertTrue(hv.domains.get("web").active());
    }

    @Test
    void onlineWhereAlreadyRunningIsItsOwnOutcomeAndTheFollowingTerminateSaves() {
        hv.put("web", true);
        VmResource r = vm(props);
        assertInstanceOf(Result.AlreadyRunning.class, r.online());
        assertFalse(hv.calls.stream().anyMatch(c -> c.startsWith("start")), "must not start twice");
        assertTrue(r.terminate().ok());
        assertTrue(hv.calls.contains("save web"), "seed behaviour: Terminate after AlreadyRunning saves");
        assertFalse(hv.calls.contains("destroy web"));
        assertTrue(Files.exists(props.stateFile()));
    }

    @Test
    void onlineRestoresSavedStateAndDeletesTheFileSoItIsNeverRestoredTwice() throws Exception {
        hv.put("web", false);
        Files.writeString(props.stateFile(), "web");
        Result r = vm(props).online();
        assertTrue(r.ok(), r.detail());
        assertTrue(r.detail().contains("restored"));
        assertFalse(Files.exists(props.stateFile()));
    }

    @Test
    void leaseRefusedIsWrongNodeAndUnreachableIsRetryLater() {
        hv.failStartWith = HypervisorException.Kind.LEASE_REFUSED;
        assertInstanceOf(Result.WrongNode.class, vm(props).online());
        assertFalse(hv.domains.containsKey("web"), "the refused Online undefined what it defined");
        hv.put("web", false);
        assertInstanceOf(Result.WrongNode.class, vm(props).online());
        assertTrue(hv.domains.containsKey("web"), "a definition that was there before stays");
        hv.unreachable = true;
        assertInstanceOf(Result.RetryLater.class, vm(props).online());
        assertInstanceOf(Result.RetryLater.class, vm(props).looksAlive());
    }

    @Test
    void looksAliveFailsWhenTheDomainIsOffOrGone() {
        assertInstanceOf(Result.Failed.class, vm(props).looksAlive());
        hv.put("web", false);
        assertInstanceOf(Result.Failed.class, vm(props).looksAlive());
        hv.put("web", true);
        assertTrue(vm(props).looksAlive().ok());
    }

    @Test
    void isAliveArmsTheHeartbeatOnlyOnceTheGuestHasAnswered() {
        hv.put("web", true);
        VmResource r = vm(props);
        hv.agentAnswers = false;
        assertTrue(r.isAlive().ok(), "a guest that never answered is not declared dead");
        hv.agentAnswers = true;
        assertTrue(r.isAlive().ok());
        hv.agentAnswers = false;
        assertInstanceOf(Result.Failed.class, r.isAlive());
    }

    @Test
    void terminateAfterAgentFailureSavesOnlyWhenConfigured() {
        hv.put("web", true);
        VmResource turnOff = vm(props);
        turnOff.isAlive();
        hv.agentAnswers = false;
        turnOff.isAlive();
        turnOff.terminate();
        assertTrue(hv.calls.contains("destroy web"));

        hv.put("web", true);
        hv.agentAnswers = true;
        VmResource save = vm(props.withAgentFailureAction(AgentFailureAction.SAVE));
        save.isAlive();
        hv.agentAnswers = false;
        save.isAlive();
        save.terminate();
        assertTrue(hv.calls.contains("save web"));
    }

    @Test
    void offlineActions() {
        hv.put("web", true);
        assertTrue(vm(props.withOfflineAction(OfflineAction.SAVE)).offline().ok());
        assertEquals("saved", hv.domains.get("web").reason());

        hv.put("web", true);
        assertTrue(vm(props.withOfflineAction(OfflineAction.SHUTDOWN)).offline().ok());
        assertTrue(hv.calls.contains("shutdown web"));

        hv.put("web", true);
        hv.shutdownHangs = true;
        assertInstanceOf(Result.Timeout.class, vm(props.withOfflineAction(OfflineAction.SHUTDOWN)).offline(),
                "plain shutdown reports the timeout and leaves the VM to the engine");
        assertTrue(hv.domains.get("web").active());
        Result forced = vm(props.withOfflineAction(OfflineAction.FORCED_SHUTDOWN)).offline();
        assertTrue(forced.ok(), forced.detail());
        assertEquals("destroyed", hv.domains.get("web").reason());

        hv.put("web", true);
        assertTrue(vm(props.withOfflineAction(OfflineAction.TURN_OFF)).offline().ok());
        assertEquals("destroyed", hv.domains.get("web").reason());
    }
}
