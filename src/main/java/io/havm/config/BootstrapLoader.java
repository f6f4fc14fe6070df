package io.havm.config;

import io.havm.model.Bootstrap;
import io.havm.model.InvalidInputException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads a host's bootstrap file ({@code /etc/havm/agent.yaml}, see {@link Bootstrap}). Every error
 * names the file, the line, the field and what is allowed.
 */
public final class BootstrapLoader {
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}");

    private BootstrapLoader() {}

    /** A bootstrap file is a few lines; anything far larger is not one. */
    static final long MAX_BYTES = 1024 * 1024;

    public static Bootstrap load(Path file) {
        String text;
        try {
            text = InputFile.read(file, "bootstrap", MAX_BYTES);
        } catch (InvalidInputException e) {
            throw new InvalidInputException(e.where(), e.problem() + "; the bootstrap file names this host's node,"
                    + " cluster and zookeeper (see the README's production install)");
        }
        return parse(file.toString(), text);
    }

    public static Bootstrap parse(String file, String text) {
        ClusterConfigLoader.Source src = ClusterConfigLoader.compose(file, text);
        Yaml y = src.y();
        Node root = src.root();
        if (root == null) {
            throw new InvalidInputException(file, "is empty: needs at least 'cluster' and 'zookeeper' (or 'ensemble')");
        }
        Map<String, Node> top = y.mapping(root, "", Set.of("node", "cluster", "zookeeper", "sessionTimeout",
                "credentials", "ensemble"));
        String node = null;
        if (top.containsKey("node")) {
            node = y.text(top, "node", "node", null);
            ClusterConfigLoader.checkName(y, top.get("node"), "node", node);
        }
        String cluster = y.required(top, "cluster", "cluster", root);
        ClusterConfigLoader.checkName(y, top.get("cluster"), "cluster", cluster);
        String zk = ClusterConfigLoader.zookeeper(y, top, "zookeeper");
        Duration session = y.duration(top, "sessionTimeout", "sessionTimeout", Bootstrap.DEFAULT_SESSION_TIMEOUT, false,
                Duration.ofSeconds(2), Duration.ofMinutes(2));
        Path credentials = null;
        if (top.containsKey("credentials")) {
            String c = y.text(top, "credentials", "credentials", null);
            if (!c.startsWith("/")) {
                throw y.error(top.get("credentials"), "credentials", "'" + c + "' is not an absolute path (a file"
                        + " readable by root only, holding user:password; never the secret itself)");
            }
            credentials = Path.of(c);
        }
        Bootstrap.Ensemble ensemble = top.containsKey("ensemble") ? ensemble(y, top.get("ensemble")) : null;
        if (zk == null && ensemble == null) {
            throw y.error(root, "zookeeper", "is required unless 'ensemble' lists the servers (a connect string"
                    + " host:port[,host:port...], e.g. 'zk1:2181,zk2:2181,zk3:2181')");
        }
        return new Bootstrap(node, cluster, zk, session, credentials, ensemble, file);
    }

    private static Bootstrap.Ensemble ensemble(Yaml y, Node n) {
        Map<String, Node> e = y.mapping(n, "ensemble", Set.of("dataDir", "tickTime", "members"));
        String dir = y.text(e, "dataDir", "ensemble.dataDir", "/var/lib/havm/zookeeper");
        if (!dir.startsWith("/")) {
            throw y.error(e.get("dataDir"), "ensemble.dataDir", "'" + dir + "' is not an absolute path");
        }
        Duration tick = y.duration(e, "tickTime", "ensemble.tickTime", Duration.ofSeconds(2), false,
                Duration.ofMillis(100), Duration.ofSeconds(10));
        if (!e.containsKey("members")) {
            throw y.error(n, "ensemble.members", "is required: every server of the ensemble, e.g."
                    + " [{id: 1, node: host1, host: 10.0.0.11}, ...]");
        }
        List<Bootstrap.Member> members = new ArrayList<>();
        Set<Integer> ids = new HashSet<>();
        Set<String> nodes = new HashSet<>();
        Set<String> addresses = new HashSet<>();
        List<Node> list = y.sequence(e.get("members"), "ensemble.members");
        for (int i = 0; i < list.size(); i++) {
            String f = "ensemble.members[" + i + "]";
            Node mn = list.get(i);
            Map<String, Node> m = y.mapping(mn, f, Set.of("id", "node", "host", "clientPort", "quorumPort",
                    "electionPort", "witness"));
            if (!m.containsKey("id")) {
                throw y.error(mn, f + ".id", "is required (1..255, unique)");
            }
            int id = (int) y.integer(m, "id", f + ".id", 0, 1, 255);
            if (!ids.add(id)) {
                throw y.error(m.get("id"), f + ".id", id + " is given twice");
            }
            boolean witness = y.bool(m, "witness", f + ".witness", false);
            String node = null;
            if (m.containsKey("node")) {
                node = y.text(m, "node", f + ".node", null);
                ClusterConfigLoader.checkName(y, m.get("node"), f + ".node", node);
                if (!nodes.add(node)) {
                    throw y.error(m.get("node"), f + ".node", "'" + node + "' runs two members (one per host)");
                }
            }
            if (witness == (node != null)) {
                throw y.error(mn, f, witness ? "a witness runs on a machine that is no cluster node: drop 'node'"
                        : "needs 'node' (the cluster node it runs on), or 'witness: true'");
            }
            String host = y.required(m, "host", f + ".host", mn);
            if (!HOST.matcher(host).matches()) {
                throw y.error(m.get("host"), f + ".host", "'" + host + "' is not a host name or address");
            }
            int client = (int) y.integer(m, "clientPort", f + ".clientPort", 2181, 1, 65535);
            int quorum = (int) y.integer(m, "quorumPort", f + ".quorumPort", 2888, 1, 65535);
            int election = (int) y.integer(m, "electionPort", f + ".electionPort", 3888, 1, 65535);
            for (int port : new int[] {client, quorum, election}) {
                if (!addresses.add(host + ":" + port)) {
                    throw y.error(mn, f, host + ":" + port + " is used twice");
                }
            }
            members.add(new Bootstrap.Member(id, node, host, client, quorum, election, witness));
        }
        if (members.isEmpty()) {
            throw y.error(e.get("members"), "ensemble.members", "must list at least one server");
        }
        if (members.stream().filter(Bootstrap.Member::witness).count() > 1) {
            throw y.error(e.get("members"), "ensemble.members", "has more than one witness (one is enough: it makes"
                    + " two hosts a majority of three)");
        }
        return new Bootstrap.Ensemble(Path.of(dir), tick, List.copyOf(members));
    }
}
