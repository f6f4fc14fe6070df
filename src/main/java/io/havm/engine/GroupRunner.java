package io.havm.engine;

import io.havm.engine.port.Clock;
import io.havm.engine.port.Hypervisor;
import io.havm.engine.port.HypervisorException;
import io.havm.engine.port.MigrationOptions;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.MoveMode;
import io.havm.model.ResourceSpec;
import io.havm.model.Result;
import io.havm.model.StorageSpec;
import io.havm.policy.Dependencies;
import io.havm.resource.DiskResource;
import io.havm.resource.Resource;
import io.havm.resource.ScriptResource;
import io.havm.resource.VmProperties;
import io.havm.resource.VmResource;
import io.havm.storage.DomainDisks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Runs a group's resources on this node through their entry points, in dependency order:
 * online bottom-up, offline and terminate top-down. A failed Online terminates what it had
 * started, so a failed attempt leaves nothing running.
 *
 * <p>Resource properties: a VM has {@code domain} (default: the resource name), {@code definition}
 * (a domain XML file on shared storage) and {@code stateDir} (save files; default
 * /var/lib/havm/save); a script has {@code agent} (ocf:provider:type) or {@code script} (a path),
 * its other properties become its parameters.
 */
public final class GroupRunner {
    private final ClusterSpec spec;
    private final String node;
    private final Map<String, Hypervisor> hypervisors;
    private final Clock clock;
    private final Map<String, Resource> resources = new HashMap<>();
    private final QemuKiller killer;
    private java.util.function.Consumer<String> log = line -> { };

    /**
     * Kills a domain's QEMU process on this host without libvirt; true if one was killed. On hosts
     * by the pid libvirt recorded; the simulator kills its simulated domain.
     */
    public interface QemuKiller {
        boolean kill(String domain);

        /**
         * Whether a QEMU libvirt recorded for the domain still lives here (no libvirt involved): the
         * proof a Terminate needs when libvirtd does not answer. The default suits killers of
         * tests whose fake libvirt always answers, where it is never asked.
         */
        default boolean alive(String domain) {
            return false;
        }
    }

    /** The host's killer: by the pid libvirt recorded. */
    private static final QemuKiller BY_PID = new QemuKiller() {
        @Override
        public boolean kill(String domain) {
            return killQemu(domain);
        }

        @Override
        public boolean alive(String domain) {
            return recordedQemu(domain).isPresent();
        }
    };

    public GroupRunner(ClusterSpec spec, String node, Map<String, Hypervisor> hypervisors, Clock clock) {
        this(spec, node, hypervisors, clock, BY_PID);
    }

    public GroupRunner(ClusterSpec spec, String node, Map<String, Hypervisor> hypervisors, Clock clock,
            QemuKiller killer) {
        this.spec = spec;
        this.node = node;
        this.hypervisors = hypervisors;
        this.clock = clock;
        this.killer = killer;
    }

    Hypervisor local() {
        return hypervisors.get(node);
    }

    /** The resource object for this node (kept, so IsAlive remembers whether the guest ever answered). */
    Resource resource(String group, String name) {
        GroupSpec g = spec.groups().get(group);
        return resources.computeIfAbsent(group + "/" + name, k -> create(g, g.resources().get(name), local()));
    }

    private Resource create(GroupSpec g, ResourceSpec r, Hypervisor hv) {
        if (r.type() == ResourceSpec.Type.VM) {
            return new VmResource(vmProperties(g, r), hv, clock);
        }
        if (r.type() == ResourceSpec.Type.DISK) {
            String d = r.properties().get(ResourceSpec.DISK);
            StorageSpec.Disk disk = spec.storage().disk(d).orElseThrow(() ->
                    new IllegalArgumentException("resource " + r.name() + ": unknown disk '" + d + "'"));
            return new DiskResource(node, spec.storage(), disk, r.pendingTimeout());
        }
        Map<String, String> params = new TreeMap<>(r.properties());
        String agent = params.remove("agent");
        String script = params.remove("script");
        if (agent != null) {
            return ScriptResource.ocf(r.name(), agent, params, r.pendingTimeout());
        }
        if (script == null) {
            throw new IllegalArgumentException("resource " + r.name() + ": a script needs property agent or script");
        }
        return new ScriptResource(r.name(), Path.of(script), ScriptResource.Dialect.GENERIC, params,
                r.pendingTimeout(), r.pendingTimeout(), ScriptResource.DEFAULT_OCF_ROOT);
    }

    /**
     * A VM resource of group {@code g}: domain, definition (read from the {@code definition} file;
     * when the VM lists disk resources, its disks are replaced by theirs, see {@link DomainDisks}),
     * stateDir, offline action and timeouts.
     */
    VmProperties vmProperties(GroupSpec g, ResourceSpec r) {
        String domain = domainOf(r);
        String xml = null;
        String def = r.properties().get("definition");
        if (def != null) {
            try {
                xml = Files.readString(Path.of(def));
            } catch (IOException e) {
                throw new UncheckedIOException("resource " + r.name() + ": cannot read definition " + def, e);
            }
            if (!r.disks().isEmpty()) {
                try {
                    xml = DomainDisks.rewrite(xml, spec.storage(), disksOf(g, r));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("resource " + r.name() + ": definition " + def + ": "
                            + e.getMessage(), e);
                }
            }
        }
        Path stateDir = Path.of(r.properties().getOrDefault("stateDir", "/var/lib/havm/save"));
        return VmProperties.defaults(domain, xml, stateDir).withOfflineAction(r.offlineAction())
                .withTimeouts(r.pendingTimeout(), r.pendingTimeout());
    }

    /** The storage disks a VM of group {@code g} attaches, in vda, vdb, … order. */
    private List<StorageSpec.Disk> disksOf(GroupSpec g, ResourceSpec vm) {
        List<StorageSpec.Disk> out = new ArrayList<>();
        for (String res : vm.disks()) {
            ResourceSpec dr = g.resources().get(res);
            String name = dr == null ? null : dr.properties().get(ResourceSpec.DISK);
            if (name == null) {
                throw new IllegalArgumentException("resource " + vm.name() + ": '" + res
                        + "' is not a disk resource of group " + g.name());
            }
            out.add(spec.storage().disk(name).orElseThrow(() -> new IllegalArgumentException("resource " + vm.name()
                    + ": disk resource " + res + " names disk '" + name + "', not under storage.disks")));
        }
        return out;
    }

    /**
     * Where each resource's entry point and its result are reported ({@code host1 online web/data:
     * ok}): the agent's log, so the order in which a group's resources came and went is on record.
     */
    public GroupRunner logTo(java.util.function.Consumer<String> sink) {
        this.log = sink;
        return this;
    }

    private Result step(String group, String r, String entry, Result res) {
        log.accept(node + " " + entry + " " + group + "/" + r + ": " + res.word()
                + (res.ok() ? "" : " (" + res.detail() + ")"));
        return res;
    }

    public Result online(String group) {
        List<String> started = new ArrayList<>();
        for (String r : Dependencies.onlineOrder(spec.groups().get(group))) {
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
        for (String r : Dependencies.offlineOrder(spec.groups().get(group))) {
            Result res = step(group, r, "offline", resource(group, r).offline());
            if (!res.ok()) {
                return new Result.Failed(r + ": " + res.word() + ": " + res.detail());
            }
        }
        return new Result.Ok(group + " offline on " + node);
    }

    public Result terminate(String group) {
        List<String> problems = new ArrayList<>();
        for (String r : Dependencies.offlineOrder(spec.groups().get(group))) {
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
        ResourceSpec rs = spec.groups().get(group).resources().get(name);
        if (r instanceof Result.RetryLater && rs.type() == ResourceSpec.Type.VM && !killer.alive(domainOf(rs))) {
            return new Result.Failed("libvirtd does not answer (" + r.detail() + ") and the QEMU it recorded for "
                    + domainOf(rs) + " is gone");
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
        GroupSpec g = spec.groups().get(group);
        for (String r : Dependencies.offlineOrder(g)) {
            ResourceSpec rs = g.resources().get(r);
            if (rs.type() == ResourceSpec.Type.VM) {
                if (killer.kill(domainOf(rs))) {
                    done.add("killed the QEMU of " + domainOf(rs) + " by its pid");
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
        GroupSpec g = spec.groups().get(group);
        List<String> running = new ArrayList<>();
        List<String> how = new ArrayList<>();
        for (ResourceSpec r : g.resources().values()) {
            switch (r.type()) {
                case VM -> {
                    String d = domainOf(r);
                    try {
                        if (local().state(d).map(st -> st.active()).orElse(false)) {
                            running.add(d + " is still active per libvirt");
                        }
                    } catch (HypervisorException e) {
                        if (killer.alive(d)) {
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
                    Result m = resource(group, r.name()).looksAlive();
                    if (m.ok() || m instanceof Result.Timeout || m instanceof Result.RetryLater) {
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
            GroupSpec g = spec.groups().get(group);
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
        GroupSpec g = spec.groups().get(group);
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
     * Live-migration options of a group: VIR_MIGRATE_UNSAFE when a resource says
     * {@code unsafeSharedStorage: true}, or when a VM has a file disk on a shared-dir pool that
     * libvirt does not recognise as shared (libvirt refuses to migrate such a disk without it;
     * iSCSI network disks never need it).
     */
    MigrationOptions migrationOptions(GroupSpec g) {
        boolean unsafe = Boolean.parseBoolean(g.resources().values().stream()
                .map(r -> r.properties().get("unsafeSharedStorage")).filter(java.util.Objects::nonNull).findFirst()
                .orElse("false"));
        for (ResourceSpec r : g.resources().values()) {
            // a file on a shared directory libvirt takes for local: libvirt refuses live migration without it
            if (r.type() == ResourceSpec.Type.VM && !r.disks().isEmpty()
                    && DomainDisks.needsUnsafeMigration(spec.storage(), disksOf(g, r))) {
                unsafe = true;
            }
        }
        return new MigrationOptions(unsafe, 0, 0);
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
        GroupSpec g = spec.groups().get(group);
        Hypervisor target = hypervisors.get(to);
        Mover mover = new Mover(clock, migrationOptions(g));
        List<java.util.function.Supplier<String>> undo = new ArrayList<>();
        Mover.Report last = null;
        for (String r : Dependencies.offlineOrder(g)) {
            ResourceSpec rs = g.resources().get(r);
            String failure;
            if (rs.type() == ResourceSpec.Type.VM) {
                VmProperties vm = vmProperties(g, rs);
                last = mover.move(mode, vm, local(), target, null);
                if (last.ok()) {
                    undo.add(() -> comeBack(mover, mode, vm, target));
                    continue;
                }
                failure = last.detail();
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
     * A VM resource's domain name, from its properties alone: what "does it run here" and the
     * self-fence need, without reading (or parsing) its definition, which a hung or broken shared
     * file system must not be able to stop.
     */
    static String domainOf(ResourceSpec r) {
        return r.properties().getOrDefault("domain", r.name());
    }

    /** Groups with a VM active on this node (what the agent reports when it joins). */
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
        for (ResourceSpec r : spec.groups().get(group).resources().values()) {
            if (r.type() != ResourceSpec.Type.VM) {
                continue;
            }
            try {
                if (local().state(domainOf(r)).map(s -> s.active()).orElse(false)) {
                    return true;
                }
            } catch (HypervisorException e) {
                // libvirtd does not answer: never report "stopped" without proof; the QEMU libvirt
                // recorded is (a rejoining node's report decides whether the group starts elsewhere).
                if (killer.alive(domainOf(r))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Where libvirt's QEMU driver records each running domain's QEMU pid on this host. */
    static final Path QEMU_PID_DIR = Path.of("/run/libvirt/qemu");

    /**
     * Self-fence: turn every HA VM on this node off at once. Returns what was turned off.
     *
     * <p>Why SIGKILL first: libvirt's destroy asks QEMU to stop (SIGTERM) and waits; a TCG guest
     * took 1.4-1.6 s here, longer than a self-fence budget allows, while the survivors' clock
     * runs. Killing QEMU by the pid libvirt recorded stops the guest at once; libvirt's destroy
     * then cleans up (and is what works when the pid file cannot be read).
     */
    /**
     * The first, libvirt-free half of a self-fence: SIGKILL the QEMU of every HA domain running here.
     * A cut-off host may not even reach its own libvirtd in time; this needs only the pid files.
     */
    public List<String> killAll() {
        List<String> killed = new ArrayList<>();
        for (GroupSpec g : spec.groups().values()) {
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() == ResourceSpec.Type.VM && killer.kill(domainOf(r))) {
                    killed.add(domainOf(r));
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
                String d = domainOf(r);
                boolean killed = killer.kill(d);
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

    /** SIGKILL the domain's QEMU if libvirt recorded a live one here; true if it was killed. */
    private static boolean killQemu(String domain) {
        java.util.Optional<ProcessHandle> p = recordedQemu(domain);
        if (p.isEmpty() || !p.get().destroyForcibly()) {
            return false; // libvirt's destroy still turns it off, only slower
        }
        try {
            p.get().onExit().get(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            // still exiting (a kernel holding it in I/O): proveOff asks again
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    /** The live QEMU process libvirt recorded for {@code domain} on this host, if any. */
    private static java.util.Optional<ProcessHandle> recordedQemu(String domain) {
        Path pidFile = QEMU_PID_DIR.resolve(domain + ".pid");
        try {
            if (!Files.isRegularFile(pidFile)) {
                return java.util.Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(p -> p.info().command().map(c -> c.contains("qemu")).orElse(false));
        } catch (IOException | NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }
}
