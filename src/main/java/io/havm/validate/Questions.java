package io.havm.validate;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What every host is asked, derived from the HA VMs' definitions and the cluster's shared
 * directories: the same questions to every host, so that their answers compare.
 *
 * @param machines guest (arch, machine, virt type) triples, by {@link #machineKey}
 * @param cpus by VM domain: the VM's custom {@code <cpu>} to compare with each host's hypervisor CPU
 * @param interfaces host interfaces the VMs plug into (bridges, direct devices)
 * @param networks libvirt networks the VMs use
 * @param files files the VMs use (disks, ISOs), and the markers written into shared directories
 * @param markers shared directory → the marker file validate writes there through one host and
 *        looks for through every other (the marker's path is among {@code files})
 */
public record Questions(Map<String, Machine> machines, Map<String, Machine> cpus, Map<String, String> cpuXml,
        Set<String> interfaces, Set<String> networks, Set<String> files, Map<String, String> markers) {

    /** A guest's architecture, machine type (null: the emulator's default) and virt type. */
    public record Machine(String arch, String machine, String virtType) {}

    public static String machineKey(String arch, String machine, String virtType) {
        return arch + "/" + (machine == null ? "(default)" : machine) + "/" + virtType;
    }

    /** The questions of {@code vms}, plus a marker (named {@code markerName}) in each of {@code sharedDirs}. */
    public static Questions of(List<VmFacts> vms, Set<String> sharedDirs, String markerName) {
        Map<String, Machine> machines = new TreeMap<>();
        Map<String, Machine> cpus = new TreeMap<>();
        Map<String, String> cpuXml = new TreeMap<>();
        Set<String> interfaces = new TreeSet<>();
        Set<String> networks = new TreeSet<>();
        Set<String> files = new TreeSet<>();
        Map<String, String> markers = new TreeMap<>();
        for (VmFacts v : vms) {
            if (v.problem() != null) {
                continue;
            }
            Machine m = new Machine(v.arch(), v.machine(), v.virtType());
            machines.put(machineKey(v.arch(), v.machine(), v.virtType()), m);
            if ("custom".equals(v.cpuMode()) && v.cpuXml() != null) {
                cpus.put(v.domain(), m);
                cpuXml.put(v.domain(), v.cpuXml());
            }
            for (VmFacts.Nic n : v.nics()) {
                if (n.source() != null && (n.type().equals("bridge") || n.type().equals("direct"))) {
                    interfaces.add(n.source());
                } else if (n.source() != null && n.type().equals("network")) {
                    networks.add(n.source());
                }
            }
            for (VmFacts.Disk d : v.disks()) {
                if (d.source() != null && d.type().equals("file")) {
                    files.add(d.source());
                }
            }
        }
        for (String dir : sharedDirs) {
            String marker = dir.replaceAll("/+$", "") + "/" + markerName;
            markers.put(dir, marker);
            files.add(marker);
        }
        return new Questions(machines, cpus, cpuXml, interfaces, networks, files, markers);
    }
}
