package io.havm.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.StorageSpec;
import io.havm.model.StorageSpec.Disk;
import io.havm.model.StorageSpec.Format;
import java.io.StringReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** The disks of a domain XML replaced by the configured ones, as libvirt 9.0 / QEMU 7.2 accepted them in the lab. */
class DomainDisksTest {
    static final Path LEASES = Path.of("/var/lib/havm-lab/shared/lockd");
    static final StorageSpec.SharedDir SHARED = new StorageSpec.SharedDir("shared",
            Path.of("/var/lib/havm-lab/shared/pool"), false);
    static final StorageSpec.SharedDir NFS = new StorageSpec.SharedDir("nfs", Path.of("/mnt/nfs"), true);
    static final StorageSpec.Iscsi LAB = new StorageSpec.Iscsi("lab", "10.77.0.1", 3260, "iqn.2026-11.io.havm:lab",
            List.of(1, 2, 3, 4, 5, 6, 7, 8));
    static final Disk WEB_OS = new Disk("web-os", "shared", "web.qcow2", null, Format.QCOW2, 64L << 20, null, false);
    static final Disk WEB_DATA = new Disk("web-data", "lab", null, 5, Format.RAW, 0, null, false);
    static final Disk WITNESS = new Disk("gc-witness", "shared", "gc-witness.raw", null, Format.RAW, 64L << 20, null,
            true);
    static final Disk QUORUM = new Disk("gc-quorum", "lab", null, 6, Format.RAW, 0, null, true);
    static final Disk DB = new Disk("db", "nfs", "db.qcow2", null, Format.QCOW2, 1L << 30, null, false);

    static StorageSpec storage(Path leaseDir) {
        List<Disk> all = List.of(WEB_OS, WEB_DATA, WITNESS, QUORUM, DB);
        Map<String, Disk> disks = new java.util.TreeMap<>();
        all.forEach(d -> disks.put(d.name(), d));
        return new StorageSpec(leaseDir, Map.of("shared", SHARED, "nfs", NFS, "lab", LAB), disks);
    }

    static final String DOMAIN = """
            <domain type='kvm'>
              <name>web</name>
              <memory unit='MiB'>256</memory>
              <os>
                <type arch='x86_64'>hvm</type>
                <kernel>/var/lib/havm-lab/images/vmlinuz</kernel>
              </os>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='qcow2'/>
                  <source file='/var/lib/libvirt/images/old-a.qcow2'/>
                  <target dev='vda' bus='virtio'/>
                </disk>
                <interface type='network'>
                  <source network='havm-lab'/>
                </interface>
                <disk type='block' device='disk'>
                  <source dev='/dev/sdz'/>
                  <target dev='vdb' bus='virtio'/>
                </disk>
                <disk type='file' device='cdrom'>
                  <source file='/var/lib/havm-lab/images/seed.iso'/>
                  <target dev='sda' bus='sata'/>
                  <readonly/>
                </disk>
                <serial type='file'><source path='/tmp/web.log'/></serial>
              </devices>
            </domain>
            """;

    static Document parse(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        return f.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    }

    static Element devices(Document d) {
        return (Element) d.getDocumentElement().getElementsByTagName("devices").item(0);
    }

    /** Element children of devices, by tag. */
    static List<String> deviceTags(Document d) {
        List<String> out = new ArrayList<>();
        for (Node n = devices(d).getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                out.add(e.getTagName() + ("disk".equals(e.getTagName()) ? ":" + target(e) : ""));
            }
        }
        return out;
    }

    static String target(Element disk) {
        return ((Element) disk.getElementsByTagName("target").item(0)).getAttribute("dev");
    }

    static List<Element> disks(Document d) {
        List<Element> out = new ArrayList<>();
        NodeList l = devices(d).getElementsByTagName("disk");
        for (int i = 0; i < l.getLength(); i++) {
            Element e = (Element) l.item(i);
            if ("disk".equals(e.getAttribute("device"))) {
                out.add(e);
            }
        }
        return out;
    }

    static Element child(Element e, String tag) {
        NodeList l = e.getElementsByTagName(tag);
        return l.getLength() == 0 ? null : (Element) l.item(0);
    }

    static List<Element> leases(Document d) {
        List<Element> out = new ArrayList<>();
        NodeList l = devices(d).getElementsByTagName("lease");
        for (int i = 0; i < l.getLength(); i++) {
            out.add((Element) l.item(i));
        }
        return out;
    }

    @Test
    void fileDiskOnASharedDirPool() throws Exception {
        Document d = parse(DomainDisks.rewrite(DOMAIN, storage(LEASES), List.of(WEB_OS)));
        List<Element> disks = disks(d);
        assertEquals(1, disks.size());
        Element disk = disks.get(0);
        assertEquals("file", disk.getAttribute("type"));
        Element driver = child(disk, "driver");
        assertEquals("qemu", driver.getAttribute("name"));
        assertEquals("qcow2", driver.getAttribute("type"));
        assertEquals("none", driver.getAttribute("cache"));
        assertEquals("/var/lib/havm-lab/shared/pool/web.qcow2", child(disk, "source").getAttribute("file"));
        assertEquals("vda", target(disk));
        assertEquals("virtio", child(disk, "target").getAttribute("bus"));
        assertEquals(null, child(disk, "shareable"));
        assertEquals(List.of(), leases(d), "lockd leases file disks by itself");
    }

    @Test
    void iscsiLunThroughQemusInitiatorWithAnExplicitLease() throws Exception {
        Document d = parse(DomainDisks.rewrite(DOMAIN, storage(LEASES), List.of(WEB_DATA)));
        Element disk = disks(d).get(0);
        assertEquals("network", disk.getAttribute("type"));
        assertEquals("raw", child(disk, "driver").getAttribute("type"));
        assertEquals("none", child(disk, "driver").getAttribute("cache"));
        Element source = child(disk, "source");
        assertEquals("iscsi", source.getAttribute("protocol"));
        assertEquals("iqn.2026-11.io.havm:lab/5", source.getAttribute("name"));
        Element host = child(source, "host");
        assertEquals("10.77.0.1", host.getAttribute("name"));
        assertEquals("3260", host.getAttribute("port"));
        assertEquals("vda", target(disk));

        List<Element> leases = leases(d);
        assertEquals(1, leases.size());
        Element lease = leases.get(0);
        assertEquals(devices(d), lease.getParentNode(), "a lease is a child of <devices>");
        assertEquals("lockd", child(lease, "lockspace").getTextContent());
        assertEquals("havm-disk-web-data", child(lease, "key").getTextContent());
        assertEquals(WEB_DATA.leaseKey(), child(lease, "key").getTextContent());
        assertEquals("/var/lib/havm-lab/shared", child(lease, "target").getAttribute("path"));
    }

    @Test
    void noLeaseWithoutALeaseDirectory() throws Exception {
        Document d = parse(DomainDisks.rewrite(DOMAIN, storage(null), List.of(WEB_OS, WEB_DATA)));
        assertEquals(2, disks(d).size());
        assertEquals(List.of(), leases(d));
    }

    @Test
    void shareableDisksGetShareableAndNoLease() throws Exception {
        Document d = parse(DomainDisks.rewrite(DOMAIN, storage(LEASES), List.of(WEB_OS, WITNESS, QUORUM)));
        List<Element> disks = disks(d);
        assertEquals(List.of("vda", "vdb", "vdc"), disks.stream().map(DomainDisksTest::target).toList());
        assertEquals(null, child(disks.get(0), "shareable"));
        assertTrue(child(disks.get(1), "shareable") != null);
        assertEquals("raw", child(disks.get(1), "driver").getAttribute("type"));
        assertEquals("/var/lib/havm-lab/shared/pool/gc-witness.raw", child(disks.get(1), "source").getAttribute("file"));
        assertTrue(child(disks.get(2), "shareable") != null);
        assertEquals("network", disks.get(2).getAttribute("type"));
        assertEquals(List.of(), leases(d), "several VMs write a shareable LUN at once: no exclusive lease");
    }

    @Test
    void disksComeInTheGivenOrderWhereTheFirstOldDiskWasAndOldOnesGo() throws Exception {
        String out = DomainDisks.rewrite(DOMAIN, storage(LEASES), List.of(WEB_DATA, WEB_OS, DB));
        Document d = parse(out);
        assertEquals(List.of("emulator", "disk:vda", "disk:vdb", "disk:vdc", "lease", "interface", "disk:sda",
                "serial"), deviceTags(d));
        List<Element> disks = disks(d);
        assertEquals("iqn.2026-11.io.havm:lab/5", child(disks.get(0), "source").getAttribute("name"));
        assertEquals("/var/lib/havm-lab/shared/pool/web.qcow2", child(disks.get(1), "source").getAttribute("file"));
        assertEquals("/mnt/nfs/db.qcow2", child(disks.get(2), "source").getAttribute("file"));
        assertFalse(out.contains("old-a.qcow2"));
        assertFalse(out.contains("/dev/sdz"));
        assertTrue(out.contains("seed.iso"), "a CD-ROM is not storage havm manages: it stays");
        // the rest stays as it was
        assertEquals("web", d.getDocumentElement().getElementsByTagName("name").item(0).getTextContent());
        assertEquals("kvm", d.getDocumentElement().getAttribute("type"));
        assertTrue(out.contains("<kernel>/var/lib/havm-lab/images/vmlinuz</kernel>"), out);
        assertTrue(out.contains("<source network=\"havm-lab\"/>"), out);
        assertFalse(out.startsWith("<?xml"), "no declaration added");
        assertFalse(out.contains("\n\n"), "no blank lines left where old disks were:\n" + out);
        assertTrue(out.contains("\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    <disk "), out);
        assertTrue(out.contains("\n      <driver "), "indented like the rest:\n" + out);
    }

    @Test
    void withoutDisksInTheDefinitionTheyGoFirstInDevices() throws Exception {
        String xml = "<domain type='kvm'><name>x</name><devices><emulator>/usr/bin/qemu</emulator>"
                + "<interface type='network'><source network='n'/></interface></devices></domain>";
        Document d = parse(DomainDisks.rewrite(xml, storage(LEASES), List.of(WEB_OS, WEB_DATA)));
        assertEquals(List.of("disk:vda", "disk:vdb", "lease", "emulator", "interface"), deviceTags(d));
    }

    @Test
    void emptyOrMissingDevicesGetTheDisks() throws Exception {
        Document d = parse(DomainDisks.rewrite("<domain><name>x</name><devices/></domain>", storage(LEASES),
                List.of(WEB_OS)));
        assertEquals(List.of("disk:vda"), deviceTags(d));
        d = parse(DomainDisks.rewrite("<domain><name>x</name></domain>", storage(LEASES), List.of(WEB_OS)));
        assertEquals(List.of("disk:vda"), deviceTags(d));
    }

    @Test
    void rewritingARewrittenDefinitionChangesNothing() {
        String once = DomainDisks.rewrite(DOMAIN, storage(LEASES), List.of(WEB_OS, WEB_DATA));
        String twice = DomainDisks.rewrite(once, storage(LEASES), List.of(WEB_OS, WEB_DATA));
        assertEquals(once, twice);
    }

    @Test
    void otherLeasesAreKeptOursReplaced() throws Exception {
        String xml = "<domain><name>x</name><devices>"
                + "<lease><lockspace>other</lockspace><key>theirs</key><target path='/x'/></lease>"
                + "<lease><lockspace>lockd</lockspace><key>havm-disk-web-data</key><target path='/old'/></lease>"
                + "</devices></domain>";
        Document d = parse(DomainDisks.rewrite(xml, storage(LEASES), List.of(WEB_DATA)));
        List<String> keys = leases(d).stream().map(l -> child(l, "key").getTextContent()).toList();
        assertEquals(List.of("havm-disk-web-data", "theirs"), keys.stream().sorted().toList());
        assertFalse(DomainDisks.rewrite(xml, storage(LEASES), List.of(WEB_DATA)).contains("/old"));
    }

    @Test
    void valuesAreEscaped() throws Exception {
        StorageSpec.SharedDir odd = new StorageSpec.SharedDir("odd", Path.of("/srv/a&b'<c>\""), false);
        Disk disk = new Disk("odd", "odd", "v&'.raw", null, Format.RAW, 1, null, false);
        StorageSpec st = new StorageSpec(null, Map.of("odd", odd), Map.of("odd", disk));
        String out = DomainDisks.rewrite(DOMAIN, st, List.of(disk));
        Document d = parse(out);
        assertEquals("/srv/a&b'<c>\"/v&'.raw", child(disks(d).get(0), "source").getAttribute("file"));
    }

    @Test
    void keepsTheDeclarationAndOtherNamespacesAsWritten() throws Exception {
        String xml = "<?xml version='1.0' encoding='UTF-8'?>\n"
                + "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>x</name>"
                + "<devices><disk type='file'><source file='/a'/><target dev='vda'/></disk></devices>"
                + "<qemu:commandline><qemu:arg value='-no-hpet'/></qemu:commandline></domain>";
        String out = DomainDisks.rewrite(xml, storage(null), List.of(WEB_OS));
        assertTrue(out.startsWith("<?xml"), out);
        assertTrue(out.contains("<qemu:commandline><qemu:arg value=\"-no-hpet\"/></qemu:commandline>"), out);
        assertTrue(out.contains("xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\""), out);
        assertEquals(List.of("disk:vda"), deviceTags(parse(out)));
    }

    @Test
    void refusesWhatIsNotADomainOrDoesNotParse() {
        assertThrows(IllegalArgumentException.class, () -> DomainDisks.rewrite("<domain><devices>", storage(null),
                List.of(WEB_OS)));
        assertThrows(IllegalArgumentException.class, () -> DomainDisks.rewrite("<network/>", storage(null),
                List.of(WEB_OS)));
        assertThrows(IllegalArgumentException.class, () -> DomainDisks.rewrite(
                "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain>&x;</domain>", storage(null),
                List.of(WEB_OS)));
        Disk lost = new Disk("lost", "nowhere", "v.raw", null, Format.RAW, 1, null, false);
        assertThrows(IllegalArgumentException.class, () -> DomainDisks.rewrite(DOMAIN, storage(null), List.of(lost)));
    }

    @Test
    void targetDevicesFollowLibvirtsNaming() {
        assertEquals("vda", DomainDisks.targetDev(0));
        assertEquals("vdb", DomainDisks.targetDev(1));
        assertEquals("vdz", DomainDisks.targetDev(25));
        assertEquals("vdaa", DomainDisks.targetDev(26));
        assertEquals("vdab", DomainDisks.targetDev(27));
    }

    @Test
    void onlyFilesOnAPoolLibvirtDoesNotSeeAsSharedNeedUnsafeMigration() {
        StorageSpec st = storage(LEASES);
        assertTrue(DomainDisks.needsUnsafeMigration(st, List.of(WEB_DATA, WEB_OS)));
        assertTrue(DomainDisks.needsUnsafeMigration(st, List.of(WITNESS)));
        assertFalse(DomainDisks.needsUnsafeMigration(st, List.of(WEB_DATA, QUORUM)), "network disks never need it");
        assertFalse(DomainDisks.needsUnsafeMigration(st, List.of(DB)), "libvirt sees this pool as shared");
        assertFalse(DomainDisks.needsUnsafeMigration(st, List.of()));
    }
}
