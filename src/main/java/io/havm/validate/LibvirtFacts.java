package io.havm.validate;

import io.havm.libvirt.HostQueries;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.ClusterSpec;
import io.havm.port.HypervisorException;
import io.havm.util.DomXml;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.libvirt.Connect;
import org.libvirt.LibvirtException;
import org.w3c.dom.Element;

/**
 * Facts from the hosts' own libvirt, asked remotely over each node's URI.
 *
 * <p>Every host is asked on its own daemon thread, all at once, and the caller waits at most
 * {@code perHost} for each: a host that is powered off fails its TCP probe within 2 s (see
 * {@link LibvirtHypervisor}); one that hangs mid-call is given up at the deadline and reported
 * unreachable, its thread left behind. Writes are limited to 0-byte marker files, created and
 * deleted again through libvirt's storage API (and transient dir pools, destroyed after).
 */
public final class LibvirtFacts implements FactSource {
    /** A local directory every libvirt host has, where the clock's 0-byte probe file is made. */
    static final String CLOCK_DIR = "/var/lib/libvirt/images";

    private final Duration perHost;

    public LibvirtFacts(Duration perHost) {
        this.perHost = perHost;
    }

    private static ExecutorService threads() {
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "havm-validate");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public Gathered gather(List<ClusterSpec.NodeSpec> nodes, Questions q) {
        ExecutorService pool = threads();
        Map<String, LibvirtHypervisor> hv = new LinkedHashMap<>();
        for (ClusterSpec.NodeSpec n : nodes) {
            hv.put(n.name(), new LibvirtHypervisor(n.name(), n.uri()));
        }
        try {
            Map<String, String> writtenBy = writeMarkers(pool, hv, q);
            Map<String, Future<HostFacts>> futures = new LinkedHashMap<>();
            for (var e : hv.entrySet()) {
                futures.put(e.getKey(), pool.submit(() -> ask(e.getKey(), e.getValue(), q)));
            }
            Map<String, HostFacts> hosts = new TreeMap<>();
            long deadline = System.nanoTime() + perHost.toNanos();
            for (var e : futures.entrySet()) {
                hosts.put(e.getKey(), await(e.getKey(), e.getValue(), deadline));
            }
            Probe baseline = baseline(pool, hv, hosts, q);
            deleteMarkers(pool, hv, q, writtenBy);
            return new Gathered(hosts, baseline, writtenBy);
        } finally {
            // Closing a connection to a host that hangs may itself hang: on the daemon threads.
            for (LibvirtHypervisor h : hv.values()) {
                pool.submit(h::close);
            }
            pool.shutdown();
        }
    }

    private HostFacts await(String host, Future<HostFacts> f, long deadline) {
        try {
            return f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            return HostFacts.unreachable(host, "libvirt did not answer within " + perHost.toSeconds() + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            return HostFacts.unreachable(host, e.getCause() instanceof HypervisorException he ? he.getMessage()
                    : String.valueOf(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return HostFacts.unreachable(host, "interrupted");
        }
    }

    /** A bounded call: the value, or empty when it failed or ran out of time. */
    private <T> Optional<T> bounded(ExecutorService pool, Duration limit, java.util.concurrent.Callable<T> work) {
        Future<T> f = pool.submit(work);
        try {
            return Optional.ofNullable(f.get(limit.toMillis(), TimeUnit.MILLISECONDS));
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            f.cancel(true);
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** Each marker written through the first host that can (so the others' answer proves one shared directory). */
    private Map<String, String> writeMarkers(ExecutorService pool, Map<String, LibvirtHypervisor> hv, Questions q) {
        Map<String, String> by = new TreeMap<>();
        for (var m : q.markers().entrySet()) {
            String dir = m.getKey();
            String name = m.getValue().substring(m.getValue().lastIndexOf('/') + 1);
            for (var h : hv.entrySet()) {
                boolean ok = bounded(pool, perHost, () -> h.getValue().query("write marker in " + dir,
                        c -> HostQueries.create(c, dir, name))).orElse(false);
                if (ok) {
                    by.put(dir, h.getKey());
                    break;
                }
            }
        }
        return by;
    }

    private void deleteMarkers(ExecutorService pool, Map<String, LibvirtHypervisor> hv, Questions q,
            Map<String, String> writtenBy) {
        for (var w : writtenBy.entrySet()) {
            String marker = q.markers().get(w.getKey());
            String name = marker.substring(marker.lastIndexOf('/') + 1);
            bounded(pool, perHost, () -> {
                hv.get(w.getValue()).query("delete marker", c -> {
                    HostQueries.delete(c, w.getKey(), name);
                    return null;
                });
                return true;
            });
        }
    }

    private Probe baseline(ExecutorService pool, Map<String, LibvirtHypervisor> hv, Map<String, HostFacts> hosts,
            Questions q) {
        List<String> cpus = new ArrayList<>();
        String on = null;
        for (HostFacts h : hosts.values()) {
            if (h.reachable() && h.hostModelCpu() != null) {
                cpus.add(h.hostModelCpu());
                on = on == null ? h.host() : on;
            }
        }
        if (on == null) {
            return Probe.error("no host reported its host-model CPU");
        }
        Questions.Machine m = q.machines().values().stream().findFirst()
                .orElse(new Questions.Machine("x86_64", null, "kvm"));
        LibvirtHypervisor h = hv.get(on);
        try {
            Optional<String> xml = bounded(pool, perHost, () -> h.query("baseline CPU",
                    c -> HostQueries.baselineHypervisorCpu(c, m.arch(), m.machine(), m.virtType(), cpus)));
            return xml.map(x -> Probe.yes(x.strip())).orElse(Probe.error("baseline CPU: no answer from " + on));
        } catch (RuntimeException e) {
            return Probe.error(e.getMessage());
        }
    }

    /** Every question to one host; runs on its own thread. */
    static HostFacts ask(String host, LibvirtHypervisor hv, Questions q) {
        long[] versions = hv.query("versions", c -> new long[] {c.getLibVersion(), c.getVersion(),
                c.nodeInfo().memory / 1024});
        Map<String, Probe> machines = new TreeMap<>();
        String hostModel = null;
        for (var m : q.machines().entrySet()) {
            Questions.Machine mm = m.getValue();
            try {
                String caps = hv.query("domain capabilities", c -> HostQueries.domainCapabilities(c, mm.arch(),
                        mm.machine(), mm.virtType()));
                Element root = DomXml.parse(caps).getDocumentElement();
                Element machine = DomXml.child(root, "machine");
                machines.put(m.getKey(), Probe.yes(machine == null ? "?" : machine.getTextContent().strip()));
                if (hostModel == null) {
                    hostModel = hostModelCpu(root);
                }
            } catch (HostQueries.Refused e) {
                machines.put(m.getKey(), Probe.no(e.getMessage()));
            }
        }
        Map<String, Probe> cpus = new TreeMap<>();
        for (var e : q.cpus().entrySet()) {
            Questions.Machine mm = e.getValue();
            String xml = q.cpuXml().get(e.getKey());
            try {
                int r = hv.query("compare CPU", c -> HostQueries.compareHypervisorCpu(c, mm.arch(), mm.machine(),
                        mm.virtType(), xml));
                cpus.put(e.getKey(), r == 0 ? Probe.no("incompatible") : Probe.yes(r == 1 ? "identical" : "superset"));
            } catch (HostQueries.Refused ex) {
                cpus.put(e.getKey(), Probe.error(ex.getMessage()));
            }
        }
        Map<String, Probe> interfaces = new TreeMap<>();
        for (String i : q.interfaces()) {
            interfaces.put(i, attempt(() -> hv.query("interface " + i, c -> HostQueries.interfaceType(c, i))
                    .map(Probe::yes).orElse(Probe.no("no interface " + i))));
        }
        Map<String, Probe> networks = new TreeMap<>();
        for (String n : q.networks()) {
            networks.put(n, attempt(() -> hv.networkActive(n).map(a -> a ? Probe.yes("active")
                    : Probe.no("defined but not active")).orElse(Probe.no("no libvirt network " + n))));
        }
        Map<String, Probe> files = new TreeMap<>();
        for (String f : q.files()) {
            files.put(f, attempt(() -> hv.query("file " + f, c -> HostQueries.file(c, java.nio.file.Path.of(f)))
                    .map(s -> Probe.yes("size " + s.capacity() + ", ctime " + s.ctime()))
                    .orElse(Probe.no("not there"))));
        }
        return new HostFacts(host, null, versions[0], versions[1], versions[2], hostModel, machines, cpus, interfaces,
                networks, files, clock(hv));
    }

    private static Probe attempt(java.util.function.Supplier<Probe> s) {
        try {
            return s.get();
        } catch (HypervisorException e) {
            if (e.kind() == HypervisorException.Kind.HOST_UNREACHABLE) {
                throw e;
            }
            return Probe.error(e.getMessage());
        } catch (RuntimeException e) {
            return Probe.error(e.getMessage());
        }
    }

    /** The host's clock: the mtime of a 0-byte file it creates, against this machine's clock around the call. */
    static HostFacts.Clock clock(LibvirtHypervisor hv) {
        String name = ".havm-validate-clock-" + UUID.randomUUID().toString().substring(0, 8);
        try {
            Optional<long[]> t = hv.query("clock", c -> HostQueries.touch(c, CLOCK_DIR, name));
            if (t.isEmpty()) {
                return new HostFacts.Clock(0, 0, "the host has no " + CLOCK_DIR + " to make a probe file in");
            }
            long[] v = t.get();
            if (v[2] < 0) {
                return new HostFacts.Clock(0, 0, "libvirt reported no timestamps for the probe file");
            }
            long mid = (v[0] + v[1]) / 2;
            return new HostFacts.Clock((v[2] - mid) / 1_000_000, Math.max(1, (v[1] - v[0]) / 2_000_000), null);
        } catch (RuntimeException e) {
            return new HostFacts.Clock(0, 0, e.getMessage());
        }
    }

    /** The {@code <mode name='host-model'>} of domain capabilities as a {@code <cpu>} a baseline takes; null without one. */
    static String hostModelCpu(Element domcaps) {
        Element cpu = DomXml.child(domcaps, "cpu");
        if (cpu == null) {
            return null;
        }
        for (Element mode : DomXml.children(cpu, "mode")) {
            if ("host-model".equals(mode.getAttribute("name")) && "yes".equals(mode.getAttribute("supported"))) {
                StringBuilder s = new StringBuilder("<cpu mode='custom' match='exact'>");
                Element model = DomXml.child(mode, "model");
                Element vendor = DomXml.child(mode, "vendor");
                if (model == null) {
                    return null;
                }
                s.append("<model fallback='forbid'>").append(model.getTextContent().strip()).append("</model>");
                if (vendor != null) {
                    s.append("<vendor>").append(vendor.getTextContent().strip()).append("</vendor>");
                }
                for (Element f : DomXml.children(mode, "feature")) {
                    s.append("<feature policy='").append(f.getAttribute("policy")).append("' name='")
                            .append(f.getAttribute("name")).append("'/>");
                }
                return s.append("</cpu>").toString();
            }
        }
        return null;
    }
}
