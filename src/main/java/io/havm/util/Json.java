package io.havm.util;

/** One JSON document on one line: what a command prints with {@code --json} (for scripts and jq). */
public final class Json {
    private Json() {}

    public static String write(Object document) {
        try {
            return io.havm.engine.Codec.json().writeValueAsString(document);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getOriginalMessage(), e);
        }
    }
}
