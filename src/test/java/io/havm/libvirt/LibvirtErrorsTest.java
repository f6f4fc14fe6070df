package io.havm.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havm.port.HypervisorException.Kind;
import org.junit.jupiter.api.Test;
import org.libvirt.Error.ErrorNumber;

/** The messages are libvirt 9.0's own words, as seen on the lab. */
class LibvirtErrorsTest {
    @Test
    void classifiesByConsequence() {
        assertEquals(Kind.NO_DOMAIN, LibvirtErrors.kindOf("state", ErrorNumber.VIR_ERR_NO_DOMAIN,
                "Domain not found: no domain with matching name 'x'"));
        assertEquals(Kind.LEASE_REFUSED, LibvirtErrors.kindOf("start", ErrorNumber.VIR_ERR_RESOURCE_BUSY,
                "resource busy: Lockspace resource '/var/lib/x.qcow2' is locked"));
        assertEquals(Kind.LEASE_REFUSED, LibvirtErrors.kindOf("start", ErrorNumber.VIR_ERR_INTERNAL_ERROR,
                "qemu unexpectedly closed the monitor: Failed to get \"write\" lock"));
        assertEquals(Kind.HOST_UNREACHABLE, LibvirtErrors.kindOf("ping", ErrorNumber.VIR_ERR_SYSTEM_ERROR,
                "Cannot recv data: Connection reset by peer"));
        assertEquals(Kind.HOST_UNREACHABLE, LibvirtErrors.kindOf("connect", ErrorNumber.VIR_ERR_SYSTEM_ERROR,
                "unable to connect to server at '10.77.0.13:16509': Connection refused"));
        assertEquals(Kind.AGENT_UNRESPONSIVE, LibvirtErrors.kindOf("agent", ErrorNumber.VIR_ERR_AGENT_UNRESPONSIVE,
                "Guest agent is not responding"));
        assertEquals(Kind.WRONG_STATE, LibvirtErrors.kindOf("start", ErrorNumber.VIR_ERR_OPERATION_INVALID,
                "Requested operation is not valid: domain is already running"));
        assertEquals(Kind.MIGRATION_FAILED, LibvirtErrors.kindOf("migrate x to host2",
                ErrorNumber.VIR_ERR_OPERATION_ABORTED, "operation aborted: migration out job: canceled by client"));
        assertEquals(Kind.INVALID_DEFINITION, LibvirtErrors.kindOf("define", ErrorNumber.VIR_ERR_XML_ERROR,
                "XML error: bad"));
        assertEquals(Kind.TIMEOUT, LibvirtErrors.kindOf("x", ErrorNumber.VIR_ERR_OPERATION_TIMEOUT, "timed out"));
    }
}
