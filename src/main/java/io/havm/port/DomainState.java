package io.havm.port;

/** libvirt's virDomainState, with the reason libvirt gives for it (virDomain*Reason). */
public record DomainState(Kind kind, int reasonCode, String reason) {

    /** The states of virDomainState, in libvirt's numbering. */
    public enum Kind {
        /** 0: no state (libvirt does not know). */
        NOSTATE,
        /** 1: the guest CPUs run. */
        RUNNING,
        /** 2: blocked on a resource. */
        BLOCKED,
        /** 3: paused by a user, a migration, a save or an I/O error. */
        PAUSED,
        /** 4: being shut down. */
        SHUTDOWN,
        /** 5: defined but not running (shut down, destroyed, migrated away, saved, failed). */
        SHUTOFF,
        /** 6: crashed (only with on_crash preserve). */
        CRASHED,
        /** 7: suspended by guest power management. */
        PMSUSPENDED;

        public static Kind of(int code) {
            Kind[] all = values();
            return code >= 0 && code < all.length ? all[code] : NOSTATE;
        }
    }

    /** True while QEMU holds the guest (running, blocked, paused, shutting down). */
    public boolean active() {
        return kind == Kind.RUNNING || kind == Kind.BLOCKED || kind == Kind.PAUSED || kind == Kind.SHUTDOWN
                || kind == Kind.PMSUSPENDED;
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase() + (reason.isEmpty() ? "" : " (" + reason + ")");
    }

    /** Reason names per state, from libvirt-domain.h. */
    public static String reasonName(Kind kind, int code) {
        String[] names = switch (kind) {
            case RUNNING -> new String[] {"unknown", "booted", "migrated", "restored", "from-snapshot", "unpaused",
                "migration-canceled", "save-canceled", "wakeup", "crashed", "postcopy", "postcopy-failed"};
            case PAUSED -> new String[] {"unknown", "user", "migration", "save", "dump", "ioerror", "watchdog",
                "from-snapshot", "shutting-down", "snapshot", "crashed", "starting-up", "postcopy", "postcopy-failed",
                "api-error"};
            case SHUTDOWN -> new String[] {"unknown", "user"};
            case SHUTOFF -> new String[] {"unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
                "from-snapshot", "daemon"};
            case CRASHED -> new String[] {"unknown", "panicked"};
            default -> new String[] {"unknown"};
        };
        return code >= 0 && code < names.length ? names[code] : "reason-" + code;
    }
}
