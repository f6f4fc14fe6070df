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
 * Pins the layers of DESIGN.md by scanning imports: model depends on nothing of ours; the engine's
 * ports only on model; resources and the engine never on a driver (libvirt) or on api; drivers
 * never on api.
 */
class LayersTest {
    private static final Pattern IMPORT = Pattern.compile("^import (static )?io\\.havm\\.([a-z]+)(\\.([a-z]+))?",
            Pattern.MULTILINE);

    /** package -> layers of ours it may import (itself always allowed). */
    private static final Map<String, List<String>> ALLOWED = Map.ofEntries(
            Map.entry("model", List.of()),
            Map.entry("policy", List.of("model")),
            Map.entry("config", List.of("model", "policy")),
            Map.entry("sim", List.of("model", "policy", "config")),
            Map.entry("sim.engine", List.of("model", "policy", "config", "engine", "engine.port", "resource")),
            Map.entry("engine.port", List.of("model")),
            Map.entry("engine", List.of("model", "engine.port", "resource", "policy", "storage")),
            Map.entry("resource", List.of("model", "engine.port", "util", "storage")),
            Map.entry("storage", List.of("model", "util", "engine.port")),
            Map.entry("util", List.of()),
            Map.entry("libvirt", List.of("model", "engine.port", "util")),
            Map.entry("fencing", List.of("model", "engine.port", "util")),
            Map.entry("coordination", List.of("model", "engine.port", "util")),
            Map.entry("lab", List.of("model", "engine", "engine.port", "util", "config", "coordination", "policy",
                    "storage")));

    @Test
    void importsRespectTheLayers() throws IOException {
        List<String> violations = new ArrayList<>();
        Path root = Path.of("src/main/java/io/havm");
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
                List<String> allowed = ALLOWED.get(pkg);
                if (allowed == null) {
                    continue; // api: the top, may use everything
                }
                Matcher m = IMPORT.matcher(Files.readString(f));
                while (m.find()) {
                    String target = m.group(2) + ("engine".equals(m.group(2)) && "port".equals(m.group(4)) ? ".port" : "");
                    if (!target.equals(pkg) && !allowed.contains(target)) {
                        violations.add(f.getFileName() + " (" + pkg + ") imports " + target);
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }
}
