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
                throw error(t.getKeyNode(), f, "unknown field (allowed: " + String.join(", ", new TreeSet<>(allowed))
                        + ")");
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
        try {
            long x = Long.parseLong(v);
            if (x < min || x > max) {
                throw error(n, field, v + " is out of range (allowed: " + min + ".." + max + ")");
            }
            return x;
        } catch (NumberFormatException e) {
            throw error(n, field, "'" + v + "' is not a whole number");
        }
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

    /** A duration like 500ms, 3s, 15m, 6h; "never" gives null when allowed. */
    Duration duration(Map<String, Node> m, String key, String field, Duration dflt, boolean neverAllowed) {
        Node n = m.get(key);
        if (n == null) {
            return dflt;
        }
        String v = scalar(n, field);
        if (neverAllowed && v.equals("never")) {
            return null;
        }
        Matcher x = DURATION.matcher(v);
        if (!x.matches()) {
            throw error(n, field, "'" + v + "' is not a duration (a number with ms, s, m or h, e.g. 3s"
                    + (neverAllowed ? "; or never" : "") + ")");
        }
        long k = Long.parseLong(x.group(1));
        return switch (x.group(2)) {
            case "ms" -> Duration.ofMillis(k);
            case "s" -> Duration.ofSeconds(k);
            case "m" -> Duration.ofMinutes(k);
            default -> Duration.ofHours(k);
        };
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
