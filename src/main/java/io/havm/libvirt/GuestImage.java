package io.havm.libvirt;

import io.havm.util.Exec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * havm's test guest (kernel + busybox initramfs), built by vm-templates/guest/build-guest and cached
 * by content hash: what {@code kernel: guest} in a VM file means, and what {@link AccelProbe} boots
 * to learn whether KVM really works. It ships with havm (vm-templates), it is not the lab's.
 */
public record GuestImage(Path dir, Path kernel, Path initrd) {

    public static GuestImage ensure(Path projectHome) {
        Path recipe = projectHome.resolve("vm-templates/guest/build-guest");
        Exec.Outcome o = Exec.run(Duration.ofMinutes(5), List.of(recipe.toString())).orThrow();
        String[] lines = o.out().strip().split("\n");
        Path dir = Path.of(lines[lines.length - 1].strip());
        GuestImage g = new GuestImage(dir, dir.resolve("vmlinuz"), dir.resolve("initrd.img"));
        if (!Files.isRegularFile(g.kernel()) || !Files.isRegularFile(g.initrd())) {
            throw new IllegalStateException("build-guest said " + dir + " but it has no vmlinuz/initrd.img");
        }
        return g;
    }
}
