package io.havm.port;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The port through which havm drives one host's hypervisor. The libvirt driver implements it on
 * real hosts; a fault-injecting fake implements it for the simulator. Every method throws a
 * classified {@link HypervisorException}; none swallows an error.
 */
public interface Hypervisor extends AutoCloseable {

    /** The host's name (e.g. host1). */
    String host();

    /** The URI other hosts reach this host's hypervisor with (used for peer-to-peer migration). */
    String uri();

    /** Cheap round trip to the hypervisor; throws HOST_UNREACHABLE when it does not answer. */
    void ping();

    /** The domain's state, or empty when no such domain is defined on this host. */
    Optional<DomainState> state(String domain);

    /** Names of all domains defined or running here, sorted. */
    List<String> domains();

    /** Define (or redefine) a persistent domain from its XML; returns the domain name. */
    String define(String xml);

    /** Remove the persistent definition (and any managed-save image). A running domain becomes transient. */
    void undefine(String domain);

    /** The domain's XML: the inactive (persistent) definition when {@code inactive}, else the live one. */
    String xml(String domain, boolean inactive);

    /** Start a defined domain (from its managed-save image if it has one). */
    void start(String domain);

    /** Ask the guest to shut down (ACPI) and wait up to {@code timeout} until it is off; TIMEOUT if not. */
    void shutdown(String domain, Duration timeout);

    /** Turn the domain off at once. */
    void destroy(String domain);

    /** Save memory state to {@code file} (on shared storage for a move); the domain stops, stays defined. */
    void save(String domain, Path file);

    /** Restore a domain from a save file; it runs afterwards. */
    void restore(Path file);

    /** libvirt managed save: host-local state image used by the next start on this same host. */
    void managedSave(String domain);

    /** Whether the domain has a managed-save image on this host. */
    boolean hasManagedSave(String domain);

    /** Live-migrate to {@code target} peer-to-peer; persist there, undefine here. */
    void migrateLive(String domain, Hypervisor target, MigrationOptions options);

    /** Progress of the domain's running job, or empty if none runs. */
    Optional<MigrationProgress> jobProgress(String domain);

    /**
     * Statistics of the domain's last completed job ({@code virDomainGetJobStats} with
     * {@code VIR_DOMAIN_JOB_STATS_COMPLETED}): on a live migration's target, the migration's, where
     * {@link MigrationProgress#downtimeMs} is the guest's measured downtime. Empty when none is known.
     */
    default Optional<MigrationProgress> completedJob(String domain) {
        return Optional.empty();
    }

    /** Abort the domain's running job (e.g. a migration). */
    void abortJob(String domain);

    /** Send a QEMU guest-agent command (JSON) and return its JSON reply. */
    String agentCommand(String domain, String json, Duration timeout);

    /** Subscribe to lifecycle and connection events of this host; runs on the event thread. */
    void addListener(Consumer<VmEvent> listener);

    /** Release the connection and listeners. */
    @Override
    void close();
}
