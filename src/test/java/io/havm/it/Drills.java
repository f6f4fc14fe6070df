package io.havm.it;

import static org.awaitility.Awaitility.await;

import io.havm.lab.LabCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.awaitility.core.ConditionTimeoutException;

/** What every cluster drill on the lab does around its steps: wait with the agents' logs at hand, and clean up. */
final class Drills {
    private Drills() {}

    /** Waits until {@code condition}; on time-out fails with the groups, the events and every agent's log. */
    static void awaitOrLogs(LabCluster cluster, String alias, Duration atMost, Callable<Boolean> condition) {
        try {
            await(alias).atMost(atMost).pollInterval(Duration.ofMillis(200)).until(condition);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(alias + " did not happen within " + atMost.toSeconds() + " s; groups "
                    + cluster.summary() + "\nevents:\n" + String.join("\n", cluster.events()) + "\n"
                    + cluster.agentLogs(), e);
        }
    }

    /**
     * Holds an injected fault for {@code d} (a ZooKeeper outage of 20 s lasts 20 s): the length of
     * the fault itself, not a wait for a condition, which drills poll for with a deadline.
     */
    static void keepFaultFor(Duration d) throws InterruptedException {
        Thread.sleep(d.toMillis());
    }

    /** Stops the cluster's agents and disconnects; their logs go, so the next drill starts with empty ones. */
    static void stop(LabCluster cluster, RealLab lab) throws IOException {
        if (cluster == null) {
            return;
        }
        cluster.stopAgents();
        cluster.close();
        for (String h : lab.hosts.keySet()) {
            Files.deleteIfExists(LabCluster.AGENTS_DIR.resolve(h + ".log"));
        }
    }
}
