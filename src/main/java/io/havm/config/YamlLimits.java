package io.havm.config;

import io.havm.model.InvalidInputException;
import java.io.StringReader;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.CollectionEndEvent;
import org.yaml.snakeyaml.events.CollectionStartEvent;
import org.yaml.snakeyaml.events.Event;

/**
 * Says which of SnakeYAML's limits a document broke, where, and what the limit is. SnakeYAML
 * refuses a "billion laughs" (aliases of lists or mappings expanding exponentially), nesting
 * deeper than its limit and a document above its size limit, but its exception names no line;
 * the document's events (which expand nothing) are read again to find the first one past the
 * limit.
 */
final class YamlLimits {
    private YamlLimits() {}

    static InvalidInputException explain(String file, String text, LoaderOptions opts, YAMLException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("code points") || m.contains("exceeds the limit")) {
            return new InvalidInputException(file, "is larger than " + opts.getCodePointLimit() + " characters,"
                    + " the most a configuration may hold");
        }
        boolean aliases = m.contains("aliases");
        boolean depth = m.contains("Nesting Depth");
        int line = aliases || depth ? locate(text, opts, aliases) : 0;
        String at = file + (line > 0 ? ":" + line : "");
        if (aliases) {
            return new InvalidInputException(at, "too many aliases (*name) of lists or mappings: at most "
                    + opts.getMaxAliasesForCollections() + " are allowed (a document that expands by aliases, a"
                    + " \"billion laughs\", is refused)");
        }
        if (depth) {
            return new InvalidInputException(at, "lists and mappings nested too deeply: at most "
                    + opts.getNestingDepthLimit() + " levels are allowed");
        }
        return new InvalidInputException(file, "unreadable YAML: " + m.split("\n")[0]);
    }

    /** The line of the first event past the limit (0: not found). */
    private static int locate(String text, LoaderOptions opts, boolean aliases) {
        int depth = 0;
        int count = 0;
        java.util.Set<String> collections = new java.util.HashSet<>(); // anchors of lists and mappings
        try {
            for (Event ev : new org.yaml.snakeyaml.Yaml(opts).parse(new StringReader(text))) {
                if (ev instanceof org.yaml.snakeyaml.events.ScalarEvent s && s.getAnchor() != null) {
                    collections.remove(s.getAnchor());
                } else if (ev instanceof CollectionStartEvent c) {
                    if (c.getAnchor() != null) {
                        collections.add(c.getAnchor());
                    }
                    depth++;
                    if (!aliases && depth > opts.getNestingDepthLimit()) {
                        return ev.getStartMark().getLine() + 1;
                    }
                } else if (ev instanceof CollectionEndEvent) {
                    depth--;
                } else if (ev instanceof AliasEvent a && aliases && collections.contains(a.getAnchor())
                        && ++count > opts.getMaxAliasesForCollections()) {
                    return ev.getStartMark().getLine() + 1;
                }
            }
        } catch (YAMLException | StackOverflowError e) {
            return 0;
        }
        return 0;
    }
}
