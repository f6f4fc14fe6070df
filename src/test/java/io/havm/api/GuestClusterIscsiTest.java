package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.libvirt.GuestImage;
import io.havm.model.StorageSpec;
import io.havm.storage.LunPicker;
import io.havm.storage.PrivateTgtd;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * guest-cluster create on an iSCSI pool whose LUN sizes come from a real target: a private tgtd on
 * loopback ({@link PrivateTgtd}) with three file-backed LUNs, asked through iscsi-readcapacity16 as
 * in real use.
 */
class GuestClusterIscsiTest {
    private static final String IQN = PrivateTgtd.IQN;
    private static final String PORTAL = "127.0.0.1:" + PrivateTgtd.PORT;

    @TempDir
    static Path dir;
    static PrivateTgtd tgtd;

    @BeforeAll
    static void startTarget() throws Exception {
        tgtd = PrivateTgtd.start(dir);
        tgtd.addLun(1, 64L << 20);
        tgtd.addLun(2, 1L << 30);
        tgtd.addLun(3, 64L << 20);
    }

    @AfterAll
    static void stopTarget() {
        if (tgtd != null) {
            tgtd.close();
        }
    }

    @Test
    void sharedDisksGetTheSmallestLargeEnoughLunsTheTargetReports() throws IOException {
        Path pool = Files.createDirectories(dir.resolve("pool"));
        Path cfg = Files.writeString(dir.resolve("cluster.yaml"), "cluster:\n  name: t\n  nodes:\n"
                + "    - {name: n1, uri: 'test:///default', memoryMiB: 1024}\n"
                + "    - {name: n2, uri: 'test:///default', memoryMiB: 1024}\n"
                + "storage:\n  pools:\n    shared: {type: shared-dir, path: " + pool + "}\n"
                + "    lab: {type: iscsi, portal: '" + PORTAL + "', target: '" + IQN + "', luns: [1, 2, 3, 4]}\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main m = new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        Path kernel = Files.writeString(dir.resolve("vmlinuz"), "k");
        m.guestClusterEnv = new io.havm.guestcluster.GuestClusters.Env(() -> new GuestImage(dir, kernel, kernel),
                LunPicker.fromHere(Duration.ofSeconds(10)), s -> {}, spec -> java.util.Optional.empty(),
                spec -> new java.util.TreeMap<>(java.util.Map.of("n1", new io.havm.engine.FakeHypervisor("n1"),
                        "n2", new io.havm.engine.FakeHypervisor("n2"))));

        assertEquals(0, m.run(List.of("guest-cluster", "create", "gc", "--members", "2", "--pool", "lab",
                "--shared-disk", "data:512M", "--shared-disk", "witness:64M", "--domain-type", "qemu", "--config",
                cfg.toString())), err.toString(StandardCharsets.UTF_8));
        StorageSpec st = ClusterConfigLoader.load(cfg).spec().storage();
        assertEquals(2, st.disks().get("gc-data").lun());
        assertEquals(1, st.disks().get("gc-witness").lun());

        err.reset();
        assertEquals(2, m.run(List.of("guest-cluster", "create", "gc2", "--members", "2", "--pool", "lab",
                "--shared-disk", "data:1G", "--domain-type", "qemu", "--config", cfg.toString())));
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.contains("--shared-disk data: no free LUN of at least 1G in pool lab; free: 3 (64M), 4"
                + " (unreachable: pool lab (portal " + PORTAL + ", target " + IQN + ") LUN 4: "), e);

        assertEquals(0, m.run(List.of("guest-cluster", "remove", "gc", "--config", cfg.toString())));
        assertTrue(ClusterConfigLoader.load(cfg).spec().storage().disks().isEmpty());
    }
}
