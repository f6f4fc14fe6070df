package io.havm.util;

/** One JSON document on one line: what a command prints with {@code --json} (for scripts and jq). */
public final class Json {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private Json() {}

    public static String write(Object document) {
        try {
            return JSON.writeValueAsString(document);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getOriginalMessage(), e);
        }
    }
}
