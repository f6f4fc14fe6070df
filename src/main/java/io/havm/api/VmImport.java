package io.havm.api;

import static io.havm.util.DomXml.child;
import static io.havm.util.DomXml.children;
import static io.havm.util.DomXml.parse;
import static io.havm.util.DomXml.serialize;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.ResourceSpec;
import io.havm.model.StorageSpec;
import io.havm.port.DomainState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * What {@code havm vm import} makes of a libvirt domain the operator already runs: every check
 * first (the domain, its disks, its NICs' networks on every possible owner), then the group as a
 * configuration fragment and the definition to store on shared storage. Pure: the hosts are asked
 * through {@link Host}, nothing is written here.
 */
final class VmImport {
    private VmImport() {}

    /** What the import asks of one libvirt host. */
    interface Host {
        /** The domain's state, empty when the host has no such domain. */
        Optional<DomainState> state(String domain);

        List<String> domains();

        boolean persistent(String domain);

        String xml(String domain, boolean inactive);

        /** Whether a libvirt network of that name is defined and active there (empty: not defined). */
        Optional<Boolean> networkActive(String network);

        /** The virtual size in bytes of the running domain's disk {@code target} (vda, sda, ...). */
        long capacity(String domain, String target);
    }

    /** The group made: its fragment (a file of the stored configuration) and the definition to write. */
    record Plan(String group, String domain, String host, String fragmentName, String fragment, Path definition,
            String definitionXml, List<String> notes) {}

    /** Prefix of the fragments vm import makes: {@code vm release} removes only those. */
    static final String FRAGMENT_PREFIX = "vm-";

    static String fragmentName(Map<String, String> files, String group) {
        String main = files.keySet().iterator().next();
        int dot = main.lastIndexOf('.');
        return (dot > 0 ? main.substring(0, dot) : main) + ".d/" + FRAGMENT_PREFIX + group + ".yaml";
    }

    /**
     * Checks everything and makes the plan, or throws with every reason it cannot (nothing changed).
     *
     * @param owners the group's possible owners (empty: every node)
     * @param definitionDir where the definition goes (null: {@code definitions/} in the first disk's pool)
     * @param stateDir where saved states go (null: {@code save/} in the first disk's pool)
     */
    static Plan plan(Map<String, String> files, ClusterSpec spec, String domain, String host, String group,
            List<String> owners, Path definitionDir, Path stateDir, Map<String, Host> hosts) {
        String cmd = "havm vm import " + domain;
        if (spec.node(host).isEmpty()) {
            throw new InvalidInputException(cmd + " --host", "unknown node '" + host + "' (nodes: "
                    + String.join(", ", spec.nodeNames()) + ")");
        }
        String g = group != null ? group : domain;
        if (spec.groups().containsKey(g)) {
            throw new InvalidInputException(cmd, "group '" + g + "' exists already (choose another with --group)");
        }
        for (GroupSpec gs : spec.groups().values()) {
            for (ResourceSpec r : gs.resources().values()) {
                if (r.type() == ResourceSpec.Type.VM && domain.equals(r.domain())) {
                    throw new InvalidInputException(cmd, "domain " + domain + " is HA already: resource " + r.name()
                            + " of group " + gs.name());
                }
            }
        }
        List<String> possible = owners.isEmpty() ? new ArrayList<>(spec.nodeNames()) : owners;
        for (String o : possible) {
            if (spec.node(o).isEmpty()) {
                throw new InvalidInputException(cmd + " --owners", "unknown node '" + o + "' (nodes: "
                        + String.join(", ", spec.nodeNames()) + ")");
            }
        }
        if (!possible.contains(host)) {
            throw new InvalidInputException(cmd + " --owners", "must include " + host + ", where the VM runs");
        }
        Host h = hosts.get(host);
        Optional<DomainState> st = h.state(domain);
        if (st.isEmpty()) {
            List<String> there = h.domains();
            throw new InvalidInputException(cmd, "no domain '" + domain + "' on " + host + " (domains there: "
                    + (there.isEmpty() ? "none" : String.join(", ", there)) + ")");
        }
        if (!st.get().active()) {
            throw new InvalidInputException(cmd, "domain " + domain + " is " + st.get() + " on " + host
                    + ": vm import adopts a VM where it runs; start it first (virsh start " + domain + ")");
        }
        for (Map.Entry<String, Host> e : hosts.entrySet()) {
            if (!e.getKey().equals(host) && possible.contains(e.getKey())
                    && e.getValue().state(domain).map(DomainState::active).orElse(false)) {
                throw new InvalidInputException(cmd, "domain " + domain + " runs on " + e.getKey() + " too: two copies;"
                        + " stop one first");
            }
        }
        if (!h.persistent(domain)) {
            throw new InvalidInputException(cmd, "domain " + domain + " is transient on " + host + " (started from XML,"
                    + " never defined): define it first (virsh dumpxml " + domain + " > d.xml; virsh define d.xml)");
        }
        Document live = parse(h.xml(domain, false));
        Document inactive = parse(h.xml(domain, true));
        List<String> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();

        // Disks: every one on cluster storage every owner sees.
        Map<String, String> diskYaml = new LinkedHashMap<>();
        List<String> diskResources = new ArrayList<>();
        StorageSpec.SharedDir firstPool = null;
        boolean unsafe = false;
        int luns = 0;
        for (Element d : children(devices(inactive), "disk")) {
            String device = d.getAttribute("device").isEmpty() ? "disk" : d.getAttribute("device");
            String type = d.getAttribute("type");
            Element target = child(d, "target");
            String dev = target == null ? "?" : target.getAttribute("dev");
            Element source = child(d, "source");
            boolean empty = source == null || (source.getAttribute("file").isEmpty() && source.getAttribute("dev")
                    .isEmpty() && source.getAttribute("name").isEmpty() && source.getAttribute("volume").isEmpty());
            if (empty && (device.equals("cdrom") || device.equals("floppy"))) {
                continue; // an empty drive goes with the VM anywhere
            }
            String what = device + " " + dev;
            if (type.equals("network") && source != null && source.getAttribute("protocol").equals("iscsi")
                    && !device.equals("cdrom")) {
                String lunDisk = lun(spec, g, what, source, problems);
                if (lunDisk != null) {
                    if (spec.storage().disks().containsKey(g + "-" + dev)) {
                        problems.add(what + ": a disk named " + g + "-" + dev + " exists already in storage.disks");
                        continue;
                    }
                    diskYaml.put(g + "-" + dev, lunDisk + (d.getElementsByTagName("shareable").getLength() > 0
                            ? ", shareable: true}" : "}"));
                    diskResources.add(dev);
                    luns++;
                }
                continue;
            }
            if (!type.equals("file")) {
                problems.add(what + ": a " + (type.isEmpty() ? "?" : type) + " disk ("
                        + (source == null ? "no source" : describe(source)) + "): vm import takes file disks on a"
                        + " shared-dir pool of the cluster; "
                        + (type.equals("network") ? "a network disk other than an iSCSI LUN of an iscsi pool" : type.equals("block")
                                ? "a block device is this host's: another host that takes the VM over cannot open it"
                                : "another host could not open it"));
                continue;
            }
            Path file = Path.of(source.getAttribute("file")).normalize();
            StorageSpec.SharedDir pool = null;
            for (StorageSpec.Pool p : spec.storage().pools().values()) {
                if (p instanceof StorageSpec.SharedDir sd && file.startsWith(sd.path().normalize())) {
                    pool = sd;
                }
            }
            if (pool == null) {
                List<String> shared = new ArrayList<>();
                spec.storage().pools().values().stream().filter(p -> p instanceof StorageSpec.SharedDir)
                        .forEach(p -> shared.add(p.name() + " = " + ((StorageSpec.SharedDir) p).path()));
                problems.add(what + ": " + file + " is in no shared-dir pool of the cluster ("
                        + (shared.isEmpty() ? "it has none" : String.join(", ", shared)) + "): a host that takes the"
                        + " VM over cannot open it; move it there first (virsh blockcopy, or with the VM off)");
                continue;
            }
            if (device.equals("cdrom") || device.equals("floppy")) {
                continue; // a medium on shared storage: every owner sees it; not a disk havm manages
            }
            if (firstPool == null) {
                firstPool = pool;
            }
            unsafe |= !pool.libvirtSeesShared();
            Element driver = child(d, "driver");
            String format = driver == null ? "raw" : driver.getAttribute("type");
            if (StorageSpec.Format.of(format).isEmpty()) {
                problems.add(what + ": format '" + format + "' (allowed: raw, qcow2)");
                continue;
            }
            String diskName = g + "-" + dev;
            if (spec.storage().disks().containsKey(diskName)) {
                problems.add(what + ": a disk named " + diskName + " exists already in storage.disks");
                continue;
            }
            String volume = pool.path().normalize().relativize(file).toString();
            diskYaml.put(diskName, "{pool: " + pool.name() + ", volume: " + q(volume) + ", format: " + format
                    + ", size: " + h.capacity(domain, dev)
                    + (d.getElementsByTagName("shareable").getLength() > 0 ? ", shareable: true" : "") + "}");
            diskResources.add(dev);
        }
        if (diskResources.isEmpty() && problems.isEmpty()) {
            problems.add("it has no disk on cluster storage: nothing to make HA with it (vm import needs its disks in a"
                    + " shared-dir pool or on LUNs of an iscsi pool)");
        }
        if (firstPool == null && problems.isEmpty() && (definitionDir == null || stateDir == null)) {
            problems.add("its disks are all LUNs: say where its definition and saved states go on shared storage"
                    + " (--definition-dir and --state-dir)");
        }

        // NICs: a fixed MAC, and a network every possible owner has.
        Map<String, String> liveMacs = new LinkedHashMap<>();
        for (Element i : children(devices(live), "interface")) {
            Element mac = child(i, "mac");
            if (mac != null) {
                liveMacs.put(String.valueOf(liveMacs.size()), mac.getAttribute("address"));
            }
        }
        int n = 0;
        for (Element i : children(devices(inactive), "interface")) {
            String type = i.getAttribute("type");
            Element mac = child(i, "mac");
            String m = liveMacs.get(String.valueOf(n));
            n++;
            if (mac == null) {
                if (m == null) {
                    problems.add("interface " + n + ": no MAC address, and the running domain shows none");
                    continue;
                }
                Element e = inactive.createElement("mac");
                e.setAttribute("address", m);
                i.insertBefore(e, i.getFirstChild());
                notes.add("interface " + n + ": MAC " + m + " made static (it was chosen at start)");
            }
            Element source = child(i, "source");
            switch (type) {
                case "network" -> {
                    String net = source == null ? "" : source.getAttribute("network");
                    List<String> lacking = new ArrayList<>();
                    for (String o : possible) {
                        Optional<Boolean> a = hosts.get(o).networkActive(net);
                        if (a.isEmpty()) {
                            lacking.add(o + " (not defined)");
                        } else if (!a.get()) {
                            lacking.add(o + " (defined, not active)");
                        }
                    }
                    if (!lacking.isEmpty()) {
                        problems.add("interface " + n + ": network '" + net + "' is missing on " + String.join(", ",
                                lacking) + ": the VM could not start there; define and start it on every possible"
                                + " owner, or leave those out with --owners");
                    }
                }
                case "user" -> { }
                default -> notes.add("interface " + n + ": type " + type + (source == null ? "" : " (" + describe(source)
                        + ")") + ": not checked on the other owners: make sure each has it");
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidInputException(cmd, "cannot be made HA, nothing changed:\n  " + String.join("\n  ", problems));
        }
        Path defDir = definitionDir != null ? definitionDir : firstPool.path().resolve("definitions");
        Path saveDir = stateDir != null ? stateDir : firstPool.path().resolve("save");
        if (luns > 0 && spec.storage().leaseDir() != null) {
            notes.add(luns + " LUN(s): the stored definition holds a lockd lease for each (lockd leases file disks by"
                    + " itself, never network disks); it takes effect at the VM's next start: the running VM holds"
                    + " none until then, and havm starts it nowhere else meanwhile");
        }
        Path definition = defDir.resolve(domain + ".xml");
        long memKiB = 0;
        Element mem = child(inactive.getDocumentElement(), "memory");
        if (mem != null) {
            long v = Long.parseLong(mem.getTextContent().trim());
            String unit = mem.getAttribute("unit").isEmpty() ? "KiB" : mem.getAttribute("unit");
            memKiB = switch (unit) {
                case "b", "bytes" -> v / 1024;
                case "KB" -> v * 1000 / 1024;
                case "M", "MiB" -> v * 1024;
                case "MB" -> v * 1000 * 1000 / 1024;
                case "G", "GiB" -> v * 1024 * 1024;
                default -> v;
            };
        }
        long memMiB = Math.max(1, (memKiB + 1023) / 1024);
        StringBuilder y = new StringBuilder();
        y.append("# made by havm vm import ").append(domain).append(" --host ").append(host)
                .append(": its VM was adopted where it ran; havm vm release ").append(g).append(" undoes it\n");
        y.append("storage:\n  disks:\n");
        diskYaml.forEach((k, v) -> y.append("    ").append(k).append(": ").append(v).append('\n'));
        y.append("groups:\n  ").append(g).append(":\n");
        if (!owners.isEmpty()) {
            y.append("    possibleOwners: [").append(String.join(", ", possible)).append("]\n");
        }
        y.append("    resources:\n");
        for (String dev : diskResources) {
            y.append("      ").append(dev).append(": {type: disk, disk: ").append(g).append('-').append(dev).append("}\n");
        }
        // dependsOn, not disks: the definition keeps the VM's own disk elements (bus, cache, order)
        y.append("      vm:\n        type: vm\n        memoryMiB: ").append(memMiB).append('\n');
        y.append("        dependsOn: [").append(String.join(", ", diskResources)).append("]\n");
        y.append("        properties: {domain: ").append(q(domain)).append(", definition: ").append(q(definition.toString()))
                .append(", stateDir: ").append(q(saveDir.toString()));
        if (unsafe) {
            y.append(", unsafeSharedStorage: 'true'");
        }
        y.append("}\n");
        String fragName = fragmentName(files, g);
        Map<String, String> next = new LinkedHashMap<>(files);
        next.put(fragName, y.toString());
        // the whole new version validates, or this throws
        ClusterSpec after = ClusterConfigLoader.parse(sorted(next)).spec();
        List<StorageSpec.Disk> disks = new ArrayList<>();
        for (String dev : diskResources) {
            disks.add(after.storage().disks().get(g + "-" + dev));
        }
        String xml = io.havm.storage.DomainDisks.withLeases(serialize(inactive, false), after.storage(), disks);
        return new Plan(g, domain, host, fragName, y.toString(), definition, xml, notes);
    }

    /** The disk entry of an iSCSI network disk on one of the cluster's iscsi pools, or null (a problem said). */
    private static String lun(ClusterSpec spec, String g, String what, Element source, List<String> problems) {
        String name = source.getAttribute("name");
        int slash = name.lastIndexOf('/');
        Element hostEl = child(source, "host");
        String h = hostEl == null ? "" : hostEl.getAttribute("name");
        int port = hostEl == null || hostEl.getAttribute("port").isEmpty() ? 3260
                : Integer.parseInt(hostEl.getAttribute("port"));
        if (slash < 0) {
            problems.add(what + ": iSCSI source '" + name + "' names no LUN (IQN/LUN)");
            return null;
        }
        String iqn = name.substring(0, slash);
        int lun;
        try {
            lun = Integer.parseInt(name.substring(slash + 1));
        } catch (NumberFormatException e) {
            problems.add(what + ": iSCSI source '" + name + "': '" + name.substring(slash + 1) + "' is not a LUN number");
            return null;
        }
        List<String> pools = new ArrayList<>();
        for (StorageSpec.Pool p : spec.storage().pools().values()) {
            if (p instanceof StorageSpec.Iscsi i) {
                pools.add(i.name() + " = " + i.portal() + " " + i.target());
                if (i.host().equals(h) && i.port() == port && i.target().equals(iqn)) {
                    for (StorageSpec.Disk d : spec.storage().disks().values()) {
                        if (d.pool().equals(i.name()) && d.lun() != null && d.lun() == lun) {
                            problems.add(what + ": LUN " + lun + " of pool " + i.name() + " is disk " + d.name()
                                    + " already");
                            return null;
                        }
                    }
                    return "{pool: " + i.name() + ", lun: " + lun;
                }
            }
        }
        problems.add(what + ": iSCSI LUN " + h + ":" + port + " " + name + " is on no iscsi pool of the cluster ("
                + (pools.isEmpty() ? "it has none" : String.join(", ", pools)) + "): add the target as a pool first");
        return null;
    }

    /** The main file first, then the fragments by name (as files() reads them from a directory). */
    static Map<String, String> sorted(Map<String, String> files) {
        Map<String, String> out = new LinkedHashMap<>();
        var it = files.entrySet().iterator();
        Map.Entry<String, String> main = it.next();
        out.put(main.getKey(), main.getValue());
        TreeMap<String, String> rest = new TreeMap<>();
        it.forEachRemaining(e -> rest.put(e.getKey(), e.getValue()));
        out.putAll(rest);
        return out;
    }

    private static String q(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    private static String describe(Element source) {
        List<String> a = new ArrayList<>();
        for (int i = 0; i < source.getAttributes().getLength(); i++) {
            Node n = source.getAttributes().item(i);
            a.add(n.getNodeName() + "=" + n.getNodeValue());
        }
        return String.join(" ", a);
    }

    private static Element devices(Document d) {
        Element e = child(d.getDocumentElement(), "devices");
        return e != null ? e : d.createElement("devices");
    }
}
