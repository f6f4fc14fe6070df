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

    public ResourceSpec {
        dependsOn = List.copyOf(dependsOn);
        properties = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(properties));
    }

    /** What kind of resource. */
    public enum Type {
        /** A libvirt domain. */
        VM,
        /** An external program (generic or OCF). */
        SCRIPT
    }

    /**
     * Restart in place up to {@code threshold} times within {@code period}; past that, fail the
     * group over if {@code affectsGroup}, else leave this resource failed and the group where it is.
     */
    public record RestartPolicy(int threshold, Duration period, boolean affectsGroup) {}
}
