package io.havm.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One resource of a group.
 *
 * @param dependsOn resources of the same group that must be online first
 * @param restart restart-in-place policy
 * @param looksAliveInterval cheap check period (WSFC default 5 s)
 * @param isAliveInterval thorough check period (WSFC default 60 s)
 * @param pendingTimeout budget for this resource's Online/Offline/Terminate on the agent; the
 *        coordinator's budget for a group command is built from them (sum over the group's
 *        resources, twice that for a move; see Coordinator.budget) and an unanswered command
 *        counts as failed when it runs out
 * @param memoryMiB memory a VM needs (0 for scripts)
 * @param properties type-specific properties (domain, offlineAction, script path …)
 */
public record ResourceSpec(String name, Type type, List<String> dependsOn, RestartPolicy restart,
        Duration looksAliveInterval, Duration isAliveInterval, Duration pendingTimeout, long memoryMiB,
        OfflineAction offlineAction, Map<String, String> properties) {

    /** Property of a disk resource: the disk's name under storage.disks. */
    public static final String DISK = "disk";
    /** Property of a VM resource: its disk resources, comma-separated, attached as vda, vdb, … in order. */
    public static final String DISKS = "disks";

    public ResourceSpec {
        dependsOn = List.copyOf(dependsOn);
        properties = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(properties));
    }

    /** What kind of resource. */
    public enum Type {
        /** A libvirt domain. */
        VM,
        /** An external program (generic or OCF). */
        SCRIPT,
        /**
         * A disk of the cluster's storage (property {@code disk}): Online checks this node reaches
         * it, LooksAlive/IsAlive that it stays reachable. VMs that list it depend on it.
         */
        DISK
    }

    /**
     * Restart in place up to {@code threshold} times within {@code period}; past that, fail the
     * group over if {@code affectsGroup}, else leave this resource failed and the group where it is.
     */
    public record RestartPolicy(int threshold, Duration period, boolean affectsGroup) {}

    /**
     * A VM resource's libvirt domain name, from its properties alone (default: the resource's
     * name): what "does it run here" and a self-fence need, without reading or parsing its
     * definition, which a hung or broken shared file system must not be able to stop.
     */
    public String domain() {
        return properties.getOrDefault("domain", name);
    }

    /** A VM's disk resources in vda, vdb, … order (empty: its definition's own disks). */
    public List<String> disks() {
        String d = properties.get(DISKS);
        return d == null || d.isEmpty() ? List.of() : List.of(d.split(","));
    }
}
