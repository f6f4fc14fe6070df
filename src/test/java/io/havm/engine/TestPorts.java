package io.havm.engine;

import io.havm.model.ClusterSpec;
import io.havm.port.Clock;
import io.havm.port.Hypervisor;
import io.havm.port.Processes;
import io.havm.resource.NodeResources;
import io.havm.storage.HostStorage;
import io.havm.util.HostProcesses;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Ports for engine tests that run real scripts and real storage checks next to a fake libvirt. */
final class TestPorts {
    private TestPorts() {}

    /** This host's processes, but no QEMU of a fake libvirt's domain lives here. */
    static final Processes NO_QEMU = new Processes() {
        @Override
        public Outcome run(List<String> command, Map<String, String> env, Duration timeout) {
            return HostProcesses.INSTANCE.run(command, env, timeout);
        }

        @Override
        public boolean executable(Path file) {
            return HostProcesses.INSTANCE.executable(file);
        }

        @Override
        public boolean killQemu(String domain) {
            return false;
        }

        @Override
        public boolean qemuAlive(String domain) {
            return false;
        }
    };

    static NodeResources resources(ClusterSpec spec, String node, Hypervisor local, Clock clock) {
        return new NodeResources(spec, node, local, clock, HostStorage.INSTANCE, NO_QEMU);
    }
}
