package io.havm.drill;

import io.havm.port.Clock;
import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * The referee's connections to every host's hypervisor on real hosts (the lab's, or a cluster's
 * own): where libvirt executes a domain, asked of each host directly and bounded in time, and the
 * connections' closing, which never happens under a call still running on them.
 *
 * <p>Each question runs on an executor of its own: a call on a host that just lost power can block
 * until the connection's keepalive gives up, and must stall neither the sampler nor a step. Such a
 * host is left out of that sample. Its call can outlive the sample (it is bounded by waiting, not
 * by cancelling), and libvirt's client crashed the JVM (SIGSEGV in g_main_loop_quit) when the
 * connection was closed under it: a connection's calls hold its lock shared, its closing exclusive.
 */
public final class HostReferee implements AutoCloseable {
    /** How long one sample waits for every host's answer. */
    public static final Duration ASK = Duration.ofSeconds(2);

    private final Clock clock;
    /** Read by the referee's thread while steps change it (a host powered off or back). */
    private final Map<String, Hypervisor> hosts = new ConcurrentSkipListMap<>();
    private final Map<Hypervisor, ReadWriteLock> calls = new ConcurrentHashMap<>();
    private final ExecutorService asker = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "drill-referee-libvirt");
        t.setDaemon(true);
        return t;
    });

    public HostReferee(Clock clock) {
        this.clock = clock;
    }

    /** Asks this host from now on (its connection is this referee's to close). */
    public void add(Hypervisor h) {
        hosts.put(h.host(), h);
    }

    /** Asks this host again (a host powered back on), connected by {@code connect} unless it is asked already. */
    public void addIfAbsent(String host, Function<String, Hypervisor> connect) {
        hosts.computeIfAbsent(host, connect);
    }

    /** The hosts asked now. */
    public Collection<Hypervisor> hosts() {
        return hosts.values();
    }

    public Hypervisor host(String name) {
        return hosts.get(name);
    }

    /** A host that answers nothing now (powered off): not asked until it is back, its connection closed later. */
    public void drop(String host) {
        Hypervisor h = hosts.remove(host);
        if (h != null) {
            closeLater(h);
        }
    }

    /** Forgets every host, each connection closed after the calls still running on it. */
    public void dropAll() {
        hosts.values().forEach(this::closeLater);
        hosts.clear();
    }

    /** Runs {@code call} on a host's connection, which is not closed under it. */
    public <T> T call(String host, Function<Hypervisor, T> call) {
        Hypervisor h = hosts.get(host);
        if (h == null) {
            throw new IllegalStateException(host + " is not asked now (powered off?)");
        }
        var lock = inUse(h).readLock();
        lock.lock();
        try {
            return call.apply(h);
        } finally {
            lock.unlock();
        }
    }

    private ReadWriteLock inUse(Hypervisor h) {
        return calls.computeIfAbsent(h, x -> new ReentrantReadWriteLock());
    }

    /** Closes a connection on a thread of its own: on a dead host, closing can block for long. */
    private void closeLater(Hypervisor h) {
        var lock = inUse(h).writeLock();
        asker.submit(() -> {
            lock.lock(); // after the calls still running on it: closing under them crashed libvirt's client
            try {
                h.close();
            } finally {
                lock.unlock();
            }
        });
    }

    /**
     * The hosts where libvirt has the domain executing (running or blocked). A paused copy is not
     * counted: a live migration's target waits paused for the memory, and its source pauses for
     * the last copy; two copies that both execute are what "ran twice" means. A host that cannot
     * be asked (isolated, off), or does not answer within {@link #ASK}, is left out.
     */
    public List<String> runningOn(String domain) {
        Map<String, Future<Optional<DomainState>>> asked = new TreeMap<>();
        for (Hypervisor h : hosts.values()) {
            var lock = inUse(h).readLock();
            asked.put(h.host(), asker.submit(() -> {
                lock.lock();
                try {
                    return h.state(domain);
                } finally {
                    lock.unlock();
                }
            }));
        }
        List<String> on = new ArrayList<>();
        Instant deadline = clock.now().plus(ASK);
        for (Map.Entry<String, Future<Optional<DomainState>>> e : asked.entrySet()) {
            try {
                long left = Math.max(1, Duration.between(clock.now(), deadline).toMillis());
                Optional<DomainState> st = e.getValue().get(left, TimeUnit.MILLISECONDS);
                if (st.isPresent() && (st.get().kind() == DomainState.Kind.RUNNING
                        || st.get().kind() == DomainState.Kind.BLOCKED)) {
                    on.add(e.getKey());
                }
            } catch (TimeoutException x) {
                e.getValue().cancel(true); // not answering now: left out of this sample
            } catch (ExecutionException x) {
                if (!(x.getCause() instanceof HypervisorException he)
                        || he.kind() != HypervisorException.Kind.HOST_UNREACHABLE) {
                    throw new IllegalStateException("libvirt on " + e.getKey() + ": " + x.getCause().getMessage(),
                            x.getCause());
                }
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
        return on;
    }

    /** Closes every connection now (hosts known to be up: fresh connections) and stops asking. */
    public void closeNow() {
        try {
            hosts.values().forEach(Hypervisor::close);
            hosts.clear();
        } finally {
            asker.shutdown();
        }
    }

    /** Closes every connection after its running calls, and stops asking. */
    @Override
    public void close() {
        dropAll();
        asker.shutdown();
    }
}
