package io.havm.model;

import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Parses configuration words into enums with an error that names the field and the allowed values. */
public final class Words {
    private Words() {}

    public static <E extends Enum<E>> E parse(Class<E> type, String field, String value, Function<E, String> word) {
        for (E e : type.getEnumConstants()) {
            if (word.apply(e).equals(value)) {
                return e;
            }
        }
        String allowed = Arrays.stream(type.getEnumConstants()).map(word).collect(Collectors.joining(", "));
        throw new InvalidInputException(field, "'" + value + "' is not allowed (allowed: " + allowed + ")");
    }
}
