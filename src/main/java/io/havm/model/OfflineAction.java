package io.havm.model;

/** What Offline does to a VM. Names are the configuration words. */
public enum OfflineAction {
    /** Save memory state to a file on shared storage; the next Online (on any node) restores it. The default. */
    SAVE("save"),
    /** ACPI shutdown; Timeout if the guest does not stop within the offline timeout. */
    SHUTDOWN("shutdown"),
    /** ACPI shutdown, then turn off when the offline timeout passes. */
    FORCED_SHUTDOWN("forced-shutdown"),
    /** Pull the virtual plug at once (virDomainDestroy). */
    TURN_OFF("turn-off");

    public final String word;

    OfflineAction(String word) { this.word = word; }

    public static OfflineAction parse(String field, String value) {
        return Words.parse(OfflineAction.class, field, value, a -> a.word);
    }
}
