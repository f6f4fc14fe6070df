package io.havm.drill;

import io.havm.model.Playbook;
import io.havm.model.ClusterSpec;
import io.havm.policy.ClusterState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

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

    /** Brings the playbook's groups online where it wants them; the drill's clock starts after this. */
    void prepare(Playbook p);

    Instant now();

    /** Lets {@code d} pass while the cluster acts (the simulator runs; real hosts are waited for). */
    void pass(Duration d);

    /** Injects a fault; {@code host} is resolved (null for faults on a group, a disk or the ensemble). */
    void fault(Playbook.Fault f, String host);

    /** Submits an operator's request as {@code havm group|node} does; {@code host} is resolved. */
    void operate(Playbook.Operation o, String host);

    /** havm's view: the group in the coordinator's state, if any. */
    Optional<ClusterState.Group> group(String group);

    /** The referee's view: the hosts where libvirt runs the group's VM now. */
    List<String> runningOn(String group);

    /** The referee's view: how many times the group's VM booted since {@link #prepare} (counting that start). */
    int boots(String group);

    /**
     * Whether the group's disk content survived (the guest's own counter on its disk), or empty
     * when this target cannot tell (the simulator has no guest disk).
     */
    Optional<Boolean> diskSurvived(String group);

    /** What the target's own referee saw go wrong that sampling may miss (a start while another copy ran). */
    List<String> refereeProblems();

    /** havm's event log lines since {@link #prepare}, as the coordinators wrote them. */
    List<String> events();

    @Override
    void close();
}
