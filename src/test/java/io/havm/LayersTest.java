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
 * nothing of ours; policy only on model and java.util/java.time; the ports only on model; the
 * engine only on ports, policy and model (never on resources, storage, libvirt, lab or api);
 * drivers (libvirt, fencing, coordination, storage) never on api or lab; nothing on api; and production code never on the lab (the lab's own commands, havm demo and havm
 * bench, start from its own entry point). No allowances: every package must be listed, a new one
 * declares its layer.
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
            // the simulator wires the real engine and resources on its simulated ports, as a host's main does
            Map.entry("sim.engine", List.of("model", "policy", "config", "engine", "port", "resource")),
            Map.entry("port", List.of("model")),
            Map.entry("engine", List.of("model", "port", "policy")),
            Map.entry("resource", List.of("model", "port", "util", "storage")),
            Map.entry("storage", List.of("model", "util", "port")),
            Map.entry("util", List.of("model", "port")),
            Map.entry("libvirt", List.of("model", "port", "util")),
            Map.entry("fencing", List.of("model", "port", "util")),
            Map.entry("coordination", List.of("model", "port", "util")),
            Map.entry("lab", List.of("model", "engine", "port", "util", "config", "coordination", "policy",
                    "storage", "libvirt", "resource", "drill", "validate")),
            // drills: playbooks run on the simulator (the real engine) or on real hosts
            Map.entry("drill", List.of("model", "policy", "config", "sim.engine", "engine", "port", "util")),
            Map.entry("validate", List.of("model", "policy", "config", "port", "util", "libvirt", "fencing",
                    "resource", "storage")),
            // an agent's Prometheus metrics: fed by the engine's observer, reading its state
            Map.entry("metrics", List.of("model", "policy", "port", "engine")),
            // the REST API every agent serves: the cluster store, the configuration in force, secret files
            Map.entry("http", List.of("model", "policy", "config", "port", "engine", "coordination", "util")),
            Map.entry("guestcluster", List.of("model", "config", "policy", "storage", "libvirt", "port",
                    "coordination", "util")),
            // The top: the commands wire every layer together, except the lab (whose own commands,
            // havm demo and havm bench, have their own entry point in it).
            Map.entry("api", List.of("model", "policy", "config", "sim", "sim.engine", "port", "engine",
                    "resource", "storage", "util", "libvirt", "fencing", "coordination", "guestcluster", "drill", "validate", "metrics", "http")));

    /** The pure policy core may use only these of the JDK. */
    private static final Pattern POLICY_JDK = Pattern.compile("^import (static )?java\\.(util|time|lang)\\.",
            Pattern.MULTILINE);
    private static final Pattern ANY_IMPORT = Pattern.compile("^import (static )?([a-z][\\w.]*)", Pattern.MULTILINE);

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
                for (Pattern p : List.of(IMPORT, QUALIFIED)) {
                    Matcher m = p.matcher(p == IMPORT ? text : code(text));
                    while (m.find()) {
                        String target = m.group(2) + ("sim".equals(m.group(2)) && "engine".equals(m.group(4))
                                ? "." + m.group(4) : "");
                        if (!target.equals(pkg) && !allowed.contains(target)) {
                            violations.add(f.getFileName() + " (" + pkg + ") uses " + target);
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }
}
