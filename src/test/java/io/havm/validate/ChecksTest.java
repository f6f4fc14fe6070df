package io.havm.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.port.Fencer;
import io.havm.validate.Check.Status;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Each check over hand-made facts: one case where it passes, one where it warns or fails. */
class ChecksTest {
    static final String CLUSTER = """
            cluster:
              name: t
              zookeeper: 'zk1:2181,zk2:2181,zk3:2181'
              heartbeat: {dir: /shared/hb, interval: 1s, timeout: 2s}
              watchdog: {device: /dev/watchdog, timeout: 15s}
              timers: {sessionTimeout: 10s, selfFenceDuration: 2s, safetyMargin: 2s, recoveryWithoutFence: 20s}
              nodes:
                - {name: h1, uri: 'qemu+tcp://h1/system', memoryMiB: 4096, fencing: {agent: storage}}
                - {name: h2, uri: 'qemu+tcp://h2/system', memoryMiB: 4096, fencing: {agent: storage}}
            storage:
              leaseDir: /shared/lockd
            groups: {}
            """;

    static final String VM = """
            <domain type='kvm'><name>web</name><memory unit='MiB'>128</memory>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              CPU
              <devices>
                <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/shared/web.qcow2'/><target dev='vda'/></disk>
                <interface type='bridge'><mac address='52:54:00:aa:bb:01'/><source bridge='br0'/></interface>
                <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
                EXTRA
              </devices></domain>
            """;

    final ClusterSpec spec = ClusterConfigLoader.parse("c.yaml", CLUSTER).spec();

    static VmFacts vm(String cpu, String extra) {
        return VmFacts.parse("web", "web", List.of("h1", "h2"), VM.replace("CPU", cpu).replace("EXTRA", extra));
    }

    static VmFacts vm() {
        return vm("", "");
    }

    /** A host that has everything the VM above needs. */
    static HostFacts good(String name) {
        return new HostFacts(name, null, 9_000_000, 7_002_000, 16384, "<cpu/>",
                Map.of(Questions.machineKey("x86_64", "pc", "kvm"), Probe.yes("pc-i440fx-7.2")),
                Map.of("web", Probe.yes("superset")), Map.of("br0", Probe.yes("bridge")), Map.of(),
                Map.of("/shared/web.qcow2", Probe.yes("size 1, ctime 5"), "/shared/hb/.havm-validate-x", Probe.yes("x"),
                        "/shared/lockd/.havm-validate-x", Probe.yes("x")),
                new HostFacts.Clock(3, 1, null));
    }

    Checks.Facts facts(List<VmFacts> vms, HostFacts... hosts) {
        Map<String, HostFacts> h = new TreeMap<>();
        for (HostFacts f : hosts) {
            h.put(f.host(), f);
        }
        Map<String, Probe> zk = new LinkedHashMap<>();
        zk.put("zk1:2181", Probe.yes("follower"));
        zk.put("zk2:2181", Probe.yes("leader"));
        zk.put("zk3:2181", Probe.yes("follower"));
        return new Checks.Facts(spec, vms, new FactSource.Gathered(h, Probe.yes("<cpu><model>EPYC</model></cpu>"),
                Map.of("/shared/hb", "h1", "/shared/lockd", "h1")), Map.of(), zk);
    }

    static Check only(List<Check> checks, String id, String host) {
        List<Check> c = checks.stream().filter(x -> x.id().equals(id)
                && (host == null || host.equals(x.host()) || x.host() == null && host.equals(x.subject()))).toList();
        assertEquals(1, c.size(), id + " on " + host + ": " + checks);
        return c.get(0);
    }

    static HostFacts with(HostFacts h, Map<String, Probe> machines, Map<String, Probe> cpus,
            Map<String, Probe> interfaces, Map<String, Probe> files) {
        return new HostFacts(h.host(), null, h.libvirtVersion(), h.qemuVersion(), h.memoryMiB(), h.hostModelCpu(),
                machines == null ? h.machines() : machines, cpus == null ? h.cpus() : cpus,
                interfaces == null ? h.interfaces() : interfaces, h.networks(), files == null ? h.files() : files,
                h.clock());
    }

    @Test
    void aCleanClusterHasNoFailureAndNoWarning() {
        List<Check> all = Checks.all(facts(List.of(vm("<cpu mode='custom'><model>qemu64</model></cpu>", "")),
                good("h1"), good("h2")));
        assertTrue(all.stream().noneMatch(c -> c.status() == Status.FAIL || c.status() == Status.WARN), all.toString());
        assertEquals(Status.PASS, only(all, "vm.cpu", "h2").status());
        assertEquals(Status.PASS, only(all, "vm.network", "h2").status());
        assertEquals(Status.PASS, only(all, "host.shared-storage", "h2").status());
    }

    @Test
    void anUnreachableHostFailsOnceAndItsDependentChecksAreSkippedWithTheReason() {
        List<Check> all = Checks.all(facts(List.of(vm()), good("h1"), HostFacts.unreachable("h2", "connection refused")));
        assertEquals(Status.FAIL, only(all, "host.reachable", "h2").status());
        assertEquals(Status.PASS, only(all, "host.reachable", "h1").status());
        Check net = only(all, "vm.network", "h2");
        assertEquals(Status.SKIP, net.status());
        assertTrue(net.detail().contains("connection refused"), net.detail());
        assertEquals(1, all.stream().filter(c -> c.status() == Status.FAIL).count(), all.toString());
    }

    @Test
    void versionsDifferingFromTheOtherHostsWarn() {
        HostFacts old = new HostFacts("h2", null, 8_000_000, 7_002_000, 16384, null, Map.of(), Map.of(), Map.of(),
                Map.of(), Map.of(), null);
        List<Check> c = Checks.versions(facts(List.of(), good("h1"), good("h2"), good("h3")));
        assertEquals(Status.PASS, only(c, "host.versions", "h1").status());
        Checks.Facts f = facts(List.of(), good("h1"), old);
        // two hosts, one each: the lower one counts as the majority's; the other differs
        List<Check> w = Checks.versions(f);
        assertTrue(w.stream().anyMatch(x -> x.status() == Status.WARN && x.detail().contains("libvirt")), w.toString());
    }

    @Test
    void anUnsupportedMachineTypeFailsOnThatHost() {
        HostFacts h2 = with(good("h2"), Map.of(Questions.machineKey("x86_64", "pc", "kvm"),
                Probe.no("the machine 'pc' is not supported")), null, null, null);
        List<Check> c = Checks.machine(facts(List.of(vm()), good("h1"), h2), vm());
        assertEquals(Status.PASS, only(c, "vm.machine", "h1").status());
        assertEquals(Status.FAIL, only(c, "vm.machine", "h2").status());
        HostFacts newer = with(good("h2"), Map.of(Questions.machineKey("x86_64", "pc", "kvm"),
                Probe.yes("pc-i440fx-8.2")), null, null, null);
        assertEquals(Status.WARN, only(Checks.machine(facts(List.of(vm()), good("h1"), newer), vm()),
                "vm.machine-version", "web").status());
    }

    @Test
    void anIncompatibleCpuFailsWhereItIsAndHostModelWarns() {
        VmFacts v = vm("<cpu mode='custom'><model>Skylake-Server</model></cpu>", "");
        HostFacts h2 = with(good("h2"), null, Map.of("web", Probe.no("incompatible")), null, null);
        List<Check> c = Checks.cpu(facts(List.of(v), good("h1"), h2), v);
        assertEquals(Status.PASS, only(c, "vm.cpu", "h1").status());
        assertEquals(Status.FAIL, only(c, "vm.cpu", "h2").status());
        VmFacts hm = vm("<cpu mode='host-passthrough'/>", "");
        assertEquals(Status.WARN, only(Checks.cpu(facts(List.of(hm), good("h1")), hm), "vm.cpu", "web").status());
        assertEquals(Status.PASS, only(Checks.cpuBaseline(facts(List.of())), "cluster.cpu-baseline", "t").status());
    }

    @Test
    void aBridgeMissingOnOneOwnerFailsThereAndAMissingMacWarns() {
        HostFacts h2 = with(good("h2"), null, null, Map.of("br0", Probe.no("no interface br0")), null);
        List<Check> c = Checks.networks(facts(List.of(vm()), good("h1"), h2), vm());
        assertEquals(Status.PASS, only(c, "vm.network", "h1").status());
        Check fail = only(c, "vm.network", "h2");
        assertEquals(Status.FAIL, fail.status());
        assertTrue(fail.hint().contains("br0"), fail.hint());
        HostFacts notBridge = with(good("h2"), null, null, Map.of("br0", Probe.yes("ethernet")), null);
        assertEquals(Status.FAIL, only(Checks.networks(facts(List.of(vm()), good("h1"), notBridge), vm()),
                "vm.network", "h2").status());
        VmFacts noMac = VmFacts.parse("x", "x", List.of("h1"), "<domain><devices><interface type='user'/></devices></domain>");
        assertEquals(Status.WARN, only(Checks.networks(facts(List.of(noMac), good("h1")), noMac), "vm.mac", "x")
                .status());
    }

    @Test
    void aMacUsedTwiceFails() {
        VmFacts other = VmFacts.parse("db", "db", List.of("h1"), VM.replace("CPU", "").replace("EXTRA", ""));
        assertEquals(Status.PASS, only(Checks.uniqueMacs(facts(List.of(vm()))), "cluster.mac-unique", "t").status());
        assertEquals(Status.FAIL, only(Checks.uniqueMacs(facts(List.of(vm(), other))), "cluster.mac-unique", "t")
                .status());
    }

    @Test
    void aHostLocalIsoFailsWhereItIsNotSeenAndCopiesPerHostFail() {
        String iso = "<disk type='file' device='cdrom'><source file='/var/lib/libvirt/images/x.iso'/><readonly/></disk>";
        VmFacts v = vm("", iso);
        Map<String, Probe> h1Files = new HashMap<>(good("h1").files());
        h1Files.put("/var/lib/libvirt/images/x.iso", Probe.yes("size 1, ctime 7"));
        Map<String, Probe> h2Files = new HashMap<>(good("h2").files());
        h2Files.put("/var/lib/libvirt/images/x.iso", Probe.no("not there"));
        List<Check> c = Checks.disks(facts(List.of(v), with(good("h1"), null, null, null, h1Files),
                with(good("h2"), null, null, null, h2Files)), v);
        Check fail = only(c, "vm.disk", "h2");
        assertEquals(Status.FAIL, fail.status());
        assertTrue(fail.detail().contains("host-local"), fail.detail());
        assertTrue(c.stream().anyMatch(x -> x.status() == Status.PASS && x.detail().contains("/shared/web.qcow2")), c.toString());
        h2Files.put("/var/lib/libvirt/images/x.iso", Probe.yes("size 1, ctime 9"));
        List<Check> copies = Checks.disks(facts(List.of(v), with(good("h1"), null, null, null, h1Files),
                with(good("h2"), null, null, null, h2Files)), v);
        assertTrue(copies.stream().anyMatch(x -> x.status() == Status.FAIL && x.detail().contains("different files")),
                copies.toString());
    }

    @Test
    void aShareableDiskMustBeRaw() {
        VmFacts raw = vm("", "<disk type='file'><driver type='raw'/><source file='/shared/d.raw'/><shareable/></disk>");
        VmFacts qcow = vm("", "<disk type='file'><driver type='qcow2'/><source file='/shared/d.q'/><shareable/></disk>");
        assertEquals(Status.PASS, only(Checks.disks(facts(List.of(raw)), raw), "vm.shareable-raw", "web").status());
        assertEquals(Status.FAIL, only(Checks.disks(facts(List.of(qcow)), qcow), "vm.shareable-raw", "web").status());
    }

    @Test
    void hostDevicesFailAndAMissingGuestAgentChannelWarns() {
        assertEquals(Status.PASS, only(Checks.hostDevices(vm()), "vm.host-devices", "web").status());
        VmFacts pci = vm("", "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x03'"
                + " slot='0x00' function='0x0'/></source></hostdev>");
        Check c = only(Checks.hostDevices(pci), "vm.host-devices", "web");
        assertEquals(Status.FAIL, c.status());
        assertTrue(c.detail().contains("pci"), c.detail());
        VmFacts noAgent = VmFacts.parse("x", "x", List.of("h1"), "<domain><devices/></domain>");
        assertEquals(Status.WARN, only(Checks.vm(facts(List.of(noAgent), good("h1")), noAgent), "vm.guest-agent", "x")
                .status());
        assertEquals(Status.PASS, only(Checks.vm(facts(List.of(vm()), good("h1"), good("h2")), vm()), "vm.guest-agent",
                "web").status());
    }

    @Test
    void aClockBeyondTheHeartbeatsSkewFailsAndAnUnmeasuredOneWarns() {
        HostFacts far = new HostFacts("h2", null, 9_000_000, 7_002_000, 16384, null, Map.of(), Map.of(), Map.of(),
                Map.of(), Map.of(), new HostFacts.Clock(2000, 5, null));
        HostFacts unknown = new HostFacts("h2", null, 9_000_000, 7_002_000, 16384, null, Map.of(), Map.of(), Map.of(),
                Map.of(), Map.of(), new HostFacts.Clock(0, 0, "no directory"));
        assertEquals(Status.PASS, only(Checks.clock(facts(List.of(), good("h1"), far)), "host.clock", "h1").status());
        assertEquals(Status.FAIL, only(Checks.clock(facts(List.of(), good("h1"), far)), "host.clock", "h2").status());
        assertEquals(Status.WARN, only(Checks.clock(facts(List.of(), good("h1"), unknown)), "host.clock", "h2")
                .status());
    }

    @Test
    void aFenceAgentWhoseStatusFailsFails() {
        ClusterSpec fenced = ClusterConfigLoader.parse("c.yaml", CLUSTER.replace("fencing: {agent: storage}",
                "fencing: {agent: fence_ipmilan, options: {ip: 10.0.0.1, username: u, password_script: x}}")).spec();
        Checks.Facts base = facts(List.of(), good("h1"), good("h2"));
        Checks.Facts f = new Checks.Facts(fenced, base.vms(), base.gathered(), Map.of(
                "h1", new Fencer.Result(Fencer.Outcome.ON, "h1: Status: ON"),
                "h2", new Fencer.Result(Fencer.Outcome.FAILED, "h2: Unable to connect")), base.zookeeper());
        assertEquals(Status.PASS, only(Checks.fencing(f), "host.fence", "h1").status());
        assertEquals(Status.FAIL, only(Checks.fencing(f), "host.fence", "h2").status());
    }

    @Test
    void sharedDirectoriesMustShowTheMarkerEverywhere() {
        HostFacts blind = with(good("h2"), null, null, null, Map.of("/shared/hb/.havm-validate-x", Probe.no("not there"),
                "/shared/lockd/.havm-validate-x", Probe.yes("x")));
        List<Check> c = Checks.sharedStorage(facts(List.of(), good("h1"), blind));
        assertEquals(Status.PASS, only(c, "host.shared-storage", "h1").status());
        Check fail = only(c, "host.shared-storage", "h2");
        assertEquals(Status.FAIL, fail.status());
        assertTrue(fail.detail().contains("/shared/hb") && !fail.detail().contains("/shared/lockd ("), fail.detail());
        assertEquals(Status.PASS, only(Checks.lockManager(facts(List.of(vm()))), "cluster.lock-manager", "t").status());
        assertEquals(Status.PASS, only(Checks.secondChannel(facts(List.of())), "cluster.heartbeat", "t").status());
    }

    @Test
    void zookeeperNeedsAnAnsweringMajorityAndAnOddSize() {
        Checks.Facts ok = facts(List.of());
        assertEquals(Status.PASS, only(Checks.zookeeper(ok), "cluster.zookeeper", "t").status());
        Map<String, Probe> two = new LinkedHashMap<>(ok.zookeeper());
        two.put("zk2:2181", Probe.no("Connection refused"));
        two.put("zk3:2181", Probe.no("Connection refused"));
        Checks.Facts down = new Checks.Facts(ok.spec(), ok.vms(), ok.gathered(), ok.fence(), two);
        assertEquals(Status.FAIL, only(Checks.zookeeper(down), "cluster.zookeeper", "t").status());
        Map<String, Probe> even = new LinkedHashMap<>(ok.zookeeper());
        even.put("zk4:2181", Probe.yes("follower"));
        Checks.Facts four = new Checks.Facts(ok.spec(), ok.vms(), ok.gathered(), ok.fence(), even);
        assertEquals(Status.WARN, only(Checks.zookeeper(four), "cluster.zookeeper", "t").status());
    }

    @Test
    void timersConsistentPassAndCautionsWarn() {
        assertTrue(Checks.timers(facts(List.of())).stream().allMatch(c -> c.status() != Status.FAIL));
        ClusterSpec noBeat = ClusterConfigLoader.parse("c.yaml", CLUSTER.replace(
                "  heartbeat: {dir: /shared/hb, interval: 1s, timeout: 2s}\n", "")
                .replace("fencing: {agent: storage}", "fencing: {agent: fence_ipmilan, options: {ip: 10.0.0.1}}")
                .replace("recoveryWithoutFence: 20s", "recoveryWithoutFence: never")).spec();
        Checks.Facts f = facts(List.of());
        List<Check> w = Checks.secondChannel(new Checks.Facts(noBeat, f.vms(), f.gathered(), f.fence(), f.zookeeper()));
        assertEquals(Status.WARN, only(w, "cluster.heartbeat", "t").status());
    }

    @Test
    void aShortSessionWarnsHowShortAStallCostsAHost() {
        Check ok = Checks.stallTolerance(facts(List.of())); // 10 s
        assertEquals(Status.PASS, ok.status(), ok.toString());
        assertTrue(ok.detail().startsWith("an agent stalled for up to 6666 ms keeps its session"), ok.detail());
        ClusterSpec fast = ClusterConfigLoader.parse("c.yaml", CLUSTER.replace("sessionTimeout: 10s", "sessionTimeout: 3s")
                .replace("recoveryWithoutFence: 20s", "recoveryWithoutFence: never")).spec();
        Checks.Facts f = facts(List.of());
        Check w = Checks.stallTolerance(new Checks.Facts(fast, f.vms(), f.gathered(), f.fence(), f.zookeeper()));
        assertEquals(Status.WARN, w.status(), w.toString());
        assertTrue(w.detail().startsWith("an agent stalled for up to 2000 ms keeps its session"), w.detail());
        assertTrue(w.hint().contains("10s tolerates a 6.6 s stall and detects a lost host 7.0 s later"), w.hint());
    }

    @Test
    void nPlusOneUsesTheMemoryTheHostsReallyHave() {
        ClusterSpec big = ClusterConfigLoader.parse("c.yaml", CLUSTER.replace("groups: {}", """
                groups:
                  a: {resources: {vm: {type: vm, memoryMiB: 3000, properties: {definition: /x.xml}}}}
                  b: {resources: {vm: {type: vm, memoryMiB: 3000, properties: {definition: /y.xml}}}}
                """)).spec();
        Checks.Facts f = facts(List.of());
        assertTrue(Checks.nPlusOne(new Checks.Facts(big, List.of(), f.gathered(), Map.of(), f.zookeeper()))
                .stream().anyMatch(c -> c.status() == Status.WARN), "2 × 3000 MiB on 2 × 4096: N+1 cannot hold");
        ClusterSpec small = ClusterConfigLoader.parse("c.yaml", CLUSTER.replace("groups: {}", """
                groups:
                  a: {resources: {vm: {type: vm, memoryMiB: 1000, properties: {definition: /x.xml}}}}
                """)).spec();
        assertEquals(Status.PASS, only(Checks.nPlusOne(new Checks.Facts(small, List.of(), f.gathered(), Map.of(),
                f.zookeeper())), "cluster.n-plus-one", "t").status());
        HostFacts tiny = new HostFacts("h2", null, 9_000_000, 7_002_000, 512, null, Map.of(), Map.of(), Map.of(),
                Map.of(), Map.of(), null);
        List<Check> mem = Checks.memory(facts(List.of(), good("h1"), tiny));
        assertEquals(Status.PASS, only(mem, "host.memory", "h1").status());
        assertEquals(Status.FAIL, only(mem, "host.memory", "h2").status());
        // with h2's real 512 MiB, losing h1 strands a (1000 MiB): the measured memory counts
        assertTrue(Checks.nPlusOne(new Checks.Facts(small, List.of(), new FactSource.Gathered(Map.of("h1", good("h1"),
                "h2", tiny), null, Map.of()), Map.of(), f.zookeeper())).stream()
                .anyMatch(c -> c.status() == Status.WARN && c.detail().contains("losing h1")));
    }

    @Test
    void theJsonReportHasTheStableSchemaAndTheExitCodeFollowsFailures() throws Exception {
        List<Check> all = Checks.all(facts(List.of(vm()), good("h1"), HostFacts.unreachable("h2", "refused")));
        Validate.Report r = new Validate.Report("t", "c.yaml", java.time.Instant.EPOCH, java.time.Duration.ofMillis(5), all);
        assertEquals(1, r.exitCode());
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ReportFormat.json(r));
        assertEquals(ReportFormat.SCHEMA, json.get("schema").asText());
        var first = json.get("checks").get(0);
        for (String field : List.of("id", "subject", "host", "status", "detail", "hint")) {
            assertTrue(first.has(field), field + " in " + first);
        }
        assertEquals(r.count(Status.FAIL), json.get("summary").get("fail").asLong());
        assertTrue(ReportFormat.text(r).contains("host h2"), ReportFormat.text(r));
        assertTrue(ReportFormat.html(r).contains("<td class='fail'>FAIL</td>"));
        assertEquals(0, new Validate.Report("t", "c", java.time.Instant.EPOCH, java.time.Duration.ZERO,
                Checks.all(facts(List.of(vm()), good("h1"), good("h2")))).exitCode());
    }
}
