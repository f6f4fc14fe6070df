package io.havm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.ResourceSpec;
import io.havm.model.StorageSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad storage configuration is refused at load time, and every message names the file, the line,
 * the field and what is allowed: the operator fixes the YAML, not a failover at 3 a.m.
 */
class StorageConfigTest {
    /** Line numbers below refer to this text (1-based). */
    static final String BASE = """
            cluster:
              nodes:
                - {name: host1, uri: qemu+tcp://10.77.0.11/system}
                - {name: host2, uri: qemu+tcp://10.77.0.12/system}
            storage:
              leaseDir: /var/lib/havm-lab/shared/lockd
              pools:
                shared: {type: shared-dir, path: /var/lib/havm-lab/shared/pool, libvirtSeesShared: false}
                lab: {type: iscsi, portal: 10.77.0.1:3260, target: iqn.2026-11.io.havm:lab, luns: [1,2,3,4,5,6,7,8]}
              disks:
                web-os: {pool: shared, volume: web.qcow2, format: qcow2, size: 64M}
                web-data: {pool: lab, lun: 5}
            groups:
              web:
                resources:
                  os: {type: disk, disk: web-os}
                  data: {type: disk, disk: web-data}
                  vm: {type: vm, disks: [os, data]}
            """;

    @TempDir
    Path dir;

    private static String error(String yaml) {
        return assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.parse("c.yaml", yaml)).getMessage();
    }

    private static String replace(String text, String from, String to) {
        assertTrue(text.contains(from), "test setup: '" + from + "' not in the configuration");
        return text.replace(from, to);
    }

    @Test
    void theIssuesExampleLoads() {
        ClusterSpec s = ClusterConfigLoader.parse("c.yaml", BASE).spec();
        StorageSpec.Disk os = s.storage().disk("web-os").orElseThrow();
        assertEquals(StorageSpec.Format.QCOW2, os.format());
        assertEquals(64L << 20, os.sizeBytes());
        assertEquals(5, s.storage().disk("web-data").orElseThrow().lun());
        ResourceSpec vm = s.groups().get("web").resources().get("vm");
        assertEquals(List.of("os", "data"), vm.disks());
        assertTrue(vm.dependsOn().containsAll(List.of("os", "data")), "a VM depends on its disks: " + vm.dependsOn());
    }

    @Test
    void aDiskOnAnUnknownPoolNamesThePoolsThereAre() {
        assertEquals("c.yaml:11: storage.disks.web-os.pool: unknown pool 'nfs' (storage.pools: shared, lab)",
                error(replace(BASE, "web-os: {pool: shared,", "web-os: {pool: nfs,")));
    }

    @Test
    void aWrongFormatWordSaysWhatIsAllowed() {
        assertEquals("c.yaml:11: storage.disks.web-os.format: 'vmdk' is not allowed (allowed: raw, qcow2)",
                error(replace(BASE, "format: qcow2", "format: vmdk")));
    }

    @Test
    void aBadSizeSaysWhatASizeLooksLike() {
        assertEquals("c.yaml:11: storage.disks.web-os.size: '64 megs' is not a size like 64M, 1G, 512K, 2T or"
                + " plain bytes", error(replace(BASE, "size: 64M", "size: 64 megs")));
        assertEquals("c.yaml:11: storage.disks.web-os.size: '0' is not a size like 64M, 1G, 512K, 2T or plain bytes",
                error(replace(BASE, "size: 64M", "size: 0")));
        assertEquals("c.yaml:11: storage.disks.web-os.size: '1.5G' is not a size like 64M, 1G, 512K, 2T or plain"
                + " bytes", error(replace(BASE, "size: 64M", "size: 1.5G")));
    }

    @Test
    void aDiskNamedTwiceInOneFileIsRefusedAtTheSecondLine() {
        assertEquals("c.yaml:13: storage.disks.web-os: given twice", error(replace(BASE,
                "    web-data: {pool: lab, lun: 5}\n",
                "    web-data: {pool: lab, lun: 5}\n    web-os: {pool: shared, volume: other.qcow2, size: 1G}\n")));
    }

    @Test
    void aDiskNamedInTheMainFileAndAFragmentIsRefusedNamingBoth() throws Exception {
        Path main = Files.writeString(dir.resolve("cluster.yaml"), BASE);
        Files.createDirectories(dir.resolve("cluster.d"));
        Path frag = Files.writeString(dir.resolve("cluster.d/guests.yaml"), """
                storage:
                  disks:
                    db-os: {pool: shared, size: 1G}
                    web-os: {pool: shared, volume: again.qcow2, size: 1G}
                """);
        String m = assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.load(main)).getMessage();
        assertEquals(frag + ":4: storage.disks.web-os: is also defined in " + main, m);
    }

    @Test
    void aDiskNamedInTwoFragmentsIsRefusedNamingBoth() throws Exception {
        Path main = Files.writeString(dir.resolve("cluster.yaml"), BASE);
        Files.createDirectories(dir.resolve("cluster.d"));
        Path a = Files.writeString(dir.resolve("cluster.d/a.yaml"), """
                storage:
                  disks:
                    db-os: {pool: shared, size: 1G}
                """);
        Path b = Files.writeString(dir.resolve("cluster.d/b.yaml"), """
                # a second guest cluster, same disk name by mistake
                storage:
                  disks:
                    db-os: {pool: shared, volume: db2.qcow2, size: 1G}
                """);
        String m = assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.load(main)).getMessage();
        assertEquals(b + ":4: storage.disks.db-os: is also defined in " + a, m);
    }

    @Test
    void fragmentsAddDisksAndGroups() throws Exception {
        Path main = Files.writeString(dir.resolve("cluster.yaml"), BASE);
        Files.createDirectories(dir.resolve("cluster.d"));
        Files.writeString(dir.resolve("cluster.d/db.yaml"), """
                storage:
                  disks:
                    db-os: {pool: shared, size: 1G}
                groups:
                  db:
                    resources:
                      os: {type: disk, disk: db-os}
                      vm: {type: vm, disks: [os]}
                """);
        ClusterSpec s = ClusterConfigLoader.load(main).spec();
        assertEquals("db-os.qcow2", s.storage().disk("db-os").orElseThrow().volume());
        assertEquals(List.of("os"), s.groups().get("db").resources().get("vm").disks());
    }

    @Test
    void aShareableQcow2IsRefusedAsADifferencingDiskRisk() {
        String m = error(replace(BASE, "web-os: {pool: shared, volume: web.qcow2, format: qcow2, size: 64M}",
                "web-os: {pool: shared, volume: web.qcow2, format: qcow2, size: 64M, shareable: true}"));
        assertEquals("c.yaml:11: storage.disks.web-os: a shareable disk must be raw with no backing file: qcow2 and"
                + " differencing disks are not safe for several writers (ensure it is not a differencing disk; use"
                + " format: raw)", m);
        String backing = error(replace(BASE, "web-os: {pool: shared, volume: web.qcow2, format: qcow2, size: 64M}",
                "web-os:\n      pool: shared\n      format: raw\n      shareable: true\n      backing: /base.raw"));
        assertTrue(backing.startsWith("c.yaml:15: storage.disks.web-os: a shareable disk must be raw with no backing"
                + " file"), backing);
        assertTrue(backing.contains("ensure it is not a differencing disk"), backing);
    }

    @Test
    void aNonShareableDiskUsedByTwoGroupsIsRefusedWhereTheSecondNamesIt() {
        String m = error(BASE + """
                  app:
                    resources:
                      data: {type: disk, disk: web-data}
                """);
        assertEquals("c.yaml:17: groups.web.resources.data.disk: disk 'web-data' is not shareable and is already used"
                + " by app/data (a disk belongs to one node at a time; mark it shareable: true, raw, for a guest"
                + " cluster)", m);
    }

    @Test
    void aFragmentsGroupTakingANonShareableDiskIsRefusedAtItsOwnLine() throws Exception {
        Path main = Files.writeString(dir.resolve("cluster.yaml"), BASE);
        Files.createDirectories(dir.resolve("cluster.d"));
        Path frag = Files.writeString(dir.resolve("cluster.d/zz.yaml"), """
                groups:
                  zz:
                    resources:
                      vm: {type: vm, disks: [d]}
                      d: {type: disk, disk: web-os}
                """);
        String m = assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.load(main)).getMessage();
        assertEquals(frag + ":5: groups.zz.resources.d.disk: disk 'web-os' is not shareable and is already used by"
                + " web/os (a disk belongs to one node at a time; mark it shareable: true, raw, for a guest cluster)",
                m);
    }

    @Test
    void aShareableDiskMayBeUsedByTwoGroups() {
        ClusterSpec s = ClusterConfigLoader.parse("c.yaml", replace(BASE, "web-data: {pool: lab, lun: 5}",
                "web-data: {pool: lab, lun: 5, shareable: true}") + """
                  app:
                    resources:
                      data: {type: disk, disk: web-data}
                """).spec();
        assertEquals(2, s.groups().size());
    }

    @Test
    void aVmListingANonDiskResourceIsRefusedAtItsDisksLine() {
        String m = error(replace(BASE, "      vm: {type: vm, disks: [os, data]}\n",
                "      app: {type: script, properties: {script: /bin/true}}\n"
                        + "      vm:\n        type: vm\n        disks: [os, app]\n"));
        assertEquals("c.yaml:21: groups.web.resources.vm.disks: 'app' is not a disk resource of this group (disk"
                + " resources: os, data)", m);
        String unknown = error(replace(BASE, "disks: [os, data]", "disks: [os, dta]"));
        assertEquals("c.yaml:18: groups.web.resources.vm.disks: 'dta' is not a disk resource of this group (disk"
                + " resources: os, data)", unknown);
    }

    @Test
    void aLunOutsideThePoolsLunsIsRefusedNamingThem() {
        assertEquals("c.yaml:12: storage.disks.web-data.lun: LUN 9 is not among pool 'lab' luns [1, 2, 3, 4, 5, 6, 7,"
                + " 8]", error(replace(BASE, "lun: 5", "lun: 9")));
    }

    @Test
    void twoDisksOnOneLunAreRefused() {
        assertEquals("c.yaml:13: storage.disks.web-logs: LUN 5 of pool 'lab' is already disk 'web-data'",
                error(replace(BASE, "    web-data: {pool: lab, lun: 5}\n",
                        "    web-data: {pool: lab, lun: 5}\n    web-logs: {pool: lab, lun: 5}\n")));
    }

    @Test
    void twoDisksOnOneVolumeAreRefused() {
        assertEquals("c.yaml:13: storage.disks.web-copy: volume 'web.qcow2' of pool 'shared' is already disk"
                + " 'web-os'", error(replace(BASE, "    web-data: {pool: lab, lun: 5}\n",
                        "    web-data: {pool: lab, lun: 5}\n"
                                + "    web-copy: {pool: shared, volume: web.qcow2, size: 1G}\n")));
    }
}
