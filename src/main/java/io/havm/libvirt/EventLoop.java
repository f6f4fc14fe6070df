package io.havm.libvirt;

import org.libvirt.Connect;
import org.libvirt.Library;
import org.libvirt.LibvirtException;
import org.libvirt.jna.Libvirt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libvirt's default event loop, run on one dedicated daemon thread for the whole JVM.
 *
 * <p>Why: keepalive, connection-close callbacks and domain events are all delivered by this loop;
 * it must be registered before the first connection is opened, and listeners run on its thread.
 * We also install a global error callback so libvirt stops printing its own errors to stderr:
 * every error still reaches the caller as a classified exception.
 */
final class EventLoop {
    private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);
    private static boolean started;
    // Held in a field: JNA callbacks must stay strongly reachable or the JVM crashes when libvirt calls them.
    private static final Libvirt.VirErrorCallback QUIET = (userData, error) -> { };

    private EventLoop() {}

    static synchronized void ensureStarted() {
        if (started) {
            return;
        }
        try {
            Connect.setErrorCallback(QUIET);
            Library.initEventLoop();
        } catch (LibvirtException e) {
            throw new IllegalStateException("cannot initialise libvirt's event loop: " + e.getMessage(), e);
        }
        Thread t = new Thread(() -> {
            try {
                Library.runEventLoop();
            } catch (LibvirtException e) {
                LOG.error("libvirt event loop stopped: {}", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "libvirt-events");
        t.setDaemon(true);
        t.start();
        started = true;
    }
}
