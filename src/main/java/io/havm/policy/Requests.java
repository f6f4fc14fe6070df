package io.havm.policy;

import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.MoveMode;
import java.util.Collection;
import java.util.List;

/**
 * An operator's request (group move|online|offline, node drain|resume|shutdown) checked against
 * the configuration in force and made into the {@link Input} the coordinator consumes: what the
 * CLI and the REST API both submit (io.havm.engine.ClusterStore#submit), so that both refuse the
 * same things with the same words, before anything is stored.
 */
public final class Requests {
    public static final List<String> GROUP_VERBS = List.of("move", "online", "offline");
    public static final List<String> NODE_VERBS = List.of("drain", "resume", "shutdown");

    private Requests() {}

    /** A name the configuration in force does not have: its kind and the names it has. */
    public static final class Unknown extends InvalidInputException {
        private final String kind;
        private final List<String> known;

        Unknown(String where, String kind, String name, Collection<String> known) {
            super(where, "unknown " + kind + " '" + name + "' (" + kind + "s: " + String.join(", ", known) + ")");
            this.kind = kind;
            this.known = List.copyOf(known);
        }

        public String kind() {
            return kind;
        }

        public List<String> known() {
            return known;
        }
    }

    /** {@code verb} is one of {@code allowed} (a group's or a node's). */
    public static void checkVerb(String where, String verb, List<String> allowed) {
        if (!allowed.contains(verb)) {
            throw new InvalidInputException(where, "unknown subcommand '" + verb + "' (allowed: "
                    + String.join(", ", allowed) + ")");
        }
    }

    /** A move mode, live when not given. */
    public static MoveMode mode(String field, String mode) {
        return MoveMode.parse(field, mode == null ? "live" : mode);
    }

    /**
     * group {@code verb} {@code name}; for a move, {@code to} (named {@code toField} in errors) and
     * {@code mode} ({@code modeField}).
     */
    public static Input group(ClusterSpec spec, String where, String verb, String name, String to, String toField,
            String mode, String modeField) {
        checkVerb(where, verb, GROUP_VERBS);
        if (!spec.groups().containsKey(name)) {
            throw new Unknown(where, "group", name, spec.groups().keySet());
        }
        return switch (verb) {
            case "move" -> {
                if (to == null) {
                    throw new InvalidInputException(toField, "is required: the node to move " + name + " to (nodes: "
                            + String.join(", ", spec.nodeNames()) + ")");
                }
                requireNode(spec, toField, to);
                yield new Input.MoveGroup(name, to, mode(modeField, mode));
            }
            case "online" -> new Input.GroupOnline(name);
            default -> new Input.GroupOffline(name);
        };
    }

    /** node {@code verb} {@code name} ({@code failback}: resume's). */
    public static Input node(ClusterSpec spec, String where, String verb, String name, boolean failback) {
        checkVerb(where, verb, NODE_VERBS);
        requireNode(spec, where, name);
        return switch (verb) {
            case "drain" -> new Input.DrainNode(name);
            case "resume" -> new Input.ResumeNode(name, failback);
            default -> new Input.ShutdownNode(name);
        };
    }

    public static void requireNode(ClusterSpec spec, String where, String name) {
        if (spec.node(name).isEmpty()) {
            throw new Unknown(where, "node", name, spec.nodeNames());
        }
    }
}
