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
import org.yaml.snakeyaml.nodes.Node;

/**
 * Disk resources and the VMs that attach them: a VM depends on the disk resources it lists, and a
 * disk that is not shareable belongs to one resource of one group (so to one node at a time).
 */
final class DiskUse {
    static final String DISK = ResourceSpec.DISK;
    static final String DISKS = ResourceSpec.DISKS;

    private DiskUse() {}

    /** Checks each VM's disk list against the group and adds the VM's dependencies on them. */
    static Map<String, ResourceSpec> wire(Yaml y, Node at, String f, Map<String, ResourceSpec> resources) {
        Map<String, ResourceSpec> out = new LinkedHashMap<>();
        Map<String, String> attachedTo = new TreeMap<>();
        for (ResourceSpec r : resources.values()) {
            String list = r.properties().get(DISKS);
            if (r.type() != ResourceSpec.Type.VM || list == null) {
                out.put(r.name(), r);
                continue;
            }
            List<String> deps = new ArrayList<>(r.dependsOn());
            for (String d : Arrays.asList(list.split(","))) {
                ResourceSpec dr = resources.get(d);
                if (dr == null || dr.type() != ResourceSpec.Type.DISK) {
                    throw y.error(at, f + ".resources." + r.name() + ".disks", "'" + d
                            + "' is not a disk resource of this group (disk resources: " + String.join(", ",
                                    resources.values().stream().filter(x -> x.type() == ResourceSpec.Type.DISK)
                                            .map(ResourceSpec::name).toList()) + ")");
                }
                String other = attachedTo.put(d, r.name());
                if (other != null) {
                    throw y.error(at, f + ".resources." + r.name() + ".disks", "disk resource '" + d
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

    /** A non-shareable disk is named by one disk resource in the whole cluster. */
    static void check(Map<String, GroupSpec> groups, StorageSpec st, Yaml main, Map<String, Yaml> groupFile) {
        Map<String, String> owner = new TreeMap<>();
        for (GroupSpec g : groups.values()) {
            for (ResourceSpec r : g.resources().values()) {
                String d = r.properties().get(DISK);
                if (r.type() != ResourceSpec.Type.DISK || d == null) {
                    continue;
                }
                String here = g.name() + "/" + r.name();
                String before = owner.put(d, here);
                if (before != null && !st.disks().get(d).shareable()) {
                    Yaml y = groupFile.getOrDefault(g.name(), main);
                    throw y.error(null, "groups." + g.name() + ".resources." + r.name() + ".disk", "disk '" + d
                            + "' is not shareable and is already used by " + before
                            + " (a disk belongs to one node at a time; mark it shareable: true, raw, for a guest"
                            + " cluster)");
                }
            }
        }
    }
}
