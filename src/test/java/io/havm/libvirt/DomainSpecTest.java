package io.havm.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.DomainType;
import io.havm.model.InvalidInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DomainSpecTest {
    @TempDir
    Path dir;

    private DomainSpec spec(String name, int mem, String mac) throws Exception {
        Path k = Files.writeString(dir.resolve("vmlinuz"), "k");
        Path i = Files.writeString(dir.resolve("initrd"), "i");
        Path d = Files.writeString(dir.resolve("disk.qcow2"), "d");
        return new DomainSpec(name, null, mem, 1, DomainType.QEMU, k, i, null, List.of(new DomainSpec.Disk(d, "qcow2")), mac,
                dir.resolve("c.log"),
                Map.of());
    }

    @Test
    void rendersTheLabTemplateWithEveryPlaceholderFilledAndAStaticMac() throws Exception {
        DomainSpec s = spec("web", 128, null);
        String xml = s.render(Path.of("vm-templates/lab-direct-kernel.xml"));
        assertTrue(!xml.contains("${"), xml);
        assertTrue(xml.contains("<domain type='qemu'>"));
        assertTrue(xml.contains("<mac address='" + DomainSpec.macFor("web") + "'/>"));
        assertEquals(DomainSpec.macFor("web"), spec("web", 128, null).mac(), "same VM, same MAC on every node");
        assertEquals(s.uuid(), spec("web", 256, null).uuid(), "same VM, same UUID");
    }

    @Test
    void badValuesAreRefusedNamingTheFieldAndWhatIsAllowed() {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> spec("bad name", 128, null));
        assertTrue(e.getMessage().startsWith("name: 'bad name'"), e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> spec("web", 8, null));
        assertTrue(e.getMessage().contains("memoryMiB: 8 is out of range (allowed: 32..1048576)"), e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> spec("web", 128, "zz:00:00:00:00:00"));
        assertTrue(e.getMessage().startsWith("mac:"), e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> spec("web", 128, "01:00:00:00:00:01"));
        assertTrue(e.getMessage().contains("multicast"), e.getMessage());
    }

    @Test
    void aTemplateWithAnUnknownPlaceholderOrAMissingKernelIsRefused() throws Exception {
        Path t = Files.writeString(dir.resolve("t.xml"), "<domain><name>${NAME}</name>${NOPE}</domain>");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> spec("web", 128, null).render(t));
        assertTrue(e.getMessage().contains("needs values for NOPE"), e.getMessage());

        DomainSpec s = spec("web", 128, null);
        Files.delete(s.kernel());
        e = assertThrows(InvalidInputException.class, () -> s.render(Path.of("vm-templates/lab-direct-kernel.xml")));
        assertTrue(e.getMessage().startsWith("kernel: "), e.getMessage());
    }

    @Test
    void severalDisksBecomeVdaVdbInOrderAndTheSameImageTwiceIsRefused() throws Exception {
        Path k = Files.writeString(dir.resolve("vmlinuz"), "k");
        Path os = Files.writeString(dir.resolve("os.qcow2"), "d");
        Path data = Files.writeString(dir.resolve("data.raw"), "d");
        DomainSpec s = new DomainSpec("web", null, 128, 1, DomainType.QEMU, k, k, null,
                List.of(new DomainSpec.Disk(os, "qcow2"), new DomainSpec.Disk(data, "raw")), null, dir.resolve("c"),
                Map.of());
        String xml = s.render(Path.of("vm-templates/lab-direct-kernel.xml"));
        assertTrue(xml.indexOf(os.toString()) < xml.indexOf("dev='vda'"), xml);
        assertTrue(xml.contains("type='raw' cache='none'/>\n      <source file='" + data + "'/>\n      "
                + "<target dev='vdb'"), xml);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> new DomainSpec("web", null, 128, 1,
                DomainType.QEMU, k, k, null, List.of(new DomainSpec.Disk(os, "qcow2"), new DomainSpec.Disk(os, "qcow2")),
                null, dir.resolve("c"), Map.of()));
        assertTrue(e.getMessage().startsWith("disks: "), e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> new DomainSpec.Disk(data, "vmdk"));
        assertTrue(e.getMessage().contains("'vmdk' is not allowed (allowed: qcow2, raw)"), e.getMessage());
    }

    @Test
    void valuesAreXmlEscaped() throws Exception {
        Path k = Files.writeString(dir.resolve("vmlinuz"), "k");
        Path d = Files.writeString(dir.resolve("disk.qcow2"), "d");
        DomainSpec s = new DomainSpec("web", null, 128, 1, DomainType.QEMU, k, k, "a<b & 'c'",
                List.of(new DomainSpec.Disk(d, "qcow2")), null,
                dir.resolve("c.log"), Map.of());
        assertTrue(s.render(Path.of("vm-templates/lab-direct-kernel.xml")).contains("a&lt;b &amp; &apos;c&apos;"));
    }
}
