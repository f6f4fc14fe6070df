package io.havm.lab;

import io.havm.engine.Whereabouts;
import io.havm.port.Hypervisor;
import io.havm.libvirt.GuestImage;
import io.havm.libvirt.DomainSpec;
import io.havm.model.DomainType;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * A test-guest VM on the lab's shared directory, for the demo and the benchmark: a fresh qcow2
 * disk, its serial console log, and its domain XML written to {@code shared/defs/NAME.xml}, where a
 * cluster configuration's VM resource finds it ({@code definition}). Any earlier copy is removed
 * from every host first: a leftover must never run twice.
 */
public record LabVm(String name, Path disk, Path console, Path definition, String xml, String mac) {

    public static LabVm create(Path home, Lab lab, Collection<Hypervisor> hosts, String name, DomainType type,
            GuestImage guest, String size) {
        Path shared = lab.sharedDir();
        Path disk = shared.resolve("images").resolve(name + ".qcow2");
        Path console = shared.resolve("console").resolve(name + ".log");
        Path def = shared.resolve("defs").resolve(name + ".xml");
        try {
            Whereabouts.removeEverywhere(hosts, name);
            for (Path p : List.of(disk, console, def)) {
                Files.createDirectories(p.getParent());
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(shared.resolve("save").resolve(name + ".sav"));
            Exec.run(Duration.ofSeconds(30), List.of("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), size))
                    .orThrow();
            DomainSpec spec = new DomainSpec(name, null, 128, 1, type, guest.kernel(), guest.initrd(), null,
                    List.of(new DomainSpec.Disk(disk, "qcow2")), null, console, Map.of());
            String xml = spec.render(home.resolve("vm-templates/lab-direct-kernel.xml"));
            Files.writeString(def, xml);
            return new LabVm(name, disk, console, def, xml, spec.mac());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
