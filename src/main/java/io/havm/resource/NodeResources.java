package io.havm.resource;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.ResourceSpec;
import io.havm.model.StorageSpec;
import io.havm.port.Clock;
import io.havm.port.Hypervisor;
import io.havm.port.MigrationOptions;
import io.havm.port.Processes;
import io.havm.port.Resource;
import io.havm.port.Resources;
import io.havm.port.Storage;
import io.havm.port.VmProperties;
import io.havm.storage.DomainDisks;
import io.havm.storage.HostStorage;
import io.havm.util.HostProcesses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The resources of one node, made from the configuration on the ports it is given: libvirt, the
 * host's processes and storage on hosts ({@link #onHost}); simulated ones in the simulator. The
 * same classes ({@link VmResource}, {@link DiskResource}, {@link ScriptResource}) run in both.
 *
 * <p>Resource properties: a VM has {@code domain} (default: the resource name), {@code definition}
 * (a domain XML file on shared storage) and {@code stateDir} (save files; default
 * /var/lib/havm/save); a disk names its {@code disk} under storage.disks; a script has {@code agent}
 * (ocf:provider:type) or {@code script} (a path), its other properties become its parameters.
 */
public final class NodeResources implements Resources {
    private volatile ClusterSpec spec;
    private final String node;
    private final Hypervisor local;
    private final Clock clock;
    private final Storage storage;
    private final Processes processes;

    public NodeResources(ClusterSpec spec, String node, Hypervisor local, Clock clock, Storage storage,
            Processes processes) {
        this.spec = spec;
        this.node = node;
        this.local = local;
        this.clock = clock;
        this.storage = storage;
        this.processes = processes;
    }

    @Override
    public void reconfigure(ClusterSpec known) {
        this.spec = known;
    }

    /** On a host: the host's storage and processes. */
    public static NodeResources onHost(ClusterSpec spec, String node, Hypervisor local, Clock clock) {
        return new NodeResources(spec, node, local, clock, HostStorage.INSTANCE, HostProcesses.INSTANCE);
    }

    /**
     * For moving VMs named by VM files rather than a cluster's groups (the {@code havm vm}
     * commands): VM entry points on any host, the host's storage and processes; no groups.
     */
    public static NodeResources vmsOnHost(Clock clock) {
        return new NodeResources(null, null, null, clock, HostStorage.INSTANCE, HostProcesses.INSTANCE);
    }

    @Override
    public Resource create(GroupSpec g, ResourceSpec r) {
        if (r.type() == ResourceSpec.Type.VM) {
            try {
                return new VmResource(vm(g, r), local, clock, storage);
            } catch (RuntimeException e) {
                return new Unstartable(new VmResource(properties(r, null), local, clock, storage),
                        node + ": " + e.getMessage());
            }
        }
        if (r.type() == ResourceSpec.Type.DISK) {
            String d = r.properties().get(ResourceSpec.DISK);
            StorageSpec.Disk disk = spec.storage().disk(d).orElseThrow(() ->
                    new IllegalArgumentException("resource " + r.name() + ": unknown disk '" + d + "'"));
            return new DiskResource(storage, node, spec.storage(), disk, r.pendingTimeout());
        }
        Map<String, String> params = new TreeMap<>(r.properties());
        String agent = params.remove("agent");
        String script = params.remove("script");
        if (agent != null) {
            return ScriptResource.ocf(processes, r.name(), agent, params, r.pendingTimeout());
        }
        if (script == null) {
            throw new IllegalArgumentException("resource " + r.name() + ": a script needs property agent or script");
        }
        return new ScriptResource(processes, r.name(), Path.of(script), ScriptResource.Dialect.GENERIC, params,
                r.pendingTimeout(), r.pendingTimeout(), ScriptResource.DEFAULT_OCF_ROOT);
    }

    /**
     * A VM resource of group {@code g}: domain, definition (read from the {@code definition} file;
     * when the VM lists disk resources, its disks are replaced by theirs, see {@link DomainDisks}),
     * stateDir, offline action and timeouts.
     */
    @Override
    public VmProperties vm(GroupSpec g, ResourceSpec r) {
        String xml = null;
        String def = r.properties().get("definition");
        if (def != null) {
            try {
                xml = storage.read(Path.of(def));
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
        return properties(r, xml);
    }

    /** A VM's properties with definition {@code xml} (null: none): domain, save directory, offline action, timeouts. */
    private static VmProperties properties(ResourceSpec r, String xml) {
        Path stateDir = Path.of(r.properties().getOrDefault("stateDir", "/var/lib/havm/save"));
        return VmProperties.defaults(r.domain(), xml, stateDir).withOfflineAction(r.offlineAction())
                .withTimeouts(r.pendingTimeout(), r.pendingTimeout());
    }

    @Override
    public Resource vmOn(VmProperties vm, Hypervisor on) {
        return new VmResource(vm, on, clock, storage);
    }

    /**
     * Live-migration options of a group: VIR_MIGRATE_UNSAFE when a resource says
     * {@code unsafeSharedStorage: true}, or when a VM has a file disk on a shared-dir pool that
     * libvirt does not recognise as shared (libvirt refuses to migrate such a disk without it;
     * iSCSI network disks never need it); VIR_MIGRATE_TLS when the cluster says
     * {@code migration: {tls: true}}.
     */
    @Override
    public MigrationOptions migrationOptions(GroupSpec g) {
        boolean unsafe = Boolean.parseBoolean(g.resources().values().stream()
                .map(r -> r.properties().get("unsafeSharedStorage")).filter(java.util.Objects::nonNull).findFirst()
                .orElse("false"));
        for (ResourceSpec r : g.resources().values()) {
            if (r.type() == ResourceSpec.Type.VM && !r.disks().isEmpty()
                    && DomainDisks.needsUnsafeMigration(spec.storage(), disksOf(g, r))) {
                unsafe = true;
            }
        }
        return new MigrationOptions(unsafe, 0, 0, spec.migrationTls());
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
     * A VM whose definition cannot be read or rewritten here (a hung or broken shared file system,
     * a bad definition): it cannot start, but what runs of it is still watched and stopped by its
     * domain name, so a Terminate never fails for want of a definition.
     */
    private record Unstartable(Resource byName, String why) implements Resource {
        @Override
        public String name() {
            return byName.name();
        }

        @Override
        public io.havm.model.Result open() {
            return new io.havm.model.Result.Failed(why);
        }

        @Override
        public io.havm.model.Result online() {
            return new io.havm.model.Result.Failed(why);
        }

        @Override
        public io.havm.model.Result looksAlive() {
            return byName.looksAlive();
        }

        @Override
        public io.havm.model.Result isAlive() {
            return byName.isAlive();
        }

        @Override
        public io.havm.model.Result offline() {
            return byName.offline();
        }

        @Override
        public io.havm.model.Result terminate() {
            return byName.terminate();
        }

        @Override
        public io.havm.model.Result close() {
            return byName.close();
        }
    }

    @Override
    public Storage storage() {
        return storage;
    }

    @Override
    public Processes processes() {
        return processes;
    }
}
