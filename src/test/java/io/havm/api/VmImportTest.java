package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.port.DomainState;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** vm import's checks and what it makes, against libvirt hosts answered by a fake. */
class VmImportTest {
    static final String MAIN = """
            cluster:
              name: c
              zookeeper: '127.0.0.1:2181'
              nodes:
                - {name: h1, uri: 'qemu+tcp://h1/system'}
                - {name: h2, uri: 'qemu+tcp://h2/system'}
                - {name: h3, uri: 'qemu+tcp://h3/system'}
            storage:
              leaseDir: /srv/lockd
              pools:
                shared: {type: shared-dir, path: /srv/pool}
                san: {type: iscsi, portal: '10.0.0.5:3260', target: 'iqn.2026-11.org.example:san'}
            groups:
              old:
                resources:
                  vm: {type: vm, memoryMiB: 256, properties: {domain: olddom, definition: /srv/pool/d.xml, stateDir: /srv/pool/save}}
            """;

    static String domain(String disk, String nics) {
        return "<domain type='kvm'><name>web</name><memory unit='KiB'>524288</memory><devices>" + disk + nics
                + "</devices></domain>";
    }

    static final String FILE_DISK = "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            + "<source file='/srv/pool/web.qcow2'/><target dev='sda' bus='sata'/></disk>"
            + "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>";

    /** One fake host: its domains (name to XML, live and inactive alike), persistence, networks. */
    record Fake(Map<String, String> xml, DomainState.Kind kind, boolean persistent, Map<String, Boolean> nets)
            implements VmImport.Host {
        @Override
        public Optional<DomainState> state(String d) {
            return xml.containsKey(d) ? Optional.of(new DomainState(kind, 0, "")) : Optional.empty();
        }

        @Override
        public List<String> domains() {
            return List.copyOf(xml.keySet());
        }

        @Override
        public boolean persistent(String d) {
            return persistent;
        }

        @Override
        public String xml(String d, boolean inactive) {
            return xml.get(d);
        }

        @Override
        public Optional<Boolean> networkActive(String n) {
            return Optional.ofNullable(nets.get(n));
        }

        @Override
        public long capacity(String d, String target) {
            return 16L << 20;
        }
    }

    static Map<String, VmImport.Host> hosts(String xml, DomainState.Kind kind, boolean persistent,
            Map<String, Boolean> h3nets) {
        Map<String, VmImport.Host> m = new TreeMap<>();
        m.put("h1", new Fake(Map.of(), kind, true, Map.of("lan", true)));
        m.put("h2", new Fake(Map.of("web", xml), kind, persistent, Map.of("lan", true)));
        m.put("h3", new Fake(Map.of(), kind, true, h3nets));
        return m;
    }

    static Map<String, String> files() {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("cluster.yaml", MAIN);
        return f;
    }

    static ClusterSpec spec() {
        return ClusterConfigLoader.parse(files()).spec();
    }

    static VmImport.Plan plan(Map<String, VmImport.Host> hosts, List<String> owners) {
        return VmImport.plan(files(), spec(), "web", "h2", null, owners, null, null, hosts);
    }

    static String refused(Map<String, VmImport.Host> hosts) {
        return assertThrows(InvalidInputException.class, () -> plan(hosts, List.of())).getMessage();
    }

    @Test
    void aRunningDomainOnSharedStorageBecomesAGroupThatKeepsItsOwnDisksAndMac() {
        String nic = "<interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='lan'/></interface>";
        VmImport.Plan p = plan(hosts(domain(FILE_DISK, nic), DomainState.Kind.RUNNING, true, Map.of("lan", true)),
                List.of());
        assertEquals("cluster.d/vm-web.yaml", p.fragmentName());
        assertEquals(Path.of("/srv/pool/definitions/web.xml"), p.definition());
        Map<String, String> next = new LinkedHashMap<>(files());
        next.put(p.fragmentName(), p.fragment());
        ClusterSpec s = ClusterConfigLoader.parse(next).spec();
        var g = s.groups().get("web");
        assertEquals(Set.of("sda", "vm"), g.resources().keySet());
        assertEquals(List.of("sda"), g.resources().get("vm").dependsOn());
        assertEquals(512, g.memoryMiB());
        assertEquals("web.qcow2", s.storage().disks().get("web-sda").volume());
        assertTrue(p.definitionXml().contains("bus=\"sata\"") || p.definitionXml().contains("bus='sata'"),
                "its own disk elements stay: " + p.definitionXml());
        assertTrue(p.definitionXml().contains("52:54:00:aa:bb:cc"), p.definitionXml());
    }

    @Test
    void everyReasonItCannotBeHaIsSaidAtOnce() {
        String local = "<disk type='file' device='disk'><driver type='qcow2'/><source file='/var/lib/libvirt/images/w.qcow2'/>"
                + "<target dev='vda'/></disk><disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb'/></disk>";
        String nic = "<interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='lan'/></interface>";
        String why = refused(hosts(domain(local, nic), DomainState.Kind.RUNNING, true, Map.of("lan", false)));
        assertTrue(why.contains("disk vda: /var/lib/libvirt/images/w.qcow2 is in no shared-dir pool of the cluster"
                + " (shared = /srv/pool)"), why);
        assertTrue(why.contains("disk vdb: a block disk (dev=/dev/sdb)"), why);
        assertTrue(why.contains("interface 1: network 'lan' is missing on h3 (defined, not active)"), why);
        assertTrue(why.contains("nothing changed"), why);
    }

    @Test
    void badDomainsAreRefusedWithTheReason() {
        String ok = domain(FILE_DISK, "");
        assertTrue(refused(hosts(ok, DomainState.Kind.RUNNING, false, Map.of())).contains("is transient on h2"));
        assertTrue(refused(hosts(ok, DomainState.Kind.SHUTOFF, true, Map.of())).contains("start it first"));
        String unknown = assertThrows(InvalidInputException.class, () -> VmImport.plan(files(), spec(), "nope", "h2",
                null, List.of(), null, null, hosts(ok, DomainState.Kind.RUNNING, true, Map.of()))).getMessage();
        assertTrue(unknown.contains("no domain 'nope' on h2 (domains there: web)"), unknown);
        String ha = assertThrows(InvalidInputException.class, () -> VmImport.plan(files(), spec(), "web", "h2", "old",
                List.of(), null, null, hosts(ok, DomainState.Kind.RUNNING, true, Map.of()))).getMessage();
        assertTrue(ha.contains("group 'old' exists already"), ha);
        String owners = assertThrows(InvalidInputException.class, () -> plan(hosts(ok, DomainState.Kind.RUNNING, true,
                Map.of()), List.of("h1", "h3"))).getMessage();
        assertTrue(owners.contains("must include h2, where the VM runs"), owners);
        String node = assertThrows(InvalidInputException.class, () -> VmImport.plan(files(), spec(), "web", "h9",
                null, List.of(), null, null, hosts(ok, DomainState.Kind.RUNNING, true, Map.of()))).getMessage();
        assertTrue(node.contains("unknown node 'h9' (nodes: h1, h2, h3)"), node);
    }

    @Test
    void anIscsiLunOfAClusterPoolIsADiskWithALeaseInTheStoredDefinition() {
        String lun = "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='iscsi'"
                + " name='iqn.2026-11.org.example:san/3'><host name='10.0.0.5' port='3260'/></source>"
                + "<target dev='vdb' bus='virtio'/></disk>";
        VmImport.Plan p = plan(hosts(domain(FILE_DISK + lun, ""), DomainState.Kind.RUNNING, true, Map.of()), List.of());
        Map<String, String> next = new LinkedHashMap<>(files());
        next.put(p.fragmentName(), p.fragment());
        ClusterSpec s = ClusterConfigLoader.parse(next).spec();
        assertEquals(3, s.storage().disks().get("web-vdb").lun());
        assertEquals(List.of("sda", "vdb"), s.groups().get("web").resources().get("vm").dependsOn());
        assertTrue(p.definitionXml().contains("<key>" + s.storage().disks().get("web-vdb").leaseKey() + "</key>"),
                p.definitionXml());
        assertTrue(p.notes().get(0).contains("1 LUN(s): the stored definition holds a lockd lease"), p.notes().toString());

        String other = lun.replace("org.example:san", "org.example:other");
        String why = refused(hosts(domain(FILE_DISK + other, ""), DomainState.Kind.RUNNING, true, Map.of()));
        assertTrue(why.contains("disk vdb: iSCSI LUN 10.0.0.5:3260 iqn.2026-11.org.example:other/3 is on no iscsi pool"
                + " of the cluster (san = 10.0.0.5:3260 iqn.2026-11.org.example:san)"), why);
    }
}
