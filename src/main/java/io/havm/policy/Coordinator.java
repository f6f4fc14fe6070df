package io.havm.policy;

import io.havm.model.ClusterSpec;
import io.havm.model.GroupSpec;
import io.havm.model.MoveMode;
import io.havm.model.ResourceSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongFunction;

/**
 * The coordinator's decisions: a pure function from (state, input, now) to (next state, commands,
 * log). No clock, no I/O, no threads; the engine executes the commands and feeds the answers back
 * as inputs, on real hosts and in the simulator alike.
 *
 * <p>Safety rules, each enforced here and checked by the simulator's invariants:
 * <ul>
 *   <li>A group is started on a node only when the coordinator knows it runs nowhere: its phase
 *       says so, and a lost owner must first be proven fenced (fence agent said off, or the
 *       self-fence deadline passed).</li>
 *   <li>Restarts in place and failovers are counted in sliding windows and never exceed their
 *       thresholds; past the failover threshold the group is left FAILED for an operator.</li>
 *   <li>Every transition is logged in one format: {@code <node> group <g>: <from> -> <to> (<why>)}.</li>
 *   <li>Startup grace: until the cluster has formed (every configured node up at once, or
 *       {@code timers.startupGrace} after the first node was seen), groups that run nowhere are
 *       not placed, so the first node to join does not take every group from its preferred
 *       owners. A group a joining node reports running is adopted at once.</li>
 *   <li>No command waits forever. Each command for a group carries an attempt number and gets a
 *       budget (see {@link #budget}); an answer with another attempt number is ignored. When the
 *       budget runs out: a silent Online, Restart or Offline counts as failed and the group is
 *       terminated on that node before it goes anywhere else (the node may still start the VM);
 *       a silent Move is an interrupted move (terminate on the source, then on the target); a
 *       silent Terminate means the node's agent is unresponsive: the node is fenced like a lost
 *       one, and its groups wait in awaiting-fence until the fence is confirmed. A node without a
 *       fence agent cannot be made safe that way: it takes no new groups, and the group waits
 *       until the node answers again (then it is terminated there first) or its session ends
 *       (then the self-fence deadline applies).</li>
 *   <li>A step sends only what its final state accounts for: a command its group no longer waits
 *       for by the end of the step (the node was lost and came back within the same batch of
 *       inputs) is not sent, and neither is a fence for a node that is back. Agents drop a command
 *       the stored state no longer waits for ({@link Command#superseded}).</li>
 *   <li>A node's report after it comes back proves what runs there only if nothing else may still
 *       put the VM there: the end of a move that came back before it was fenced is treated as an
 *       interrupted move (terminate on both ends), since the other end may still be migrating.</li>
 * </ul>
 */
public final class Coordinator {
    /** How long a group that failed on every node waits before trying them all again. */
    static final Duration PENDING_RETRY = Duration.ofSeconds(60);

    private final ClusterSpec spec;

    /** What one step produced. */
    public record Step(ClusterState state, List<Command> commands, List<String> log) {}

    public Coordinator(ClusterSpec spec) {
        this.spec = spec;
    }

    public ClusterSpec spec() {
        return spec;
    }

    /** No node has joined yet; groups wait for a node (or stay offline when autoStart is off). */
    public ClusterState initial() {
        TreeMap<String, ClusterState.Group> groups = new TreeMap<>();
        for (GroupSpec g : spec.groups().values()) {
            groups.put(g.name(), ClusterState.Group.offline(g.name(), g.autoStart()));
        }
        return new ClusterState(new TreeMap<>(), groups, null, null, null);
    }

    /**
     * How long the coordinator waits for the answer to the command a group in {@code phase}
     * awaits, from the moment it sends it. The agent's own work is bounded by the resources'
     * {@code pendingTimeout}:
     * <ul>
     *   <li>Online, Offline, Terminate: the resources go one after another, so the sum of their
     *       pending timeouts;</li>
     *   <li>Move: the source's half (offline action, save, or migration out) and the target's
     *       half (online, restore), each bounded like an Offline and an Online: twice the sum;</li>
     *   <li>Restart of one resource: it and its dependents go down and come back: twice the sum
     *       of their pending timeouts.</li>
     * </ul>
     * Plus {@code timers.sessionTimeout}: a command and its answer may wait in the store that long
     * while the node is cut off within its session, and an agent that hits its own timeout still
     * answers (failed) a little after it.
     */
    public Duration budget(String group, GroupPhase phase, String resource) {
        GroupSpec gs = spec.groups().get(group);
        Duration all = Duration.ZERO;
        for (ResourceSpec r : gs.resources().values()) {
            all = all.plus(r.pendingTimeout());
        }
        Duration work = all;
        if (phase == GroupPhase.MOVING) {
            work = all.multipliedBy(2);
        } else if (phase == GroupPhase.RESTARTING && gs.resources().containsKey(resource)) {
            Duration some = gs.resources().get(resource).pendingTimeout();
            for (String d : Dependencies.dependents(gs, resource)) {
                some = some.plus(gs.resources().get(d).pendingTimeout());
            }
            work = some.multipliedBy(2);
        }
        return work.plus(spec.timers().sessionTimeout());
    }

    Duration budget(ClusterState.Group g) {
        return budget(g.name(), g.phase(), g.restarting());
    }

    public Step apply(ClusterState state, Input input, Instant now) {
        return apply(state, List.of(input), now);
    }

    /**
     * Applies every input that arrived together, then schedules once: a cluster that forms with
     * several nodes at once places groups across all of them, not all on the first to join.
     */
    public Step apply(ClusterState state, List<Input> inputs, Instant now) {
        Ctx c = new Ctx(state, now);
        for (Input input : inputs) {
            handle(c, input);
        }
        c.schedule();
        c.dropSuperseded();
        return new Step(new ClusterState(c.nodes, c.groups, c.firstNodeUpAt, c.formedAt, c.failbackTo), c.commands,
                c.log);
    }

    private void handle(Ctx c, Input input) {
        if (input instanceof Input.NodeUp in) {
            c.nodeUp(in.node(), in.running());
        } else if (input instanceof Input.NodeLost in) {
            c.nodeLost(in.node());
        } else if (input instanceof Input.NodeLeft in) {
            c.nodeLeft(in.node());
        } else if (input instanceof Input.Announced in) {
            c.announced(in.node());
        } else if (input instanceof Input.Fenced in) {
            c.fenced(in.node(), in.off(), in.detail());
        } else if (input instanceof Input.Onlined in) {
            c.heard(in.node());
            c.onlined(in.group(), in.node(), in.ok(), in.detail(), in.attempt());
        } else if (input instanceof Input.Offlined in) {
            c.heard(in.node());
            c.offlined(in.group(), in.node(), in.ok(), in.detail(), in.attempt());
        } else if (input instanceof Input.Terminated in) {
            c.heard(in.node());
            c.terminated(in.group(), in.node(), in.ok(), in.detail(), in.attempt());
        } else if (input instanceof Input.Restarted in) {
            c.heard(in.node());
            c.restarted(in.group(), in.resource(), in.node(), in.ok(), in.attempt());
        } else if (input instanceof Input.ResourceFailed in) {
            c.heard(in.node());
            c.resourceFailed(in.group(), in.resource(), in.node(), in.detail());
        } else if (input instanceof Input.Moved in) {
            c.heard(in.from()); // a move runs on its source's agent
            c.moved(in.group(), in.from(), in.to(), in.ok(), in.detail(), in.attempt());
        } else if (input instanceof Input.Tick in) {
            c.tick();
        } else if (input instanceof Input.Elected in) {
            c.elected();
        } else if (input instanceof Input.MoveGroup in) {
            c.moveGroup(in.group(), in.to(), in.mode());
        } else if (input instanceof Input.GroupOnline in) {
            c.groupOnline(in.group());
        } else if (input instanceof Input.GroupOffline in) {
            c.groupOffline(in.group());
        } else if (input instanceof Input.DrainNode in) {
            c.drain(in.node(), false);
        } else if (input instanceof Input.ResumeNode in) {
            c.resume(in.node(), in.failback());
        } else if (input instanceof Input.ShutdownNode in) {
            c.drain(in.node(), true);
        } else {
            throw new IllegalArgumentException("unknown input " + input);
        }
    }

    /** One step's working copy. */
    private final class Ctx {
        final TreeMap<String, ClusterState.Node> nodes;
        final TreeMap<String, ClusterState.Group> groups;
        final Instant now;
        final List<Command> commands = new ArrayList<>();
        final List<String> log = new ArrayList<>();
        Instant firstNodeUpAt;
        Instant formedAt;
        final java.util.TreeSet<String> failbackTo;
        /** A node joined, was lost or left in this step: worth saying what forming still waits for. */
        boolean membershipChanged;
        /** Commands of this step whose answer their group waits for, with the group. */
        final Map<Command, String> awaited = new java.util.LinkedHashMap<>();

        Ctx(ClusterState s, Instant now) {
            this.nodes = new TreeMap<>(s.nodes());
            this.groups = new TreeMap<>(s.groups());
            this.now = now;
            this.firstNodeUpAt = s.firstNodeUpAt();
            this.formedAt = s.formedAt();
            this.failbackTo = new java.util.TreeSet<>(s.failbackTo());
            if (firstNodeUpAt == null && formedAt == null && !nodes.isEmpty()) {
                // State written before the startup grace existed: that cluster formed long ago.
                firstNodeUpAt = now;
                formedAt = now;
            }
        }

        // ------------------------------------------------------------ logging and transitions

        void set(ClusterState.Group next, String why) {
            ClusterState.Group prev = groups.put(next.name(), next);
            if (prev == null || prev.phase() != next.phase() || !eq(prev.node(), next.node())) {
                String where = next.node() != null ? next.node() : prev != null && prev.node() != null ? prev.node() : "-";
                log.add(where + " group " + next.name() + ": " + describe(prev) + " -> " + describe(next) + " (" + why
                        + ")");
            }
        }

        String describe(ClusterState.Group g) {
            if (g == null) {
                return "none";
            }
            return switch (g.phase()) {
                case MOVING -> "moving " + g.from() + "->" + g.node() + " " + g.mode().word;
                case OFFLINE, PENDING, FAILED -> g.phase().word();
                default -> g.phase().word() + " on " + g.node();
            };
        }

        void setNode(ClusterState.Node next, String why) {
            ClusterState.Node prev = nodes.put(next.name(), next);
            String from = prev == null ? "unknown" : word(prev);
            String to = word(next);
            if (!from.equals(to)) {
                log.add(next.name() + " node: " + from + " -> " + to + " (" + why + ")");
            }
        }

        String word(ClusterState.Node n) {
            return n.status().word() + (n.unresponsive() && n.status() == NodeStatus.UP ? "/unresponsive" : "")
                    + (n.draining() ? "/draining" : n.paused() ? "/paused" : "");
        }

        void command(Command cmd) {
            commands.add(cmd);
            log.add("  command " + describe(cmd));
        }

        String describe(Command cmd) {
            if (cmd instanceof Command.Online x) {
                return "online " + x.group() + " on " + x.node();
            }
            if (cmd instanceof Command.Offline x) {
                return "offline " + x.group() + " on " + x.node();
            }
            if (cmd instanceof Command.Terminate x) {
                return "terminate " + x.group() + " on " + x.node();
            }
            if (cmd instanceof Command.Restart x) {
                return "restart " + x.group() + "/" + x.resource() + " on " + x.node();
            }
            if (cmd instanceof Command.Move x) {
                return "move " + x.group() + " " + x.from() + " -> " + x.to() + " " + x.mode().word;
            }
            if (cmd instanceof Command.Fence x) {
                return "fence " + x.node();
            }
            if (cmd instanceof Command.ShutdownNode x) {
                return "shutdown node " + x.node();
            }
            throw new IllegalArgumentException("unknown command " + cmd);
        }

        void note(String line) {
            log.add(line);
        }

        /**
         * Moves the group to {@code next} and sends the command that phase waits for, with the
         * group's next attempt number and a deadline from its {@link #budget}.
         */
        void await(ClusterState.Group next, String why, LongFunction<Command> make) {
            long attempt = next.ops() + 1;
            set(next.awaiting(attempt, now.plus(budget(next))), why);
            Command cmd = make.apply(attempt);
            awaited.put(cmd, next.name());
            command(cmd);
        }

        /**
         * Takes back, before they are sent, the commands of this step that their group no longer
         * waits for: later inputs of the same step moved it on (its node was lost and came back, say),
         * and the state accounts for none of their effects.
         */
        void dropSuperseded() {
            for (Map.Entry<Command, String> e : awaited.entrySet()) {
                ClusterState.Group g = groups.get(e.getValue());
                if (g.attempt() != Command.attemptOf(e.getKey()) && unsend(e.getKey())) {
                    note("- group " + g.name() + ": " + describe(e.getKey()) + " not sent: superseded in the same"
                            + " step (now " + describe(g) + ")");
                }
            }
        }

        /** Takes back a command decided earlier in this step (not yet sent); true if there was one. */
        boolean unsend(Command c) {
            int i = commands.lastIndexOf(c);
            if (i < 0) {
                return false;
            }
            commands.remove(i);
            log.remove(log.lastIndexOf("  command " + describe(c)));
            return true;
        }

        /** Sends a command whose answer nothing waits for (a stray copy's Terminate). */
        void send(String group, LongFunction<Command> make) {
            ClusterState.Group g = groups.get(group);
            long attempt = g.ops() + 1;
            groups.put(group, g.used(attempt));
            command(make.apply(attempt));
        }

        String secs(Duration d) {
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s"
                    : String.format(java.util.Locale.ROOT, "%.3f s", d.toMillis() / 1000.0);
        }

        // ------------------------------------------------------------ membership and fencing

        void nodeUp(String n, Set<String> running) {
            if (spec.node(n).isEmpty()) {
                note(n + " node: not in the configuration: ignored");
                return;
            }
            ClusterState.Node prev = nodes.get(n);
            ClusterState.Node next = prev == null ? ClusterState.Node.up(n) : prev.cameBack();
            setNode(next, prev == null ? "joined" : "rejoined");
            membershipChanged = true;
            if (unsend(new Command.Fence(n))) {
                // Lost and back within one step (inputs that piled up while nobody led): its new
                // session reports what runs there; powering it off now would only kill what we place.
                note(n + " node: back before its fence was sent: fence cancelled");
            }
            if (firstNodeUpAt == null) {
                firstNodeUpAt = now; // the startup grace runs from here
            }
            if (prev != null && prev.status() == NodeStatus.UP) {
                note(n + " node: new incarnation (restarted without its loss being seen): reconciling");
                restarted(n, running);
            } else if (prev != null) {
                // Whatever was sent to its previous session is gone with it: nothing may still wait for it.
                restarted(n, running);
            }
            for (ClusterState.Group g : new ArrayList<>(groups.values())) {
                boolean runsHere = running.contains(g.name());
                if (g.phase() == GroupPhase.AWAITING_FENCE && n.equals(g.node())) {
                    ClusterState.Node other = g.from() == null ? null : nodes.get(g.from());
                    if (runsHere) {
                        set(g.to(GroupPhase.ONLINE, n), "owner " + n + " is back and still runs it");
                    } else if (other != null && other.status() == NodeStatus.UP) {
                        // It was moving (or being terminated on both ends): the other end may still be
                        // executing the move towards n, so n's report may be overtaken. Unlike a fence, a
                        // report proves nothing here: the interrupted-move rule applies.
                        String src = g.from();
                        await(g.to(GroupPhase.FAILING, src, n).withRetryAt(null), "owner " + n
                                + " is back and reports it stopped, but the move's other end " + src + " may still be"
                                + " moving it: terminate on " + src + ", then on " + n,
                                a -> new Command.Terminate(g.name(), src, a));
                    } else {
                        recoverGroup(g, n, "owner " + n + " is back and reports it stopped");
                    }
                } else if (runsHere && g.phase() == GroupPhase.MOVING && n.equals(g.node())) {
                    continue; // reconciled above, or the move's answer is on its way
                } else if (runsHere && !(n.equals(g.node()) && g.phase().mayRun())
                        && !(g.phase() == GroupPhase.MOVING && n.equals(g.from()))) {
                    if (g.phase().mayRun()) {
                        // Known to run (or start) elsewhere: this copy must go at once.
                        note(n + " group " + g.name() + ": reported running on rejoining " + n + " while "
                                + describe(g) + ": terminating the stray copy");
                        send(g.name(), a -> new Command.Terminate(g.name(), n, a));
                    } else {
                        set(g.to(GroupPhase.ONLINE, n).want(g.wantOnline()), "found running on " + n);
                    }
                }
            }
            // A node coming back gives groups that failed (to start, to move) elsewhere a new chance.
            for (ClusterState.Group g : new ArrayList<>(groups.values())) {
                if ((g.phase() == GroupPhase.PENDING || g.phase() == GroupPhase.ONLINE) && !g.tried().isEmpty()) {
                    groups.put(g.name(), g.withTried(Set.of()));
                }
            }
        }

        /**
         * A node we thought up came back with a new session (its agent or host restarted unseen):
         * what it reports running is the truth; everything we believed about it is reconciled.
         */
        void restarted(String n, Set<String> running) {
            for (ClusterState.Group g : new ArrayList<>(groups.values())) {
                boolean runsHere = running.contains(g.name());
                boolean target = n.equals(g.node());
                boolean source = n.equals(g.from());
                if (!(target || source) || !g.phase().mayRun() || g.phase() == GroupPhase.AWAITING_FENCE) {
                    continue;
                }
                switch (g.phase()) {
                    case MOVING -> {
                        // Either end may still run the VM or be executing the move: terminate on the
                        // source, then on the target, then fail over (terminated() walks the chain).
                        String src = g.from();
                        String dst = g.node();
                        await(g.to(GroupPhase.FAILING, src, dst).withRetryAt(null),
                                "move interrupted: " + n + " restarted; terminate on " + src + ", then on " + dst,
                                a -> new Command.Terminate(g.name(), src, a));
                    }
                    case ONLINE, RESTARTING, STARTING, STOPPING, FAILING -> {
                        if (runsHere && (g.phase() == GroupPhase.ONLINE || g.phase() == GroupPhase.STARTING)) {
                            if (g.phase() == GroupPhase.STARTING) {
                                set(g.to(GroupPhase.ONLINE, n).withTried(Set.of()), n + " restarted and runs it");
                            }
                        } else {
                            // Its report may predate a command still queued for it: never abandon a node
                            // that might start the group; terminate there first, then fail over. Terminating
                            // an interrupted move's two ends keeps the other end in the chain.
                            String other = g.phase() != GroupPhase.FAILING || g.from() == null ? null
                                    : n.equals(g.node()) ? g.from() : g.node();
                            await(g.to(GroupPhase.FAILING, n, other), n + " restarted; "
                                    + (runsHere ? "it runs it" : "it reports it stopped")
                                    + ": terminate there before anything else", a -> new Command.Terminate(g.name(), n, a));
                        }
                    }
                    default -> { }
                }
            }
        }

        void nodeLost(String n) {
            ClusterState.Node prev = nodes.get(n);
            if (prev != null && prev.unresponsive() && prev.status() != NodeStatus.UP) {
                // A node fenced for not answering while still a member: its session has ended now.
                ClusterState.Node ended = prev.sessionEnded(now);
                membershipChanged = true;
                if (prev.status() == NodeStatus.LOST && prev.fenceInFlight()) {
                    // The coordinator that sent the fence may have run on that very node and died
                    // with it, taking the fence's answer along: fence again (twice off is still off).
                    nodes.put(n, ended.fencing(true, prev.fenceAttempts(), null));
                    note(n + " node: session expired before its fence was confirmed; its self-fence deadline"
                            + " runs from now; fence it again");
                    command(new Command.Fence(n));
                } else {
                    nodes.put(n, ended);
                    note(n + " node: session expired" + (prev.status() == NodeStatus.LOST
                            ? "; its self-fence deadline runs from now" : ""));
                }
                return;
            }
            if (prev == null || prev.status() != NodeStatus.UP) {
                return;
            }
            lose(prev.lost(now), "session expired", "owner " + n + " lost");
        }

        /**
         * The node is lost (or declared so): every group that may run there waits for it to be
         * proven off, and a fence agent, if it has one, is asked to make sure.
         */
        void lose(ClusterState.Node lost, String why, String groupWhy) {
            String n = lost.name();
            boolean fenceable = spec.node(n).map(ns -> ns.fencing() != null).orElse(false);
            if (fenceable) {
                lost = lost.fencing(true, 0, now);
            }
            setNode(lost, why);
            membershipChanged = true;
            for (ClusterState.Group g : new ArrayList<>(groups.values())) {
                if (!g.phase().mayRun() || g.phase() == GroupPhase.AWAITING_FENCE) {
                    continue;
                }
                boolean here = n.equals(g.node()) || n.equals(g.from());
                if (!here) {
                    continue;
                }
                // The other end of a move (or of an interrupted one being terminated) may already run
                // it: prefer it once the lost node is fenced.
                String other = null;
                if (g.phase() == GroupPhase.MOVING || g.phase() == GroupPhase.FAILING && g.from() != null) {
                    other = n.equals(g.from()) ? g.node() : g.from();
                }
                set(g.to(GroupPhase.AWAITING_FENCE, n, other).withTried(Set.of()).withRetryAt(null), groupWhy);
            }
            if (fenceable) {
                command(new Command.Fence(n));
            } else if (spec.timers().recoveryWithoutFence() == null) {
                note(n + " node: no fence agent and no recoveryWithoutFence: its groups wait for it to return");
            }
        }

        void nodeLeft(String n) {
            ClusterState.Node prev = nodes.get(n);
            if (prev == null) {
                return;
            }
            membershipChanged = true;
            for (ClusterState.Group g : groups.values()) {
                if (g.phase().mayRun() && (n.equals(g.node()) || n.equals(g.from()))) {
                    // A clean leave with groups still there is not clean: treat it as a loss.
                    nodes.put(n, prev.with(NodeStatus.UP));
                    nodeLost(n);
                    return;
                }
            }
            setNode(prev.with(NodeStatus.DOWN).paused(false, false, false), "left the cluster");
        }

        void fenced(String n, boolean off, String detail) {
            ClusterState.Node node = nodes.get(n);
            if (node == null || node.status() != NodeStatus.LOST) {
                note(n + " node: fence answer '" + detail + "' ignored (node is "
                        + (node == null ? "unknown" : node.status().word()) + ")");
                return;
            }
            if (off) {
                setNode(node.with(NodeStatus.FENCED).fencing(false, node.fenceAttempts(), null), "fenced: " + detail);
                recoverFrom(n);
            } else {
                int attempts = node.fenceAttempts() + 1;
                nodes.put(n, node.fencing(false, attempts, now.plus(spec.timers().fenceRetry())));
                note(n + " node: fence attempt " + attempts + " failed (" + detail + "): retry in "
                        + spec.timers().fenceRetry().toMillis() + " ms; its groups stay down until it is fenced");
            }
        }

        void announced(String n) {
            ClusterState.Node node = nodes.get(n);
            if (node != null && node.status() == NodeStatus.LOST && node.announcedAt() == null) {
                nodes.put(n, node.announced(now));
                note(n + " node: its loss is on the heartbeat storage"
                        + (spec.timers().recoveryWithoutFence() == null ? "" : "; its self-fence deadline runs from now"));
            }
        }

        void tick() {
            for (ClusterState.Node n : new ArrayList<>(nodes.values())) {
                if (n.status() != NodeStatus.LOST) {
                    continue;
                }
                Duration wait = spec.timers().recoveryWithoutFence();
                // A node evicted while still a member is not cut off, so it does not fence itself:
                // its deadline starts only when its session ends. With a second channel a cut-off
                // node stops when it reads that it is lost: the deadline runs from when that was
                // written (or never, while the coordinator cannot write it).
                Instant from = spec.heartbeat() == null ? n.lostAt() : n.announcedAt();
                if (wait != null && !n.unresponsive() && from != null && !now.isBefore(from.plus(wait))) {
                    setNode(n.with(NodeStatus.FENCED).fencing(false, n.fenceAttempts(), null),
                            "self-fence deadline passed (" + wait.toMillis() + " ms after "
                                    + (spec.heartbeat() == null ? "session expiry" : "its loss reached the heartbeat storage")
                                    + ")");
                    recoverFrom(n.name());
                    continue;
                }
                boolean fenceable = spec.node(n.name()).map(s -> s.fencing() != null).orElse(false);
                if (fenceable && !n.fenceInFlight() && n.nextFenceAt() != null && !now.isBefore(n.nextFenceAt())) {
                    nodes.put(n.name(), n.fencing(true, n.fenceAttempts(), null));
                    command(new Command.Fence(n.name()));
                }
            }
            for (String name : new ArrayList<>(groups.keySet())) {
                ClusterState.Group g = groups.get(name);
                if (g.deadline() != null && !now.isBefore(g.deadline())) {
                    expired(g);
                }
            }
        }

        /**
         * A new coordinator took office: a fence its predecessor had in flight will never be
         * answered (it ran in that process). Without this, the persisted fenceInFlight kept the
         * node from ever being fenced again and its groups waited in awaiting-fence for good.
         */
        void elected() {
            for (ClusterState.Node n : new ArrayList<>(nodes.values())) {
                if (n.status() == NodeStatus.LOST && n.fenceInFlight()) {
                    nodes.put(n.name(), n.fencing(true, n.fenceAttempts(), null));
                    note(n.name() + " node: its fence was in flight when the previous coordinator stopped: fence again");
                    command(new Command.Fence(n.name()));
                }
            }
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
                    await(g.to(GroupPhase.FAILING, n).withTried(tried), "online on " + n + ": " + silent
                            + "; it may still start it: terminate there before the next node",
                            a -> new Command.Terminate(name, n, a));
                }
                case RESTARTING -> await(g.to(GroupPhase.FAILING, n), "restart of " + g.restarting() + " on " + n
                        + ": " + silent + "; terminate there, then fail over", a -> new Command.Terminate(name, n, a));
                case STOPPING -> await(g.to(GroupPhase.FAILING, n), "offline on " + n + ": " + silent
                        + "; terminate there", a -> new Command.Terminate(name, n, a));
                case MOVING -> {
                    String src = g.from();
                    String dst = g.node();
                    await(g.to(GroupPhase.FAILING, src, dst).withRetryAt(null), "move " + src + "->" + dst + " "
                            + g.mode().word + ": " + silent + "; terminate on " + src + ", then on " + dst,
                            a -> new Command.Terminate(name, src, a));
                }
                case FAILING -> unresponsive(g, "terminate of " + name + " on " + n + ": " + silent);
                default -> groups.put(name, g.awaiting(g.attempt(), null)); // nothing is awaited in this phase
            }
        }

        /**
         * A Terminate got no answer: the node's agent is unresponsive and may still run (or start)
         * the group. Fence it like a lost node, or, without a fence agent, keep the group waiting
         * for proof that it runs nowhere.
         */
        void unresponsive(ClusterState.Group g, String why) {
            String n = g.node();
            ClusterState.Node node = nodes.get(n);
            boolean fenceable = spec.node(n).map(ns -> ns.fencing() != null).orElse(false);
            if (node != null && node.status() == NodeStatus.UP && fenceable) {
                lose(node.evicted(now), why + ": fence it", "owner " + n + " does not answer");
                return;
            }
            if (node != null && node.status() == NodeStatus.UP) {
                setNode(node.unresponsive(true), why + "; no fence agent: it takes no new groups until it answers");
            }
            set(g.to(GroupPhase.AWAITING_FENCE, n, g.from()), "no answer from " + n + "; waits until " + n
                    + " answers again or its session ends");
        }

        /**
         * An answer (any) from an unresponsive node without a fence agent: its agent works again.
         * The groups that waited for it are terminated there before they go anywhere else.
         */
        void heard(String n) {
            ClusterState.Node node = nodes.get(n);
            if (node == null || node.status() != NodeStatus.UP || !node.unresponsive()) {
                return;
            }
            setNode(node.unresponsive(false), "answers again");
            for (ClusterState.Group g : new ArrayList<>(groups.values())) {
                if (g.phase() == GroupPhase.AWAITING_FENCE && n.equals(g.node())) {
                    await(g.to(GroupPhase.FAILING, n, g.from()), n + " answers again and may run it: terminate there"
                            + " before anything else", a -> new Command.Terminate(g.name(), n, a));
                }
            }
        }

        /** The lost node is proven off: start its groups elsewhere, in priority order. */
        void recoverFrom(String n) {
            List<String> order = new ArrayList<>();
            for (ClusterState.Group g : groups.values()) {
                if (g.phase() == GroupPhase.AWAITING_FENCE && n.equals(g.node())) {
                    order.add(g.name());
                }
            }
            order.sort(Placement.priorityOrder(spec));
            for (String name : order) {
                recoverGroup(groups.get(name), n, n + " fenced");
            }
        }

        /**
         * The group's awaited node {@code n} is proven not to run it (fenced, or back and reporting
         * it stopped). If it was moving, the other end may run it: wait for that end if it is
         * lost too, or ask it (Online there answers AlreadyRunning); else fail over.
         */
        void recoverGroup(ClusterState.Group g, String n, String why) {
            String name = g.name();
            String prefer = g.from();
            ClusterState.Node other = prefer == null ? null : nodes.get(prefer);
            if (other != null && other.status() == NodeStatus.LOST) {
                set(g.to(GroupPhase.AWAITING_FENCE, prefer).withTried(Set.of()).withRetryAt(null),
                        why + ", but the move's other end " + prefer + " is lost and not yet fenced");
                return;
            }
            if (!g.wantOnline()) {
                if (other != null && other.status() == NodeStatus.UP) {
                    // Wanted offline, yet the other end may run it: stop it there before calling it offline.
                    await(g.to(GroupPhase.FAILING, prefer), why + "; group is wanted offline, but the move's other end "
                            + prefer + " may run it: terminate there", a -> new Command.Terminate(name, prefer, a));
                } else {
                    set(g.to(GroupPhase.OFFLINE, null), why + "; group is wanted offline");
                }
                return;
            }
            ClusterState.Group reset = g.withTried(Set.of(n));
            if (other != null && other.status() == NodeStatus.UP) {
                start(reset, prefer, why + "; the move's other end");
            } else {
                failover(reset, Set.of(n), why);
            }
        }

        // ------------------------------------------------------------ agents' answers

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
                set(g.to(GroupPhase.ONLINE, n).withTried(Set.of()), "online ok");
                return;
            }
            // A failed Online (a timeout above all) may still leave the VM starting there: terminate on
            // that node first; terminated() then tries the next node.
            Set<String> tried = new TreeSet<>(g.tried());
            tried.add(n);
            await(g.to(GroupPhase.FAILING, n).withTried(tried), "online failed on " + n + ": " + detail
                    + "; terminate there before the next node", a -> new Command.Terminate(name, n, a));
        }

        void offlined(String name, String n, boolean ok, String detail, long attempt) {
            ClusterState.Group g = groups.get(name);
            if (stale(g, GroupPhase.STOPPING, n, "offline answer for " + name, attempt)) {
                return;
            }
            if (ok) {
                set(g.to(g.wantOnline() ? GroupPhase.PENDING : GroupPhase.OFFLINE, null), "offline ok");
            } else {
                await(g.to(GroupPhase.FAILING, n), "offline failed: " + detail, a -> new Command.Terminate(name, n, a));
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
                unresponsive(g, "terminate of " + name + " on " + n + " not proven (" + detail + ")");
                return;
            }
            if (g.from() != null) {
                // The other end of an interrupted move: terminate there too before failing over; unless
                // it is lost (wait for its fence) or proven off already (fenced, left: nothing to stop).
                String other = g.from();
                ClusterState.Node on = nodes.get(other);
                if (on != null && on.status() == NodeStatus.UP) {
                    await(g.to(GroupPhase.FAILING, other).withRetryAt(null), "terminated on " + n + "; now on " + other,
                            a -> new Command.Terminate(name, other, a));
                    return;
                }
                if (on != null && on.status() == NodeStatus.LOST) {
                    set(g.to(GroupPhase.AWAITING_FENCE, other).withTried(Set.of()).withRetryAt(null), "terminated on "
                            + n + "; the move's other end " + other + " is lost and not yet fenced");
                    return;
                }
                note(n + " group " + name + ": the move's other end " + other + " is "
                        + (on == null ? "unknown" : on.status().word()) + ": nothing to terminate there");
                g = g.to(GroupPhase.FAILING, n);
            }
            if (!g.wantOnline()) {
                set(g.to(GroupPhase.OFFLINE, null), "terminated on " + n + "; wanted offline");
                return;
            }
            Set<String> tried = new TreeSet<>(g.tried());
            tried.add(n);
            failover(g.withTried(tried), tried, "terminated on " + n);
        }

        void restarted(String name, String resource, String n, boolean ok, long attempt) {
            ClusterState.Group g = groups.get(name);
            if (stale(g, GroupPhase.RESTARTING, n, "restart answer for " + name, attempt)) {
                return;
            }
            set(g.to(GroupPhase.ONLINE, n), ok ? resource + " restarted" : resource + " restart failed");
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
                await(g.withRestarts(all, resource), resource + " failed (" + detail + "): restart " + next.size()
                        + " of " + rs.restart().threshold() + " in " + rs.restart().period().toSeconds() + " s",
                        a -> new Command.Restart(name, resource, n, a));
            } else if (rs.restart().affectsGroup()) {
                await(g.to(GroupPhase.FAILING, n), resource + " failed (" + detail + "), restart threshold "
                        + rs.restart().threshold() + " reached: fail over", a -> new Command.Terminate(name, n, a));
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
            if (g == null || g.phase() != GroupPhase.MOVING || !eq(g.from(), from) || !eq(g.node(), to)) {
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
                await(g.to(GroupPhase.STARTING, to), "moved; the rest of the group comes online on " + to,
                        a -> new Command.Online(name, to, a));
            } else if (ok) {
                set(g.to(GroupPhase.ONLINE, to), "moved");
            } else {
                // Not retried to that node (failback, drain) until the cluster changes: no migration storm.
                // (The source has brought back online what it took offline for the move.)
                Set<String> tried = new TreeSet<>(g.tried());
                tried.add(to);
                set(g.to(GroupPhase.ONLINE, from).withTried(tried), "move failed, still on " + from + ": " + detail);
            }
        }

        /** A move stops the group's scripts and disks on the source; only its VMs migrate. */
        private boolean hasMoreThanVms(String name) {
            return spec.groups().get(name).resources().values().stream()
                    .anyMatch(r -> r.type() != ResourceSpec.Type.VM);
        }

        // ------------------------------------------------------------ operators

        void moveGroup(String name, String to, MoveMode mode) {
            ClusterState.Group g = groups.get(name);
            if (g == null) {
                note("- refused: move of unknown group " + name);
                return;
            }
            if (g.phase() != GroupPhase.ONLINE) {
                note(to + " refused: move " + name + ": group is " + describe(g) + ", not online");
                return;
            }
            if (to.equals(g.node())) {
                note(to + " refused: move " + name + ": already on " + to);
                return;
            }
            List<String> ok = Placement.candidates(spec, new ClusterState(nodes, groups), name, Set.of(g.node()));
            if (!ok.contains(to)) {
                note(to + " refused: move " + name + " to " + to + ": not a usable owner now (candidates: "
                        + (ok.isEmpty() ? "none" : String.join(" ", ok)) + ")");
                return;
            }
            String from = g.node();
            await(g.moving(from, to, mode), "operator move " + mode.word, a -> new Command.Move(name, from, to, mode, a));
        }

        void groupOnline(String name) {
            ClusterState.Group g = groups.get(name);
            if (g == null) {
                note("- refused: online of unknown group " + name);
                return;
            }
            ClusterState.Group w = g.want(true);
            if (g.phase() == GroupPhase.OFFLINE || g.phase() == GroupPhase.FAILED) {
                set(w.to(GroupPhase.PENDING, null).withFailovers(List.of()).withTried(Set.of()), "operator online");
            } else {
                groups.put(name, w);
            }
        }

        void groupOffline(String name) {
            ClusterState.Group g = groups.get(name);
            if (g == null) {
                note("- refused: offline of unknown group " + name);
                return;
            }
            ClusterState.Group w = g.want(false);
            if (g.phase() == GroupPhase.PENDING || g.phase() == GroupPhase.FAILED) {
                set(w.to(GroupPhase.OFFLINE, null), "operator offline");
            } else {
                groups.put(name, w); // schedule() stops it once it is online
            }
        }

        void drain(String n, boolean shutdown) {
            ClusterState.Node node = nodes.get(n);
            if (node == null || node.status() != NodeStatus.UP) {
                note(n + " refused: drain: node is " + (node == null ? "unknown" : node.status().word()));
                return;
            }
            setNode(node.paused(true, true, shutdown), shutdown ? "operator shutdown: drain first" : "operator drain");
        }

        void resume(String n, boolean failback) {
            ClusterState.Node node = nodes.get(n);
            if (node == null || node.status() != NodeStatus.UP) {
                note(n + " refused: resume: node is " + (node == null ? "unknown" : node.status().word()));
                return;
            }
            setNode(node.paused(false, false, false), "operator resume" + (failback ? " with failback" : ""));
            if (failback) {
                // Kept until every group that prefers n is back: the per-host migration limit
                // lets only some move in this step (schedule() moves the rest as slots free up).
                failbackTo.add(n);
            }
        }

        /** Groups online elsewhere that prefer {@code n} over where they run. */
        List<ClusterState.Group> wantBackTo(String n) {
            List<ClusterState.Group> out = new ArrayList<>();
            for (ClusterState.Group g : groups.values()) {
                GroupSpec gs = spec.groups().get(g.name());
                if (g.phase() == GroupPhase.ONLINE && g.wantOnline() && !n.equals(g.node())
                        && Placement.preference(gs, n) < Placement.preference(gs, g.node())) {
                    out.add(g);
                }
            }
            out.sort((a, b) -> Placement.priorityOrder(spec).compare(a.name(), b.name()));
            return out;
        }

        // ------------------------------------------------------------ scheduling

        void start(ClusterState.Group g, String node, String why) {
            await(g.to(GroupPhase.STARTING, node), why, a -> new Command.Online(g.name(), node, a));
        }

        /** Start the group on the best node other than {@code exclude}, counting a failover. */
        void failover(ClusterState.Group g, Set<String> exclude, String why) {
            GroupSpec gs = spec.groups().get(g.name());
            List<Instant> recent = within(g.failovers(), gs.failoverPeriod());
            if (recent.size() >= gs.failoverThreshold()) {
                set(g.to(GroupPhase.FAILED, null), why + "; failover threshold " + gs.failoverThreshold() + " in "
                        + gs.failoverPeriod().toSeconds() + " s reached: left failed");
                return;
            }
            Optional<String> target = Placement.choose(spec, new ClusterState(nodes, groups), g.name(), exclude);
            if (target.isEmpty()) {
                set(g.to(GroupPhase.PENDING, null).withRetryAt(g.tried().isEmpty() ? null : now.plus(PENDING_RETRY)),
                        why + "; no node can take it now");
                return;
            }
            List<Instant> next = new ArrayList<>(recent);
            next.add(now);
            start(g.withFailovers(next), target.get(), why + "; failover " + next.size() + " of "
                    + gs.failoverThreshold() + " to " + target.get());
        }

        int movesInvolving(String n) {
            int c = 0;
            for (ClusterState.Group g : groups.values()) {
                if (g.phase() == GroupPhase.MOVING && (n.equals(g.from()) || n.equals(g.node()))) {
                    c++;
                }
            }
            return c;
        }

        boolean tryMove(ClusterState.Group g, String to, String why) {
            int limit = spec.migrationsPerHost();
            if (movesInvolving(g.node()) >= limit || movesInvolving(to) >= limit) {
                return false;
            }
            String from = g.node();
            await(g.moving(from, to, MoveMode.LIVE), why, a -> new Command.Move(g.name(), from, to, MoveMode.LIVE, a));
            return true;
        }

        /**
         * Whether the cluster has formed: every configured node was up at once, or the startup
         * grace since the first node was seen has run out. Until then groups that run nowhere wait.
         */
        boolean formed() {
            if (formedAt != null) {
                return true;
            }
            if (firstNodeUpAt == null) {
                return false; // no node yet: nowhere to place anything anyway
            }
            List<String> missing = new ArrayList<>();
            for (ClusterSpec.NodeSpec n : spec.nodes()) {
                ClusterState.Node ns = nodes.get(n.name());
                if (ns == null || ns.status() != NodeStatus.UP) {
                    missing.add(n.name());
                }
            }
            boolean waited = firstNodeUpAt.isBefore(now); // nothing to say when it formed in one step
            if (missing.isEmpty()) {
                formedAt = now;
                if (waited) {
                    note("cluster: formed (all " + spec.nodes().size() + " nodes up): placing groups");
                }
                return true;
            }
            Instant until = firstNodeUpAt.plus(spec.timers().startupGrace());
            if (!now.isBefore(until)) {
                formedAt = now;
                if (waited) {
                    note("cluster: startup grace expired (" + secs(spec.timers().startupGrace()) + ") without "
                            + String.join(", ", missing) + ": placing groups on the nodes that are up");
                }
                return true;
            }
            if (membershipChanged) {
                note("cluster: forming, waiting for " + String.join(", ", missing) + " (startup grace ends in "
                        + secs(Duration.between(now, until)) + ")");
            }
            return false;
        }

        void schedule() {
            boolean formed = formed();
            // 1. Wanted offline but online: stop.
            for (ClusterState.Group g : new ArrayList<>(groups.values())) {
                if (!g.wantOnline() && g.phase() == GroupPhase.ONLINE) {
                    await(g.to(GroupPhase.STOPPING, g.node()), "wanted offline",
                            a -> new Command.Offline(g.name(), g.node(), a));
                }
            }
            // 2. Drains, one move per host pair slot, priority order.
            for (ClusterState.Node n : new ArrayList<>(nodes.values())) {
                if (!n.draining()) {
                    continue;
                }
                List<String> here = new ArrayList<>();
                boolean busy = false;
                for (ClusterState.Group g : groups.values()) {
                    if (g.phase().mayRun() && (n.name().equals(g.node()) || n.name().equals(g.from()))) {
                        busy = true;
                        if (g.phase() == GroupPhase.ONLINE) {
                            here.add(g.name());
                        }
                    }
                }
                here.sort(Placement.priorityOrder(spec));
                for (String name : here) {
                    Set<String> exclude = new TreeSet<>(groups.get(name).tried());
                    exclude.add(n.name());
                    Optional<String> to = Placement.choose(spec, new ClusterState(nodes, groups), name, exclude);
                    if (to.isPresent()) {
                        tryMove(groups.get(name), to.get(), "drain " + n.name());
                    }
                }
                if (!busy) {
                    setNode(n.paused(true, false, false), "drained");
                    if (n.shutdownAfterDrain()) {
                        command(new Command.ShutdownNode(n.name()));
                    }
                }
            }
            // 3. Pending groups, priority order.
            List<String> pending = new ArrayList<>();
            for (ClusterState.Group g : groups.values()) {
                if (g.phase() == GroupPhase.PENDING && g.wantOnline()) {
                    pending.add(g.name());
                }
            }
            pending.sort(Placement.priorityOrder(spec));
            if (!formed) {
                pending.clear(); // startup grace: their preferred owners may still be booting
            }
            for (String name : pending) {
                ClusterState.Group g = groups.get(name);
                if (!g.tried().isEmpty() && g.retryAt() != null && !now.isBefore(g.retryAt())) {
                    // Every node failed it once; after a while they all get another chance.
                    g = g.withTried(Set.of()).withRetryAt(null);
                    groups.put(name, g);
                    note("- group " + name + ": retrying the nodes that failed to start it");
                }
                Optional<String> to = Placement.choose(spec, new ClusterState(nodes, groups), name, g.tried());
                if (to.isPresent()) {
                    start(g, to.get(), "placed");
                }
            }
            // 4. Failback to nodes resumed with --failback, as migration slots allow. A group whose
            //    move there failed is not retried (no migration storm): it stays where it runs.
            for (String n : new ArrayList<>(failbackTo)) {
                ClusterState.Node node = nodes.get(n);
                boolean movingThere = groups.values().stream()
                        .anyMatch(g -> g.phase() == GroupPhase.MOVING && n.equals(g.node()));
                List<ClusterState.Group> back = new ArrayList<>();
                List<String> gaveUp = new ArrayList<>();
                if (node != null && node.usable()) {
                    for (ClusterState.Group g : wantBackTo(n)) {
                        if (g.tried().contains(n)) {
                            gaveUp.add(g.name());
                        } else {
                            back.add(g);
                        }
                    }
                }
                if (back.isEmpty() && !movingThere) {
                    failbackTo.remove(n);
                    note("- failback to " + n + ": done" + (node == null || !node.usable()
                            ? " (" + n + " no longer takes groups)"
                            : gaveUp.isEmpty() ? "" : " (left where they run after a failed move: "
                                    + String.join(", ", gaveUp) + ")"));
                    continue;
                }
                for (ClusterState.Group g : back) {
                    if (Placement.candidates(spec, new ClusterState(nodes, groups), g.name(), Set.of(g.node()))
                            .contains(n)) {
                        tryMove(g, n, "failback to resumed " + n);
                    }
                }
            }
            // 5. Failback to a preferred owner that is usable again.
            for (ClusterState.Group g : new ArrayList<>(groups.values())) {
                if (g.phase() != GroupPhase.ONLINE || !g.wantOnline()) {
                    continue;
                }
                GroupSpec gs = spec.groups().get(g.name());
                boolean allowed = gs.failback() instanceof GroupSpec.Failback.Immediate
                        || gs.failback() instanceof GroupSpec.Failback.Window w
                                && w.contains(now.atZone(w.zone()).getHour());
                if (!allowed) {
                    continue;
                }
                int current = Placement.preference(gs, g.node());
                Set<String> exclude = new TreeSet<>(g.tried());
                exclude.add(g.node());
                for (String cand : Placement.candidates(spec, new ClusterState(nodes, groups), g.name(), exclude)) {
                    if (Placement.preference(gs, cand) < current) {
                        tryMove(g, cand, "failback to preferred owner " + cand);
                    }
                    break;
                }
            }
        }

        List<Instant> within(List<Instant> times, Duration period) {
            Instant since = now.minus(period);
            List<Instant> out = new ArrayList<>();
            for (Instant t : times) {
                if (t.isAfter(since)) {
                    out.add(t);
                }
            }
            return out;
        }
    }

    static boolean eq(String a, String b) {
        return a == null ? b == null : a.equals(b);
    }

}
