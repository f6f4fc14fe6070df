package io.havm.port;

/**
 * A hypervisor call failed. Classified by consequence, so callers decide without parsing text;
 * the message keeps libvirt's own words plus the host and domain.
 */
public class HypervisorException extends RuntimeException {

    /** What kind of failure, by what it means for the caller. */
    public enum Kind {
        /** The domain is not defined on that host. */
        NO_DOMAIN,
        /** The host's libvirtd cannot be reached (refused, timed out, keepalive lost). */
        HOST_UNREACHABLE,
        /** A disk lease or image lock is held elsewhere: another node runs this VM. */
        LEASE_REFUSED,
        /** The operation did not finish within its time budget. */
        TIMEOUT,
        /** The domain is in the wrong state for the operation (e.g. start while already running). */
        WRONG_STATE,
        /** The guest agent is not connected or did not answer. */
        AGENT_UNRESPONSIVE,
        /** A migration failed or was aborted. */
        MIGRATION_FAILED,
        /** The definition was rejected (bad XML, missing kernel/disk, unsupported config). */
        INVALID_DEFINITION,
        /** Anything else libvirt reported; the message says what. */
        OTHER
    }

    private final Kind kind;
    private final String host;

    public HypervisorException(Kind kind, String host, String message, Throwable cause) {
        super(host + ": " + message, cause);
        this.kind = kind;
        this.host = host;
    }

    public HypervisorException(Kind kind, String host, String message) {
        this(kind, host, message, null);
    }

    public Kind kind() {
        return kind;
    }

    public String host() {
        return host;
    }
}
