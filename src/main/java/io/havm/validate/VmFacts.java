package io.havm.validate;

import io.havm.util.DomXml;
import java.util.ArrayList;
import java.util.List;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * What validation needs to know of one HA VM: its group, its possible owners and its domain XML
 * (the definition havm defines before Online, as {@code NodeResources} builds it), parsed.
 *
 * @param domain the libvirt domain name
 * @param group its group
 * @param owners the group's possible owners
 * @param problem why its definition could not be read or parsed; null when it was
 * @param virtType the domain type (kvm, qemu)
 * @param arch the guest architecture ({@code os/type@arch}), x86_64 when unset
 * @param machine the machine type ({@code os/type@machine}); null when unset (the emulator's default)
 * @param cpuMode custom, host-model, host-passthrough, maximum; null without a {@code <cpu>} element
 * @param cpuXml the {@code <cpu>} element as written (what libvirt compares), or null
 * @param nics its network interfaces
 * @param disks its disks, CD-ROMs and floppies
 * @param hostDevices host devices passed through (PCI, USB, SCSI hostdev; USB redirection), described
 * @param guestAgentChannel a virtio channel named org.qemu.guest_agent.0 is present
 */
public record VmFacts(String domain, String group, List<String> owners, String problem, String virtType, String arch,
        String machine, String cpuMode, String cpuXml, List<Nic> nics, List<Disk> disks, List<String> hostDevices,
        boolean guestAgentChannel) {

    /** The channel name qemu-guest-agent listens on. */
    public static final String AGENT_CHANNEL = "org.qemu.guest_agent.0";

    public VmFacts {
        owners = List.copyOf(owners);
        nics = List.copyOf(nics);
        disks = List.copyOf(disks);
        hostDevices = List.copyOf(hostDevices);
    }

    /**
     * A network interface.
     *
     * @param type network, bridge, direct, user, ethernet …
     * @param source the network's or bridge's (or direct's device) name; null for user networking
     * @param mac the static MAC address, or null when libvirt makes one up at each define
     */
    public record Nic(String type, String source, String mac) {}

    /**
     * A disk.
     *
     * @param device disk, cdrom, floppy, lun
     * @param type file, block, network, volume
     * @param source the file or block path, or protocol:name of a network disk (iscsi:iqn…/1); null when empty
     * @param format the driver type (raw, qcow2); null when unset
     */
    public record Disk(String device, String type, String source, String format, boolean shareable, boolean readonly) {}

    /** A VM whose definition could not be read or parsed: only that is reported about it. */
    public static VmFacts unreadable(String domain, String group, List<String> owners, String problem) {
        return new VmFacts(domain, group, owners, problem, null, null, null, null, null, List.of(), List.of(),
                List.of(), false);
    }

    /** Parses {@code xml}; a definition that does not parse gives {@link #unreadable}. */
    public static VmFacts parse(String domain, String group, List<String> owners, String xml) {
        Document doc;
        try {
            doc = DomXml.parse(xml);
        } catch (IllegalArgumentException e) {
            return unreadable(domain, group, owners, e.getMessage());
        }
        Element root = doc.getDocumentElement();
        String virtType = root.getAttribute("type");
        Element os = DomXml.child(root, "os");
        Element type = os == null ? null : DomXml.child(os, "type");
        String arch = type == null || type.getAttribute("arch").isEmpty() ? "x86_64" : type.getAttribute("arch");
        String machine = type == null || type.getAttribute("machine").isEmpty() ? null : type.getAttribute("machine");
        Element cpu = DomXml.child(root, "cpu");
        String cpuMode = null;
        String cpuXml = null;
        if (cpu != null) {
            cpuMode = cpu.getAttribute("mode").isEmpty() ? "custom" : cpu.getAttribute("mode");
            Document one = DomXml.parse("<x/>");
            cpuXml = DomXml.serialize(rootOf(one, cpu), false).strip();
        }
        List<Nic> nics = new ArrayList<>();
        List<Disk> disks = new ArrayList<>();
        List<String> hostDevices = new ArrayList<>();
        boolean agent = false;
        Element devices = DomXml.child(root, "devices");
        if (devices != null) {
            for (Element i : DomXml.children(devices, "interface")) {
                Element src = DomXml.child(i, "source");
                String t = i.getAttribute("type");
                String source = null;
                if (src != null) {
                    source = switch (t) {
                        case "network" -> src.getAttribute("network");
                        case "bridge" -> src.getAttribute("bridge");
                        case "direct" -> src.getAttribute("dev");
                        default -> null;
                    };
                }
                Element mac = DomXml.child(i, "mac");
                nics.add(new Nic(t, source == null || source.isEmpty() ? null : source,
                        mac == null || mac.getAttribute("address").isEmpty() ? null
                                : mac.getAttribute("address").toLowerCase(java.util.Locale.ROOT)));
                if ("hostdev".equals(t)) {
                    hostDevices.add("interface type='hostdev' (SR-IOV VF passthrough)");
                }
            }
            for (Element d : DomXml.children(devices, "disk")) {
                disks.add(disk(d));
            }
            for (Element h : DomXml.children(devices, "hostdev")) {
                hostDevices.add(hostdev(h));
            }
            for (Element r : DomXml.children(devices, "redirdev")) {
                hostDevices.add("redirdev bus='" + r.getAttribute("bus") + "' type='" + r.getAttribute("type") + "'");
            }
            for (Element c : DomXml.children(devices, "channel")) {
                Element target = DomXml.child(c, "target");
                if (target != null && AGENT_CHANNEL.equals(target.getAttribute("name"))) {
                    agent = true;
                }
            }
        }
        return new VmFacts(domain, group, owners, null, virtType.isEmpty() ? "kvm" : virtType, arch, machine, cpuMode,
                cpuXml, nics, disks, hostDevices, agent);
    }

    private static org.w3c.dom.Document rootOf(Document doc, Element e) {
        Element copy = (Element) doc.importNode(e, true);
        doc.replaceChild(copy, doc.getDocumentElement());
        return doc;
    }

    private static Disk disk(Element d) {
        String type = d.getAttribute("type").isEmpty() ? "file" : d.getAttribute("type");
        String device = d.getAttribute("device").isEmpty() ? "disk" : d.getAttribute("device");
        Element src = DomXml.child(d, "source");
        String source = null;
        if (src != null) {
            source = switch (type) {
                case "file" -> src.getAttribute("file");
                case "block" -> src.getAttribute("dev");
                case "network" -> src.getAttribute("protocol") + ":" + src.getAttribute("name");
                case "volume" -> src.getAttribute("pool") + "/" + src.getAttribute("volume");
                case "dir" -> src.getAttribute("dir");
                default -> null;
            };
            if (source != null && source.isEmpty()) {
                source = null;
            }
        }
        Element driver = DomXml.child(d, "driver");
        String format = driver == null || driver.getAttribute("type").isEmpty() ? null : driver.getAttribute("type");
        return new Disk(device, type, source, format, DomXml.child(d, "shareable") != null,
                DomXml.child(d, "readonly") != null);
    }

    private static String hostdev(Element h) {
        String type = h.getAttribute("type");
        Element src = DomXml.child(h, "source");
        StringBuilder s = new StringBuilder("hostdev type='" + type + "'");
        if (src != null) {
            Element addr = DomXml.child(src, "address");
            Element vendor = DomXml.child(src, "vendor");
            Element product = DomXml.child(src, "product");
            if (addr != null && !addr.getAttribute("bus").isEmpty()) {
                s.append(" at ").append(addr.getAttribute("domain").isEmpty() ? "" : addr.getAttribute("domain") + ":")
                        .append(addr.getAttribute("bus")).append(':').append(addr.getAttribute("slot")).append('.')
                        .append(addr.getAttribute("function")).append(addr.getAttribute("device"));
            }
            if (vendor != null && product != null) {
                s.append(" ").append(vendor.getAttribute("id")).append(':').append(product.getAttribute("id"));
            }
        }
        return s.toString();
    }
}
