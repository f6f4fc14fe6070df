package io.havm.model;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What a host needs before it can read the cluster's configuration from the cluster store
 * ({@code /etc/havm/agent.yaml}): its node name, the cluster's name, how to reach ZooKeeper and
 * with which credentials; and, for {@code havm zookeeper}, the ensemble this host is a member of.
 *
 * @param node            this host's node name (null on a witness, which runs no agent)
 * @param cluster         the cluster's name: its root in ZooKeeper is {@code /havm/<cluster>}
 * @param zookeeper       the connect string; when absent, the ensemble's members' client addresses
 * @param sessionTimeout  the ZooKeeper session timeout the agent asks for
 * @param credentials     a file readable by root only holding {@code user:password} (digest); null: none
 * @param ensemble        the ensemble {@code havm zookeeper} runs a member of; null: an external one
 * @param file            where this was read from (for messages)
 */
public record Bootstrap(String node, String cluster, String zookeeper, Duration sessionTimeout, Path credentials,
        Ensemble ensemble, String file) {

    public static final Path DEFAULT_FILE = Path.of("/etc/havm/agent.yaml");
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(10);

    /** The ZooKeeper root of the cluster. */
    public String root() {
        return "/havm/" + cluster;
    }

    /** The connect string: {@link #zookeeper} if given, else every ensemble member's client address. */
    public String connectString() {
        if (zookeeper != null) {
            return zookeeper;
        }
        return ensemble.members().stream().map(Member::clientAddress).collect(Collectors.joining(","));
    }

    /**
     * An ensemble of ZooKeeper servers run by {@code havm zookeeper}: one per cluster host, plus a
     * witness where the hosts alone cannot make a majority that survives one loss (two hosts).
     */
    public record Ensemble(Path dataDir, Duration tickTime, List<Member> members) {
        public Optional<Member> of(String node) {
            return members.stream().filter(m -> node != null && node.equals(m.node())).findFirst();
        }

        public Optional<Member> witness() {
            return members.stream().filter(Member::witness).findFirst();
        }
    }

    /**
     * One server of the ensemble.
     *
     * @param node the cluster node it runs on (null for a witness)
     */
    public record Member(int id, String node, String host, int clientPort, int quorumPort, int electionPort,
            boolean witness) {
        public String clientAddress() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + clientPort;
        }
    }
}
