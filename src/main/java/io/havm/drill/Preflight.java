package io.havm.drill;

import java.util.List;

/**
 * What {@code havm validate} said of the drill's cluster before the first step: a drill on real
 * hosts starts with it, and does not run its steps on a cluster with a failing check unless
 * forced ({@code --force}).
 *
 * @param status passed, warnings, failed, or not-run (a simulated target has no hosts to validate)
 * @param problems each failing (then warning) check: its subject, what was found and the fix
 * @param detail where the whole report is, or why it did not run
 */
public record Preflight(String status, int pass, int warn, int fail, int skip, List<String> problems, String detail) {

    public static Preflight notRun(String why) {
        return new Preflight("not-run", 0, 0, 0, 0, List.of(), why);
    }

    /** {@code havm validate}'s counts and problems: failed with a failing check, else warnings with a warning. */
    public static Preflight of(long pass, long warn, long fail, long skip, List<String> problems, String detail) {
        return new Preflight(fail > 0 ? "failed" : warn > 0 ? "warnings" : "passed", (int) pass, (int) warn,
                (int) fail, (int) skip, List.copyOf(problems), detail);
    }

    public boolean failed() {
        return "failed".equals(status);
    }

    /** One line: the counts, or why it did not run. */
    public String summary() {
        return status.equals("not-run") ? "not validated: " + detail
                : String.format("validate: %s (%d pass, %d warn, %d fail, %d skipped)", status, pass, warn, fail, skip);
    }
}
