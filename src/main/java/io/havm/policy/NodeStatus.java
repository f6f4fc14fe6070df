package io.havm.policy;

/** What the coordinator knows about a node. */
public enum NodeStatus {
    /** A live member. */
    UP,
    /** Its session expired: it may still run VMs (cut off) until fenced. */
    LOST,
    /** Proven off: fence agent confirmed, or the self-fence deadline passed. */
    FENCED,
    /** Left cleanly (shutdown after drain): runs nothing. */
    DOWN;

    public String word() {
        return name().toLowerCase();
    }
}
