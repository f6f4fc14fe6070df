package io.havm.resource;

import io.havm.model.Result;
import io.havm.model.StorageSpec;
import io.havm.port.Resource;
import io.havm.port.Storage;
import io.havm.storage.StorageCheck;
import java.time.Duration;
import java.util.List;

/**
 * A disk of the cluster's storage as a resource of a group: the VMs that list it depend on it, so
 * it comes online first and goes offline last. Nothing is attached or held here (the VM's domain
 * attaches the disk); the resource's job is to say, before the VM starts and while it runs,
 * whether this node reaches the disk. A VM whose disk is gone then fails on its disk's
 * precise reason ("LUN 5: LOGICAL_UNIT_NOT_SUPPORTED", "volume … does not exist") instead of a
 * generic QEMU I/O error, and a node that cannot see the storage is refused before anything starts.
 *
 * <ul>
 *   <li>Online: {@link StorageCheck#checkDisk} (pool, volume, format, backing file, size; a LUN's
 *       capacity), then the lockd lease file of a non-shareable LUN when the storage has a lease
 *       directory.</li>
 *   <li>LooksAlive (cheap, every few seconds): the volume file is still there ({@code stat} in a
 *       child process with a short timeout: a Java call could block on a hung mount), or the LUN
 *       answers READ CAPACITY (about 15 ms).</li>
 *   <li>IsAlive (thorough): reads the first 4 KiB with {@code qemu-io} through the same block
 *       driver QEMU uses (file or libiscsi), read-only and without taking the image lock the
 *       running VM holds.</li>
 *   <li>Open, Offline, Terminate, Close: nothing to do (the VM above is already off by dependency
 *       order; the lease is released by virtlockd when the VM stops).</li>
 * </ul>
 * Every result names the node, the disk and the pool.
 */
public final class DiskResource implements Resource {
    /** LooksAlive's budget at most: it runs every few seconds. */
    static final Duration LOOKS_ALIVE = Duration.ofSeconds(5);

    private final Storage port;
    private final String node;
    private final StorageSpec storage;
    private final StorageSpec.Disk disk;
    private final StorageSpec.Pool pool;
    private final Duration timeout;

    /**
     * @param node this node's name (for messages)
     * @param timeout budget of Online and IsAlive (the resource's pendingTimeout)
     */
    public DiskResource(Storage port, String node, StorageSpec storage, StorageSpec.Disk disk, Duration timeout) {
        this.port = port;
        this.node = node;
        this.storage = storage;
        this.disk = disk;
        this.pool = storage.poolOf(disk);
        this.timeout = timeout;
        if (pool == null) {
            throw new IllegalArgumentException("disk " + disk.name() + ": unknown pool " + disk.pool());
        }
    }

    @Override
    public String name() {
        return disk.name();
    }

    /** {@code host1: disk web-os (pool shared)}: the subject of every result. */
    private String who() {
        return node + ": " + StorageCheck.label(disk);
    }

    /** The volume file (shared-dir) or the LUN's libiscsi URL (iscsi): what QEMU opens. */
    String target() {
        if (pool instanceof StorageSpec.SharedDir sd) {
            return disk.file(sd).toString();
        }
        return ((StorageSpec.Iscsi) pool).url(disk.lun());
    }

    @Override
    public Result open() {
        return new Result.Ok(who() + ": " + target());
    }

    @Override
    public Result online() {
        List<Storage.Problem> problems = port.checkDisk(node, storage, disk, timeout);
        if (problems.isEmpty()) {
            return new Result.Ok(who() + ": " + target() + " reachable");
        }
        return failure(problems, timeout);
    }

    @Override
    public Result looksAlive() {
        Duration budget = timeout.compareTo(LOOKS_ALIVE) < 0 ? timeout : LOOKS_ALIVE;
        if (pool instanceof StorageSpec.SharedDir sd) {
            String file = disk.file(sd).toString();
            Storage.Probe p = port.volume(disk.file(sd), budget);
            return switch (p.status()) {
                case OK -> new Result.Ok(who() + ": volume " + file + " present");
                case MISSING -> new Result.Failed(who() + ": volume " + file + " no longer exists");
                case TIMED_OUT -> new Result.Timeout(who() + ": volume " + file + ": " + p.detail(), budget);
                case FAILED -> new Result.Failed(who() + ": volume " + file + ": " + p.detail());
            };
        }
        StorageSpec.Iscsi is = (StorageSpec.Iscsi) pool;
        Storage.Probe p = port.lunCapacity(is, disk.lun(), budget);
        if (p.ok()) {
            long size = p.bytes();
            if (disk.sizeBytes() > 0 && size < disk.sizeBytes()) {
                return new Result.Failed(who() + ": LUN " + disk.lun() + " is now " + StorageSpec.formatSize(size)
                        + ", disk needs at least " + StorageSpec.formatSize(disk.sizeBytes()));
            }
            return new Result.Ok(who() + ": LUN " + disk.lun() + " answers, " + StorageSpec.formatSize(size));
        }
        if (p.status() == Storage.Status.TIMED_OUT) {
            return new Result.Timeout(node + ": disk " + disk.name() + ": " + p.detail(), budget);
        }
        // libiscsi's reason for a dead portal is vague ("Can not reconnect right now"); discovery says more.
        List<Storage.Problem> pp = port.checkPool(node, pool, budget);
        String why = node + ": disk " + disk.name() + ": " + p.detail();
        return new Result.Failed(pp.isEmpty() ? why : why + "; " + pp.get(0).detail());
    }

    @Override
    public Result isAlive() {
        String t = target();
        Storage.Probe p = port.readFirstBlock(t, disk.format().word, timeout);
        return switch (p.status()) {
            case OK -> new Result.Ok(who() + ": read the first 4 KiB of " + t);
            case TIMED_OUT -> new Result.Timeout(who() + ": reading the first 4 KiB of " + t + ": " + p.detail(),
                    timeout);
            default -> new Result.Failed(who() + ": cannot read " + t + ": " + p.detail());
        };
    }

    @Override
    public Result offline() {
        return new Result.Ok(who() + ": nothing to release");
    }

    @Override
    public Result terminate() {
        return new Result.Ok(who() + ": nothing to release");
    }

    @Override
    public Result close() {
        return new Result.Ok(who());
    }

    private static Result failure(List<Storage.Problem> problems, Duration budget) {
        String text = String.join("; ", problems.stream().map(Storage.Problem::message).toList());
        if (problems.stream().anyMatch(Storage.Problem::timedOut)) {
            return new Result.Timeout(text, budget);
        }
        return new Result.Failed(text);
    }
}
