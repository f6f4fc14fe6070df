package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input at the command line and in VM files: exit 2, a message naming what and where. No lab needed. */
class MainTest {
    @TempDir
    Path dir;
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        Main m = new Main(Path.of("").toAbsolutePath(), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return m.run(List.of(args));
    }

    /** Runs and returns what the command printed on its standard output. */
    private String runOut(int expectedExit, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Main m = new Main(Path.of("").toAbsolutePath(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(expectedExit, m.run(List.of(args)), err());
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private Path vmFile(String yaml) throws Exception {
        Path k = Files.writeString(dir.resolve("vmlinuz"), "k");
        Files.writeString(dir.resolve("disk.qcow2"), "d");
        return Files.writeString(dir.resolve("vm.yaml"), yaml.replace("KERNEL", k.toString())
                .replace("DISK", dir.resolve("disk.qcow2").toString()));
    }

    @Test
    void unknownCommandAndOptionsAreRefusedWithTheAllowedOnes() {
        assertEquals(2, run("frobnicate"));
        assertTrue(err().contains("unknown command 'frobnicate' (commands: demo, bench, lab, vm, resource, cluster, config, storage, sim, drill, agent, zookeeper, status, events, group, node, guest-cluster, validate, completion, help)"), err());
        assertEquals(2, run("demo"));
        assertTrue(err().contains("havm demo: the lab's own command: run it through the launcher, ./havm demo"), err());
        assertEquals(2, run("vm", "move", "a.yaml", "--to", "host2", "--mode", "teleport"));
        assertTrue(err().contains("--mode: 'teleport' is not allowed (allowed: live, quick, offline)"), err());
        assertEquals(2, run("resource", "wake-up", "a.yaml", "--host", "host1"));
        assertTrue(err().contains("unknown entry point 'wake-up'"), err());
    }

    @Test
    void aMissingOrMalformedVmFileIsRefusedWithFileAndLine() throws Exception {
        assertEquals(2, run("vm", "status", dir.resolve("nope.yaml").toString()));
        assertTrue(err().contains("nope.yaml: does not exist (a VM file was expected)"), err());
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "name: web\ndisk: {path: x\nvcpus: 1\n");
        assertEquals(2, run("vm", "status", bad.toString()));
        assertTrue(err().contains("bad.yaml:3: malformed YAML: "), err());
    }

    @Test
    void badFieldsNameTheFieldAndTheAllowedValues() throws Exception {
        String base = "name: web\nkernel: KERNEL\ninitrd: KERNEL\ndomainType: qemu\ndisk: {path: DISK}\n";
        Path f = vmFile(base + "colour: blue\n");
        assertEquals(2, run("vm", "status", f.toString()));
        assertTrue(err().contains("vm.yaml: colour: unknown field (allowed: cmdline, disk, disks, domainType"), err());

        f = vmFile(base + "resource: {offlineAction: hibernate}\n");
        assertEquals(2, run("vm", "status", f.toString()));
        assertTrue(err().contains("vm.yaml: resource.offlineAction: 'hibernate' is not allowed (allowed: save, "
                + "shutdown, forced-shutdown, turn-off)"), err());

        f = vmFile(base + "memoryMiB: 4\n");
        assertEquals(2, run("vm", "status", f.toString()));
        assertTrue(err().contains("vm.yaml: memoryMiB: 4 is out of range (allowed: 32..1048576)"), err());

        f = vmFile(base.replace("domainType: qemu", "domainType: xen"));
        assertEquals(2, run("vm", "status", f.toString()));
        assertTrue(err().contains("vm.yaml: domainType: 'xen' is not allowed (allowed: kvm, qemu)"), err());

        f = vmFile(base.replace("disk: {path: DISK}", "disk: {path: DISK, size: 12parsecs}"));
        assertEquals(2, run("vm", "status", f.toString()));
        assertTrue(err().contains("vm.yaml: disk.size: '12parsecs' is not a size"), err());
    }

    @Test
    void configCheckValidatesFenceAgentOptionsAgainstTheAgentsOwnMetadata() throws Exception {
        Path pw = Files.writeString(dir.resolve("bmc1"), "s3cret\n");
        Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        String yaml = "cluster:\n  nodes:\n    - {name: host1, uri: qemu+tcp://10.0.0.1/system, fencing: {agent: "
                + "fence_redfish, options: {ip: 10.0.0.9, USER: admin, password: {file: " + pw + "}}}}\n"
                + "groups:\n  web: {resources: {web-vm: {type: vm, properties: {domain: web}}}}\n";
        Path ok = Files.writeString(dir.resolve("ok.yaml"), yaml.replace("USER", "username"));
        assertEquals(0, run("config", "check", ok.toString()), err());
        Path clear = Files.writeString(dir.resolve("clear.yaml"), yaml.replace("USER", "username")
                .replace("{file: " + pw + "}", "s3cret"));
        assertEquals(2, run("config", "check", clear.toString()));
        assertTrue(err().contains("clear.yaml:3: cluster.nodes.host1.fencing.options.password: a secret in clear is"
                + " refused"), err());
        Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        assertEquals(2, run("config", "check", ok.toString()));
        assertTrue(err().contains("ok.yaml: cluster.nodes.host1.fencing.options.password: " + pw + ": mode 0644"
                + " (rw-r--r--)"), err());
        assertTrue(err().contains("chmod 600 " + pw), err());
        Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path typo = Files.writeString(dir.resolve("typo.yaml"), yaml.replace("USER", "usernme"));
        assertEquals(2, run("config", "check", typo.toString()));
        assertTrue(err().contains("typo.yaml: cluster.nodes.host1.fencing.options.usernme: fence_redfish has no "
                + "parameter 'usernme'"), err());
        assertTrue(!err().contains("s3cret"), "passwords never appear in messages");
    }

    @Test
    void vmCommandsActOnTheNodesOfTheConfigurationNotOnTheLab() throws Exception {
        Path f = vmFile("name: web\nkernel: KERNEL\ninitrd: KERNEL\ndomainType: qemu\ndisk: {path: DISK}\n");
        assertEquals(2, run("vm", "status", f.toString()));
        assertTrue(err().contains("havm vm status: option --config is required (usage: havm vm status FILE [--json] --config C)"),
                err());
        Path c = Files.writeString(dir.resolve("c.yaml"), "cluster:\n  nodes:\n"
                + "    - {name: kvm1, uri: 'test:///default'}\n    - {name: kvm2, uri: 'test:///default'}\n");
        assertEquals(2, run("resource", "looks-alive", f.toString(), "--host", "host1", "--config", c.toString()));
        assertTrue(err().contains("unknown host 'host1' (nodes of the configuration: kvm1 kvm2)"), err());
    }

    @Test
    void aVmFileNamesItsDiskAndKeepsItsStateBesideIt() throws Exception {
        Path f = vmFile("name: web\nkernel: KERNEL\ninitrd: KERNEL\ndomainType: qemu\ndisk: {size: 64M}\n");
        assertEquals(2, run("vm", "status", f.toString()));
        assertTrue(err().contains("vm.yaml: disk.path: is required: where the disk image is, on storage every host"
                + " reaches (e.g. /srv/shared/images/web.qcow2)"), err());
        VmFile v = VmFile.load(vmFile("name: web\nkernel: KERNEL\ninitrd: KERNEL\ndomainType: qemu\ndisk: {path: DISK}\n"),
                Path.of("").toAbsolutePath());
        assertEquals(dir.resolve("web.console.log"), v.spec().serialLog());
        assertEquals(dir, v.properties().stateDir());
    }

    @Test
    void aVmFileAsksForTlsMigrationOrNot() throws Exception {
        String base = "name: web\nkernel: KERNEL\ninitrd: KERNEL\ndomainType: qemu\ndisk: {path: DISK}\n";
        Path home = Path.of("").toAbsolutePath();
        assertFalse(VmFile.load(vmFile(base), home).migration().tls(), "off by default");
        assertTrue(VmFile.load(vmFile(base + "migration: {tls: true, unsafeSharedStorage: true}\n"), home).migration()
                .tls());
        Path f = vmFile(base + "migration: {tls: maybe}\n");
        assertEquals(2, run("vm", "status", f.toString()));
        assertTrue(err().contains("vm.yaml: migration.tls: 'maybe' is not allowed (allowed: true, false)"), err());
    }

    @Test
    void clusterCommandsNeedTheZooKeeperTheConfigurationNames() throws Exception {
        Path c = Files.writeString(dir.resolve("c.yaml"), "cluster:\n  nodes:\n    - {name: kvm1, uri: 'test:///default'}\n");
        assertEquals(2, run("status", "--config", c.toString()));
        assertTrue(err().contains(c + ": cluster.zookeeper: is required to reach the cluster: the ZooKeeper"
                + " ensemble's connect string, e.g. zookeeper: 'zk1:2181,zk2:2181,zk3:2181'"), err());
        assertEquals(2, run("agent", "--config", c.toString(), "--node", "kvm1"), "no agent without a ZooKeeper");
        assertEquals(0, run("config", "check", c.toString()), err());
        assertTrue(err().contains("warning: " + c + ": cluster.zookeeper is not set"), err());
    }

    @Test
    void aBadGroupOrNodeRequestIsRefusedBeforeTheClusterIsReached() throws Exception {
        // Nothing listens on port 1: a request that got as far as connecting would fail with exit 1.
        Path c = Files.writeString(dir.resolve("c.yaml"), "cluster:\n  zookeeper: '127.0.0.1:1'\n  nodes:\n"
                + "    - {name: kvm1, uri: 'test:///default'}\n");
        assertEquals(2, run("group", "frob", "web", "--config", c.toString()));
        assertTrue(err().contains("havm group: unknown subcommand 'frob' (allowed: move, online, offline)"), err());
        assertEquals(2, run("node", "evacuate", "kvm1", "--config", c.toString()));
        assertTrue(err().contains("havm node: unknown subcommand 'evacuate' (allowed: drain, resume, shutdown)"), err());
        assertEquals(2, run("group", "move", "web", "--config", c.toString()));
        assertTrue(err().contains("--to"), err());
        assertEquals(2, run("group", "move", "web", "--to", "kvm1", "--mode", "teleport", "--config", c.toString()));
        assertTrue(err().contains("--mode: 'teleport' is not allowed (allowed: live, quick, offline)"), err());
    }

    @Test
    void drillCommandsCheckPlaybooksAndRefuseWhatTheyCannotDo() throws Exception {
        String ok = runOut(0, "drill", "check", "playbooks/host-power-loss.yaml", "playbooks/live-migration.yaml");
        assertTrue(ok.contains("ok: playbooks/host-power-loss.yaml: playbook host-power-loss: 2 groups, 9 steps"), ok);
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "name: bad\ndescription: d\ngroups: {web: {}}\nsteps:\n"
                + "  - fault: power-cut\n    host: host1\n");
        assertEquals(2, run("drill", "run", bad.toString(), "--sim"));
        assertTrue(err().contains(bad + ":5: steps[1].fault: 'power-cut' is not allowed (allowed: power-loss,"), err());
        assertEquals(2, run("drill", "run", "playbooks/host-power-loss.yaml"));
        assertTrue(err().contains("havm drill run: a drill on real hosts runs on a cluster's own hosts (--config"
                + " cluster.yaml) or on the lab, through its launcher: ./havm drill run PLAYBOOK; or rehearse it here"
                + " with --sim"), err());
        assertEquals(2, run("drill", "rehearse", "playbooks/host-power-loss.yaml"));
        assertTrue(err().contains("havm drill: unknown subcommand 'rehearse' (allowed: check, run)"), err());
        Path c = Files.writeString(dir.resolve("c.yaml"), "cluster:\n  nodes:\n    - {name: kvm1, uri: 'test:///default'}\n"
                + "groups:\n  db:\n    resources:\n      db-vm: {type: vm, memoryMiB: 128}\n");
        assertEquals(2, run("drill", "run", "playbooks/host-power-loss.yaml", "--sim", "--config", c.toString()));
        assertTrue(err().contains("playbooks/host-power-loss.yaml: groups.web: no such group in " + c
                + " (groups: db)"), err());
        String rehearsal = runOut(0, "drill", "run", "playbooks/live-migration.yaml", "--sim", "--report",
                dir.resolve("r").toString());
        assertTrue(rehearsal.contains("havm drill: live-migration: passed (rehearsed in the simulator)"), rehearsal);
        assertTrue(Files.exists(dir.resolve("r/junit.xml")) && Files.exists(dir.resolve("r/report.json")));
    }

    @Test
    void versionIsThePomsAsTheBuildFilteredIt() throws Exception {
        // The Debian package (ci/package) names itself after this version and help2man reads it here.
        java.util.regex.Matcher pom = java.util.regex.Pattern.compile(
                "<artifactId>havm</artifactId>\\s*<version>([^<]+)</version>").matcher(Files.readString(Path.of("pom.xml")));
        assertTrue(pom.find(), "pom.xml names havm's version");
        assertEquals("havm " + pom.group(1) + "\n", runOut(0, "--version"));
        assertTrue(runOut(0, "--help").contains("--version"), "help lists --version (the man page is made from it)");
    }

    @Test
    void vmRemoveSaysWhereItRemovedTheVmAsJson() throws Exception {
        // libvirt's test driver, one file per node: web is defined (running) on kvm1 only
        Path kvm1 = Files.writeString(dir.resolve("kvm1.xml"), "<node><domain type='test'><name>web</name>"
                + "<memory>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain></node>");
        Path kvm2 = Files.writeString(dir.resolve("kvm2.xml"), "<node></node>");
        Path c = Files.writeString(dir.resolve("c.yaml"), "cluster:\n  nodes:\n"
                + "    - {name: kvm1, uri: 'test://" + kvm1 + "'}\n    - {name: kvm2, uri: 'test://" + kvm2 + "'}\n");
        Path vm = vmFile("name: web\nkernel: KERNEL\ninitrd: KERNEL\ndomainType: qemu\ndisk: {path: DISK}\n");
        com.fasterxml.jackson.databind.JsonNode d = ConfigCommandsTest.oneDocument(runOut(0, "vm", "remove",
                vm.toString(), "--config", c.toString(), "--json"));
        assertTrue(d.get("ok").asBoolean());
        assertEquals("web", d.get("vm").asText());
        assertEquals("[\"kvm1\"]", d.get("removedFrom").toString());
        assertEquals(0, d.get("unreachable").size());
        assertEquals("[\"kvm1\",\"kvm2\"]", d.get("hosts").toString());
        // the text, as before
        assertEquals("removed web from kvm1\n", runOut(0, "vm", "remove", vm.toString(), "--config", c.toString()));
    }
}
