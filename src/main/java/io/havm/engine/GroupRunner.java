package io.havm.engine;

import io.havm.port.Clock;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.Resource;
import io.havm.port.Resources;
import io.havm.port.VmProperties;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.MoveMode;
import io.havm.model.ResourceSpec;
import io.havm.model.Result;
import io.havm.policy.Dependencies;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Runs a group's resources on this node through their entry points, in dependency order:
 * online bottom-up, offline and terminate top-down. A failed Online terminates what it had
 * started, so a failed attempt leaves nothing running. Resources come from the {@link Resources}
 * factory it is given (the same classes on hosts and in the simulator).
 */
public final class GroupRunner {
    /** Every group definition this agent knows: the configuration in force, plus groups retired while they ran. */
    private volatile ClusterSpec spec;
    /** The definition each group's resource objects were made from (they run as they were started). */
    private final Map<String, GroupSpec> builtFrom = new java.util.concurrent.ConcurrentHashMap<>();
    private final String node;
    private final Map<String, Hypervisor> hypervisors;
    private final Clock clock;
    /** Concurrent: an agent runs the moves of several groups together (see Agent#executeCommands). */
    private final Map<String, Resource> resources = new java.util.concurrent.ConcurrentHashMap<>();
    private final Resources factory;
    private java.util.function.Consumer<String> log = line -> { };
    /** Where live moves report their progress (nothing by default), and what runs their watchers. */
    private volatile MoveProgress.Sink progress = MoveProgress.Sink.NONE;
    private volatile io.havm.port.Scheduler progressScheduler;
    private volatile java.time.Duration progressEvery = java.time.Duration.ofMillis(500);

    public GroupRunner(ClusterSpec spec, String node, Map<String, Hypervisor> hypervisors, Clock clock,
            Resources factory) {
        this.spec = spec;
        this.node = node;
        this.hypervisors = hypervisors;
        this.clock = clock;
        this.factory = factory;
    }

    Hypervisor local() {
        return hypervisors.get(node);
    }

    /** The resource object for this node (kept, so IsAlive remembers whether the guest ever answered). */
    Resource resource(String group, String name) {
        GroupSpec g = def(group);
        builtFrom.putIfAbsent(group, g);
        return resources.computeIfAbsent(group + "/" + name, k -> factory.create(g, g.resources().get(name)));
    }

    /** The group's definition here: the one its resource objects were made from, else the configured one. */
    GroupSpec def(String group) {
        GroupSpec built = builtFrom.get(group);
        return built != null ? built : spec.groups().get(group);
    }

    /**
     * A new configuration is in force; {@code known} holds its groups plus those retired while they
     * ran. What runs keeps running as it was started: a changed definition takes effect at the
     * group's next Online here.
     */
    public void reconfigure(ClusterSpec known) {
        factory.reconfigure(known);
        this.spec = known;
        // a group it no longer has (released, or removed and stopped) leaves no resource objects behind
        builtFrom.keySet().retainAll(known.groups().keySet());
        resources.keySet().removeIf(k -> !known.groups().containsKey(k.substring(0, k.indexOf('/'))));
    }

    /** The groups it knows: the configuration in force plus removed groups still stopping here. */
    public java.util.Set<String> groups() {
        return spec.groups().keySet();
    }

    /** Forgets the resource objects of {@code group} if its definition changed: the next Online makes new ones. */
    private void refresh(String group) {
        GroupSpec built = builtFrom.get(group);
        GroupSpec now = spec.groups().get(group);
        if (built != null && now != null && !built.equals(now)) {
            builtFrom.remove(group);
            resources.keySet().removeIf(k -> k.startsWith(group + "/"));
            log.accept(node + " group " + group + ": its new definition takes effect with this online");
        }
    }

    VmProperties vmProperties(GroupSpec g, ResourceSpec r) {
        return factory.vm(g, r);
    }

    /**
     * Where each resource's entry point and its result are reported ({@code host1 online web/data:
     * ok}): the agent's log, so the order in which a group's resources came and went is on record.
     */
    public GroupRunner logTo(java.util.function.Consumer<String> sink) {
        this.log = sink;
        return this;
    }

    /**
     * Live moves run from here report their progress to {@code sink} every {@code every}, read by
     * a watcher that {@code scheduler} runs (on hosts a thread; in a simulator its own driver);
     * {@link MoveProgress.Sink#ended} follows each move, whatever its outcome. By default nothing
     * is reported.
     */
    public GroupRunner reportProgress(MoveProgress.Sink sink, io.havm.port.Scheduler scheduler,
            java.time.Duration every) {
        this.progress = sink == null ? MoveProgress.Sink.NONE : sink;
        this.progressScheduler = scheduler;
        this.progressEvery = every;
        return this;
    }

    private Result step(String group, String r, String entry, Result res) {
        log.accept(node + " " + entry + " " + group + "/" + r + ": " + res.word()
                + (res.ok() ? "" : " (" + res.detail() + ")"));
        return res;
    }

    public Result online(String group) {
        refresh(group);
        List<String> started = new ArrayList<>();
        for (String r : Dependencies.onlineOrder(def(group))) {
            Result res = step(group, r, "online", resource(group, r).online());
            if (res.ok() || res instanceof Result.AlreadyRunning) {
                started.add(r);
                continue;
            }
            for (int i = started.size() - 1; i >= 0; i--) {
                step(group, started.get(i), "terminate", resource(group, started.get(i)).terminate());
            }
            step(group, r, "terminate", resource(group, r).terminate());
            return new Result.Failed(r + ": " + res.word() + ": " + res.detail());
        }
        return new Result.Ok(group + " online on " + node);
    }

    public Result offline(String group) {
        for (String r : Dependencies.offlineOrder(def(group))) {
            Result res = step(group, r, "offline", resource(group, r).offline());
            if (!res.ok()) {
                return new Result.Failed(r + ": " + res.word() + ": " + res.detail());
            }
        }
        return new Result.Ok(group + " offline on " + node);
    }

    public Result terminate(String group) {
        List<String> problems = new ArrayList<>();
        for (String r : Dependencies.offlineOrder(def(group))) {
            Result res = step(group, r, "terminate", resource(group, r).terminate());
            if (!res.ok()) {
                problems.add(r + ": " + res.detail());
            }
        }
        return problems.isEmpty() ? new Result.Ok(group + " terminated on " + node)
                : new Result.Failed(String.join("; ", problems));
    }

    /**
     * LooksAlive of one resource. For a VM whose libvirtd does not answer, libvirt's "try later" is
     * not the last word: when the QEMU libvirt recorded is gone, the guest is down, and waiting for
     * libvirtd to return would leave the group online with its VM running nowhere.
     */
    public Result looksAlive(String group, String name) {
        Result r = resource(group, name).looksAlive();
        ResourceSpec rs = def(group).resources().get(name);
        if (r instanceof Result.RetryLater && rs.type() == ResourceSpec.Type.VM && !factory.processes().qemuAlive(rs.domain())) {
            return new Result.Failed("libvirtd does not answer (" + r.detail() + ") and the QEMU it recorded for "
                    + rs.domain() + " is gone");
        }
        return r;
    }

    /**
     * A Terminate is never assumed. After {@link #terminate}: if it failed, escalate — SIGKILL the
     * QEMU libvirt recorded for each VM, terminate the scripts again — then say whether the group
     * is proven off on this node ({@link #proveOff}). Ok only with that proof.
     */
    public Result terminateProven(String group) {
        Result first = terminate(group);
        if (first.ok()) {
            Result proof = proveOff(group);
            if (proof.ok()) {
                return first;
            }
        }
        List<String> done = new ArrayList<>();
        GroupSpec g = def(group);
        for (String r : Dependencies.offlineOrder(g)) {
            ResourceSpec rs = g.resources().get(r);
            if (rs.type() == ResourceSpec.Type.VM) {
                if (factory.processes().killQemu(rs.domain())) {
                    done.add("killed the QEMU of " + rs.domain() + " by its pid");
                }
            } else if (rs.type() == ResourceSpec.Type.SCRIPT) {
                step(group, r, "terminate", resource(group, r).terminate());
            }
        }
        Result proof = proveOff(group);
        String why = (first.ok() ? "" : first.detail() + "; ") + (done.isEmpty() ? "" : String.join(", ", done) + "; ");
        log.accept(node + " terminate " + group + ": escalated: " + why + proof.word() + ": " + proof.detail());
        return proof.ok() ? new Result.Ok(why + proof.detail()) : new Result.Failed(why + proof.detail());
    }

    /**
     * Whether group {@code group} is proven off on this node: each VM's domain is off per libvirt,
     * or — libvirtd not answering — no QEMU libvirt recorded for it is alive; each script's
     * monitor says it is stopped. Disks hold no process.
     */
    public Result proveOff(String group) {
        return proveOff(group, true);
    }

    private Result proveOff(String group, boolean scripts) {
        GroupSpec g = def(group);
        List<String> running = new ArrayList<>();
        List<String> how = new ArrayList<>();
        for (ResourceSpec r : g.resources().values()) {
            switch (r.type()) {
                case VM -> {
                    String d = r.domain();
                    try {
                        if (local().state(d).map(st -> st.active()).orElse(false)) {
                            running.add(d + " is still active per libvirt");
                        }
                    } catch (HypervisorException e) {
                        if (factory.processes().qemuAlive(d)) {
                            running.add(d + ": libvirtd does not answer (" + e.getMessage()
                                    + ") and the QEMU it recorded still lives");
                        } else {
                            how.add(d + ": libvirtd does not answer, and no QEMU it recorded lives");
                        }
                    }
                }
                case SCRIPT -> {
                    if (!scripts) {
                        continue;
                    }
                    // only a precise "not running" proves it stopped; a monitor that errs knows nothing
                    Result m = resource(group, r.name()).looksAlive();
                    if (!(m instanceof Result.NotRunning)) {
                        running.add(r.name() + ": its monitor says " + m.word() + (m.detail().isEmpty() ? ""
                                : " (" + m.detail() + ")"));
                    }
                }
                default -> { }
            }
        }
        if (!running.isEmpty()) {
            return new Result.Failed("not proven off on " + node + ": " + String.join("; ", running));
        }
        return new Result.Ok("proven off on " + node + (how.isEmpty() ? "" : " (" + String.join("; ", how) + ")"));
    }

    /**
     * Self-fence: stop every HA group this node may run — every configured VM's QEMU killed by pid
     * (no libvirt needed), then libvirt's destroy for what is left, and the scripts of the groups
     * in {@code scriptGroups} (those last known on this node) by their forced stop. True when
     * everything is proven off.
     */
    public SelfFence stopEverything(java.util.Collection<String> scriptGroups) {
        List<String> killed = killAll();
        List<String> off = turnOffAll();
        off.removeAll(killed);
        List<String> scripts = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (String group : new TreeSet<>(scriptGroups)) {
            GroupSpec g = def(group);
            if (g == null) {
                continue;
            }
            for (String r : Dependencies.offlineOrder(g)) {
                if (g.resources().get(r).type() == ResourceSpec.Type.SCRIPT) {
                    Result res = step(group, r, "terminate", resource(group, r).terminate());
                    if (res.ok()) {
                        scripts.add(group + "/" + r);
                    } else {
                        problems.add(group + "/" + r + ": " + res.detail());
                    }
                }
            }
        }
        for (GroupSpec g : spec.groups().values()) {
            Result p = proveOff(g.name(), false);
            if (!p.ok()) {
                problems.add(p.detail());
            }
        }
        return new SelfFence(killed, off, scripts, problems);
    }

    /** What a self-fence did: VMs killed by pid, turned off by libvirt, scripts stopped, and what is not proven off. */
    public record SelfFence(List<String> killed, List<String> turnedOff, List<String> scripts, List<String> problems) {
        public boolean proven() {
            return problems.isEmpty();
        }

        public String describe() {
            List<String> parts = new ArrayList<>();
            if (!killed.isEmpty()) {
                parts.add("killed " + String.join(", ", killed));
            }
            if (!turnedOff.isEmpty()) {
                parts.add("turned off " + String.join(", ", turnedOff));
            }
            if (!scripts.isEmpty()) {
                parts.add("stopped " + String.join(", ", scripts));
            }
            if (parts.isEmpty()) {
                parts.add("nothing ran");
            }
            if (!problems.isEmpty()) {
                parts.add("NOT PROVEN: " + String.join("; ", problems));
            }
            return String.join("; ", parts);
        }
    }

    /** Restart one resource in place: its dependents go down first and come back after it. */
    public Result restart(String group, String resource) {
        GroupSpec g = def(group);
        List<String> down = new ArrayList<>(Dependencies.dependents(g, resource));
        java.util.Collections.reverse(down);
        down.add(resource);
        for (String r : down) {
            step(group, r, "terminate", resource(group, r).terminate());
        }
        for (int i = down.size() - 1; i >= 0; i--) {
            Result res = step(group, down.get(i), "online", resource(group, down.get(i)).online());
            if (!res.ok() && !(res instanceof Result.AlreadyRunning)) {
                return new Result.Failed(down.get(i) + ": " + res.detail());
            }
        }
        return new Result.Ok(resource + " restarted");
    }

    /**
     * The source's half of a move, top-down: the group's VMs move (live, quick or offline) and its
     * other resources (scripts, disks) stop here, each in its turn, so what a VM needs stops only
     * after the VM has left. The coordinator then has the target bring the rest online there. A
     * resource that will not stop is terminated; one that cannot be terminated either fails the
     * move, since it would then run on both nodes. A failed move is undone here, last step first:
     * what was stopped comes online again, and VMs that already left come back (or, if they cannot,
     * are destroyed on the target rather than run twice).
     */
    public Mover.Report move(String group, String to, MoveMode mode) {
        MoveProgress.Sink sink = progress;
        io.havm.port.Scheduler watchers = progressScheduler;
        if (sink == MoveProgress.Sink.NONE || watchers == null || mode != MoveMode.LIVE) {
            return move(group, to, mode, null, null);
        }
        // After ended() nothing more reaches the sink: a watcher that read one last figure while
        // the move ended must not publish it again after its removal.
        boolean[] over = {false};
        Object lock = new Object();
        Watch watch = new Watch() {
            @Override
            public java.util.function.Consumer<io.havm.port.MigrationProgress> progress(VmProperties vm) {
                return p -> {
                    synchronized (lock) {
                        if (!over[0]) {
                            sink.update(MoveProgress.of(group, vm.domain(), mode, node, to, p, clock.now()));
                        }
                    }
                };
            }

            @Override
            public void arrived(VmProperties vm, Hypervisor target) {
                java.util.Optional<io.havm.port.MigrationProgress> done;
                try {
                    done = target.completedJob(vm.domain());
                } catch (HypervisorException e) {
                    return; // the figures are a report, never part of the move
                }
                done.ifPresent(p -> sink.completed(MoveProgress.of(group, vm.domain(), mode, node, to, p,
                        clock.now())));
            }
        };
        try {
            return move(group, to, mode, new Mover(clock, factory.migrationOptions(def(group)), factory, watchers,
                    progressEvery), watch);
        } finally {
            synchronized (lock) {
                over[0] = true;
                sink.ended(group);
            }
        }
    }

    /** What a move with a progress sink does beside the move: its VMs' progress, and each arrival. */
    private interface Watch {
        java.util.function.Consumer<io.havm.port.MigrationProgress> progress(VmProperties vm);

        void arrived(VmProperties vm, Hypervisor target);
    }

    private Mover.Report move(String group, String to, MoveMode mode, Mover withProgress, Watch watch) {
        GroupSpec g = def(group);
        Hypervisor target = hypervisors.get(to);
        Mover mover = withProgress != null ? withProgress : new Mover(clock, factory.migrationOptions(g), factory);
        List<java.util.function.Supplier<String>> undo = new ArrayList<>();
        Mover.Report last = null;
        for (String r : Dependencies.offlineOrder(g)) {
            ResourceSpec rs = g.resources().get(r);
            String failure;
            if (rs.type() == ResourceSpec.Type.VM) {
                VmProperties vm = null;
                String unreadable = null;
                try {
                    vm = vmProperties(g, rs);
                } catch (RuntimeException e) {
                    unreadable = e.getMessage(); // its definition cannot be read: it stays here
                }
                if (vm != null) {
                    VmProperties moving = vm;
                    last = mover.move(mode, moving, local(), target, watch == null ? null : watch.progress(moving));
                    if (last.ok()) {
                        if (watch != null) {
                            watch.arrived(moving, target);
                        }
                        undo.add(() -> comeBack(mover, mode, moving, target));
                        continue;
                    }
                    failure = last.detail();
                } else {
                    last = null;
                    failure = r + " cannot move: " + unreadable;
                }
            } else {
                Result res = step(group, r, "offline", resource(group, r).offline());
                if (!res.ok()) {
                    res = step(group, r, "terminate", resource(group, r).terminate());
                }
                if (res.ok()) {
                    undo.add(() -> backOnline(group, r));
                    continue;
                }
                failure = r + " could not be stopped on " + node + ": " + res.detail();
            }
            StringBuilder detail = new StringBuilder(failure);
            for (int i = undo.size() - 1; i >= 0; i--) {
                detail.append("; ").append(undo.get(i).get());
            }
            return last != null && !last.ok()
                    ? new Mover.Report(last.mode(), last.domain(), last.from(), last.to(), false, last.took(),
                            detail.toString())
                    : new Mover.Report(mode, group, node, to, false, java.time.Duration.ZERO, detail.toString());
        }
        return last != null ? last : new Mover.Report(mode, group, node, to, true, java.time.Duration.ZERO,
                "no VM to move");
    }

    /** Undoes a VM's part of a failed move: back here, or off on the target if it cannot come. */
    private String comeBack(Mover mover, MoveMode mode, VmProperties vm, Hypervisor target) {
        Mover.Report r = mover.move(mode, vm, target, local(), null);
        if (r.ok()) {
            return vm.domain() + " moved back to " + node;
        }
        try {
            target.destroy(vm.domain());
            return vm.domain() + " could not move back (" + r.detail() + "): destroyed on " + target.host()
                    + " so that it does not run twice";
        } catch (HypervisorException e) {
            return vm.domain() + " could not move back (" + r.detail() + ") nor be destroyed on " + target.host()
                    + ": " + e.getMessage();
        }
    }

    /** Undoes a resource's part of a failed move: online here again. */
    private String backOnline(String group, String r) {
        Result res = step(group, r, "online", resource(group, r).online());
        return res.ok() || res instanceof Result.AlreadyRunning ? r + " online again on " + node
                : r + " could not come online again on " + node + ": " + res.detail();
    }


    /**
     * Groups with a VM active, or a script not proven stopped, on this node (what the agent reports
     * when it joins and after each command): a group is reported stopped here only on proof.
     */
    public TreeSet<String> running() {
        TreeSet<String> out = new TreeSet<>();
        for (GroupSpec g : spec.groups().values()) {
            if (runsHere(g.name())) {
                out.add(g.name());
            }
        }
        return out;
    }

    public boolean runsHere(String group) {
        for (ResourceSpec r : def(group).resources().values()) {
            if (r.type() == ResourceSpec.Type.SCRIPT) {
                // a script left running by an unproven Terminate must not let its group start elsewhere
                if (!(resource(group, r.name()).looksAlive() instanceof Result.NotRunning)) {
                    return true;
                }
                continue;
            }
            if (r.type() != ResourceSpec.Type.VM) {
                continue;
            }
            try {
                if (local().state(r.domain()).map(s -> s.active()).orElse(false)) {
                    return true;
                }
            } catch (HypervisorException e) {
                // libvirtd does not answer: never report "stopped" without proof; the QEMU libvirt
                // recorded is (a rejoining node's report decides whether the group starts elsewhere).
                if (factory.processes().qemuAlive(r.domain())) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The first, libvirt-free half of a self-fence: SIGKILL the QEMU of every HA domain running here.
     * A cut-off host may not even reach its own libvirtd in time; this needs only the pid files.
     */
    public List<String> killAll() {
        List<String> killed = new ArrayList<>();
        for (GroupSpec g : spec.groups().values()) {
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() == ResourceSpec.Type.VM && factory.processes().killQemu(r.domain())) {
                    killed.add(r.domain());
                }
            }
        }
        return killed;
    }

    public List<String> turnOffAll() {
        List<String> off = new ArrayList<>();
        for (GroupSpec g : spec.groups().values()) {
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() != ResourceSpec.Type.VM) {
                    continue;
                }
                String d = r.domain();
                boolean killed = factory.processes().killQemu(d);
                try {
                    boolean active = local().state(d).map(s -> s.active()).orElse(false);
                    if (active) {
                        local().destroy(d);
                    }
                    if (active || killed) {
                        off.add(d);
                    }
                } catch (HypervisorException e) {
                    // libvirtd unreachable: the kill above is all this node can do; the lease still protects the disk
                    if (killed) {
                        off.add(d);
                    }
                }
            }
        }
        return off;
    }
}
