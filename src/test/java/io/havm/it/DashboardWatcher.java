package io.havm.it;

import io.havm.http.Browser;
import io.havm.lab.LabCluster;
import io.havm.lab.LabTarget;
import io.havm.util.Exec;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.openqa.selenium.By;

/**
 * Watches a lab drill as an operator would, on a thread of its own while the drill runs: the
 * dashboard of a surviving host's agent in headless Chromium (over TLS, signed in with the
 * cluster's read-only token) until the group's host changes on the page, with screenshots before
 * and after; then a Prometheus scrape of every surviving agent, each checked by {@code promtool
 * check metrics}. What it saw is read by the test once the drill is over.
 */
final class DashboardWatcher implements Runnable {
    private final LabTarget target;
    private final String group;
    private final String lost;
    private final String viewer;
    private final Path out;

    volatile String ownerBefore;
    volatile String ownerAfter;
    volatile String incident;
    volatile Duration pageLag;
    final Map<String, String> scrapes = new TreeMap<>();
    final List<String> promtool = new ArrayList<>();
    volatile Throwable failure;

    /**
     * @param lost the host the drill takes away from {@code group}
     * @param viewer the host whose agent serves the page (one that survives)
     */
    DashboardWatcher(LabTarget target, String group, String lost, String viewer, Path out) {
        this.target = target;
        this.group = group;
        this.lost = lost;
        this.viewer = viewer;
        this.out = out;
    }

    Thread start() {
        Thread t = new Thread(this, "dashboard-watcher");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Override
    public void run() {
        try {
            watch();
        } catch (Throwable e) {
            failure = e;
        }
    }

    private void watch() throws Exception {
        LabCluster c = until(Duration.ofMinutes(5), target::labCluster);
        String url = c.apiUrl(viewer) + "/";
        try (Browser b = new Browser()) {
            // the agent serves once it started: the page is asked again until its sign-in form shows
            b.until(Duration.ofMinutes(3), d -> {
                try {
                    d.get(url);
                } catch (org.openqa.selenium.WebDriverException notYet) {
                    return false; // connection refused: the agent does not serve yet
                }
                return !d.findElements(By.id("login-form")).isEmpty();
            });
            b.signIn(c.apiToken("read"));
            ownerBefore = b.until(Duration.ofMinutes(4), d -> lost.equals(b.owner(group)) ? lost : null);
            b.screenshot(out.resolve("dashboard-before.png"));
            // the plug is pulled on `lost`; the page follows through its event stream alone
            Instant gone = until(Duration.ofMinutes(3), () -> target.lastFaultAt());
            ownerAfter = b.until(Duration.ofMinutes(3), d -> {
                String o = b.owner(group);
                return o != null && !o.equals(lost) && !o.equals("–") && !d.findElements(By.cssSelector(
                        "#groups tr[data-group='" + group + "'] .phase.online")).isEmpty() ? o : null;
            });
            pageLag = Duration.between(gone, Instant.now());
            incident = b.until(Duration.ofSeconds(30), d -> (String) b.driver.executeScript("const i ="
                    + " document.querySelector(\"[data-incident-group='\" + arguments[0] + \"']\");"
                    + " return i && i.innerText.includes(' s from its detection') ? i.innerText : null;", group));
            b.screenshot(out.resolve("dashboard-after.png"));
        }
        HttpClient http = HttpClient.newBuilder().sslContext(trusting(c.spec().api().certificate()))
                .connectTimeout(Duration.ofSeconds(3)).build();
        for (String h : c.spec().nodeNames()) {
            if (h.equals(lost)) {
                continue;
            }
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(c.apiUrl(h) + "/metrics"))
                    .header("Authorization", "Bearer " + c.apiToken("read")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new AssertionError(h + " /metrics: " + r.statusCode() + " " + r.body());
            }
            Path f = Files.writeString(out.resolve("metrics-" + h + ".txt"), r.body());
            scrapes.put(h, r.body());
            Exec.Outcome o = Exec.run(Duration.ofSeconds(30), List.of("/bin/sh", "-c",
                    "exec promtool check metrics < '" + f.toAbsolutePath() + "'"));
            promtool.add((h + ": exit " + o.code() + " " + (o.out() + o.err()).strip()).strip());
        }
    }

    /** Polls {@code what} (every 100 ms, up to {@code within}) until it gives a value. */
    private static <T> T until(Duration within, java.util.concurrent.Callable<T> what) throws Exception {
        Instant end = Instant.now().plus(within);
        while (true) {
            T v = what.call();
            if (v != null) {
                return v;
            }
            if (Instant.now().isAfter(end)) {
                throw new AssertionError("not within " + within);
            }
            Thread.sleep(100);
        }
    }

    /** TLS trusting exactly the lab cluster's API certificate. */
    static SSLContext trusting(Path certificate) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(certificate)) {
            ks.setCertificateEntry("api", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
