package io.havm.config;

import io.havm.model.InvalidInputException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Typed reads of a SnakeYAML node tree that keep line numbers, so every error names
 * {@code file:line: field: problem (allowed: …)}.
 */
final class Yaml {
    private static final Pattern DURATION = Pattern.compile("([0-9]+)(ms|s|m|h)");

    final String file;

    Yaml(String file) {
        this.file = file;
    }

    InvalidInputException error(Node at, String field, String problem) {
        int line = at == null ? 0 : at.getStartMark().getLine() + 1;
        return new InvalidInputException(file + ":" + line + ": " + field, problem);
    }

    /** The mapping's entries by key, refusing duplicate and unknown keys. */
    Map<String, Node> mapping(Node n, String field, Set<String> allowed) {
        if (!(n instanceof MappingNode m)) {
            if (field.isEmpty()) {
                throw new InvalidInputException(file + ":" + (n == null ? 0 : n.getStartMark().getLine() + 1),
                        "the document must be a mapping" + (allowed == null ? "" : " of " + String.join(", ",
                        new TreeSet<>(allowed))));
            }
            throw error(n, field, "must be a mapping");
        }
        Map<String, Node> out = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            String key = scalar(t.getKeyNode(), field + " key");
            String f = field.isEmpty() ? key : field + "." + key;
            if (out.containsKey(key)) {
                throw error(t.getKeyNode(), f, "given twice");
            }
            if (allowed != null && !allowed.contains(key)) {
                throw error(t.getKeyNode(), f, "unknown field" + InvalidInputException.didYouMean(key, allowed)
                        + " (allowed: " + (allowed.isEmpty() ? "none" : String.join(", ", new TreeSet<>(allowed))) + ")");
            }
            out.put(key, t.getValueNode());
        }
        return out;
    }

    List<Node> sequence(Node n, String field) {
        if (!(n instanceof SequenceNode s)) {
            throw error(n, field, "must be a list");
        }
        return new ArrayList<>(s.getValue());
    }

    String scalar(Node n, String field) {
        if (!(n instanceof ScalarNode s)) {
            throw error(n, field, "must be a single value");
        }
        if (s.getValue().indexOf('\0') >= 0) {
            // never meaningful, and a path or argument holding one fails far from here
            throw error(n, field, "must not contain a NUL character (\\0)");
        }
        return s.getValue();
    }

    String text(Map<String, Node> m, String key, String field, String dflt) {
        Node n = m.get(key);
        if (n == null) {
            if (dflt == null) {
                throw error(null, field, "is required");
            }
            return dflt;
        }
        String v = scalar(n, field);
        if (v.isBlank()) {
            throw error(n, field, "must not be empty");
        }
        return v;
    }

    String required(Map<String, Node> m, String key, String field, Node parent) {
        if (!m.containsKey(key)) {
            throw error(parent, field, "is required");
        }
        return text(m, key, field, null);
    }

    long integer(Map<String, Node> m, String key, String field, long dflt, long min, long max) {
        Node n = m.get(key);
        if (n == null) {
            return dflt;
        }
        String v = scalar(n, field);
        long x;
        try {
            x = Long.parseLong(v);
        } catch (NumberFormatException e) {
            if (v.matches("[-+]?[0-9]+")) { // digits, past what a long holds
                throw error(n, field, v + " is out of range (allowed: " + min + ".." + max + ")");
            }
            throw error(n, field, "'" + v + "' is not a whole number (allowed: " + min + ".." + max + ")");
        }
        if (x < min || x > max) {
            throw error(n, field, v + " is out of range (allowed: " + min + ".." + max + ")");
        }
        return x;
    }

    boolean bool(Map<String, Node> m, String key, String field, boolean dflt) {
        Node n = m.get(key);
        if (n == null) {
            return dflt;
        }
        String v = scalar(n, field);
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw error(n, field, "'" + v + "' is not allowed (allowed: true, false)");
        };
    }

    /** The longest duration any field takes unless it says otherwise: longer is a typo, or an overflow. */
    static final Duration LONGEST = Duration.ofDays(30);

    /** A duration like 500ms, 3s, 15m, 6h, 0..30 days; "never" gives null when allowed. */
    Duration duration(Map<String, Node> m, String key, String field, Duration dflt, boolean neverAllowed) {
        return duration(m, key, field, dflt, neverAllowed, Duration.ZERO, LONGEST);
    }

    /** As {@link #duration(Map, String, String, Duration, boolean)}, within {@code min..max}. */
    Duration duration(Map<String, Node> m, String key, String field, Duration dflt, boolean neverAllowed,
            Duration min, Duration max) {
        Node n = m.get(key);
        if (n == null) {
            return dflt;
        }
        String v = scalar(n, field);
        if (neverAllowed && v.equals("never")) {
            return null;
        }
        String range = " (allowed: " + word(min) + ".." + word(max) + (neverAllowed ? ", or never" : "") + ")";
        Matcher x = DURATION.matcher(v);
        if (!x.matches()) {
            throw error(n, field, "'" + v + "' is not a duration (a number with ms, s, m or h, e.g. 3s"
                    + (neverAllowed ? "; or never" : "") + ")");
        }
        Duration d;
        try {
            long k = Long.parseLong(x.group(1));
            d = switch (x.group(2)) {
                case "ms" -> Duration.ofMillis(k);
                case "s" -> Duration.ofSeconds(k);
                case "m" -> Duration.ofMinutes(k);
                default -> Duration.ofHours(k);
            };
        } catch (NumberFormatException | ArithmeticException e) {
            d = null; // past what a Duration holds: out of any range
        }
        if (d == null || d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw error(n, field, "'" + v + "' is out of range" + range);
        }
        return d;
    }

    /** A duration as the configuration writes it: 0s, 250ms, 3s, 2m, 6h. */
    static String word(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }

    List<String> names(Map<String, Node> m, String key, String field) {
        Node n = m.get(key);
        if (n == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Node e : sequence(n, field)) {
            String v = scalar(e, field + "[]");
            if (!seen.add(v)) {
                throw error(e, field, "'" + v + "' listed twice");
            }
            out.add(v);
        }
        return out;
    }
}
