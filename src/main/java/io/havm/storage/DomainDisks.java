package io.havm.storage;

import static io.havm.util.DomXml.child;
import static io.havm.util.DomXml.parse;
import static io.havm.util.DomXml.serialize;

import io.havm.model.StorageSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * Puts a VM's configured disks into its domain XML: the definition's own block disks go, and one
 * {@code <disk>} per configured disk comes in their place, attached as vda, vdb, … (virtio) in order.
 *
 * <ul>
 * <li>a volume of a shared-dir pool: {@code type='file'}, driver type = the disk's format, cache none;
 * <li>a LUN of an iSCSI pool: {@code type='network'}, QEMU's userspace initiator
 *     ({@code <source protocol='iscsi' name='IQN/LUN'><host …/></source>}), driver raw, cache none;
 * <li>a shareable disk (guest clusters) gets {@code <shareable/>} (QEMU share-rw);
 * <li>with a lease directory, each non-shareable LUN gets an explicit lockd {@code <lease>} under
 *     {@code <devices>}: lockd leases file disks by itself but not network disks, so without it two
 *     hosts could run domains writing the same LUN.
 * </ul>
 *
 * <p>CD-ROM and floppy drives of the definition stay (they are not storage havm manages; they use
 * other buses, so they never clash with vd*). Leases of the cluster's disks already in the
 * definition are replaced, so rewriting a rewritten definition changes nothing. The document is
 * edited with the JDK's DOM: everything else in it is kept, values are escaped.
 */
public final class DomainDisks {
    private DomainDisks() {}

    /**
     * Returns {@code domainXml} with its disks replaced by {@code disks} (vda, vdb, … in this order).
     *
     * @throws IllegalArgumentException when the XML does not parse, is not a {@code <domain>}, or a
     *         disk's pool is not in {@code storage}
     */
    public static String rewrite(String domainXml, StorageSpec storage, List<StorageSpec.Disk> disks) {
        Document doc = parse(domainXml);
        Element domain = doc.getDocumentElement();
        if (!"domain".equals(domain.getTagName())) {
            throw new IllegalArgumentException("not a domain XML: its root element is <" + domain.getTagName() + ">");
        }
        Element devices = child(domain, "devices");
        if (devices == null) {
            devices = doc.createElement("devices");
            domain.appendChild(devices);
        }
        Set<String> ourKeys = new HashSet<>();
        for (StorageSpec.Disk d : storage.disks().values()) {
            ourKeys.add(d.leaseKey());
        }
        for (StorageSpec.Disk d : disks) {
            ourKeys.add(d.leaseKey());
        }

        // where the new disks go: where the first old disk was, else first in <devices>
        Element ref = null;
        List<Element> old = new ArrayList<>();
        for (Node n = devices.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && (isBlockDisk(e) || isOurLease(e, ourKeys))) {
                old.add(e);
                if (ref == null && isBlockDisk(e)) {
                    ref = e;
                }
            }
        }
        if (ref == null) {
            ref = firstElement(devices);
        }
        String indent = indentOf(ref, devices);
        String childIndent = indent + "  ";

        List<Element> made = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            made.add(diskElement(doc, storage, disks.get(i), targetDev(i), childIndent));
        }
        if (storage.leaseDir() != null) {
            for (StorageSpec.Disk d : disks) {
                if (pool(storage, d) instanceof StorageSpec.Iscsi && !d.shareable()) {
                    made.add(leaseElement(doc, storage.leaseDir(), d.leaseKey(), childIndent));
                }
            }
        }
        if (ref != null) {
            // the whitespace in front of ref now indents the first new element
            for (Element e : made) {
                devices.insertBefore(e, ref);
                devices.insertBefore(doc.createTextNode("\n" + indent), ref);
            }
        } else {
            for (Element e : made) {
                devices.appendChild(doc.createTextNode("\n" + indent));
                devices.appendChild(e);
            }
            if (!made.isEmpty()) {
                devices.appendChild(doc.createTextNode("\n" + outdent(indent)));
            }
        }
        for (Element e : old) {
            Node prev = e.getPreviousSibling();
            if (isWhitespace(prev)) {
                devices.removeChild(prev);
            }
            devices.removeChild(e);
        }
        return serialize(doc, domainXml.stripLeading().startsWith("<?xml"));
    }

    /**
     * Returns {@code domainXml} with a lockd {@code <lease>} for each non-shareable LUN of
     * {@code disks} (at the end of {@code <devices>}, replacing leases of the same key), its own
     * disk elements untouched: for a definition whose disks are the VM's own ({@code vm import}).
     * Without a lease directory it returns the XML unchanged.
     */
    public static String withLeases(String domainXml, StorageSpec storage, List<StorageSpec.Disk> disks) {
        if (storage.leaseDir() == null) {
            return domainXml;
        }
        Document doc = parse(domainXml);
        Element devices = child(doc.getDocumentElement(), "devices");
        if (devices == null) {
            throw new IllegalArgumentException("the domain has no <devices>");
        }
        Set<String> keys = new HashSet<>();
        List<StorageSpec.Disk> leased = new ArrayList<>();
        for (StorageSpec.Disk d : disks) {
            if (pool(storage, d) instanceof StorageSpec.Iscsi && !d.shareable()) {
                keys.add(d.leaseKey());
                leased.add(d);
            }
        }
        if (leased.isEmpty()) {
            return domainXml;
        }
        List<Element> old = new ArrayList<>();
        for (Node n = devices.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && isOurLease(e, keys)) {
                old.add(e);
            }
        }
        old.forEach(devices::removeChild);
        for (StorageSpec.Disk d : leased) {
            devices.appendChild(leaseElement(doc, storage.leaseDir(), d.leaseKey(), "      "));
        }
        return serialize(doc, domainXml.stripLeading().startsWith("<?xml"));
    }

    /**
     * Whether live migration of a VM with these disks needs VIR_MIGRATE_UNSAFE: some disk is a file
     * on a shared-dir pool libvirt does not recognise as shared (network disks never need it).
     */
    public static boolean needsUnsafeMigration(StorageSpec storage, List<StorageSpec.Disk> disks) {
        for (StorageSpec.Disk d : disks) {
            if (pool(storage, d) instanceof StorageSpec.SharedDir sd && !sd.libvirtSeesShared()) {
                return true;
            }
        }
        return false;
    }

    /** vda … vdz, vdaa … (as libvirt names virtio disks). */
    public static String targetDev(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("negative disk index " + index);
        }
        StringBuilder s = new StringBuilder();
        int i = index;
        do {
            s.append((char) ('a' + i % 26));
            i = i / 26 - 1;
        } while (i >= 0);
        return "vd" + s.reverse();
    }

    private static StorageSpec.Pool pool(StorageSpec storage, StorageSpec.Disk d) {
        StorageSpec.Pool p = storage.pools().get(d.pool());
        if (p == null) {
            throw new IllegalArgumentException("disk " + d.name() + ": unknown pool '" + d.pool() + "'");
        }
        return p;
    }

    private static Element diskElement(Document doc, StorageSpec storage, StorageSpec.Disk d, String dev,
            String indent) {
        StorageSpec.Pool p = pool(storage, d);
        Element disk = doc.createElement("disk");
        Element driver = doc.createElement("driver");
        driver.setAttribute("name", "qemu");
        Element source = doc.createElement("source");
        if (p instanceof StorageSpec.SharedDir sd) {
            if (d.volume() == null) {
                throw new IllegalArgumentException("disk " + d.name() + ": no volume on shared-dir pool " + sd.name());
            }
            disk.setAttribute("type", "file");
            driver.setAttribute("type", d.format() == null ? StorageSpec.Format.RAW.word : d.format().word);
            source.setAttribute("file", d.file(sd).toString());
        } else if (p instanceof StorageSpec.Iscsi is) {
            if (d.lun() == null) {
                throw new IllegalArgumentException("disk " + d.name() + ": no LUN on iscsi pool " + is.name());
            }
            disk.setAttribute("type", "network");
            driver.setAttribute("type", StorageSpec.Format.RAW.word);
            source.setAttribute("protocol", "iscsi");
            source.setAttribute("name", is.target() + "/" + d.lun());
            Element host = doc.createElement("host");
            host.setAttribute("name", is.host());
            host.setAttribute("port", Integer.toString(is.port()));
            source.appendChild(doc.createTextNode("\n" + indent + "  "));
            source.appendChild(host);
            source.appendChild(doc.createTextNode("\n" + indent));
        } else {
            throw new IllegalArgumentException("disk " + d.name() + ": pool type " + p.type() + " is not supported");
        }
        disk.setAttribute("device", "disk");
        driver.setAttribute("cache", "none");
        Element target = doc.createElement("target");
        target.setAttribute("dev", dev);
        target.setAttribute("bus", "virtio");
        List<Element> kids = new ArrayList<>(List.of(driver, source, target));
        if (d.shareable()) {
            kids.add(doc.createElement("shareable"));
        }
        appendIndented(doc, disk, kids, indent);
        return disk;
    }

    /**
     * An explicit lockd lease: lockspace = the lease directory's name, target = its parent, so
     * that the lease file is {@code leaseDir/KEY} (leaseDir is virtlockd's file_lockspace_dir).
     */
    private static Element leaseElement(Document doc, Path leaseDir, String key, String indent) {
        Path name = leaseDir.getFileName();
        Path parent = leaseDir.getParent();
        if (name == null || parent == null) {
            throw new IllegalArgumentException("storage.leaseDir " + leaseDir
                    + ": a lease needs a directory with a parent (lockspace = its name, target = its parent)");
        }
        Element lease = doc.createElement("lease");
        Element lockspace = doc.createElement("lockspace");
        lockspace.setTextContent(name.toString());
        Element k = doc.createElement("key");
        k.setTextContent(key);
        Element target = doc.createElement("target");
        target.setAttribute("path", parent.toString());
        appendIndented(doc, lease, List.of(lockspace, k, target), indent);
        return lease;
    }

    private static void appendIndented(Document doc, Element parent, List<Element> kids, String indent) {
        for (Element k : kids) {
            parent.appendChild(doc.createTextNode("\n" + indent));
            parent.appendChild(k);
        }
        parent.appendChild(doc.createTextNode("\n" + outdent(indent)));
    }

    /** A disk whose storage the configuration replaces: device disk (the default) or lun. */
    private static boolean isBlockDisk(Element e) {
        if (!"disk".equals(e.getTagName())) {
            return false;
        }
        String device = e.getAttribute("device");
        return device.isEmpty() || "disk".equals(device) || "lun".equals(device);
    }

    private static boolean isOurLease(Element e, Set<String> keys) {
        if (!"lease".equals(e.getTagName())) {
            return false;
        }
        Element key = child(e, "key");
        return key != null && keys.contains(key.getTextContent().strip());
    }

    private static Element firstElement(Element parent) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                return e;
            }
        }
        return null;
    }

    private static boolean isWhitespace(Node n) {
        return n != null && n.getNodeType() == Node.TEXT_NODE && n.getNodeValue().isBlank();
    }

    /** The indentation of {@code e} (the whitespace after the last newline before it), or a guess. */
    private static String indentOf(Element e, Element devices) {
        Node prev = e == null ? null : e.getPreviousSibling();
        if (isWhitespace(prev) && prev.getNodeValue().contains("\n")) {
            String v = prev.getNodeValue();
            return v.substring(v.lastIndexOf('\n') + 1);
        }
        // no element to copy from: one step deeper than <devices>
        Node before = devices.getPreviousSibling();
        if (isWhitespace(before) && before.getNodeValue().contains("\n")) {
            String v = before.getNodeValue();
            return v.substring(v.lastIndexOf('\n') + 1) + "  ";
        }
        return "    ";
    }

    private static String outdent(String indent) {
        return indent.substring(0, Math.max(0, indent.length() - 2));
    }
}
