package io.havm.metrics;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A scrape in Prometheus' text format, read back sample by sample. */
record Scrape(String text, List<Sample> samples) {

    record Sample(String name, Map<String, String> labels, double value) {}

    private static final Pattern LINE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    static String text(MetricSnapshots snapshots) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, snapshots);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    static Scrape of(MetricSnapshots snapshots) {
        return parse(text(snapshots));
    }

    static Scrape parse(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                throw new AssertionError("not a sample line: " + line);
            }
            Map<String, String> labels = new TreeMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            out.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
        return new Scrape(text, out);
    }

    /** Of several agents' scrapes, as Prometheus would hold them. */
    static Scrape all(List<Scrape> scrapes) {
        StringBuilder t = new StringBuilder();
        List<Sample> s = new ArrayList<>();
        for (Scrape x : scrapes) {
            t.append(x.text());
            s.addAll(x.samples());
        }
        return new Scrape(t.toString(), s);
    }

    /** The sum of the samples named {@code name} whose labels include {@code labels} (k, v, k, v ...). */
    double sum(String name, String... labels) {
        return samples.stream().filter(matches(name, labels)).mapToDouble(Sample::value).sum();
    }

    /** Whether some sample is named {@code name} (with those labels). */
    boolean has(String name, String... labels) {
        return samples.stream().anyMatch(matches(name, labels));
    }

    private static Predicate<Sample> matches(String name, String... labels) {
        return s -> {
            if (!s.name().equals(name)) {
                return false;
            }
            for (int i = 0; i < labels.length; i += 2) {
                if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
                    return false;
                }
            }
            return true;
        };
    }

    /** Every sample name in the scrape. */
    java.util.Set<String> names() {
        java.util.Set<String> n = new java.util.TreeSet<>();
        samples.forEach(s -> n.add(s.name()));
        return n;
    }
}
