package io.havm.validate;

import io.havm.model.ClusterSpec;
import io.havm.model.StorageSpec;
import io.havm.policy.Placement;
import io.havm.port.Fencer;
import io.havm.validate.Check.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The checks of {@code havm validate}: pure functions from facts to report lines, no I/O. Each
 * takes what was gathered (hand-made in unit tests) and says PASS, WARN, FAIL or SKIP with what it
 * found and how to fix it. A host that could not be asked fails once ({@code host.reachable}); what
 * depends on it is SKIP with that reason.
 */
public final class Checks {
    private Checks() {}

    /**
     * Everything validation knows.
     *
     * @param spec the configuration as loaded (its timer clashes were refused by the loader)
     * @param vms the HA VMs
     * @param gathered the hosts' answers
     * @param fence each power-fenced node's fence agent answer to {@code status}
     * @param zookeeper each ensemble server's answer, in the connect string's order
     */
    public record Facts(ClusterSpec spec, List<VmFacts> vms, FactSource.Gathered gathered,
            Map<String, Fencer.Result> fence, Map<String, Probe> zookeeper) {}

    /** Every check, hosts first, then VMs, then the cluster. */
    public static List<Check> all(Facts f) {
        List<Check> out = new ArrayList<>();
        out.addAll(reachable(f));
        out.addAll(versions(f));
        out.addAll(clock(f));
        out.addAll(fencing(f));
        out.addAll(memory(f));
        out.addAll(sharedStorage(f));
        for (VmFacts v : f.vms()) {
            out.addAll(vm(f, v));
        }
        out.addAll(cpuBaseline(f));
        out.addAll(uniqueMacs(f));
        out.addAll(lockManager(f));
        out.addAll(secondChannel(f));
        out.addAll(zookeeper(f));
        out.addAll(timers(f));
        out.addAll(nPlusOne(f));
        return out;
    }

    private static String cluster(Facts f) {
        return f.spec().name();
    }

    private static HostFacts host(Facts f, String name) {
        HostFacts h = f.gathered().hosts().get(name);
        return h == null ? HostFacts.unreachable(name, "not asked") : h;
    }

    static List<Check> reachable(Facts f) {
        List<Check> out = new ArrayList<>();
        for (String n : f.spec().nodeNames()) {
            HostFacts h = host(f, n);
            out.add(h.reachable()
                    ? Check.host("host.reachable", n, Status.PASS, "libvirt answers at " + uri(f, n), "")
                    : Check.host("host.reachable", n, Status.FAIL, "libvirt at " + uri(f, n) + " cannot be asked: "
                            + h.unreachable(), "power the host on, start libvirtd, or check the network and the URI"
                            + " in cluster.nodes (checks that need the host were skipped)"));
        }
        return out;
    }

    private static String uri(Facts f, String n) {
        return f.spec().node(n).map(ClusterSpec.NodeSpec::uri).orElse("?");
    }

    private static Check skipHost(String id, HostFacts h) {
        return Check.host(id, h.host(), Status.SKIP, "host unreachable: " + h.unreachable(), "");
    }

    /** The value most hosts have (ties: the lowest), for naming the odd one out. */
    private static <T extends Comparable<T>> T majority(List<T> values) {
        Map<T, Long> count = values.stream().collect(Collectors.groupingBy(Function.identity(), TreeMap::new,
                Collectors.counting()));
        return count.entrySet().stream().max(Map.Entry.<T, Long>comparingByValue()
                .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder()))).map(Map.Entry::getKey)
                .orElse(null);
    }

    static List<Check> versions(Facts f) {
        List<Check> out = new ArrayList<>();
        List<HostFacts> up = f.spec().nodeNames().stream().map(n -> host(f, n)).filter(HostFacts::reachable).toList();
        Long lib = majority(up.stream().map(HostFacts::libvirtVersion).toList());
        Long qemu = majority(up.stream().map(HostFacts::qemuVersion).toList());
        for (String n : f.spec().nodeNames()) {
            HostFacts h = host(f, n);
            if (!h.reachable()) {
                out.add(skipHost("host.versions", h));
                continue;
            }
            String found = "libvirt " + HostFacts.version(h.libvirtVersion()) + ", QEMU "
                    + HostFacts.version(h.qemuVersion());
            List<String> odd = new ArrayList<>();
            if (h.libvirtVersion() != lib) {
                odd.add("libvirt (most hosts: " + HostFacts.version(lib) + ")");
            }
            if (h.qemuVersion() != qemu) {
                odd.add("QEMU (most hosts: " + HostFacts.version(qemu) + ")");
            }
            out.add(odd.isEmpty() ? Check.host("host.versions", n, Status.PASS, found + ", as every other host", "")
                    : Check.host("host.versions", n, Status.WARN, found + ": differs in " + String.join(", ", odd),
                            "upgrade the hosts to the same libvirt and QEMU: a VM started on a newer host may not"
                                    + " migrate to an older one"));
        }
        out.add(Check.cluster("cluster.kernel-versions", cluster(f), Status.SKIP, "libvirt's remote API does not"
                + " report a host's kernel version", "compare 'uname -r' on the hosts"));
        return out;
    }

    static List<Check> clock(Facts f) {
        List<Check> out = new ArrayList<>();
        long allowed = f.spec().heartbeat() != null ? f.spec().heartbeat().clockSkew().toMillis() : 500;
        for (String n : f.spec().nodeNames()) {
            HostFacts h = host(f, n);
            if (!h.reachable()) {
                out.add(skipHost("host.clock", h));
                continue;
            }
            HostFacts.Clock c = h.clock();
            if (c == null || c.problem() != null) {
                out.add(Check.host("host.clock", n, Status.WARN, "the host's clock could not be measured"
                        + (c == null ? "" : ": " + c.problem()), "make sure every host runs NTP (chrony)"));
                continue;
            }
            String found = "clock " + (c.offsetMs() >= 0 ? "+" : "") + c.offsetMs() + " ms (± " + c.uncertaintyMs()
                    + " ms) from the machine running validate";
            if (Math.abs(c.offsetMs()) - c.uncertaintyMs() > allowed) {
                boolean beats = f.spec().heartbeat() != null;
                out.add(Check.host("host.clock", n, beats ? Status.FAIL : Status.WARN, found + ", beyond "
                        + (beats ? "cluster.heartbeat.clockSkew " : "") + allowed + " ms",
                        "synchronise the hosts' clocks (NTP, chrony)" + (beats ? ": the heartbeats compare times"
                                + " across hosts" : "")));
            } else {
                out.add(Check.host("host.clock", n, Status.PASS, found + " (allowed " + allowed + " ms)", ""));
            }
        }
        return out;
    }

    static List<Check> fencing(Facts f) {
        List<Check> out = new ArrayList<>();
        for (ClusterSpec.NodeSpec n : f.spec().nodes()) {
            if (n.fencing() == null) {
                out.add(Check.host("host.fence", n.name(), Status.WARN, "no fence agent",
                        "configure cluster.nodes[].fencing: without one, this host's VMs are recovered only after it"
                                + " returns or the self-fence deadline passes"));
                continue;
            }
            if (n.fencing().storage()) {
                out.add(Check.host("host.fence", n.name(), f.spec().heartbeat() == null ? Status.FAIL : Status.PASS,
                        "fenced through the heartbeat storage" + (f.spec().watchdog() == null ? "" : " and the watchdog"),
                        f.spec().heartbeat() == null ? "configure cluster.heartbeat" : ""));
                continue;
            }
            Fencer.Result r = f.fence().get(n.name());
            if (r == null) {
                out.add(Check.host("host.fence", n.name(), Status.SKIP, "status was not asked", ""));
            } else if (r.outcome() == Fencer.Outcome.ON) {
                out.add(Check.host("host.fence", n.name(), Status.PASS, n.fencing().agent() + " status: " + r.detail(), ""));
            } else if (r.outcome() == Fencer.Outcome.OFF) {
                out.add(Check.host("host.fence", n.name(), Status.WARN, n.fencing().agent() + " status answers, and"
                        + " reports the host off: " + r.detail(), "power the host on (the fence device works)"));
            } else {
                out.add(Check.host("host.fence", n.name(), Status.FAIL, n.fencing().agent() + " status failed: "
                        + r.detail(), "fix the fence device or its options (address, credentials, plug) in"
                        + " cluster.nodes." + n.name() + ".fencing: without a working fence, a lost host's VMs wait"));
            }
        }
        return out;
    }

    static List<Check> memory(Facts f) {
        List<Check> out = new ArrayList<>();
        for (ClusterSpec.NodeSpec n : f.spec().nodes()) {
            HostFacts h = host(f, n.name());
            if (!h.reachable()) {
                out.add(skipHost("host.memory", h));
            } else if (h.memoryMiB() < n.memoryMiB()) {
                out.add(Check.host("host.memory", n.name(), Status.FAIL, "the configuration counts " + n.memoryMiB()
                        + " MiB, the host has " + h.memoryMiB() + " MiB", "set cluster.nodes." + n.name()
                        + ".memoryMiB to at most " + h.memoryMiB() + " (less what the host itself needs)"));
            } else {
                out.add(Check.host("host.memory", n.name(), Status.PASS, "the configuration counts " + n.memoryMiB()
                        + " MiB of the host's " + h.memoryMiB() + " MiB", ""));
            }
        }
        return out;
    }

    /** The shared directories of the configuration: pools' paths, the lease directory, the heartbeat directory. */
    public static Set<String> sharedDirs(ClusterSpec spec) {
        Set<String> out = new TreeSet<>();
        for (StorageSpec.Pool p : spec.storage().pools().values()) {
            if (p instanceof StorageSpec.SharedDir d) {
                out.add(d.path().toString());
            }
        }
        if (spec.storage().leaseDir() != null) {
            out.add(spec.storage().leaseDir().toString());
        }
        if (spec.heartbeat() != null && spec.heartbeat().dir() != null) {
            out.add(spec.heartbeat().dir());
        }
        return out;
    }

    /** Each shared directory: the marker one host wrote there is seen by every host. */
    static List<Check> sharedStorage(Facts f) {
        List<Check> out = new ArrayList<>();
        Set<String> dirs = sharedDirs(f.spec());
        for (String n : f.spec().nodeNames()) {
            HostFacts h = host(f, n);
            if (dirs.isEmpty()) {
                break;
            }
            if (!h.reachable()) {
                out.add(skipHost("host.shared-storage", h));
                continue;
            }
            List<String> bad = new ArrayList<>();
            for (String d : dirs) {
                String writer = f.gathered().markerWrittenBy().get(d);
                if (writer == null) {
                    bad.add(d + " (no host could write a file there)");
                    continue;
                }
                String marker = dirMarker(f, d);
                Probe p = marker == null ? null : h.files().get(marker);
                if (p == null || !p.yes()) {
                    bad.add(d + " (a file written there through " + writer + " is not seen here"
                            + (p == null ? "" : ": " + p.value()) + ")");
                }
            }
            out.add(bad.isEmpty() ? Check.host("host.shared-storage", n, Status.PASS, "sees the same "
                    + String.join(", ", dirs), "")
                    : Check.host("host.shared-storage", n, Status.FAIL, "not shared with the other hosts: "
                            + String.join("; ", bad), "mount the shared storage at the same path on every host"));
        }
        return out;
    }

    private static String dirMarker(Facts f, String dir) {
        // the marker's file name is the same in every directory; its path is dir + "/" + name
        return allFiles(f).stream().filter(file -> under(dir, file) && file.substring(file.lastIndexOf('/') + 1)
                .startsWith(".havm-validate-")).findFirst().orElse(null);
    }

    /** Whether {@code path} lies inside directory {@code dir}. */
    private static boolean under(String dir, String path) {
        return path.startsWith(dir.replaceAll("/+$", "") + "/");
    }

    private static Set<String> allFiles(Facts f) {
        Set<String> out = new TreeSet<>();
        f.gathered().hosts().values().forEach(h -> out.addAll(h.files().keySet()));
        return out;
    }

    // ---------------------------------------------------------------- per VM

    static List<Check> vm(Facts f, VmFacts v) {
        List<Check> out = new ArrayList<>();
        if (v.problem() != null) {
            out.add(Check.vm("vm.definition", v.domain(), null, Status.FAIL, "group " + v.group()
                    + ": its definition cannot be used: " + v.problem(), "fix the definition file named by the"
                    + " resource's 'definition' property"));
            return out;
        }
        out.addAll(machine(f, v));
        out.addAll(cpu(f, v));
        out.addAll(networks(f, v));
        out.addAll(disks(f, v));
        out.addAll(hostDevices(v));
        out.add(v.guestAgentChannel()
                ? Check.vm("vm.guest-agent", v.domain(), null, Status.PASS, "channel " + VmFacts.AGENT_CHANNEL
                        + " present: IsAlive can ping the guest agent", "")
                : Check.vm("vm.guest-agent", v.domain(), null, Status.WARN, "no channel " + VmFacts.AGENT_CHANNEL
                        + ": IsAlive uses the guest agent, so a hung guest is never detected",
                        "add <channel type='unix'><target type='virtio' name='" + VmFacts.AGENT_CHANNEL
                                + "'/></channel> and run qemu-guest-agent in the guest"));
        return out;
    }

    /** Runs {@code each} for every possible owner of {@code v} that answered; the others get a SKIP of {@code id}. */
    private static void onOwners(Facts f, VmFacts v, String id, List<Check> out,
            java.util.function.BiConsumer<String, HostFacts> each) {
        for (String o : v.owners()) {
            HostFacts h = host(f, o);
            if (h.reachable()) {
                each.accept(o, h);
            } else {
                out.add(skipVm(id, v, h));
            }
        }
    }

    private static Check skipVm(String id, VmFacts v, HostFacts h) {
        return Check.vm(id, v.domain(), h.host(), Status.SKIP, "host unreachable: " + h.unreachable(), "");
    }

    static List<Check> machine(Facts f, VmFacts v) {
        List<Check> out = new ArrayList<>();
        String key = Questions.machineKey(v.arch(), v.machine(), v.virtType());
        Map<String, String> canonical = new TreeMap<>();
        onOwners(f, v, "vm.machine", out, (o, h) -> {
            Probe p = h.machines().get(key);
            if (p != null && p.yes()) {
                canonical.put(o, p.value());
                out.add(Check.vm("vm.machine", v.domain(), o, Status.PASS, "machine " + name(v.machine()) + " ("
                        + p.value() + "), " + v.virtType() + " on " + v.arch() + ": supported", ""));
            } else {
                out.add(Check.vm("vm.machine", v.domain(), o, Status.FAIL, "machine " + name(v.machine()) + ", "
                        + v.virtType() + " on " + v.arch() + ": not supported: " + (p == null ? "not asked" : p.value()),
                        "use a machine type every possible owner's QEMU has (virsh domcapabilities), or upgrade"
                                + " QEMU on this host, or remove it from the group's possibleOwners"));
            }
        });
        if (new TreeSet<>(canonical.values()).size() > 1) {
            out.add(Check.vm("vm.machine-version", v.domain(), null, Status.WARN, "machine " + name(v.machine())
                    + " means different versions on the owners: " + canonical, "name a versioned machine type"
                    + " (e.g. pc-i440fx-7.2) that every owner supports, so a migration keeps the guest's hardware"));
        }
        return out;
    }

    private static String name(String machine) {
        return machine == null ? "(emulator default)" : machine;
    }

    static List<Check> cpu(Facts f, VmFacts v) {
        List<Check> out = new ArrayList<>();
        if (v.cpuMode() == null) {
            out.add(Check.vm("vm.cpu", v.domain(), null, Status.PASS, "no <cpu>: QEMU's default model, which"
                    + " every host gives", ""));
            return out;
        }
        if (!v.cpuMode().equals("custom")) {
            out.add(Check.vm("vm.cpu", v.domain(), null, Status.WARN, "cpu mode " + v.cpuMode() + ": the guest"
                    + " sees the CPU of the host it starts on, so a live migration to a host with a different CPU"
                    + " fails or is refused", "use a named model every owner supports: the cluster's baseline"
                    + " (cluster.cpu-baseline) is one"));
            return out;
        }
        onOwners(f, v, "vm.cpu", out, (o, h) -> {
            Probe p = h.cpus().get(v.domain());
            if (p == null) {
                out.add(Check.vm("vm.cpu", v.domain(), o, Status.SKIP, "not compared", ""));
            } else if (p.yes()) {
                out.add(Check.vm("vm.cpu", v.domain(), o, Status.PASS, "the VM's CPU is compatible with the host's"
                        + " hypervisor CPU (" + p.value() + ")", ""));
            } else {
                out.add(Check.vm("vm.cpu", v.domain(), o, Status.FAIL, "the VM's CPU "
                        + (p.answer() == Probe.Answer.NO ? "is incompatible with the host's hypervisor CPU"
                                : "could not be compared: " + p.value()) + ": " + compact(v.cpuXml()),
                        "use a CPU model and features every possible owner has (see cluster.cpu-baseline), or"
                                + " remove this host from the group's possibleOwners"));
            }
        });
        return out;
    }

    private static String compact(String xml) {
        String s = xml.replaceAll("\\s+", " ");
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }

    static List<Check> cpuBaseline(Facts f) {
        Probe b = f.gathered().baseline();
        if (b == null) {
            return List.of();
        }
        if (!b.yes()) {
            return List.of(Check.cluster("cluster.cpu-baseline", cluster(f), Status.WARN,
                    "no migratable baseline CPU: " + b.value(), ""));
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("<model[^>]*>([^<]+)</model>").matcher(b.value());
        return List.of(Check.cluster("cluster.cpu-baseline", cluster(f), Status.PASS, "the CPU every reachable host"
                + " can give a migratable guest: model " + (m.find() ? m.group(1) : "?") + " ("
                + (b.value().split("<feature", -1).length - 1) + " features)", ""));
    }

    static List<Check> networks(Facts f, VmFacts v) {
        List<Check> out = new ArrayList<>();
        for (VmFacts.Nic n : v.nics()) {
            String nic = "interface type='" + n.type() + "'" + (n.source() == null ? "" : " " + n.source())
                    + (n.mac() == null ? "" : " " + n.mac());
            if (n.mac() == null) {
                out.add(Check.vm("vm.mac", v.domain(), null, Status.WARN, nic + " has no static MAC: libvirt makes a"
                        + " new one each time havm defines the VM on a host", "add <mac address='52:54:00:…'/>"
                        + " so the guest keeps its address (and its DHCP lease) across failovers"));
            }
            if (n.source() == null || !(n.type().equals("bridge") || n.type().equals("network")
                    || n.type().equals("direct"))) {
                if (!n.type().equals("user")) {
                    out.add(Check.vm("vm.network", v.domain(), null, Status.WARN, nic + ": not checked on the hosts",
                            ""));
                }
                continue;
            }
            onOwners(f, v, "vm.network", out, (o, h) -> {
                Probe p = (n.type().equals("network") ? h.networks() : h.interfaces()).get(n.source());
                if (p == null) {
                    out.add(Check.vm("vm.network", v.domain(), o, Status.SKIP, nic + ": not asked", ""));
                } else if (p.yes() && (!n.type().equals("bridge") || p.value().equals("bridge"))) {
                    out.add(Check.vm("vm.network", v.domain(), o, Status.PASS, nic + ": present ("
                            + p.value() + ")", ""));
                } else {
                    String what = n.type().equals("network") ? "libvirt network" : n.type().equals("bridge")
                            ? "bridge" : "device";
                    out.add(Check.vm("vm.network", v.domain(), o, Status.FAIL, nic + ": " + (p.yes()
                            ? n.source() + " is a " + p.value() + ", not a bridge" : p.value()),
                            "create the " + what + " " + n.source() + " with the same name on " + o
                                    + " (every possible owner), or remove " + o + " from the group's possibleOwners"));
                }
            });
        }
        return out;
    }

    /** MACs used by more than one NIC of the cluster's VMs. */
    static List<Check> uniqueMacs(Facts f) {
        Map<String, List<String>> users = new TreeMap<>();
        for (VmFacts v : f.vms()) {
            for (VmFacts.Nic n : v.nics()) {
                if (n.mac() != null) {
                    users.computeIfAbsent(n.mac(), k -> new ArrayList<>()).add(v.domain());
                }
            }
        }
        List<String> dup = new ArrayList<>();
        users.forEach((mac, vms) -> {
            if (vms.size() > 1) {
                dup.add(mac + " (" + String.join(", ", vms) + ")");
            }
        });
        return List.of(dup.isEmpty()
                ? Check.cluster("cluster.mac-unique", cluster(f), Status.PASS, users.size() + " static MAC(s), none"
                        + " used twice", "")
                : Check.cluster("cluster.mac-unique", cluster(f), Status.FAIL, "MACs used more than once: "
                        + String.join("; ", dup), "give each NIC its own MAC address"));
    }

    static List<Check> disks(Facts f, VmFacts v) {
        List<Check> out = new ArrayList<>();
        for (VmFacts.Disk d : v.disks()) {
            String what = d.device() + " " + (d.source() == null ? "(empty)" : d.source());
            if (d.shareable() && d.format() != null && !d.format().equals("raw")) {
                out.add(Check.vm("vm.shareable-raw", v.domain(), null, Status.FAIL, what + " is shareable but "
                        + d.format(), "a disk several VMs write must be raw: qcow2 is not safe for concurrent writers"));
            } else if (d.shareable()) {
                out.add(Check.vm("vm.shareable-raw", v.domain(), null, Status.PASS, what + ": shareable and raw", ""));
            }
            if (d.source() == null || !d.type().equals("file")) {
                if (d.type().equals("block")) {
                    out.add(Check.vm("vm.disk", v.domain(), null, Status.WARN, what + ": a block device, its"
                            + " identity on the hosts is not checked", "prefer a disk of the cluster's storage"));
                }
                continue;
            }
            Map<String, String> identity = new LinkedHashMap<>();
            onOwners(f, v, "vm.disk", out, (o, h) -> {
                Probe p = h.files().get(d.source());
                if (p != null && p.yes()) {
                    identity.put(o, p.value());
                } else {
                    boolean local = !underShared(f.spec(), d.source());
                    out.add(Check.vm("vm.disk", v.domain(), o, Status.FAIL, what + ": not seen on this host"
                            + (p == null ? "" : " (" + p.value() + ")") + (local ? "; the path is not under the"
                            + " cluster's shared storage (a host-local path)" : ""), d.device().equals("cdrom")
                            ? "put the ISO on the cluster's shared storage, or eject it, before making the VM HA"
                            : "put the disk on shared storage that every possible owner mounts at the same path"));
                }
            });
            if (new TreeSet<>(identity.values()).size() > 1) {
                out.add(Check.vm("vm.disk", v.domain(), null, Status.FAIL, what + ": the hosts see different files"
                        + " at that path: " + identity, "the path must be on storage shared by every possible owner,"
                        + " not a copy per host"));
            } else if (!identity.isEmpty() && identity.size() == v.owners().size()) {
                out.add(Check.vm("vm.disk", v.domain(), null, Status.PASS, what + ": the same file on every possible"
                        + " owner (" + identity.values().iterator().next() + ")", ""));
            }
        }
        return out;
    }

    private static boolean underShared(ClusterSpec spec, String path) {
        return sharedDirs(spec).stream().anyMatch(d -> under(d, path));
    }

    static List<Check> hostDevices(VmFacts v) {
        return List.of(v.hostDevices().isEmpty()
                ? Check.vm("vm.host-devices", v.domain(), null, Status.PASS, "no host device passed through", "")
                : Check.vm("vm.host-devices", v.domain(), null, Status.FAIL, "passes host devices through: "
                        + String.join("; ", v.hostDevices()) + ": the VM can run only where that device is, and"
                        + " cannot migrate live", "remove the hostdev (or make the VM not HA)"));
    }

    // ---------------------------------------------------------------- cluster

    static List<Check> lockManager(Facts f) {
        boolean fileDisks = f.vms().stream().anyMatch(v -> v.disks().stream()
                .anyMatch(d -> d.type().equals("file") && d.device().equals("disk") && !d.readonly()));
        Path0 lease = new Path0(f.spec().storage().leaseDir());
        if (lease.dir == null) {
            return List.of(Check.cluster("cluster.lock-manager", cluster(f), fileDisks ? Status.WARN : Status.PASS,
                    "storage.leaseDir is not set" + (fileDisks ? ": nothing here says the hosts run a lock manager"
                            + " for the VMs' disks" : ""), fileDisks ? "set lock_manager = \"lockd\" in every host's"
                            + " qemu.conf with file_lockspace_dir on shared storage, and name it as storage.leaseDir"
                            : ""));
        }
        String writer = f.gathered().markerWrittenBy().get(lease.dir);
        return List.of(writer == null
                ? Check.cluster("cluster.lock-manager", cluster(f), Status.FAIL, "storage.leaseDir " + lease.dir
                        + " is not there on any host", "create it on shared storage; it is every host's lockd"
                        + " file_lockspace_dir")
                : Check.cluster("cluster.lock-manager", cluster(f), Status.PASS, "lockd leases in storage.leaseDir "
                        + lease.dir + " (shared: see host.shared-storage); libvirt does not say whether each host's"
                        + " qemu.conf uses it", "every host's qemu.conf: lock_manager = \"lockd\"; qemu-lockd.conf:"
                        + " file_lockspace_dir = \"" + lease.dir + "\""));
    }

    private record Path0(String dir) {
        Path0(java.nio.file.Path p) {
            this(p == null ? null : p.toString());
        }
    }

    static List<Check> secondChannel(Facts f) {
        List<Check> out = new ArrayList<>();
        ClusterSpec.Heartbeat hb = f.spec().heartbeat();
        if (hb == null) {
            out.add(Check.cluster("cluster.heartbeat", cluster(f), Status.WARN, "no storage heartbeat: a host cut off"
                    + " from ZooKeeper cannot learn whether its VMs are recovered elsewhere",
                    "configure cluster.heartbeat on shared storage"));
        } else if (hb.dir() != null) {
            String writer = f.gathered().markerWrittenBy().get(hb.dir());
            out.add(writer == null
                    ? Check.cluster("cluster.heartbeat", cluster(f), Status.FAIL, "heartbeat dir " + hb.dir()
                            + " is not there on any host", "create it on shared storage")
                    : Check.cluster("cluster.heartbeat", cluster(f), Status.PASS, "heartbeats in " + hb.dir()
                            + " every " + hb.interval().toMillis() + " ms (shared: see host.shared-storage)", ""));
        } else {
            out.add(Check.cluster("cluster.heartbeat", cluster(f), Status.PASS, "heartbeats on " + hb.describe(), ""));
        }
        ClusterSpec.WatchdogSpec w = f.spec().watchdog();
        out.add(w == null
                ? Check.cluster("cluster.watchdog", cluster(f), Status.WARN, "no watchdog: a hung agent keeps its"
                        + " host's VMs running unfenced", "configure cluster.watchdog (softdog or the board's)")
                : Check.cluster("cluster.watchdog", cluster(f), Status.PASS, "watchdog " + w.device() + ", reset after "
                        + w.timeout().toMillis() + " ms (its presence on each host is not visible through libvirt: the agent opens it when it starts)", ""));
        return out;
    }

    static List<Check> zookeeper(Facts f) {
        List<Check> out = new ArrayList<>();
        if (f.spec().zookeeper() == null) {
            out.add(Check.cluster("cluster.zookeeper", cluster(f), Status.FAIL, "cluster.zookeeper is not set",
                    "name the ensemble: zookeeper: 'zk1:2181,zk2:2181,zk3:2181'"));
            return out;
        }
        int n = f.zookeeper().size();
        List<String> down = new ArrayList<>();
        List<String> up = new ArrayList<>();
        f.zookeeper().forEach((server, p) -> (p.yes() ? up : down).add(server + " (" + p.value() + ")"));
        int quorum = n / 2 + 1;
        Status s = up.size() < quorum ? Status.FAIL : !down.isEmpty() || n % 2 == 0 || n == 1 ? Status.WARN
                : Status.PASS;
        String size = n == 1 ? "one server: no fault tolerance" : n % 2 == 0 ? n + " servers, an even number:"
                + " it tolerates no more failures than " + (n - 1) : n + " servers (tolerates " + (n - 1) / 2
                + " down)";
        String hint = up.size() < quorum ? "start the ZooKeeper servers (a majority must answer)"
                : !down.isEmpty() ? "bring the servers that do not answer back" : n % 2 == 0 || n == 1
                ? "run an odd number of servers, 3 or 5" : "";
        out.add(Check.cluster("cluster.zookeeper", cluster(f), s, size + "; answering: "
                + (up.isEmpty() ? "none" : String.join(", ", up)) + (down.isEmpty() ? "" : "; not answering: "
                + String.join(", ", down)), hint));
        return out;
    }

    /** The loader refused clashing timers already; here the clashes (none) and the cautions. */
    static List<Check> timers(Facts f) {
        List<Check> out = new ArrayList<>();
        List<String> clashes = f.spec().clashes();
        for (String c : clashes) {
            out.add(Check.cluster("cluster.timers", cluster(f), Status.FAIL, c, "change the numbers it names"));
        }
        for (String c : f.spec().cautions()) {
            out.add(Check.cluster("cluster.timers", cluster(f), Status.WARN, c, ""));
        }
        if (out.isEmpty()) {
            ClusterSpec.Timers t = f.spec().timers();
            out.add(Check.cluster("cluster.timers", cluster(f), Status.PASS, "consistent: detection "
                    + t.sessionTimeout().toMillis() + " ms, an isolated host is done self-fencing by "
                    + t.isolatedNodeDoneBy().toMillis() + " ms", ""));
        }
        out.add(stallTolerance(f));
        return out;
    }

    /** Below this session timeout an ordinary stall of an agent (a busy host, a long pause) costs a host. */
    static final Duration STALL_WARNING = Duration.ofSeconds(5);

    /**
     * How long an agent may stall (a long GC pause, a host starved of CPU or I/O) before its
     * session expires and its host is fenced with every VM on it: an outage havm itself caused.
     * An idle client is heard only by its pings, every third of the session timeout, so the
     * session survives a stall of two thirds of it, not the whole (measured on the lab: a 2.5 s
     * pause expired a 3 s session).
     */
    static Check stallTolerance(Facts f) {
        Duration session = f.spec().timers().sessionTimeout();
        Duration stall = session.multipliedBy(2).dividedBy(3);
        String detail = "an agent stalled for up to " + stall.toMillis() + " ms keeps its session (two thirds of"
                + " timers.sessionTimeout " + session.toMillis() + " ms: the client is heard by pings every third);"
                + " a longer stall expires it and its host is fenced with its VMs";
        if (session.compareTo(STALL_WARNING) < 0) {
            return Check.cluster("cluster.stall-tolerance", cluster(f), Status.WARN, detail, "raise"
                    + " timers.sessionTimeout if this cluster's hosts can stall that long (10s tolerates a 6.6 s stall"
                    + " and detects a lost host " + (10_000 - session.toMillis()) / 1000.0 + " s later)");
        }
        return Check.cluster("cluster.stall-tolerance", cluster(f), Status.PASS, detail, "");
    }

    /**
     * N+1 with the memory the hosts really have (the smaller of the configured and the measured),
     * by the policy's own admission ({@link Placement#admission}).
     */
    static List<Check> nPlusOne(Facts f) {
        List<ClusterSpec.NodeSpec> nodes = new ArrayList<>();
        for (ClusterSpec.NodeSpec n : f.spec().nodes()) {
            HostFacts h = host(f, n.name());
            long mem = h.reachable() && h.memoryMiB() > 0 ? Math.min(n.memoryMiB(), h.memoryMiB()) : n.memoryMiB();
            nodes.add(new ClusterSpec.NodeSpec(n.name(), n.uri(), mem, n.fencing()));
        }
        ClusterSpec s = f.spec();
        ClusterSpec measured = new ClusterSpec(s.name(), nodes, s.groups(), s.timers(), s.zookeeper(), s.admission(),
                s.migrationsPerHost(), s.storage(), s.heartbeat(), s.watchdog(), s.migrationTls());
        Map<String, List<String>> stranded = Placement.admission(measured);
        if (stranded.isEmpty()) {
            return List.of(Check.cluster("cluster.n-plus-one", cluster(f), Status.PASS, "losing any one host leaves"
                    + " room for every auto-start group (" + s.groups().size() + " group(s), priorities honoured)", ""));
        }
        List<Check> out = new ArrayList<>();
        stranded.forEach((lost, groups) -> out.add(Check.cluster("cluster.n-plus-one", cluster(f),
                s.admission() == ClusterSpec.Admission.REFUSE ? Status.FAIL : Status.WARN, "losing " + lost
                        + " leaves " + String.join(", ", groups) + " with no host that has room",
                "add memory or a host, lower the VMs' memoryMiB, or widen the groups' possibleOwners")));
        return out;
    }
}
