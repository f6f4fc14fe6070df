package io.havm.model;

/** What Terminate does after IsAlive failed because the guest agent stopped answering. */
public enum AgentFailureAction {
    /** Save the hung guest's state for later analysis; restore brings back the hung guest. */
    SAVE("save"),
    /** Turn it off so it boots fresh wherever it comes online next. The default. */
    TURN_OFF("turn-off");

    public final String word;

    AgentFailureAction(String word) { this.word = word; }

    public static AgentFailureAction parse(String field, String value) {
        return Words.parse(AgentFailureAction.class, field, value, a -> a.word);
    }
}
