package io.havm.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real scrape (every agent's, after the simulator's power-loss scenario) checked by
 * {@code promtool check metrics}, and the Grafana dashboard's queries checked against it.
 */
class HavmMetricsScrapeTest {
    static final Path OUT = Path.of("target", "metrics");
    static final Path DASHBOARD = Path.of("ops", "grafana", "havm.json");
    static List<Scrape> agents;

    @BeforeAll
    static void run() throws IOException {
        agents = HavmMetricsSimTest.scenario(new ArrayList<>());
        Files.createDirectories(OUT);
        for (int i = 0; i < agents.size(); i++) {
            Files.writeString(OUT.resolve("scrape-host" + (i + 1) + ".txt"), agents.get(i).text());
        }
    }

    @Test
    void promtoolFindsNothingToCriticiseInAnyAgentsScrape() {
        for (int i = 0; i < agents.size(); i++) {
            Path f = OUT.resolve("scrape-host" + (i + 1) + ".txt").toAbsolutePath();
            Exec.Outcome o = Exec.run(Duration.ofSeconds(30),
                    List.of("/bin/sh", "-c", "exec promtool check metrics < '" + f + "'"));
            assertEquals(0, o.code(), f + ": " + o.out() + o.err());
            assertEquals("", (o.out() + o.err()).strip(), f + ": promtool warns");
        }
    }

    @Test
    void everyMetricTheDashboardQueriesIsInARealScrape() throws IOException {
        JsonNode d = new ObjectMapper().readTree(DASHBOARD.toFile());
        assertEquals("DS_PROMETHEUS", d.path("__inputs").path(0).path("name").asText(), "datasource is an input");
        Set<String> scraped = new TreeSet<>();
        agents.forEach(a -> scraped.addAll(a.names()));
        Set<String> queried = new TreeSet<>();
        List<String> exprs = new ArrayList<>();
        collect(d, exprs);
        assertTrue(exprs.size() >= 10, "the dashboard has its queries: " + exprs);
        Pattern metric = Pattern.compile("\\bhavm_[a-z0-9_]+");
        for (String e : exprs) {
            Matcher m = metric.matcher(e);
            while (m.find()) {
                queried.add(m.group());
            }
        }
        Set<String> missing = new TreeSet<>(queried);
        missing.removeAll(scraped);
        assertEquals(Set.of(), missing, "queried but in no scrape; scraped: " + scraped);
        for (String must : List.of("havm_node_state", "havm_group_state", "havm_group_owner",
                "havm_failovers_total", "havm_failover_phase_seconds_bucket", "havm_fence_duration_seconds_bucket",
                "havm_migration_duration_seconds_bucket", "havm_n_plus_one_headroom_bytes")) {
            assertTrue(queried.contains(must), "the dashboard shows " + must);
        }
    }

    @Test
    void everyDashboardQueryIsValidPromQl() throws IOException {
        List<String> exprs = new ArrayList<>();
        collect(new ObjectMapper().readTree(DASHBOARD.toFile()), exprs);
        // promtool parses PromQL in recording rules: one rule per query, Grafana's interval variable filled in
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        for (int i = 0; i < exprs.size(); i++) {
            String e = exprs.get(i).replace("$__rate_interval", "1m");
            rules.append("      - record: havm:dashboard_query_").append(i).append("\n        expr: '")
                    .append(e.replace("'", "''")).append("'\n");
        }
        Path f = OUT.resolve("dashboard-queries.rules.yaml").toAbsolutePath();
        Files.writeString(f, rules);
        Exec.Outcome o = Exec.run(Duration.ofSeconds(30), List.of("promtool", "check", "rules", f.toString()));
        assertEquals(0, o.code(), o.out() + o.err());
    }

    /** Every "expr" under {@code n}. */
    private static void collect(JsonNode n, List<String> out) {
        if (n.isObject()) {
            n.fields().forEachRemaining(f -> {
                if (f.getKey().equals("expr") && f.getValue().isTextual()) {
                    out.add(f.getValue().asText());
                } else {
                    collect(f.getValue(), out);
                }
            });
        } else if (n.isArray()) {
            n.forEach(x -> collect(x, out));
        }
    }
}
