package io.havm.config;

import io.havm.model.GroupSpec;
import io.havm.model.ResourceSpec;
import io.havm.model.StorageSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Disk resources and the VMs that attach them: a VM depends on the disk resources it lists, and a
 * disk that is not shareable belongs to one resource of one group (so to one node at a time).
 */
final class DiskUse {
    private DiskUse() {}

    /** Checks each VM's disk list against the group and adds the VM's dependencies on them. */
    static Map<String, ResourceSpec> wire(Yaml y, Node at, String f, Map<String, ResourceSpec> resources) {
        Map<String, ResourceSpec> out = new LinkedHashMap<>();
        Map<String, String> attachedTo = new TreeMap<>();
        for (ResourceSpec r : resources.values()) {
            String list = r.properties().get(ResourceSpec.DISKS);
            if (r.type() != ResourceSpec.Type.VM || list == null) {
                out.put(r.name(), r);
                continue;
            }
            List<String> deps = new ArrayList<>(r.dependsOn());
            for (String d : Arrays.asList(list.split(","))) {
                ResourceSpec dr = resources.get(d);
                Node disksField = field(at, r.name(), ResourceSpec.DISKS);
                if (dr == null || dr.type() != ResourceSpec.Type.DISK) {
                    throw y.error(disksField, f + ".resources." + r.name() + ".disks", "'" + d
                            + "' is not a disk resource of this group (disk resources: " + String.join(", ",
                                    resources.values().stream().filter(x -> x.type() == ResourceSpec.Type.DISK)
                                            .map(ResourceSpec::name).toList()) + ")");
                }
                String other = attachedTo.put(d, r.name());
                if (other != null) {
                    throw y.error(disksField, f + ".resources." + r.name() + ".disks", "disk resource '" + d
                            + "' is already attached to VM '" + other + "'");
                }
                if (!deps.contains(d)) {
                    deps.add(d);
                }
            }
            out.put(r.name(), new ResourceSpec(r.name(), r.type(), deps, r.restart(), r.looksAliveInterval(),
                    r.isAliveInterval(), r.pendingTimeout(), r.memoryMiB(), r.offlineAction(), r.properties()));
        }
        return out;
    }

    /**
     * The node at {@code path} below mapping {@code n} (for the line of an error found after
     * parsing); the deepest one that exists when the path stops early.
     */
    static Node field(Node n, String... path) {
        Node at = n;
        for (String key : path) {
            Node next = null;
            if (at instanceof MappingNode m) {
                for (NodeTuple t : m.getValue()) {
                    if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                        next = t.getValueNode();
                    }
                }
            }
            if (next == null) {
                return at;
            }
            at = next;
        }
        return at;
    }

    /** A non-shareable disk is named by one disk resource in the whole cluster. */
    static void check(Map<String, GroupSpec> groups, StorageSpec st, Yaml main, Map<String, Yaml> groupFile,
            Map<String, Node> groupNodes) {
        Map<String, String> owner = new TreeMap<>();
        for (GroupSpec g : groups.values()) {
            for (ResourceSpec r : g.resources().values()) {
                String d = r.properties().get(ResourceSpec.DISK);
                if (r.type() != ResourceSpec.Type.DISK || d == null) {
                    continue;
                }
                String here = g.name() + "/" + r.name();
                String before = owner.put(d, here);
                if (before != null && !st.disks().get(d).shareable()) {
                    Yaml y = groupFile.getOrDefault(g.name(), main);
                    throw y.error(field(groupNodes.get(g.name()), "resources", r.name(), ResourceSpec.DISK), "groups." + g.name() + ".resources." + r.name() + ".disk", "disk '" + d
                            + "' is not shareable and is already used by " + before
                            + " (a disk belongs to one node at a time; mark it shareable: true, raw, for a guest"
                            + " cluster)");
                }
            }
        }
    }
}
