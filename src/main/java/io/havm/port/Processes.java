package io.havm.port;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Processes on this host: the scripts of script resources (generic and OCF agents) and the QEMU
 * processes libvirt started, which a Terminate kills by pid when libvirt cannot. On hosts, real
 * child processes with a timeout; in the simulator, simulated agents and domains that can fail,
 * hang and be slow.
 */
public interface Processes {
    /** Exit code (-1 when it was killed at its timeout), whether it timed out, stdout and stderr. */
    record Outcome(int code, boolean timedOut, String out, String err) {
        public boolean ok() {
            return code == 0 && !timedOut;
        }
    }

    /**
     * Runs {@code command} with the agent's own environment plus {@code env}, killed after
     * {@code timeout}. Never throws: a program that cannot start exits 127 with the reason on stderr.
     */
    Outcome run(List<String> command, Map<String, String> env, Duration timeout);

    /** Whether {@code file} is an executable regular file here. */
    boolean executable(Path file);

    /** SIGKILL the QEMU libvirt recorded for {@code domain} here, if one lives; true if one was killed. */
    boolean killQemu(String domain);

    /** Whether a QEMU libvirt recorded for {@code domain} still lives here (no libvirt involved). */
    boolean qemuAlive(String domain);
}
