package io.havm.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.PointerType;
import com.sun.jna.ptr.IntByReference;
import io.havm.port.DomainState;
import java.lang.reflect.Field;
import org.libvirt.Domain;

/**
 * Our own JNA binding for virDomainGetState, which libvirt-java 0.5.4 lacks. Unlike
 * virDomainGetInfo it returns the <em>reason</em> (migrated, saved, destroyed, crashed …), which is
 * what tells a planned stop from a failure.
 */
final class DomainStateBinding {

    interface Virt extends com.sun.jna.Library {
        int virDomainGetState(Pointer domain, IntByReference state, IntByReference reason, int flags);
    }

    private static final Virt VIRT = Native.load("virt", Virt.class);
    private static final Field DOMAIN_POINTER;

    static {
        try {
            DOMAIN_POINTER = Domain.class.getDeclaredField("vdp");
            DOMAIN_POINTER.setAccessible(true);
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError("libvirt-java changed: org.libvirt.Domain has no field 'vdp'");
        }
    }

    private DomainStateBinding() {}

    /** The state and reason, or null when libvirt returned -1 (the caller then reads libvirt's last error). */
    static DomainState get(Domain domain) {
        Pointer p;
        try {
            p = ((PointerType) DOMAIN_POINTER.get(domain)).getPointer();
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        IntByReference state = new IntByReference();
        IntByReference reason = new IntByReference();
        if (VIRT.virDomainGetState(p, state, reason, 0) < 0) {
            return null;
        }
        DomainState.Kind kind = DomainState.Kind.of(state.getValue());
        return new DomainState(kind, reason.getValue(), DomainState.reasonName(kind, reason.getValue()));
    }
}
