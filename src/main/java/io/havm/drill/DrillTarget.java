package io.havm.drill;

import io.havm.model.Playbook;
import io.havm.model.ClusterSpec;
import io.havm.policy.ClusterState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Where a drill runs: the simulator on the real engine ({@link SimTarget}) or real hosts. The runner
 * asks two views of the same thing and compares them: havm's own state, and the referees, which
 * ask libvirt (and the guest) directly and never go through havm.
 */
public interface DrillTarget extends AutoCloseable {
    /** One line: what runs the drill ("simulator (real engine, virtual time)", "the lab: 3 hosts"). */
    String describe();

    /** Whether time is virtual (the report says "predicted", not "measured"). */
    boolean simulated();

    /** The cluster the drill acts on. */
    ClusterSpec spec();

    /**
     * Refuses, before anything is done, a playbook with a step this target cannot do (an
     * InvalidInputException naming the playbook's line and what it can do).
     */
    default void check(Playbook p) { }

    /** Brings the playbook's groups online where it wants them; the drill's clock starts after this. */
    void prepare(Playbook p);

    /**
     * Called after {@link #prepare} and the preflight, just before the first step: the drill's
     * clock starts when this returns (the lab and the simulator put the groups' failback windows,
     * relative to this start, in force here).
     */
    default void begin(Playbook p) { }

    Instant now();

    /** Lets {@code d} pass while the cluster acts (the simulator runs; real hosts are waited for). */
    void pass(Duration d);

    /** {@link #pass} on real hosts: {@code d} of {@code clock}'s time waited for (an interrupt ends the drill). */
    static void waitFor(io.havm.port.Clock clock, Duration d) {
        try {
            clock.pause(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    /**
     * Injects a fault; {@code host} is resolved (null for faults on a group, a disk or the
     * ensemble). Returns when the fault took effect, when the target knows it better than "when
     * the injection began" (the lab's power-off says when the link went down), else null.
     */
    Instant fault(Playbook.Fault f, String host);

    /** Submits an operator's request as {@code havm group|node} does; {@code host} is resolved. */
    void operate(Playbook.Operation o, String host);

    /** The coordinator's input an operation is, as {@code havm group|node} submits it. */
    static io.havm.policy.Input input(Playbook.Operation o, String host) {
        return switch (o.kind()) {
            case MOVE -> new io.havm.policy.Input.MoveGroup(o.group(), host,
                    io.havm.model.MoveMode.parse("mode", o.mode()));
            case ONLINE -> new io.havm.policy.Input.GroupOnline(o.group());
            case OFFLINE -> new io.havm.policy.Input.GroupOffline(o.group());
            case DRAIN -> new io.havm.policy.Input.DrainNode(host);
            case RESUME -> new io.havm.policy.Input.ResumeNode(host, o.failback());
            case SHUTDOWN -> new io.havm.policy.Input.ShutdownNode(host);
        };
    }

    /**
     * havm's view: the group in the coordinator's state, if any.
     *
     * @throws Unreadable when the state cannot be read now (its ZooKeeper is down)
     */
    Optional<ClusterState.Group> group(String group);

    /**
     * {@code havm validate} of the prepared cluster, before the first step; a simulated target has
     * no hosts to validate.
     */
    default Preflight preflight() {
        return Preflight.notRun("a simulated cluster has no hosts to validate");
    }

    /** The host whose agent is the coordinator now, if one is (havm's own view). */
    Optional<String> coordinator();

    /** havm's state cannot be read now. */
    final class Unreadable extends RuntimeException {
        public Unreadable(String why, Throwable cause) {
            super(why, cause);
        }
    }

    /** The referee's view: the hosts where libvirt runs the group's VM now. */
    List<String> runningOn(String group);

    /**
     * The referee's view: how many times the group's VM booted since {@link #prepare} (counting
     * that start), or empty when this target cannot tell (a cluster's own VMs have no test-guest
     * console to count boots on): a boots check is then reported skipped, never passed.
     */
    OptionalInt boots(String group);

    /**
     * Whether the group's disk content survived (the guest's own counter on its disk), or empty
     * when this target cannot tell (the simulator has no guest disk).
     */
    Optional<Boolean> diskSurvived(String group);

    /**
     * The guest's own account of its work: its console prints TICK n every second, n rising by one
     * within a boot. A second copy writing to the same console, or a guest that stopped and lost
     * time, breaks the rise.
     *
     * @param continuous every boot's ticks rose by one
     * @param inLastBoot how many ticks the current boot printed so far
     * @param perBoot how many ticks each boot printed, for the report
     */
    record Ticks(boolean continuous, int inLastBoot, List<Integer> perBoot) {}

    /** The guest's ticks ({@link Ticks}); empty where no guest prints them (the simulator). */
    default Optional<Ticks> ticks(String group) {
        return Optional.empty();
    }

    /** What the target's own referee saw go wrong that sampling may miss (a start while another copy ran). */
    List<String> refereeProblems();

    /** havm's event log lines since {@link #prepare}, as the coordinators wrote them. */
    List<String> events();

    /**
     * The lines of havm's event log ("ISO-time text") from {@code began} on (none before the drill
     * was prepared); when the log cannot be read, one line saying so.
     */
    static List<String> eventsSince(java.util.function.Supplier<List<String>> log, Instant began) {
        List<String> out = new java.util.ArrayList<>();
        try {
            for (String l : log.get()) {
                int sp = l.indexOf(' ');
                if (sp > 0 && began != null && !Instant.parse(l.substring(0, sp)).isBefore(began)) {
                    out.add(l);
                }
            }
        } catch (RuntimeException e) {
            out.add("(havm's events could not be read: " + e.getMessage() + ")");
        }
        return out;
    }

    @Override
    void close();
}
