package io.havm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * cluster.heartbeat, cluster.watchdog and storage fencing: read with precise errors, and refused
 * when their numbers would let the survivors start a VM before a cut-off node must have stopped it.
 */
class SecondChannelConfigTest {
    private static final String GROUPS = "groups:\n  web: {resources: {web-vm: {type: vm}}}\n";

    private static String cluster(String extra, String timers, String fencing) {
        StringBuilder y = new StringBuilder("cluster:\n" + extra + "  timers: " + timers + "\n  nodes:\n");
        for (int i = 1; i <= 3; i++) {
            y.append("    - {name: host").append(i).append(", uri: qemu+tcp://10.77.0.1").append(i).append("/system")
                    .append(fencing.isEmpty() ? "" : ", fencing: " + fencing).append("}\n");
        }
        return y + GROUPS;
    }

    private static final String HB = "  heartbeat: {dir: /srv/hb, interval: 500ms, timeout: 1s}\n";
    private static final String WD = "  watchdog: {device: /dev/watchdog, timeout: 10s}\n";
    private static final String FAST = "{sessionTimeout: 3s, zkTickTime: 250ms, recoveryWithoutFence: never}";

    private static String error(String yaml) {
        return assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.parse("c.yaml", yaml)).getMessage();
    }

    @Test
    void aSecondChannelAndAWatchdogAreRead() {
        ClusterSpec s = ClusterConfigLoader.parse("c.yaml", cluster(HB
                + "  watchdog: {device: '/var/lib/havm-lab/watchdog/{node}', timeout: 6s}\n", FAST,
                "{agent: storage}")).spec();
        assertEquals("/srv/hb", s.heartbeat().dir());
        assertEquals(Duration.ofMillis(500), s.heartbeat().interval());
        assertEquals(Duration.ofSeconds(1), s.heartbeat().timeout());
        assertEquals(Duration.ofMillis(500), s.heartbeat().clockSkew());
        assertEquals("/var/lib/havm-lab/watchdog/host2", s.watchdog().deviceFor("host2"));
        assertTrue(s.nodes().get(0).fencing().storage());
        ClusterSpec none = ClusterConfigLoader.parse("c.yaml", cluster("", FAST, "")).spec();
        assertNull(none.heartbeat());
        assertNull(none.watchdog());
    }

    @Test
    void badSecondChannelInputNamesTheFieldAndWhatIsAllowed() {
        assertTrue(error(cluster("  heartbeat: {interval: 500ms}\n", FAST, "")).contains(
                "cluster.heartbeat: needs exactly one of 'dir'"));
        assertTrue(error(cluster("  heartbeat: {dir: relative/hb}\n", FAST, "")).contains(
                "cluster.heartbeat.dir: 'relative/hb' is not an absolute path"));
        assertTrue(error(cluster("  heartbeat: {dir: /hb, colour: red}\n", FAST, "")).contains(
                "cluster.heartbeat.colour: unknown field (allowed: clockSkew, dir, interval, lun, pool, timeout)"));
        assertTrue(error(cluster("  heartbeat: {dir: /hb, interval: 10ms}\n", FAST, "")).contains(
                "cluster.heartbeat.interval: '10ms' is out of range (allowed: 100ms..1m)"));
        assertTrue(error(cluster("  heartbeat: {pool: nowhere, lun: 1}\n", FAST, "")).contains(
                "cluster.heartbeat.pool: 'nowhere' is not a pool of storage.pools"));
        assertTrue(error(cluster("  watchdog: {device: watchdog0}\n", FAST, "")).contains(
                "cluster.watchdog.device: 'watchdog0' is not an absolute path"));
        assertTrue(error(cluster("  watchdog: {timeout: 900s}\n", FAST, "")).contains(
                "cluster.watchdog.timeout: must be between 1s and 600s"));
        assertTrue(error(cluster("", FAST, "{agent: stonith}")).contains(
                "'stonith' is not a fence agent (fence_<name>, e.g. fence_ipmilan, an absolute path, or 'storage'"));
    }

    @Test
    void aHeartbeatLunMustBeAnIscsiPoolsOwnLun() {
        String storage = "storage:\n  pools:\n    san: {type: iscsi, portal: '10.77.0.1:3260', target: 'iqn.2026-11.io.havm:lab',"
                + " luns: [1, 2]}\n    dir: {type: shared-dir, path: /srv/pool}\n  disks:\n    d1: {pool: san, lun: 2}\n";
        String base = cluster("  heartbeat: {pool: san, lun: 1}\n", FAST, "");
        ClusterSpec s = ClusterConfigLoader.parse("c.yaml", base.replace("groups:", storage + "groups:")).spec();
        assertEquals("san", s.heartbeat().pool());
        assertEquals(1, s.heartbeat().lun());
        assertTrue(error(cluster("  heartbeat: {pool: san, lun: 2}\n", FAST, "").replace("groups:", storage + "groups:"))
                .contains("cluster.heartbeat.lun: LUN 2 is disk d1's: heartbeats need a LUN of their own"));
        assertTrue(error(cluster("  heartbeat: {pool: san, lun: 7}\n", FAST, "").replace("groups:", storage + "groups:"))
                .contains("LUN 7 is not one of pool san's LUNs [1, 2]"));
        assertTrue(error(cluster("  heartbeat: {pool: dir, lun: 1}\n", FAST, "").replace("groups:", storage + "groups:"))
                .contains("'dir' is a shared-dir pool; a pool for heartbeats must be iscsi"));
    }

    @Test
    void storageFencingNeedsTheHeartbeatStorageAndAWatchdog() {
        String e = error(cluster("", FAST, "{agent: storage}"));
        assertTrue(e.contains("fencing.agent: storage needs cluster.heartbeat") && e.contains("cluster.heartbeat is missing")
                && e.contains("cluster.watchdog is missing"), e);
        e = error(cluster(HB, FAST, "{agent: storage}"));
        assertTrue(e.contains("cluster.watchdog is missing") && !e.contains("cluster.heartbeat is missing"), e);
    }

    @Test
    void timersThatLetTheSurvivorsStartFirstAreRefusedNamingTheNumbers() {
        // A live node needs 2 x 500ms + 2 x 1s + selfFenceDuration 2s = 5s to read a fence request and stop.
        String e = error(cluster(HB + "  watchdog: {device: /dev/watchdog, timeout: 4s}\n", FAST, "{agent: storage}"));
        assertTrue(e.contains("timers race: ") && e.contains("cluster.watchdog.timeout 4s is shorter than a live node needs"
                + " to read a fence request and stop (2 x interval 500ms + 2 x timeout 1s + selfFenceDuration 2s = 5s)"), e);
        // recoveryWithoutFence shorter than reading that it is lost and stopping.
        e = error(cluster(HB + WD, "{sessionTimeout: 3s, zkTickTime: 250ms, recoveryWithoutFence: 2s}", ""));
        assertTrue(e.contains("timers.recoveryWithoutFence 2s is shorter than the time a cut-off node needs to read that"
                + " it is lost and stop"), e);
        // A watchdog slower than the recovery deadline allows.
        e = error(cluster(HB + "  watchdog: {device: /dev/watchdog, timeout: 60s}\n",
                "{sessionTimeout: 3s, zkTickTime: 250ms, recoveryWithoutFence: 8s}", ""));
        assertTrue(e.contains("cluster.watchdog.timeout 60s is longer than readTimeout 2s + recoveryWithoutFence 8s"
                + " - safetyMargin 1s"), e);
        // Petting every 500ms needs a watchdog of at least three intervals.
        e = error(cluster(HB + "  watchdog: {device: /dev/watchdog, timeout: 1s}\n", FAST, ""));
        assertTrue(e.contains("cluster.watchdog.timeout 1s is shorter than 3 x heartbeat.interval 1500ms"), e);
        // Consistent numbers load.
        ClusterConfigLoader.parse("c.yaml", cluster(HB + WD, "{sessionTimeout: 3s, zkTickTime: 250ms,"
                + " recoveryWithoutFence: 9s}", ""));
    }

    @Test
    void withoutASecondChannelTheCautionSaysAnOutageWouldStopVms() {
        var loaded = ClusterConfigLoader.parse("c.yaml", cluster("", "{sessionTimeout: 3s, zkTickTime: 250ms,"
                + " recoveryWithoutFence: 3s}", ""));
        assertTrue(loaded.warnings().stream().anyMatch(w -> w.contains("no cluster.heartbeat while"
                + " timers.recoveryWithoutFence is set") && w.contains("a ZooKeeper outage stops every HA VM")),
                loaded.warnings().toString());
        assertTrue(loaded.warnings().stream().anyMatch(w -> w.contains("no cluster.watchdog while"
                + " timers.recoveryWithoutFence is set")), loaded.warnings().toString());
        var safe = ClusterConfigLoader.parse("c.yaml", cluster(HB + WD, FAST, "{agent: storage}"));
        assertEquals(java.util.List.of(), safe.warnings());
    }
}
