package io.havm.validate;

import java.util.Map;

/**
 * What one host's libvirt said, for the questions the VMs raise ({@link Questions}). Every map is
 * keyed by the question ({@link Questions} builds the keys).
 *
 * @param host the node name
 * @param unreachable why the host could not be asked (a connection refused, a deadline passed);
 *        null when it answered. Then every other field is empty.
 * @param libvirtVersion libvirt's version on the host (major * 1,000,000 + minor * 1,000 + release)
 * @param qemuVersion the hypervisor's (QEMU's) version, same encoding
 * @param memoryMiB the host's physical memory
 * @param hostModelCpu the CPU the host's hypervisor gives a host-model guest, as a {@code <cpu>}
 *        element for a baseline (null when it has none)
 * @param machines by {@link Questions#machineKey}: YES with the canonical machine type, or NO with libvirt's reason
 * @param cpus by VM domain: YES identical/superset, NO incompatible, or ERROR
 * @param interfaces by name: YES with the interface's type (bridge …), NO when absent
 * @param networks by libvirt network name: YES active, NO absent or inactive (value says which)
 * @param files by path: YES with the file's identity (size, ctime), NO when the host does not see it
 * @param clock the host's clock against this machine's (see {@link Clock}); null when not measured
 */
public record HostFacts(String host, String unreachable, long libvirtVersion, long qemuVersion, long memoryMiB,
        String hostModelCpu, Map<String, Probe> machines, Map<String, Probe> cpus, Map<String, Probe> interfaces,
        Map<String, Probe> networks, Map<String, Probe> files, Clock clock) {

    public HostFacts {
        machines = Map.copyOf(machines);
        cpus = Map.copyOf(cpus);
        interfaces = Map.copyOf(interfaces);
        networks = Map.copyOf(networks);
        files = Map.copyOf(files);
    }

    /** A host that could not be asked. */
    public static HostFacts unreachable(String host, String why) {
        return new HostFacts(host, why, 0, 0, 0, null, Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), null);
    }

    public boolean reachable() {
        return unreachable == null;
    }

    /**
     * The host's clock against the machine running validate.
     *
     * @param offsetMs host minus here, in milliseconds; meaningful only when {@code problem} is null
     * @param uncertaintyMs half the round trip of the measurement
     * @param problem why it could not be measured, or null
     */
    public record Clock(long offsetMs, long uncertaintyMs, String problem) {}

    /** libvirt's version number as text: 9000000 → 9.0.0. */
    public static String version(long v) {
        return v <= 0 ? "unknown" : (v / 1_000_000) + "." + (v / 1000 % 1000) + "." + (v % 1000);
    }
}
