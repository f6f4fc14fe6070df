package io.havm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Pins the layers of DESIGN.md by scanning imports: model depends on nothing of ours; policy only on
 * model and java.util/java.time; the ports only on model; the engine only on ports, policy and model
 * (never on resources, storage, libvirt, lab or api); drivers never on api; nothing on api. No
 * allowances: a package without an entry fails.
 */
class LayersTest {
    private static final Pattern IMPORT = Pattern.compile("^import (static )?io\\.havm\\.([a-z]+)(\\.([a-z]+))?",
            Pattern.MULTILINE);

    /** package -> layers of ours it may import (itself always allowed). Every package must be listed. */
    private static final Map<String, List<String>> ALLOWED = Map.ofEntries(
            Map.entry("model", List.of()),
            Map.entry("policy", List.of("model")),
            Map.entry("config", List.of("model", "policy")),
            Map.entry("port", List.of("model")),
            Map.entry("engine", List.of("model", "port", "policy")),
            Map.entry("resource", List.of("model", "port", "util", "storage")),
            Map.entry("storage", List.of("model", "util", "port")),
            Map.entry("util", List.of("model", "port")),
            Map.entry("libvirt", List.of("model", "port", "util")),
            Map.entry("fencing", List.of("model", "port", "util")),
            Map.entry("coordination", List.of("model", "port", "util")),
            Map.entry("sim", List.of("model", "policy", "config")),
            // the simulator wires the real engine and resources on its simulated ports, as a host's main does
            Map.entry("sim.engine", List.of("model", "policy", "config", "engine", "port", "resource")),
            Map.entry("lab", List.of("model", "engine", "port", "util", "config", "coordination", "policy",
                    "storage")),
            // the top: may use every layer, and nothing may use it
            Map.entry("api", List.of("model", "policy", "config", "port", "engine", "resource", "storage", "util",
                    "libvirt", "fencing", "coordination", "sim", "sim.engine", "lab")));

    /** The pure policy core may use only these of the JDK. */
    private static final Pattern POLICY_JDK = Pattern.compile("^import (static )?java\\.(util|time|lang)\\.",
            Pattern.MULTILINE);
    private static final Pattern ANY_IMPORT = Pattern.compile("^import (static )?([a-z][\\w.]*)", Pattern.MULTILINE);

    @Test
    void importsRespectTheLayers() throws IOException {
        List<String> violations = new ArrayList<>();
        Path root = Path.of("src/main/java/io/havm");
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
                List<String> allowed = ALLOWED.get(pkg);
                if (allowed == null) {
                    violations.add(f.getFileName() + ": package " + pkg + " has no entry in LayersTest.ALLOWED");
                    continue;
                }
                String text = Files.readString(f);
                if (pkg.equals("policy")) {
                    Matcher any = ANY_IMPORT.matcher(text);
                    while (any.find()) {
                        String imp = any.group(2);
                        if (!imp.startsWith("io.havm.model.") && !imp.startsWith("io.havm.policy.")
                                && !POLICY_JDK.matcher("import " + imp).find()) {
                            violations.add(f.getFileName() + " (policy) imports " + imp);
                        }
                    }
                }
                Matcher m = IMPORT.matcher(text);
                while (m.find()) {
                    String target = m.group(2) + ("sim".equals(m.group(2)) && "engine".equals(m.group(4)) ? ".engine" : "");
                    if (!target.equals(pkg) && !allowed.contains(target)) {
                        violations.add(f.getFileName() + " (" + pkg + ") imports " + target);
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }
}
