package io.havm.engine;

import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Input;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The cluster's keys in the coordination store:
 * <pre>
 * state                   the coordinator's ClusterState (epoch-fenced writes)
 * inputs/&lt;time&gt;-&lt;who&gt;-&lt;n&gt;  agents' answers, fence results, operators' requests (consumed by the coordinator)
 * commands/&lt;node&gt;/&lt;key&gt;  commands for a node's agent (epoch-fenced; deleted when done)
 * running/&lt;node&gt;          groups a node's agent sees running (read when the node joins)
 * events/&lt;key&gt;           the timeline: every transition, in order (epoch-fenced)
 * </pre>
 */
public final class ClusterStore {
    private final Coordination zk;
    private final String writer;
    private final Clock clock;
    private final AtomicLong counter = new AtomicLong();

    public ClusterStore(Coordination zk, String writer, Clock clock) {
        this.zk = zk;
        this.writer = writer;
        this.clock = clock;
    }

    private String key() {
        return String.format("%013d-%s-%06d", clock.now().toEpochMilli(), writer, counter.incrementAndGet());
    }

    public Optional<ClusterState> state() {
        return zk.get("state").map(v -> Codec.state(v.value()));
    }

    public void putState(ClusterState s, long epoch) {
        zk.putFenced("state", Codec.state(s), epoch);
    }

    public void submit(Input in) {
        zk.put("inputs/" + key(), Codec.input(in), -1);
    }

    /** Pending inputs, oldest first, with their keys (to delete once applied). */
    public List<Keyed<Input>> inputs() {
        List<Keyed<Input>> out = new ArrayList<>();
        for (String k : zk.children("inputs")) {
            zk.get("inputs/" + k).ifPresent(v -> out.add(new Keyed<>("inputs/" + k, Codec.input(v.value()))));
        }
        return out;
    }

    public void send(String node, Command c, long epoch) {
        zk.putFenced("commands/" + node + "/" + key(), Codec.command(c), epoch);
    }

    public List<Keyed<Command>> commands(String node) {
        List<Keyed<Command>> out = new ArrayList<>();
        for (String k : zk.children("commands/" + node)) {
            String full = "commands/" + node + "/" + k;
            zk.get(full).ifPresent(v -> out.add(new Keyed<>(full, Codec.command(v.value()))));
        }
        return out;
    }

    public void event(String line, long epoch) {
        zk.putFenced("events/" + key(), line.getBytes(StandardCharsets.UTF_8), epoch);
    }

    public List<String> events() {
        List<String> out = new ArrayList<>();
        for (String k : zk.children("events")) {
            zk.get("events/" + k).ifPresent(v -> out.add(new String(v.value(), StandardCharsets.UTF_8)));
        }
        return out;
    }

    public void setRunning(String node, Set<String> groups) {
        byte[] v = String.join(",", groups).getBytes(StandardCharsets.UTF_8);
        Optional<Coordination.Versioned> cur = zk.get("running/" + node);
        zk.put("running/" + node, v, cur.map(Coordination.Versioned::version).orElse(-1));
    }

    public Set<String> running(String node) {
        Set<String> out = new TreeSet<>();
        zk.get("running/" + node).ifPresent(v -> {
            String s = new String(v.value(), StandardCharsets.UTF_8);
            if (!s.isEmpty()) {
                out.addAll(List.of(s.split(",")));
            }
        });
        return out;
    }

    public void delete(String key) {
        zk.delete(key);
    }

    /** A stored value with its key. */
    public record Keyed<T>(String key, T value) {}
}
