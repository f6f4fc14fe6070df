package io.havm.engine;

import com.fasterxml.jackson.core.type.TypeReference;
import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.havm.port.Coordination.Op;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.Input;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * The cluster's keys in the coordination store:
 * <pre>
 * state/meta              the coordinator's ClusterState apart from nodes and groups: firstNodeUpAt,
 *                         formedAt, failbackTo, the layout's format, and the redo marker (below)
 * state/nodes/&lt;node&gt;      one ClusterState.Node each (JSON)
 * state/groups/&lt;group&gt;    one ClusterState.Group each (JSON, a few hundred bytes)
 * state/placed/&lt;node&gt;     names of the groups on that node by their node or from (an index for its
 *                         agent, written in the same transactions as the groups)
 * state/redo/&lt;id&gt;-&lt;n&gt;    a state write too big for one transaction, while it is being applied
 * state                   (its value) the whole ClusterState as one JSON, as versions before this
 *                         layout wrote it: read when there is no state/meta, emptied by the next write
 * inputs/&lt;time&gt;-&lt;who&gt;-&lt;n&gt;  agents' answers, fence results, operators' requests (consumed by the coordinator)
 * commands/&lt;node&gt;/&lt;key&gt;  commands for a node's agent (epoch-fenced; deleted when done)
 * running/&lt;node&gt;          groups a node's agent sees running (read when the node joins)
 * handover/&lt;group&gt;        what {@code havm vm import | release} asks of the next configuration version
 *                         that adds or removes the group: {@code adopt:<node>} (start it where it
 *                         already runs) or {@code release:<node>} (drop it, its VM left running);
 *                         written before that version is stored, deleted by the command after
 * progress/&lt;group&gt;       a live migration's progress ({@link MoveProgress}, JSON), written by the
 *                         source's agent about every 500 ms: ephemeral (gone with that agent's
 *                         session), deleted when the move ends
 * events/&lt;key&gt;           the timeline: one JSON array of lines per coordinator step (epoch-fenced);
 *                         a step's lines over {@value #CHUNK_BYTES} bytes take several keys; the
 *                         coordinator keeps the newest {@value #TIMELINE_KEYS} keys of the last
 *                         {@link #TIMELINE_AGE} ({@link #pruneEvents})
 * timeline-pruned         how many lines were pruned from the timeline's start, ever (a decimal), so
 *                         that a line's number stays the same once older ones are gone
 * </pre>
 *
 * <p>Every write of the coordinator is fenced by its epoch ({@link Coordination#commitFenced}),
 * in transactions of at most {@value #TRANSACTION_BYTES} bytes; a step writes only the records
 * that changed. No key holds more than {@value #CHUNK_BYTES} bytes but one record, so the state
 * fits ZooKeeper at any size (a group is a few hundred bytes: 20,000 groups are 20,000 small keys).
 *
 * <p>Atomicity of a state write, as a successor reads it ({@link #state}): a write that fits one
 * transaction is one transaction. A bigger one (cluster formation: every group placed at once)
 * goes through a redo log: its changes are written under {@code state/redo/<id>-<n>}, then one
 * small transaction sets the marker in {@code state/meta} naming {@code <id>} and its chunk count
 * (with the new meta values), then the changes are applied to their keys, then the marker is
 * cleared and the chunks deleted. A reader that finds the marker overlays the chunks on what it
 * read; the next write applies them before anything else. Before the marker the old state stands
 * whole; from it on the new one does.
 *
 * <p>For a benchmark: {@code new ClusterStore(zk, "bench", clock)}, then
 * {@link #putState(ClusterState, ClusterState, long) putState(null, s, epoch)} writes {@code s}
 * whole, {@code putState(s, s2, epoch)} writes what differs, and {@link #state()} is what a new
 * coordinator reads when it takes over.
 */
public final class ClusterStore {
    /** The largest transaction the store sends (ZooKeeper refuses requests over 1 MiB). */
    public static final int TRANSACTION_BYTES = 512 * 1024;
    /** The largest value the store packs several items into (redo chunks, a step's event lines). */
    public static final int CHUNK_BYTES = 192 * 1024;
    /** The layout written to {@code state/meta}. */
    public static final int FORMAT = 2;

    /**
     * The timeline keeps at most this many keys (coordinator steps). Every reader lists them, and a
     * listing must fit ZooKeeper's 1 MiB packet (a key's name is 29 bytes: about 36,000 names);
     * a step that says something is a key, so a busy cluster would reach that in weeks.
     */
    public static final int TIMELINE_KEYS = 10_000;
    /** ... and none older than this. */
    public static final java.time.Duration TIMELINE_AGE = java.time.Duration.ofDays(30);
    /** The most keys one pruning deletes: one transaction, with the count of their lines. */
    static final int PRUNE_BATCH = 2_000;
    static final String PRUNED = "timeline-pruned";

    static final String STATE = "state";
    static final String META = "state/meta";
    static final String NODES = "state/nodes";
    static final String GROUPS = "state/groups";
    static final String REDO = "state/redo";
    static final String PLACED = "state/placed";

    private final Coordination zk;
    private final String writer;
    private final Clock clock;
    private final AtomicLong counter = new AtomicLong();

    /** Whether {@link #stored} says what is stored (read or written by this instance). */
    private boolean known;
    /** The meta stored (null: no state in this layout), when {@link #known}. */
    private Meta stored;
    /** A legacy single-znode state is stored (and no state/meta): the next write replaces it. */
    private boolean legacy;
    /** Test hook: a big write stops right after its marker, as if the coordinator died there. */
    private boolean stopAfterMarker;

    public ClusterStore(Coordination zk, String writer, Clock clock) {
        this.zk = zk;
        this.writer = writer;
        this.clock = clock;
    }

    /**
     * What {@code state/meta} holds.
     *
     * @param redo the id of a big write whose chunks are to be applied, or null
     * @param redoChunks how many chunks it has ({@code state/redo/<redo>-00000} on)
     */
    public record Meta(int format, Instant firstNodeUpAt, Instant formedAt, SortedSet<String> failbackTo, String redo,
            int redoChunks) {
        public Meta {
            failbackTo = failbackTo == null ? new TreeSet<>() : new TreeSet<>(failbackTo);
        }

        static Meta of(ClusterState s) {
            return new Meta(FORMAT, s.firstNodeUpAt(), s.formedAt(), s.failbackTo(), null, 0);
        }

        Meta marking(String id, int chunks) {
            return new Meta(format, firstNodeUpAt, formedAt, failbackTo, id, chunks);
        }
    }

    /** One change of a big write, as kept in a redo chunk: {@code value} null deletes {@code key}. */
    public record Change(String key, String value) {
        Op op() {
            return value == null ? Op.delete(key) : Op.put(key, value.getBytes(StandardCharsets.UTF_8));
        }

        static Change of(Op op) {
            return op instanceof Op.Put p ? new Change(p.key(), new String(p.value(), StandardCharsets.UTF_8))
                    : new Change(op.key(), null);
        }
    }

    private static final TypeReference<List<Change>> CHANGES = new TypeReference<>() {};
    private static final TypeReference<List<String>> LINES = new TypeReference<>() {};

    private String key() {
        return String.format("%013d-%s-%06d", clock.now().toEpochMilli(), writer, counter.incrementAndGet());
    }

    // ------------------------------------------------------------------ state

    /**
     * The stored state, as a new coordinator takes it over: meta, then every node and every group,
     * each read pipelined ({@link Coordination#getAll}), with a big write's redo chunks laid over
     * them when its marker is set. A legacy single-znode state is decoded as it is.
     */
    public synchronized Optional<ClusterState> state() {
        Read r = load(this::value, this::values);
        known = true;
        stored = r.meta();
        legacy = r.legacy();
        return Optional.ofNullable(r.state());
    }

    private Optional<byte[]> value(String key) {
        return zk.get(key).map(Coordination.Versioned::value);
    }

    private SortedMap<String, byte[]> values(String parent) {
        SortedMap<String, byte[]> out = new TreeMap<>();
        zk.getAll(parent).forEach((k, v) -> out.put(k, v.value()));
        return out;
    }

    /**
     * The state as stored, read through {@code get} and {@code getAll} (a child's name to its
     * value): for readers that are not a {@link Coordination} client, e.g. the simulator's referee.
     */
    public static Optional<ClusterState> read(Function<String, Optional<byte[]>> get,
            Function<String, SortedMap<String, byte[]>> getAll) {
        return Optional.ofNullable(load(get, getAll).state());
    }

    private record Read(Meta meta, boolean legacy, ClusterState state) {}

    private static Read load(Function<String, Optional<byte[]>> get, Function<String, SortedMap<String, byte[]>> getAll) {
        Optional<byte[]> m = get.apply(META);
        if (m.isEmpty()) {
            Optional<byte[]> old = get.apply(STATE).filter(b -> b.length > 0);
            return new Read(null, old.isPresent(), old.map(Codec::state).orElse(null));
        }
        Meta meta = Codec.value(m.get(), Meta.class);
        SortedMap<String, ClusterState.Node> nodes = new TreeMap<>();
        getAll.apply(NODES).forEach((k, v) -> nodes.put(k, Codec.node(v)));
        SortedMap<String, ClusterState.Group> groups = new TreeMap<>();
        getAll.apply(GROUPS).forEach((k, v) -> groups.put(k, Codec.group(v)));
        if (meta.redo() != null) {
            for (Change c : redo(meta, getAll)) {
                overlay(c, nodes, groups);
            }
        }
        return new Read(meta, false, new ClusterState(nodes, groups, meta.firstNodeUpAt(), meta.formedAt(),
                meta.failbackTo()));
    }

    /** The changes of the big write {@code meta} marks, in order. */
    private static List<Change> redo(Meta meta, Function<String, SortedMap<String, byte[]>> getAll) {
        SortedMap<String, byte[]> chunks = getAll.apply(REDO);
        List<Change> out = new ArrayList<>();
        for (int i = 0; i < meta.redoChunks(); i++) {
            byte[] chunk = chunks.get(chunkName(meta.redo(), i));
            if (chunk == null) {
                throw new IllegalStateException("state/meta marks write " + meta.redo() + " of " + meta.redoChunks()
                        + " chunks, but chunk " + i + " is missing under " + REDO);
            }
            out.addAll(Codec.value(chunk, CHANGES));
        }
        return out;
    }

    private static void overlay(Change c, Map<String, ClusterState.Node> nodes, Map<String, ClusterState.Group> groups) {
        if (c.key().startsWith(NODES + "/")) {
            String name = c.key().substring(NODES.length() + 1);
            if (c.value() == null) {
                nodes.remove(name);
            } else {
                nodes.put(name, Codec.node(c.value().getBytes(StandardCharsets.UTF_8)));
            }
        } else if (c.key().startsWith(GROUPS + "/")) {
            String name = c.key().substring(GROUPS.length() + 1);
            if (c.value() == null) {
                groups.remove(name);
            } else {
                groups.put(name, Codec.group(c.value().getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    private static String chunkName(String id, int i) {
        return String.format("%s-%05d", id, i);
    }

    /**
     * The stored state narrowed to group {@code name} (no nodes; that group if it is stored), or
     * empty when no state is stored at all: what an agent needs to judge one command. Two small
     * reads; the whole state only while a big write is half-applied, or from a legacy znode.
     */
    public Optional<ClusterState> stateOfGroup(String name) {
        Meta meta = keysAlone();
        if (meta == null) {
            return whole().map(s -> narrowed(s.groups().get(name)));
        }
        ClusterState.Group g = zk.get(GROUPS + "/" + name).map(v -> Codec.group(v.value())).orElse(null);
        ClusterState s = narrowed(g);
        return Optional.of(new ClusterState(s.nodes(), s.groups(), meta.firstNodeUpAt(), meta.formedAt(), meta.failbackTo()));
    }

    /**
     * The groups stored as on {@code node} (its {@code node} or {@code from}), by name; empty when
     * no state is stored. Reads the node's index and those groups, not the whole state (but for a
     * half-applied big write or a legacy state). Not a snapshot: a group that moves meanwhile may
     * be missed until the next read, and one read after it moved away is left out.
     */
    public Optional<SortedMap<String, ClusterState.Group>> groupsOn(String node) {
        // Two round trips whatever the number of groups: the meta with the node's index, then its groups.
        Map<String, Coordination.Versioned> first = zk.getMany(List.of(META, PLACED + "/" + node));
        Meta meta = Optional.ofNullable(first.get(META)).map(v -> Codec.value(v.value(), Meta.class)).orElse(null);
        if (meta == null || meta.redo() != null) {
            return whole().map(s -> on(node, s.groups().values())); // see keysAlone()
        }
        String names = Optional.ofNullable(first.get(PLACED + "/" + node))
                .map(v -> new String(v.value(), StandardCharsets.UTF_8)).orElse("");
        List<String> keys = new ArrayList<>();
        for (String name : names.isEmpty() ? new String[0] : names.split(",")) {
            keys.add(GROUPS + "/" + name);
        }
        List<ClusterState.Group> groups = new ArrayList<>();
        for (Coordination.Versioned v : zk.getMany(keys).values()) {
            groups.add(Codec.group(v.value()));
        }
        return Optional.of(on(node, groups));
    }

    private static SortedMap<String, ClusterState.Group> on(String node, java.util.Collection<ClusterState.Group> groups) {
        SortedMap<String, ClusterState.Group> out = new TreeMap<>();
        for (ClusterState.Group g : groups) {
            if (g.involves(node)) {
                out.put(g.name(), g);
            }
        }
        return out;
    }

    /**
     * The stored meta when the records' own keys hold the state; null when a reader needs the
     * whole state instead: a legacy single key, nothing stored, or a big write half-applied.
     */
    private Meta keysAlone() {
        Meta meta = value(META).map(b -> Codec.value(b, Meta.class)).orElse(null);
        return meta == null || meta.redo() != null ? null : meta;
    }

    /** The whole stored state, for a reader (this instance's knowledge of what is stored untouched). */
    private Optional<ClusterState> whole() {
        return Optional.ofNullable(load(this::value, this::values).state());
    }

    /** Group {@code name} as stored. */
    public Optional<ClusterState.Group> group(String name) {
        return stateOfGroup(name).map(s -> s.groups().get(name));
    }

    private static ClusterState narrowed(ClusterState.Group g) {
        SortedMap<String, ClusterState.Group> groups = new TreeMap<>();
        if (g != null) {
            groups.put(g.name(), g);
        }
        return new ClusterState(new TreeMap<>(), groups);
    }

    /**
     * Stores {@code next}, fenced by {@code epoch}: only the nodes and groups that differ from
     * {@code previous} (by record equality), removed ones deleted, meta if it changed.
     *
     * @param previous the state as stored: what {@link #state()} returned or the last putState
     *        wrote; null when unknown, to write {@code next} whole (and delete what else is stored)
     * @throws Coordination.ConflictException when {@code epoch} is stale: then the whole write (or,
     *         for a big one, everything after the last transaction that landed) is refused, and a
     *         reader sees the old state or the new one, never a mix
     */
    public synchronized void putState(ClusterState previous, ClusterState next, long epoch) {
        try {
            write(previous, next, epoch);
        } catch (RuntimeException e) {
            // Some of it may have landed (a big write's marker, a commit whose answer was lost):
            // the next write reads what is stored again instead of trusting what this one knew.
            known = false;
            throw e;
        }
    }

    private void write(ClusterState previous, ClusterState next, long epoch) {
        Objects.requireNonNull(next, "next");
        if (!known) {
            Optional<byte[]> m = value(META);
            stored = m.map(b -> Codec.value(b, Meta.class)).orElse(null);
            legacy = m.isEmpty() && zk.get(STATE).map(v -> v.value().length > 0).orElse(false);
            known = true;
        }
        boolean whole = previous == null || stored == null;
        if (stored != null && stored.redo() != null) {
            // A big write its writer did not finish: it stands, so finish it. Whether the caller's
            // previous includes it is unknown (a reader's does; a writer that failed after the
            // marker holds the state before it): write next whole.
            rollForward(stored, redo(stored, this::values), epoch);
            whole = true;
        }
        List<Op> ops = new ArrayList<>();
        diff(whole ? Map.of() : previous.nodes(), next.nodes(), NODES, Codec::node, ops);
        diff(whole ? Map.of() : previous.groups(), next.groups(), GROUPS, Codec::group, ops);
        if (whole && stored != null) {
            for (String n : zk.children(NODES)) {
                if (!next.nodes().containsKey(n)) {
                    ops.add(Op.delete(NODES + "/" + n));
                }
            }
            for (String g : zk.children(GROUPS)) {
                if (!next.groups().containsKey(g)) {
                    ops.add(Op.delete(GROUPS + "/" + g));
                }
            }
        }
        index(whole ? null : previous, next, ops);
        Meta meta = Meta.of(next);
        List<Op> switchOver = new ArrayList<>();
        if (!meta.equals(stored)) {
            switchOver.add(Op.put(META, Codec.value(meta)));
        }
        if (legacy) {
            switchOver.add(Op.put(STATE, new byte[0])); // its parent stays: it holds this layout
        }
        List<Op> all = new ArrayList<>(ops);
        all.addAll(switchOver);
        if (Coordination.requestBytes(all) <= TRANSACTION_BYTES) {
            zk.commitFenced(all, epoch);
        } else {
            bigWrite(ops, meta, epoch);
        }
        stored = meta;
        legacy = false;
    }

    /**
     * Adds the writes of {@code state/placed/<node>} that {@code ops} (the group changes) call for:
     * each node any changed group is or was on, by {@code node} or {@code from}.
     */
    private void index(ClusterState previous, ClusterState next, List<Op> ops) {
        Set<String> touched = new TreeSet<>();
        if (previous == null) {
            touched.addAll(zk.children(PLACED));
        }
        for (Op op : List.copyOf(ops)) {
            if (op.key().startsWith(GROUPS + "/")) {
                String name = op.key().substring(GROUPS.length() + 1);
                for (ClusterState s : previous == null ? List.of(next) : List.of(previous, next)) {
                    ClusterState.Group g = s.groups().get(name);
                    if (g != null) {
                        for (String n : new String[] {g.node(), g.from()}) {
                            if (n != null) {
                                touched.add(n);
                            }
                        }
                    }
                }
            }
        }
        if (touched.isEmpty()) {
            return;
        }
        Map<String, String> before = previous == null ? Map.of() : placed(previous, touched);
        Map<String, String> after = placed(next, touched);
        for (String n : touched) {
            String names = after.get(n);
            if (names == null) {
                ops.add(Op.delete(PLACED + "/" + n));
            } else if (!names.equals(before.get(n))) {
                ops.add(Op.put(PLACED + "/" + n, names.getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    /**
     * For each of {@code nodes} that has any, the names of the groups on it by {@code node} or
     * {@code from}, comma-separated, sorted (one pass over the groups, whatever the nodes).
     */
    private static Map<String, String> placed(ClusterState s, Set<String> nodes) {
        Map<String, StringBuilder> on = new java.util.HashMap<>();
        for (ClusterState.Group g : s.groups().values()) { // by name: each list comes out sorted
            if (g.node() != null && nodes.contains(g.node())) {
                add(on, g.node(), g.name());
            }
            if (g.from() != null && !g.from().equals(g.node()) && nodes.contains(g.from())) {
                add(on, g.from(), g.name());
            }
        }
        Map<String, String> out = new java.util.HashMap<>();
        on.forEach((n, names) -> out.put(n, names.toString()));
        return out;
    }

    private static void add(Map<String, StringBuilder> on, String node, String name) {
        StringBuilder b = on.computeIfAbsent(node, k -> new StringBuilder());
        b.append(b.length() == 0 ? "" : ",").append(name);
    }

    private static <T> void diff(Map<String, T> before, Map<String, T> after, String parent, Function<T, byte[]> encode,
            List<Op> ops) {
        for (Map.Entry<String, T> e : after.entrySet()) {
            if (!e.getValue().equals(before.get(e.getKey()))) {
                ops.add(Op.put(parent + "/" + e.getKey(), encode.apply(e.getValue())));
            }
        }
        for (String k : before.keySet()) {
            if (!after.containsKey(k)) {
                ops.add(Op.delete(parent + "/" + k));
            }
        }
    }

    /** A write over one transaction, through the redo log (see the class comment). */
    private void bigWrite(List<Op> ops, Meta meta, long epoch) {
        String id = epoch + "-" + writer + "-" + counter.incrementAndGet();
        List<Op> log = new ArrayList<>();
        for (String leftover : zk.children(REDO)) {
            log.add(Op.delete(REDO + "/" + leftover)); // chunks of a big write that never set its marker
        }
        List<Change> changes = ops.stream().map(Change::of).toList();
        List<List<Change>> chunks = chunks(changes, c -> c.key().length() + (c.value() == null ? 0 : c.value().length()) + 32);
        for (int i = 0; i < chunks.size(); i++) {
            log.add(Op.put(REDO + "/" + chunkName(id, i), Codec.value(chunks.get(i))));
        }
        commit(log, epoch);
        Meta marker = meta.marking(id, chunks.size());
        List<Op> mark = new ArrayList<>(List.of(Op.put(META, Codec.value(marker))));
        if (legacy) {
            mark.add(Op.put(STATE, new byte[0]));
        }
        zk.commitFenced(mark, epoch); // from here on, the new state stands
        stored = marker;
        legacy = false;
        if (stopAfterMarker) {
            throw new IllegalStateException("test hook: stopped after the marker of big write " + id);
        }
        rollForward(marker, changes, epoch);
    }

    /** Applies a marked big write's changes to their keys, then clears the marker, then its chunks. */
    private void rollForward(Meta marker, List<Change> changes, long epoch) {
        commit(changes.stream().map(Change::op).toList(), epoch);
        Meta done = marker.marking(null, 0);
        List<Op> clear = new ArrayList<>(List.of(Op.put(META, Codec.value(done))));
        for (int i = 0; i < marker.redoChunks(); i++) {
            clear.add(Op.delete(REDO + "/" + chunkName(marker.redo(), i)));
        }
        commit(clear, epoch);
        stored = done;
    }

    /** Test hook: make the next big write stop right after it set its marker (a crash there). */
    void stopAfterMarker(boolean stop) {
        this.stopAfterMarker = stop;
    }

    /** Writes {@code ops} in order, fenced, in transactions of at most {@link #TRANSACTION_BYTES}. */
    private void commit(List<Op> ops, long epoch) {
        List<Op> batch = new ArrayList<>();
        long size = Coordination.requestBytes(List.of());
        for (Op op : ops) {
            if (!batch.isEmpty() && size + op.bytes() > TRANSACTION_BYTES) {
                zk.commitFenced(batch, epoch);
                batch = new ArrayList<>();
                size = Coordination.requestBytes(List.of());
            }
            batch.add(op);
            size += op.bytes();
        }
        if (!batch.isEmpty()) {
            zk.commitFenced(batch, epoch);
        }
    }

    /** {@code items} in order, cut into runs of at most {@link #CHUNK_BYTES} (an item over it alone). */
    private static <T> List<List<T>> chunks(List<T> items, ToIntFunction<T> bytes) {
        List<List<T>> out = new ArrayList<>();
        List<T> run = new ArrayList<>();
        long size = 0;
        for (T item : items) {
            int b = bytes.applyAsInt(item);
            if (!run.isEmpty() && size + b > CHUNK_BYTES) {
                out.add(run);
                run = new ArrayList<>();
                size = 0;
            }
            run.add(item);
            size += b;
        }
        if (!run.isEmpty()) {
            out.add(run);
        }
        return out;
    }

    // ------------------------------------------------------------------ inputs, commands, events

    public void submit(Input in) {
        zk.put("inputs/" + key(), Codec.input(in), -1);
    }

    /** Pending inputs, oldest first, with their keys (to delete once applied). */
    public List<Keyed<Input>> inputs() {
        List<Keyed<Input>> out = new ArrayList<>();
        zk.getAll("inputs").forEach((k, v) -> out.add(new Keyed<>("inputs/" + k, Codec.input(v.value()))));
        return out;
    }

    /** Deletes inputs the coordinator applied, fenced by its epoch, in batched transactions. */
    public void consumed(List<Keyed<Input>> inputs, long epoch) {
        commit(inputs.stream().map(k -> Op.delete(k.key())).toList(), epoch);
    }

    /** Sends {@code commands} to their agents ({@link Command#agentOf}), in order, fenced, batched. */
    public void send(List<Command> commands, long epoch) {
        List<Op> ops = new ArrayList<>(commands.size());
        for (Command c : commands) {
            ops.add(Op.put("commands/" + Command.agentOf(c) + "/" + key(), Codec.command(c)));
        }
        commit(ops, epoch);
    }

    public List<Keyed<Command>> commands(String node) {
        List<Keyed<Command>> out = new ArrayList<>();
        String parent = "commands/" + node;
        zk.getAll(parent).forEach((k, v) -> out.add(new Keyed<>(parent + "/" + k, Codec.command(v.value()))));
        return out;
    }

    public void event(String line, long epoch) {
        events(List.of(line), epoch);
    }

    /** A step's lines, in order: one key (more only beyond {@link #CHUNK_BYTES}), fenced. */
    public void events(List<String> lines, long epoch) {
        List<Op> ops = new ArrayList<>();
        for (List<String> chunk : chunks(lines, l -> Codec.value(l).length + 1)) {
            ops.add(Op.put("events/" + key(), Codec.value(chunk)));
        }
        commit(ops, epoch);
    }

    /** Every line of the timeline, in order. */
    public List<String> events() {
        List<String> out = new ArrayList<>();
        for (Coordination.Versioned v : zk.getAll("events").values()) {
            out.addAll(lines(v.value()));
        }
        return out;
    }

    private static List<String> lines(byte[] b) {
        if (b.length > 0 && b[0] == '[') {
            return Codec.value(b, LINES);
        }
        return List.of(new String(b, StandardCharsets.UTF_8)); // one line per key, as older versions wrote
    }

    /**
     * The timeline as it stands, with the number its first line has (1 until lines were pruned):
     * line {@code i} of {@code lines} is number {@code first + i} for as long as it is kept.
     */
    public record Timeline(long first, List<String> lines) {}

    /** The timeline and its first line's number, read consistently with a pruning in between. */
    public Timeline timeline() {
        while (true) {
            long pruned = pruned();
            List<String> lines = events();
            if (pruned() == pruned) {
                return new Timeline(pruned + 1, lines);
            }
        }
    }

    private long pruned() {
        return zk.get(PRUNED).map(v -> {
            try {
                return Long.parseLong(new String(v.value(), StandardCharsets.UTF_8).strip());
            } catch (NumberFormatException e) {
                return 0L;
            }
        }).orElse(0L);
    }

    /**
     * Deletes the timeline's oldest keys beyond {@link #TIMELINE_KEYS}, and those older than
     * {@link #TIMELINE_AGE}, at most {@link #PRUNE_BATCH} at a time, in one transaction fenced by
     * {@code epoch} with the count of the lines they held (so no line's number changes). The agents'
     * logs keep every line. Returns the number of keys deleted.
     */
    public int pruneEvents(long epoch, java.time.Instant now) {
        return pruneEvents(epoch, now, TIMELINE_KEYS, TIMELINE_AGE);
    }

    int pruneEvents(long epoch, java.time.Instant now, int keep, java.time.Duration age) {
        List<String> keys = new ArrayList<>(zk.children("events"));
        java.util.Collections.sort(keys);
        String cutoff = String.format("%013d", now.minus(age).toEpochMilli());
        List<String> doomed = new ArrayList<>();
        for (int i = 0; i < keys.size() && doomed.size() < PRUNE_BATCH; i++) {
            if (i < keys.size() - keep || keys.get(i).compareTo(cutoff) < 0) {
                doomed.add("events/" + keys.get(i));
            } else {
                break;
            }
        }
        if (doomed.isEmpty()) {
            return 0;
        }
        long lines = 0;
        for (Coordination.Versioned v : zk.getMany(doomed).values()) {
            lines += lines(v.value()).size();
        }
        List<Op> ops = new ArrayList<>();
        doomed.forEach(k -> ops.add(Op.delete(k)));
        ops.add(Op.put(PRUNED, Long.toString(pruned() + lines).getBytes(StandardCharsets.UTF_8)));
        zk.commitFenced(ops, epoch); // one transaction: the count and the deletes together
        return doomed.size();
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

    /** Root of the handover markers ({@code havm vm import | release}). */
    public static final String HANDOVER = "handover";

    /**
     * A group handed to the cluster where it runs ({@code adopt}), or handed back to the operator
     * running ({@code release}), by the configuration version that adds or removes it.
     */
    public record Handover(String group, boolean release, String node) {
        public String word() {
            return (release ? "release:" : "adopt:") + node;
        }
    }

    /** Every handover marker (an unreadable one is left out: the group is then handled as any other). */
    public java.util.Map<String, Handover> handovers() {
        java.util.Map<String, Handover> out = new java.util.TreeMap<>();
        zk.getAll(HANDOVER).forEach((group, v) -> {
            String s = new String(v.value(), StandardCharsets.UTF_8);
            int colon = s.indexOf(':');
            if (colon > 0 && (s.startsWith("adopt:") || s.startsWith("release:"))) {
                out.put(group, new Handover(group, s.startsWith("release:"), s.substring(colon + 1)));
            }
        });
        return out;
    }

    public void putHandover(Handover h) {
        Optional<Coordination.Versioned> cur = zk.get(HANDOVER + "/" + h.group());
        zk.put(HANDOVER + "/" + h.group(), h.word().getBytes(StandardCharsets.UTF_8),
                cur.map(Coordination.Versioned::version).orElse(-1));
    }

    public void clearHandover(String group) {
        if (zk.get(HANDOVER + "/" + group).isPresent()) {
            zk.delete(HANDOVER + "/" + group);
        }
    }

    /** Root of the live migrations' progress. */
    public static final String PROGRESS = "progress";

    /** Publishes where the live move of {@code p.group()} stands: ephemeral, this client's session's. */
    public void putProgress(MoveProgress p) {
        zk.putEphemeral(PROGRESS + "/" + p.group(), Codec.value(p));
    }

    /** The move of {@code group} is over: its progress goes. */
    public void clearProgress(String group) {
        zk.delete(PROGRESS + "/" + group);
    }

    /** The progress of every live move under way, by group (an unreadable one is left out). */
    public SortedMap<String, MoveProgress> progress() {
        SortedMap<String, MoveProgress> out = new TreeMap<>();
        zk.getAll(PROGRESS).forEach((group, v) -> {
            try {
                out.put(group, Codec.value(v.value(), MoveProgress.class));
            } catch (RuntimeException e) {
                // written by another version, or half-read: no progress shown rather than an error
            }
        });
        return out;
    }

    /** A stored value with its key. */
    public record Keyed<T>(String key, T value) {}
}
