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
     * A generic-script resource {@code app} on top of the group's VM (append to a group's YAML): it
     * runs where a file named after the host (the lab host's hostname) exists in {@code marks}.
     * {@code extra}: more YAML lines of the resource (8 spaces in).
     */
    static String appOn(java.nio.file.Path marks, String extra) throws IOException {
        java.nio.file.Path script = marks.resolve("app.sh");
        Files.writeString(script, """
                #!/bin/sh
                h=$(hostname)
                case "$1" in
                  online) touch "$HAVM_MARKS/$h" ;;
                  offline|terminate) rm -f "$HAVM_MARKS/$h" ;;
                  looks-alive|is-alive) test -f "$HAVM_MARKS/$h" ;;
                esac
                """);
        Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        return "      app:\n        type: script\n        dependsOn: [vm]\n" + extra + "        properties: {script: "
                + script + ", marks: " + marks + "}\n";
    }

    /** A test VM whose domain XML is also written where cluster.yaml's {@code definition} points. */
    static RealLab.TestVm vmWithDefinition(RealLab lab, String name) throws IOException {
        RealLab.TestVm v = lab.newVm(name);
        java.nio.file.Path def = definition(lab, v);
        Files.createDirectories(def.getParent());
        Files.writeString(def, v.props().definitionXml());
        return v;
    }

    /** The YAML of an HA group holding {@code v} (see {@link LabCluster#vmGroup}). */
    static String group(RealLab lab, RealLab.TestVm v, String group, java.util.List<String> preferred,
            String groupExtra, String vmExtra) {
        return LabCluster.vmGroup(group, v.name(), definition(lab, v), lab.lab.sharedDir().resolve("save"), preferred,
                groupExtra, vmExtra);
    }

    private static java.nio.file.Path definition(RealLab lab, RealLab.TestVm v) {
        return lab.lab.sharedDir().resolve("defs").resolve(v.name() + ".xml");
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
            Files.deleteIfExists(lab.lab.facts().agentsDir().resolve(h + ".log"));
        }
    }
}
