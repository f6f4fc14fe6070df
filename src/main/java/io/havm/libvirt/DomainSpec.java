package io.havm.libvirt;

import io.havm.model.DomainType;
import io.havm.model.InvalidInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a domain is made from, validated, and its rendering into a template's XML.
 *
 * <p>The MAC is static per VM (derived from the name unless given) so a VM keeps its address on
 * every node; the UUID likewise, so a VM is the same libvirt domain wherever it runs.
 */
public record DomainSpec(String name, UUID uuid, int memoryMiB, int vcpus, DomainType type, Path kernel,
        Path initrd, String cmdline, List<Disk> disks, String mac, Path serialLog, Map<String, String> extra) {

    /**
     * One disk, attached as virtio vda, vdb, … in list order; the first is the boot/OS disk.
     *
     * @param path image file (on shared storage for a VM that can move)
     * @param format qcow2 or raw
     */
    public record Disk(Path path, String format) {
        public Disk {
            if (!"qcow2".equals(format) && !"raw".equals(format)) {
                throw new InvalidInputException("disk.format", "'" + format + "' is not allowed (allowed: qcow2, raw)");
            }
            if (path == null || !path.isAbsolute()) {
                throw new InvalidInputException("disk.path", "'" + path + "' must be an absolute path");
            }
        }
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Pattern MAC = Pattern.compile("([0-9a-f]{2}:){5}[0-9a-f]{2}");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z_]+)}");

    public DomainSpec {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidInputException("name", "'" + name
                    + "' is not a valid VM name (letters, digits, '_', '.', '-'; 1-64 characters)");
        }
        if (memoryMiB < 32 || memoryMiB > 1_048_576) {
            throw new InvalidInputException("memoryMiB", memoryMiB + " is out of range (allowed: 32..1048576)");
        }
        if (vcpus < 1 || vcpus > 256) {
            throw new InvalidInputException("vcpus", vcpus + " is out of range (allowed: 1..256)");
        }
        if (type == null) {
            throw new InvalidInputException("domainType", "is required (allowed: kvm, qemu)");
        }
        if (disks == null || disks.isEmpty() || disks.size() > 20) {
            throw new InvalidInputException("disks", "between 1 and 20 disks are allowed, got "
                    + (disks == null ? 0 : disks.size()));
        }
        disks = List.copyOf(disks);
        if (disks.stream().map(Disk::path).distinct().count() != disks.size()) {
            throw new InvalidInputException("disks", "the same image is listed twice");
        }
        if (mac == null) {
            mac = macFor(name);
        }
        mac = mac.toLowerCase();
        if (!MAC.matcher(mac).matches()) {
            throw new InvalidInputException("mac", "'" + mac + "' is not a MAC address like 52:54:00:12:34:56");
        }
        if ((Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
            throw new InvalidInputException("mac", "'" + mac + "' is a multicast address; use a unicast one");
        }
        if (uuid == null) {
            uuid = UUID.nameUUIDFromBytes(("havm:" + name).getBytes(StandardCharsets.UTF_8));
        }
        if (cmdline == null) {
            cmdline = "console=ttyS0 quiet panic=0"; // a panic waits: pvpanic tells the host
        }
        extra = extra == null ? Map.of() : Map.copyOf(extra);
    }

    /** A locally administered, stable MAC in QEMU's 52:54:00 range, from the VM name. */
    public static String macFor(String name) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return String.format("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2]);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The placeholder values this spec provides. */
    public Map<String, String> values() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("NAME", name);
        v.put("UUID", uuid.toString());
        v.put("MEMORY_MIB", Integer.toString(memoryMiB));
        v.put("VCPUS", Integer.toString(vcpus));
        v.put("DOMAIN_TYPE", type.word);
        if (kernel != null) {
            v.put("KERNEL", kernel.toString());
        }
        if (initrd != null) {
            v.put("INITRD", initrd.toString());
        }
        v.put("CMDLINE", cmdline);
        v.put("DISKS", disksXml());
        v.put("MAC", mac);
        v.put("SERIAL_LOG", serialLog.toString());
        v.putAll(extra);
        return v;
    }

    /** The first (OS) disk. */
    public Disk osDisk() {
        return disks.get(0);
    }

    /** The disks block: already XML, values escaped inside. */
    private String disksXml() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < disks.size(); i++) {
            Disk d = disks.get(i);
            if (i > 0) {
                b.append("\n    ");
            }
            b.append("<disk type='file' device='disk'>\n")
                    .append("      <driver name='qemu' type='").append(d.format()).append("' cache='none'/>\n")
                    .append("      <source file='").append(escape(d.path().toString())).append("'/>\n")
                    .append("      <target dev='vd").append((char) ('a' + i)).append("' bus='virtio'/>\n")
                    .append("    </disk>");
        }
        return b.toString();
    }

    /**
     * Renders {@code template}. Every placeholder must have a value and every file the domain
     * boots from must exist; values are XML-escaped.
     */
    public String render(Path template) {
        return render(template, true);
    }

    /** As {@link #render(Path)}; {@code diskMustExist} false when the caller creates the disk next. */
    public String render(Path template, boolean diskMustExist) {
        String text;
        try {
            text = Files.readString(template);
        } catch (IOException e) {
            throw new InvalidInputException("template", template + ": cannot read (" + e.getMessage() + ")");
        }
        Map<String, String> v = values();
        TreeSet<String> missing = new TreeSet<>();
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String value = v.get(m.group(1));
            if (value == null) {
                missing.add(m.group(1));
                value = "";
            }
            String text2 = m.group(1).equals("DISKS") ? value : escape(value);
            m.appendReplacement(out, Matcher.quoteReplacement(text2));
        }
        m.appendTail(out);
        if (!missing.isEmpty()) {
            throw new InvalidInputException("template", template + " needs values for " + String.join(", ", missing)
                    + " (provided: " + String.join(", ", new TreeSet<>(v.keySet())) + ")");
        }
        requireFile("kernel", kernel, text.contains("${KERNEL}"));
        requireFile("initrd", initrd, text.contains("${INITRD}"));
        for (Disk d : disks) {
            requireFile("disk.path", d.path(), diskMustExist);
        }
        return out.toString();
    }

    private static void requireFile(String field, Path p, boolean used) {
        if (used && (p == null || !Files.isRegularFile(p))) {
            throw new InvalidInputException(field, p + " does not exist or is not a file");
        }
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
                .replace("\"", "&quot;");
    }
}
