package io.havm.validate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havm.validate.Check.Status;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A validation report as text (grouped by host, then by VM, then the cluster), as JSON (schema
 * {@value #SCHEMA}) and as a self-contained HTML page.
 */
public final class ReportFormat {
    /** The JSON schema's name and version: fields are only ever added under this name. */
    public static final String SCHEMA = "havm-validate-report/1";

    private ReportFormat() {}

    /** Checks by section: "host host1", …, "vm web", …, "cluster NAME", in that order. */
    static Map<String, List<Check>> sections(Validate.Report r) {
        Map<String, List<Check>> out = new LinkedHashMap<>();
        for (Check.Kind k : Check.Kind.values()) {
            for (Check c : r.checks()) {
                if (c.kind() == k) {
                    out.computeIfAbsent(k.word() + " " + c.subject(), x -> new ArrayList<>()).add(c);
                }
            }
        }
        return out;
    }

    public static String summary(Validate.Report r) {
        return r.count(Status.PASS) + " passed, " + r.count(Status.WARN) + " warnings, " + r.count(Status.FAIL)
                + " failed, " + r.count(Status.SKIP) + " skipped (" + r.took().toMillis() + " ms)";
    }

    public static String text(Validate.Report r) {
        StringBuilder s = new StringBuilder("havm validate: cluster " + r.cluster() + " (" + r.config() + ")\n");
        for (var e : sections(r).entrySet()) {
            s.append('\n').append(e.getKey()).append('\n');
            for (Check c : e.getValue()) {
                s.append(String.format("  %-4s %-22s %s%s%n", c.status(), c.id(),
                        c.host() == null ? "" : "on " + c.host() + ": ", c.detail()));
                if (!c.hint().isEmpty() && c.status() != Status.PASS) {
                    s.append(String.format("       %-22s fix: %s%n", "", c.hint()));
                }
            }
        }
        s.append("\nsummary: ").append(summary(r)).append('\n');
        return s.toString();
    }

    public static String json(Validate.Report r) {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = m.createObjectNode();
        root.put("schema", SCHEMA);
        root.put("cluster", r.cluster());
        root.put("config", r.config());
        root.put("at", r.at().toString());
        root.put("ok", r.exitCode() == 0);
        ArrayNode checks = root.putArray("checks");
        for (Check c : r.checks()) {
            ObjectNode o = checks.addObject();
            o.put("id", c.id());
            ObjectNode subject = o.putObject("subject");
            subject.put("kind", c.kind().word());
            subject.put("name", c.subject());
            if (c.host() == null) {
                o.putNull("host");
            } else {
                o.put("host", c.host());
            }
            o.put("status", c.status().name().toLowerCase(java.util.Locale.ROOT));
            o.put("detail", c.detail());
            o.put("hint", c.hint());
        }
        ObjectNode sum = root.putObject("summary");
        for (Status s : Status.values()) {
            sum.put(s.name().toLowerCase(java.util.Locale.ROOT), r.count(s));
        }
        sum.put("seconds", r.took().toMillis() / 1000.0);
        try {
            return m.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String html(Validate.Report r) {
        StringBuilder s = new StringBuilder("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                + "<title>havm validate: " + esc(r.cluster()) + "</title><style>"
                + "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
                + "table{border-collapse:collapse;width:100%;margin-bottom:1.5em}"
                + "td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}"
                + ".pass{color:#17702d}.warn{color:#9a6700}.fail{color:#b42318;font-weight:bold}.skip{color:#777}"
                + ".hint{color:#555;font-size:.9em}</style></head><body>\n<h1>havm validate: cluster "
                + esc(r.cluster()) + "</h1>\n<p>" + esc(r.config()) + ", " + esc(r.at().toString()) + ": <b>"
                + esc(summary(r)) + "</b></p>\n");
        for (var e : sections(r).entrySet()) {
            s.append("<h2>").append(esc(e.getKey())).append("</h2>\n<table><tr><th>status</th><th>check</th>"
                    + "<th>on</th><th>found</th><th>fix</th></tr>\n");
            for (Check c : e.getValue()) {
                String cls = c.status().name().toLowerCase(java.util.Locale.ROOT);
                s.append("<tr><td class='").append(cls).append("'>").append(c.status()).append("</td><td>")
                        .append(esc(c.id())).append("</td><td>").append(c.host() == null ? "" : esc(c.host()))
                        .append("</td><td>").append(esc(c.detail())).append("</td><td class='hint'>")
                        .append(c.status() == Status.PASS ? "" : esc(c.hint())).append("</td></tr>\n");
            }
            s.append("</table>\n");
        }
        return s.append("</body></html>\n").toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")
                .replace("\"", "&quot;");
    }
}
