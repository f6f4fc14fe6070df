package io.havm.config;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.ResourceSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.yaml.snakeyaml.nodes.Node;

/**
 * What a VM resource of a cluster configuration must be to run on real hosts, checked when the
 * configuration loads rather than found by the agent during a failover: its properties (known
 * names only, a libvirt domain name libvirt accepts, absolute paths), one libvirt domain per VM
 * resource in the whole cluster, and memory that fits on some node it may run on.
 */
final class VmChecks {
    /** The properties a VM resource takes (see NodeResources.vm). */
    static final Set<String> PROPERTIES = Set.of("domain", "definition", "stateDir", "unsafeSharedStorage");

    private VmChecks() {}

    /** A VM's properties, each checked where it is written. */
    static void properties(Yaml y, String f, Map<String, Node> p) {
        if (p.containsKey("domain")) {
            String d = y.scalar(p.get("domain"), f + ".domain");
            String why = domainProblem(d);
            if (why != null) {
                throw y.error(p.get("domain"), f + ".domain", "'" + d + "' is not a libvirt domain name: " + why);
            }
        }
        for (String path : List.of("definition", "stateDir")) {
            if (p.containsKey(path)) {
                String v = y.text(p, path, f + "." + path, null);
                if (!v.startsWith("/") || v.indexOf('\0') >= 0) {
                    throw y.error(p.get(path), f + "." + path, "'" + v + "' is not an absolute path"
                            + (path.equals("definition") ? " (the domain XML on storage every possible owner reads)"
                            : " (a directory on shared storage for saved states)"));
                }
            }
        }
        y.bool(p, "unsafeSharedStorage", f + ".unsafeSharedStorage", false);
    }

    /**
     * Why libvirt would refuse {@code name} as a domain name, or null. libvirt refuses '/' (the
     * name is a file name in its state directories) and a newline; havm also keeps control
     * characters and surrounding blanks out, since the name is written in logs and file names.
     */
    static String domainProblem(String name) {
        if (name.isBlank()) {
            return "it is empty";
        }
        if (name.indexOf('/') >= 0) {
            return "it contains '/' (libvirt refuses it: the name is a file name on every host)";
        }
        if (name.chars().anyMatch(Character::isISOControl)) {
            return "it contains a control character (e.g. a newline)";
        }
        if (!name.strip().equals(name)) {
            return "it starts or ends with a blank";
        }
        if (name.length() > 255) {
            return "it is " + name.length() + " characters long (at most 255)";
        }
        return null;
    }

    /**
     * The checks across groups: one resource per libvirt domain (refused here), and, returned as
     * what makes the configuration unfit for real hosts only (see {@link
     * ClusterConfigLoader.Loaded#forRealHosts}; the simulator and the policy's tests model such
     * clusters on purpose): a VM with neither domain nor definition, a script with nothing to run,
     * and a group larger than the largest node it may run on (no loss is needed to strand it).
     */
    static List<InvalidInputException> check(Map<String, GroupSpec> groups, List<ClusterSpec.NodeSpec> nodes,
            ClusterSpec.Timers timers, Yaml main, Map<String, Yaml> groupFile, Map<String, Node> groupNodes) {
        Map<String, String> byDomain = new TreeMap<>();
        List<InvalidInputException> unrunnable = new ArrayList<>();
        for (GroupSpec g : groups.values()) {
            Yaml y = groupFile.getOrDefault(g.name(), main);
            Node gn = groupNodes.get(g.name());
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() == ResourceSpec.Type.SCRIPT && !r.properties().containsKey("agent")
                        && !r.properties().containsKey("script")) {
                    unrunnable.add(y.error(DiskUse.field(gn, "resources", r.name()), "groups." + g.name()
                            + ".resources." + r.name() + ".properties", "a script resource needs 'agent' (an OCF"
                            + " resource agent, e.g. heartbeat/Filesystem) or 'script' (an absolute path to a Generic"
                            + " Script)"));
                }
                if (r.type() != ResourceSpec.Type.VM) {
                    continue;
                }
                String f = "groups." + g.name() + ".resources." + r.name();
                if (!r.properties().containsKey("domain") && !r.properties().containsKey("definition")) {
                    unrunnable.add(y.error(DiskUse.field(gn, "resources", r.name()), f + ".properties",
                            "a VM needs 'domain' (its libvirt domain, defined on every possible owner) or"
                            + " 'definition' (its domain XML on shared storage), or both"));
                    continue; // its domain is a guess: the simulator's only
                }
                String here = g.name() + "/" + r.name();
                String before = byDomain.put(r.domain(), here);
                if (before != null && r.properties().containsKey("domain")) {
                    throw y.error(DiskUse.field(gn, "resources", r.name(), "properties", "domain"), f
                            + ".properties.domain", "libvirt domain '" + r.domain() + "' is already " + before
                            + "'s: two resources would start, stop and move the same VM");
                }
                if (before != null) { // the resource's name stands for the domain: a guess, refused for real hosts
                    unrunnable.add(y.error(DiskUse.field(gn, "resources", r.name()), f + ".properties.domain",
                            "is not given, so the libvirt domain is the resource's name '" + r.domain() + "', which"
                            + " is already " + before + "'s: name each VM's domain (properties.domain)"));
                }
            }
            long need = g.memoryMiB() + g.vmCount() * timers.perVmOverheadMiB();
            ClusterSpec.NodeSpec largest = null;
            for (ClusterSpec.NodeSpec n : nodes) {
                if ((g.possibleOwners().isEmpty() || g.possibleOwners().contains(n.name()))
                        && (largest == null || n.memoryMiB() > largest.memoryMiB())) {
                    largest = n;
                }
            }
            if (g.vmCount() > 0 && largest != null && need > largest.memoryMiB()) {
                ResourceSpec big = g.resources().values().stream().filter(r -> r.type() == ResourceSpec.Type.VM)
                        .max(java.util.Comparator.comparingLong(ResourceSpec::memoryMiB)).orElseThrow();
                unrunnable.add(y.error(DiskUse.field(gn, "resources", big.name(), "memoryMiB"), "groups." + g.name()
                        + ".resources." + big.name() + ".memoryMiB", "VM " + big.name() + " (" + big.memoryMiB()
                        + " MiB" + (g.vmCount() > 1 || timers.perVmOverheadMiB() > 0 ? "; group " + g.name()
                        + " needs " + need + " MiB with " + timers.perVmOverheadMiB()
                        + " MiB per VM of overhead, timers.perVmOverheadMiB" : "") + ") fits on no node: the"
                        + " largest it may run on, " + largest.name() + ", has " + largest.memoryMiB() + " MiB"));
            }
        }
        return unrunnable;
    }
}
