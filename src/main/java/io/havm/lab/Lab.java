package io.havm.lab;

import io.havm.util.Exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.engine.FenceConfirmation;
import io.havm.model.InvalidInputException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The namespaced multi-host lab (ci/lab) from Java: tests, demo and drills use this.
 * Each host is a network + mount namespace with its own libvirtd; see ci/lab-README.md.
 * Every fact about the lab (addresses, directories, the iSCSI portal and its LUNs) comes from one
 * source, {@code ci/lab status --json}: nothing of it is typed again here.
 */
public final class Lab {
    private static final Duration UP_BUDGET = Duration.ofMinutes(5);
    private static final Duration OP_BUDGET = Duration.ofMinutes(2);

    private final Path script;
    private final OutputStream progress;

    /**
     * One lab host as `ci/lab status --json` reports it.
     *
     * @param uri its libvirt over TCP (no authentication)
     * @param tlsUri its libvirt over TLS, with the lab's client certificate ({@code pkipath})
     */
    public record Host(String name, String ip, String uri, String tlsUri, String netns, String state) {
        public boolean up() {
            return "up".equals(state);
        }

        /** The same host, reached over TLS ({@link #uri} is the TLS one): for clusters whose nodes use qemu+tls. */
        public Host overTls() {
            return new Host(name, ip, tlsUri, tlsUri, netns, state);
        }
    }

    /**
     * The lab's fixed facts, as {@code ci/lab status --json} prints them.
     *
     * @param root the lab's state directory
     * @param sharedDir the directory every host sees at the same path (the lab's "shared storage")
     * @param agentsDir where {@code ci/lab agents} keeps each agent's pid and log
     * @param watchdogDir where each host's watchdog FIFO is
     * @param zookeeper the connect string of the lab's single ZooKeeper server
     * @param ensemble the connect string of the lab's three-server ensemble ({@code ci/lab ensemble up})
     * @param iscsiPortal the SAN's portal, host:port
     * @param iscsiTarget the SAN's target IQN
     * @param luns the SAN's LUN numbers
     */
    public record Facts(Path root, Path sharedDir, Path agentsDir, Path watchdogDir, String zookeeper, String ensemble,
            String iscsiPortal, String iscsiTarget, List<Integer> luns) {}

    public Lab(Path projectHome, OutputStream progress) {
        this.script = projectHome.resolve("ci/lab");
        this.progress = progress;
    }

    public static Lab fromProjectHome() {
        return new Lab(Exec.projectHome(), null);
    }

    /** The lab's facts; read from ci/lab once per Lab. */
    public synchronized Facts facts() {
        if (facts == null) {
            facts = read(lab(OP_BUDGET, "status", "--json").out()).facts;
        }
        return facts;
    }

    private Facts facts;

    public Path sharedDir() {
        return facts().sharedDir();
    }

    private record Status(Facts facts, List<Host> hosts) {}

    private static Status read(String json) {
        try {
            JsonNode root = new ObjectMapper().readTree(json);
            List<Integer> luns = new ArrayList<>();
            root.path("iscsi").path("luns").forEach(l -> luns.add(l.path("lun").asInt()));
            Facts f = new Facts(path(root, "root"), path(root, "shared_dir"), path(root, "agents_dir"),
                    path(root, "watchdog_dir"), text(root.path("zookeeper"), "connect"),
                    text(root.path("ensemble"), "connect"), text(root.path("iscsi"), "portal"),
                    text(root.path("iscsi"), "target"), List.copyOf(luns));
            List<Host> hosts = new ArrayList<>();
            for (JsonNode h : root.path("hosts")) {
                hosts.add(new Host(h.path("name").asText(), h.path("ip").asText(), h.path("uri").asText(),
                        h.path("tls_uri").asText(), h.path("netns").asText(), h.path("state").asText()));
            }
            return new Status(f, hosts);
        } catch (IOException e) {
            throw new UncheckedIOException("ci/lab status --json printed no JSON: " + json, e);
        }
    }

    private static String text(JsonNode node, String field) {
        String v = node.path(field).asText("");
        if (v.isEmpty()) {
            throw new IllegalStateException("ci/lab status --json has no '" + field + "' (is ci/lab older than this"
                    + " code?)");
        }
        return v;
    }

    private static Path path(JsonNode node, String field) {
        return Path.of(text(node, field));
    }

    private Exec.Outcome lab(Duration budget, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(script.toString());
        cmd.addAll(List.of(args));
        return Exec.run(budget, progress, cmd).orThrow();
    }

    public List<Host> up(int hosts) {
        lab(UP_BUDGET, "up", "--hosts", Integer.toString(hosts));
        return status();
    }

    public void down() {
        lab(UP_BUDGET, "down");
    }

    public List<Host> status() {
        Status st = read(lab(OP_BUDGET, "status", "--json").out());
        synchronized (this) {
            facts = st.facts();
        }
        return st.hosts();
    }

    /** The host by name, or a precise error naming the hosts there are. */
    public Host host(String name) {
        List<Host> all = status();
        Optional<Host> h = all.stream().filter(x -> x.name().equals(name)).findFirst();
        return h.orElseThrow(() -> new InvalidInputException("host", "unknown host '" + name + "' (lab hosts: "
                + String.join(" ", all.stream().map(Host::name).toList()) + ")"));
    }

    /**
     * Pull the plug on a host and confirm it: the lab's fence. Returns the confirmation only after
     * the lab reports every process of the host gone.
     */
    public FenceConfirmation powerOff(String host) {
        pullPlug(host);
        Host h = host(host);
        if (!"off".equals(h.state())) {
            throw new IllegalStateException("power-off " + host + " returned but the lab reports it " + h.state());
        }
        return new FenceConfirmation(host, "lab power-off (every process of " + host + " killed)", Instant.now());
    }

    /**
     * Pull the plug on a host (link down, then every process killed) and return the moment the link
     * went down, as the lab script saw it: drills time recovery from there, not from when the
     * script was asked to start.
     */
    public Instant pullPlug(String host) {
        host(host);
        String err = lab(OP_BUDGET, "power-off", host).err();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(host)
                + " link down at (\\d+)\\.(\\d{9})").matcher(err);
        if (!m.find()) {
            throw new IllegalStateException("ci/lab power-off " + host + " did not say when the link went down: " + err);
        }
        return Instant.ofEpochSecond(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
    }

    /** Power a host back on (ci/lab up is idempotent and restarts powered-off hosts). */
    public void powerOn(int totalHosts) {
        lab(UP_BUDGET, "up", "--hosts", Integer.toString(totalHosts));
    }

    public void isolate(String host) {
        lab(OP_BUDGET, "isolate", host);
    }

    public void heal(String host) {
        lab(OP_BUDGET, "heal", host);
    }

    public void restartLibvirtd(String host) {
        lab(OP_BUDGET, "restart-libvirtd", host);
    }

    /** ci/lab zookeeper kill|start|pause|resume: the lab's single ZooKeeper. */
    public void zookeeper(String verb) {
        lab(UP_BUDGET, "zookeeper", verb);
    }

    /** ci/lab agents kill HOST: the agent crashes (its watchdog, still armed, then powers the host off). */
    public void killAgent(String host) {
        lab(OP_BUDGET, "agents", "kill", host);
    }

    /** Runs a command inside a host's namespaces. */
    public Exec.Outcome exec(String host, String... command) {
        List<String> args = new ArrayList<>(List.of("exec", host, "--"));
        args.addAll(List.of(command));
        List<String> cmd = new ArrayList<>();
        cmd.add(script.toString());
        cmd.addAll(args);
        return Exec.run(OP_BUDGET, cmd);
    }
}
