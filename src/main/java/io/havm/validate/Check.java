package io.havm.validate;

/**
 * One line of a validation report: a check about one subject (a host, an HA VM, the cluster),
 * where it was seen, what was found and how to fix it.
 *
 * @param id stable check name, e.g. {@code vm.network} (the JSON schema's contract)
 * @param kind what the subject is
 * @param subject the host's node name, the VM's domain name, or the cluster's name
 * @param host for a VM check, the possible owner it was made on; null when it is about the VM alone
 * @param status the outcome
 * @param detail what was found
 * @param hint how to fix it; empty when nothing is to be done
 */
public record Check(String id, Kind kind, String subject, String host, Status status, String detail, String hint) {

    /** What a check is about. */
    public enum Kind {
        /** A node of the cluster. */
        HOST,
        /** An HA VM (a VM resource of a group). */
        VM,
        /** The cluster as a whole. */
        CLUSTER;

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The outcome of a check. */
    public enum Status {
        /** As it should be. */
        PASS,
        /** Works, but worth the operator's attention (a mismatch, a risk, something unmeasurable). */
        WARN,
        /** Fails over or runs wrongly as configured: validate exits 1. */
        FAIL,
        /** Not checked, because what it needs is missing (an unreachable host): the detail says why. */
        SKIP
    }

    public Check {
        hint = hint == null ? "" : hint;
    }

    static Check host(String id, String host, Status s, String detail, String hint) {
        return new Check(id, Kind.HOST, host, null, s, detail, hint);
    }

    static Check vm(String id, String vm, String host, Status s, String detail, String hint) {
        return new Check(id, Kind.VM, vm, host, s, detail, hint);
    }

    static Check cluster(String id, String cluster, Status s, String detail, String hint) {
        return new Check(id, Kind.CLUSTER, cluster, null, s, detail, hint);
    }
}
