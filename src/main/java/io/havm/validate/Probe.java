package io.havm.validate;

/**
 * A host's answer to one question (is this bridge there, is this machine type supported, how does
 * it see this file): yes with a value, no with libvirt's reason, or an error asking.
 */
public record Probe(Answer answer, String value) {

    /** The kind of answer. */
    public enum Answer {
        /** It is there / supported; {@code value} says what was found. */
        YES,
        /** It is not; {@code value} says why (libvirt's words when it gave some). */
        NO,
        /** The question could not be answered; {@code value} is the error. */
        ERROR
    }

    public static Probe yes(String value) {
        return new Probe(Answer.YES, value);
    }

    public static Probe no(String why) {
        return new Probe(Answer.NO, why);
    }

    public static Probe error(String why) {
        return new Probe(Answer.ERROR, why);
    }

    public boolean yes() {
        return answer == Answer.YES;
    }
}
