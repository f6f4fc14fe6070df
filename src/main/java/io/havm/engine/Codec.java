package io.havm.engine;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Input;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * How the engine keeps policy values in the cluster store: JSON, with the record's simple name as
 * the type for inputs and commands. The policy stays free of any serialisation framework.
 */
public final class Codec {
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private Codec() {}

    public static byte[] state(ClusterState s) {
        return write(s);
    }

    public static ClusterState state(byte[] b) {
        return read(b, ClusterState.class);
    }

    public static byte[] node(ClusterState.Node n) {
        return write(n);
    }

    public static ClusterState.Node node(byte[] b) {
        return read(b, ClusterState.Node.class);
    }

    public static byte[] group(ClusterState.Group g) {
        return write(g);
    }

    public static ClusterState.Group group(byte[] b) {
        return read(b, ClusterState.Group.class);
    }

    /** Any value Jackson maps (the store's own records: the state's meta, redo batches, event batches). */
    public static byte[] value(Object o) {
        return write(o);
    }

    public static <T> T value(byte[] b, Class<T> c) {
        return read(b, c);
    }

    public static <T> T value(byte[] b, com.fasterxml.jackson.core.type.TypeReference<T> t) {
        try {
            return JSON.readValue(b, t);
        } catch (IOException e) {
            throw new UncheckedIOException("undecodable " + t.getType(), e);
        }
    }

    public static byte[] input(Input in) {
        return typed(in);
    }

    public static Input input(byte[] b) {
        return untyped(b, Input.class);
    }

    public static byte[] command(Command c) {
        return typed(c);
    }

    public static Command command(byte[] b) {
        return untyped(b, Command.class);
    }

    private static byte[] typed(Object o) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", o.getClass().getSimpleName());
        n.set("data", JSON.valueToTree(o));
        return write(n);
    }

    private static <T> T untyped(byte[] b, Class<T> sealed) {
        try {
            JsonNode n = JSON.readTree(b);
            String type = n.path("type").asText();
            for (Class<?> c : sealed.getPermittedSubclasses()) {
                if (c.getSimpleName().equals(type)) {
                    return sealed.cast(JSON.treeToValue(n.path("data"), c));
                }
            }
            throw new IllegalArgumentException("unknown " + sealed.getSimpleName() + " type '" + type + "'");
        } catch (IOException e) {
            throw new UncheckedIOException("undecodable " + sealed.getSimpleName() + ": "
                    + new String(b, StandardCharsets.UTF_8), e);
        }
    }

    private static byte[] write(Object o) {
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static <T> T read(byte[] b, Class<T> c) {
        try {
            return JSON.readValue(b, c);
        } catch (IOException e) {
            throw new UncheckedIOException("undecodable " + c.getSimpleName(), e);
        }
    }

    public static ObjectMapper json() {
        return JSON;
    }
}
