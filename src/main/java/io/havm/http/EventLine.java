package io.havm.http;

import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One line of the cluster's timeline as the coordinator wrote it ({@code <time> <text>}), with what
 * can be read from it: the group and node it is about. The raw line is always kept.
 *
 * @param seq its place in the timeline, from 1 (lines are only ever appended)
 * @param time when the coordinator wrote it; null when the line has no time
 * @param group the group it is about, or null
 * @param node the node it is about (a group line's node, a node line's node), or null
 */
public record EventLine(long seq, Instant time, String text, String group, String node, String raw) {
    private static final Pattern GROUP = Pattern.compile("(?:(\\S+) )?group ([A-Za-z0-9_.-]+): .*");
    private static final Pattern NODE = Pattern.compile("(?:(\\S+) node|node (\\S+)): .*");
    private static final Pattern REFUSED = Pattern.compile("(\\S+) refused: (?:\\S+ ([A-Za-z0-9_.-]+))?.*");

    public static EventLine parse(long seq, String raw) {
        Instant time = null;
        String text = raw;
        int sp = raw.indexOf(' ');
        if (sp > 0) {
            try {
                time = Instant.parse(raw.substring(0, sp));
                text = raw.substring(sp + 1);
            } catch (java.time.format.DateTimeParseException e) {
                // a line without its time: kept whole
            }
        }
        String group = null;
        String node = null;
        Matcher m;
        if ((m = GROUP.matcher(text)).matches()) {
            group = m.group(2);
            node = m.group(1) == null || m.group(1).equals("-") ? null : m.group(1);
        } else if ((m = NODE.matcher(text)).matches()) {
            node = m.group(1) != null ? m.group(1) : m.group(2);
        } else if ((m = REFUSED.matcher(text)).matches()) {
            node = m.group(1).equals("-") ? null : m.group(1);
        }
        return new EventLine(seq, time, text, group, node, raw);
    }
}
