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
 * Pins the layers of DESIGN.md by scanning imports and fully qualified names: model depends on
 * nothing of ours; the engine's ports only on model; resources and the engine never on a driver
 * (libvirt) or on api; drivers (libvirt, fencing, coordination, storage) never on api or lab;
 * nothing on api; and production code never on the lab, except api dispatching the lab's own
 * commands (havm demo, havm bench). Every package must be listed: a new one declares its layer.
 */
class LayersTest {
    private static final Pattern IMPORT = Pattern.compile("^import (static )?io\\.havm\\.([a-z]+)(\\.([a-z]+))?",
            Pattern.MULTILINE);
    /** A fully qualified name in the code (io.havm.lab.Demo), which an import scan alone would miss. */
    private static final Pattern QUALIFIED = Pattern.compile("(?<![\\w.])()io\\.havm\\.([a-z]+)(\\.([a-z]+))?\\.[A-Z]");

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
                    "storage", "libvirt")),
            Map.entry("guestcluster", List.of("model", "config", "policy", "storage", "libvirt", "engine.port",
                    "coordination", "util")),
            // The top: the commands wire every layer together. Only the dispatch of the lab's own
            // commands may reach the lab (see labOnlyFromTheLabsOwnCommands).
            Map.entry("api", List.of("model", "policy", "config", "sim", "sim.engine", "engine.port", "engine",
                    "resource", "storage", "util", "libvirt", "fencing", "coordination", "guestcluster", "lab")));

    /** The only references from outside the lab into it: api's dispatch of havm demo and havm bench. */
    private static final Map<String, List<String>> LAB_ENTRY_POINTS = Map.of("Main.java",
            List.of("io.havm.lab.Demo", "io.havm.lab.Bench"));

    /** The code without its comments (a comment may name any class: {@code see io.havm.config.X}). */
    private static String code(String text) {
        return COMMENT.matcher(text).replaceAll(" ");
    }

    private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

    @Test
    void importsRespectTheLayers() throws IOException {
        List<String> violations = new ArrayList<>();
        Path root = Path.of("src/main/java/io/havm");
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
                List<String> allowed = ALLOWED.get(pkg);
                if (allowed == null) {
                    violations.add(f.getFileName() + ": package " + pkg + " has no layer in LayersTest.ALLOWED");
                    continue;
                }
                String text = Files.readString(f);
                for (Pattern p : List.of(IMPORT, QUALIFIED)) {
                    Matcher m = p.matcher(p == IMPORT ? text : code(text));
                    while (m.find()) {
                        String target = m.group(2) + (("engine".equals(m.group(2)) && "port".equals(m.group(4)))
                                || ("sim".equals(m.group(2)) && "engine".equals(m.group(4))) ? "." + m.group(4) : "");
                        if (!target.equals(pkg) && !allowed.contains(target)) {
                            violations.add(f.getFileName() + " (" + pkg + ") uses " + target);
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }

    @Test
    void productionCodeReachesTheLabOnlyThroughTheLabsOwnCommands() throws IOException {
        List<String> violations = new ArrayList<>();
        Path root = Path.of("src/main/java/io/havm");
        Pattern lab = Pattern.compile("io\\.havm\\.lab\\.[A-Z]\\w*");
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java") && !p.startsWith(root.resolve("lab")))
                    .toList()) {
                Matcher m = lab.matcher(code(Files.readString(f)));
                while (m.find()) {
                    if (!LAB_ENTRY_POINTS.getOrDefault(f.getFileName().toString(), List.of()).contains(m.group())) {
                        violations.add(f.getFileName() + " uses " + m.group());
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }
}
