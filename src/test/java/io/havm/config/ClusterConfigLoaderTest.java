package io.havm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Configuration errors name file, line, field and what is allowed; racing timers are refused. */
class ClusterConfigLoaderTest {
    static final String NODES = """
            cluster:
              nodes:
                - {name: host1, uri: qemu+tcp://10.77.0.11/system, memoryMiB: 2048}
                - {name: host2, uri: qemu+tcp://10.77.0.12/system, memoryMiB: 2048}
                - {name: host3, uri: qemu+tcp://10.77.0.13/system, memoryMiB: 2048}
            """;

    private static String error(String yaml) {
        return assertThrows(InvalidInputException.class, () -> ClusterConfigLoader.parse("c.yaml", yaml)).getMessage();
    }

    @Test
    void defaultsFollowTheSeeds() {
        ClusterSpec s = ClusterConfigLoader.parse("c.yaml", NODES + """
                groups:
                  web:
                    resources:
                      web-vm: {type: vm}
                """).spec();
        GroupSpec g = s.groups().get("web");
        assertEquals(2, g.failoverThreshold(), "WSFC: n-1 failovers");
        assertEquals(Duration.ofHours(6), g.failoverPeriod());
        assertEquals(1, g.resources().get("web-vm").restart().threshold());
        assertEquals(Duration.ofSeconds(5), g.resources().get("web-vm").looksAliveInterval());
        assertEquals(Duration.ofSeconds(60), g.resources().get("web-vm").isAliveInterval());
        assertEquals(List.of(), s.timers().clashes());
        assertEquals(Duration.ofSeconds(20), s.timers().startupGrace());
        assertEquals(Duration.ofSeconds(180), g.resources().get("web-vm").pendingTimeout());
    }

    @Test
    void fencePasswordsComeFromFilesNeverFromTheConfigurationInClear() {
        String fenced = NODES.replace("memoryMiB: 2048}\n    - {name: host2", "memoryMiB: 2048, fencing: {agent:"
                + " fence_ipmilan, options: {ip: 10.0.0.21, username: admin, password: PW}}}\n    - {name: host2");
        ClusterSpec.Fencing f = ClusterConfigLoader.parse("c.yaml", fenced.replace("PW", "{file: /etc/havm/secrets/bmc1}"))
                .spec().node("host1").orElseThrow().fencing();
        assertEquals(java.util.Map.of("ip", "10.0.0.21", "username", "admin"), f.options());
        assertEquals(java.util.Map.of("password", java.nio.file.Path.of("/etc/havm/secrets/bmc1")), f.optionFiles());

        String clear = error(fenced.replace("PW", "'hunter2-Pw'"));
        assertEquals("c.yaml:3: cluster.nodes.host1.fencing.options.password: a secret in clear is refused: the"
                + " configuration is stored in the cluster and shown by 'config show'. Put the value alone on one line"
                + " in a file readable by root only (chmod 600, owner root) on every host, e.g."
                + " /etc/havm/secrets/host1-password, and write 'password: {file: /etc/havm/secrets/host1-password}'",
                clear);
        for (String name : List.of("passwd", "snmp_priv_passwd", "community", "secret_key", "hexadecimal_kg")) {
            String e = error(fenced.replace("password: PW", name + ": hunter2-Pw"));
            assertTrue(e.contains("options." + name + ": a secret in clear is refused"), e);
            assertTrue(!e.contains("hunter2"), "the value is never repeated: " + e);
        }
        assertEquals("c.yaml:3: cluster.nodes.host1.fencing.options.password.file: 'secrets/bmc1' is not an absolute"
                + " path (a file readable by root only that holds the value alone on one line)",
                error(fenced.replace("PW", "{file: secrets/bmc1}")));
        assertTrue(error(fenced.replace("PW", "{path: /etc/havm/secrets/bmc1}"))
                .contains("options.password.path: unknown field (allowed: file)"));
        // Where a secret is, is no secret: a script's or a file's path stays in clear.
        assertEquals("/usr/local/bin/bmc-pw", ClusterConfigLoader.parse("c.yaml", fenced.replace("password: PW",
                "password_script: /usr/local/bin/bmc-pw")).spec().node("host1").orElseThrow().fencing().options()
                .get("password_script"));
    }

    @Test
    void startupGraceIsADurationNamedByLineAndField() {
        ClusterSpec s = ClusterConfigLoader.parse("c.yaml", NODES.replace("cluster:\n", """
                cluster:
                  timers: {startupGrace: 90s}
                """)).spec();
        assertEquals(Duration.ofSeconds(90), s.timers().startupGrace());
        assertEquals(Duration.ZERO, ClusterConfigLoader.parse("c.yaml", NODES.replace("cluster:\n",
                "cluster:\n  timers: {startupGrace: 0s}\n")).spec().timers().startupGrace(), "0s: no grace");
        assertEquals("c.yaml:4: cluster.timers.startupGrace: 'soon' is not a duration (a number with ms, s, m or h,"
                + " e.g. 3s)", error(NODES.replace("cluster:\n", """
                cluster:
                  timers:
                    sessionTimeout: 3s
                    startupGrace: soon
                """)));
        assertTrue(error(NODES.replace("cluster:\n", "cluster:\n  timers: {startupGrace: never}\n"))
                .startsWith("c.yaml:2: cluster.timers.startupGrace: 'never' is not a duration"));
        assertTrue(error(NODES.replace("cluster:\n", "cluster:\n  timers: {startupGrace: -5s}\n"))
                .contains("cluster.timers.startupGrace: '-5s' is not a duration"));
        assertTrue(error(NODES.replace("cluster:\n", "cluster:\n  timers: {startupGrase: 5s}\n"))
                .contains("cluster.timers.startupGrase: unknown field: did you mean 'startupGrace'? (allowed: fenceRetry, perVmOverheadMiB,"
                        + " recoveryWithoutFence, safetyMargin, selfFenceAfter, selfFenceDuration, sessionTimeout,"
                        + " startupGrace, zkTickTime)"));
    }

    @Test
    void errorsNameTheLineTheFieldAndTheAllowedValues() {
        assertEquals("c.yaml:9: groups.web.failback: 'sometimes' is not allowed (allowed: never, immediate, "
                + "window HH-HH e.g. window 22-06, or with minutes and seconds e.g. window 22:30-06:15:30)", error(NODES + """
                groups:
                  web:
                    resources: {web-vm: {type: vm}}
                    failback: sometimes
                """));
        assertTrue(error(NODES + "    - {name: host1, uri: qemu:///system}\n").contains("'host1' is given twice"));
        assertTrue(error(NODES + """
                groups:
                  web:
                    possibleOwners: [host1, host9]
                    resources: {web-vm: {type: vm}}
                """).startsWith("c.yaml:8: groups.web.possibleOwners: unknown node 'host9' (nodes: host1, host2, host3)"));
        assertTrue(error(NODES + """
                groups:
                  web:
                    resources: {web-vm: {type: container}}
                """).contains("groups.web.resources.web-vm.type: 'container' is not allowed (allowed: vm, script, disk)"));
        assertTrue(error(NODES + """
                groups:
                  web:
                    resources:
                      a: {type: script, dependsOn: [b], properties: {script: /bin/true}}
                      b: {type: script, dependsOn: [a], properties: {script: /bin/true}}
                """).contains("dependency cycle among [a, b]"));
        assertTrue(error(NODES + """
                groups:
                  web:
                    resources: {web-vm: {type: vm, looksAlive: soon}}
                """).contains("looksAlive: 'soon' is not a duration"));
        assertTrue(error("cluster: {nodes: [}\n").startsWith("c.yaml:1: malformed YAML"));
        assertTrue(error(NODES + "  colour: blue\n").contains("c.yaml:6: cluster.colour: unknown field (allowed: "
                + "admission, api, heartbeat, migration, migrationsPerHost, name, nodes, timeZone, timers, watchdog, zookeeper)"));
    }

    @Test
    void timersThatRaceAreRefusedNamingTheNumbers() {
        String msg = error(NODES.replace("cluster:\n", """
                cluster:
                  timers: {sessionTimeout: 3s, selfFenceAfter: 0s, selfFenceDuration: 2s, safetyMargin: 1s, recoveryWithoutFence: 1s}
                """));
        assertTrue(msg.contains("survivors would recover at sessionTimeout 3s + recoveryWithoutFence 1s = 4s, before an "
                + "isolated node is done self-fencing at readTimeout 2s + selfFenceAfter 0s + selfFenceDuration 2s + "
                + "safetyMargin 1s = 5s: raise recoveryWithoutFence to at least 2s"), msg);
        msg = error(NODES.replace("cluster:\n", "cluster:\n  timers: {sessionTimeout: 3s, zkTickTime: 2s}\n"));
        assertTrue(msg.contains("sessionTimeout 3s is outside ZooKeeper's [2, 20] x tickTime = [4s, 40s]"), msg);
        msg = error(NODES.replace("cluster:\n", "cluster:\n  timers: {sessionTimeout: 3s, selfFenceAfter: 1s}\n"));
        assertTrue(msg.contains("selfFenceAfter 1s must be shorter than sessionTimeout 3s - readTimeout 2s = 1s"), msg);
    }

    @Test
    void nPlusOneAdmissionWarnsOrRefuses() {
        String groups = """
                groups:
                  big1: {possibleOwners: [host1, host2], resources: {v: {type: vm, memoryMiB: 1900}}}
                  big2: {possibleOwners: [host1, host2], resources: {v: {type: vm, memoryMiB: 1900}}}
                """;
        ClusterConfigLoader.Loaded warn = ClusterConfigLoader.parse("c.yaml", NODES + groups);
        assertTrue(warn.warnings().contains("N+1: losing host1 leaves big1 nowhere to run"), warn.warnings().toString());
        String msg = error(NODES.replace("cluster:\n", "cluster:\n  admission: refuse\n") + groups);
        assertTrue(msg.startsWith("c.yaml: admission refused (cluster.admission: refuse): N+1: losing host1"), msg);
    }

    @Test
    void failbackWindowsAreReadInTheClusterTimeZoneByDefaultTheHosts() {
        String groups = """
                groups:
                  web:
                    resources: {web-vm: {type: vm}}
                    failback: window 22-06
                """;
        GroupSpec.Failback.Window dflt = (GroupSpec.Failback.Window) ClusterConfigLoader.parse("c.yaml", NODES + groups)
                .spec().groups().get("web").failback();
        assertEquals(java.time.ZoneId.systemDefault(), dflt.zone());
        GroupSpec.Failback.Window berlin = (GroupSpec.Failback.Window) ClusterConfigLoader.parse("c.yaml",
                NODES.replace("cluster:\n", "cluster:\n  timeZone: Europe/Berlin\n") + groups)
                .spec().groups().get("web").failback();
        assertEquals(java.time.ZoneId.of("Europe/Berlin"), berlin.zone());
        assertEquals("c.yaml:2: cluster.timeZone: 'Europe/Berln' is not a time zone (a region such as Europe/Berlin"
                + " or America/New_York, UTC, or an offset such as +01:00)",
                error(NODES.replace("cluster:\n", "cluster:\n  timeZone: Europe/Berln\n") + groups));
    }

    @Test
    void failbackWindowsMayGiveMinutesAndSeconds() {
        String groups = """
                groups:
                  web:
                    resources: {web-vm: {type: vm}}
                    failback: window 23:59:30-00:01
                """;
        GroupSpec.Failback.Window w = (GroupSpec.Failback.Window) ClusterConfigLoader.parse("c.yaml",
                NODES.replace("cluster:\n", "cluster:\n  timeZone: UTC\n") + groups).spec().groups().get("web").failback();
        assertEquals(java.time.LocalTime.of(23, 59, 30), w.from());
        assertEquals(java.time.LocalTime.of(0, 1), w.to());
        assertEquals(false, w.contains(java.time.Instant.parse("2026-12-07T23:59:29Z")));
        assertEquals(true, w.contains(java.time.Instant.parse("2026-12-07T23:59:30Z")));
        assertEquals(true, w.contains(java.time.Instant.parse("2026-12-08T00:00:59Z")));
        assertEquals(false, w.contains(java.time.Instant.parse("2026-12-08T00:01:00Z")));
        assertEquals(new GroupSpec.Failback.Window(22, 6, java.time.ZoneId.of("UTC")), ClusterConfigLoader.parse("c.yaml",
                NODES.replace("cluster:\n", "cluster:\n  timeZone: UTC\n") + groups.replace("23:59:30-00:01", "22-06"))
                .spec().groups().get("web").failback());
        assertEquals("c.yaml:9: groups.web.failback: 'window 22:60-06' is not allowed (allowed: never, immediate,"
                + " window HH-HH e.g. window 22-06, or with minutes and seconds e.g. window 22:30-06:15:30)",
                error(NODES + groups.replace("23:59:30-00:01", "22:60-06")));
    }

    @Test
    void zookeeperIsNamedExplicitlyOrNotAtAll() {
        assertEquals(null, ClusterConfigLoader.parse("c.yaml", NODES).spec().zookeeper(), "the simulator needs none");
        assertEquals("zk1:2181,10.0.0.2:2181", ClusterConfigLoader.parse("c.yaml",
                NODES.replace("cluster:\n", "cluster:\n  zookeeper: 'zk1:2181,10.0.0.2:2181'\n")).spec().zookeeper());
        assertEquals("c.yaml:2: cluster.zookeeper: 'embedded' is no longer allowed: name the ZooKeeper servers (a"
                + " connect string host:port[,host:port...][/chroot], e.g. 'zk1:2181,zk2:2181,zk3:2181' or"
                + " '[fd00::1]:2181/havm'; the lab's: ./havm lab status --json, zookeeper.connect)",
                error(NODES.replace("cluster:\n", "cluster:\n  zookeeper: embedded\n")));
        assertTrue(error(NODES.replace("cluster:\n", "cluster:\n  zookeeper: 'zk1:2181,zk2'\n"))
                .startsWith("c.yaml:2: cluster.zookeeper: 'zk2' is not host:port with a port 1..65535"));
        assertTrue(error(NODES.replace("cluster:\n", "cluster:\n  zookeeper: 'zk1:99999'\n"))
                .startsWith("c.yaml:2: cluster.zookeeper: 'zk1:99999' is not host:port"));
        // what ZooKeeper's own clients accept: a chroot suffix, IPv6 in brackets
        assertEquals("zk1:2181,[fd00::2]:2181/havm/prod", ClusterConfigLoader.parse("c.yaml",
                NODES.replace("cluster:\n", "cluster:\n  zookeeper: 'zk1:2181,[fd00::2]:2181/havm/prod'\n")).spec()
                .zookeeper());
        assertTrue(error(NODES.replace("cluster:\n", "cluster:\n  zookeeper: 'zk1:2181/'\n"))
                .startsWith("c.yaml:2: cluster.zookeeper: '/' is not a chroot path"));
    }

    @Test
    void migrationOverTlsIsAskedForByTheClusterAndBadValuesAreNamed() {
        assertEquals(false, ClusterConfigLoader.parse("c.yaml", NODES).spec().migrationTls(), "off by default");
        assertTrue(ClusterConfigLoader.parse("c.yaml", NODES.replace("cluster:\n",
                "cluster:\n  migration: {tls: true}\n")).spec().migrationTls());
        assertEquals(false, ClusterConfigLoader.parse("c.yaml", NODES.replace("cluster:\n",
                "cluster:\n  migration: {tls: false}\n")).spec().migrationTls());
        assertEquals("c.yaml:2: cluster.migration.tls: 'yes' is not allowed (allowed: true, false)",
                error(NODES.replace("cluster:\n", "cluster:\n  migration: {tls: yes}\n")));
        assertEquals("c.yaml:2: cluster.migration.tsl: unknown field: did you mean 'tls'? (allowed: tls)",
                error(NODES.replace("cluster:\n", "cluster:\n  migration: {tsl: true}\n")));
        assertEquals("c.yaml:2: cluster.migration: must be a mapping",
                error(NODES.replace("cluster:\n", "cluster:\n  migration: tls\n")));
    }
}
