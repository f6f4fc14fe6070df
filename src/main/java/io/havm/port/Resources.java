package io.havm.port;

import io.havm.model.GroupSpec;
import io.havm.model.ResourceSpec;

/**
 * Makes the resources of one node: what the engine is given instead of constructing resources
 * itself, so that it runs the same on hosts (libvirt, real scripts, real storage) and in the
 * simulator (the same resource classes on simulated ports).
 */
public interface Resources {
    /** Resource {@code r} of group {@code g} on this node. */
    Resource create(GroupSpec g, ResourceSpec r);

    /**
     * A VM resource's properties: domain, definition (read from storage; disks replaced by those
     * of its disk resources), save directory, offline action and timeouts.
     */
    VmProperties vm(GroupSpec g, ResourceSpec r);

    /** A VM's entry points on host {@code on} (a move's other end). */
    Resource vmOn(VmProperties vm, Hypervisor on);

    /** How a live migration of group {@code g} must be asked for. */
    MigrationOptions migrationOptions(GroupSpec g);

    /** The storage save files and definitions live on. */
    Storage storage();

    /** This node's processes (QEMU kill by pid). */
    Processes processes();

    /**
     * A new configuration is in force ({@code known}: its groups, disks and pools, plus those of
     * groups retired while they ran): resources made from now on use it.
     */
    default void reconfigure(io.havm.model.ClusterSpec known) {
    }
}
