package io.havm.coordination;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.coordination.EmbeddedZooKeeper.Settings;
import io.havm.port.Coordination.ConflictException;
import io.havm.port.Coordination.ConnectionState;
import io.havm.port.Coordination.Versioned;
import io.havm.model.InvalidInputException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedSet;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.zookeeper.ClientSessionLoss;
import org.apache.zookeeper.ZooKeeper;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * ZkCoordination against a real standalone ZooKeeper on 127.0.0.1, one fresh server per test.
 * Server tick 200 ms, so sessions of 2–4 s are accepted and expire quickly.
 */
@ExtendWith(QuietZooKeeper.class)
class ZkCoordinationTest {
    private static final String ROOT = "/havm/test";
    private static final Duration SESSION = Duration.ofSeconds(2);
    /** The longest session the FAST server grants (20 ticks): room to restart the server within it. */
    private static final Duration LONG_SESSION = Duration.ofSeconds(4);
    /** Not above the session timeout: Curator warns otherwise, and rightly (see ZkCoordination). */
    private static final Duration CONNECT = Duration.ofSeconds(2);

    @TempDir
    Path tmp;

    private EmbeddedZooKeeper zk;
    private final List<ZkCoordination> clients = new ArrayList<>();

    @BeforeEach
    void startServer() {
        zk = EmbeddedZooKeeper.standalone("127.0.0.1", FreePorts.pick(1)[0], tmp.resolve("zk"), Settings.FAST).start();
    }

    @AfterEach
    void stopAll() {
        clients.forEach(ZkCoordination::close);
        if (zk != null) {
            zk.close();
        }
    }

    private ZkCoordination client(Duration session) {
        ZkCoordination c = new ZkCoordination(zk.connectString(), ROOT, session, CONNECT);
        clients.add(c);
        return c;
    }

    private static ConditionFactory within(int seconds) {
        return await().atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(20));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    private static long sessionOf(ZkCoordination c) throws Exception {
        return c.curator().getZookeeperClient().getZooKeeper().getSessionId();
    }

    private static void expireSession(ZkCoordination c) throws Exception {
        // Client side only: the socket goes without closing the session, exactly like a node that
        // vanished; the server then expires the session after its timeout, for real.
        ClientSessionLoss.loseSessionWithoutClosingIt(c.curator().getZookeeperClient().getZooKeeper());
    }

    // ------------------------------------------------------------------ membership

    @Test
    void membersSeeEachOtherSortedAndAClosedMemberLeavesAtOnce() {
        ZkCoordination a = client(SESSION);
        ZkCoordination b = client(SESSION);
        List<SortedSet<String>> seenByA = new CopyOnWriteArrayList<>();
        a.watchMembers(seenByA::add);

        b.join("node2", bytes("b"));
        a.join("node1", bytes("a"));

        within(5).until(() -> a.members().equals(sorted("node1", "node2")) && b.members().equals(sorted("node1", "node2")));
        assertEquals(List.of("node1", "node2"), List.copyOf(a.members()), "sorted");
        within(5).until(() -> !seenByA.isEmpty() && seenByA.get(seenByA.size() - 1).equals(sorted("node1", "node2")));

        b.close();
        // Closing ends the session: the ephemeral znode goes now, not after the session timeout.
        within(1).until(() -> a.members().equals(sorted("node1")));
        within(1).until(() -> seenByA.get(seenByA.size() - 1).equals(sorted("node1")));
    }

    @Test
    void aSessionThatExpiresDropsItsMemberAndTheNodeMustJoinAgain() throws Exception {
        // b's old session must outlive the steps up to the early join by a wide margin, also on a
        // loaded machine: a server that grants 10 s sessions (with 4 s, a busy 2-core runner once
        // reached the join after the server had already expired it).
        zk.close();
        zk = EmbeddedZooKeeper.standalone("127.0.0.1", FreePorts.pick(1)[0], tmp.resolve("zk-long"),
                new Settings(200, 400, 20_000)).start();
        ZkCoordination a = client(SESSION);
        ZkCoordination b = client(Duration.ofSeconds(10));
        Recorder bState = new Recorder();
        b.onConnectionState(bState::state);
        a.join("node1", bytes("a"));
        b.join("node2", bytes("b"));
        within(5).until(() -> a.members().equals(sorted("node1", "node2")));

        long oldSession = sessionOf(b);
        expireSession(b);
        within(10).until(() -> {
            ZooKeeper h = b.curator().getZookeeperClient().getZooKeeper();
            return h.getSessionId() != oldSession && h.getState().isConnected();
        });
        within(5).until(() -> bState.has("state LOST"));
        within(5).until(() -> bState.inOrder("state LOST", "state RECONNECTED"));
        // Rejoining before the server expired the old session is refused, so that the others
        // always see the gap (and recover what b self-fenced).
        // (b's old session lasts 10 s: this runs well inside it.)
        ConflictException early = assertThrows(ConflictException.class, () -> b.join("node2", bytes("too soon")));
        assertTrue(early.getMessage().contains("previous ZooKeeper session"), early.getMessage());
        // The server expires b's session after the session timeout: every member sees b gone.
        within(15).until(() -> a.members().equals(sorted("node1")));
        within(5).until(() -> b.members().equals(sorted("node1")));

        b.join("node2", bytes("b again"));
        within(5).until(() -> a.members().equals(sorted("node1", "node2")));
    }

    @Test
    void aNameHeldByAnotherLiveSessionIsRefusedAndOurOwnIsUpdated() {
        ZkCoordination a = client(SESSION);
        ZkCoordination b = client(SESSION);
        a.join("node1", bytes("first"));

        ConflictException e = assertThrows(ConflictException.class, () -> b.join("node1", bytes("impostor")));
        assertTrue(e.getMessage().contains("node1"), e.getMessage());

        a.join("node1", bytes("second")); // same session: just new info
        assertThrows(InvalidInputException.class, () -> a.join("a/b", bytes("x")));
    }

    // ------------------------------------------------------------------ election

    @Test
    void exactlyOneLeaderAndTheNextOneGetsAHigherEpoch() {
        List<ZkCoordination> cs = List.of(client(SESSION), client(SESSION), client(SESSION));
        List<Recorder> rs = List.of(new Recorder(), new Recorder(), new Recorder());
        ZkCoordination onlooker = client(SESSION); // no candidate: reads who leads (havm drill's coordinator)
        assertEquals(Optional.empty(), onlooker.leader(), "no election yet");
        for (int i = 0; i < 3; i++) {
            cs.get(i).elect("node" + (i + 1), rs.get(i));
        }

        within(5).until(() -> rs.stream().anyMatch(Recorder::leading));
        int first = leaderIndex(rs);
        assertEquals(1, rs.stream().filter(Recorder::leading).count(), rs.toString());
        assertEquals(List.of(1L), rs.get(first).epochs());
        assertEquals(1, cs.get(0).currentEpoch());
        assertEquals(Optional.of("node" + (first + 1)), onlooker.leader());

        cs.get(first).close();
        // Closing revokes before close() returns.
        assertEquals(List.of("elected 1", "revoked"), rs.get(first).events);

        within(5).until(() -> rs.stream().filter(r -> r != rs.get(first)).anyMatch(Recorder::leading));
        int second = leaderIndex(rs);
        assertEquals(List.of(2L), rs.get(second).epochs());
        assertEquals(1, rs.stream().filter(Recorder::leading).count(), rs.toString());
        ZkCoordination survivor = cs.get(second);
        assertEquals(2, survivor.currentEpoch());
        assertEquals(Optional.of("node" + (second + 1)), onlooker.leader(), "the next leader, once the first left");

        // Anyone writing with the closed leader's epoch is refused; the new leader's epoch works.
        ZkCoordination other = cs.get(3 - first - second);
        assertThrows(ConflictException.class, () -> other.putFenced("cmd/x", bytes("stale"), 1));
        survivor.putFenced("cmd/x", bytes("fresh"), 2);
        assertArrayEquals(bytes("fresh"), other.get("cmd/x").orElseThrow().value());
    }

    @Test
    void aLeaderThatLostItsSessionIsFencedOutByTheNextEpoch() throws Exception {
        ZkCoordination a = client(SESSION);
        Recorder ra = new Recorder();
        a.onConnectionState(ra::state);
        a.elect("node1", ra);
        within(5).until(() -> ra.has("elected 1"));
        ZkCoordination b = client(SESSION);
        Recorder rb = new Recorder();
        b.elect("node2", rb);

        // a's session ends on the server while a is away; b takes over.
        expireSession(a);
        within(5).until(() -> ra.inOrder("elected 1", "revoked"));
        assertTrue(ra.inOrder("state LOST", "revoked"), "the engine hears LOST before revoked(): " + ra);
        within(10).until(() -> rb.has("elected 2"));

        // a is back with a new session but still believes in epoch 1: its commands bounce.
        within(10).until(() -> ra.has("state RECONNECTED"));
        ConflictException e = assertThrows(ConflictException.class, () -> a.putFenced("groups/web/owner", bytes("node1"), 1));
        assertTrue(e.getMessage().contains("epoch 1 is no longer current (current epoch is 2)"), e.getMessage());
        assertThrows(ConflictException.class, () -> a.putFenced("fresh/deep/key", bytes("x"), 1));
        assertEquals(Optional.empty(), b.get("fresh"), "a refused write leaves not even its parent keys");
        b.putFenced("groups/web/owner", bytes("node2"), 2);
        assertArrayEquals(bytes("node2"), a.get("groups/web/owner").orElseThrow().value());
        assertFalse(ra.leading(), "a rejoined the election behind b: " + ra);
        assertEquals(List.of(1L), ra.epochs());
    }

    @Test
    void putFencedProvesTheEpochEvenFromAnInstanceThatDidNotRaiseIt() {
        ZkCoordination leader = client(SESSION);
        ZkCoordination bystander = client(SESSION);
        assertThrows(ConflictException.class, () -> bystander.putFenced("k", bytes("v"), 0), "epoch 0 is nobody's");
        assertThrows(ConflictException.class, () -> bystander.putFenced("k", bytes("v"), 1), "no epoch 1 yet");
        Recorder r = new Recorder();
        leader.elect("node1", r);
        within(5).until(() -> r.has("elected 1"));

        bystander.putFenced("k", bytes("v1"), 1); // read path: epoch znode compared, its version checked
        leader.putFenced("k", bytes("v2"), 1); // recorded path: the version noted when it was raised
        Versioned v = leader.get("k").orElseThrow();
        assertArrayEquals(bytes("v2"), v.value());
        assertEquals(1, v.version());
        assertThrows(ConflictException.class, () -> bystander.putFenced("k", bytes("v"), 2), "future epoch");
    }

    // ------------------------------------------------------------------ store

    @Test
    void createUpdateAndVersionConflicts() {
        ZkCoordination c = client(SESSION);
        assertEquals(Optional.empty(), c.get("config"));

        assertEquals(0, c.put("config", bytes("v0"), -1));
        ConflictException exists = assertThrows(ConflictException.class, () -> c.put("config", bytes("again"), -1));
        assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());

        assertEquals(1, c.put("config", bytes("v1"), 0));
        assertThrows(ConflictException.class, () -> c.put("config", bytes("lost update"), 0));
        assertThrows(ConflictException.class, () -> c.put("missing", bytes("x"), 3));
        assertThrows(InvalidInputException.class, () -> c.put("config", bytes("x"), -2));

        Versioned v = c.get("config").orElseThrow();
        assertArrayEquals(bytes("v1"), v.value());
        assertEquals(1, v.version());
    }

    @Test
    void nestedKeysChildrenSortedAndDeleteTakesTheSubtree() {
        ZkCoordination c = client(SESSION);
        c.put("groups/web/resources/vm", bytes("x"), -1);
        c.put("groups/db", bytes("d"), -1);
        c.put("groups/app", bytes("a"), -1);

        assertEquals(List.of("app", "db", "web"), c.children("groups"));
        assertEquals(List.of("groups"), c.children(""));
        assertEquals(List.of(), c.children("nothing/here"));
        assertEquals(0, c.get("groups/web").orElseThrow().value().length, "a parent exists with an empty value");

        c.delete("groups/web");
        assertEquals(Optional.empty(), c.get("groups/web/resources/vm"));
        assertEquals(List.of("app", "db"), c.children("groups"));
        c.delete("groups/web"); // already gone: fine
    }

    @Test
    void badKeysAreRefusedWithTheKeyNamed() {
        ZkCoordination c = client(SESSION);
        for (String key : List.of("", "/a", "a/", "a//b", "a/../b", "./a")) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> c.put(key, bytes("x"), -1), key);
            assertTrue(e.getMessage().contains("\"" + key + "\""), e.getMessage());
        }
        assertThrows(InvalidInputException.class,
                () -> new ZkCoordination(zk.connectString(), "havm/relative", SESSION, CONNECT));
    }

    // ------------------------------------------------------------------ connection states

    @Test
    void serverDownSuspendsAndRevokesAtOnceAndBackWithinTheSessionReconnects() {
        ZkCoordination c = client(LONG_SESSION);
        Recorder r = new Recorder();
        c.onConnectionState(r::state);
        c.join("node1", bytes("a"));
        c.elect("node1", r);
        within(5).until(() -> r.has("elected 1"));

        zk.stop();
        within(2).until(() -> r.has("revoked"));
        assertEquals(List.of("state CONNECTED", "elected 1", "state SUSPENDED", "revoked"), r.events,
                "SUSPENDED reaches the engine before the revoked() it causes");

        zk.start();
        within(4).until(() -> r.has("state RECONNECTED"));
        assertFalse(r.has("state LOST"), r.toString());
        // Same session: the member survived, and leading again means a new epoch.
        within(5).until(() -> r.has("elected 2"));
        assertEquals(sorted("node1"), c.members());
        assertTrue(r.threads.stream().allMatch("havm-coordination-events"::equals), r.threads.toString());
    }

    @Test
    void serverDownPastTheSessionTimeoutIsLost() {
        ZkCoordination c = client(SESSION);
        Recorder r = new Recorder();
        c.onConnectionState(r::state);
        c.join("node1", bytes("a"));
        c.elect("node1", r);
        within(5).until(() -> r.has("elected 1"));

        zk.stop();
        within(2).until(() -> r.has("state SUSPENDED"));
        // Curator declares LOST once the session timeout has passed without a connection.
        within(6).until(() -> r.has("state LOST"));
        assertEquals(List.of("state CONNECTED", "elected 1", "state SUSPENDED", "revoked", "state LOST"), r.events);

        zk.start();
        within(5).until(() -> r.inOrder("state LOST", "state RECONNECTED"));
        // A new session: the old one's member znode is expired by the server, and not recreated.
        within(10).until(() -> !c.members().contains("node1"));
        within(10).until(() -> r.has("elected 2"));
    }

    @Test
    void lateListenersHearTheCurrentStateAndMembers() {
        ZkCoordination c = client(SESSION);
        c.join("node1", bytes("a"));
        within(5).until(() -> c.members().equals(sorted("node1")));

        List<ConnectionState> states = new CopyOnWriteArrayList<>();
        List<SortedSet<String>> sets = new CopyOnWriteArrayList<>();
        c.onConnectionState(states::add);
        c.watchMembers(sets::add);
        within(2).until(() -> states.equals(List.of(ConnectionState.CONNECTED)) && sets.equals(List.of(sorted("node1"))));
    }

    @Test
    void noServerMeansNoClientAndAClearMessage() {
        zk.stop();
        CoordinationException e = assertThrows(CoordinationException.class,
                () -> new ZkCoordination(zk.connectString(), ROOT, SESSION, Duration.ofMillis(500)));
        assertTrue(e.getMessage().contains(zk.connectString()), e.getMessage());
    }

    /**
     * An agent must not need ZooKeeper at the moment it starts (a host booting during an outage, a
     * restart while the ensemble is down): its client starts SUSPENDED, every call fails as in an
     * outage, and once the server answers it connects, sets up and joins and leads as any other.
     */
    @Test
    void aClientThatNeedNotWaitStartsSuspendedAndConnectsWhenTheServerAnswers() {
        zk.stop();
        ZkCoordination c = new ZkCoordination(zk.connectString(), ROOT, SESSION, Duration.ofMillis(500), false);
        clients.add(c);
        Recorder r = new Recorder();
        c.onConnectionState(r::state);
        within(2).until(() -> r.has("state SUSPENDED"));
        assertThrows(RuntimeException.class, () -> c.join("node1", bytes("a")));

        zk.start();
        within(10).until(() -> r.has("state CONNECTED"));
        within(10).until(() -> {
            try {
                c.join("node1", bytes("a"));
                return true;
            } catch (RuntimeException e) {
                return false; // the background set-up may still be loading the member list
            }
        });
        within(5).until(() -> c.members().equals(sorted("node1")));
        c.elect("node1", r);
        within(5).until(() -> r.has("elected 1"));
        assertEquals("state SUSPENDED", r.events.get(0), r.toString());
    }

    private static int leaderIndex(List<Recorder> rs) {
        for (int i = 0; i < rs.size(); i++) {
            if (rs.get(i).leading()) {
                return i;
            }
        }
        throw new AssertionError("no leader: " + rs);
    }

    private static SortedSet<String> sorted(String... names) {
        return new java.util.TreeSet<>(List.of(names));
    }
}
