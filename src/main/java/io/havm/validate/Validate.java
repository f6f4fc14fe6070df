package io.havm.validate;

import io.havm.config.ClusterConfigLoader;
import io.havm.fencing.FenceAgentRunner;
import io.havm.fencing.FenceDevice;
import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.ResourceSpec;
import io.havm.port.Clock;
import io.havm.port.Fencer;
import io.havm.resource.NodeResources;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * {@code havm validate --config C [--json F] [--html F]}: a pre-flight check of a cluster before
 * (or while) it runs HA VMs, after Windows' "Validate a Configuration": every host and every HA VM
 * checked against what failover and migration will need, each line PASS / WARN / FAIL / SKIP with
 * a fix hint. Exit 0 when nothing fails, 1 when a check fails, 2 for bad input.
 *
 * <p>Facts are gathered first ({@link FactSource}: the hosts' libvirt, the fence agents' status,
 * the ZooKeeper servers), every one of them bounded in time; then {@link Checks} judges them.
 */
public final class Validate {
    /** How long one host may take to answer all of its questions. */
    public static final Duration PER_HOST = Duration.ofSeconds(30);
    /** How long one ZooKeeper server may take to connect and answer. */
    static final Duration ZK_TIMEOUT = Duration.ofSeconds(2);

    private Validate() {}

    /** The report: the checks, and when and what was validated. */
    public record Report(String cluster, String config, Instant at, Duration took, List<Check> checks) {
        public long count(Check.Status s) {
            return checks.stream().filter(c -> c.status() == s).count();
        }

        public int exitCode() {
            return count(Check.Status.FAIL) > 0 ? 1 : 0;
        }

        /** Each failing, then each warning check in one line: its subject, what was found and the fix. */
        public List<String> problems() {
            List<String> out = new java.util.ArrayList<>();
            for (Check.Status s : List.of(Check.Status.FAIL, Check.Status.WARN)) {
                checks.stream().filter(c -> c.status() == s).forEach(c -> out.add(s + " " + c.id() + " "
                        + c.subject() + (c.host() == null ? "" : " on " + c.host()) + ": " + c.detail()
                        + (c.hint() == null || c.hint().isEmpty() ? "" : " (fix: " + c.hint() + ")")));
            }
            return out;
        }
    }

    /** Loads {@code config} (bad input: {@link InvalidInputException}), gathers and checks. */
    public static Report run(Path config, FactSource source) {
        Instant start = Instant.now();
        // what only a real host cannot run (a VM with no domain, one that fits nowhere) is bad input here too
        ClusterConfigLoader.Loaded loaded = ClusterConfigLoader.load(config).forRealHosts();
        ClusterSpec spec = loaded.spec();
        List<VmFacts> vms = vms(spec);
        Questions q = Questions.of(vms, Checks.sharedDirs(spec), ".havm-validate-" + UUID.randomUUID()
                .toString().substring(0, 8));
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "havm-validate-side");
            t.setDaemon(true);
            return t;
        });
        try {
            Future<Map<String, Fencer.Result>> fence = pool.submit(() -> fenceStatus(spec));
            Future<Map<String, Probe>> zk = pool.submit(() -> zookeeper(spec.zookeeper()));
            FactSource.Gathered g = source.gather(spec.nodes(), q);
            Checks.Facts facts = new Checks.Facts(spec, vms, g, get(fence, Map.of()), get(zk, Map.of()));
            return new Report(spec.name(), config.toString(), start, Duration.between(start, Instant.now()),
                    Checks.all(facts));
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> T get(Future<T> f, T otherwise) {
        try {
            return f.get(FenceDevice.MAX_TIMEOUT.toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            return otherwise;
        }
    }

    /**
     * The HA VMs: each VM resource of each group, its definition read and rewritten as havm
     * defines it before Online ({@link NodeResources#vm}), with the group's possible owners.
     */
    static List<VmFacts> vms(ClusterSpec spec) {
        NodeResources here = NodeResources.onHost(spec, null, null, Clock.SYSTEM);
        List<VmFacts> out = new ArrayList<>();
        for (GroupSpec g : spec.groups().values()) {
            List<String> owners = g.possibleOwners().isEmpty() ? spec.nodeNames() : g.possibleOwners();
            for (ResourceSpec r : g.resources().values()) {
                if (r.type() != ResourceSpec.Type.VM) {
                    continue;
                }
                String xml;
                try {
                    xml = here.vm(g, r).definitionXml();
                } catch (RuntimeException e) {
                    out.add(VmFacts.unreadable(r.domain(), g.name(), owners, e.getMessage()));
                    continue;
                }
                out.add(xml == null ? VmFacts.unreadable(r.domain(), g.name(), owners, "resource " + r.name()
                        + " has no 'definition' property: havm cannot define it on another host")
                        : VmFacts.parse(r.domain(), g.name(), owners, xml));
            }
        }
        return out;
    }

    /** Every power-fenced node's fence agent, asked {@code status} (never on, off or reboot), all at once. */
    static Map<String, Fencer.Result> fenceStatus(ClusterSpec spec) throws InterruptedException {
        Map<String, FenceDevice> devices = new TreeMap<>();
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            if (n.fencing() != null && !n.fencing().storage()) {
                devices.put(n.name(), FenceDevice.of(n.fencing()));
            }
        }
        FenceAgentRunner runner = new FenceAgentRunner(devices);
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "havm-validate-fence");
            t.setDaemon(true);
            return t;
        });
        try {
            Map<String, Future<Fencer.Result>> f = new LinkedHashMap<>();
            devices.keySet().forEach(n -> f.put(n, pool.submit(() -> runner.fence(n, Fencer.Action.STATUS))));
            Map<String, Fencer.Result> out = new TreeMap<>();
            for (var e : f.entrySet()) {
                try {
                    // The runner kills the agent at the device's timeout; this is only a backstop.
                    out.put(e.getKey(), e.getValue().get(devices.get(e.getKey()).timeout().toMillis() + 5000,
                            TimeUnit.MILLISECONDS));
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex) {
                    out.put(e.getKey(), new Fencer.Result(Fencer.Outcome.FAILED, "status did not return: " + ex));
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Each server of the connect string: connects (bounded) and asks {@code srvr}; a server whose
     * four-letter words are off still counts as answering (it accepted the connection).
     */
    static Map<String, Probe> zookeeper(String connect) {
        Map<String, Probe> out = new LinkedHashMap<>();
        if (connect == null) {
            return out;
        }
        String servers = connect.contains("/") ? connect.substring(0, connect.indexOf('/')) : connect;
        for (String s : servers.split(",")) {
            s = s.strip();
            if (!s.isEmpty()) {
                out.put(s, zkServer(s));
            }
        }
        return out;
    }

    private static Probe zkServer(String server) {
        int colon = server.lastIndexOf(':');
        String host = colon < 0 ? server : server.substring(0, colon);
        int port;
        try {
            port = colon < 0 ? 2181 : Integer.parseInt(server.substring(colon + 1));
        } catch (NumberFormatException e) {
            return Probe.error("bad port");
        }
        try (Socket sock = new Socket()) {
            sock.connect(new InetSocketAddress(host, port), (int) ZK_TIMEOUT.toMillis());
            sock.setSoTimeout((int) ZK_TIMEOUT.toMillis());
            OutputStream o = sock.getOutputStream();
            o.write("srvr".getBytes(StandardCharsets.US_ASCII));
            o.flush();
            InputStream in = sock.getInputStream();
            String reply = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
            for (String line : reply.split("\n")) {
                if (line.startsWith("Mode:")) {
                    return Probe.yes(line.substring(5).strip());
                }
            }
            return Probe.yes(reply.contains("not in the whitelist") ? "answers; four-letter words are off"
                    : "accepts connections");
        } catch (java.net.SocketTimeoutException e) {
            return Probe.no("no answer within " + ZK_TIMEOUT.toMillis() + " ms");
        } catch (IOException e) {
            return Probe.no(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /** Writes {@code text} to {@code file}, or says why not as bad input (the --json / --html path). */
    static void write(String option, Path file, String text) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new InvalidInputException("havm validate " + option, "cannot write " + file + ": " + e.getMessage());
        }
    }
}
