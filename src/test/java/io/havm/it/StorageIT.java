package io.havm.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.config.ClusterConfigLoader;
import io.havm.lab.LabCluster;
import io.havm.libvirt.DomainSpec;
import io.havm.model.GroupSpec;
import io.havm.model.MoveMode;
import io.havm.model.ResourceSpec;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared storage on the real lab: a VM whose data disk is an iSCSI LUN of the lab's target, guest
 * clusters on shared LUNs and on shared raw files, a LUN pulled from under a running VM. The
 * referees are plain libvirt (domblklist, dumpxml, where a domain runs) and the guests' own reads
 * of their disks, made inside the guest through qemu-guest-agent with O_DIRECT.
 */
class StorageIT {
    private static final Duration BOOT = Duration.ofSeconds(150);
    private static final ObjectMapper JSON = new ObjectMapper();

    final RealLab lab = RealLab.get();
    final List<String> domains = new ArrayList<>();
    final List<Integer> lunsRemoved = new ArrayList<>();
    final List<String> guestClusters = new ArrayList<>();
    LabCluster cluster;
    Path config;
    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() throws IOException {
        try {
            Drills.stop(cluster, lab);
        } finally {
            lab.restoreAllHosts();
            domains.forEach(lab::remove);
            for (int lun : lunsRemoved) {
                Exec.run(Duration.ofSeconds(30), List.of(lab.home.resolve("ci/lab").toString(), "iscsi", "add-lun",
                        Integer.toString(lun)));
            }
            List<String> notRemoved = new ArrayList<>();
            for (String gc : guestClusters) {
                // The agents are stopped and the members removed above.
                Exec.Outcome rm = havm("guest-cluster", "remove", gc, "--cluster-stopped", "--config", config.toString());
                if (rm.code() != 0) {
                    notRemoved.add(gc + ": " + rm.out() + rm.err());
                }
            }
            for (String d : domains) {
                Files.deleteIfExists(shared().resolve("pool").resolve(d + "-os.qcow2"));
                Files.deleteIfExists(shared().resolve("lockd").resolve("havm-disk-" + d + "-data"));
            }
            assertEquals(List.of(), notRemoved, "guest clusters left behind");
        }
    }

    // ------------------------------------------------------------------ set-up

    private Path shared() {
        return lab.lab.sharedDir();
    }

    /** A cluster.yaml with the lab's pools, the given disks and groups; the pool directory made. */
    private Path config(String name, String disks, String groups) throws IOException {
        Files.createDirectories(shared().resolve("pool"));
        Files.createDirectories(shared().resolve("lockd"));
        String storage = LabCluster.labStorage(lab.lab.facts()) + (disks.isEmpty() ? "" : "  disks:\n" + disks);
        config = LabCluster.writeConfig(dir.resolve("cluster.yaml"), lab.home, name + ProcessHandle.current().pid(),
                lab.lab.status(), LabCluster.FAST_TIMERS, storage, groups);
        return config;
    }

    private void startCluster() {
        cluster = LabCluster.of(lab.home, config);
        cluster.startAgents();
    }

    /** The domain XML of a lab guest; its disks come from the cluster's storage when it goes online. */
    private Path definition(String domain) throws IOException {
        domains.add(domain);
        lab.remove(domain);
        Path console = shared().resolve("console").resolve(domain + ".log");
        Files.createDirectories(console.getParent());
        Files.deleteIfExists(console);
        DomainSpec spec = new DomainSpec(domain, null, 128, 1, lab.type, lab.guest.kernel(), lab.guest.initrd(), null,
                List.of(new DomainSpec.Disk(shared().resolve("pool").resolve(domain + "-os.qcow2"), "qcow2")), null,
                console, Map.of());
        Path def = dir.resolve(domain + ".xml");
        Files.writeString(def, spec.render(lab.home.resolve("vm-templates/lab-direct-kernel.xml"), false));
        return def;
    }

    /** The storage.disks lines {@link #vmWithDataDisk} needs: a 16M qcow2 OS disk on the shared dir, a lab LUN. */
    private static String osAndLun(String domain, int lun) {
        return "    " + domain + "-os: {pool: shared, volume: " + domain + "-os.qcow2, format: qcow2, size: 16M}\n"
                + "    " + domain + "-data: {pool: lab, lun: " + lun + "}\n";
    }

    /** A group with an OS disk and a data disk resource and the VM that attaches both (vda, vdb). */
    private String vmWithDataDisk(String group, String domain, Path definition, String preferred) {
        return "  " + group + ":\n    preferredOwners: [" + preferred + "]\n    resources:\n"
                + "      os: {type: disk, disk: " + domain + "-os}\n"
                + "      data: {type: disk, disk: " + domain + "-data}\n"
                + "      vm: {type: vm, memoryMiB: 128, disks: [os, data], properties: {domain: " + domain
                + ", definition: " + definition + ", stateDir: " + shared().resolve("save") + "}}\n";
    }

    private Exec.Outcome havm(String... args) {
        List<String> cmd = new ArrayList<>(List.of(lab.home.resolve("havm").toString()));
        cmd.addAll(List.of(args));
        return Exec.run(Duration.ofMinutes(3), cmd);
    }

    private static String virsh(String host, String... args) {
        List<String> cmd = new ArrayList<>(List.of("virsh", "-c", RealLab.get().lab.host(host).uri()));
        cmd.addAll(List.of(args));
        return Exec.run(Duration.ofSeconds(30), cmd).orThrow().out();
    }

    // ------------------------------------------------------------------ waiting, with the agents' logs on failure

    private void awaitOrLogs(String alias, Duration atMost, Callable<Boolean> condition) {
        Drills.awaitOrLogs(cluster, alias, atMost, condition);
    }

    /** Waits until the group is online on one node, its domain active there only, and returns the node. */
    private String online(String group, String domain) {
        awaitOrLogs(group + " online", BOOT, () -> cluster.onlineOn(group).isPresent()
                && lab.activeOn(domain).equals(List.of(cluster.onlineOn(group).get())));
        return cluster.onlineOn(group).orElseThrow();
    }

    // ------------------------------------------------------------------ the guest's own reads and writes

    /**
     * Runs {@code script} with /bin/sh inside the guest (qemu-guest-agent guest-exec), once, and
     * returns its stdout; a non-zero exit fails the test with the script's stderr.
     */
    private String inGuest(String host, String domain, String script) throws Exception {
        String req = JSON.writeValueAsString(Map.of("execute", "guest-exec", "arguments", Map.of("path", "/bin/sh",
                "arg", List.of("-c", script), "capture-output", true)));
        AtomicReference<Long> pid = new AtomicReference<>();
        // The guest agent may not answer yet (the guest is booting): wait until it accepts the command.
        await(domain + ": guest agent accepts '" + script + "'").atMost(BOOT).pollInterval(Duration.ofMillis(500))
                .ignoreExceptions().until(() -> {
                    pid.set(JSON.readTree(lab.hv(host).agentCommand(domain, req, Duration.ofSeconds(5)))
                            .path("return").path("pid").asLong());
                    return true;
                });
        String status = "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":" + pid.get() + "}}";
        AtomicReference<JsonNode> done = new AtomicReference<>();
        await(domain + ": '" + script + "' exits").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    done.set(JSON.readTree(lab.hv(host).agentCommand(domain, status, Duration.ofSeconds(5)))
                            .path("return"));
                    return done.get().path("exited").asBoolean();
                });
        JsonNode st = done.get();
        String out = new String(Base64.getDecoder().decode(st.path("out-data").asText("")), StandardCharsets.UTF_8);
        if (st.path("exitcode").asInt(-1) != 0) {
            throw new AssertionError(domain + ": '" + script + "' exited " + st.path("exitcode").asInt() + ": " + out
                    + new String(Base64.getDecoder().decode(st.path("err-data").asText("")), StandardCharsets.UTF_8));
        }
        return out;
    }

    /** Writes {@code token} into sector 1 of {@code dev} from inside the guest, bypassing its page cache. */
    private void writeSector(String host, String domain, String dev, String token) throws Exception {
        inGuest(host, domain, "printf '%s\\n' '" + token + "' | dd of=/dev/" + dev
                + " bs=512 count=1 seek=1 conv=sync,notrunc oflag=direct 2>/dev/null && sync");
    }

    /** Reads the first line of sector 1 of {@code dev} from inside the guest, bypassing its page cache. */
    private String readSector(String host, String domain, String dev) throws Exception {
        return inGuest(host, domain, "dd if=/dev/" + dev + " bs=512 count=1 skip=1 iflag=direct 2>/dev/null"
                + " | head -c 200 | tr '\\000' '\\n' | head -n 1").strip();
    }

    // ------------------------------------------------------------------ drills

    /**
     * A VM whose data disk is LUN 5 of the lab's target: it goes online after its disks, a second
     * copy on another host is refused by its lease, it live-migrates with its data, and after its
     * host loses power it restarts on a survivor, disks first, with the data its guest wrote.
     */
    @Test
    void iscsiDataDiskFollowsLiveMigrationAndPowerLoss() throws Exception {
        String d = "st-web";
        Path def = definition(d);
        config("st", osAndLun(d, 5), vmWithDataDisk("web", d, def, "host1"));
        Exec.Outcome made = havm("storage", "create", "--config", config.toString());
        assertEquals(0, made.code(), made.out() + made.err());
        assertTrue(Files.isRegularFile(shared().resolve("pool").resolve(d + "-os.qcow2")), made.out());
        assertTrue(Files.isRegularFile(shared().resolve("lockd").resolve("havm-disk-" + d + "-data")), made.out());

        startCluster();
        String first = online("web", d);
        String blk = virsh(first, "domblklist", d);
        assertTrue(blk.contains("vdb") && blk.contains("iqn.2026-11.io.havm:lab/5"), blk);
        String xml = virsh(first, "dumpxml", d);
        assertTrue(xml.contains("<lease>") && xml.contains("havm-disk-" + d + "-data"), xml);
        writeSector(first, d, "vdb", "DATA 1");

        // A second writer on the non-shareable LUN, started by hand on another host: refused by the lease.
        String other = first.equals("host1") ? "host2" : "host1";
        Path copy = dir.resolve("copy.xml");
        // Only the LUN: the OS disk is a file, which QEMU's image lock alone would refuse.
        Files.writeString(copy, xml.replace("<name>" + d + "</name>", "<name>" + d + "-copy</name>")
                .replaceAll("<uuid>[^<]*</uuid>", "").replaceAll("(?s)<disk type='file'.*?</disk>", ""));
        domains.add(d + "-copy");
        Exec.Outcome second = Exec.run(Duration.ofSeconds(60), List.of("virsh", "-c",
                lab.lab.host(other).uri(), "create", copy.toString()));
        assertNotEquals(0, second.code(), "a second writer on LUN 5 was allowed: " + second.out());
        assertTrue(second.err().contains("locked") || second.err().contains("busy"), second.err());
        assertEquals(List.of(), lab.activeOn(d + "-copy"));

        // Live migration: the LUN follows, the guest reads what it wrote.
        String to = first.equals("host2") ? "host3" : "host2";
        cluster.submit(new Input.MoveGroup("web", to, MoveMode.LIVE));
        awaitOrLogs("web moved to " + to, BOOT, () -> cluster.onlineOn("web").filter(to::equals).isPresent()
                && lab.activeOn(d).equals(List.of(to)));
        assertTrue(virsh(to, "domblklist", d).contains("iqn.2026-11.io.havm:lab/5"));
        assertEquals("DATA 1", readSector(to, d, "vdb"));
        writeSector(to, d, "vdb", "DATA 2");

        // Power loss: restarted on a survivor, disks online before the VM, data intact.
        Instant pulled = Instant.now();
        lab.lab.powerOff(to);
        awaitOrLogs("web online away from " + to, BOOT, () -> cluster.onlineOn("web").filter(n -> !n.equals(to))
                .isPresent() && lab.activeOn(d).size() == 1);
        String survivor = cluster.onlineOn("web").orElseThrow();
        assertEquals(List.of(survivor), lab.activeOn(d));
        assertEquals("DATA 2", readSector(survivor, d, "vdb"));
        assertTrue(virsh(survivor, "domblklist", d).contains("iqn.2026-11.io.havm:lab/5"));
        assertDisksBeforeVm(survivor, "web", pulled);
    }

    /** In the survivor's agent log since {@code since}: each disk resource online before the VM's Online. */
    private void assertDisksBeforeVm(String node, String group, Instant since) {
        List<String> lines = cluster.agentLog(node).lines().filter(l -> l.contains(" online " + group + "/")).toList();
        List<String> order = new ArrayList<>();
        for (String l : lines) {
            int sp = l.indexOf(' ');
            if (sp > 0 && !Instant.parse(l.substring(0, sp)).isBefore(since)) {
                order.add(l.substring(l.indexOf(" online " + group + "/") + 8 + group.length() + 1).split("[ :]")[0]);
            }
        }
        assertTrue(order.indexOf("vm") > order.indexOf("os") && order.indexOf("vm") > order.indexOf("data")
                && order.indexOf("os") >= 0 && order.indexOf("data") >= 0, "online order on " + node + ": " + order
                        + "\n" + cluster.agentLog(node));
    }

    /**
     * Two guest clusters made with one command each, one on LUNs and one on raw files of the shared
     * directory: members on different hosts, shared disks raw and shareable on every member, a
     * block one member writes with O_DIRECT is read by the other, and a drain keeps them apart.
     */
    @Test
    void guestClustersShareDisksAcrossHosts() throws Exception {
        config("gc", "", "");
        String suffix = Long.toString(ProcessHandle.current().pid() % 1000);
        String gi = "gi" + suffix;
        String gf = "gf" + suffix;
        Exec.Outcome a = havm("guest-cluster", "create", gi, "--members", "2", "--shared-disk", "witness:64M",
                "--shared-disk", "data:1G", "--pool", "lab", "--config", config.toString());
        assertEquals(0, a.code(), a.out() + a.err());
        guestClusters.add(gi);
        Exec.Outcome b = havm("guest-cluster", "create", gf, "--members", "2", "--shared-disk", "witness:64M",
                "--shared-disk", "data:256M", "--pool", "shared", "--config", config.toString());
        assertEquals(0, b.code(), b.out() + b.err());
        guestClusters.add(gf);
        startCluster();

        Map<String, List<String>> members = new java.util.LinkedHashMap<>();
        for (String gc : List.of(gi, gf)) {
            List<String> groups = cluster.spec().groups().keySet().stream().filter(g -> g.startsWith(gc + "-"))
                    .toList();
            assertEquals(2, groups.size(), "groups of " + gc + ": " + cluster.spec().groups().keySet());
            String[] dom = new String[2];
            String[] host = new String[2];
            for (int i = 0; i < 2; i++) {
                GroupSpec g = cluster.spec().groups().get(groups.get(i));
                assertTrue(g.antiAffinity().stream().anyMatch(x -> x.hard()), "no hard anti-affinity: " + g);
                dom[i] = vmOf(g).properties().getOrDefault("domain", vmOf(g).name());
                domains.add(dom[i]);
                host[i] = online(groups.get(i), dom[i]);
            }
            assertNotEquals(host[0], host[1], gc + " members share a host");
            String dev = dataDevice(cluster.spec().groups().get(groups.get(0)));
            for (int i = 0; i < 2; i++) {
                String xml = virsh(host[i], "dumpxml", dom[i]);
                assertEquals(2, xml.split("<shareable/>", -1).length - 1, gc + ": two shareable disks on " + dom[i]
                        + ":\n" + xml);
            }
            writeSector(host[0], dom[0], dev, "FROM " + dom[0]);
            assertEquals("FROM " + dom[0], readSector(host[1], dom[1], dev));
            writeSector(host[1], dom[1], dev, "FROM " + dom[1]);
            assertEquals("FROM " + dom[1], readSector(host[0], dom[0], dev));

            // Drain the first member's host: it moves, but never onto its partner's host.
            String drained = host[0];
            cluster.submit(new Input.DrainNode(drained));
            awaitOrLogs(groups.get(0) + " drained off " + drained, BOOT, () -> cluster.onlineOn(groups.get(0))
                    .filter(n -> !n.equals(drained)).isPresent() && lab.activeOn(dom[0]).size() == 1
                    && !lab.activeOn(dom[0]).contains(drained));
            assertNotEquals(cluster.onlineOn(groups.get(0)).orElseThrow(), cluster.onlineOn(groups.get(1)).orElseThrow());
            assertEquals("FROM " + dom[1], readSector(cluster.onlineOn(groups.get(0)).orElseThrow(), dom[0], dev));
            cluster.submit(new Input.ResumeNode(drained, false));
            awaitOrLogs(drained + " resumed", Duration.ofSeconds(30), () -> cluster.state().map(s -> !s.nodes()
                    .get(drained).draining()).orElse(false));
            members.put(gc, List.of(groups.get(0), groups.get(1), dom[0], dom[1], dev));
        }

        // Power loss of a member's host: it restarts on the one host its partner is not on, and both
        // guest clusters stay apart on the two survivors; the shared data is still there.
        allApart(members);
        List<String> m = members.get(gi);
        String lost = cluster.onlineOn(m.get(0)).orElseThrow();
        String partner = cluster.onlineOn(m.get(1)).orElseThrow();
        lab.lab.powerOff(lost);
        awaitOrLogs(m.get(0) + " restarted away from " + lost, BOOT, () -> cluster.onlineOn(m.get(0))
                .filter(n -> !n.equals(lost)).isPresent() && lab.activeOn(m.get(2)).size() == 1);
        String now = cluster.onlineOn(m.get(0)).orElseThrow();
        assertNotEquals(partner, now, m.get(0) + " restarted onto its partner's host");
        assertEquals("FROM " + m.get(3), readSector(now, m.get(2), m.get(4)));
        allApart(members);

        // Removing a guest cluster whose members run is refused, and changes nothing: the cluster
        // wants them online, libvirt shows them running, and the powered-off host cannot be asked.
        List<String> f = members.get(gf);
        Path fragment = ClusterConfigLoader.fragmentDir(config).resolve(gf + ".yaml");
        String before = Files.readString(fragment);
        Exec.Outcome busy = havm("guest-cluster", "remove", gf, "--config", config.toString());
        assertEquals(1, busy.code(), busy.out() + busy.err());
        for (String g : List.of(f.get(0), f.get(1))) {
            String on = cluster.onlineOn(g).orElseThrow();
            assertTrue(busy.err().contains(g + " is online on " + on + " in the cluster: take it offline first"),
                    busy.err());
        }
        assertTrue(busy.err().contains(f.get(2) + " runs on " + cluster.onlineOn(f.get(0)).orElseThrow()), busy.err());
        assertTrue(busy.err().contains("if " + lost + " is powered off, pass --host-off " + lost), busy.err());
        assertEquals(before, Files.readString(fragment));
        assertEquals("FROM " + f.get(3), readSector(cluster.onlineOn(f.get(0)).orElseThrow(), f.get(2), f.get(4)));
    }

    /** Waits until every guest cluster's two members are online, each once, on different hosts. */
    private void allApart(Map<String, List<String>> members) {
        for (List<String> g : members.values()) {
            awaitOrLogs(g.get(0) + " and " + g.get(1) + " online apart", BOOT, () -> cluster.onlineOn(g.get(0))
                    .isPresent() && cluster.onlineOn(g.get(1)).isPresent()
                    && !cluster.onlineOn(g.get(0)).equals(cluster.onlineOn(g.get(1)))
                    && lab.activeOn(g.get(2)).size() == 1 && lab.activeOn(g.get(3)).size() == 1);
        }
    }

    private static ResourceSpec vmOf(GroupSpec g) {
        return g.resources().values().stream().filter(r -> r.type() == ResourceSpec.Type.VM).findFirst()
                .orElseThrow();
    }

    /** The device of the shared disk whose name ends in "-data" (vda, vdb, … in the VM's disk order). */
    private String dataDevice(GroupSpec g) {
        List<String> disks = vmOf(g).disks();
        for (int i = 0; i < disks.size(); i++) {
            String disk = g.resources().get(disks.get(i)).properties().get(ResourceSpec.DISK);
            if (disk.endsWith("-data")) {
                return "vd" + (char) ('a' + i);
            }
        }
        throw new AssertionError("no -data disk among " + disks);
    }

    /**
     * A LUN removed from the target under a running VM: the disk resource fails with the target's
     * reason, restart and failover find it missing everywhere, and the group ends failed with its
     * VM running nowhere.
     */
    @Test
    void removedLunFailsTheDiskResource() throws Exception {
        String d = "st-lun";
        Path def = definition(d);
        config("lun", osAndLun(d, 7), vmWithDataDisk("app", d, def, "host1"));
        assertEquals(0, havm("storage", "create", "--config", config.toString()).code());
        startCluster();
        online("app", d);
        Instant removed = Instant.now();
        lunsRemoved.add(7);
        Exec.run(Duration.ofSeconds(30), List.of(lab.home.resolve("ci/lab").toString(), "iscsi", "remove-lun", "7"))
                .orThrow();
        awaitOrLogs("app failed", BOOT, () -> cluster.group("app").map(g -> g.phase() == GroupPhase.FAILED)
                .orElse(false) && lab.activeOn(d).isEmpty());
        List<String> since = cluster.events().stream().filter(l -> !Instant.parse(l.substring(0, l.indexOf(' ')))
                .isBefore(removed)).toList();
        assertTrue(since.stream().anyMatch(l -> l.contains("data") && l.contains("LUN 7")), String.join("\n", since));
        TreeSet<String> tried = new TreeSet<>(cluster.group("app").orElseThrow().tried());
        assertTrue(tried.size() >= 2, "failover tried only " + tried + "\n" + String.join("\n", since));
    }

    /** Storage mistakes caught before anything runs: a qcow2 shared disk, a raw disk that is really qcow2. */
    @Test
    void storageMistakesAreRefusedBeforeAnythingRuns() throws Exception {
        config("bad", "    gc-data: {pool: shared, volume: gc-data.qcow2, format: qcow2, size: 64M, shareable: true}\n",
                "");
        Exec.Outcome check = havm("config", "check", config.toString());
        assertEquals(2, check.code(), check.out() + check.err());
        assertTrue(check.err().contains("storage.disks.gc-data") && check.err().contains("differencing"), check.err());

        // Declared raw and shareable, but the file in the pool is a qcow2: each host refuses it.
        Path vol = shared().resolve("pool").resolve("sneaky.raw");
        Files.deleteIfExists(vol);
        Exec.run(Duration.ofSeconds(30), List.of("qemu-img", "create", "-q", "-f", "qcow2", vol.toString(), "64M"))
                .orThrow();
        try {
            config("bad2", "    sneaky: {pool: shared, volume: sneaky.raw, format: raw, size: 64M, shareable: true}\n",
                    "  g:\n    resources:\n      s: {type: disk, disk: sneaky}\n");
            Exec.Outcome st = Exec.run(Duration.ofMinutes(2), List.of(lab.home.resolve("ci/lab").toString(), "exec",
                    "host2", "--", lab.home.resolve("havm").toString(), "storage", "check", "--config",
                    config.toString(), "--node", "host2"));
            assertEquals(1, st.code(), st.out() + st.err());
            assertTrue((st.out() + st.err()).contains("host2") && (st.out() + st.err()).contains("qcow2"),
                    st.out() + st.err());
        } finally {
            Files.deleteIfExists(vol);
        }
    }
}
