package io.havm.libvirt;

import io.havm.port.Clock;
import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.HypervisorException.Kind;
import io.havm.port.MigrationOptions;
import io.havm.port.MigrationProgress;
import io.havm.port.VmEvent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainJobStats;
import org.libvirt.LibvirtException;
import org.libvirt.TypedParameter;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.LifecycleListener;
import org.libvirt.event.ConnectionCloseListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Hypervisor port on libvirt-java: one connection per host.
 *
 * <p>Design: the connection is opened lazily and reopened after loss with exponential backoff
 * (a caller inside the backoff window gets HOST_UNREACHABLE at once instead of blocking). Before
 * virConnectOpen we probe the TCP port with a short timeout, because libvirt's remote driver has no
 * connect timeout and a cut-off host would otherwise block a caller for the kernel's SYN timeout.
 * Keepalive makes an established connection to a dead host fail within
 * interval × (count + 1). Lifecycle events and connection loss become {@link VmEvent}s for
 * listeners, delivered on the single libvirt event thread.
 */
public final class LibvirtHypervisor implements Hypervisor {
    private static final Logger LOG = LoggerFactory.getLogger(LibvirtHypervisor.class);
    private static final Duration BACKOFF_MIN = Duration.ofMillis(200);
    private static final Duration BACKOFF_MAX = Duration.ofSeconds(5);

    private final String host;
    private final String uri;
    private final Settings settings;
    private final Clock clock;
    private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();

    private Connect conn;
    private LifecycleListener lifecycle;
    private Duration backoff = Duration.ZERO;
    private Instant nextAttempt = Instant.MIN;
    private String lastConnectError = "";

    /** Keepalive and connect settings. */
    public record Settings(int keepaliveIntervalS, int keepaliveCount, Duration connectTimeout) {
        public static Settings defaults() {
            return new Settings(2, 3, Duration.ofSeconds(2));
        }
    }

    public LibvirtHypervisor(String host, String uri, Settings settings, Clock clock) {
        this.host = host;
        this.uri = uri;
        this.settings = settings;
        this.clock = clock;
        EventLoop.ensureStarted();
    }

    public LibvirtHypervisor(String host, String uri) {
        this(host, uri, Settings.defaults(), Clock.SYSTEM);
    }

    @Override
    public String host() {
        return host;
    }

    @Override
    public String uri() {
        return uri;
    }

    // ---------------------------------------------------------------- connection

    private synchronized Connect conn() {
        try {
            if (conn != null && conn.isAlive()) {
                return conn;
            }
        } catch (LibvirtException e) {
            // fall through: treat as dead and reopen
        }
        dropConnection();
        Instant now = clock.now();
        if (now.isBefore(nextAttempt)) {
            throw new HypervisorException(Kind.HOST_UNREACHABLE, host, "not connected to " + uri + " (last error: "
                    + lastConnectError + "; next attempt in " + Duration.between(now, nextAttempt).toMillis() + " ms)");
        }
        try {
            probeTcp();
            Connect c = new Connect(uri);
            try {
                if (!uri.startsWith("test:")) {
                    // libvirt's in-process test driver (test:///...: simulated hosts, used by
                    // havm bench agent for 50+ VMs) has no keepalive: there is no peer to lose.
                    c.setKeepAlive(settings.keepaliveIntervalS(), settings.keepaliveCount());
                }
                ConnectionCloseListener onClose = (closed, reason) -> onClosed(closed, reason.name().toLowerCase());
                c.registerCloseListener(onClose);
                lifecycle = this::onLifecycle;
                c.addLifecycleListener(lifecycle);
            } catch (LibvirtException e) {
                c.close(); // half-set-up connections are not kept
                throw e;
            }
            conn = c;
            backoff = Duration.ZERO;
            nextAttempt = Instant.MIN;
            emit(new VmEvent.HostConnected(host, clock.now()));
            return c;
        } catch (LibvirtException e) {
            connectFailed(LibvirtErrors.classify(host, "connect " + uri, e).getMessage());
        } catch (IOException e) {
            connectFailed("connect " + uri + ": " + e.getMessage());
        }
        throw new HypervisorException(Kind.HOST_UNREACHABLE, host, lastConnectError);
    }

    private void probeTcp() throws IOException {
        URI u = URI.create(uri);
        if (!u.getScheme().endsWith("+tcp") || u.getHost() == null) {
            return;
        }
        int port = u.getPort() > 0 ? u.getPort() : 16509;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(u.getHost(), port), (int) settings.connectTimeout().toMillis());
        }
    }

    private void connectFailed(String message) {
        lastConnectError = message;
        backoff = backoff.isZero() ? BACKOFF_MIN : min(backoff.multipliedBy(2), BACKOFF_MAX);
        nextAttempt = clock.now().plus(backoff);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private void onClosed(Connect closed, String reason) {
        synchronized (this) {
            if (closed != conn) {
                return;
            }
            // Do not close inside libvirt's callback; the next call reopens.
            conn = null;
        }
        LOG.info("{}: connection to {} closed ({})", host, uri, reason);
        emit(new VmEvent.HostDisconnected(host, clock.now(), reason));
    }

    private void dropConnection() {
        Connect c = conn;
        conn = null;
        if (c == null) {
            return;
        }
        try {
            if (lifecycle != null) {
                c.removeLifecycleListener(lifecycle);
            }
            c.unregisterCloseListener();
        } catch (LibvirtException e) {
            // the connection is already dead; nothing to unregister remotely
        }
        try {
            c.close();
        } catch (LibvirtException e) {
            LOG.debug("{}: close after loss: {}", host, e.getMessage());
        }
    }

    private int onLifecycle(Domain d, DomainEvent e) {
        String name;
        try {
            name = d.getName();
        } catch (LibvirtException ex) {
            name = "?";
        }
        VmEvent.Type type;
        try {
            type = VmEvent.Type.valueOf(e.getType().name());
        } catch (IllegalArgumentException ex) {
            type = VmEvent.Type.UNKNOWN;
        }
        Object detail = e.getDetail();
        String d2 = detail == null ? "unknown" : detail.toString().toLowerCase();
        emit(new VmEvent.Lifecycle(host, clock.now(), name, type, d2));
        return 0;
    }

    private void emit(VmEvent e) {
        for (Consumer<VmEvent> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                LOG.warn("{}: event listener failed on {}: {}", host, e, ex.toString());
            }
        }
    }

    @Override
    public void addListener(Consumer<VmEvent> listener) {
        listeners.add(listener);
    }

    @Override
    public synchronized void close() {
        listeners.clear();
        dropConnection();
    }

    // ---------------------------------------------------------------- calls

    @FunctionalInterface
    private interface Call<T> {
        T run(Connect c) throws LibvirtException;
    }

    @FunctionalInterface
    private interface DomainCall<T> {
        T run(Domain d) throws LibvirtException;
    }

    private <T> T call(String operation, Call<T> call) {
        Connect c = conn();
        try {
            return call.run(c);
        } catch (LibvirtException e) {
            HypervisorException he = LibvirtErrors.classify(host, operation, e);
            if (he.kind() == Kind.HOST_UNREACHABLE) {
                synchronized (this) {
                    if (conn == c) {
                        dropConnection();
                        emit(new VmEvent.HostDisconnected(host, clock.now(), he.getMessage()));
                    }
                }
            }
            throw he;
        }
    }

    /** A read-only query on the host's connection that the port does not cover (see {@link HostQueries}). */
    @FunctionalInterface
    public interface Query<T> {
        T run(Connect c) throws LibvirtException;
    }

    /**
     * Runs {@code query} on this host's connection, with the port's connection handling (reopened
     * after loss; a lost host is HOST_UNREACHABLE): what {@code havm validate} asks a host.
     */
    public <T> T query(String operation, Query<T> query) {
        return call(operation, query::run);
    }

    private <T> T onDomain(String operation, String domain, DomainCall<T> call) {
        return call(operation + " " + domain, c -> {
            Domain d = c.domainLookupByName(domain);
            try {
                return call.run(d);
            } finally {
                d.free();
            }
        });
    }

    @Override
    public void ping() {
        call("ping", Connect::getLibVersion);
    }

    @Override
    public Optional<DomainState> state(String domain) {
        try {
            return Optional.of(onDomain("state", domain, d -> {
                DomainState s = DomainStateBinding.get(d);
                if (s == null) {
                    // virDomainGetState failed: fall back to virDomainGetInfo to surface libvirt's error
                    d.getInfo();
                    throw new HypervisorException(Kind.OTHER, host, "virDomainGetState failed for " + domain);
                }
                return s;
            }));
        } catch (HypervisorException e) {
            if (e.kind() == Kind.NO_DOMAIN) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public List<String> domains() {
        return call("list domains", c -> {
            List<String> names = new ArrayList<>();
            for (Domain d : c.listAllDomains(0)) {
                names.add(d.getName());
                d.free();
            }
            names.sort(null);
            return names;
        });
    }

    @Override
    public String define(String xml) {
        return call("define", c -> {
            Domain d = c.domainDefineXML(xml);
            try {
                return d.getName();
            } finally {
                d.free();
            }
        });
    }

    @Override
    public void undefine(String domain) {
        onDomain("undefine", domain, d -> {
            d.undefine(Domain.UndefineFlags.MANAGED_SAVE);
            return null;
        });
    }

    @Override
    public String xml(String domain, boolean inactive) {
        // 1 = VIR_DOMAIN_XML_SECURE (keep secrets), 2 = VIR_DOMAIN_XML_INACTIVE
        return onDomain("dumpxml", domain, d -> d.getXMLDesc(inactive ? 3 : 1));
    }

    /** Whether the domain is persistent (defined), not transient. */
    public boolean persistent(String domain) {
        return onDomain("isPersistent", domain, d -> d.isPersistent() == 1);
    }

    /** The virtual size in bytes of the domain's disk {@code target} (vda, sda, ...). */
    public long capacity(String domain, String target) {
        return onDomain("blockinfo " + target, domain, d -> d.blockInfo(target).getCapacity());
    }

    /** Whether a libvirt network of that name is active here; empty when none is defined. */
    public Optional<Boolean> networkActive(String network) {
        return call("network " + network, c -> {
            Optional<org.libvirt.Network> found = HostQueries.lookup(() -> c.networkLookupByName(network),
                    org.libvirt.Error.ErrorNumber.VIR_ERR_NO_NETWORK);
            if (found.isEmpty()) {
                return Optional.empty();
            }
            org.libvirt.Network n = found.get();
            try {
                return Optional.of(n.isActive() == 1);
            } finally {
                n.free();
            }
        });
    }

    @Override
    public void start(String domain) {
        onDomain("start", domain, Domain::create);
    }

    @Override
    public void shutdown(String domain, Duration timeout) {
        onDomain("shutdown", domain, d -> {
            d.shutdown();
            return null;
        });
        Instant deadline = clock.now().plus(timeout);
        while (true) {
            Optional<DomainState> s = state(domain);
            if (s.isEmpty() || !s.get().active()) {
                return;
            }
            if (!clock.now().isBefore(deadline)) {
                throw new HypervisorException(Kind.TIMEOUT, host, "shutdown " + domain + ": guest still "
                        + s.get() + " after " + timeout.toSeconds() + " s");
            }
            pause(Duration.ofMillis(200));
        }
    }

    private void pause(Duration d) {
        try {
            clock.pause(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException(Kind.TIMEOUT, host, "interrupted");
        }
    }

    @Override
    public void destroy(String domain) {
        onDomain("destroy", domain, d -> {
            d.destroy();
            return null;
        });
    }

    @Override
    public void save(String domain, Path file) {
        onDomain("save", domain, d -> {
            d.save(file.toString());
            return null;
        });
    }

    @Override
    public void restore(Path file) {
        call("restore " + file, c -> {
            c.restore(file.toString());
            return null;
        });
    }

    @Override
    public void managedSave(String domain) {
        onDomain("managed-save", domain, Domain::managedSave);
    }

    @Override
    public boolean hasManagedSave(String domain) {
        return onDomain("has-managed-save", domain, Domain::hasManagedSaveImage) == 1;
    }

    /** libvirt's VIR_MIGRATE_TLS (1 << 16, libvirt 3.2): the migration stream over QEMU's native TLS. */
    static final long VIR_MIGRATE_TLS = 1L << 16;

    @Override
    public void migrateLive(String domain, Hypervisor target, MigrationOptions options) {
        long flags = Domain.MigrateFlags.LIVE | Domain.MigrateFlags.PEER2PEER | Domain.MigrateFlags.PERSIST_DEST
                | Domain.MigrateFlags.UNDEFINE_SOURCE | Domain.MigrateFlags.ABORT_ON_ERROR;
        if (options.unsafeSharedStorage()) {
            flags |= Domain.MigrateFlags.UNSAFE;
        }
        if (options.tls()) {
            flags |= VIR_MIGRATE_TLS;
        }
        final long f = flags;
        onDomain("migrate " + domain + " to " + target.host(), domain, d -> {
            if (options.maxDowntimeMs() > 0) {
                d.migrateSetMaxDowntime(options.maxDowntimeMs());
            }
            d.migrateToURI(target.uri(), f, null, options.bandwidthMiBs());
            return null;
        });
    }

    @Override
    public Optional<MigrationProgress> jobProgress(String domain) {
        return onDomain("job-stats", domain, d -> {
            DomainJobStats js = d.getJobStats(0);
            if (js == null || js.type == 0) { // VIR_DOMAIN_JOB_NONE
                return Optional.empty();
            }
            return Optional.of(new MigrationProgress(stat(js, "time_elapsed"), stat(js, "data_total"),
                    stat(js, "data_processed"), stat(js, "data_remaining"), stat(js, "memory_total"),
                    stat(js, "memory_processed"), stat(js, "memory_remaining"), stat(js, "downtime")));
        });
    }

    /** libvirt's VIR_DOMAIN_JOB_STATS_COMPLETED: the last completed job's statistics. */
    static final int VIR_DOMAIN_JOB_STATS_COMPLETED = 1;
    /** libvirt's VIR_DOMAIN_JOB_COMPLETED job type. */
    static final int VIR_DOMAIN_JOB_COMPLETED = 3;

    @Override
    public Optional<MigrationProgress> completedJob(String domain) {
        return onDomain("completed-job-stats", domain, d -> {
            DomainJobStats js = d.getJobStats(VIR_DOMAIN_JOB_STATS_COMPLETED);
            if (js == null || js.type != VIR_DOMAIN_JOB_COMPLETED) {
                return Optional.empty();
            }
            return Optional.of(new MigrationProgress(stat(js, "time_elapsed"), stat(js, "data_total"),
                    stat(js, "data_processed"), stat(js, "data_remaining"), stat(js, "memory_total"),
                    stat(js, "memory_processed"), stat(js, "memory_remaining"), stat(js, "downtime")));
        });
    }

    private static long stat(DomainJobStats js, String field) {
        if (js.stats == null) {
            return 0;
        }
        for (TypedParameter p : js.stats) {
            if (field.equals(p.field)) {
                try {
                    return Long.parseLong(p.getValueAsString());
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 0;
    }

    @Override
    public void abortJob(String domain) {
        onDomain("abort-job", domain, Domain::abortJob);
    }

    @Override
    public String agentCommand(String domain, String json, Duration timeout) {
        int seconds = (int) Math.max(1, timeout.toSeconds());
        return onDomain("agent-command", domain, d -> d.qemuAgentCommand(json, seconds, 0));
    }

    @Override
    public String toString() {
        return host + " (" + uri + ")";
    }
}
