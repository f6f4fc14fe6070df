package io.havm.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cluster's storage: pools every host reaches the same way, and the disks on them.
 *
 * @param leaseDir virtlockd's {@code file_lockspace_dir} on every host (on shared storage), or
 *        null. With it, every non-shareable iSCSI disk gets an explicit lockd lease in its VM's
 *        domain, so libvirt refuses a second writer on another host (file disks get lockd's
 *        automatic leases anyway; network disks do not).
 * @param pools by name
 * @param disks by name (cluster-unique); disk resources of groups refer to them
 */
public record StorageSpec(Path leaseDir, Map<String, Pool> pools, Map<String, Disk> disks) {

    public StorageSpec {
        pools = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(pools));
        disks = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(disks));
    }

    public static StorageSpec none() {
        return new StorageSpec(null, Map.of(), Map.of());
    }

    public Optional<Pool> pool(String name) {
        return Optional.ofNullable(pools.get(name));
    }

    public Optional<Disk> disk(String name) {
        return Optional.ofNullable(disks.get(name));
    }

    /** The pool a (validated) disk lives on. */
    public Pool poolOf(Disk d) {
        return pools.get(d.pool());
    }

    /** A pool: storage that every host reaches the same way. */
    public sealed interface Pool permits SharedDir, Iscsi {
        String name();

        /** The config word for its type. */
        String type();
    }

    /**
     * A directory mounted at the same path on every host (NFS, GFS2, CephFS, a CSV).
     *
     * @param libvirtSeesShared whether libvirt recognises the file system as shared; when false
     *        (a plain local path, as in the lab) live migration needs VIR_MIGRATE_UNSAFE
     */
    public record SharedDir(String name, Path path, boolean libvirtSeesShared) implements Pool {
        @Override
        public String type() {
            return "shared-dir";
        }
    }

    /**
     * An iSCSI target reached with QEMU's userspace initiator (no kernel initiator needed).
     *
     * @param luns the LUNs this cluster may use (empty: any)
     */
    public record Iscsi(String name, String host, int port, String target, List<Integer> luns) implements Pool {
        public Iscsi {
            luns = List.copyOf(luns);
        }

        @Override
        public String type() {
            return "iscsi";
        }

        public String portal() {
            return host + ":" + port;
        }

        /** libiscsi's URL of a LUN, as QEMU and iscsi-readcapacity16 take it. */
        public String url(int lun) {
            return "iscsi://" + portal() + "/" + target + "/" + lun;
        }
    }

    /** Volume formats. */
    public enum Format {
        RAW("raw"), QCOW2("qcow2");

        public final String word;

        Format(String word) {
            this.word = word;
        }

        public static Optional<Format> of(String word) {
            for (Format f : values()) {
                if (f.word.equals(word)) {
                    return Optional.of(f);
                }
            }
            return Optional.empty();
        }
    }

    /**
     * A disk: a volume in a shared-dir pool, or a LUN of an iSCSI pool.
     *
     * @param volume file name inside the pool's directory (shared-dir), else null
     * @param lun the LUN (iscsi), else null
     * @param format raw or qcow2 (a LUN is always raw)
     * @param sizeBytes size to create it with (shared-dir), or the least size a LUN must have; 0: any
     * @param backing base image of a qcow2 volume (an absolute path), or null
     * @param shareable attached to several VMs at once (guest clusters): raw, no backing file, and
     *        {@code <shareable/>} in every domain
     */
    public record Disk(String name, String pool, String volume, Integer lun, Format format, long sizeBytes,
            Path backing, boolean shareable) {

        /** The volume's file (shared-dir). */
        public Path file(SharedDir p) {
            return p.path().resolve(volume);
        }

        /** Name of the explicit lockd lease of a non-shareable LUN (a file in the lease directory). */
        public String leaseKey() {
            return "havm-disk-" + name;
        }
    }

    private static final Pattern SIZE = Pattern.compile("([0-9]+)([KMGT]?)(i?B)?");

    /**
     * A size like {@code 64M}, {@code 1G}, {@code 512K}, {@code 2T} (binary units; "MiB" and "MB"
     * mean the same) or plain bytes. Empty when it is not one (callers name the field).
     */
    public static Optional<Long> parseSize(String s) {
        Matcher m = SIZE.matcher(s.strip());
        if (!m.matches()) {
            return Optional.empty();
        }
        int shift = switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        try {
            long n = Long.parseLong(m.group(1));
            if (n <= 0 || n > (Long.MAX_VALUE >> shift)) {
                return Optional.empty();
            }
            return Optional.of(n << shift);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** 1073741824 → "1G", 67108864 → "64M", else bytes. */
    public static String formatSize(long bytes) {
        String[] units = {"T", "G", "M", "K"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            if (bytes >= (1L << shifts[i]) && bytes % (1L << shifts[i]) == 0) {
                return (bytes >> shifts[i]) + units[i];
            }
        }
        return Long.toString(bytes);
    }

    /** What a size field allows, for error messages. */
    public static final String SIZE_SYNTAX = "a size like 64M, 1G, 512K, 2T or plain bytes";
}
