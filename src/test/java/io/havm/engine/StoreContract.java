package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.port.Coordination;
import io.havm.port.Coordination.Op;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * What the cluster store promises, against any {@link Coordination}: ZooKeeper itself
 * ({@link ClusterStoreZkTest}) and the simulator's ({@link ClusterStoreSimTest}).
 */
abstract class StoreContract {
    static final int BIG_NODES = 1_000;
    static final int BIG_GROUPS = 20_000;
    static final int ZNODE_LIMIT = 256 * 1024;

    final ManualClock clock = new ManualClock();

    /** A connected client whose writes carry {@link #epoch()}. */
    abstract Coordination coordinator();

    /** The current epoch, a coordinator's. */
    abstract long epoch();

    /** A successor takes office: {@link #epoch()} rises, the one before is stale. */
    abstract void supersede();

    /** Every stored key with its value's size. */
    abstract SortedMap<String, Integer> sizes();

    /** Prints a measured figure (the ZooKeeper test does; the simulator's are not real time). */
    void figure(String what, long nanos) {}

    ClusterStore store() {
        return new ClusterStore(coordinator(), "test", clock);
    }

    static ClusterState big(int nodes, int groups, String tag) {
        SortedMap<String, ClusterState.Node> ns = new TreeMap<>();
        for (int i = 0; i < nodes; i++) {
            String n = String.format("host%04d", i);
            ns.put(n, ClusterState.Node.up(n));
        }
        SortedMap<String, ClusterState.Group> gs = new TreeMap<>();
        Instant t = Instant.parse("2026-12-06T10:00:00Z");
        for (int i = 0; i < groups; i++) {
            gs.put(group(i), new ClusterState.Group(group(i), GroupPhase.ONLINE, String.format("host%04d", i % nodes), null,
                    null, true, List.of(t), Map.of("vm", List.of(t.plusSeconds(i % 60))), Set.of(), Set.of(tag), null,
                    null, 3 + i % 5, 0, null));
        }
        return new ClusterState(ns, gs, t, t.plusSeconds(30), new TreeSet<>(Set.of("host0001")));
    }

    static String group(int i) {
        return String.format("vm-%05d", i);
    }

    static ClusterState withGroup(ClusterState s, ClusterState.Group g) {
        SortedMap<String, ClusterState.Group> gs = new TreeMap<>(s.groups());
        gs.put(g.name(), g);
        return new ClusterState(s.nodes(), gs, s.firstNodeUpAt(), s.formedAt(), s.failbackTo());
    }

    static ClusterState.Group moving(ClusterState.Group g, String to) {
        return new ClusterState.Group(g.name(), GroupPhase.MOVING, to, g.node(), MoveMode.LIVE, true, g.failovers(),
                g.restarts(), g.failedResources(), g.tried(), null, null, g.ops() + 1, g.ops() + 1, Instant.EPOCH);
    }

    /** The groups of {@code s} on {@code node}, as {@link ClusterStore#groupsOn} answers. */
    static SortedMap<String, ClusterState.Group> expectedOn(String node, ClusterState s) {
        SortedMap<String, ClusterState.Group> out = new TreeMap<>();
        s.groups().values().stream().filter(g -> g.involves(node)).forEach(g -> out.put(g.name(), g));
        return out;
    }

    Map<String, Integer> versions(String parent) {
        Map<String, Integer> out = new TreeMap<>();
        coordinator().getAll(parent).forEach((k, v) -> out.put(parent + "/" + k, v.version()));
        return out;
    }

    @Test
    void aClusterOf20000GroupsIsWrittenReadBackAndFitsZooKeeper() {
        ClusterState s = big(BIG_NODES, BIG_GROUPS, "a");
        long t0 = System.nanoTime();
        store().putState(null, s, epoch());
        long t1 = System.nanoTime();
        ClusterState read = store().state().orElseThrow();
        long t2 = System.nanoTime();
        figure("write of " + BIG_GROUPS + " groups x " + BIG_NODES + " nodes (whole)", t1 - t0);
        figure("read back (a new coordinator's state())", t2 - t1);
        assertEquals(s, read);
        assertEquals(expectedOn("host0042", s), store().groupsOn("host0042").orElseThrow());
        SortedMap<String, Integer> sizes = sizes();
        String largest = sizes.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        figure("largest znode " + largest + " (bytes, not ns)", sizes.get(largest));
        assertTrue(sizes.get(largest) < ZNODE_LIMIT, largest + " holds " + sizes.get(largest) + " bytes");
        assertTrue(sizes.keySet().stream().noneMatch(k -> k.startsWith(ClusterStore.REDO + "/")), "redo cleared");
        ClusterStore coordinator = store();
        ClusterState cur = coordinator.state().orElseThrow();
        long[] took = new long[11];
        for (int i = 0; i < took.length; i++) {
            ClusterState moved = withGroup(cur, moving(cur.groups().get(group(1_000 + i)), "host0004"));
            long t = System.nanoTime();
            coordinator.putState(cur, moved, epoch());
            took[i] = System.nanoTime() - t;
            cur = moved;
        }
        java.util.Arrays.sort(took);
        figure("one-group step at " + BIG_GROUPS + " groups, median of " + took.length, took[took.length / 2]);
        assertEquals(cur, store().state().orElseThrow());
        s = cur;
        // and every group changed at once (a second formation) goes through the redo log too
        ClusterState again = big(BIG_NODES, BIG_GROUPS, "b");
        long t3 = System.nanoTime();
        store().putState(s, again, epoch());
        figure("rewrite of every group (difference)", System.nanoTime() - t3);
        assertEquals(again, store().state().orElseThrow());
    }

    @Test
    void aOneGroupStepRewritesOnlyThatGroup() {
        ClusterState s = big(50, 2_000, "a");
        ClusterStore store = store();
        store.putState(null, s, epoch());
        Map<String, Integer> before = new TreeMap<>(versions(ClusterStore.GROUPS));
        before.putAll(versions(ClusterStore.NODES));
        before.putAll(versions(ClusterStore.PLACED));
        int meta = coordinator().get(ClusterStore.META).orElseThrow().version();
        ClusterState.Group g = moving(s.groups().get(group(7)), "host0003");
        ClusterState next = withGroup(s, g);
        long t0 = System.nanoTime();
        store.putState(s, next, epoch());
        figure("one-group step (putState of a difference of one group)", System.nanoTime() - t0);
        Map<String, Integer> after = new TreeMap<>(versions(ClusterStore.GROUPS));
        after.putAll(versions(ClusterStore.NODES));
        after.putAll(versions(ClusterStore.PLACED));
        // the group, and the index of the node it moves to (it stays in its source's, as from)
        Set<String> written = Set.of(ClusterStore.GROUPS + "/" + group(7), ClusterStore.PLACED + "/host0003");
        for (Map.Entry<String, Integer> e : before.entrySet()) {
            int expected = written.contains(e.getKey()) ? e.getValue() + 1 : e.getValue();
            assertEquals(expected, after.get(e.getKey()), e.getKey());
        }
        assertEquals(meta, coordinator().get(ClusterStore.META).orElseThrow().version(), "meta unchanged");
        assertEquals(next, store().state().orElseThrow());
        assertEquals(g, store().group(group(7)).orElseThrow());
        assertTrue(store().groupsOn("host0003").orElseThrow().containsKey(group(7)), "the target of the move");
        assertTrue(store().groupsOn("host0007").orElseThrow().containsKey(group(7)), "the source of the move");
        assertEquals(expectedOn("host0003", next), store().groupsOn("host0003").orElseThrow());
        // warm: the median of a few one-group steps back and forth
        long[] took = new long[21];
        ClusterState cur = next;
        for (int i = 0; i < took.length; i++) {
            ClusterState.Group h = cur.groups().get(group(100 + i));
            ClusterState moved = withGroup(cur, moving(h, "host0004"));
            long t = System.nanoTime();
            store.putState(cur, moved, epoch());
            took[i] = System.nanoTime() - t;
            cur = moved;
        }
        java.util.Arrays.sort(took);
        figure("one-group step, median of " + took.length, took[took.length / 2]);
        assertEquals(cur, store().state().orElseThrow());
        next = cur;
        after = new TreeMap<>(versions(ClusterStore.GROUPS));
        // an unchanged state writes nothing at all
        store.putState(next, next, epoch());
        assertEquals(after.get(ClusterStore.GROUPS + "/" + group(7)),
                versions(ClusterStore.GROUPS).get(ClusterStore.GROUPS + "/" + group(7)));
    }

    @Test
    void removedGroupsAndNodesAreDeleted() {
        ClusterState s = big(3, 10, "a");
        store().putState(null, s, epoch());
        SortedMap<String, ClusterState.Group> gs = new TreeMap<>(s.groups());
        gs.remove(group(3));
        SortedMap<String, ClusterState.Node> ns = new TreeMap<>(s.nodes());
        ns.remove("host0002");
        ClusterState next = new ClusterState(ns, gs, s.firstNodeUpAt(), null, null);
        store().putState(s, next, epoch());
        assertEquals(next, store().state().orElseThrow());
        assertFalse(coordinator().get(ClusterStore.GROUPS + "/" + group(3)).isPresent());
        // a write of a whole state (previous unknown) deletes what it does not hold too
        gs.remove(group(4));
        ClusterState fewer = new ClusterState(ns, gs, s.firstNodeUpAt(), null, null);
        store().putState(null, fewer, epoch());
        assertEquals(fewer, store().state().orElseThrow());
        assertEquals(expectedOn("host0001", fewer), store().groupsOn("host0001").orElseThrow());
        assertEquals(expectedOn("host0002", fewer), store().groupsOn("host0002").orElseThrow());
    }

    @Test
    void aStaleEpochsTransactionChangesNothing() {
        ClusterState s = big(3, 10, "a");
        store().putState(null, s, epoch());
        long stale = epoch();
        supersede();
        ClusterState next = withGroup(s, moving(s.groups().get(group(1)), "host0002"));
        assertThrows(Coordination.ConflictException.class, () -> store().putState(s, next, stale));
        assertThrows(Coordination.ConflictException.class, () -> coordinator().commitFenced(
                List.of(Op.put("x/y", new byte[] {1}), Op.delete(ClusterStore.GROUPS + "/" + group(2))), stale));
        assertEquals(s, store().state().orElseThrow());
        assertFalse(coordinator().get("x/y").isPresent());
        assertFalse(coordinator().get("x").isPresent(), "not even the parent");
        store().putState(s, next, epoch());
        assertEquals(next, store().state().orElseThrow());
    }

    @Test
    void aTransactionIsAllOrNothingAndWithinZooKeepersLimits() {
        Coordination c = coordinator();
        c.commitFenced(List.of(Op.put("a/b/c", bytes("1")), Op.put("a/d", bytes("2")), Op.delete("a/none")), epoch());
        assertArrayEquals(bytes("1"), c.get("a/b/c").orElseThrow().value());
        c.commitFenced(List.of(Op.put("a/b/c", bytes("3")), Op.delete("a/d")), epoch());
        assertArrayEquals(bytes("3"), c.get("a/b/c").orElseThrow().value());
        assertFalse(c.get("a/d").isPresent());
        assertEquals(List.of("b"), c.children("a"));
        byte[] tooBig = new byte[Coordination.MAX_REQUEST_BYTES + 1];
        assertThrows(IllegalArgumentException.class, () -> c.commitFenced(List.of(Op.put("big", tooBig)), epoch()));
        assertThrows(IllegalArgumentException.class, () -> c.put("big", tooBig, -1));
        List<Op> many = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            many.add(Op.put("many/" + i, new byte[400 * 1024]));
        }
        assertThrows(IllegalArgumentException.class, () -> c.commitFenced(many, epoch()));
        assertFalse(c.get("big").isPresent());
        assertTrue(c.children("many").isEmpty());
    }

    @Test
    void aBigWriteCutAfterItsMarkerReadsBackWholeAndIsFinishedByTheNextWrite() {
        ClusterState s = big(100, 4_000, "a");
        store().putState(null, s, epoch());
        ClusterState next = big(100, 4_000, "b"); // every group changed: more than one transaction
        ClusterStore dying = store();
        dying.stopAfterMarker(true);
        assertThrows(IllegalStateException.class, () -> dying.putState(s, next, epoch()));
        assertFalse(coordinator().children(ClusterStore.REDO).isEmpty(), "the redo log is there");
        assertEquals(s.groups().get(group(5)), Codec.group(coordinator().get(ClusterStore.GROUPS + "/" + group(5))
                .orElseThrow().value()), "the keys themselves still hold the old state");
        ClusterStore successor = store();
        ClusterState read = successor.state().orElseThrow();
        assertEquals(next, read, "a reader sees the whole new state");
        assertEquals(next.groups().get(group(5)), successor.group(group(5)).orElseThrow());
        assertEquals(expectedOn("host0005", next), successor.groupsOn("host0005").orElseThrow());
        // the successor's first write finishes the big one, then writes its own step
        ClusterState after = withGroup(read, moving(read.groups().get(group(9)), "host0001"));
        successor.putState(read, after, epoch());
        assertTrue(coordinator().children(ClusterStore.REDO).isEmpty());
        assertNull(Codec.value(coordinator().get(ClusterStore.META).orElseThrow().value(), ClusterStore.Meta.class).redo());
        assertEquals(after, store().state().orElseThrow());
        assertEquals(expectedOn("host0001", after), store().groupsOn("host0001").orElseThrow());
        assertEquals(next.groups().get(group(5)), Codec.group(coordinator().get(ClusterStore.GROUPS + "/" + group(5))
                .orElseThrow().value()));
        // the dying writer, had it gone on from its old previous, finishes and writes whole: still right
        ClusterState last = withGroup(s, moving(s.groups().get(group(2)), "host0003"));
        ClusterStore again = store();
        again.stopAfterMarker(true);
        assertThrows(IllegalStateException.class, () -> again.putState(after, big(100, 4_000, "c"), epoch()));
        again.stopAfterMarker(false);
        again.putState(after, last, epoch());
        assertEquals(last, store().state().orElseThrow());
        assertEquals(expectedOn("host0003", last), store().groupsOn("host0003").orElseThrow());
    }

    @Test
    void aLegacySingleKeyStateIsReadThenMovedToTheNewLayout() {
        ClusterState s = big(3, 10, "a");
        coordinator().putFenced(ClusterStore.STATE, Codec.state(s), epoch());
        ClusterStore store = store();
        ClusterState read = store.state().orElseThrow();
        assertEquals(s, read);
        assertEquals(s.groups().get(group(1)), store().group(group(1)).orElseThrow());
        assertEquals(expectedOn("host0001", s), store().groupsOn("host0001").orElseThrow());
        ClusterState next = withGroup(read, moving(read.groups().get(group(1)), "host0002"));
        store.putState(read, next, epoch());
        assertEquals(0, coordinator().get(ClusterStore.STATE).orElseThrow().value().length, "legacy data gone");
        assertEquals(next, store().state().orElseThrow());
        assertEquals(10, coordinator().children(ClusterStore.GROUPS).size());
        assertEquals(expectedOn("host0001", next), store().groupsOn("host0001").orElseThrow());
    }

    @Test
    void aLegacyStateTooBigForOneTransactionMovesThroughTheRedoLog() {
        ClusterState s = big(20, 2_500, "a"); // ~0.75 MB as one znode: the most an old version could write
        coordinator().putFenced(ClusterStore.STATE, Codec.state(s), epoch());
        ClusterStore store = store();
        ClusterState read = store.state().orElseThrow();
        store.putState(read, read, epoch());
        assertEquals(0, coordinator().get(ClusterStore.STATE).orElseThrow().value().length);
        assertEquals(s, store().state().orElseThrow());
    }

    @Test
    void noStateIsNoState() {
        assertTrue(store().state().isEmpty());
        assertTrue(store().stateOfGroup("web").isEmpty());
        assertTrue(store().groupsOn("host0000").isEmpty());
        store().putState(null, big(1, 1, "a"), epoch());
        ClusterState one = store().stateOfGroup("web").orElseThrow();
        assertTrue(one.groups().isEmpty(), "a state without that group");
    }

    @Test
    void theTimelineIsPrunedOldestFirstAndItsLinesKeepTheirNumbers() {
        ClusterStore store = store();
        for (int i = 0; i < 3; i++) {
            store.events(List.of("old " + i + " a", "old " + i + " b"), epoch());
        }
        clock.pause(java.time.Duration.ofDays(31));
        for (int i = 0; i < 5; i++) {
            clock.pause(java.time.Duration.ofSeconds(1));
            store.events(List.of("new " + i + " a", "new " + i + " b"), epoch());
        }
        ClusterStore.Timeline before = store.timeline();
        assertEquals(1, before.first());
        assertEquals(16, before.lines().size());

        assertEquals(4, store.pruneEvents(epoch(), clock.now(), 4, java.time.Duration.ofDays(30)),
                "the 3 steps older than 30 days, then 1 beyond the newest 4");
        ClusterStore.Timeline after = store.timeline();
        assertEquals(9, after.first(), "the first line kept is still number 9");
        assertEquals(before.lines().subList(8, 16), after.lines());
        assertEquals(after.lines(), store.events());
        assertEquals(0, store.pruneEvents(epoch(), clock.now(), 4, java.time.Duration.ofDays(30)), "nothing more");

        long stale = epoch();
        supersede();
        assertThrows(Coordination.ConflictException.class, () -> store.pruneEvents(stale, clock.now(), 1,
                java.time.Duration.ofDays(30)));
        assertEquals(new ClusterStore.Timeline(9, before.lines().subList(8, 16)), store.timeline(),
                "a superseded coordinator prunes nothing");
    }

    @Test
    void aStepsEventsAreOneKeyAndReadBackInOrder() {
        Coordination c = coordinator();
        c.putFenced("events/0000000000001-old-000001", bytes("2026-01-01T00:00:00Z an older version's line"), epoch());
        ClusterStore store = store();
        store.events(List.of("b one", "b two [with brackets]", "b three\nwith a newline"), epoch());
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            many.add("c line " + i + " " + "x".repeat(100));
        }
        store.events(many, epoch());
        List<String> expected = new ArrayList<>(List.of("2026-01-01T00:00:00Z an older version's line", "b one",
                "b two [with brackets]", "b three\nwith a newline"));
        expected.addAll(many);
        assertEquals(expected, store.events());
        SortedMap<String, Integer> sizes = sizes();
        long keys = sizes.keySet().stream().filter(k -> k.startsWith("events/")).count();
        assertTrue(keys >= 4 && keys <= 6, keys + " keys");
        assertTrue(sizes.entrySet().stream().filter(e -> e.getKey().startsWith("events/"))
                .allMatch(e -> e.getValue() < ZNODE_LIMIT));
    }

    @Test
    void commandsAndConsumedInputsGoInBatches() {
        ClusterStore store = store();
        List<io.havm.policy.Command> cmds = new ArrayList<>();
        for (int i = 0; i < 3_000; i++) {
            cmds.add(new io.havm.policy.Command.Online(group(i), "host" + (i % 3), i + 1));
        }
        store.send(cmds, epoch());
        assertEquals(1_000, store.commands("host1").size());
        assertEquals(cmds.get(1), store.commands("host1").get(0).value());
        for (int i = 0; i < 3; i++) {
            store.submit(new io.havm.policy.Input.Tick());
        }
        List<ClusterStore.Keyed<io.havm.policy.Input>> in = store.inputs();
        assertEquals(3, in.size());
        store.consumed(in, epoch());
        assertTrue(store.inputs().isEmpty());
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
