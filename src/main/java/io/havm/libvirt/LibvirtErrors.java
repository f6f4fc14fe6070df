package io.havm.libvirt;

import io.havm.port.HypervisorException;
import io.havm.port.HypervisorException.Kind;
import java.util.Locale;
import org.libvirt.Error;
import org.libvirt.LibvirtException;

/** Maps libvirt errors to {@link HypervisorException.Kind} by consequence; keeps libvirt's text. */
final class LibvirtErrors {
    private LibvirtErrors() {}

    static HypervisorException classify(String host, String operation, LibvirtException e) {
        Error err = e.getError();
        Error.ErrorNumber code = err == null ? Error.ErrorNumber.VIR_ERR_UNKNOWN : err.getCode();
        String text = err == null || err.getMessage() == null ? String.valueOf(e.getMessage()) : err.getMessage();
        Kind kind = kindOf(operation, code, text);
        return new HypervisorException(kind, host, operation + ": " + text + " [" + code + "]", e);
    }

    static Kind kindOf(String operation, Error.ErrorNumber code, String message) {
        String m = message == null ? "" : message.toLowerCase(Locale.ROOT);
        if (m.contains("is locked") || m.contains("failed to get \"write\" lock") || m.contains("lockspace")
                || code == Error.ErrorNumber.VIR_ERR_RESOURCE_BUSY && m.contains("lock")) {
            return Kind.LEASE_REFUSED;
        }
        switch (code) {
            case VIR_ERR_NO_DOMAIN:
                return Kind.NO_DOMAIN;
            case VIR_ERR_NO_CONNECT:
            case VIR_ERR_INVALID_CONN:
            case VIR_ERR_RPC:
                return Kind.HOST_UNREACHABLE;
            case VIR_ERR_OPERATION_TIMEOUT:
                return Kind.TIMEOUT;
            case VIR_ERR_AGENT_UNRESPONSIVE:
            case VIR_ERR_AGENT_UNSYNCED:
                return Kind.AGENT_UNRESPONSIVE;
            case VIR_ERR_XML_ERROR:
            case VIR_ERR_XML_DETAIL:
            case VIR_ERR_XML_INVALID_SCHEMA:
            case VIR_ERR_CONFIG_UNSUPPORTED:
            case VIR_ERR_NO_KERNEL:
            case VIR_ERR_NO_SOURCE:
            case VIR_ERR_INVALID_ARG:
                return Kind.INVALID_DEFINITION;
            default:
                break;
        }
        if (m.contains("guest agent")) {
            return Kind.AGENT_UNRESPONSIVE;
        }
        if (m.contains("connection refused") || m.contains("no route to host") || m.contains("cannot recv data")
                || m.contains("cannot write data") || m.contains("broken pipe") || m.contains("connection reset")
                || m.contains("keepalive") || m.contains("end of file while reading")
                || m.contains("client socket is closed")) {
            return Kind.HOST_UNREACHABLE;
        }
        if (operation.startsWith("migrate") || code == Error.ErrorNumber.VIR_ERR_OPERATION_ABORTED
                || code == Error.ErrorNumber.VIR_ERR_MIGRATE_PERSIST_FAILED) {
            return Kind.MIGRATION_FAILED;
        }
        if (code == Error.ErrorNumber.VIR_ERR_OPERATION_INVALID) {
            return Kind.WRONG_STATE;
        }
        if (m.contains("no such file or directory") || m.contains("cannot access storage file")) {
            return Kind.INVALID_DEFINITION;
        }
        return Kind.OTHER;
    }
}
