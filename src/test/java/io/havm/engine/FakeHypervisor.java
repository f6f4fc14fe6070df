package io.havm.engine;

import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.HypervisorException.Kind;
import io.havm.port.MigrationOptions;
import io.havm.port.MigrationProgress;
import io.havm.port.VmEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * An in-memory hypervisor with fault injection, for tests of resources and moves without a lab.
 * Records every call so tests can assert what was (not) done.
 */
public class FakeHypervisor implements Hypervisor {
    public final String host;
    public final Map<String, DomainState> domains = new TreeMap<>();
    public final List<String> calls = new ArrayList<>();
    public boolean unreachable;
    public boolean agentAnswers = true;
    public boolean shutdownHangs;
    public Kind failStartWith;

    public FakeHypervisor(String host) {
        this.host = host;
    }

    private static DomainState running(String reason) {
        return new DomainState(DomainState.Kind.RUNNING, 1, reason);
    }

    private static DomainState off(String reason) {
        return new DomainState(DomainState.Kind.SHUTOFF, 1, reason);
    }

    public void put(String domain, boolean isRunning) {
        domains.put(domain, isRunning ? running("booted") : off("shutdown"));
    }

    private void check(String call) {
        calls.add(call);
        if (unreachable) {
            throw new HypervisorException(Kind.HOST_UNREACHABLE, host, "connection refused");
        }
    }

    private DomainState need(String d) {
        DomainState s = domains.get(d);
        if (s == null) {
            throw new HypervisorException(Kind.NO_DOMAIN, host, "no domain " + d);
        }
        return s;
    }

    @Override public String host() { return host; }
    @Override public String uri() { return "fake://" + host; }
    @Override public void ping() { check("ping"); }

    @Override public Optional<DomainState> state(String d) {
        check("state " + d);
        return Optional.ofNullable(domains.get(d));
    }

    @Override public List<String> domains() { check("domains"); return new ArrayList<>(domains.keySet()); }

    @Override public String define(String xml) {
        check("define");
        String name = xml.replaceAll("(?s).*<name>(.*?)</name>.*", "$1");
        domains.putIfAbsent(name, off("unknown"));
        return name;
    }

    @Override public void undefine(String d) { check("undefine " + d); need(d); domains.remove(d); }
    @Override public String xml(String d, boolean inactive) { check("xml " + d); need(d); return "<domain><name>" + d + "</name></domain>"; }

    @Override public void start(String d) {
        check("start " + d);
        if (need(d).active()) {
            throw new HypervisorException(Kind.WRONG_STATE, host, "domain is already running");
        }
        if (failStartWith != null) {
            throw new HypervisorException(failStartWith, host, "start failed: " + failStartWith);
        }
        domains.put(d, running("booted"));
    }

    @Override public void shutdown(String d, Duration timeout) {
        check("shutdown " + d);
        need(d);
        if (shutdownHangs) {
            throw new HypervisorException(Kind.TIMEOUT, host, "guest still running after " + timeout.toSeconds() + " s");
        }
        domains.put(d, off("shutdown"));
    }

    @Override public void destroy(String d) { check("destroy " + d); need(d); domains.put(d, off("destroyed")); }

    @Override public void save(String d, Path file) {
        check("save " + d);
        need(d);
        try {
            Files.writeString(file, d);
        } catch (java.io.IOException e) {
            throw new HypervisorException(Kind.OTHER, host, e.getMessage());
        }
        domains.put(d, new DomainState(DomainState.Kind.SHUTOFF, 5, "saved"));
    }

    @Override public void restore(Path file) {
        check("restore " + file.getFileName());
        try {
            String d = Files.readString(file).strip();
            domains.put(d, new DomainState(DomainState.Kind.RUNNING, 3, "restored"));
        } catch (java.io.IOException e) {
            throw new HypervisorException(Kind.OTHER, host, e.getMessage());
        }
    }

    @Override public void managedSave(String d) { check("managed-save " + d); domains.put(d, off("saved")); }
    @Override public boolean hasManagedSave(String d) { check("has-managed-save " + d); return false; }

    @Override public void migrateLive(String d, Hypervisor target, MigrationOptions o) {
        check("migrate " + d + " " + target.host());
        need(d);
        FakeHypervisor t = (FakeHypervisor) target;
        t.domains.put(d, new DomainState(DomainState.Kind.RUNNING, 2, "migrated"));
        domains.remove(d);
    }

    @Override public Optional<MigrationProgress> jobProgress(String d) { check("job " + d); return Optional.empty(); }
    @Override public void abortJob(String d) { check("abort " + d); }

    @Override public String agentCommand(String d, String json, Duration timeout) {
        check("agent " + d);
        if (!agentAnswers) {
            throw new HypervisorException(Kind.AGENT_UNRESPONSIVE, host, "Guest agent is not responding");
        }
        return "{\"return\":{}}";
    }

    @Override public void addListener(Consumer<VmEvent> l) { }
    @Override public void close() { }
}
