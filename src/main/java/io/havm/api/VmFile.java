package io.havm.api;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.havm.port.MigrationOptions;
import io.havm.libvirt.GuestImage;
import io.havm.libvirt.AccelProbe;
import io.havm.libvirt.DomainSpec;
import io.havm.model.AgentFailureAction;
import io.havm.model.DomainType;
import io.havm.model.InvalidInputException;
import io.havm.model.OfflineAction;
import io.havm.port.VmProperties;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A VM described in YAML, as the operator writes it. Every field is checked; errors name the
 * file, the field and what is allowed. Example:
 *
 * <pre>
 * name: web
 * memoryMiB: 128
 * vcpus: 1
 * domainType: auto            # auto (probe) | kvm | qemu
 * template: lab-direct-kernel # vm-templates/&lt;name&gt;.xml, or a path to a template
 * disk: {path: /srv/shared/images/web.qcow2, format: qcow2, size: 64M}
 * # or disks: [{path: …os.qcow2, size: 8G}, {path: …data.raw, format: raw, size: 1G}]
 * resource: {offlineAction: save, agentFailureAction: turn-off, onlineTimeout: 300s}
 * </pre>
 *
 * Where nothing else is said, what belongs to the VM lives beside its first disk, which is on
 * storage every host reaches: the serial console log ({@code serialLog}, NAME.console.log) and
 * the saved state of quick moves ({@code stateDir}, the disk's directory).
 */
record VmFile(Path file, DomainSpec spec, String template, Map<Path, String> diskSizes, VmProperties properties,
        MigrationOptions migration, String domainTypeWord) {

    private static final Set<String> TOP = Set.of("name", "memoryMiB", "vcpus", "domainType", "template", "kernel",
            "initrd", "cmdline", "disk", "disks", "mac", "serialLog", "stateDir", "migration", "resource");
    private static final Set<String> DISK = Set.of("path", "format", "size");
    private static final Set<String> MIGRATION = Set.of("unsafeSharedStorage", "bandwidthMiBs", "maxDowntimeMs", "tls");
    private static final Set<String> RESOURCE = Set.of("useAgentIsAlive", "agentFailureAction", "offlineAction",
            "onlineTimeout", "offlineTimeout", "agentTimeout");

    /** A VM file is a few lines; anything far larger is not one. */
    static final long MAX_BYTES = 1024 * 1024;
    /** A domain template is a page of XML. */
    static final long MAX_TEMPLATE_BYTES = 1024 * 1024;
    private static final java.util.regex.Pattern TEMPLATE_NAME = java.util.regex.Pattern.compile(
            "[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

    /** The kernel, initrd and domain type a VM file's words ("guest", "auto" or paths and types) stand for. */
    interface Boot {
        /** {@code [kernel, initrd]} and the domain type. */
        record Resolved(Path kernel, Path initrd, DomainType type) {}

        Resolved resolve(String kernel, String initrd, String typeWord);

        /** The real one: havm's test guest image (built when missing), the accelerator probed. */
        static Boot real(Path home) {
            return (kernel, initrd, typeWord) -> {
                if (kernel.equals("guest") || initrd.equals("guest")) {
                    GuestImage g = GuestImage.ensure(home);
                    return new Resolved(kernel.equals("guest") ? g.kernel() : Path.of(kernel),
                            initrd.equals("guest") ? g.initrd() : Path.of(initrd),
                            AccelProbe.resolve(typeWord, g.kernel(), g.initrd(), Path.of("/var/cache/havm")));
                }
                return new Resolved(Path.of(kernel), Path.of(initrd),
                        typeWord.equals("auto") ? DomainType.QEMU : DomainType.parse("domainType", typeWord));
            };
        }
    }

    static VmFile load(Path file, Path home) {
        return parse(file, io.havm.config.InputFile.read(file, "VM", MAX_BYTES), Boot.real(home));
    }

    /** A VM file's text, checked; {@code boot} resolves its kernel and domain type. */
    static VmFile parse(Path file, String text, Boot boot) {
        String where = file.toString();
        // Syntax and limits as every other file havm reads: the problem and its line.
        io.havm.config.InputFile.checkYaml(where, text);
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory())
                    .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String at = loc == null || loc.getLineNr() < 1 ? "" : ":" + loc.getLineNr();
            throw new InvalidInputException(where + at, "malformed YAML: " + e.getOriginalMessage().split("\n")[0]);
        } catch (IOException e) {
            throw new InvalidInputException(where, "cannot read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new InvalidInputException(where, "must be a YAML mapping with at least 'name' and 'disk'");
        }
        known(where, "", root, TOP);
        String name = text(where, root, "name", null);
        if (name == null) {
            throw new InvalidInputException(where + ": name", "is required");
        }
        List<JsonNode> diskNodes = new ArrayList<>();
        if (root.has("disk") && root.has("disks")) {
            throw new InvalidInputException(where + ": disks", "give either 'disk' (one) or 'disks' (a list), not both");
        } else if (root.path("disks").isArray()) {
            root.path("disks").forEach(diskNodes::add);
        } else if (root.has("disks")) {
            throw new InvalidInputException(where + ": disks", "must be a list of {path, format, size}");
        } else if (root.path("disk").isObject()) {
            diskNodes.add(root.path("disk"));
        } else {
            throw new InvalidInputException(where + ": disk", "is required: {path, format: qcow2|raw, size}");
        }
        if (diskNodes.isEmpty()) {
            throw new InvalidInputException(where + ": disks", "needs at least one disk {path, format, size}");
        }
        List<DomainSpec.Disk> disks = new ArrayList<>();
        Map<Path, String> sizes = new LinkedHashMap<>();
        for (int i = 0; i < diskNodes.size(); i++) {
            JsonNode disk = diskNodes.get(i);
            String f = root.has("disks") ? "disks[" + i + "]." : "disk.";
            known(where, f, disk, DISK);
            String given = text(where, disk, f + "path", null);
            if (given == null) {
                throw new InvalidInputException(where + ": " + f + "path", "is required: where the disk image is, on"
                        + " storage every host reaches (e.g. /srv/shared/images/" + name + ".qcow2)");
            }
            Path path = Path.of(given).toAbsolutePath().normalize();
            String format = text(where, disk, f + "format", "qcow2");
            String size = text(where, disk, f + "size", null);
            if (size != null && !size.matches("[1-9][0-9]*[KMGT]?")) {
                throw new InvalidInputException(where + ": " + f + "size", "'" + size
                        + "' is not a size (a whole number with an optional K, M, G or T suffix, e.g. 64M)");
            }
            disks.add(wrap(where, () -> new DomainSpec.Disk(path, format)));
            if (size != null) {
                sizes.put(path, size);
            }
        }
        String template = text(where, root, "template", "lab-direct-kernel");
        String typeWord = text(where, root, "domainType", "auto");
        if (!typeWord.equals("auto")) {
            wrap(where, () -> DomainType.parse("domainType", typeWord));
        }
        String kernel = text(where, root, "kernel", "guest");
        String initrd = text(where, root, "initrd", "guest");
        Boot.Resolved b = boot.resolve(kernel, initrd, typeWord);
        DomainType type = b.type();
        Path kernelPath = b.kernel();
        Path initrdPath = b.initrd();
        DomainSpec spec = wrap(where, () -> new DomainSpec(name, null, integer(where, root, "memoryMiB", 128, 32, 1_048_576),
                integer(where, root, "vcpus", 1, 1, 256), type, kernelPath, initrdPath, text(where, root, "cmdline", null),
                disks, text(where, root, "mac", null),
                Path.of(text(where, root, "serialLog", besideDisk(disks, name + ".console.log"))),
                Map.of()));
        JsonNode mig = root.path("migration");
        if (!mig.isMissingNode()) {
            known(where, "migration.", mig, MIGRATION);
        }
        MigrationOptions migration = new MigrationOptions(bool(where, mig, "migration.unsafeSharedStorage", false),
                integer(where, mig, "migration.bandwidthMiBs", 0, 0, 1_048_576),
                integer(where, mig, "migration.maxDowntimeMs", 0, 0, 600_000),
                bool(where, mig, "migration.tls", false));
        JsonNode res = root.path("resource");
        if (!res.isMissingNode()) {
            known(where, "resource.", res, RESOURCE);
        }
        Path stateDir = Path.of(text(where, root, "stateDir", disks.get(0).path().getParent().toString()));
        VmProperties props = wrap(where, () -> new VmProperties(name, null, stateDir,
                bool(where, res, "resource.useAgentIsAlive", true),
                AgentFailureAction.parse("resource.agentFailureAction",
                        text(where, res, "resource.agentFailureAction", "turn-off")),
                OfflineAction.parse("resource.offlineAction", text(where, res, "resource.offlineAction", "save")),
                duration(where, res, "resource.onlineTimeout", "300s"),
                duration(where, res, "resource.offlineTimeout", "300s"),
                duration(where, res, "resource.agentTimeout", "5s")));
        return new VmFile(file, spec, template, Map.copyOf(sizes), props, migration, typeWord);
    }

    /** A file in the directory of the first (OS) disk. */
    private static String besideDisk(List<DomainSpec.Disk> disks, String file) {
        return disks.get(0).path().resolveSibling(file).toString();
    }

    /**
     * The template file: a name of a template under {@code vm-templates/} ({@code NAME.xml}), or
     * the path of a file that is a domain template (XML whose root is {@code <domain>} and that
     * takes the VM's name, {@code ${NAME}}); never any other file, which havm would otherwise
     * render and hand to libvirt.
     */
    Path templatePath(Path home) {
        String field = file + ": template";
        Path dir = home.resolve("vm-templates");
        if (!template.contains("/")) {
            Path p = dir.resolve(template + ".xml");
            if (!TEMPLATE_NAME.matcher(template).matches() || !Files.isRegularFile(p)) {
                throw new InvalidInputException(field, "'" + template + "' is not a template of " + dir
                        + " (templates: " + String.join(", ", templateNames(dir)) + "; or the path of a domain"
                        + " template, e.g. ./my-template.xml)");
            }
            return p;
        }
        Path p = Path.of(template);
        String text;
        try {
            text = io.havm.config.InputFile.read(p, "domain template", MAX_TEMPLATE_BYTES);
        } catch (InvalidInputException e) {
            throw new InvalidInputException(field, "'" + template + "' " + e.problem());
        }
        String root;
        try {
            root = io.havm.util.DomXml.parse(text).getDocumentElement().getTagName();
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(field, "'" + template + "' is not a domain template: it is not XML"
                    + " (templates: " + String.join(", ", templateNames(dir)) + ", or a libvirt domain XML with"
                    + " ${NAME}, ${MEMORY_MIB}, ... placeholders, like those)");
        }
        if (!root.equals("domain")) {
            throw new InvalidInputException(field, "'" + template + "' is not a domain template: its root element"
                    + " is <" + root + ">, not <domain>");
        }
        if (!text.contains("${NAME}")) {
            throw new InvalidInputException(field, "'" + template + "' is not a domain template: it does not take"
                    + " the VM's name (<name>${NAME}</name>)");
        }
        return p;
    }

    /** The names of the templates in {@code dir}, sorted. */
    private static List<String> templateNames(Path dir) {
        try (var s = Files.list(dir)) {
            return s.map(x -> x.getFileName().toString()).filter(n -> n.endsWith(".xml"))
                    .map(n -> n.substring(0, n.length() - 4)).sorted().toList();
        } catch (IOException e) {
            return List.of("none found in " + dir);
        }
    }

    /** Properties with the rendered definition, ready for Online on any node. */
    VmProperties withDefinition(Path home) {
        return withDefinition(home, false);
    }

    /**
     * As {@link #withDefinition(Path)}. With {@code creating}, a disk that has a size may be
     * missing (the caller creates it next); any other disk must exist.
     */
    VmProperties withDefinition(Path home, boolean creating) {
        for (DomainSpec.Disk d : spec.disks()) {
            if (!Files.isRegularFile(d.path()) && !(creating && diskSizes.containsKey(d.path()))) {
                throw new InvalidInputException(file + ": disk.path", d.path() + " does not exist or is not a file"
                        + (creating ? "; give disk.size to create it" : ""));
            }
        }
        String xml = wrap(file.toString(), () -> spec.render(templatePath(home), false));
        VmProperties p = properties;
        return new VmProperties(p.domain(), xml, p.stateDir(), p.useAgentIsAlive(), p.agentFailureAction(),
                p.offlineAction(), p.onlineTimeout(), p.offlineTimeout(), p.agentTimeout());
    }

    private static void known(String where, String prefix, JsonNode node, Set<String> allowed) {
        if (!node.isObject()) {
            throw new InvalidInputException(where + ": " + (prefix.isEmpty() ? "(top)" : prefix.substring(0,
                    prefix.length() - 1)), "must be a mapping");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new InvalidInputException(where + ": " + prefix + f, "unknown field"
                        + InvalidInputException.didYouMean(f, allowed) + " (allowed: "
                        + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
        }
    }

    private static String leaf(String field) {
        int dot = field.lastIndexOf('.');
        return dot < 0 ? field : field.substring(dot + 1);
    }

    private static String text(String where, JsonNode node, String field, String dflt) {
        JsonNode v = node.path(leaf(field));
        if (v.isMissingNode() || v.isNull()) {
            return dflt;
        }
        if (!v.isValueNode() || v.asText().isBlank()) {
            throw new InvalidInputException(where + ": " + field, "must be a non-empty text value");
        }
        if (v.asText().indexOf('\0') >= 0) {
            // never meaningful, and a path holding one fails far from here
            throw new InvalidInputException(where + ": " + field, "must not contain a NUL character (\\0)");
        }
        return v.asText();
    }

    private static int integer(String where, JsonNode node, String field, int dflt, int min, int max) {
        JsonNode v = node.path(leaf(field));
        if (v.isMissingNode() || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber()) {
            throw new InvalidInputException(where + ": " + field, "'" + v.asText() + "' is not a whole number"
                    + " (allowed: " + min + ".." + max + ")");
        }
        if (!v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw new InvalidInputException(where + ": " + field, v.asText() + " is out of range (allowed: " + min
                    + ".." + max + ")");
        }
        return v.asInt();
    }

    private static boolean bool(String where, JsonNode node, String field, boolean dflt) {
        JsonNode v = node.path(leaf(field));
        if (v.isMissingNode() || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new InvalidInputException(where + ": " + field, "'" + v.asText() + "' is not allowed (allowed: true, false)");
        }
        return v.asBoolean();
    }

    static Duration duration(String where, JsonNode node, String field, String dflt) {
        String s = text(where, node, field, dflt);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]+)(ms|s|m)?").matcher(s);
        if (!m.matches()) {
            throw new InvalidInputException(where + ": " + field, "'" + s
                    + "' is not a duration (a positive number with ms, s or m; e.g. 300s)");
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        Duration d = null;
        try {
            long n = Long.parseLong(m.group(1));
            d = switch (unit) {
                case "ms" -> Duration.ofMillis(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofSeconds(n);
            };
        } catch (NumberFormatException | ArithmeticException e) {
            // past what a Duration holds: out of range below
        }
        if (d == null || d.compareTo(SHORTEST) < 0 || d.compareTo(LONGEST) > 0) {
            throw new InvalidInputException(where + ": " + field, "'" + s + "' is out of range (allowed: 100ms..24h)");
        }
        return d;
    }

    /** The range of a VM file's timeouts: shorter fails every call, longer is a typo. */
    private static final Duration SHORTEST = Duration.ofMillis(100);
    private static final Duration LONGEST = Duration.ofHours(24);

    private interface Supplier<T> {
        T get();
    }

    /** Adds the file name to a field error raised by the model. */
    private static <T> T wrap(String where, Supplier<T> s) {
        try {
            return s.get();
        } catch (InvalidInputException e) {
            if (e.where().startsWith(where)) {
                throw e;
            }
            throw new InvalidInputException(where + ": " + e.where(), e.getMessage().substring(e.where().length() + 2));
        }
    }
}
