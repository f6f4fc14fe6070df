package io.havm.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A drill: what it needs, then its steps in order. Read by {@code io.havm.config.PlaybookLoader},
 * which checks every field (file:line: field: problem (allowed: ...)); run by io.havm.drill.DrillRunner.
 *
 * @param file where it was read from
 * @param name its name ([a-z0-9-], the report's and the JUnit suite's name)
 * @param description what it shows, for the report
 * @param groups the groups it needs: for the lab, made for the drill (one test-guest VM each) and
 *        brought online on their host before the first step; on a cluster, existing ones
 * @param steps what it does, in order
 */
public record Playbook(String file, String name, String description, Map<String, Need> groups, List<Step> steps) {

    /**
     * A group the drill needs, online on {@code on} before it starts (null: wherever it is).
     *
     * @param antiAffinity its anti-affinity class (a guest cluster's members share one), or null
     * @param hard whether that anti-affinity is hard (never together) or soft (apart when possible)
     * @param lun on the lab, the LUN of the lab's iSCSI target that is the VM's disk (a disk resource
     *        {@code disk} of storage disk {@link #lunDisk()}, which lun-remove/lun-restore name); 0: a
     *        file on the shared directory
     * @param failbackWindow the group's failback window, relative to the drill's start; null: none
     *        (failback never, as a group without {@code failback:})
     */
    public record Need(String group, String on, int memoryMiB, String antiAffinity, boolean hard, int lun,
            FailbackWindow failbackWindow) {
        public Need(String group, String on, int memoryMiB) {
            this(group, on, memoryMiB, null, true, 0, null);
        }

        public Need(String group, String on, int memoryMiB, String antiAffinity, boolean hard) {
            this(group, on, memoryMiB, antiAffinity, hard, 0, null);
        }

        /**
         * The group's lines of a cluster configuration for a drill that starts at {@code start}: its
         * anti-affinity, and its failback window as wall-clock times of {@code zone}.
         */
        public String groupYaml(java.time.Instant start, java.time.ZoneId zone) {
            if (failbackWindow == null) {
                return groupYaml();
            }
            java.time.format.DateTimeFormatter hms = java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss");
            java.time.Instant from = start.plus(failbackWindow.startsIn());
            java.time.Instant to = from.plus(failbackWindow.lasts());
            return groupYaml() + "    failback: window " + hms.format(from.atZone(zone)) + "-" + hms.format(to.atZone(zone))
                    + "\n";
        }

        /** The storage disk of a group whose VM's disk is a LUN ({@code lun: N}): {@code GROUP-lun}; else null. */
        public String lunDisk() {
            return lun == 0 ? null : group + "-lun";
        }

        /** The group's lines of a cluster configuration that this need adds (its anti-affinity). */
        public String groupYaml() {
            return antiAffinity == null ? "" : "    antiAffinity: [{class: " + antiAffinity + ", hard: " + hard + "}]\n";
        }
    }

    /**
     * A failback window that opens {@code startsIn} after the drill's start and stays open for
     * {@code lasts}: written into the drill cluster's configuration as {@code failback: window
     * HH:MM:SS-HH:MM:SS} when the drill starts, so the playbook works at any time of day.
     */
    public record FailbackWindow(Duration startsIn, Duration lasts) {}

    /** Whether a group has a failback window (then the target puts the windows in force at the drill's start). */
    public boolean hasFailbackWindows() {
        return groups.values().stream().anyMatch(n -> n.failbackWindow() != null);
    }

    /** The storage disks the drill's groups have on LUNs ({@code lun: N}), by name: what lun-remove may name. */
    public Map<String, Need> lunDisks() {
        Map<String, Need> out = new java.util.LinkedHashMap<>();
        groups.values().stream().filter(n -> n.lun() != 0).forEach(n -> out.put(n.lunDisk(), n));
        return out;
    }

    /**
     * A host, decided when the step starts: named directly ({@code host1}), where a group runs
     * ({@code {ownerOf: web}}), the coordinator's host ({@code {coordinator: true}}), or the host
     * the last fault acted on ({@code {lastFaulted: true}}: after the coordinator's host was lost,
     * "the coordinator" is another host).
     *
     * @param role {@link #COORDINATOR} or {@link #LAST_FAULTED}; null for the other two forms
     */
    public record HostRef(String host, String ownerOf, String role) {
        public static final String COORDINATOR = "coordinator";
        public static final String LAST_FAULTED = "lastFaulted";

        public static HostRef named(String h) {
            return new HostRef(h, null, null);
        }

        public static HostRef ownerOf(String group) {
            return new HostRef(null, group, null);
        }

        @Override
        public String toString() {
            return host != null ? host : ownerOf != null ? "the owner of " + ownerOf
                    : COORDINATOR.equals(role) ? "the coordinator's host" : "the host of the last fault";
        }
    }

    /** One step; {@code line} is its line in the playbook, {@code label} what the report calls it. */
    public sealed interface Step permits Fault, Operation, Wait, Check, Pause {
        int line();

        String label();
    }

    /** The faults a drill can inject (what each means on the lab and in the simulator: playbooks/README.md). */
    public enum FaultKind {
        POWER_LOSS("power-loss", true), POWER_ON("power-on", true), ISOLATE("isolate", true), HEAL("heal", true),
        LIBVIRTD_RESTART("libvirtd-restart", true), QEMU_KILL("qemu-kill", false), GUEST_CRASH("guest-crash", false),
        GUEST_AGENT_STOP("guest-agent-stop", false), AGENT_PAUSE("agent-pause", true),
        AGENT_RESUME("agent-resume", true), AGENT_KILL("agent-kill", true), AGENT_START("agent-start", true),
        ZOOKEEPER_STOP("zookeeper-stop", false), ZOOKEEPER_START("zookeeper-start", false),
        ZOOKEEPER_PAUSE("zookeeper-pause", false), ZOOKEEPER_RESUME("zookeeper-resume", false),
        ZOOKEEPER_RESTART("zookeeper-restart", false), FENCE_FAILS("fence-fails", true),
        LUN_REMOVE("lun-remove", false), LUN_RESTORE("lun-restore", false), STORAGE_CUT("storage-cut", true),
        STORAGE_RESTORE("storage-restore", true);

        public final String word;
        /** Whether it acts on a host (host: or ownerOf:); else on a group's VM, a disk or the ensemble. */
        public final boolean onHost;

        FaultKind(String word, boolean onHost) {
            this.word = word;
            this.onHost = onHost;
        }
    }

    /**
     * @param host the host (host faults)
     * @param group the group whose VM it hits (qemu-kill, guest-crash, guest-agent-stop)
     * @param disk the disk (lun-remove, lun-restore)
     * @param count fence-fails: how many fence attempts fail
     */
    public record Fault(int line, String label, FaultKind kind, HostRef host, String group, String disk, int count)
            implements Step {}

    public enum OperationKind {
        MOVE("move"), ONLINE("online"), OFFLINE("offline"), DRAIN("drain"), RESUME("resume"), SHUTDOWN("shutdown");

        public final String word;

        OperationKind(String word) {
            this.word = word;
        }
    }

    /** An operator's request, as {@code havm group|node ...} submits it. */
    public record Operation(int line, String label, OperationKind kind, String group, HostRef host, HostRef to,
            String mode, boolean failback) implements Step {}

    /**
     * Waits until {@code group} is {@code phase} (on {@code on}, or anywhere but {@code notOn}),
     * at most {@code within}; a wait that runs out fails the drill there.
     */
    public record Wait(int line, String label, String group, String phase, HostRef on, HostRef notOn,
            Duration within) implements Step {}

    public enum CheckKind {
        RUNS_ON("runs-on"), NOT_ON("not-on"), RAN_ONCE("ran-once"), RECOVERY("recovery"), QUIET("quiet"),
        BOOTS("boots"), DISK_SURVIVED("disk-survived"), TICKS("ticks");

        public final String word;

        CheckKind(String word) {
            this.word = word;
        }
    }

    /**
     * An assertion, judged by the referees (where libvirt runs the VM, its boots) as well as by
     * havm's own state.
     *
     * @param host runs-on, not-on
     * @param within recovery: the most the last fault may take to the group online; quiet: the window
     * @param count boots: how many times the VM booted since the drill began (1: never restarted)
     */
    public record Check(int line, String label, CheckKind kind, String group, HostRef host, Duration within,
            int count) implements Step {}

    /** Lets time pass (the cluster acts meanwhile). */
    public record Pause(int line, String label, Duration duration) implements Step {}
}
