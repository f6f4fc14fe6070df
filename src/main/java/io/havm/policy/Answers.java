package io.havm.policy;

import io.havm.model.ResourceSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Agents' answers to the commands their groups wait for, and their silence: a command whose budget
 * runs out counts as failed (see {@link Coordinator#budget}).
 */
final class Answers extends Rules {
    Answers(StepContext c) {
        super(c);
    }

    /** The command {@code g} waits for got no answer within its budget. */
    void expired(ClusterState.Group g) {
        String name = g.name();
        String n = g.node();
        String silent = "no answer within " + secs(budget(g));
        switch (g.phase()) {
            case STARTING -> {
                Set<String> tried = new TreeSet<>(g.tried());
                tried.add(n);
                await(g.failing(n, null).withTried(tried), GroupEvent.ONLINE_TIMEOUT, "online on " + n + ": " + silent
                        + "; it may still start it: terminate there before the next node",
                        a -> new Command.Terminate(name, n, a));
            }
            case RESTARTING -> await(g.failing(n, null), GroupEvent.RESTART_TIMEOUT, "restart of " + g.restarting()
                    + " on " + n + ": " + silent + "; terminate there, then fail over",
                    a -> new Command.Terminate(name, n, a));
            case STOPPING -> await(g.failing(n, null), GroupEvent.OFFLINE_TIMEOUT, "offline on " + n + ": " + silent
                    + "; terminate there", a -> new Command.Terminate(name, n, a));
            case MOVING -> {
                ClusterState.Moving m = (ClusterState.Moving) g.work();
                String src = m.from();
                String dst = m.to();
                await(g.failing(src, dst).withRetryAt(null), GroupEvent.MOVE_TIMEOUT, "move " + src + "->" + dst + " "
                        + m.mode().word + ": " + silent + "; terminate on " + src + ", then on " + dst,
                        a -> new Command.Terminate(name, src, a));
            }
            case FAILING -> c.fencing.unresponsive(g, GroupEvent.TERMINATE_TIMEOUT, "terminate of " + name + " on " + n
                    + ": " + silent);
            default -> groups.put(name, g.awaiting(g.attempt(), null)); // nothing is awaited in this phase
        }
    }

    /**
     * Whether an answer is not the one the group waits for: another phase or node, or the
     * right ones but another attempt (an earlier attempt's late answer, or a stray copy's).
     */
    boolean stale(ClusterState.Group g, GroupPhase expected, String node, String what, long attempt) {
        if (g == null || g.phase() != expected || !eq(g.node(), node)) {
            note(node + " " + what + " ignored: group is " + (g == null ? "unknown" : describe(g)));
            return true;
        }
        if (g.attempt() != attempt) {
            note(node + " " + what + " ignored: it answers attempt " + attempt + ", the group (" + describe(g)
                    + ") waits for attempt " + g.attempt());
            return true;
        }
        return false;
    }

    void onlined(String name, String n, boolean ok, String detail, long attempt) {
        ClusterState.Group g = groups.get(name);
        if (stale(g, GroupPhase.STARTING, n, "online answer for " + name, attempt)) {
            return;
        }
        if (ok) {
            set(g.to(GroupPhase.ONLINE, n).withTried(Set.of()), GroupEvent.ONLINE_OK, "online ok");
            return;
        }
        // A failed Online (a timeout above all) may still leave the VM starting there: terminate on
        // that node first; terminated() then tries the next node.
        Set<String> tried = new TreeSet<>(g.tried());
        tried.add(n);
        await(g.failing(n, null).withTried(tried), GroupEvent.ONLINE_FAILED, "online failed on " + n + ": " + detail
                + "; terminate there before the next node", a -> new Command.Terminate(name, n, a));
    }

    void offlined(String name, String n, boolean ok, String detail, long attempt) {
        ClusterState.Group g = groups.get(name);
        if (stale(g, GroupPhase.STOPPING, n, "offline answer for " + name, attempt)) {
            return;
        }
        if (ok) {
            set(g.to(g.wantOnline() ? GroupPhase.PENDING : GroupPhase.OFFLINE, null), GroupEvent.OFFLINE_OK,
                    "offline ok");
        } else {
            await(g.failing(n, null), GroupEvent.OFFLINE_FAILED, "offline failed: " + detail,
                    a -> new Command.Terminate(name, n, a));
        }
    }

    void terminated(String name, String n, boolean ok, String detail, long attempt) {
        ClusterState.Group g = groups.get(name);
        if (g == null || g.phase() != GroupPhase.FAILING || !n.equals(g.node())) {
            note(n + " terminate answer for " + name + " (stray copy or stale): nothing to do");
            return;
        }
        if (stale(g, GroupPhase.FAILING, n, "terminate answer for " + name, attempt)) {
            return;
        }
        if (!ok) {
            // Never assumed: the node could not prove the group off, so it may still run there.
            c.fencing.unresponsive(g, GroupEvent.TERMINATE_FAILED, "terminate of " + name + " on " + n + " not proven ("
                    + detail + ")");
            return;
        }
        String other = ((ClusterState.Failing) g.work()).thenOn();
        if (other != null) {
            // The other end of an interrupted move: terminate there too before failing over; unless
            // it is lost (wait for its fence) or proven off already (fenced, left: nothing to stop).
            ClusterState.Node on = nodes.get(other);
            if (on != null && on.status() == NodeStatus.UP) {
                await(g.failing(other, null).withRetryAt(null), GroupEvent.TERMINATED, "terminated on " + n
                        + "; now on " + other, a -> new Command.Terminate(name, other, a));
                return;
            }
            if (on != null && on.status() == NodeStatus.LOST) {
                set(g.awaitingFence(other, null).withTried(Set.of()).withRetryAt(null), GroupEvent.TERMINATED,
                        "terminated on " + n + "; the move's other end " + other + " is lost and not yet fenced");
                return;
            }
            note(n + " group " + name + ": the move's other end " + other + " is "
                    + (on == null ? "unknown" : on.status().word()) + ": nothing to terminate there");
            g = g.failing(n, null);
        }
        if (!g.wantOnline()) {
            set(g.to(GroupPhase.OFFLINE, null), GroupEvent.TERMINATED, "terminated on " + n + "; wanted offline");
            return;
        }
        Set<String> tried = new TreeSet<>(g.tried());
        tried.add(n);
        c.scheduling.failover(g.withTried(tried), tried, GroupEvent.TERMINATED, "terminated on " + n);
    }

    void restarted(String name, String resource, String n, boolean ok, long attempt) {
        ClusterState.Group g = groups.get(name);
        if (stale(g, GroupPhase.RESTARTING, n, "restart answer for " + name, attempt)) {
            return;
        }
        set(g.to(GroupPhase.ONLINE, n), ok ? GroupEvent.RESTART_OK : GroupEvent.RESTART_FAILED,
                ok ? resource + " restarted" : resource + " restart failed");
        if (!ok) {
            resourceFailed(name, resource, n, "restart failed");
        }
    }

    void resourceFailed(String name, String resource, String n, String detail) {
        ClusterState.Group g = groups.get(name);
        if (g == null || g.phase() != GroupPhase.ONLINE || !n.equals(g.node())) {
            note(n + " failure of " + name + "/" + resource + " ignored: group is "
                    + (g == null ? "unknown" : describe(g)));
            return;
        }
        ResourceSpec rs = spec.groups().get(name).resources().get(resource);
        if (rs == null) {
            note(n + " failure of unknown resource " + name + "/" + resource + " ignored");
            return;
        }
        List<Instant> recent = within(g.restarts().getOrDefault(resource, List.of()), rs.restart().period());
        if (recent.size() < rs.restart().threshold()) {
            List<Instant> next = new ArrayList<>(recent);
            next.add(now);
            Map<String, List<Instant>> all = new HashMap<>(g.restarts());
            all.put(resource, next);
            await(g.withRestarts(all, resource), GroupEvent.RESOURCE_FAILED, resource + " failed (" + detail
                    + "): restart " + next.size() + " of " + rs.restart().threshold() + " in "
                    + rs.restart().period().toSeconds() + " s",
                    a -> new Command.Restart(name, resource, n, a));
        } else if (rs.restart().affectsGroup()) {
            await(g.failing(n, null), GroupEvent.RESOURCE_FAILED, resource + " failed (" + detail
                    + "), restart threshold " + rs.restart().threshold() + " reached: fail over",
                    a -> new Command.Terminate(name, n, a));
        } else {
            Set<String> failed = new TreeSet<>(g.failedResources());
            failed.add(resource);
            groups.put(name, g.withFailed(failed));
            note(n + " group " + name + ": resource " + resource + " left failed (" + detail
                    + "; its restart policy does not affect the group)");
        }
    }

    void moved(String name, String from, String to, boolean ok, String detail, long attempt) {
        ClusterState.Group g = groups.get(name);
        ClusterState.Moving m = g != null && g.work() instanceof ClusterState.Moving x ? x : null;
        if (m == null || !eq(m.from(), from) || !eq(m.to(), to)) {
            note(to + " move answer for " + name + " ignored: group is " + (g == null ? "unknown" : describe(g)));
            return;
        }
        if (g.attempt() != attempt) {
            note(to + " move answer for " + name + " ignored: it answers attempt " + attempt + ", the group ("
                    + describe(g) + ") waits for attempt " + g.attempt());
            return;
        }
        if (ok && hasMoreThanVms(name)) {
            // The source took the group's other resources (scripts, disks) offline before its VMs
            // left; Online on the target brings them up there (a VM there answers AlreadyRunning).
            await(g.to(GroupPhase.STARTING, to), GroupEvent.MOVE_DONE, "moved; the rest of the group comes online on "
                    + to, a -> new Command.Online(name, to, a));
        } else if (ok) {
            set(g.to(GroupPhase.ONLINE, to), GroupEvent.MOVE_DONE, "moved");
        } else {
            // Not retried to that node (failback, drain) until the cluster changes: no migration storm.
            // (The source has brought back online what it took offline for the move.)
            Set<String> tried = new TreeSet<>(g.tried());
            tried.add(to);
            set(g.to(GroupPhase.ONLINE, from).withTried(tried), GroupEvent.MOVE_FAILED, "move failed, still on " + from
                    + ": " + detail);
        }
    }

    /** A move stops the group's scripts and disks on the source; only its VMs migrate. */
    private boolean hasMoreThanVms(String name) {
        return spec.groups().get(name).resources().values().stream()
                .anyMatch(r -> r.type() != ResourceSpec.Type.VM);
    }
}
