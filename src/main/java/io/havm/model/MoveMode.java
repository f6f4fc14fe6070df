package io.havm.model;

/** How a VM moves between nodes for planned work. */
public enum MoveMode {
    /** Live migration: memory copied while the guest runs; downtime of a few hundred ms. */
    LIVE("live"),
    /** Save state to shared storage, restore on the target; the guest pauses for seconds but keeps its state. */
    QUICK("quick"),
    /** The VM's offline action on the source, then Online on the target. */
    OFFLINE("offline");

    public final String word;

    MoveMode(String word) { this.word = word; }

    public static MoveMode parse(String field, String value) {
        return Words.parse(MoveMode.class, field, value, m -> m.word);
    }
}
