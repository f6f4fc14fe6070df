package io.havm.it;

import io.havm.util.Exec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * ZooKeeper faults for drills, through {@code ci/lab zookeeper ...} (the lab's single server on
 * 10.77.0.1:2181) and {@code ci/lab ensemble ...} (three servers, server N inside hostN). See
 * ci/lab-README.md. Each throws an {@link AssertionError} with the command's output when it fails.
 */
final class LabZooKeeper {
    /** Client connect string of the ensemble, as ci/lab status --json reports it. */
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
