package io.havm.engine;

import io.havm.port.Clock;
import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.MigrationOptions;
import io.havm.port.MigrationProgress;
import io.havm.model.MoveMode;
import io.havm.model.Result;
import io.havm.port.Resources;
import io.havm.port.Scheduler;
import io.havm.port.VmProperties;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves a VM between nodes: live, quick, offline, and recovery after a node is fenced. No cluster
 * brain yet: the caller names source and target.
 *
 * <p>Safety rules every move keeps: the VM runs on at most one node at any moment (the source
 * stops before the target starts, except inside libvirt's live migration, which hands over
 * atomically); the definition ends on the target only and the source forgets it; a failed move
 * leaves the VM running where it was whenever that is still possible. Disk leases (lockd) refuse
 * a second writer regardless.
 */
public final class Mover {
    private static final Logger LOG = LoggerFactory.getLogger(Mover.class);

    private final Clock clock;
    private final MigrationOptions migration;
    private final Resources resources;
    /** Runs the progress watcher of a live migration; null: no progress reported. */
    private final Scheduler scheduler;
    /** How often the watcher reads the job's progress. */
    private final Duration every;

    /** What a move did. */
    public record Report(MoveMode mode, String domain, String from, String to, boolean ok, Duration took,
            String detail) {}

    /** A mover that reports no progress (the engine's). */
    public Mover(Clock clock, MigrationOptions migration, Resources resources) {
        this(clock, migration, resources, null);
    }

    /** A mover that reports a live migration's progress through a watcher run on {@code scheduler}. */
    public Mover(Clock clock, MigrationOptions migration, Resources resources, Scheduler scheduler) {
        this(clock, migration, resources, scheduler, Duration.ofMillis(250));
    }

    /** As above, the progress read every {@code every}. */
    public Mover(Clock clock, MigrationOptions migration, Resources resources, Scheduler scheduler, Duration every) {
        this.clock = clock;
        this.migration = migration;
        this.resources = resources;
        this.scheduler = scheduler;
        this.every = every;
    }

    public Report move(MoveMode mode, VmProperties vm, Hypervisor from, Hypervisor to,
            Consumer<MigrationProgress> progress) {
        return switch (mode) {
            case LIVE -> live(vm, from, to, progress);
            case QUICK -> quick(vm, from, to);
            case OFFLINE -> offline(vm, from, to);
        };
    }

    /** Live migration, peer-to-peer: persisted on the target, undefined on the source. */
    public Report live(VmProperties vm, Hypervisor from, Hypervisor to, Consumer<MigrationProgress> progress) {
        Instant t0 = clock.now();
        String d = vm.domain();
        Report refused = precheck(MoveMode.LIVE, vm, from, to, t0);
        if (refused != null) {
            return refused;
        }
        Scheduler.Handle watcher = progress == null || scheduler == null ? null
                : startProgressWatcher(from, d, progress);
        try {
            from.migrateLive(d, to, migration);
        } catch (HypervisorException e) {
            return report(MoveMode.LIVE, vm, from, to, false, t0, "live migration failed: " + e.getMessage()
                    + "; VM " + where(from, to, d));
        } finally {
            if (watcher != null) {
                watcher.cancel();
            }
        }
        Optional<DomainState> there = to.state(d);
        boolean ok = there.isPresent() && there.get().kind() == DomainState.Kind.RUNNING
                && from.state(d).isEmpty();
        return report(MoveMode.LIVE, vm, from, to, ok, t0, ok ? "running on " + to.host() + " (" + there.get() + ")"
                : "after migration: " + where(from, to, d));
    }

    private Scheduler.Handle startProgressWatcher(Hypervisor from, String d, Consumer<MigrationProgress> progress) {
        boolean[] over = {false};
        Scheduler.Loop step = () -> {
            if (over[0]) {
                return null;
            }
            try {
                from.jobProgress(d).ifPresent(progress);
            } catch (HypervisorException e) {
                over[0] = true; // the domain left the source: the migration is over
                return null;
            }
            return every;
        };
        return scheduler.start("migration-progress-" + d, true, () -> {
            while (!Thread.currentThread().isInterrupted()) {
                Duration next = step.step();
                if (next == null) {
                    return;
                }
                try {
                    clock.pause(next);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, step);
    }

    /**
     * Quick migration: save memory state to shared storage, move the definition, restore on the
     * target. If the restore fails, the state is restored on the source again.
     */
    public Report quick(VmProperties vm, Hypervisor from, Hypervisor to) {
        Instant t0 = clock.now();
        String d = vm.domain();
        Report refused = precheck(MoveMode.QUICK, vm, from, to, t0);
        if (refused != null) {
            return refused;
        }
        String xml;
        try {
            xml = from.xml(d, true);
            resources.storage().createDirectories(vm.stateDir());
            from.save(d, vm.stateFile());
        } catch (HypervisorException | IOException e) {
            return report(MoveMode.QUICK, vm, from, to, false, t0, "save on " + from.host() + " failed: "
                    + e.getMessage());
        }
        try {
            to.define(xml);
            to.restore(vm.stateFile());
        } catch (HypervisorException e) {
            String back = rollbackRestore(vm, from, to);
            return report(MoveMode.QUICK, vm, from, to, false, t0, "restore on " + to.host() + " failed: "
                    + e.getMessage() + "; " + back);
        }
        String cleanup = forget(from, d) + deleteState(vm);
        Optional<DomainState> there = to.state(d);
        boolean ok = there.isPresent() && there.get().kind() == DomainState.Kind.RUNNING;
        return report(MoveMode.QUICK, vm, from, to, ok, t0, "restored on " + to.host() + " ("
                + there.map(Object::toString).orElse("gone") + ")" + cleanup);
    }

    private String rollbackRestore(VmProperties vm, Hypervisor from, Hypervisor to) {
        try {
            if (to.state(vm.domain()).map(s -> !s.active()).orElse(false)) {
                to.undefine(vm.domain());
            }
            from.restore(vm.stateFile());
            deleteState(vm);
            return "restored again on " + from.host();
        } catch (HypervisorException e) {
            return "ROLLBACK FAILED, state kept in " + vm.stateFile() + ": " + e.getMessage();
        }
    }

    /** Offline move: the VM's offline action on the source, definition moved, Online on the target. */
    public Report offline(VmProperties vm, Hypervisor from, Hypervisor to) {
        Instant t0 = clock.now();
        String d = vm.domain();
        Report refused = precheck(MoveMode.OFFLINE, vm, from, to, t0);
        if (refused != null) {
            return refused;
        }
        String xml;
        try {
            xml = from.xml(d, true);
        } catch (HypervisorException e) {
            return report(MoveMode.OFFLINE, vm, from, to, false, t0, e.getMessage());
        }
        Result off = resources.vmOn(vm, from).offline();
        if (!off.ok()) {
            return report(MoveMode.OFFLINE, vm, from, to, false, t0, "offline on " + from.host() + ": "
                    + off.word() + ": " + off.detail() + "; VM left on " + from.host());
        }
        try {
            to.define(xml);
        } catch (HypervisorException e) {
            return report(MoveMode.OFFLINE, vm, from, to, false, t0, "define on " + to.host() + " failed: "
                    + e.getMessage() + "; VM is offline, still defined on " + from.host());
        }
        String forgot = forget(from, d);
        Result on = resources.vmOn(vm, to).online();
        return report(MoveMode.OFFLINE, vm, from, to, on.ok(), t0, off.detail() + "; " + on.word() + ": "
                + on.detail() + forgot);
    }

    /**
     * Recovery: bring the VM online on a survivor after its node was fenced. Refused without a
     * fence confirmation for that node, and refused while the node still answers.
     */
    public Report recover(VmProperties vm, String deadHost, Hypervisor dead, Hypervisor survivor,
            FenceConfirmation fence) {
        Instant t0 = clock.now();
        if (fence == null || !fence.host().equals(deadHost)) {
            return new Report(null, vm.domain(), deadHost, survivor.host(), false, Duration.ZERO,
                    "refused: no fence confirmation for " + deadHost + "; a VM must never run twice");
        }
        if (dead != null) {
            try {
                dead.ping();
                return new Report(null, vm.domain(), deadHost, survivor.host(), false, Duration.ZERO,
                        "refused: " + deadHost + " still answers although fenced by " + fence.method());
            } catch (HypervisorException expected) {
                LOG.debug("{} does not answer, as fenced: {}", deadHost, expected.getMessage());
            }
        }
        Result on = resources.vmOn(vm, survivor).online();
        return new Report(null, vm.domain(), deadHost, survivor.host(), on.ok(), Duration.between(t0, clock.now()),
                on.word() + ": " + on.detail() + " (fenced: " + fence.method() + ")");
    }

    private Report precheck(MoveMode mode, VmProperties vm, Hypervisor from, Hypervisor to, Instant t0) {
        if (from.host().equals(to.host())) {
            return report(mode, vm, from, to, false, t0, "source and target are the same host " + from.host());
        }
        try {
            Optional<DomainState> here = from.state(vm.domain());
            if (here.isEmpty() || !here.get().active()) {
                return report(mode, vm, from, to, false, t0, "domain " + vm.domain() + " is not running on "
                        + from.host() + " (" + here.map(Object::toString).orElse("not defined") + ")");
            }
            Optional<DomainState> there = to.state(vm.domain());
            if (there.isPresent() && there.get().active()) {
                return report(mode, vm, from, to, false, t0, "domain " + vm.domain() + " already runs on "
                        + to.host() + ": refusing to move a VM that runs twice");
            }
        } catch (HypervisorException e) {
            return report(mode, vm, from, to, false, t0, e.getMessage());
        }
        return null;
    }

    private String forget(Hypervisor from, String d) {
        try {
            if (from.state(d).isPresent()) {
                from.undefine(d);
            }
            return "";
        } catch (HypervisorException e) {
            return "; WARNING: could not undefine on " + from.host() + ": " + e.getMessage();
        }
    }

    private String deleteState(VmProperties vm) {
        try {
            resources.storage().deleteIfExists(vm.stateFile());
            return "";
        } catch (IOException e) {
            return "; WARNING: could not delete " + vm.stateFile() + ": " + e.getMessage();
        }
    }

    private static String where(Hypervisor from, Hypervisor to, String d) {
        return from.host() + ": " + describe(from, d) + ", " + to.host() + ": " + describe(to, d);
    }

    private static String describe(Hypervisor h, String d) {
        try {
            return h.state(d).map(Object::toString).orElse("not defined");
        } catch (HypervisorException e) {
            return "unknown (" + e.kind() + ")";
        }
    }

    private Report report(MoveMode mode, VmProperties vm, Hypervisor from, Hypervisor to, boolean ok, Instant t0,
            String detail) {
        Report r = new Report(mode, vm.domain(), from.host(), to.host(), ok, Duration.between(t0, clock.now()), detail);
        LOG.info("move {} {} {} -> {}: {} in {} ms: {}", mode == null ? "recover" : mode.word, vm.domain(),
                from.host(), to.host(), ok ? "ok" : "FAILED", r.took().toMillis(), detail);
        return r;
    }
}
