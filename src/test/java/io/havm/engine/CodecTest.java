package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Input;
import io.havm.sim.engine.EngineFaultRunner;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Everything the engine stores round-trips exactly: a new coordinator must continue from it. */
class CodecTest {
    @Test
    void inputsAndCommandsRoundTrip() {
        List<Input> inputs = List.of(new Input.NodeUp("host1", Set.of("web", "db")), new Input.NodeLost("host2"),
                new Input.Fenced("host2", true, "off"), new Input.Moved("web", "host1", "host3", false, "x", 7),
                new Input.Tick(), new Input.MoveGroup("web", "host2", MoveMode.QUICK), new Input.ResumeNode("h", true),
                new Input.Elected(), new Input.Terminated("web", "host1", false, "not proven", 9));
        for (Input in : inputs) {
            assertEquals(in, Codec.input(Codec.input(in)));
        }
        List<Command> cmds = List.of(new Command.Online("web", "host1", 1), new Command.Move("web", "a", "b", MoveMode.LIVE, 2),
                new Command.Restart("web", "vm", "host1", 3), new Command.Terminate("web", "host1", 4),
                new Command.Fence("host2"));
        for (Command c : cmds) {
            assertEquals(c, Codec.command(Codec.command(c)));
        }
    }

    @Test
    void aStateMidGraceAndMidCommandRoundTrips() {
        io.havm.model.ClusterSpec spec = io.havm.config.ClusterConfigLoader.parse("c.yaml", """
                cluster:
                  nodes:
                    - {name: host1, uri: 'qemu:///system'}
                    - {name: host2, uri: 'qemu:///system'}
                groups:
                  web: {resources: {vm: {type: vm}}}
                """).spec();
        io.havm.policy.Coordinator c = new io.havm.policy.Coordinator(spec);
        java.time.Instant t0 = java.time.Instant.parse("2026-01-01T00:00:00Z");
        ClusterState forming = c.apply(c.initial(), new Input.NodeUp("host1", Set.of()), t0).state();
        assertEquals(t0, forming.firstNodeUpAt());
        assertEquals(forming, Codec.state(Codec.state(forming)));
        ClusterState starting = c.apply(forming, new Input.NodeUp("host2", Set.of()), t0.plusSeconds(2)).state();
        assertEquals(1, starting.groups().get("web").attempt());
        assertEquals(starting, Codec.state(Codec.state(starting)));
    }

    @Test
    void aClusterStateFromAChaosRunRoundTrips() {
        ClusterState s = EngineFaultRunner.run(7).state();
        assertEquals(s, Codec.state(Codec.state(s)));
    }
}
