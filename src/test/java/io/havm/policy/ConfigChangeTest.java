package io.havm.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** What config apply refuses, lets --force override, and says it will do, against a running state. */
class ConfigChangeTest {
    private static ClusterSpec spec(String nodes, String groups) {
        StringBuilder y = new StringBuilder("cluster:\n  name: c\n  nodes:\n");
        for (String n : nodes.split(",")) {
            y.append("    - {name: ").append(n).append(", uri: 'test:///default', memoryMiB: 4096}\n");
        }
        y.append("groups:\n").append(groups);
        return ClusterConfigLoader.parse("c.yaml", y.toString()).spec();
    }

    private static String group(String name, String owners) {
        return "  " + name + ":\n" + (owners.isEmpty() ? "" : "    possibleOwners: [" + owners + "]\n")
                + "    resources:\n      " + name + "-vm: {type: vm, memoryMiB: 256}\n";
    }

    private static ClusterState running(String group, String node, String... up) {
        TreeMap<String, ClusterState.Node> nodes = new TreeMap<>();
        for (String n : up) {
            nodes.put(n, ClusterState.Node.up(n));
        }
        TreeMap<String, ClusterState.Group> groups = new TreeMap<>();
        groups.put(group, ClusterState.Group.offline(group, true).to(GroupPhase.ONLINE, node));
        return new ClusterState(nodes, groups);
    }

    @Test
    void removingARunningGroupNeedsForceAndSaysWhatItWillDo() {
        ClusterSpec old = spec("n1,n2", group("web", "") + group("app", ""));
        ClusterSpec next = spec("n1,n2", group("web", ""));
        ConfigChange.Verdict v = ConfigChange.judge(old, next, running("app", "n2", "n1", "n2"));
        assertFalse(v.allowed(false));
        assertTrue(v.allowed(true));
        assertEquals(List.of("group app is removed but is online on n2: take it offline first (havm group offline app),"
                + " or --force to have it taken offline and then removed"), v.overridable());
        assertTrue(v.effects().contains("group app: taken offline on n2, then removed"), v.effects().toString());
        // Offline, it simply goes.
        ConfigChange.Verdict off = ConfigChange.judge(old, next, new ClusterState(new TreeMap<>(), new TreeMap<>()));
        assertTrue(off.allowed(false), off.toString());
        assertTrue(off.effects().contains("group app: removed (it is offline)"), off.effects().toString());
    }

    @Test
    void aNodeThatIsUpOrHoldsGroupsCannotBeRemovedEvenWithForce() {
        ClusterSpec old = spec("n1,n2,n3", group("web", ""));
        ClusterSpec next = spec("n1,n2", group("web", ""));
        ConfigChange.Verdict up = ConfigChange.judge(old, next, running("web", "n1", "n1", "n2", "n3"));
        assertFalse(up.allowed(true));
        assertTrue(up.refused().get(0).startsWith("node n3 is removed but is up: drain it"), up.refused().toString());
        ConfigChange.Verdict holds = ConfigChange.judge(old, next, running("web", "n3", "n1", "n2"));
        assertEquals(List.of("node n3 is removed but groups are on it: web"), holds.refused());
        ConfigChange.Verdict gone = ConfigChange.judge(old, next, running("web", "n1", "n1", "n2"));
        assertTrue(gone.allowed(false), gone.toString());
        assertTrue(gone.effects().contains("node n3: removed"), gone.effects().toString());
    }

    @Test
    void aRunningGroupLeftWithNoOwnerThatIsUpNeedsForce() {
        ClusterSpec old = spec("n1,n2,n3", group("web", ""));
        ClusterSpec next = spec("n1,n2,n3", group("web", "n3"));
        ConfigChange.Verdict v = ConfigChange.judge(old, next, running("web", "n1", "n1", "n2"));
        assertFalse(v.allowed(false));
        assertTrue(v.overridable().get(0).startsWith("group web runs on n1, which its new possibleOwners [n3] exclude,"
                + " and none of them is up"), v.overridable().toString());
        ConfigChange.Verdict ok = ConfigChange.judge(old, spec("n1,n2,n3", group("web", "n2")),
                running("web", "n1", "n1", "n2"));
        assertTrue(ok.allowed(false), ok.toString());
        assertTrue(ok.effects().contains("group web: keeps running on n1 until it next moves (not among its new"
                + " possibleOwners [n2])"), ok.effects().toString());
    }
}
