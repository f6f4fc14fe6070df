package io.havm.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.PointerType;
import io.havm.util.DomXml;
import java.lang.reflect.Field;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.libvirt.Connect;
import org.libvirt.LibvirtException;
import org.libvirt.StoragePool;
import org.libvirt.StorageVol;
import org.w3c.dom.Element;

/**
 * Read-only questions to a remote host's libvirt that the {@code Hypervisor} port does not ask,
 * for {@code havm validate}: run them through {@link LibvirtHypervisor#query}.
 *
 * <p>libvirt-java 0.5.4 lacks virConnectGetDomainCapabilities, virConnectCompareHypervisorCPU and
 * virConnectBaselineHypervisorCPU (the host-CPU-only compareCPU/baselineCPU ignore what QEMU and the
 * machine type can give a guest): they are bound here with JNA, as {@link DomainStateBinding} binds
 * virDomainGetState.
 *
 * <p>What a host sees is asked through libvirt's own APIs, measured on the lab (libvirt 9.0, no
 * netcf, hosts in their own network and mount namespaces):
 * <ul>
 *   <li>a bridge: virInterfaceLookupByName (the udev backend reads the host's live sysfs, also for a
 *       bridge made a moment ago); node devices ({@code net_*}) do not show bridges made after
 *       libvirtd started, so they are not used;</li>
 *   <li>a file: a storage volume of a dir pool on its directory (an existing pool with that target,
 *       else a transient one, destroyed after): its size and ctime tell one shared file from copies;</li>
 *   <li>the host's clock: the mtime of a 0-byte volume created in such a pool, against this
 *       machine's clock around the call (libvirt has no call that returns the host's time).</li>
 * </ul>
 */
public final class HostQueries {
    interface Virt extends com.sun.jna.Library {
        Pointer virConnectGetDomainCapabilities(Pointer conn, String emulator, String arch, String machine,
                String virttype, int flags);

        int virConnectCompareHypervisorCPU(Pointer conn, String emulator, String arch, String machine,
                String virttype, String xmlCPU, int flags);

        Pointer virConnectBaselineHypervisorCPU(Pointer conn, String emulator, String arch, String machine,
                String virttype, String[] xmlCPUs, int ncpus, int flags);

        String virGetLastErrorMessage();
    }

    private static final Virt VIRT = Native.load("virt", Virt.class);
    private static final Field CONNECT_POINTER;
    /** VIR_CONNECT_BASELINE_CPU_MIGRATABLE: only features a migratable guest may use. */
    private static final int BASELINE_MIGRATABLE = 2;

    static {
        try {
            CONNECT_POINTER = Connect.class.getDeclaredField("vcp");
            CONNECT_POINTER.setAccessible(true);
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError("libvirt-java changed: org.libvirt.Connect has no field 'vcp'");
        }
    }

    private HostQueries() {}

    /** libvirt's answer to a question it refused (e.g. "the machine 'x' is not supported by emulator …"). */
    public static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    private static Pointer pointer(Connect c) {
        try {
            return ((PointerType) CONNECT_POINTER.get(c)).getPointer();
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String take(Pointer p, String what) {
        if (p == null) {
            String why = VIRT.virGetLastErrorMessage();
            throw new Refused(what + ": " + (why == null ? "libvirt gave no reason" : why));
        }
        try {
            return p.getString(0, "UTF-8");
        } finally {
            Native.free(Pointer.nativeValue(p));
        }
    }

    /** The domain capabilities XML for a guest of this arch, machine type and virt type (kvm, qemu). */
    public static String domainCapabilities(Connect c, String arch, String machine, String virttype) {
        return take(VIRT.virConnectGetDomainCapabilities(pointer(c), null, arch, machine, virttype, 0),
                "domain capabilities " + arch + "/" + machine + "/" + virttype);
    }

    /**
     * virConnectCompareHypervisorCPU: 0 incompatible, 1 identical, 2 the host's hypervisor CPU is a
     * superset of {@code cpuXml} (a {@code <cpu>} element).
     */
    public static int compareHypervisorCpu(Connect c, String arch, String machine, String virttype, String cpuXml) {
        int r = VIRT.virConnectCompareHypervisorCPU(pointer(c), null, arch, machine, virttype, cpuXml, 0);
        if (r < 0) {
            String why = VIRT.virGetLastErrorMessage();
            throw new Refused("compare CPU: " + (why == null ? "libvirt gave no reason" : why));
        }
        return r;
    }

    /** virConnectBaselineHypervisorCPU, migratable only: the CPU every one of {@code cpus} can give a guest. */
    public static String baselineHypervisorCpu(Connect c, String arch, String machine, String virttype,
            List<String> cpus) {
        return take(VIRT.virConnectBaselineHypervisorCPU(pointer(c), null, arch, machine, virttype,
                cpus.toArray(String[]::new), cpus.size(), BASELINE_MIGRATABLE), "baseline CPU");
    }

    /** The type of the host interface {@code name} (bridge, ethernet, bond, vlan …); empty when the host has none. */
    public static Optional<String> interfaceType(Connect c, String name) throws LibvirtException {
        Optional<org.libvirt.Interface> found = lookup(() -> c.interfaceLookupByName(name),
                org.libvirt.Error.ErrorNumber.VIR_ERR_NO_INTERFACE);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(DomXml.parse(found.get().getXMLDescription(0)).getDocumentElement().getAttribute("type"));
        } finally {
            found.get().free();
        }
    }

    /** A file as a host sees it: its size and ctime (seconds.nanoseconds as libvirt writes it). */
    public record FileSeen(long capacity, String ctime) {}

    /** Work inside a dir pool on one directory of the host. */
    @FunctionalInterface
    public interface InPool<T> {
        T run(StoragePool pool) throws LibvirtException;
    }

    /**
     * Runs {@code work} on a dir pool whose target is {@code dir} on the host: an active pool that
     * has it already, else a transient one made for the call and destroyed after. Empty when the
     * host has no such directory.
     */
    public static <T> Optional<T> inDirPool(Connect c, String dir, InPool<T> work) throws LibvirtException {
        for (String name : c.listStoragePools()) {
            StoragePool p = c.storagePoolLookupByName(name);
            try {
                Element root = DomXml.parse(p.getXMLDesc(0)).getDocumentElement();
                Element target = DomXml.child(root, "target");
                Element path = target == null ? null : DomXml.child(target, "path");
                if ("dir".equals(root.getAttribute("type")) && path != null
                        && stripSlash(path.getTextContent().strip()).equals(stripSlash(dir))) {
                    p.refresh(0);
                    return Optional.of(work.run(p));
                }
            } finally {
                p.free();
            }
        }
        String xml = "<pool type='dir'><name>havm-validate-" + UUID.randomUUID().toString().substring(0, 8)
                + "</name><target><path>" + escape(dir) + "</path></target></pool>";
        StoragePool p;
        try {
            p = c.storagePoolCreateXML(xml, 0);
        } catch (LibvirtException e) {
            String m = e.getMessage() == null ? "" : e.getMessage();
            if (m.contains("No such file") || m.contains("cannot open directory") || m.contains("does not exist")) {
                return Optional.empty();
            }
            throw e;
        }
        try {
            return Optional.of(work.run(p));
        } finally {
            try {
                p.destroy();
            } finally {
                p.free();
            }
        }
    }

    /** How the host sees {@code file}: empty when it has no such file (or no such directory). */
    public static Optional<FileSeen> file(Connect c, java.nio.file.Path file) throws LibvirtException {
        java.nio.file.Path parent = file.toAbsolutePath().getParent();
        Optional<Optional<FileSeen>> r = inDirPool(c, parent.toString(), p -> {
            Optional<StorageVol> found = lookup(() -> p.storageVolLookupByName(file.getFileName().toString()),
                    org.libvirt.Error.ErrorNumber.VIR_ERR_NO_STORAGE_VOL);
            if (found.isEmpty()) {
                return Optional.empty();
            }
            StorageVol v = found.get();
            try {
                Element root = DomXml.parse(v.getXMLDesc(0)).getDocumentElement();
                Element cap = DomXml.child(root, "capacity");
                Element target = DomXml.child(root, "target");
                Element ts = target == null ? null : DomXml.child(target, "timestamps");
                Element ctime = ts == null ? null : DomXml.child(ts, "ctime");
                return Optional.of(new FileSeen(cap == null ? -1 : Long.parseLong(cap.getTextContent().strip()),
                        ctime == null ? "" : ctime.getTextContent().strip()));
            } finally {
                v.free();
            }
        });
        return r.flatMap(x -> x);
    }

    /** The names of the files the host sees in {@code dir}; empty when it has no such directory. */
    public static Optional<List<String>> listDir(Connect c, String dir) throws LibvirtException {
        return inDirPool(c, dir, p -> List.of(p.listVolumes()));
    }

    /**
     * Creates the 0-byte file {@code name} in {@code dir} on the host and returns its mtime in
     * nanoseconds since the epoch (the host's clock when it made it); the file is deleted again.
     * Empty when the host has no such directory.
     */
    public static Optional<long[]> touch(Connect c, String dir, String name) throws LibvirtException {
        return inDirPool(c, dir, p -> {
            long before = System.currentTimeMillis() * 1_000_000L;
            StorageVol v = p.storageVolCreateXML("<volume><name>" + escape(name) + "</name><capacity>0</capacity>"
                    + "<target><format type='raw'/></target></volume>", 0);
            long after = System.currentTimeMillis() * 1_000_000L;
            try {
                Element target = DomXml.child(DomXml.parse(v.getXMLDesc(0)).getDocumentElement(), "target");
                Element ts = target == null ? null : DomXml.child(target, "timestamps");
                Element mtime = ts == null ? null : DomXml.child(ts, "mtime");
                long host = mtime == null ? -1 : nanos(mtime.getTextContent().strip());
                return new long[] {before, after, host};
            } finally {
                try {
                    v.delete(0);
                } finally {
                    v.free();
                }
            }
        });
    }

    /** Creates the 0-byte file {@code name} in {@code dir} on the host and leaves it; false without such a directory. */
    public static boolean create(Connect c, String dir, String name) throws LibvirtException {
        return inDirPool(c, dir, p -> {
            p.storageVolCreateXML("<volume><name>" + escape(name) + "</name><capacity>0</capacity>"
                    + "<target><format type='raw'/></target></volume>", 0).free();
            return true;
        }).orElse(false);
    }

    /** Deletes the file {@code name} in {@code dir} on the host, if it is there. */
    public static void delete(Connect c, String dir, String name) throws LibvirtException {
        inDirPool(c, dir, p -> {
            for (String v : p.listVolumes()) {
                if (v.equals(name)) {
                    StorageVol vol = p.storageVolLookupByName(name);
                    try {
                        vol.delete(0);
                    } finally {
                        vol.free();
                    }
                }
            }
            return null;
        });
    }

    /** A libvirt lookup by name. */
    @FunctionalInterface
    interface Lookup<T> {
        T run() throws LibvirtException;
    }

    /** The object {@code lookup} finds, or empty when libvirt answers {@code absent} (no such network, volume …). */
    static <T> Optional<T> lookup(Lookup<T> lookup, org.libvirt.Error.ErrorNumber absent) throws LibvirtException {
        try {
            return Optional.of(lookup.run());
        } catch (LibvirtException e) {
            if (e.getError() != null && e.getError().getCode() == absent) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** "1796637111.489336863" as nanoseconds. */
    static long nanos(String seconds) {
        int dot = seconds.indexOf('.');
        if (dot < 0) {
            return Long.parseLong(seconds) * 1_000_000_000L;
        }
        String frac = (seconds.substring(dot + 1) + "000000000").substring(0, 9);
        return Long.parseLong(seconds.substring(0, dot)) * 1_000_000_000L + Long.parseLong(frac);
    }

    private static String stripSlash(String p) {
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;");
    }
}
