package io.havm.engine;

import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Where a VM is, asked of every host; and forgetting it everywhere. */
public final class Whereabouts {
    private Whereabouts() {}

    /**
     * Hosts on which the domain is active (running, paused, shutting down), in the given order.
     * Unreachable hosts cannot be asked and are left out: callers that must be sure a VM runs
     * nowhere else need a fence, not this list.
     */
    public static List<String> activeOn(Collection<Hypervisor> hosts, String domain) {
        List<String> on = new ArrayList<>();
        for (Hypervisor h : hosts) {
            try {
                if (h.state(domain).map(DomainState::active).orElse(false)) {
                    on.add(h.host());
                }
            } catch (HypervisorException e) {
                if (e.kind() != HypervisorException.Kind.HOST_UNREACHABLE) {
                    throw e;
                }
            }
        }
        return on;
    }

    /**
     * Turns the domain off and undefines it on every reachable host (its disks stay). Returns the
     * hosts it was removed from; unreachable hosts are skipped.
     */
    public static List<String> removeEverywhere(Collection<Hypervisor> hosts, String domain) {
        List<String> removed = new ArrayList<>();
        for (Hypervisor h : hosts) {
            try {
                var s = h.state(domain);
                if (s.isEmpty()) {
                    continue;
                }
                if (s.get().active()) {
                    h.destroy(domain);
                }
                h.undefine(domain);
                removed.add(h.host());
            } catch (HypervisorException e) {
                if (e.kind() != HypervisorException.Kind.NO_DOMAIN
                        && e.kind() != HypervisorException.Kind.HOST_UNREACHABLE) {
                    throw e;
                }
            }
        }
        return removed;
    }
}
