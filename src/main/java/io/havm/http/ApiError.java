package io.havm.http;

import java.util.List;

/**
 * A request refused: its HTTP status and the body {@code {error, field?, allowed?, known?}}.
 *
 * @param field the field (or path parameter, query parameter, header) at fault, or null
 * @param allowed the values allowed there, or null
 * @param known for an unknown name, the names there are, or null
 */
final class ApiError extends RuntimeException {
    final int status;
    final String field;
    final List<String> allowed;
    final List<String> known;

    ApiError(int status, String error, String field, List<String> allowed, List<String> known) {
        super(error);
        this.status = status;
        this.field = field;
        this.allowed = allowed;
        this.known = known;
    }

    ApiError(int status, String error, String field) {
        this(status, error, field, null, null);
    }
}
