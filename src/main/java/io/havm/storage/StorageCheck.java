package io.havm.storage;

import io.havm.port.Storage.Problem;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.ResourceSpec;
import io.havm.model.StorageSpec;
import io.havm.util.Exec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one node finds when it looks at the cluster's storage: each pool reachable, each disk there
 * with the format, backing file and size the configuration says. Used by {@code havm storage
 * check} before anything runs, and by the disk resource's Online, so a group is never brought
 * online on a node that cannot see its disks.
 *
 * <p>Every check goes through the same paths QEMU uses ({@code qemu-img info} on the file, libiscsi
 * for a LUN) and reports problems as values naming the node, the pool, the disk and what is
 * wrong. Every external call is bounded by the caller's budget and run so that even a program
 * stuck on a hung NFS mount cannot hold the caller (see {@link Bounded}); running out of budget is
 * reported as a timeout, not as a missing disk.
 */
public final class StorageCheck {
    /** Budget of {@link #checkAll(String, ClusterSpec, Collection)}: a healthy check takes milliseconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private static final Pattern TARGET = Pattern.compile("^Target:(\\S+)", Pattern.MULTILINE);

    private StorageCheck() {}


    /** A time budget shared by the steps of one check. */
    private static final class Budget {
        final Duration total;
        final long end;

        Budget(Duration total) {
            this.total = total;
            this.end = System.nanoTime() + total.toNanos();
        }

        /** Time left for the next call (at least 1 ms, so it times out rather than not running). */
        Duration left() {
            return Duration.ofNanos(Math.max(1_000_000, end - System.nanoTime()));
        }

        String noAnswer() {
            return "no answer within " + total.toMillis() + " ms";
        }
    }

    /** How a pool is named in messages: {@code pool shared}, {@code pool lab (iscsi 10.0.0.5:3260 iqn…)}. */
    public static String label(StorageSpec.Pool pool) {
        if (pool instanceof StorageSpec.Iscsi i) {
            return "pool " + i.name() + " (iscsi " + i.portal() + " " + i.target() + ")";
        }
        return "pool " + pool.name();
    }

    /** How a disk is named in messages: {@code disk web-os (pool shared)}. */
    public static String label(StorageSpec.Disk disk) {
        return "disk " + disk.name() + " (pool " + disk.pool() + ")";
    }

    // ------------------------------------------------------------------------------------ pools

    /**
     * Whether {@code pool} is reachable from this node: a shared-dir pool's directory exists (a
     * missing one usually means the shared file system is not mounted); an iSCSI portal answers
     * discovery and offers the pool's target.
     */
    public static List<Problem> checkPool(String node, StorageSpec.Pool pool, Duration timeout) {
        return checkPool(node, pool, new Budget(timeout));
    }

    private static List<Problem> checkPool(String node, StorageSpec.Pool pool, Budget b) {
        List<Problem> out = new ArrayList<>();
        String subject = label(pool);
        if (pool instanceof StorageSpec.SharedDir sd) {
            Stat s = stat(sd.path(), b);
            if (s.timedOut()) {
                out.add(new Problem(node, pool.name(), null, subject + ": " + sd.path() + ": " + b.noAnswer()
                        + " (is the shared file system hung?)", true));
            } else if (s.missing()) {
                out.add(new Problem(node, pool.name(), null, subject + ": " + sd.path()
                        + " is not a directory (is the shared file system mounted?)", false));
            } else if (s.error() != null) {
                out.add(new Problem(node, pool.name(), null, subject + ": " + sd.path() + ": " + s.error(), false));
            } else if (!s.type().equals("directory")) {
                out.add(new Problem(node, pool.name(), null, subject + ": " + sd.path() + " is a " + s.type()
                        + ", not a directory", false));
            }
            return out;
        }
        StorageSpec.Iscsi is = (StorageSpec.Iscsi) pool;
        Exec.Outcome o = Bounded.exec(b.left(), List.of("iscsi-ls", "iscsi://" + is.portal()));
        if (o.timedOut()) {
            out.add(new Problem(node, pool.name(), null, subject + ": discovery: " + b.noAnswer(), true));
            return out;
        }
        if (o.code() == 127) {
            out.add(new Problem(node, pool.name(), null, subject + ": " + o.err().strip()
                    + " (install libiscsi-bin)", false));
            return out;
        }
        Set<String> targets = new TreeSet<>();
        Matcher m = TARGET.matcher(o.out());
        while (m.find()) {
            targets.add(m.group(1));
        }
        if (o.code() != 0 && targets.isEmpty()) {
            out.add(new Problem(node, pool.name(), null, subject + ": discovery failed: " + text(o), false));
        } else if (!targets.contains(is.target())) {
            out.add(new Problem(node, pool.name(), null, subject + ": the portal does not offer target "
                    + is.target() + " (offered: " + (targets.isEmpty() ? "none" : String.join(", ", targets))
                    + ")", false));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------ disks

    /**
     * Whether {@code disk} is usable from this node as its VM will use it: its pool is reachable;
     * a volume exists with the configured format, a reachable backing file (none at all for a
     * shareable disk) and at least the configured size; a LUN answers with at least the configured
     * size. {@code timeout} bounds the whole check.
     */
    public static List<Problem> checkDisk(String node, StorageSpec storage, StorageSpec.Disk disk, Duration timeout) {
        Budget b = new Budget(timeout);
        StorageSpec.Pool pool = storage.poolOf(disk);
        List<Problem> out = checkPool(node, pool, b);
        if (!out.isEmpty()) {
            return out;
        }
        return pool instanceof StorageSpec.SharedDir sd ? volume(node, sd, disk, b) : lun(node,
                (StorageSpec.Iscsi) pool, disk, b);
    }

    private static List<Problem> volume(String node, StorageSpec.SharedDir pool, StorageSpec.Disk disk, Budget b) {
        List<Problem> out = new ArrayList<>();
        Path file = disk.file(pool);
        String subject = label(disk) + ": volume " + file;
        Stat s = stat(file, b);
        if (s.timedOut()) {
            out.add(problem(node, disk, subject + ": " + b.noAnswer() + " (is the shared file system hung?)", true));
            return out;
        }
        if (s.missing()) {
            out.add(problem(node, disk, subject + " does not exist (havm storage create makes it)", false));
            return out;
        }
        if (s.error() != null) {
            out.add(problem(node, disk, subject + ": " + s.error(), false));
            return out;
        }
        if (!s.type().startsWith("regular") && !s.type().equals("block special file")) {
            out.add(problem(node, disk, subject + " is a " + s.type() + ", not a volume", false));
            return out;
        }
        ImageInfo info;
        try {
            info = ImageInfo.read(file, b.left());
        } catch (ImageInfo.Unreadable e) {
            out.add(problem(node, disk, subject + ": qemu-img info: " + (e.timedOut() ? b.noAnswer() : e.getMessage()),
                    e.timedOut()));
            return out;
        }
        String format = info.format();
        if (!format.equals(disk.format().word)) {
            out.add(problem(node, disk, subject + " is " + (format.isEmpty() ? "of unknown format" : format)
                    + ", expected " + disk.format().word, false));
        }
        String backing = info.backing();
        if (!backing.isEmpty()) {
            if (disk.shareable()) {
                out.add(problem(node, disk, subject + " has a backing file (" + backing
                        + "); a shareable disk must be raw with none", false));
            } else {
                Stat bs = stat(Path.of(backing), b);
                if (bs.timedOut()) {
                    out.add(problem(node, disk, subject + ": backing file " + backing + ": " + b.noAnswer(), true));
                } else if (bs.missing()) {
                    out.add(problem(node, disk, subject + ": its backing file " + backing + " does not exist here",
                            false));
                } else if (bs.error() != null) {
                    out.add(problem(node, disk, subject + ": backing file " + backing + ": " + bs.error(), false));
                }
            }
        }
        long size = info.virtualSize();
        if (disk.sizeBytes() > 0 && size >= 0 && size < disk.sizeBytes()) {
            out.add(problem(node, disk, subject + " is " + StorageSpec.formatSize(size) + ", disk needs at least "
                    + StorageSpec.formatSize(disk.sizeBytes()), false));
        }
        return out;
    }

    private static List<Problem> lun(String node, StorageSpec.Iscsi pool, StorageSpec.Disk disk, Budget b) {
        List<Problem> out = new ArrayList<>();
        try {
            long size = Luns.capacityBytes(pool, disk.lun(), b.left());
            if (disk.sizeBytes() > 0 && size < disk.sizeBytes()) {
                out.add(problem(node, disk, label(disk) + ": LUN " + disk.lun() + " is " + StorageSpec.formatSize(size)
                        + ", disk needs at least " + StorageSpec.formatSize(disk.sizeBytes()), false));
            }
        } catch (Luns.Unreachable e) {
            out.add(problem(node, disk, "disk " + disk.name() + ": " + e.getMessage(), e.timedOut()));
        }
        return out;
    }

    /**
     * Makes sure a non-shareable LUN's lockd lease file exists (see {@link Volumes#ensureLease}),
     * within {@code timeout}: the lease directory is on shared storage too. Empty when done or
     * when the disk has no lease.
     */
    public static List<Problem> ensureLease(String node, StorageSpec storage, StorageSpec.Disk disk,
            Duration timeout) {
        if (!Volumes.needsLease(storage, disk)) {
            return List.of();
        }
        Path lease = storage.leaseDir().resolve(disk.leaseKey());
        Bounded.Outcome<?> o = Bounded.call(timeout, () -> Volumes.ensureLease(storage, disk));
        if (o.timedOut()) {
            return List.of(problem(node, disk, label(disk) + ": lease file " + lease + ": no answer within "
                    + timeout.toMillis() + " ms (is the shared file system hung?)", true));
        }
        if (o.error() != null) {
            Throwable cause = o.error().getCause() != null ? o.error().getCause() : o.error();
            return List.of(problem(node, disk, label(disk) + ": cannot create the lease file " + lease + ": "
                    + describe(cause), false));
        }
        return List.of();
    }

    // ------------------------------------------------------------------------------------ all

    /** The groups {@code node} may own: those naming it among their possible owners, or naming none. */
    public static List<String> groupsOwnableBy(ClusterSpec spec, String node) {
        return spec.groups().values().stream()
                .filter(g -> g.possibleOwners().isEmpty() || g.possibleOwners().contains(node))
                .map(GroupSpec::name).toList();
    }

    /** The disks the disk resources of {@code groups} name, in name order. */
    public static List<StorageSpec.Disk> disksOf(ClusterSpec spec, Collection<String> groups) {
        Set<String> names = new TreeSet<>();
        for (String g : groups) {
            for (ResourceSpec r : spec.groups().get(g).resources().values()) {
                if (r.type() == ResourceSpec.Type.DISK && r.properties().get(ResourceSpec.DISK) != null) {
                    names.add(r.properties().get(ResourceSpec.DISK));
                }
            }
        }
        return names.stream().map(n -> spec.storage().disks().get(n)).toList();
    }

    /** {@link #checkAll(String, ClusterSpec, Collection, Duration)} with {@link #DEFAULT_TIMEOUT} per step. */
    public static List<Problem> checkAll(String node, ClusterSpec spec, Collection<String> groupsThisNodeMayOwn) {
        return checkAll(node, spec, groupsThisNodeMayOwn, DEFAULT_TIMEOUT);
    }

    /**
     * Everything {@code node} needs: every pool, the lease directory, and every disk used by the
     * groups it may own. A disk on a pool that is already unreachable is not checked again (one
     * line per cause, and a hung mount costs one timeout, not one per disk). {@code timeout}
     * bounds each pool and each disk.
     */
    public static List<Problem> checkAll(String node, ClusterSpec spec, Collection<String> groupsThisNodeMayOwn,
            Duration timeout) {
        StorageSpec st = spec.storage();
        List<Problem> out = new ArrayList<>();
        Set<String> badPools = new LinkedHashSet<>();
        for (StorageSpec.Pool p : st.pools().values()) {
            List<Problem> ps = checkPool(node, p, timeout);
            if (!ps.isEmpty()) {
                badPools.add(p.name());
                out.addAll(ps);
            }
        }
        if (st.leaseDir() != null) {
            Budget b = new Budget(timeout);
            Stat s = stat(st.leaseDir(), b);
            String subject = "storage.leaseDir " + st.leaseDir();
            if (s.timedOut()) {
                out.add(new Problem(node, null, null, subject + ": " + b.noAnswer()
                        + " (is the shared file system hung?)", true));
            } else if (s.missing()) {
                out.add(new Problem(node, null, null, subject + " is not a directory (is the shared file system"
                        + " mounted?)", false));
            } else if (s.error() != null) {
                out.add(new Problem(node, null, null, subject + ": " + s.error(), false));
            } else if (!s.type().equals("directory")) {
                out.add(new Problem(node, null, null, subject + " is a " + s.type() + ", not a directory", false));
            }
        }
        for (StorageSpec.Disk d : disksOf(spec, groupsThisNodeMayOwn)) {
            if (!badPools.contains(d.pool())) {
                out.addAll(checkDisk(node, st, d, timeout));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------ helpers

    private static Problem problem(String node, StorageSpec.Disk disk, String detail, boolean timedOut) {
        return new Problem(node, disk.pool(), disk.name(), detail, timedOut);
    }

    /** {@code stat}'s answer: the file type (e.g. "directory", "regular file"), or why not. */
    private record Stat(String type, boolean missing, boolean timedOut, String error) {}

    /**
     * The file type by {@code stat -L} in a child process: a Java call on a hung NFS mount would
     * block this thread for good.
     */
    private static Stat stat(Path p, Budget b) {
        Exec.Outcome o = Bounded.exec(b.left(), List.of("stat", "-L", "-c", "%F", p.toString()));
        if (o.timedOut()) {
            return new Stat(null, false, true, null);
        }
        if (o.ok()) {
            return new Stat(o.out().strip(), false, false, null);
        }
        String e = o.err().strip();
        if (e.endsWith("No such file or directory") || e.endsWith("Not a directory")) {
            return new Stat(null, true, false, null);
        }
        int colon = e.lastIndexOf(": ");
        return new Stat(null, false, false, colon >= 0 && o.code() != 127 ? e.substring(colon + 2) : text(o));
    }

    /** An I/O error for the operator: AccessDeniedException's message is only the path. */
    private static String describe(Throwable t) {
        String kind = t instanceof java.nio.file.AccessDeniedException ? "permission denied"
                : t instanceof java.nio.file.NoSuchFileException ? "no such file or directory"
                : t instanceof java.nio.file.FileSystemException ? "file system error"
                : t.getClass().getSimpleName();
        return kind + (t.getMessage() == null ? "" : " (" + t.getMessage() + ")");
    }

    /** A program's error text on one line (stderr, else stdout, else its exit code). */
    private static String text(Exec.Outcome o) {
        String t = o.err().isBlank() ? o.out() : o.err();
        t = t.strip().replaceAll("\\s+", " ");
        return t.isEmpty() ? "exit " + o.code() : t;
    }
}
