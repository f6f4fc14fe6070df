package io.havm.http;

import io.havm.model.ClusterSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.Coordinator;
import io.havm.policy.GroupPhase;
import io.havm.policy.NodeStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Follows operations to their end from what the coordinator stores: its state and its timeline.
 * The agent that accepted an operation follows it; when that agent is no longer a member, the
 * first other agent that sees it adopts it (a compare-and-set on the operation's key: one wins)
 * and follows it from the same facts, so an operation whose agent died still ends truthfully.
 *
 * <p>Outcomes. move: succeeded once the group is online on its target; failed on the
 * coordinator's refusal or its "move failed" line, when the group is online elsewhere after the
 * move began, or failed. online/offline: succeeded online (offline); failed when refused, or the
 * group failed. drain: succeeded when the node is paused and no group is on it (or moving off it).
 * resume: succeeded when the node is neither paused nor draining. shutdown: succeeded when the
 * node is down. Each fails at its deadline (set from the configuration's timers when accepted)
 * with what it saw last.
 */
final class OperationTracker {
    private final OperationStore store;
    private final String node;
    private final Consumer<String> log;

    OperationTracker(OperationStore store, String node, Consumer<String> log) {
        this.store = store;
        this.node = node;
        this.log = log;
    }

    /** When an operation accepted now fails if not done: from the coordinator's command budgets. */
    static Instant deadline(ClusterSpec spec, ClusterState s, String kind, String target, Instant now) {
        Coordinator c = new Coordinator(spec);
        Duration session = spec.timers().sessionTimeout();
        Duration d;
        switch (kind) {
            case "move" -> d = c.budget(target, GroupPhase.MOVING, null).multipliedBy(2).plus(session);
            case "online" -> d = c.budget(target, GroupPhase.STARTING, null).multipliedBy(spec.nodes().size())
                    .plus(session);
            case "offline" -> d = c.budget(target, GroupPhase.STOPPING, null).multipliedBy(2).plus(session);
            default -> {
                Duration all = Duration.ZERO;
                if (s != null && !kind.equals("resume")) {
                    for (ClusterState.Group g : s.groups().values()) {
                        if (g.involves(target) && spec.groups().containsKey(g.name())) {
                            all = all.plus(c.budget(g.name(), GroupPhase.MOVING, null));
                        }
                    }
                }
                d = all.dividedBy(Math.max(1, spec.migrationsPerHost())).plus(session.multipliedBy(3));
            }
        }
        return now.plus(d);
    }

    /** One look at every operation not ended: those this agent follows, and those whose agent left. */
    void step(ClusterState s, List<EventLine> events, Set<String> members, Instant now) {
        for (OperationStore.Stored st : store.all()) {
            Operation op = st.op();
            int version = st.version();
            if (op.ended()) {
                continue;
            }
            if (!op.agent().equals(node)) {
                if (members.contains(op.agent()) || !members.contains(node)) {
                    continue;
                }
                Operation adopted = op.adoptedBy(node, now);
                if (!store.update(adopted, version)) {
                    continue; // another agent adopted it first
                }
                log.accept(node + " api: operation " + op.id() + " (" + op.kind() + " " + op.target() + ") adopted: "
                        + op.agent() + "'s agent is no longer a member");
                op = adopted;
                version++;
            }
            Operation next = judge(op, s, events, now);
            if (!Objects.equals(next.state(), op.state()) || !Objects.equals(next.message(), op.message())
                    || !Objects.equals(next.progress(), op.progress())) {
                if (store.update(next, version) && next.ended()) {
                    log.accept(node + " api: operation " + op.id() + " " + op.kind() + " " + op.target() + " "
                            + next.state() + ": " + next.message());
                }
            }
        }
    }

    /** What {@code op} is now, from the state and the timeline. */
    static Operation judge(Operation op, ClusterState s, List<EventLine> events, Instant now) {
        List<EventLine> since = new ArrayList<>();
        for (EventLine e : events) {
            if (e.seq() > op.eventsAt()) {
                since.add(e);
            }
        }
        Map<String, Object> progress = new LinkedHashMap<>();
        String state;
        String message;
        if (List.of("move", "online", "offline").contains(op.kind())) {
            ClusterState.Group g = s == null ? null : s.groups().get(op.target());
            if (g == null) { // configured, not yet in the coordinator's state (a new configuration version)
                return now.isAfter(op.deadline()) ? op.with(Operation.FAILED, "group " + op.target() + " is still not"
                        + " in the coordinator's state at its deadline " + op.deadline(), progress, now)
                        : op.with(Operation.PENDING, "group " + op.target() + " is not in the coordinator's state yet",
                        progress, now);
            }
            progress.put("phase", g.phase().word());
            if (g.node() != null) {
                progress.put("node", g.node());
            }
            if (g.from() != null && g.phase() == GroupPhase.MOVING) {
                progress.put("from", g.from());
            }
            String to = (String) op.params().get("to");
            boolean moved = op.kind().equals("move") && g.phase() == GroupPhase.ONLINE && to.equals(g.node());
            boolean onlined = op.kind().equals("online") && g.phase() == GroupPhase.ONLINE;
            boolean offlined = op.kind().equals("offline") && g.phase() == GroupPhase.OFFLINE;
            EventLine refusal = first(since, e -> e.text().contains("refused: " + op.kind() + " " + op.target() + ":")
                    || e.text().contains("refused: " + op.kind() + " " + op.target() + " ")
                    || e.text().contains("refused: " + op.kind() + " of unknown group " + op.target()));
            EventLine failed = first(since, e -> op.target().equals(e.group()) && (op.kind().equals("move")
                    && e.text().contains("move failed") || e.text().contains("-> failed")));
            boolean began = Boolean.TRUE.equals(op.progress().get("began")) || g.phase() == GroupPhase.MOVING
                    && op.kind().equals("move") || g.phase() == GroupPhase.STARTING && op.kind().equals("online")
                    || g.phase() == GroupPhase.STOPPING && op.kind().equals("offline");
            if (began) {
                progress.put("began", true);
            }
            if (moved || onlined || offlined) {
                state = Operation.SUCCEEDED;
                message = op.target() + " " + g.phase().word() + (g.node() == null ? "" : " on " + g.node());
            } else if (refusal != null) {
                state = Operation.FAILED;
                message = "the coordinator refused it: " + refusal.text();
            } else if (failed != null) {
                state = Operation.FAILED;
                message = failed.text();
            } else if (op.kind().equals("move") && began && g.phase() == GroupPhase.ONLINE) {
                state = Operation.FAILED;
                message = op.target() + " is online on " + g.node() + ", not on " + to + ", after the move began";
            } else if (now.isAfter(op.deadline())) {
                state = Operation.FAILED;
                message = "not done by its deadline " + op.deadline() + ": " + op.target() + " is "
                        + g.phase().word() + (g.node() == null ? "" : " on " + g.node());
            } else {
                state = began ? Operation.RUNNING : Operation.PENDING;
                message = op.target() + " is " + g.phase().word() + (g.node() == null ? "" : " on " + g.node());
            }
            return op.with(state, message, progress, now);
        }
        ClusterState.Node n = s == null ? null : s.nodes().get(op.target());
        if (n == null) {
            return now.isAfter(op.deadline()) ? op.with(Operation.FAILED, "node " + op.target() + " is still not in"
                    + " the coordinator's state at its deadline " + op.deadline(), progress, now)
                    : op.with(Operation.PENDING, "node " + op.target() + " is not in the coordinator's state yet",
                    progress, now);
        }
        progress.put("status", n.status().word());
        progress.put("paused", n.paused());
        progress.put("draining", n.draining());
        List<String> left = new ArrayList<>();
        for (ClusterState.Group g : s.groups().values()) {
            if (g.involves(op.target())) {
                left.add(g.name());
            }
        }
        progress.put("groupsLeft", left);
        EventLine refusal = first(since, e -> e.text().startsWith(op.target() + " refused: "));
        boolean done = switch (op.kind()) {
            case "drain" -> n.paused() && left.isEmpty();
            case "resume" -> !n.paused() && !n.draining();
            default -> n.status() == NodeStatus.DOWN;
        };
        if (done) {
            state = Operation.SUCCEEDED;
            message = switch (op.kind()) {
                case "drain" -> op.target() + " is drained: no group left on it";
                case "resume" -> op.target() + " takes groups again";
                default -> op.target() + " is down: drained and left the cluster";
            };
        } else if (refusal != null) {
            state = Operation.FAILED;
            message = "the coordinator refused it: " + refusal.text();
        } else if (now.isAfter(op.deadline())) {
            state = Operation.FAILED;
            message = "not done by its deadline " + op.deadline() + ": " + op.target() + " is " + n.status().word()
                    + (left.isEmpty() ? "" : ", groups still on it: " + String.join(", ", left));
        } else {
            boolean began = n.paused() || n.draining();
            state = began && !op.kind().equals("resume") ? Operation.RUNNING : Operation.PENDING;
            message = op.target() + " is " + n.status().word() + (n.draining() ? " (draining)" : n.paused()
                    ? " (paused)" : "") + (left.isEmpty() ? "" : ", groups on it: " + String.join(", ", left));
        }
        return op.with(state, message, progress, now);
    }

    private static EventLine first(List<EventLine> lines, java.util.function.Predicate<EventLine> p) {
        for (EventLine e : lines) {
            if (p.test(e)) {
                return e;
            }
        }
        return null;
    }
}
