package io.havm.policy;

/**
 * The milestones of a group's recovery as havm's timeline says them: a node's loss detected, that
 * node fenced, the group placed on a survivor (starting there), the group running (online there).
 * Read from the lines the coordinator writes (see StepContext); shared by the drill report
 * (io.havm.drill.DrillHtml) and the REST API's incidents (io.havm.http.Incidents).
 */
public final class Milestones {
    public static final String DETECTED = "detected";
    public static final String FENCED = "fenced";
    public static final String PLACED = "placed";
    public static final String RUNNING = "running";

    private Milestones() {}

    /**
     * Which milestone of {@code group}'s recovery the event text (a timeline line without its time)
     * is, or null: a node lost ({@code node: up -> lost}) and fenced ({@code -> fenced}) are every
     * group's that ran there; placed ({@code -> starting on}) and running ({@code -> online on})
     * are the group's own.
     */
    public static String of(String text, String group) {
        if (text.contains("node: up -> lost")) {
            return DETECTED;
        }
        if (text.contains(" node: ") && text.contains("-> fenced")) {
            return FENCED;
        }
        if (text.contains("group " + group + ":") && text.contains("-> starting on")) {
            return PLACED;
        }
        if (text.contains("group " + group + ":") && text.contains("-> online on")) {
            return RUNNING;
        }
        return null;
    }
}
