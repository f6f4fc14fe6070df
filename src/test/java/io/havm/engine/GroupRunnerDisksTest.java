package io.havm.engine;

import io.havm.resource.NodeResources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.port.Hypervisor;
import io.havm.port.MigrationOptions;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import io.havm.model.Result;
import io.havm.port.VmProperties;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** A VM that lists disk resources runs with the configured disks; live moves know when libvirt needs UNSAFE. */
class GroupRunnerDisksTest {
    @TempDir
    Path dir;
    ClusterSpec spec;
    Recording h1;
    Recording h2;
    GroupRunner runner;
    NodeResources resources;

    /** A fake hypervisor that keeps the XML it was given and the options of live migrations. */
    static final class Recording extends FakeHypervisor {
        final List<String> defined = new ArrayList<>();
        final List<MigrationOptions> migrations = new ArrayList<>();

        Recording(String host) {
            super(host);
        }

        @Override
        public String define(String xml) {
            defined.add(xml);
            return super.define(xml);
        }

        @Override
        public void migrateLive(String d, Hypervisor target, MigrationOptions o) {
            migrations.add(o);
            super.migrateLive(d, target, o);
        }
    }

    static final String DOMAIN = """
            <domain type='kvm'>
              <name>%s</name>
              <devices>
                <disk type='file' device='disk'>
                  <source file='/images/%s-local.qcow2'/>
                  <target dev='vda' bus='virtio'/>
                </disk>
              </devices>
            </domain>
            """;

    Path definition(String domain) throws Exception {
        Path p = dir.resolve(domain + ".xml");
        Files.writeString(p, DOMAIN.formatted(domain, domain));
        return p;
    }

    @BeforeEach
    void setUp() throws Exception {
        String yaml = """
                cluster:
                  nodes:
                    - {name: host1, uri: qemu+tcp://10.77.0.11/system, memoryMiB: 2048}
                    - {name: host2, uri: qemu+tcp://10.77.0.12/system, memoryMiB: 2048}
                storage:
                  leaseDir: /var/lib/havm-lab/shared/lockd
                  pools:
                    shared: {type: shared-dir, path: /var/lib/havm-lab/shared/pool, libvirtSeesShared: false}
                    nfs: {type: shared-dir, path: /mnt/nfs, libvirtSeesShared: true}
                    lab: {type: iscsi, portal: 10.77.0.1:3260, target: iqn.2026-11.io.havm:lab, luns: [1,2,3,4,5,6,7,8]}
                  disks:
                    web-os: {pool: shared, volume: web.qcow2, format: qcow2, size: 64M}
                    web-data: {pool: lab, lun: 5}
                    db-data: {pool: lab, lun: 6}
                    files-os: {pool: nfs, volume: files.qcow2, format: qcow2, size: 64M}
                groups:
                  web:
                    resources:
                      os: {type: disk, disk: web-os}
                      data: {type: disk, disk: web-data}
                      vm: {type: vm, disks: [os, data], properties: {domain: web, definition: DIR/web.xml, stateDir: DIR}}
                  db:
                    resources:
                      data: {type: disk, disk: db-data}
                      vm: {type: vm, disks: [data], properties: {domain: db, definition: DIR/db.xml, stateDir: DIR}}
                  files:
                    resources:
                      os: {type: disk, disk: files-os}
                      vm: {type: vm, disks: [os], properties: {domain: files, definition: DIR/files.xml, stateDir: DIR}}
                  legacy:
                    resources:
                      vm: {type: vm, properties: {domain: legacy, definition: DIR/legacy.xml, stateDir: DIR, unsafeSharedStorage: "true"}}
                  plain:
                    resources:
                      vm: {type: vm, properties: {domain: plain, definition: DIR/plain.xml, stateDir: DIR}}
                """.replace("DIR", dir.toString());
        spec = ClusterConfigLoader.parse("c.yaml", yaml).spec();
        for (String d : List.of("web", "db", "files", "legacy", "plain")) {
            definition(d);
        }
        h1 = new Recording("host1");
        h2 = new Recording("host2");
        Map<String, Hypervisor> hvs = Map.of("host1", h1, "host2", h2);
        resources = TestPorts.resources(spec, "host1", h1, new ManualClock());
        runner = new GroupRunner(spec, "host1", hvs, new ManualClock(), resources);
    }

    static Document parse(String xml) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    }

    static List<Element> disks(Document d) {
        List<Element> out = new ArrayList<>();
        NodeList l = d.getElementsByTagName("disk");
        for (int i = 0; i < l.getLength(); i++) {
            out.add((Element) l.item(i));
        }
        return out;
    }

    static Element first(Element e, String tag) {
        return (Element) e.getElementsByTagName(tag).item(0);
    }

    @Test
    void theDefinitionCarriesTheDisksOfTheVmsDiskResourcesInOrder() throws Exception {
        VmProperties p = runner.vmProperties(spec.groups().get("web"), spec.groups().get("web").resources().get("vm"));
        assertEquals("web", p.domain());
        Document d = parse(p.definitionXml());
        List<Element> disks = disks(d);
        assertEquals(2, disks.size(), p.definitionXml());
        assertEquals("/var/lib/havm-lab/shared/pool/web.qcow2", first(disks.get(0), "source").getAttribute("file"));
        assertEquals("vda", first(disks.get(0), "target").getAttribute("dev"));
        assertEquals("iqn.2026-11.io.havm:lab/5", first(disks.get(1), "source").getAttribute("name"));
        assertEquals("vdb", first(disks.get(1), "target").getAttribute("dev"));
        assertFalse(p.definitionXml().contains("web-local.qcow2"), "the definition's own disk is replaced");
        assertEquals("havm-disk-web-data", first(first(d.getDocumentElement(), "lease"), "key").getTextContent());
    }

    @Test
    void eachVmGetsItsOwnGroupsDisksAmongGroupsWithTheSameResourceNames() throws Exception {
        // web and db both have resources "vm" and "data"; each VM gets its own group's disk
        String db = runner.vmProperties(spec.groups().get("db"), spec.groups().get("db").resources().get("vm")).definitionXml();
        List<Element> disks = disks(parse(db));
        assertEquals(1, disks.size(), db);
        assertEquals("iqn.2026-11.io.havm:lab/6", first(disks.get(0), "source").getAttribute("name"));
        String web = runner.vmProperties(spec.groups().get("web"), spec.groups().get("web").resources().get("vm")).definitionXml();
        assertEquals(2, disks(parse(web)).size(), web);
    }

    @Test
    void onlineDefinesTheRewrittenDomain() throws Exception {
        Result r = runner.resource("web", "vm").online();
        assertTrue(r.ok(), r.detail());
        assertEquals(1, h1.defined.size());
        String xml = h1.defined.get(0);
        assertTrue(xml.contains("/var/lib/havm-lab/shared/pool/web.qcow2"), xml);
        assertTrue(xml.contains("iqn.2026-11.io.havm:lab/5"), xml);
        assertNotNull(parse(xml));
    }

    @Test
    void aVmWithoutDiskResourcesKeepsItsDefinitionAsWritten() throws Exception {
        VmProperties p = runner.vmProperties(spec.groups().get("plain"), spec.groups().get("plain").resources().get("vm"));
        assertEquals(Files.readString(dir.resolve("plain.xml")), p.definitionXml());
    }

    @Test
    void liveMigrationIsUnsafeOnlyForFilesOnAPoolLibvirtTakesForLocal() {
        assertTrue(resources.migrationOptions(spec.groups().get("web")).unsafeSharedStorage(),
                "web.qcow2 lives on a shared-dir pool libvirt does not see as shared");
        assertFalse(resources.migrationOptions(spec.groups().get("db")).unsafeSharedStorage(),
                "iSCSI network disks never need it");
        assertFalse(resources.migrationOptions(spec.groups().get("files")).unsafeSharedStorage(),
                "libvirt sees the nfs pool as shared");
        assertTrue(resources.migrationOptions(spec.groups().get("legacy")).unsafeSharedStorage(),
                "the unsafeSharedStorage property still counts");
        assertFalse(resources.migrationOptions(spec.groups().get("plain")).unsafeSharedStorage());
    }

    @Test
    void aLiveMoveUsesTheGroupsMigrationOptions() {
        h1.put("legacy", true);
        h1.put("plain", true);
        assertTrue(runner.move("legacy", "host2", MoveMode.LIVE).ok());
        assertTrue(runner.move("plain", "host2", MoveMode.LIVE).ok());
        assertEquals(List.of(true, false), h1.migrations.stream().map(MigrationOptions::unsafeSharedStorage).toList());
    }

    @Test
    void aClusterWithMigrationTlsMigratesOverTls() {
        assertFalse(resources.migrationOptions(spec.groups().get("plain")).tls(), "off by default");
        ClusterSpec tls = new ClusterSpec(spec.name(), spec.nodes(), spec.groups(), spec.timers(), spec.zookeeper(),
                spec.admission(), spec.migrationsPerHost(), spec.storage(), spec.heartbeat(), spec.watchdog(), true);
        NodeResources r = TestPorts.resources(tls, "host1", h1, new ManualClock());
        GroupRunner run = new GroupRunner(tls, "host1", Map.of("host1", h1, "host2", h2), new ManualClock(), r);
        h1.put("plain", true);
        assertTrue(run.move("plain", "host2", MoveMode.LIVE).ok());
        assertEquals(List.of(new MigrationOptions(false, 0, 0, true)), h1.migrations);
    }
}
