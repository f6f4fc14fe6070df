package io.havm.policy;

import io.havm.model.ClusterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.TreeMap;
import java.util.function.LongFunction;

/**
 * What every set of the coordinator's rules shares within a step: the working copy (the very same
 * maps as the {@link StepContext}'s) and the ways to change it. The other rules are reached through
 * {@link #c} ({@code c.fencing}, {@code c.scheduling} …).
 */
abstract class Rules {
    final StepContext c;
    final ClusterSpec spec;
    final TreeMap<String, ClusterState.Node> nodes;
    final GroupTable groups;
    final Placement placement;
    final Instant now;

    Rules(StepContext c) {
        this.c = c;
        this.spec = c.spec;
        this.nodes = c.nodes;
        this.groups = c.groups;
        this.placement = c.placement;
        this.now = c.now;
    }

    boolean set(ClusterState.Group next, GroupEvent event, String why) {
        return c.set(next, event, why);
    }

    boolean await(ClusterState.Group next, GroupEvent event, String why, LongFunction<Command> make) {
        return c.await(next, event, why, make);
    }

    void setNode(ClusterState.Node next, String why) {
        c.setNode(next, why);
    }

    void command(Command cmd) {
        c.command(cmd);
    }

    void send(String group, LongFunction<Command> make) {
        c.send(group, make);
    }

    boolean unsend(Command cmd) {
        return c.unsend(cmd);
    }

    void note(String line) {
        c.note(line);
    }

    String describe(ClusterState.Group g) {
        return c.describe(g);
    }

    String secs(Duration d) {
        return c.secs(d);
    }

    List<Instant> within(List<Instant> times, Duration period) {
        return c.within(times, period);
    }

    Duration budget(ClusterState.Group g) {
        return c.budget(g);
    }

    static boolean eq(String a, String b) {
        return StepContext.eq(a, b);
    }
}
