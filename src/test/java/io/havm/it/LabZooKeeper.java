package io.havm.it;

import io.havm.util.Exec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * ZooKeeper faults for drills, through {@code ci/lab zookeeper ...} (the lab's single server on
 * 10.77.0.1:2181) and {@code ci/lab ensemble ...} (the ensemble that ships with havm, one
 * {@code havm zookeeper} member inside each of host1..3, or host1, host2 and a witness in the
 * two-host shape). Members are named as ci/lab names them: 1..3, or {@code witness}. See
 * ci/lab-README.md. Each throws an {@link AssertionError} with the command's output when it fails.
 */
final class LabZooKeeper {
    /** Client connect string of the ensemble (of the shape that runs), as ci/lab status --json reports it. */
    static String ensemble() {
        return io.havm.lab.Lab.fromProjectHome().facts().ensemble();
    }

    private static final Path HOME = Exec.projectHome();

    private LabZooKeeper() {}

    /** SIGKILL the single server; its data dir stays. */
    static void kill() {
        lab(Duration.ofSeconds(30), "zookeeper", "kill");
    }

    /** Starts the single server on its data (restoring its old sessions); returns once it serves. */
    static void start() {
        lab(Duration.ofSeconds(90), "zookeeper", "start");
    }

    static void pause() {
        lab(Duration.ofSeconds(30), "zookeeper", "pause");
    }

    static void resume() {
        lab(Duration.ofSeconds(30), "zookeeper", "resume");
    }

    /** Starts the missing servers of the ensemble (host1..3 must be on); returns once they serve. */
    static void ensembleUp() {
        lab(Duration.ofSeconds(120), "ensemble", "up");
    }

    /**
     * Starts the ensemble in the shape of a {@code hosts}-host cluster: 3, a member in each of
     * host1..3; 2, members in host1 and host2 and the witness on a third machine of its own.
     */
    static void ensembleUp(int hosts) {
        lab(Duration.ofSeconds(120), "ensemble", "up", "--hosts", Integer.toString(hosts));
    }

    static void ensembleDown() {
        lab(Duration.ofSeconds(60), "ensemble", "down");
    }

    /** The id (1..3) of the current leader; fails when there is none (e.g. during an election). */
    static int ensembleLeader() {
        String out = lab(Duration.ofSeconds(30), "ensemble", "leader");
        try {
            return Integer.parseInt(out);
        } catch (NumberFormatException e) {
            throw new AssertionError("ci/lab ensemble leader: not an id: " + out, e);
        }
    }

    /** The member that leads: 1..3 or {@code witness}; fails when none does (e.g. during an election). */
    static String ensembleLeaderMember() {
        return lab(Duration.ofSeconds(30), "ensemble", "leader");
    }

    /** SIGKILL member {@code m} (1..3 or {@code witness}); its data stays. */
    static void ensembleKill(String m) {
        lab(Duration.ofSeconds(30), "ensemble", "kill", m);
    }

    /** Starts member {@code m} (1..3 or {@code witness}) again on its data; returns once it serves (when a quorum can). */
    static void ensembleStart(String m) {
        lab(Duration.ofSeconds(120), "ensemble", "start", m);
    }

    /** SIGKILL server {@code n}; its data stays. */
    static void ensembleKill(int n) {
        lab(Duration.ofSeconds(30), "ensemble", "kill", Integer.toString(n));
    }

    /** Starts server {@code n} again on its data; returns once it serves (when a quorum can). */
    static void ensembleStart(int n) {
        lab(Duration.ofSeconds(120), "ensemble", "start", Integer.toString(n));
    }

    private static String lab(Duration timeout, String... args) {
        List<String> command = new ArrayList<>();
        command.add(HOME.resolve("ci/lab").toString());
        command.addAll(List.of(args));
        Exec.Outcome o = Exec.run(timeout, command);
        if (!o.ok()) {
            throw new AssertionError(String.join(" ", command) + ": " + (o.timedOut() ? "timed out" : "exit " + o.code())
                    + "\n" + o.out() + o.err());
        }
        return o.out().strip();
    }
}
