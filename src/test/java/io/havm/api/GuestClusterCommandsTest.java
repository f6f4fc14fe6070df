package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.CoordinationException;
import io.havm.engine.FakeHypervisor;
import io.havm.port.Hypervisor;
import io.havm.libvirt.GuestImage;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.ResourceSpec;
import io.havm.model.StorageSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.storage.Luns;
import io.havm.util.Exec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * havm guest-cluster on a configuration with fake nodes (test:///default) and shared-dir pools in a
 * temporary directory: what create makes (and that it loads), every bad input (exit 2, nothing
 * made), the rollback of a create that fails midway, remove and list. iSCSI LUN sizes come from an
 * injected function.
 */
class GuestClusterCommandsTest {
    @TempDir
    Path dir;
    Path pool;
    Path cfg;
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    /** Fails the step whose description starts with this (null: none). */
    String failAt;
    final Map<Integer, Long> lunSizes = new TreeMap<>();
    /** What remove finds: the coordinator's state (null: none yet), ZooKeeper down, each node's libvirt. */
    ClusterState clusterState;
    boolean zkDown;
    final Map<String, Hypervisor> hosts = new TreeMap<>(Map.of("n1", new FakeHypervisor("n1"),
            "n2", new FakeHypervisor("n2"), "n3", new FakeHypervisor("n3")));

    private static final String NODES = "cluster:\n  name: t\n  nodes:\n"
            + "    - {name: n1, uri: 'test:///default', memoryMiB: 1024}\n"
            + "    - {name: n2, uri: 'test:///default', memoryMiB: 1024}\n"
            + "    - {name: n3, uri: 'test:///default', memoryMiB: 1024}\n";

    @BeforeEach
    void setUp() throws IOException {
        pool = Files.createDirectories(dir.resolve("pool"));
        cfg = config("  pools:\n    shared: {type: shared-dir, path: " + pool + "}\n", "");
    }

    private Path config(String storage, String rest) throws IOException {
        return Files.writeString(dir.resolve("cluster.yaml"), NODES + "storage:\n" + storage + rest);
    }

    private int run(String... args) {
        out.reset();
        err.reset();
        Path guestDir = dir.resolve("guest");
        Main m = new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        m.guestClusterEnv = new io.havm.guestcluster.GuestClusters.Env(() -> {
            try {
                Files.createDirectories(guestDir);
                return new GuestImage(guestDir, Files.writeString(guestDir.resolve("vmlinuz"), "k"),
                        Files.writeString(guestDir.resolve("initrd.img"), "i"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, (p, lun) -> {
            Long s = lunSizes.get(lun);
            if (s == null) {
                throw new Luns.Unreachable(p.name() + " LUN " + lun + ": no such LUN", false);
            }
            return s;
        }, step -> {
            if (failAt != null && step.startsWith(failAt)) {
                throw new IllegalStateException("injected failure at " + step);
            }
        }, spec -> {
            if (zkDown) {
                throw new CoordinationException("no connection to ZooKeeper at 127.0.0.1:2181 within 3000 ms");
            }
            return Optional.ofNullable(clusterState);
        }, spec -> new TreeMap<>(hosts));
        return m.run(List.of(args));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private int create(String... extra) {
        List<String> a = new ArrayList<>(List.of("guest-cluster", "create"));
        a.addAll(List.of(extra));
        a.addAll(List.of("--domain-type", "qemu", "--config", cfg.toString()));
        return run(a.toArray(String[]::new));
    }

    /** Every file and directory under the temporary directory (but the fake guest), with its size. */
    private Map<String, Long> snapshot() throws IOException {
        Map<String, Long> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(p -> !p.startsWith(dir.resolve("guest"))).toList()) {
                m.put(dir.relativize(p).toString(), Files.isDirectory(p) ? -1 : Files.size(p));
            }
        }
        return m;
    }

    private static JsonNode qemuImgInfo(Path f) throws IOException {
        String json = Exec.run(Duration.ofSeconds(30), List.of("qemu-img", "info", "-U", "--output=json",
                f.toString())).orThrow().out();
        return new ObjectMapper().readTree(json);
    }

    @Test
    void createMakesSharedRawDisksOsDisksDefinitionsAndALoadingFragment() throws Exception {
        assertEquals(0, create("gc", "--members", "2", "--shared-disk", "witness:64M", "--shared-disk", "data:1G"),
                err());
        assertTrue(out().contains("created guest cluster gc: 2 members (gc-1 prefers n1, gc-2 prefers n2)"), out());
        assertTrue(out().contains("put it in force with havm config apply"), out());

        Path fragment = dir.resolve("cluster.d/gc.yaml");
        assertTrue(Files.readString(fragment).startsWith("# havm guest-cluster: gc\n"));
        ClusterSpec spec = ClusterConfigLoader.load(cfg).spec();
        assertEquals(List.of("gc-1", "gc-2"), List.copyOf(spec.groups().keySet()));
        StorageSpec st = spec.storage();
        for (String d : List.of("gc-witness", "gc-data")) {
            StorageSpec.Disk disk = st.disks().get(d);
            assertTrue(disk.shareable(), d);
            assertEquals(StorageSpec.Format.RAW, disk.format(), d);
            assertEquals("shared", disk.pool());
        }
        assertEquals(64L << 20, st.disks().get("gc-witness").sizeBytes());
        assertEquals(1L << 30, st.disks().get("gc-data").sizeBytes());
        for (int i = 1; i <= 2; i++) {
            StorageSpec.Disk os = st.disks().get("gc-" + i + "-os");
            assertEquals(StorageSpec.Format.QCOW2, os.format());
            assertFalse(os.shareable());
            GroupSpec g = spec.groups().get("gc-" + i);
            assertEquals(List.of(new GroupSpec.AntiAffinity("gc", true)), g.antiAffinity());
            assertEquals(List.of("data", "os", "vm", "witness"), List.copyOf(g.resources().keySet()));
            assertEquals("gc-" + i + "-os", g.resources().get("os").properties().get(ResourceSpec.DISK));
            assertEquals("gc-witness", g.resources().get("witness").properties().get(ResourceSpec.DISK));
            ResourceSpec vm = g.resources().get("vm");
            assertEquals(ResourceSpec.Type.VM, vm.type());
            assertEquals(128, vm.memoryMiB());
            assertEquals(List.of("os", "witness", "data"), vm.disks());
            assertTrue(vm.dependsOn().containsAll(List.of("os", "witness", "data")), vm.dependsOn().toString());
            assertEquals("gc-" + i, vm.properties().get("domain"));
            assertEquals("true", vm.properties().get("unsafeSharedStorage")); // libvirtSeesShared: false
            Path def = Path.of(vm.properties().get("definition"));
            assertEquals(dir.resolve("cluster.d/gc/gc-" + i + ".xml"), def);
            String xml = Files.readString(def);
            assertTrue(xml.contains("<name>gc-" + i + "</name>"), xml);
            assertTrue(xml.contains("<memory unit='MiB'>128</memory>"), xml);
            assertTrue(xml.contains("<source file='" + pool.resolve("gc-" + i + "-os.qcow2") + "'/>"), xml);
            assertTrue(xml.contains("<source path='" + pool.resolve("console/gc-" + i + ".log") + "' append='on'/>"),
                    xml);
            assertEquals(pool.resolve("save").toString(), vm.properties().get("stateDir"));
            JsonNode info = qemuImgInfo(pool.resolve("gc-" + i + "-os.qcow2"));
            assertEquals("qcow2", info.path("format").asText());
            assertEquals(64L << 20, info.path("virtual-size").asLong());
        }
        assertEquals(List.of("n1", "n2", "n3"), spec.groups().get("gc-1").preferredOwners());
        assertEquals(List.of("n2", "n3", "n1"), spec.groups().get("gc-2").preferredOwners());
        JsonNode w = qemuImgInfo(pool.resolve("gc-witness.raw"));
        assertEquals("raw", w.path("format").asText());
        assertEquals(64L << 20, w.path("virtual-size").asLong());
        JsonNode d = qemuImgInfo(pool.resolve("gc-data.raw"));
        assertEquals("raw", d.path("format").asText());
        assertEquals(1L << 30, d.path("virtual-size").asLong());
        assertTrue(Files.isDirectory(pool.resolve("console")));

        // `config check` agrees.
        assertEquals(0, run("config", "check", cfg.toString()), err());
        assertTrue(out().contains("2 groups"), out());

        assertEquals(0, run("guest-cluster", "list", "--config", cfg.toString()), err());
        assertTrue(out().contains("gc: 2 members (gc-1, gc-2); shared disks: witness 64M raw, pool shared ("
                + pool.resolve("gc-witness.raw") + "), data 1G raw"), out());
    }

    @Test
    void removeDeletesTheFragmentDefinitionsAndVolumesItMade() throws Exception {
        Files.createDirectories(pool.resolve("console"));
        Files.writeString(pool.resolve("other.qcow2"), "someone else's");
        Map<String, Long> before = snapshot();
        assertEquals(0, create("gc", "--members", "3", "--shared-disk", "quorum:1M"), err());
        // a member ran and saved its state once
        Files.createDirectories(pool.resolve("save"));
        Files.writeString(pool.resolve("save/gc-2.sav"), "state");
        Files.writeString(pool.resolve("save/web.sav"), "another VM's state");
        before.put("pool/save", -1L);
        before.put("pool/save/web.sav", Files.size(pool.resolve("save/web.sav")));
        before.put("cluster.d", -1L); // the fragment directory stays (it may hold other fragments)

        assertEquals(0, run("guest-cluster", "remove", "gc", "--config", cfg.toString()), err());
        assertTrue(out().contains("removed guest cluster gc: groups gc-1, gc-2, gc-3"), out());
        assertEquals(before, snapshot());
        assertTrue(ClusterConfigLoader.load(cfg).spec().groups().isEmpty());
        assertEquals(0, run("guest-cluster", "list", "--config", cfg.toString()), err());
        assertTrue(out().contains("no guest clusters in " + dir.resolve("cluster.d")), out());

        // the same name can be used again
        assertEquals(0, create("gc", "--members", "2", "--shared-disk", "quorum:1M"), err());
    }

    private static ClusterState.Group group(String name, GroupPhase phase, String node, boolean wantOnline) {
        return new ClusterState.Group(name, phase, node, null, null, wantOnline, List.of(), Map.of(), Set.of(),
                Set.of(), null, null, 0, 0, null);
    }

    private static ClusterState state(ClusterState.Group... groups) {
        TreeMap<String, ClusterState.Group> gs = new TreeMap<>();
        for (ClusterState.Group g : groups) {
            gs.put(g.name(), g);
        }
        return new ClusterState(new TreeMap<>(), gs);
    }

    @Test
    void removeIsRefusedWhileAMemberRunsOrIsWantedOnlineAndThenChangesNothing() throws Exception {
        assertEquals(0, create("gc", "--members", "2", "--shared-disk", "quorum:1M"), err());
        Map<String, Long> before = snapshot();
        String rm = "guest-cluster remove gc --config " + cfg;

        clusterState = state(group("gc-1", GroupPhase.ONLINE, "n2", true), group("gc-2", GroupPhase.PENDING, null, true));
        assertEquals(1, run(rm.split(" ")));
        assertTrue(err().contains("gc: not removed, nothing changed:"), err());
        assertTrue(err().contains("gc-1 is online on n2 in the cluster: take it offline first (havm group offline gc-1"
                + " --config " + cfg + ")"), err());
        assertTrue(err().contains("gc-2 is pending in the cluster: take it offline first"), err());
        assertEquals(before, snapshot());

        // The cluster wants both offline, but libvirt shows a member running on n3, and n2 does not answer.
        clusterState = state(group("gc-1", GroupPhase.OFFLINE, null, false), group("gc-2", GroupPhase.OFFLINE, null,
                false));
        ((FakeHypervisor) hosts.get("n3")).put("gc-2", true);
        ((FakeHypervisor) hosts.get("n2")).unreachable = true;
        assertEquals(1, run(rm.split(" ")));
        assertTrue(err().contains("gc-2 runs on n3 (libvirt says "), err());
        assertTrue(err().contains("n2: cannot ask libvirt whether gc-1, gc-2 run there ("), err());
        assertTrue(err().contains("if n2 is powered off, pass --host-off n2"), err());
        assertFalse(err().contains("in the cluster"), err());
        assertEquals(before, snapshot());

        ((FakeHypervisor) hosts.get("n3")).put("gc-2", false);
        assertEquals(2, run((rm + " --host-off n9").split(" ")));
        assertTrue(err().contains("--host-off: unknown node 'n9' (nodes: n1, n2, n3)"), err());
        assertEquals(before, snapshot());

        // ZooKeeper down: the cluster's wishes are unknown, unless the operator says it is stopped.
        zkDown = true;
        assertEquals(1, run((rm + " --host-off n2").split(" ")));
        assertTrue(err().contains("cannot read the cluster's state (no connection to ZooKeeper"), err());
        assertTrue(err().contains("if every agent is stopped, pass --cluster-stopped"), err());
        assertEquals(before, snapshot());

        assertEquals(0, run((rm + " --host-off n2 --cluster-stopped").split(" ")), err());
        assertTrue(ClusterConfigLoader.load(cfg).spec().groups().isEmpty());
    }

    @Test
    void removeRefusesWhatHavmDidNotMakeAndWhatOthersStillUse() throws Exception {
        assertEquals(2, run("guest-cluster", "remove", "gc", "--config", cfg.toString()));
        assertTrue(err().contains("gc: is not a guest cluster made by havm (no " + dir.resolve("cluster.d/gc.yaml")),
                err());
        Files.createDirectories(dir.resolve("cluster.d"));
        Path hand = Files.writeString(dir.resolve("cluster.d/mine.yaml"), "storage:\n  disks:\n"
                + "    mine: {pool: shared, volume: mine.raw, format: raw, size: 1M}\n");
        assertEquals(2, run("guest-cluster", "remove", "mine", "--config", cfg.toString()));
        assertTrue(err().contains("mine: is not a guest cluster made by havm"), err());
        assertTrue(Files.exists(hand));
        assertEquals(2, run("guest-cluster", "remove", "../cluster", "--config", cfg.toString()));
        assertTrue(err().contains("is not a guest cluster made by havm"), err());

        assertEquals(0, create("gc", "--members", "2", "--shared-disk", "quorum:1M"), err());
        // someone attached the guest cluster's shared disk to another group by hand
        Files.writeString(dir.resolve("cluster.d/zz.yaml"), "groups:\n  spy:\n    resources:\n"
                + "      q: {type: disk, disk: gc-quorum}\n");
        Map<String, Long> before = snapshot();
        assertEquals(2, run("guest-cluster", "remove", "gc", "--config", cfg.toString()));
        assertTrue(err().contains("the configuration would not load without it, so it stays"), err());
        assertTrue(err().contains("unknown disk 'gc-quorum'"), err());
        assertEquals(before, snapshot());
    }

    @Test
    void badInputIsRefusedWithExit2AndNothingIsMade() throws Exception {
        Files.writeString(pool.resolve("taken-data.raw"), "x");
        Map<String, Long> before = snapshot();
        String[][] cases = {
            {"--members 2 --shared-disk d:1M", "expected 1 argument(s), got 0"},
            {"gc --shared-disk d:1M", "option --members is required"},
            {"gc --members 1 --shared-disk d:1M", "--members: '1' is not allowed (allowed: 2..8)"},
            {"gc --members 9 --shared-disk d:1M", "--members: '9' is not allowed (allowed: 2..8)"},
            {"gc --members two --shared-disk d:1M", "--members: 'two' is not allowed (allowed: 2..8)"},
            {"gc --members 4 --shared-disk d:1M", "--members: 4 members need 4 nodes (a hard anti-affinity class"
                    + " keeps each member on its own node), but only 3 node(s) can host one (192 MiB with overhead):"
                    + " n1, n2, n3"},
            {"gc --members 2 --memory 1000 --shared-disk d:1M", "--members: 2 members need 2 nodes (a hard"
                    + " anti-affinity class keeps each member on its own node), but only 0 node(s) can host one"
                    + " (1064 MiB with overhead): none"},
            {"gc --members 2 --memory 16 --shared-disk d:1M", "--memory: '16' is not allowed (allowed: 32..1048576)"},
            {"bad/name --members 2 --shared-disk d:1M", "NAME: 'bad/name' is not a valid guest cluster name"},
            {"gc --members 2", "--shared-disk: is required: at least one shared disk DNAME:SIZE"},
            {"gc --members 2 --shared-disk witness", "--shared-disk: 'witness' is not DNAME:SIZE (e.g. witness:64M)"},
            {"gc --members 2 --shared-disk witness:64X", "--shared-disk witness:64X: '64X' is not a size like 64M"},
            {"gc --members 2 --shared-disk w:1M --shared-disk w:2M", "--shared-disk: 'w' is given twice"},
            {"gc --members 2 --shared-disk os:1M", "--shared-disk os:1M: 'os' is reserved"},
            {"gc --members 2 --shared-disk a*b:1M", "--shared-disk a*b:1M: 'a*b' is not a valid disk name"},
            {"gc --members 2 --shared-disk d:1M --pool nope", "--pool: unknown pool 'nope' (storage.pools: shared"
                    + " (shared-dir))"},
            {"gc --members 2 --shared-disk d:1M --os-pool nope", "--os-pool: unknown pool 'nope'"},
            {"gc --members 2 --shared-disk d:1M --os-size 1Q", "--os-size: '1Q' is not a size like 64M"},
            {"gc --members 2 --shared-disk d:1M --colour red", "unknown option '--colour'"},
            {"taken --members 2 --shared-disk data:1M", "volume " + pool.resolve("taken-data.raw") + " (for disk"
                    + " taken-data) already exists: havm does not take over a volume it did not make"},
        };
        for (String[] c : cases) {
            List<String> a = new ArrayList<>(List.of("guest-cluster", "create"));
            a.addAll(List.of(c[0].split(" ")));
            a.addAll(List.of("--domain-type", "qemu", "--config", cfg.toString()));
            assertEquals(2, run(a.toArray(String[]::new)), c[0] + ": " + err());
            assertTrue(err().contains(c[1]), c[0] + ": expected '" + c[1] + "' in: " + err());
            assertEquals(before, snapshot(), c[0]);
        }
        assertEquals(2, run("guest-cluster", "create", "gc", "--members", "2", "--shared-disk", "d:1M",
                "--domain-type", "hyperv", "--config", cfg.toString()));
        assertTrue(err().contains("--domain-type: 'hyperv' is not allowed (allowed: kvm, qemu)"), err());
        assertEquals(2, run("guest-cluster", "create", "gc", "--members", "2", "--shared-disk", "d:1M",
                "--config", dir.resolve("nope.yaml").toString()));
        assertTrue(err().contains("--config: " + dir.resolve("nope.yaml") + ": no such file"), err());
        assertEquals(2, run("guest-cluster", "frob"));
        assertTrue(err().contains("unknown subcommand 'frob' (allowed: create, remove, list)"), err());
        assertEquals(before, snapshot());
    }

    @Test
    void existingNamesAreRefused() throws Exception {
        cfg = config("  pools:\n    shared: {type: shared-dir, path: " + pool + "}\n"
                + "  disks:\n    db-data: {pool: shared, volume: db.raw, format: raw, size: 1M}\n",
                "groups:\n  web-2:\n    resources:\n      s: {type: script, properties: {script: /bin/true}}\n"
                        + "  app:\n    antiAffinity: [{class: quorum}]\n"
                        + "    resources:\n      v: {type: vm, properties: {domain: vmx-1}}\n");
        Map<String, Long> before = snapshot();
        String[][] cases = {
            {"web", "web: group 'web-2' already exists in the configuration"},
            {"db --shared-disk data:1M", "db: disk 'db-data' already exists in storage.disks"},
            {"quorum", "quorum: group 'app' already uses anti-affinity class 'quorum'"},
            {"vmx", "vmx: domain 'vmx-1' is already resource app/v"},
            {"app", "app: group 'app' already exists"},
        };
        for (String[] c : cases) {
            List<String> a = new ArrayList<>(List.of(c[0].split(" ")));
            a.addAll(List.of("--members", "2"));
            if (!c[0].contains("--shared-disk")) {
                a.addAll(List.of("--shared-disk", "q:1M"));
            }
            assertEquals(2, create(a.toArray(String[]::new)), c[0] + ": " + err());
            assertTrue(err().contains(c[1]), c[0] + ": expected '" + c[1] + "' in: " + err());
            assertEquals(before, snapshot(), c[0]);
        }
        Files.createDirectories(dir.resolve("cluster.d/gc"));
        before = snapshot();
        assertEquals(2, create("gc", "--members", "2", "--shared-disk", "q:1M"));
        assertTrue(err().contains("gc: " + dir.resolve("cluster.d/gc") + " already exists"), err());
        Files.delete(dir.resolve("cluster.d/gc"));
        Files.createDirectories(pool.resolve("save"));
        Files.writeString(pool.resolve("save/gc-2.sav"), "old");
        assertEquals(2, create("gc", "--members", "2", "--shared-disk", "q:1M"));
        assertTrue(err().contains("a saved state of domain gc-2 exists"), err());
    }

    @Test
    void poolChoiceIsExplicitWhenItIsNotObvious() throws Exception {
        Path other = Files.createDirectories(dir.resolve("other"));
        String pools = "  pools:\n    shared: {type: shared-dir, path: " + pool + "}\n"
                + "    other: {type: shared-dir, path: " + other + "}\n"
                + "    lab: {type: iscsi, portal: '127.0.0.1:3263', target: 'iqn.2026-11.io.havm:t', luns: [1, 2]}\n";
        cfg = config(pools, "");
        Map<String, Long> before = snapshot();
        assertEquals(2, create("gc", "--members", "2", "--shared-disk", "q:1M"));
        assertTrue(err().contains("--pool: is required when there are several pools: name the one for the shared"
                + " disks (storage.pools: lab (iscsi), other (shared-dir), shared (shared-dir))"), err());
        assertEquals(2, create("gc", "--members", "2", "--shared-disk", "q:1M", "--pool", "lab", "--os-pool", "lab"));
        assertTrue(err().contains("--os-pool: pool 'lab' is iscsi: the members' OS disks are qcow2 files and need a"
                + " shared-dir pool (shared-dir pools: other, shared)"), err());
        assertEquals(before, snapshot());

        // shared disks on one shared-dir pool, OS disks on another
        assertEquals(0, create("gc", "--members", "2", "--shared-disk", "q:1M", "--pool", "shared", "--os-pool",
                "other"), err());
        assertTrue(Files.exists(pool.resolve("gc-q.raw")));
        assertTrue(Files.exists(other.resolve("gc-1-os.qcow2")));
        assertEquals(0, run("guest-cluster", "remove", "gc", "--config", cfg.toString()), err());
        assertFalse(Files.exists(other.resolve("gc-1-os.qcow2")));

        // only an iSCSI pool: the OS disks have nowhere to go
        cfg = config("  pools:\n    lab: {type: iscsi, portal: '127.0.0.1:3263', target: 'iqn.2026-11.io.havm:t',"
                + " luns: [1, 2]}\n", "");
        before = snapshot();
        assertEquals(2, create("gc2", "--members", "2", "--shared-disk", "q:1M"));
        assertTrue(err().contains("--os-pool: no shared-dir pool in storage.pools (lab (iscsi)): the members' OS"
                + " disks are qcow2 files on a shared-dir pool; add one and name it with --os-pool"), err());
        assertEquals(before, snapshot());
        cfg = config("  leaseDir: /var/lib/havm/lockd\n", "");
        before = snapshot();
        assertEquals(2, create("gc2", "--members", "2", "--shared-disk", "q:1M"));
        assertTrue(err().contains("--pool: the configuration has no storage.pools"), err());
        assertEquals(before, snapshot());
        // a pool directory that is not there
        cfg = config("  pools:\n    gone: {type: shared-dir, path: " + dir.resolve("gone") + "}\n", "");
        before = snapshot();
        assertEquals(2, create("gc2", "--members", "2", "--shared-disk", "q:1M"));
        assertTrue(err().contains("storage.pools.gone.path: " + dir.resolve("gone") + " is not a directory here"),
                err());
        assertEquals(before, snapshot());
    }

    @Test
    void onIscsiEachSharedDiskGetsTheSmallestFreeLunThatIsLargeEnough() throws Exception {
        cfg = config("  pools:\n    shared: {type: shared-dir, path: " + pool + "}\n"
                + "    lab: {type: iscsi, portal: '127.0.0.1:3263', target: 'iqn.2026-11.io.havm:t', luns: [1, 2, 3, 4, 5]}\n"
                + "  disks:\n    db: {pool: lab, lun: 1}\n", "");
        lunSizes.putAll(Map.of(1, 4L << 30, 2, 64L << 20, 3, 2L << 30, 4, 64L << 20)); // 5: unreachable
        Map<String, Long> before = snapshot();
        assertEquals(2, create("gc", "--members", "2", "--pool", "lab", "--shared-disk", "data:4G"));
        assertTrue(err().contains("--shared-disk data: no free LUN of at least 4G in pool lab; free: 2 (64M), 3 (2G),"
                + " 4 (64M), 5 (unreachable: lab LUN 5: no such LUN)"), err());
        assertEquals(2, create("gc", "--members", "2", "--pool", "lab", "--shared-disk", "a:64M",
                "--shared-disk", "b:64M", "--shared-disk", "c:1G", "--shared-disk", "d:65M"));
        assertTrue(err().contains("--shared-disk c: no free LUN of at least 1G in pool lab; free: 5 (unreachable:"
                + " lab LUN 5: no such LUN); already chosen for the smaller disks: 2 (64M) for a, 4 (64M) for b,"
                + " 3 (2G) for d"), err());
        assertEquals(before, snapshot());

        assertEquals(0, create("gc", "--members", "2", "--pool", "lab", "--shared-disk", "data:1G",
                "--shared-disk", "witness:64M"), err());
        StorageSpec st = ClusterConfigLoader.load(cfg).spec().storage();
        assertEquals(3, st.disks().get("gc-data").lun());
        assertEquals(2, st.disks().get("gc-witness").lun());
        assertTrue(st.disks().get("gc-data").shareable());
        assertEquals(1L << 30, st.disks().get("gc-data").sizeBytes());
        assertEquals(StorageSpec.Format.RAW, st.disks().get("gc-data").format());
        assertTrue(Files.exists(pool.resolve("gc-1-os.qcow2"))); // OS disks: the shared-dir pool
        assertFalse(Files.exists(pool.resolve("gc-data.raw")));
        assertEquals(0, run("guest-cluster", "list", "--config", cfg.toString()), err());
        assertTrue(out().contains("shared disks: data at least 1G, pool lab LUN 3, witness at least 64M, pool lab"
                + " LUN 2"), out());

        // the next guest cluster gets what is left
        assertEquals(2, create("gc2", "--members", "2", "--pool", "lab", "--shared-disk", "x:1G"));
        assertTrue(err().contains("free: 4 (64M), 5 (unreachable"), err());

        assertEquals(0, run("guest-cluster", "remove", "gc", "--config", cfg.toString()), err());
        assertTrue(out().contains("LUN 3 of pool lab (disk gc-data) keeps its data"), out());
        assertEquals(before.keySet().stream().filter(k -> !k.startsWith("cluster.d") && !k.contains("console"))
                .toList(), snapshot().keySet().stream().filter(k -> !k.startsWith("cluster.d")
                        && !k.contains("console")).toList());
    }

    @Test
    void anIscsiPoolWithoutLunsIsRefused() throws Exception {
        cfg = config("  pools:\n    shared: {type: shared-dir, path: " + pool + "}\n"
                + "    lab: {type: iscsi, portal: '127.0.0.1:3263', target: 'iqn.2026-11.io.havm:t'}\n", "");
        Map<String, Long> before = snapshot();
        assertEquals(2, create("gc", "--members", "2", "--pool", "lab", "--shared-disk", "d:1M"));
        assertTrue(err().contains("storage.pools.lab.luns: is not given: havm picks LUNs only from a pool's luns"
                + " list"), err());
        assertEquals(before, snapshot());
    }

    @Test
    void aConfigurationThatWouldNotLoadWithTheFragmentIsRefusedBeforeAnythingIsMade() throws Exception {
        cfg = Files.writeString(cfg, Files.readString(cfg).replace("  name: t\n", "  name: t\n  admission: refuse\n"));
        Map<String, Long> before = snapshot();
        // three members on three nodes: losing a node strands one
        assertEquals(2, create("gc", "--members", "3", "--shared-disk", "d:1M"));
        assertTrue(err().contains("admission refused (cluster.admission: refuse): N+1: losing n1 leaves"), err());
        assertEquals(before, snapshot());
        // a warning, not a refusal, by default
        cfg = Files.writeString(cfg, Files.readString(cfg).replace("  admission: refuse\n", ""));
        assertEquals(0, create("gc", "--members", "3", "--shared-disk", "d:1M"), err());
        assertTrue(err().contains("warning: 3 members on 3 nodes: a member whose node fails stays offline"), err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"directory", "volume", "definition", "fragment", "reload"})
    void aCreateThatFailsMidwayRemovesWhatItMade(String step) throws Exception {
        Map<String, Long> before = snapshot();
        // fail at the last step of its kind, so that everything before it was made
        failAt = step.equals("volume") ? "volume " + pool.resolve("gc-2-os.qcow2")
                : step.equals("definition") ? "definition " + dir.resolve("cluster.d/gc/gc-2.xml")
                : step.equals("directory") ? "directory " + dir.resolve("cluster.d/gc") : step;
        assertEquals(1, create("gc", "--members", "2", "--shared-disk", "witness:64M", "--shared-disk", "data:1M"),
                err());
        assertTrue(err().contains("havm guest-cluster create: gc: failed: injected failure at " + failAt), err());
        assertTrue(err().contains("rolled back: removed the "), err());
        assertEquals(before, snapshot());
        assertTrue(ClusterConfigLoader.load(cfg).spec().groups().isEmpty());
    }

    @Test
    void aVolumeThatQemuImgCannotCreateRollsBackTheOthers() throws Exception {
        Map<String, Long> before = snapshot();
        // raw files this large are refused by qemu-img, after it has created an empty file
        assertEquals(1, create("gc", "--members", "2", "--shared-disk", "witness:64M", "--shared-disk", "huge:9000T"),
                err());
        assertTrue(err().contains("gc: failed: qemu-img create"), err());
        assertTrue(err().contains("the configuration is as before"), err());
        assertEquals(before, snapshot());
    }

    @Test
    void consolesAndSavedStatesGoWhereTheOptionsSayElseOnTheOsPool() throws Exception {
        Path consoles = Files.createDirectories(dir.resolve("consoles"));
        Path states = Files.createDirectories(dir.resolve("states"));
        assertEquals(0, create("gc", "--members", "2", "--shared-disk", "witness:1M", "--console-dir",
                consoles.toString(), "--state-dir", states.toString()), err());
        var spec = io.havm.config.ClusterConfigLoader.load(cfg).spec();
        ResourceSpec vm = spec.groups().get("gc-1").resources().get("vm");
        assertEquals(states.toString(), vm.properties().get("stateDir"));
        assertTrue(Files.readString(Path.of(vm.properties().get("definition")))
                .contains("<source path='" + consoles.resolve("gc-1.log") + "' append='on'/>"));
        assertEquals(2, create("gc2", "--members", "2", "--shared-disk", "witness:1M", "--state-dir",
                dir.resolve("nowhere").toString()));
        assertTrue(err().contains("--state-dir: " + dir.resolve("nowhere") + " is not a directory"), err());
    }

    @Test
    void createAndRemoveSayWhatTheyDidAsOneJsonDocument() throws Exception {
        assertEquals(0, create("gc", "--members", "2", "--shared-disk", "witness:64M", "--json"), err());
        JsonNode c = ConfigCommandsTest.oneDocument(out());
        assertEquals("gc", c.get("name").asText());
        assertEquals("gc-1", c.get("members").get(0).get("group").asText());
        assertEquals("n1", c.get("members").get(0).get("prefers").asText());
        assertEquals("n2", c.get("members").get(1).get("prefers").asText());
        assertEquals(dir.resolve("cluster.d/gc/gc-1.xml").toString(), c.get("members").get(0).get("definition").asText());
        assertEquals("gc", c.get("antiAffinityClass").asText());
        JsonNode w = c.get("sharedDisks").get(0);
        assertEquals("witness", w.get("name").asText());
        assertEquals("gc-witness", w.get("disk").asText());
        assertEquals("shared", w.get("pool").asText());
        assertEquals(64L << 20, w.get("sizeBytes").asLong());
        assertEquals(pool.resolve("gc-witness.raw").toString(), w.get("file").asText());
        assertEquals(dir.resolve("cluster.d/gc.yaml").toString(), c.get("fragment").asText());
        assertEquals(dir.resolve("cluster.d/gc").toString(), c.get("definitions").asText());
        assertTrue(c.get("warnings").isArray());
        assertFalse(c.get("configuration").get("stored").asBoolean());
        assertTrue(c.get("configuration").get("note").asText().contains("names no cluster.zookeeper"), out());
        assertEquals("", err(), "warnings are in the document");

        assertEquals(0, run("guest-cluster", "remove", "gc", "--config", cfg.toString(), "--json"), err());
        JsonNode r = ConfigCommandsTest.oneDocument(out());
        assertEquals("gc", r.get("name").asText());
        assertEquals("[\"gc-1\",\"gc-2\"]", r.get("groups").toString());
        assertTrue(r.get("removed").asInt() > 3, out());
        assertEquals(0, r.get("luns").size());
        assertFalse(r.get("clusterStopped").asBoolean());
        assertEquals(0, r.get("left").size());
        assertFalse(Files.exists(dir.resolve("cluster.d/gc.yaml")));

        // refused (nothing to remove): stderr only, stdout empty
        assertEquals(2, run("guest-cluster", "remove", "gc", "--config", cfg.toString(), "--json"));
        assertEquals("", out());
        assertEquals(2, create("gc", "--members", "9", "--shared-disk", "q:1M", "--json"));
        assertEquals("", out());
    }

    @Test
    void withAClusterStoreTheJsonSaysTheVersionPutInForce() throws Exception {
        io.havm.coordination.EmbeddedZooKeeper zk = io.havm.coordination.EmbeddedZooKeeper.standalone("127.0.0.1",
                io.havm.coordination.FreePorts.pick(1)[0], dir.resolve("zk"),
                io.havm.coordination.EmbeddedZooKeeper.Settings.FAST).start();
        try {
            cfg = Files.writeString(cfg, Files.readString(cfg).replace("  name: t\n", "  name: t\n  zookeeper: '"
                    + zk.connectString() + "'\n"));
            assertEquals(0, run("cluster", "init", "--config", cfg.toString()), err());
            assertEquals(0, create("gc", "--members", "2", "--shared-disk", "q:1M", "--json"), err());
            JsonNode in = ConfigCommandsTest.oneDocument(out()).get("configuration");
            assertTrue(in.get("stored").asBoolean(), out());
            assertEquals(1, in.get("was").asLong());
            assertEquals(2, in.get("version").asLong());
            assertEquals("guest-cluster create gc", in.get("comment").asText());
            assertEquals("added", in.get("changes").get(0).get("change").asText(), out());
            assertEquals(2, in.get("effects").size(), out());

            assertEquals(0, run("guest-cluster", "remove", "gc", "--config", cfg.toString(), "--json"), err());
            JsonNode out = ConfigCommandsTest.oneDocument(out()).get("configuration");
            assertTrue(out.get("stored").asBoolean(), out());
            assertEquals(3, out.get("version").asLong());
            assertEquals("removed", out.get("changes").get(0).get("change").asText());
        } finally {
            zk.close();
        }
    }
}
