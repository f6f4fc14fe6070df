package io.havm.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.QuietZooKeeper;
import io.havm.coordination.ZkCoordination;
import io.havm.engine.ClusterStore;
import io.havm.engine.ElectedCoordinator;
import io.havm.model.ApiSpec;
import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import io.havm.policy.NodeStatus;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * The dashboard in a real browser (Debian's headless Chromium through chromedriver) against a real
 * agent API on a real ZooKeeper, the cluster state and timeline written as the coordinator writes
 * them: sign-in, the cluster at a glance, a host lost and its group's new host on the page through
 * the live event stream, the incident's timeline, the event log's filter, and an operation
 * refused to a read-only token and accepted from an operator's, each after a confirmation that
 * says what will happen. The lab's DrillIT shows the same page during a real power loss.
 */
@ExtendWith(QuietZooKeeper.class)
class DashboardTest {
    static final String READ = "dash-read-0123456789";
    static final String OPERATOR = "dash-oper-0123456789";
    static final Path SHOTS = Path.of("target/dashboard");

    @TempDir
    Path tmp;

    private ElectedCoordinator coordinator;
    private ZkCoordination agentZk;
    private ClusterStore cstore;
    private ApiServer api;

    @BeforeEach
    void start() throws Exception {
        coordinator = new ElectedCoordinator(tmp.resolve("zk"), "/havm/dash", "kvm1");
        cstore = coordinator.store;
        coordinator.put(new ClusterState(new TreeMap<>(Map.of("kvm1", ClusterState.Node.up("kvm1"), "kvm2",
                ClusterState.Node.up("kvm2"), "kvm3", ClusterState.Node.up("kvm3"))),
                new TreeMap<>(Map.of("web", group("web", GroupPhase.ONLINE, "kvm1"),
                        "db", group("db", GroupPhase.ONLINE, "kvm2"))), Instant.now(), Instant.now(), null));
        coordinator.events(Instant.now() + " kvm1 group web: none -> online on kvm1 (adopted)",
                Instant.now() + " kvm2 group db: none -> online on kvm2 (adopted)");
        agentZk = coordinator.session("kvm3");
        Path tokens = tmp.resolve("tokens");
        Files.writeString(tokens, "read viewer " + READ + "\noperator ops " + OPERATOR + "\n");
        Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
        String yaml = """
                cluster:
                  name: dash
                  nodes:
                    - {name: kvm1, uri: 'test:///default', memoryMiB: 8192}
                    - {name: kvm2, uri: 'test:///default', memoryMiB: 8192}
                    - {name: kvm3, uri: 'test:///default', memoryMiB: 8192}
                groups:
                  web:
                    resources:
                      vm: {type: vm, memoryMiB: 1024}
                  db:
                    resources:
                      vm: {type: vm, memoryMiB: 1024}
                """;
        // plain HTTP on loopback (allowed there only): the browser's part is what is tested here;
        // the lab's agents serve the same page over TLS
        api = new ApiServer(new ApiSpec(0, "127.0.0.1", null, null, tokens, Map.of()), "kvm3", agentZk,
                ClusterConfigLoader.parse("c.yaml", yaml).spec(), new PrometheusRegistry()::scrape, line -> {}).start();
    }

    @AfterEach
    void stop() {
        if (api != null) {
            api.close();
        }
        agentZk.close();
        coordinator.close();
    }

    static ClusterState.Group group(String name, GroupPhase phase, String node) {
        return new ClusterState.Group(name, phase, node, null, null, true, List.of(), Map.of(), Set.of(), Set.of(),
                null, null, 0, 0, null);
    }

    private static ClusterState.Node fenced(String name) {
        return new ClusterState.Node(name, NodeStatus.FENCED, false, false, false, Instant.now(), 1, null, false, false,
                null);
    }

    private String url() {
        return "http://127.0.0.1:" + api.port() + "/";
    }

    @Test
    void theCluster_anIncidentLive_andOperationsConfirmedAndScoped() throws Exception {
        try (Browser b = new Browser()) {
            b.driver.get(url());
            // a wrong token is refused on the page, not silently
            b.until(Duration.ofSeconds(15), d -> d.findElement(By.id("login")).isDisplayed());
            b.driver.findElement(By.id("token")).sendKeys("not-a-token");
            b.driver.findElement(By.cssSelector("#login-form button")).click();
            b.until(Duration.ofSeconds(15), d -> d.findElement(By.id("login-error")).getText().contains("refused"));
            b.driver.findElement(By.id("token")).clear();
            b.signIn(READ);

            // at a glance: hosts and where each group runs, the coordinator, the live stream
            b.until(Duration.ofSeconds(15), d -> "kvm1".equals(b.owner("web")));
            assertEquals("kvm2", b.owner("db"));
            assertEquals("dash", b.driver.findElement(By.id("cluster-name")).getText());
            assertEquals("kvm1", b.driver.findElement(By.id("coordinator")).getText());
            assertEquals("up", b.driver.findElement(By.cssSelector("[data-node='kvm1']")).getAttribute("data-state"));
            b.until(Duration.ofSeconds(15), d -> d.findElement(By.id("live")).getText().equals("live"));

            // kvm1 is lost: fenced, web starts on kvm3 -- the page follows through the event stream alone
            Instant t0 = Instant.now();
            coordinator.events(t0 + " kvm1 node: up -> lost (session expired)",
                    t0 + " kvm1 group web: online on kvm1 -> awaiting-fence on kvm1 (node lost)");
            ClusterState state = coordinator.state();
            coordinator.put(new ClusterState(new TreeMap<>(Map.of("kvm1", fenced("kvm1"), "kvm2", ClusterState.Node.up("kvm2"),
                    "kvm3", ClusterState.Node.up("kvm3"))), new TreeMap<>(Map.of("web",
                    group("web", GroupPhase.ONLINE, "kvm3"), "db", group("db", GroupPhase.ONLINE, "kvm2"))),
                    state.firstNodeUpAt(), state.formedAt(), null));
            coordinator.events(t0.plusMillis(2100) + " kvm1 node: lost -> fenced (fence_ipmilan: off)",
                    t0.plusMillis(2100) + " kvm3 group web: awaiting-fence on kvm1 -> starting on kvm3 (fenced)",
                    t0.plusMillis(4600) + " kvm3 group web: starting on kvm3 -> online on kvm3 (started)");
            b.until(Duration.ofSeconds(15), d -> "kvm3".equals(b.owner("web")));
            assertEquals("fenced", b.driver.findElement(By.cssSelector("[data-node='kvm1']")).getAttribute("data-state"));
            // the incident, phase by phase, drawn to scale with each phase's seconds
            // (read in one script each: the page redraws the incident when a line arrives)
            String incident = b.until(Duration.ofSeconds(15), d -> (String) b.driver.executeScript("const i ="
                    + " document.querySelector(\"[data-incident-group='web']\"); return i && i.innerText.includes('4.60 s')"
                    + " ? i.innerText : null;"));
            assertTrue(incident.contains("kvm1 → kvm3, 4.60 s"), incident);
            assertTrue(incident.contains("fenced 2.10 s") && incident.contains("running 2.50 s"), incident);
            assertEquals(List.of("fenced", "placed", "running"), b.driver.executeScript("return [...document"
                    + ".querySelectorAll(\"[data-incident-group='web'] rect\")].map(r => r.getAttribute('data-phase'));"));
            // a live migration under way: its progress bar, memory left and expected downtime, live
            cstore.putProgress(new io.havm.engine.MoveProgress("db", "db", "live", "kvm2", "kvm1", 1024L << 20, 256L << 20,
                    1100L << 20, 800L << 20, 300L << 20, 1500, 42, Instant.now()));
            String bar = b.until(Duration.ofSeconds(15), d -> (String) b.driver.executeScript("const m ="
                    + " document.querySelector(\".migration[data-group='db']\"); return m ? m.innerText : null;"));
            assertEquals("live: 75%, 256 MiB left, downtime ~42 ms", bar.strip());
            b.screenshot(SHOTS.resolve("after-host-lost.png"));
            cstore.clearProgress("db");
            b.until(Duration.ofSeconds(15), d -> d.findElements(By.cssSelector(".migration[data-group='db']")).isEmpty());

            // the event log, filtered
            b.driver.findElement(By.id("filter-text")).sendKeys("fenced (fence_ipmilan");
            List<WebElement> shown = b.driver.findElements(By.cssSelector("#events li"));
            assertEquals(1, shown.size(), shown.stream().map(WebElement::getText).toList().toString());
            b.driver.findElement(By.id("filter-text")).clear();

            // a read-only token: the confirmation says what a move does, the refusal is shown, nothing submitted
            moveWebTo(b, "kvm2", "quick");
            b.until(Duration.ofSeconds(15), d -> d.findElement(By.id("notice")).getText().startsWith("Refused:"));
            assertEquals(List.of(), cstore.inputs());

            // an operator's token: the move is submitted and followed as an operation
            b.driver.executeScript("sessionStorage.clear()");
            b.driver.navigate().refresh();
            b.signIn(OPERATOR);
            b.until(Duration.ofSeconds(15), d -> "kvm3".equals(b.owner("web")));
            moveWebTo(b, "kvm2", "live");
            String op = b.until(Duration.ofSeconds(15), d -> (String) b.driver.executeScript("const o ="
                    + " document.querySelector('#operations tr[data-operation]'); return o ? o.innerText : null;"));
            assertTrue(op.contains("move web") && op.contains("ops"), op);
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> !cstore.inputs().isEmpty());
            assertEquals(new Input.MoveGroup("web", "kvm2", MoveMode.LIVE), cstore.inputs().get(0).value());
            b.screenshot(SHOTS.resolve("operation-submitted.png"));
        }
    }

    /** Move web: the dialog names the source, the target and what the mode does to the guest. */
    private static void moveWebTo(Browser b, String to, String mode) {
        b.driver.findElement(By.cssSelector("#groups tr[data-group='web'] button")).click();
        b.until(Duration.ofSeconds(10), d -> d.findElement(By.id("confirm")).isDisplayed());
        new org.openqa.selenium.support.ui.Select(b.driver.findElement(By.id("move-to"))).selectByValue(to);
        new org.openqa.selenium.support.ui.Select(b.driver.findElement(By.id("move-mode"))).selectByValue(mode);
        String says = b.driver.findElement(By.id("confirm-text")).getText();
        assertTrue(says.startsWith("Move group web from kvm3 to " + to + " by " + mode + " migration"), says);
        if (mode.equals("quick")) {
            assertTrue(says.contains("does not reboot"), says);
        }
        b.driver.findElement(By.id("confirm-ok")).click();
    }
}
