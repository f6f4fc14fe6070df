package io.havm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.coordination.ZkCoordination;
import io.havm.util.Exec;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** `lab up` runs the single-machine ZooKeeper on the bridge: reachable from the root and from every host. */
class LabZooKeeperIT {
    final RealLab lab = RealLab.get();

    @Test
    void theLabZooKeeperAnswersFromTheRootNamespaceAndFromInsideEveryHost() {
        try (ZkCoordination a = new ZkCoordination(lab.lab.facts().zookeeper(), "/havm/it-lab", Duration.ofSeconds(3),
                Duration.ofSeconds(5))) {
            a.join("it-root", new byte[0]);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> a.members().contains("it-root"));
        }
        for (String host : lab.hosts.keySet()) {
            // ZooKeeper's "srvr" four-letter command over a plain TCP socket from the host's namespace.
            String[] zk = lab.lab.facts().zookeeper().split(":");
            Exec.Outcome o = lab.lab.exec(host, "bash", "-c",
                    "exec 3<>/dev/tcp/" + zk[0] + "/" + zk[1] + " && printf srvr >&3 && timeout 5 cat <&3");
            assertEquals(0, o.code(), host + ": " + o.err());
            assertTrue(o.out().contains("Zookeeper version"), host + ": " + o.out());
        }
    }
}
