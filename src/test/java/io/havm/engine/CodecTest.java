package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Input;
import io.havm.sim.FaultRunner;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Everything the engine stores round-trips exactly: a new coordinator must continue from it. */
class CodecTest {
    @Test
    void inputsAndCommandsRoundTrip() {
        List<Input> inputs = List.of(new Input.NodeUp("host1", Set.of("web", "db")), new Input.NodeLost("host2"),
                new Input.Fenced("host2", true, "off"), new Input.Moved("web", "host1", "host3", false, "x"),
                new Input.Tick(), new Input.MoveGroup("web", "host2", MoveMode.QUICK), new Input.ResumeNode("h", true));
        for (Input in : inputs) {
            assertEquals(in, Codec.input(Codec.input(in)));
        }
        List<Command> cmds = List.of(new Command.Online("web", "host1"), new Command.Move("web", "a", "b", MoveMode.LIVE),
                new Command.Restart("web", "vm", "host1"), new Command.Fence("host2"));
        for (Command c : cmds) {
            assertEquals(c, Codec.command(Codec.command(c)));
        }
    }

    @Test
    void aClusterStateFromAChaosRunRoundTrips() {
        ClusterState s = FaultRunner.run(7).state();
        assertEquals(s, Codec.state(Codec.state(s)));
    }
}
