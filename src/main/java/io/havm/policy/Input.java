package io.havm.policy;

import io.havm.model.MoveMode;
import java.util.Set;

/** What the coordinator reacts to: membership, agents' reports, fencers' answers, operators, time. */
public sealed interface Input {

    /** A node joined (or rejoined) the cluster; {@code running} = groups its agent reports running there. */
    record NodeUp(String node, Set<String> running) implements Input {}

    /** A node's session expired. */
    record NodeLost(String node) implements Input {}

    /** A node left cleanly (after a drain). */
    record NodeLeft(String node) implements Input {}

    /**
     * The coordinator's declaration that {@code node} is lost is now on the heartbeat storage, where
     * the node, if it still runs and reads it, stops its groups (engines with a second channel).
     */
    record Announced(String node) implements Input {}

    /**
     * A node fenced for not answering is still a member. With storage fencing that is the proof
     * (its acknowledgement) that it stopped every group while its agent process lives on with the
     * same session: that process is done with everything it ran, as if its session had ended, and
     * may join again. With power fencing the policy waits for the session's end instead.
     */
    record StoppedEverything(String node) implements Input {}

    /**
     * A new agent process started on {@code node} (not a rejoin of the same process): the process
     * that may have left a command unanswered is gone. Needed because a node fenced for not
     * answering waits for the end of that process's session, which nobody may have seen (its
     * coordinator died with it) once the new process is a member under the same name.
     */
    record AgentStarted(String node) implements Input {}

    /** The fence agent answered. */
    record Fenced(String node, boolean off, String detail) implements Input {}

    /** An agent answered an Online ({@code attempt}: the command's, echoed). */
    record Onlined(String group, String node, boolean ok, String detail, long attempt) implements Input {}

    /** An agent answered an Offline. */
    record Offlined(String group, String node, boolean ok, String detail, long attempt) implements Input {}

    /**
     * An agent answered a Terminate: {@code ok} only when it proved the group off on its node
     * (libvirt says the domain is off, or the QEMU libvirt recorded is dead; scripts stopped).
     * Otherwise the group may still run there, and the node is fenced before it starts elsewhere.
     */
    record Terminated(String group, String node, boolean ok, String detail, long attempt) implements Input {}

    /** An agent answered a Restart. */
    record Restarted(String group, String resource, String node, boolean ok, long attempt) implements Input {}

    /** A resource's LooksAlive or IsAlive failed on node. */
    record ResourceFailed(String group, String resource, String node, String detail) implements Input {}

    /** An agent answered a Move; on failure the group still runs on {@code from}. */
    record Moved(String group, String from, String to, boolean ok, String detail, long attempt) implements Input {}

    /** Time passed (fence retries, self-fence deadlines, command budgets, failback windows, startup grace). */
    /**
     * A new configuration version is in force (the coordinator's {@link Coordinator} was made for
     * it): new groups are added, groups no longer configured are taken offline, then dropped.
     */
    record ConfigChanged(long version) implements Input {}

    record Tick() implements Input {}

    /**
     * This coordinator has just taken office (first step of its term). Fences run inside the
     * coordinator's process: any fence its predecessor had in flight died with it, unanswered.
     */
    record Elected() implements Input {}

    /** Operator: move a group. */
    record MoveGroup(String group, String to, MoveMode mode) implements Input {}

    /** Operator: bring a group online (also clears a FAILED group's counters). */
    record GroupOnline(String group) implements Input {}

    /** Operator: take a group offline. */
    record GroupOffline(String group) implements Input {}

    /** Operator: pause and evacuate a node. */
    record DrainNode(String node) implements Input {}

    /** Operator: take a node back into service, optionally moving its preferred groups back. */
    record ResumeNode(String node, boolean failback) implements Input {}

    /** Operator: drain, then stop the node. */
    record ShutdownNode(String node) implements Input {}
}
