package io.havm.port;

import java.time.Instant;

/** A typed lifecycle event seen on one host: from libvirt's domain events, or the host connection itself. */
public sealed interface VmEvent {
    String host();

    Instant at();

    /** A domain lifecycle event (virDomainEventType + detail), e.g. STARTED/BOOTED, STOPPED/MIGRATED. */
    record Lifecycle(String host, Instant at, String domain, Type type, String detail) implements VmEvent {
        @Override
        public String toString() {
            return host + " " + domain + " " + type.name().toLowerCase() + "/" + detail;
        }
    }

    /** The connection to the host's libvirtd closed: error, EOF or keepalive timeout. */
    record HostDisconnected(String host, Instant at, String reason) implements VmEvent {}

    /** The connection to the host's libvirtd was (re)opened. */
    record HostConnected(String host, Instant at) implements VmEvent {}

    /** libvirt's virDomainEventType. */
    enum Type {
        DEFINED, UNDEFINED, STARTED, SUSPENDED, RESUMED, STOPPED, SHUTDOWN, PMSUSPENDED, CRASHED, UNKNOWN
    }
}
