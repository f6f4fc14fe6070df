package io.havm.sim.engine;

import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.HypervisorException.Kind;
import io.havm.port.MigrationOptions;
import io.havm.port.MigrationProgress;
import io.havm.port.VmEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * One simulated host's libvirt: domains with their states, persistent or transient, started,
 * destroyed, saved to and restored from the simulated shared storage ({@link SimStorage}, where
 * the VM resource checks its save file), migrated atomically to another simulated host.
 *
 * <p>Faults: the host loses power (its domains die; libvirt does not answer), libvirtd is
 * unreachable (domains keep running), starts fail, a guest crashes. Every start and restore is
 * reported to a referee before it happens, so "a second copy started" is caught at the call.
 */
public final class SimHypervisor implements Hypervisor {

    /** Told of every start or restore of a domain on a host, before it takes effect. */
    public interface Referee {
        void starting(String host, String domain, String how);
    }

    private static final class Domain {
        DomainState state;
        boolean persistent;

        Domain(DomainState state, boolean persistent) {
            this.state = state;
            this.persistent = persistent;
        }
    }

    private final String host;
    private final Referee referee;
    /** Where save files go. */
    private final SimStorage shared;
    private final TreeMap<String, Domain> domains = new TreeMap<>();
    private boolean powered = true;
    private boolean libvirtdUp = true;
    private int failStarts;
    private int failMigrations;
    /** Domains whose guest agent does not answer (the guest hangs; QEMU runs on). */
    private final java.util.TreeSet<String> hungGuests = new java.util.TreeSet<>();

    public SimHypervisor(String host, Referee referee, SimStorage shared) {
        this.host = host;
        this.referee = referee;
        this.shared = shared;
    }

    private static DomainState st(DomainState.Kind k, int code) {
        return new DomainState(k, code, DomainState.reasonName(k, code));
    }

    // ------------------------------------------------------------------ faults and referee's view

    /** Power lost: every guest dies with the host; definitions survive on disk. */
    public void powerOff() {
        powered = false;
        hungGuests.clear();
        domains.values().removeIf(d -> !d.persistent);
        for (Domain d : domains.values()) {
            d.state = st(DomainState.Kind.SHUTOFF, 0);
        }
    }

    public void powerOn() {
        powered = true;
        libvirtdUp = true;
    }

    public boolean powered() {
        return powered;
    }

    public void libvirtd(boolean up) {
        libvirtdUp = up;
    }

    public void failNextStarts(int n) {
        failStarts = n;
    }

    /** The guest crashed (QEMU gone): the domain is shut off. */
    public boolean failsMigrations() {
        return failMigrations > 0;
    }

    /** The next {@code n} live migrations from this host fail (the VM stays here). */
    public void failNextMigrations(int n) {
        failMigrations = n;
    }

    /** The guest hangs: its QEMU runs, its guest agent answers nothing; true if it runs here. */
    public boolean hangGuest(String domain) {
        Domain x = domains.get(domain);
        if (x == null || !x.state.active()) {
            return false;
        }
        hungGuests.add(domain);
        return true;
    }

    public boolean crashGuest(String domain) {
        Domain d = domains.get(domain);
        if (!powered || d == null || !d.state.active()) {
            return false;
        }
        stop(domain, d, 3);
        return true;
    }

    /** SIGKILL of the domain's QEMU on this host: needs no libvirtd. */
    public boolean kill(String domain) {
        Domain d = domains.get(domain);
        if (!powered || d == null || !d.state.active()) {
            return false;
        }
        stop(domain, d, 2);
        return true;
    }

    /** Whether the domain runs here (referee: no libvirt involved). */
    public boolean runs(String domain) {
        Domain d = domains.get(domain);
        return powered && d != null && d.state.active();
    }

    private void stop(String name, Domain d, int reason) {
        hungGuests.remove(name);
        if (d.persistent) {
            d.state = st(DomainState.Kind.SHUTOFF, reason);
        } else {
            domains.remove(name);
        }
    }

    // ------------------------------------------------------------------ the port

    private void check() {
        if (!powered || !libvirtdUp) {
            throw new HypervisorException(Kind.HOST_UNREACHABLE, host, "cannot connect to libvirtd: "
                    + (powered ? "libvirtd does not answer" : "no route to host (powered off)"));
        }
    }

    private Domain need(String d) {
        Domain x = domains.get(d);
        if (x == null) {
            throw new HypervisorException(Kind.NO_DOMAIN, host, "Domain not found: no domain with matching name '" + d + "'");
        }
        return x;
    }

    @Override
    public String host() {
        return host;
    }

    @Override
    public String uri() {
        return "sim://" + host;
    }

    @Override
    public void ping() {
        check();
    }

    @Override
    public Optional<DomainState> state(String d) {
        check();
        Domain x = domains.get(d);
        return x == null ? Optional.empty() : Optional.of(x.state);
    }

    @Override
    public List<String> domains() {
        check();
        return new ArrayList<>(domains.keySet());
    }

    @Override
    public String define(String xml) {
        check();
        String name = xml.replaceAll("(?s).*<name>(.*?)</name>.*", "$1").strip();
        Domain x = domains.get(name);
        if (x == null) {
            domains.put(name, new Domain(st(DomainState.Kind.SHUTOFF, 0), true));
        } else {
            x.persistent = true;
        }
        return name;
    }

    @Override
    public void undefine(String d) {
        check();
        Domain x = need(d);
        if (x.state.active()) {
            x.persistent = false;
        } else {
            domains.remove(d);
        }
    }

    @Override
    public String xml(String d, boolean inactive) {
        check();
        need(d);
        return "<domain type='kvm'><name>" + d + "</name></domain>";
    }

    @Override
    public void start(String d) {
        check();
        Domain x = need(d);
        if (x.state.active()) {
            throw new HypervisorException(Kind.WRONG_STATE, host, "Requested operation is not valid: domain is already running");
        }
        if (failStarts > 0) {
            failStarts--;
            throw new HypervisorException(Kind.OTHER, host, "internal error: qemu unexpectedly closed the monitor (simulated)");
        }
        referee.starting(host, d, "start");
        x.state = st(DomainState.Kind.RUNNING, 1);
    }

    @Override
    public void shutdown(String d, Duration timeout) {
        check();
        Domain x = need(d);
        if (x.state.active()) {
            stop(d, x, 1);
        }
    }

    @Override
    public void destroy(String d) {
        check();
        Domain x = need(d);
        if (x.state.active()) {
            stop(d, x, 2);
        }
    }

    @Override
    public void save(String d, Path file) {
        check();
        Domain x = need(d);
        if (!x.state.active()) {
            throw new HypervisorException(Kind.WRONG_STATE, host, "Requested operation is not valid: domain is not running");
        }
        if (shared.isHung(host)) {
            throw new HypervisorException(Kind.OTHER, host, "cannot write " + file + ": no answer from the storage");
        }
        shared.put(file, d);
        stop(d, x, 5);
    }

    @Override
    public void restore(Path file) {
        check();
        String d;
        d = shared.isHung(host) ? null : shared.get(file);
        if (d == null) {
            throw new HypervisorException(Kind.OTHER, host, "cannot read " + file + ": "
                    + (shared.isHung(host) ? "no answer from the storage" : "No such file or directory"));
        }
        Domain x = domains.get(d);
        if (x != null && x.state.active()) {
            throw new HypervisorException(Kind.WRONG_STATE, host, "Requested operation is not valid: domain " + d
                    + " is already active");
        }
        if (failStarts > 0) {
            failStarts--;
            throw new HypervisorException(Kind.OTHER, host, "internal error: qemu unexpectedly closed the monitor (simulated)");
        }
        referee.starting(host, d, "restore");
        if (x == null) {
            domains.put(d, new Domain(st(DomainState.Kind.RUNNING, 3), false));
        } else {
            x.state = st(DomainState.Kind.RUNNING, 3);
        }
    }

    @Override
    public void managedSave(String d) {
        throw new HypervisorException(Kind.OTHER, host, "managed save is not simulated");
    }

    @Override
    public boolean hasManagedSave(String d) {
        check();
        return false;
    }

    @Override
    public void migrateLive(String d, Hypervisor target, MigrationOptions o) {
        check();
        Domain x = need(d);
        if (!x.state.active()) {
            throw new HypervisorException(Kind.WRONG_STATE, host, "Requested operation is not valid: domain is not running");
        }
        SimHypervisor t = (SimHypervisor) target;
        try {
            t.check();
        } catch (HypervisorException e) {
            throw new HypervisorException(Kind.MIGRATION_FAILED, host, "migration to " + t.host + " failed: " + e.getMessage());
        }
        Domain there = t.domains.get(d);
        if (there != null && there.state.active()) {
            throw new HypervisorException(Kind.MIGRATION_FAILED, host, "domain " + d + " already runs on " + t.host);
        }
        if (failMigrations > 0) {
            failMigrations--;
            throw new HypervisorException(Kind.MIGRATION_FAILED, host, "operation failed: migration of " + d + " to "
                    + t.host + " aborted (simulated)");
        }
        // Atomic hand-over: the source stops as the target resumes.
        domains.remove(d);
        t.domains.put(d, new Domain(st(DomainState.Kind.RUNNING, 2), true));
    }

    @Override
    public Optional<MigrationProgress> jobProgress(String d) {
        check();
        return Optional.empty();
    }

    @Override
    public void abortJob(String d) {
        check();
    }

    @Override
    public String agentCommand(String d, String json, Duration timeout) {
        check();
        Domain x = need(d);
        if (!x.state.active()) {
            throw new HypervisorException(Kind.AGENT_UNRESPONSIVE, host, "Guest agent is not responding: domain is not running");
        }
        if (hungGuests.contains(d)) {
            throw new HypervisorException(Kind.AGENT_UNRESPONSIVE, host, "Guest agent is not responding: guest hangs (simulated)");
        }
        return "{\"return\":{}}";
    }

    @Override
    public void addListener(Consumer<VmEvent> listener) {
        // the engine does not subscribe; the simulator has no event thread
    }

    @Override
    public void close() {
    }
}
