package io.havm.model;

/**
 * Bad input rejected at the edge. The message always names where (file and/or field) and what is
 * allowed; callers map it to exit code 2 / HTTP 400 and change nothing.
 */
public class InvalidInputException extends RuntimeException {
    private final String where;
    private final String problem;

    public InvalidInputException(String where, String problem) {
        super(where + ": " + problem);
        this.where = where;
        this.problem = problem;
    }

    public String where() {
        return where;
    }

    /** What is wrong and what is allowed, without where. */
    public String problem() {
        return problem;
    }
}
