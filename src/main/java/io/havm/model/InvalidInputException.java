package io.havm.model;

/**
 * Bad input rejected at the edge. The message always names where (file and/or field) and what is
 * allowed; callers map it to exit code 2 / HTTP 400 and change nothing.
 */
public class InvalidInputException extends RuntimeException {
    private final String where;

    public InvalidInputException(String where, String problem) {
        super(where + ": " + problem);
        this.where = where;
    }

    public String where() {
        return where;
    }
}
