package io.havm.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The group state machine: declared once, documented from the code, enforced on every change. */
class TransitionsTest {

    @Test
    void theReadmeCarriesTheTableTheCodeEnforces() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        assertTrue(readme.contains("### The group state machine"), "README.md has lost its state-machine section");
        assertTrue(readme.contains(Transitions.markdown()), "README.md's table differs from Transitions.markdown():"
                + " paste this under \"The group state machine\":\n" + Transitions.markdown());
    }

    @Test
    void illegalTransitionsFailUnderTests() {
        assertTrue(Transitions.STRICT, "surefire runs with assertions enabled: illegal transitions must throw");
        StepContext c = context();
        ClusterState.Group web = c.groups.get("web");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> c.set(web.to(GroupPhase.ONLINE, "host1"), GroupEvent.FENCE_CONFIRMED, "test"));
        assertEquals("- group web: illegal transition pending --FENCE_CONFIRMED--> online refused (test)",
                e.getMessage());
    }

    @Test
    void inProductionAnIllegalTransitionIsLoggedAndRefused() {
        StepContext c = context();
        c.strict = false;
        ClusterState.Group web = c.groups.get("web");
        c.await(web.to(GroupPhase.STARTING, "host1"), GroupEvent.MOVE_DONE, "test",
                a -> new Command.Online("web", "host1", a));
        assertEquals(web, c.groups.get("web"), "the group stays as it was");
        assertEquals(List.of(), c.commands, "and nothing is sent for the refused phase");
        assertEquals(List.of("- group web: illegal transition pending --MOVE_DONE--> starting refused (test)"), c.log);
        // The legal one goes through.
        assertTrue(c.set(web.to(GroupPhase.STARTING, "host1"), GroupEvent.PLACED, "placed"));
    }

    @Test
    void everyEventIsUsedAndTheWorkOfEachPhaseIsNamed() {
        for (GroupEvent e : GroupEvent.values()) {
            assertTrue(Transitions.markdown().contains("| " + e + " | "), e + " has no transition");
        }
        assertFalse(Transitions.allowed(GroupPhase.OFFLINE, GroupEvent.PLACED, GroupPhase.STARTING),
                "only pending groups are placed");
        ClusterState.Group g = ClusterState.Group.offline("web", true);
        assertEquals(new ClusterState.Moving("host1", "host2", io.havm.model.MoveMode.LIVE),
                g.moving("host1", "host2", io.havm.model.MoveMode.LIVE).work());
        assertEquals(new ClusterState.Failing("host1", "host2"), g.failing("host1", "host2").work());
        assertEquals(new ClusterState.AwaitingFence("host1", null), g.awaitingFence("host1", null).work());
        assertEquals(new ClusterState.Nowhere(), g.work());
    }

    private static StepContext context() {
        Coordinator coordinator = new Coordinator(CoordinatorTest.spec(2, true, CoordinatorTest.WEB_ON_HOST2));
        ClusterState s = coordinator.apply(coordinator.initial(), new Input.NodeUp("host1", Set.of()),
                CoordinatorTest.T0).state();
        return new StepContext(coordinator, s, CoordinatorTest.T0);
    }
}
