package io.havm.storage;

import io.havm.model.InvalidInputException;
import io.havm.model.StorageSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Chooses LUNs of an iSCSI pool for new disks: among the pool's {@code luns} that no disk of the
 * configuration uses, each disk gets the smallest one at least as large as it asks (disks taken
 * smallest first, which finds an assignment whenever one exists). Capacities come from a function,
 * {@link Luns#capacityBytes} from this node in real use.
 */
public final class LunPicker {
    private LunPicker() {}

    /** A LUN's size in bytes, or why it cannot be read. */
    @FunctionalInterface
    public interface Capacity {
        long bytes(StorageSpec.Iscsi pool, int lun) throws Luns.Unreachable;
    }

    /** Asks the target from this node, as QEMU will (iscsi-readcapacity16). */
    public static Capacity fromHere(Duration timeout) {
        return (pool, lun) -> Luns.capacityBytes(pool, lun, timeout);
    }

    /** The pool's LUNs that no disk of {@code storage} uses, ascending. */
    public static List<Integer> free(StorageSpec storage, StorageSpec.Iscsi pool) {
        Set<Integer> used = new java.util.TreeSet<>();
        for (StorageSpec.Disk d : storage.disks().values()) {
            if (d.pool().equals(pool.name()) && d.lun() != null) {
                used.add(d.lun());
            }
        }
        return pool.luns().stream().filter(l -> !used.contains(l)).sorted().toList();
    }

    /**
     * A LUN for each disk of {@code wanted} (name → least size in bytes), in {@code wanted}'s
     * order. Refuses, naming the option and the free LUNs with their sizes, when the pool lists no
     * LUNs or a disk finds none large enough.
     *
     * @param option what the sizes came from, for messages (e.g. "--shared-disk")
     */
    public static Map<String, Integer> pick(StorageSpec storage, StorageSpec.Iscsi pool, Map<String, Long> wanted,
            Capacity capacity, String option) {
        if (pool.luns().isEmpty()) {
            throw new InvalidInputException("storage.pools." + pool.name() + ".luns", "is not given: havm picks"
                    + " LUNs only from a pool's luns list (list the LUNs this cluster may use, e.g. luns: [1, 2, 3])");
        }
        Map<Integer, Long> sizes = new TreeMap<>();
        Map<Integer, String> unreachable = new TreeMap<>();
        for (int lun : free(storage, pool)) {
            try {
                sizes.put(lun, capacity.bytes(pool, lun));
            } catch (Luns.Unreachable e) {
                unreachable.put(lun, e.getMessage());
            }
        }
        List<Map.Entry<String, Long>> order = new ArrayList<>(wanted.entrySet());
        order.sort(Map.Entry.<String, Long>comparingByValue().thenComparing(Map.Entry.comparingByKey()));
        Map<String, Integer> chosen = new TreeMap<>();
        Map<Integer, Long> left = new TreeMap<>(sizes);
        for (Map.Entry<String, Long> w : order) {
            Integer best = left.entrySet().stream().filter(e -> e.getValue() >= w.getValue())
                    .min(Comparator.comparingLong((Map.Entry<Integer, Long> e) -> e.getValue())
                            .thenComparing(Map.Entry.comparingByKey()))
                    .map(Map.Entry::getKey).orElse(null);
            if (best == null) {
                throw new InvalidInputException(option + " " + w.getKey(), "no free LUN of at least "
                        + StorageSpec.formatSize(w.getValue()) + " in pool " + pool.name() + "; free: "
                        + describe(left, unreachable) + (chosen.isEmpty() ? "" : "; already chosen for the smaller disks: "
                        + taken(chosen, sizes)));
            }
            chosen.put(w.getKey(), best);
            left.remove(best);
        }
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String name : wanted.keySet()) {
            out.put(name, chosen.get(name));
        }
        return out;
    }

    private static String describe(Map<Integer, Long> left, Map<Integer, String> unreachable) {
        List<String> parts = new ArrayList<>();
        for (Map.Entry<Integer, Long> e : left.entrySet()) {
            parts.add(e.getKey() + " (" + StorageSpec.formatSize(e.getValue()) + ")");
        }
        for (Map.Entry<Integer, String> e : unreachable.entrySet()) {
            parts.add(e.getKey() + " (unreachable: " + e.getValue() + ")");
        }
        return parts.isEmpty() ? "none" : String.join(", ", parts);
    }

    private static String taken(Map<String, Integer> chosen, Map<Integer, Long> sizes) {
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, Integer> e : chosen.entrySet()) {
            parts.add(e.getValue() + " (" + StorageSpec.formatSize(sizes.get(e.getValue())) + ") for " + e.getKey());
        }
        return String.join(", ", parts);
    }
}
