package io.havm.engine;

import io.havm.model.ClusterSpec;
import io.havm.model.Result;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Input;
import io.havm.port.Coordination;
import io.havm.port.Fencer;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Function;

/**
 * What the engine tells an observer (metrics) as it happens: the seam between the engine and
 * whatever counts it. Every method has a no-op default, {@link #NONE} observes nothing, and an
 * observer only reads what it is given: it never changes what the engine decides or when (the
 * simulator stays deterministic). Calls come from the engine's own threads (or the simulator's
 * driver); an observer must be quick and must not throw.
 */
public interface EngineObserver {
    EngineObserver NONE = new EngineObserver() { };

    /**
     * The coordinator of epoch {@code epoch} applied a step at {@code at} and stored its result:
     * the state went from {@code before} to {@code after} under configuration {@code spec}.
     * {@code lastSign}: when a node last showed it was alive on the second channel (its last
     * storage heartbeat), empty when unknown.
     */
    default void stepped(long epoch, ClusterSpec spec, ClusterState before, ClusterState after, Instant at,
            Function<String, Optional<Instant>> lastSign) { }

    /** The coordinator's fence of {@code node} through {@code agent} ended with {@code result} after {@code took}. */
    default void fenced(String node, String agent, Fencer.Result result, Duration took) { }

    /** This agent executed {@code command} from {@code began} to {@code ended} and answers {@code answer} (null: none). */
    default void executed(Command command, Input answer, Instant began, Instant ended) { }

    /** This agent ran IsAlive on {@code resource} of {@code group} at {@code at}. */
    default void checked(String group, String resource, Result result, Instant at) { }

    /** This agent's ZooKeeper connection changed. */
    default void connection(Coordination.ConnectionState state) { }

    /**
     * A VM of a live move arrived on its target (this agent being the source), the guest having
     * been paused {@code downtime} at the switch-over, as libvirt measured it. Only an agent that
     * publishes its moves' progress ({@link Agent#publishProgress}) reads it.
     */
    default void migrated(String group, String domain, Duration downtime) { }

    /**
     * {@code o} made harmless: whatever it throws is logged and dropped, so an observer's bug can
     * never stop a step, lose a fence's result or an agent's answer.
     */
    static EngineObserver safe(EngineObserver o) {
        if (o == null || o == NONE) {
            return NONE;
        }
        org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(EngineObserver.class);
        return new EngineObserver() {
            private void quietly(Runnable r) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    log.warn("engine observer failed (ignored): {}", e.toString());
                }
            }

            @Override
            public void stepped(long epoch, ClusterSpec spec, ClusterState before, ClusterState after, Instant at,
                    Function<String, Optional<Instant>> lastSign) {
                quietly(() -> o.stepped(epoch, spec, before, after, at, lastSign));
            }

            @Override
            public void fenced(String node, String agent, Fencer.Result result, Duration took) {
                quietly(() -> o.fenced(node, agent, result, took));
            }

            @Override
            public void executed(Command command, Input answer, Instant began, Instant ended) {
                quietly(() -> o.executed(command, answer, began, ended));
            }

            @Override
            public void checked(String group, String resource, Result result, Instant at) {
                quietly(() -> o.checked(group, resource, result, at));
            }

            @Override
            public void connection(Coordination.ConnectionState state) {
                quietly(() -> o.connection(state));
            }

            @Override
            public void migrated(String group, String domain, Duration downtime) {
                quietly(() -> o.migrated(group, domain, downtime));
            }
        };
    }
}
