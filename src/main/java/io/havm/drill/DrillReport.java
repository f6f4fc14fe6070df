package io.havm.drill;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * What a drill showed: each step's outcome, the timeline of havm's view and the referee's, every
 * disagreement between them, each group's recovery, and havm's own event log. Written as JSON
 * (schema {@value #SCHEMA}: fields are only ever added) and as JUnit XML, each step a test case.
 *
 * @param schema {@value #SCHEMA}
 * @param clockAtStart the target's clock when the first step began: the zero of every "at" (the
 *        simulator's clock is virtual), and what havm's event times are placed against
 * @param simulated whether the times are the simulator's prediction (virtual time) or measured
 * @param timeline what each view said and when, in seconds from the drill's start
 * @param disagreements where havm's view and the referee's differed for longer than a start takes,
 *        or the referee saw a VM on two hosts
 * @param predicted on real hosts, the recoveries the simulator predicted for the same playbook (run
 *        just before, on the real engine); empty for a rehearsal
 * @param preflight what {@code havm validate} said of the cluster before the first step (null in
 *        reports written before it existed)
 */
public record DrillReport(String schema, String playbook, String description, String file, String target, boolean simulated,
        Instant began, Instant clockAtStart, List<StepResult> steps, List<TimelineEntry> timeline, List<String> disagreements,
        List<String> events, List<Recovery> recoveries, List<Recovery> predicted, Preflight preflight) {

    public static final String SCHEMA = "havm-drill-report/1";

    /**
     * @param status ok, failed, error (could not be done), skipped (a check this target cannot judge)
     *        or not-run (after a step that stopped the drill)
     */
    public record StepResult(int index, int line, String kind, String label, String status, double at, double seconds,
            String detail) {}

    /** @param source drill (a step), havm (its state) or libvirt (the referee) */
    public record TimelineEntry(double at, String source, String text) {}

    /**
     * A group's recovery from the last fault before it: when it broke, when both views had it healthy again.
     *
     * @param answered seconds from the fault until the restarted guest answered (its console said it
     *        booted; in the simulator, its domain started); null when it did not restart
     */
    public record Recovery(String group, double fault, double disrupted, Double recovered, Double seconds, String on,
            Double answered) {}

    /** This report with the simulator's predicted recoveries beside the measured ones. */
    public DrillReport withPredicted(List<Recovery> p) {
        return new DrillReport(schema, playbook, description, file, target, simulated, began, clockAtStart, steps,
                timeline,
                disagreements, events, recoveries, List.copyOf(p), preflight);
    }

    /**
     * The simulator's prediction for {@code x}: the predicted recovery of the same group and the
     * same rank among that group's recoveries (a group lost twice has two), if it recovered.
     */
    public Double predictedSeconds(Recovery x) {
        int rank = 0;
        for (Recovery y : recoveries) {
            if (y == x) {
                break;
            }
            rank += y.group().equals(x.group()) ? 1 : 0;
        }
        List<Recovery> same = predicted.stream().filter(y -> y.group().equals(x.group())).toList();
        return rank < same.size() ? same.get(rank).seconds() : null;
    }

    /** Passed: every step ok (or a check the target cannot judge, skipped), and the views never disagreed. */
    public boolean passed() {
        return disagreements.isEmpty() && steps.stream().allMatch(s -> s.status().equals("ok")
                || s.status().equals("skipped"));
    }

    public void writeJson(Path file) {
        try {
            Files.writeString(file, json(true) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The report as report.json holds it ({@code indent} false: on one line, as --json prints it). */
    public String json(boolean indent) {
        ObjectMapper m = io.havm.engine.Codec.json().copy().disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        if (indent) {
            m.enable(SerializationFeature.INDENT_OUTPUT);
        }
        m.findAndRegisterModules();
        try {
            return m.writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write the drill report as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** JUnit XML: the playbook a test suite, each step a test case, a disagreement a failed case of its own. */
    public String junitXml() {
        long failures = steps.stream().filter(s -> s.status().equals("failed")).count() + (disagreements.isEmpty() ? 0 : 1);
        long errors = steps.stream().filter(s -> s.status().equals("error")).count();
        long skipped = steps.stream().filter(s -> s.status().equals("not-run") || s.status().equals("skipped")).count();
        double total = steps.stream().mapToDouble(StepResult::seconds).sum();
        StringBuilder x = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.append(String.format(Locale.ROOT, "<testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"%d\""
                + " skipped=\"%d\" time=\"%.3f\" timestamp=\"%s\">\n", esc("drill." + playbook), steps.size() + 1,
                failures, errors, skipped, total, began.toString().replaceAll("\\.\\d+Z$", "Z")));
        x.append("  <properties>\n    <property name=\"target\" value=\"").append(esc(target))
                .append("\"/>\n    <property name=\"simulated\" value=\"").append(simulated)
                .append("\"/>\n    <property name=\"playbook\" value=\"").append(esc(file)).append("\"/>\n  </properties>\n");
        for (StepResult s : steps) {
            x.append(String.format(Locale.ROOT, "  <testcase classname=\"%s\" name=\"%s\" time=\"%.3f\"",
                    esc("drill." + playbook), esc(String.format("%02d %s: %s", s.index(), s.kind(), s.label())),
                    s.seconds()));
            switch (s.status()) {
                case "ok" -> x.append("/>\n");
                case "failed" -> x.append(">\n    <failure message=\"").append(esc(s.detail())).append("\">")
                        .append(esc(file + ":" + s.line() + ": " + s.detail())).append("</failure>\n  </testcase>\n");
                case "error" -> x.append(">\n    <error message=\"").append(esc(s.detail())).append("\">")
                        .append(esc(file + ":" + s.line() + ": " + s.detail())).append("</error>\n  </testcase>\n");
                default -> x.append(">\n    <skipped message=\"").append(esc(s.detail())).append("\"/>\n  </testcase>\n");
            }
        }
        x.append(String.format(Locale.ROOT, "  <testcase classname=\"%s\" name=\"referees agree with havm\" time=\"0\"",
                esc("drill." + playbook)));
        if (disagreements.isEmpty()) {
            x.append("/>\n");
        } else {
            x.append(">\n    <failure message=\"").append(esc(disagreements.size() + " disagreement(s)")).append("\">")
                    .append(esc(String.join("\n", disagreements))).append("</failure>\n  </testcase>\n");
        }
        x.append("</testsuite>\n");
        return x.toString();
    }

    private static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\n' -> b.append("&#10;");
                default -> {
                    if (c >= 0x20 || c == '\t') {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    /** Reads a report written by {@link #writeJson}. */
    public static DrillReport read(Path file) throws IOException {
        ObjectMapper m = io.havm.engine.Codec.json().copy();
        m.findAndRegisterModules();
        m.configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
        return m.readValue(file.toFile(), DrillReport.class);
    }

    /**
     * Writes report.json, junit.xml and report.html into {@code dir} (made if missing). A report of
     * the same playbook already there is the previous run: kept as previous.json, and the HTML
     * page shows what changed since.
     */
    public void write(Path dir) {
        try {
            Files.createDirectories(dir);
            Path json = dir.resolve("report.json");
            DrillReport previous = null;
            if (Files.exists(json)) {
                try {
                    DrillReport p = read(json);
                    if (playbook.equals(p.playbook())) {
                        previous = p;
                        Files.copy(json, dir.resolve("previous.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                } catch (IOException | RuntimeException e) {
                    previous = null; // not a report of this schema: no diff, and it is overwritten
                }
            }
            writeJson(json);
            Files.writeString(dir.resolve("junit.xml"), junitXml());
            Files.writeString(dir.resolve("report.html"), DrillHtml.render(this, previous));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the report into " + dir + ": " + e.getMessage(), e);
        }
    }
}
