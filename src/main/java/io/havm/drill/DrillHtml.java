package io.havm.drill;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A drill report as one self-contained HTML page (no script, no external file): the verdict, per
 * incident a timeline chart drawn as SVG (fault, detected, fenced, placed, running, online; the
 * recovery target and the simulator's prediction marked), the steps, every disagreement between
 * havm and the referee, both views' timeline, and what changed since the previous run.
 */
public final class DrillHtml {
    private DrillHtml() {}

    /** One phase of an incident: from the previous milestone to this one. */
    record Phase(String name, double from, double to, String colour) {}

    public static String render(DrillReport r, DrillReport previous) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>drill ")
                .append(esc(r.playbook())).append("</title>\n<style>\n")
                .append("body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}")
                .append("h1 .v{padding:.1em .5em;border-radius:.3em;color:#fff;font-size:.8em}")
                .append(".pass{background:#2e7d32}.fail{background:#c62828}")
                .append("table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;")
                .append("text-align:left;vertical-align:top;font-size:.9em}th{background:#f3f3f3}")
                .append(".ok{color:#2e7d32}.failed,.error{color:#c62828;font-weight:bold}.not-run,.skipped{color:#888}")
                .append("svg text{font-size:11px;font-family:system-ui,sans-serif}.muted{color:#666}")
                .append("\n</style></head><body>\n");
        h.append("<h1>Drill <code>").append(esc(r.playbook())).append("</code> <span class=\"v ")
                .append(r.passed() ? "pass\">PASSED" : "fail\">FAILED").append("</span></h1>\n");
        h.append("<p>").append(esc(r.description())).append("</p>\n<p class=\"muted\">")
                .append(r.simulated() ? "Rehearsed in " : "Run on ").append(esc(r.target())).append("; began ")
                .append(esc(r.began().toString())).append("; playbook ").append(esc(r.file())).append(".</p>\n");
        if (r.preflight() != null) {
            h.append("<p class=\"muted\">Before the first step, ").append(esc(r.preflight().summary()));
            if (!r.preflight().problems().isEmpty()) {
                h.append(":</p>\n<ul>");
                r.preflight().problems().forEach(x -> h.append("<li>").append(esc(x)).append("</li>"));
                h.append("</ul>\n");
            } else {
                h.append(".</p>\n");
            }
        }

        h.append("<h2>Incidents</h2>\n");
        if (r.recoveries().isEmpty()) {
            h.append("<p>No group was disrupted.</p>\n");
        }
        for (DrillReport.Recovery x : r.recoveries()) {
            incident(h, r, x);
        }

        h.append("<h2>Steps</h2>\n<table><tr><th>#</th><th>line</th><th>step</th><th>at (s)</th><th>took (s)</th>")
                .append("<th>outcome</th><th>detail</th></tr>\n");
        for (DrillReport.StepResult s : r.steps()) {
            h.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%d</td><td>%s: %s</td><td>%.2f</td><td>%.2f</td>"
                    + "<td class=\"%s\">%s</td><td>%s</td></tr>%n", s.index(), s.line(), esc(s.kind()), esc(s.label()),
                    s.at(), s.seconds(), esc(s.status()), esc(s.status()), esc(s.detail())));
        }
        h.append("</table>\n");

        h.append("<h2>Referees against havm</h2>\n");
        if (r.disagreements().isEmpty()) {
            h.append("<p class=\"ok\">The referees (libvirt asked directly on every host, all along) never disagreed"
                    + " with havm's own view.</p>\n");
        } else {
            h.append("<ul>\n");
            r.disagreements().forEach(d -> h.append("<li class=\"failed\">").append(esc(d)).append("</li>\n"));
            h.append("</ul>\n");
        }

        if (previous != null) {
            diff(h, r, previous);
        }

        h.append("<h2>Timeline</h2>\n<details><summary>").append(r.timeline().size())
                .append(" changes of either view, and every step</summary>\n<table><tr><th>at (s)</th><th>source</th>")
                .append("<th>what</th></tr>\n");
        for (DrillReport.TimelineEntry e : r.timeline()) {
            h.append(String.format(Locale.ROOT, "<tr><td>%.2f</td><td>%s</td><td>%s</td></tr>%n", e.at(),
                    esc(e.source()), esc(e.text())));
        }
        h.append("</table></details>\n<h2>havm's events</h2>\n<details><summary>").append(r.events().size())
                .append(" events as the coordinators wrote them</summary>\n<pre>");
        r.events().forEach(e -> h.append(esc(e)).append('\n'));
        h.append("</pre></details>\n</body></html>\n");
        return h.toString();
    }

    /** The milestones of one group's recovery, from havm's events and the referee's timeline. */
    static List<Phase> phases(DrillReport r, DrillReport.Recovery x) {
        double end = x.recovered() == null ? x.disrupted() : x.recovered();
        Map<String, Double> at = new LinkedHashMap<>();
        for (String e : r.events()) {
            int sp = e.indexOf(' ');
            if (sp < 0) {
                continue;
            }
            double t;
            try {
                t = Duration.between(r.clockAtStart(), Instant.parse(e.substring(0, sp))).toMillis() / 1000.0;
            } catch (java.time.format.DateTimeParseException ex) {
                continue;
            }
            if (t < x.fault() || t > end) {
                continue;
            }
            String m = io.havm.policy.Milestones.of(e.substring(sp + 1), x.group());
            if (m != null && !m.equals(io.havm.policy.Milestones.RUNNING)) { // running: what the referee saw (below)
                at.putIfAbsent(m, t);
            }
        }
        for (DrillReport.TimelineEntry e : r.timeline()) {
            if (e.source().equals("libvirt") && e.text().startsWith(x.group() + ": runs on") && e.at() > x.fault()
                    && e.at() <= end) {
                at.putIfAbsent("running", e.at());
            }
        }
        if (x.recovered() != null) {
            at.put("online", x.recovered());
        }
        if (x.answered() != null) {
            at.put("guest answering", x.fault() + x.answered());
        }
        String[][] order = {{"detected", "#c62828"}, {"fenced", "#ef6c00"}, {"placed", "#f9a825"},
            {"running", "#1565c0"}, {"online", "#2e7d32"}, {"guest answering", "#00838f"}};
        List<Phase> out = new ArrayList<>();
        double from = x.fault();
        for (String[] o : order) {
            Double t = at.get(o[0]);
            if (t != null && t >= from) {
                out.add(new Phase(o[0], from, t, o[1]));
                from = t;
            }
        }
        return out;
    }

    private static void incident(StringBuilder h, DrillReport r, DrillReport.Recovery x) {
        List<Phase> ph = phases(r, x);
        Double predicted = r.predictedSeconds(x);
        Double target = null;
        for (DrillReport.StepResult s : r.steps()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(x.group())
                    + " recovered within ([0-9.]+) s").matcher(s.label());
            if (m.find()) {
                target = Double.parseDouble(m.group(1));
            }
        }
        double took = x.seconds() == null ? (ph.isEmpty() ? 0 : ph.get(ph.size() - 1).to() - x.fault()) : x.seconds();
        double span = Math.max(took, Math.max(predicted == null ? 0 : predicted, target == null ? 0 : target));
        if (!ph.isEmpty()) { // the guest may answer after the recovery the target is about
            span = Math.max(span, ph.get(ph.size() - 1).to() - x.fault());
        }
        span = Math.max(span, 1) * 1.1;
        int width = 760;
        int left = 70;
        double scale = (width - left - 20) / span;
        h.append("<h3>").append(esc(x.group())).append(": ")
                .append(x.seconds() == null ? "<span class=\"failed\">not recovered</span>"
                        : String.format(Locale.ROOT, "recovered on %s in %.2f s", esc(x.on()), x.seconds()))
                .append(target == null ? "" : String.format(Locale.ROOT, " (target %.1f s: %s)", target,
                        x.seconds() != null && x.seconds() <= target ? "met" : "<span class=\"failed\">missed</span>"))
                .append(predicted == null ? "" : String.format(Locale.ROOT, "; predicted %.2f s", predicted))
                .append("</h3>\n");
        h.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"112\""
                + " role=\"img\" aria-label=\"timeline of %s's recovery\">%n", width, esc(x.group())));
        h.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"34\">%s</text>%n", r.simulated() ? "predicted" : "measured"));
        for (Phase p : ph) {
            double x0 = left + (p.from() - x.fault()) * scale;
            double w = Math.max(1, (p.to() - p.from()) * scale);
            h.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"20\" width=\"%.1f\" height=\"22\" fill=\"%s\">"
                    + "<title>%s: %.2f s</title></rect>%n", x0, w, p.colour(), p.name(), p.to() - p.from()));
            if (w >= 48) { // a label fits inside the bar; every phase is in the table below anyway
                h.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"35\" fill=\"#fff\">%s %.2f s</text>%n",
                        x0 + 3, p.name(), p.to() - p.from()));
            }
        }
        h.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"12\" x2=\"%d\" y2=\"80\" stroke=\"#000\"/>"
                + "<text x=\"%d\" y=\"10\">fault</text>%n", left, left, left));
        if (target != null) {
            double tx = left + target * scale;
            h.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"12\" x2=\"%.1f\" y2=\"95\" stroke=\"#c62828\""
                    + " stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"106\" fill=\"#c62828\">target %.1f s</text>%n",
                    tx, tx, tx - 30, target));
        }
        if (predicted != null) {
            double px = left + predicted * scale;
            h.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"12\" x2=\"%.1f\" y2=\"85\" stroke=\"#6a1b9a\""
                    + " stroke-dasharray=\"2 2\"/><text x=\"%.1f\" y=\"94\" fill=\"#6a1b9a\">predicted %.2f s</text>%n",
                    px, px, px - 30, predicted));
        }
        h.append("</svg>\n<table><tr><th>phase</th><th>reached (s after the fault)</th><th>took (s)</th></tr>\n");
        for (Phase p : ph) {
            h.append(String.format(Locale.ROOT, "<tr><td><span style=\"display:inline-block;width:.8em;height:.8em;"
                    + "background:%s\"></span> %s</td><td>%.2f</td><td>%.2f</td></tr>%n", p.colour(), p.name(),
                    p.to() - x.fault(), p.to() - p.from()));
        }
        h.append("</table>\n");
    }

    private static void diff(StringBuilder h, DrillReport r, DrillReport prev) {
        h.append("<h2>Since the previous run</h2>\n<p class=\"muted\">Previous run: ").append(esc(prev.began().toString()))
                .append(" (").append(prev.passed() ? "passed" : "failed").append(").</p>\n");
        h.append("<table><tr><th>what</th><th>before</th><th>now</th></tr>\n");
        int changes = 0;
        for (DrillReport.StepResult s : r.steps()) {
            DrillReport.StepResult b = prev.steps().stream().filter(p -> p.label().equals(s.label())).findFirst()
                    .orElse(null);
            String before = b == null ? "(no such step)" : b.status();
            if (!before.equals(s.status())) {
                changes++;
                h.append("<tr><td>").append(esc(s.label())).append("</td><td>").append(esc(before))
                        .append("</td><td class=\"").append(esc(s.status())).append("\">").append(esc(s.status()))
                        .append("</td></tr>\n");
            }
        }
        for (DrillReport.Recovery x : r.recoveries()) {
            DrillReport.Recovery b = prev.recoveries().stream().filter(p -> p.group().equals(x.group())).findFirst()
                    .orElse(null);
            changes++;
            h.append("<tr><td>").append(esc(x.group())).append(" recovery</td><td>")
                    .append(b == null || b.seconds() == null ? "-" : String.format(Locale.ROOT, "%.2f s", b.seconds()))
                    .append("</td><td>").append(x.seconds() == null ? "not recovered"
                            : String.format(Locale.ROOT, "%.2f s", x.seconds())).append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (changes == 0) {
            h.append("<p>No step changed its outcome.</p>\n");
        }
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
