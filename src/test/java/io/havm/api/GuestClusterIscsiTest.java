package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.lab.GuestImage;
import io.havm.model.StorageSpec;
import io.havm.storage.LunPicker;
import io.havm.util.Exec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * guest-cluster create on an iSCSI pool whose LUN sizes come from a real target: a private tgtd on
 * loopback (control port 79, portal 127.0.0.1:3263) with three file-backed LUNs, asked through
 * iscsi-readcapacity16 as in real use. Skipped where tgtd or libiscsi-bin is missing or not root.
 */
class GuestClusterIscsiTest {
    private static final String IQN = "iqn.2026-11.io.havm:gctest";
    private static final Duration T = Duration.ofSeconds(20);

    @TempDir
    static Path dir;
    static Process tgtd;

    private static boolean onPath(String tool) {
        return Exec.run(T, List.of("sh", "-c", "command -v " + tool)).ok();
    }

    private static void tgtadm(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of("tgtadm", "-C", "79"));
        cmd.addAll(List.of(args));
        Exec.run(T, cmd).orThrow();
    }

    @BeforeAll
    static void startTarget() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "tgtd needs root");
        assumeTrue(onPath("tgtd") && onPath("tgtadm") && onPath("iscsi-readcapacity16"),
                "tgtd, tgtadm and iscsi-readcapacity16 are needed (tgt, libiscsi-bin)");
        stopTarget(); // a target left by an interrupted run on our control port
        long[] sizes = {64L << 20, 1L << 30, 64L << 20};
        for (int l = 1; l <= sizes.length; l++) {
            Exec.run(T, List.of("truncate", "-s", Long.toString(sizes[l - 1]), dir.resolve("lun" + l + ".img")
                    .toString())).orThrow();
        }
        tgtd = new ProcessBuilder("tgtd", "-f", "-C", "79", "--iscsi", "portal=127.0.0.1:3263")
                .redirectErrorStream(true).redirectOutput(dir.resolve("tgtd.log").toFile()).start();
        boolean up = false;
        for (int i = 0; i < 50 && !up; i++) {
            up = Exec.run(T, List.of("tgtadm", "-C", "79", "--op", "show", "--mode", "target")).ok();
            if (!up) {
                Thread.sleep(100);
            }
        }
        assertTrue(up, "tgtd did not answer: " + Files.readString(dir.resolve("tgtd.log")));
        tgtadm("--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "1", "-T", IQN);
        for (int l = 1; l <= sizes.length; l++) {
            tgtadm("--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun",
                    Integer.toString(l), "-b", dir.resolve("lun" + l + ".img").toString());
        }
        tgtadm("--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL");
    }

    @AfterAll
    static void stopTarget() throws InterruptedException {
        Exec.run(T, List.of("tgtadm", "-C", "79", "--op", "delete", "--mode", "target", "--tid", "1", "--force"));
        Exec.run(T, List.of("tgtadm", "-C", "79", "--op", "delete", "--mode", "system"));
        if (tgtd != null) {
            if (!tgtd.waitFor(5, TimeUnit.SECONDS)) {
                tgtd.destroy();
                if (!tgtd.waitFor(5, TimeUnit.SECONDS)) {
                    tgtd.destroyForcibly().waitFor();
                }
            }
            tgtd = null;
        }
    }

    @Test
    void sharedDisksGetTheSmallestLargeEnoughLunsTheTargetReports() throws IOException {
        Path pool = Files.createDirectories(dir.resolve("pool"));
        Path cfg = Files.writeString(dir.resolve("cluster.yaml"), "cluster:\n  name: t\n  nodes:\n"
                + "    - {name: n1, uri: 'test:///default', memoryMiB: 1024}\n"
                + "    - {name: n2, uri: 'test:///default', memoryMiB: 1024}\n"
                + "storage:\n  pools:\n    shared: {type: shared-dir, path: " + pool + "}\n"
                + "    lab: {type: iscsi, portal: '127.0.0.1:3263', target: '" + IQN + "', luns: [1, 2, 3, 4]}\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main m = new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        Path kernel = Files.writeString(dir.resolve("vmlinuz"), "k");
        m.guestClusterEnv = new GuestClusterCommands.Env(() -> new GuestImage(dir, kernel, kernel),
                LunPicker.fromHere(Duration.ofSeconds(10)), s -> {});

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
                + " (unreachable: pool lab (portal 127.0.0.1:3263, target " + IQN + ") LUN 4: "), e);

        assertEquals(0, m.run(List.of("guest-cluster", "remove", "gc", "--config", cfg.toString())));
        assertTrue(ClusterConfigLoader.load(cfg).spec().storage().disks().isEmpty());
    }
}
