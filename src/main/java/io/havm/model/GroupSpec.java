package io.havm.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A group: resources that move together (WSFC's "role").
 *
 * @param possibleOwners nodes that may host it (all nodes when the configuration names none)
 * @param preferredOwners tried first, in order
 * @param priority start order when many groups restart at once (higher first)
 * @param antiAffinity classes: groups sharing a class avoid sharing a node
 * @param failoverThreshold failovers allowed within failoverPeriod before the group is left failed
 * @param autoStart whether the group should be online (desired state at load)
 */
public record GroupSpec(String name, Map<String, ResourceSpec> resources, List<String> possibleOwners,
        List<String> preferredOwners, Failback failback, int priority, List<AntiAffinity> antiAffinity,
        int failoverThreshold, Duration failoverPeriod, boolean autoStart) {

    public GroupSpec {
        resources = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(resources));
        possibleOwners = List.copyOf(possibleOwners);
        preferredOwners = List.copyOf(preferredOwners);
        antiAffinity = List.copyOf(antiAffinity);
    }

    /** Memory the group needs on a node: its VMs' memory (overhead added by placement). */
    public long memoryMiB() {
        return resources.values().stream().mapToLong(ResourceSpec::memoryMiB).sum();
    }

    public long vmCount() {
        return resources.values().stream().filter(r -> r.type() == ResourceSpec.Type.VM).count();
    }

    /** An anti-affinity class; hard ones are never broken, soft ones only when nothing else fits. */
    public record AntiAffinity(String className, boolean hard) {}

    /** When a group returns to a preferred owner that came back. */
    public sealed interface Failback {
        /** Stay where it is. */
        record Never() implements Failback {}

        /** Move back as soon as the preferred owner is up. */
        record Immediate() implements Failback {}

        /**
         * Move back only between these times of day, e.g. 22-06 (hours) or 13:05:20-13:06:20, read
         * on the wall clock of {@code zone} ({@code cluster.timeZone}, by default the zone of the
         * host that loaded the configuration); from inclusive, to exclusive, across midnight when
         * from is later than to. The zone travels with the window because the policy is pure: it
         * never reads the system's.
         */
        record Window(java.time.LocalTime from, java.time.LocalTime to, java.time.ZoneId zone) implements Failback {
            public Window {
                java.util.Objects.requireNonNull(from, "from");
                java.util.Objects.requireNonNull(to, "to");
                java.util.Objects.requireNonNull(zone, "zone");
            }

            /** Whole hours, e.g. 22-06. */
            public Window(int fromHour, int toHour, java.time.ZoneId zone) {
                this(java.time.LocalTime.of(fromHour, 0), java.time.LocalTime.of(toHour, 0), zone);
            }

            public boolean contains(java.time.LocalTime t) {
                return !from.isAfter(to) ? !t.isBefore(from) && t.isBefore(to) : !t.isBefore(from) || t.isBefore(to);
            }

            /** Whether {@code at} is inside the window, on the wall clock of its zone. */
            public boolean contains(java.time.Instant at) {
                return contains(at.atZone(zone).toLocalTime());
            }
        }
    }
}
