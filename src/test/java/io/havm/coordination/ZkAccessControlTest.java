package io.havm.coordination;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import io.havm.coordination.EmbeddedZooKeeper.Settings;
import io.havm.model.ZkCredentials;
import io.havm.port.Coordination.Op;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * ZooKeeper authentication and ACLs, against a real ZooKeeper server: a cluster that runs with
 * credentials keeps everything it has from a client without them (or with wrong ones): no read,
 * no listing, no create, no write, no delete, no ACL change, no joining, no election; and the
 * tree is byte for byte the same afterwards.
 */
@ExtendWith(QuietZooKeeper.class)
class ZkAccessControlTest {
    private static final String ROOT = "/havm/prod";
    private static final Duration SESSION = Duration.ofSeconds(4);
    private static final Duration CONNECT = Duration.ofSeconds(4);
    private static final ZkCredentials CREDS = new ZkCredentials("havm", "agent-Pa55:w0rd");
    private static final ZkCredentials WRONG = new ZkCredentials("havm", "Wr0ng-Pa55w0rd-xyz");

    @TempDir
    Path tmp;

    private EmbeddedZooKeeper zk;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void startServer() {
        zk = EmbeddedZooKeeper.standalone("127.0.0.1", FreePorts.pick(1)[0], tmp.resolve("zk"), Settings.FAST).start();
    }

    @AfterEach
    void stopAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        zk.close();
    }

    private ZkCoordination client(ZkCredentials credentials) {
        ZkCoordination c = new ZkCoordination(zk.connectString(), ROOT, SESSION, CONNECT, true, credentials);
        toClose.add(c);
        return c;
    }

    /** A plain ZooKeeper client, as an intruder would use, authenticated as {@code who} (null: not at all). */
    private ZooKeeper raw(ZkCredentials who) throws Exception {
        ZooKeeper z = new ZooKeeper(zk.connectString(), 4000, e -> {});
        toClose.add(z::close);
        if (who != null) {
            z.addAuthInfo("digest", (who.user() + ":" + who.password()).getBytes(UTF_8));
        }
        within(10).until(() -> z.getState().isConnected());
        return z;
    }

    private static ConditionFactory within(int seconds) {
        return await().atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(20));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    /** Every znode from {@code top} down: data, versions, ephemeral owner and ACL, by path. */
    private static SortedMap<String, String> snapshot(ZooKeeper admin, String top) throws Exception {
        SortedMap<String, String> out = new TreeMap<>();
        List<String> todo = new ArrayList<>(List.of(top));
        while (!todo.isEmpty()) {
            String p = todo.remove(todo.size() - 1);
            Stat stat = new Stat();
            byte[] data = admin.getData(p, false, stat);
            List<ACL> acl = admin.getACL(p, new Stat());
            out.put(p, "data=" + (data == null ? "-" : Base64.getEncoder().encodeToString(data)) + " version="
                    + stat.getVersion() + " cversion=" + stat.getCversion() + " aversion=" + stat.getAversion()
                    + " ephemeralOwner=" + stat.getEphemeralOwner() + " acl=" + acl);
            for (String k : admin.getChildren(p, false)) {
                todo.add(p + "/" + k);
            }
        }
        return out;
    }

    private static SortedMap<String, List<ACL>> acls(ZooKeeper admin, String top) throws Exception {
        SortedMap<String, List<ACL>> out = new TreeMap<>();
        for (String p : snapshot(admin, top).keySet()) {
            out.put(p, admin.getACL(p, new Stat()));
        }
        return out;
    }

    private interface ZkAttempt {
        void run() throws Exception;
    }

    /** What a client may try on the cluster's tree, each by name. */
    private static Map<String, ZkAttempt> attempts(ZooKeeper z) {
        Map<String, ZkAttempt> a = new LinkedHashMap<>();
        a.put("read a store key", () -> z.getData(ROOT + "/store/config/v1", false, null));
        a.put("read a deep store key", () -> z.getData(ROOT + "/store/nested/deep/key", false, null));
        a.put("read the epoch", () -> z.getData(ROOT + "/epoch", false, null));
        a.put("read a member's info", () -> z.getData(ROOT + "/members/node1", false, null));
        a.put("read the root", () -> z.getData(ROOT, false, null));
        a.put("read /havm", () -> z.getData("/havm", false, null));
        a.put("list the root", () -> z.getChildren(ROOT, false));
        a.put("list /havm", () -> z.getChildren("/havm", false));
        a.put("list the members", () -> z.getChildren(ROOT + "/members", false));
        a.put("list the store", () -> z.getChildren(ROOT + "/store", false));
        a.put("list the election", () -> z.getChildren(ROOT + "/election", false));
        a.put("stat a store key", () -> z.exists(ROOT + "/store/config/v1", false));
        a.put("stat the root", () -> z.exists(ROOT, false));
        a.put("read the root's ACL", () -> z.getACL(ROOT, new Stat()));
        a.put("create a node under the root", () -> z.create(ROOT + "/intruder", bytes("x"),
                ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
        a.put("create a store key", () -> z.create(ROOT + "/store/config/v2", bytes("x"), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.PERSISTENT));
        a.put("create a cluster next to it", () -> z.create("/havm/other", bytes("x"), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.PERSISTENT));
        a.put("join as a member", () -> z.create(ROOT + "/members/intruder", bytes("x"), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.EPHEMERAL));
        a.put("enter the election", () -> z.create(ROOT + "/election/_c_intruder-latch-", bytes("x"),
                ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL_SEQUENTIAL));
        a.put("raise the epoch", () -> z.setData(ROOT + "/epoch", bytes("999"), -1));
        a.put("overwrite a store key", () -> z.setData(ROOT + "/store/config/v1", bytes("evil"), -1));
        a.put("overwrite a member's info", () -> z.setData(ROOT + "/members/node1", bytes("evil"), -1));
        a.put("delete a store key", () -> z.delete(ROOT + "/store/config/v1", -1));
        a.put("delete a member", () -> z.delete(ROOT + "/members/node1", -1));
        a.put("open the root's ACL", () -> z.setACL(ROOT, ZooDefs.Ids.OPEN_ACL_UNSAFE, -1));
        a.put("open a store key's ACL", () -> z.setACL(ROOT + "/store/config/v1", ZooDefs.Ids.OPEN_ACL_UNSAFE, -1));
        a.put("a fenced write, as a coordinator would", () -> z.multi(List.of(
                org.apache.zookeeper.Op.check(ROOT + "/epoch", -1),
                org.apache.zookeeper.Op.setData(ROOT + "/store/config/v1", bytes("evil"), -1))));
        return a;
    }

    @Test
    void aClientWithoutTheClustersCredentialsCanNeitherReadNorChangeAnything() throws Exception {
        // The cluster at work, every client authenticated: members, a leader, the store.
        ZkCoordination a = client(CREDS);
        ZkCoordination b = client(CREDS);
        a.join("node1", bytes("info1"));
        b.join("node2", bytes("info2"));
        Recorder ra = new Recorder();
        a.elect("node1", ra);
        within(10).until(() -> ra.has("elected 1"));
        Recorder rb = new Recorder();
        b.elect("node2", rb);
        a.put("config/v1", bytes("the configuration"), -1);
        a.putFenced("groups/web/owner", bytes("node1"), 1);
        a.commitFenced(List.of(Op.put("nested/deep/key", bytes("deep"))), 1);
        b.watchChildren("commands/node2", () -> {});
        within(10).until(() -> a.members().equals(new java.util.TreeSet<>(Set.of("node1", "node2"))));
        assertArrayEquals(bytes("the configuration"), b.get("config/v1").orElseThrow().value());
        assertArrayEquals(bytes("deep"), b.get("nested/deep/key").orElseThrow().value());

        // Every znode the cluster made, from the parent /havm down to the ephemeral ones, carries
        // exactly one ACL: every right for the cluster's digest user, nothing for anyone else.
        ZooKeeper admin = raw(CREDS);
        SortedMap<String, List<ACL>> acls = acls(admin, "/havm");
        for (String p : List.of("/havm", ROOT, ROOT + "/members", ROOT + "/members/node1", ROOT + "/members/node2",
                ROOT + "/election", ROOT + "/epoch", ROOT + "/store", ROOT + "/store/config/v1",
                ROOT + "/store/groups/web/owner", ROOT + "/store/nested", ROOT + "/store/nested/deep/key",
                ROOT + "/store/commands/node2")) {
            assertTrue(acls.containsKey(p), p + " exists: " + acls.keySet());
        }
        assertEquals(2, acls.keySet().stream().filter(p -> p.startsWith(ROOT + "/election/")).count(),
                "both latch nodes: " + acls.keySet());
        List<ACL> ours = ZkCoordination.acl(CREDS);
        assertEquals(ZooDefs.Perms.ALL, ours.get(0).getPerms());
        assertEquals("digest", ours.get(0).getId().getScheme());
        assertTrue(ours.get(0).getId().getId().startsWith("havm:"), ours.toString());
        acls.forEach((p, acl) -> assertEquals(ours, acl, p));

        SortedMap<String, String> before = snapshot(admin, "/havm");
        for (ZkCredentials who : java.util.Arrays.asList(null, WRONG)) {
            String as = who == null ? "without credentials" : "with a wrong password";
            ZooKeeper intruder = raw(who);
            attempts(intruder).forEach((what, attempt) -> {
                Exception e = assertThrows(Exception.class, attempt::run, what + " " + as);
                assertInstanceOf(KeeperException.NoAuthException.class, e, what + " " + as + ": " + e);
            });
            // What is left: a path that does not exist says so (null, not NoAuth), so names can be probed.
            assertEquals(null, intruder.exists(ROOT + "/store/no-such-key", false));

            // havm's own client, as an agent or an operator without the credentials would run it.
            CoordinationException refused = assertThrows(CoordinationException.class, () -> client(who), as);
            assertInstanceOf(KeeperException.NoAuthException.class, refused.getCause(), refused.toString());
            assertTrue(refused.getMessage().contains(who == null
                    ? "the cluster's znodes are protected by credentials and this client has none"
                    : "refuses user 'havm' on the cluster's root /havm/prod (NoAuth): it is protected by other"
                            + " credentials"), refused.getMessage());
        }
        assertEquals(before, snapshot(admin, "/havm"), "nothing changed");

        // And the cluster carries on as before.
        assertTrue(ra.leading(), ra.toString());
        assertEquals(List.of(1L), ra.epochs());
        assertArrayEquals(bytes("the configuration"), a.get("config/v1").orElseThrow().value());
        b.close();
        within(5).until(() -> a.members().equals(new java.util.TreeSet<>(Set.of("node1"))));
        a.putFenced("config/v1", bytes("v2"), 1);
        assertEquals(1, a.get("config/v1").orElseThrow().version());
    }

    @Test
    void aNewSessionIsAuthenticatedAgainAndItsNodesAreProtectedToo() throws Exception {
        ZkCoordination a = client(CREDS);
        ZkCoordination b = client(CREDS);
        Recorder bState = new Recorder();
        b.onConnectionState(bState::state);
        b.join("node2", bytes("b"));
        within(10).until(() -> a.members().contains("node2"));

        // b's session ends (as after a network cut longer than the session timeout): Curator makes
        // a new ZooKeeper handle, which must carry the credentials again.
        long old = b.curator().getZookeeperClient().getZooKeeper().getSessionId();
        org.apache.zookeeper.ClientSessionLoss.loseSessionWithoutClosingIt(b.curator().getZookeeperClient().getZooKeeper());
        within(15).until(() -> bState.inOrder("state LOST", "state RECONNECTED"));
        assertTrue(b.curator().getZookeeperClient().getZooKeeper().getSessionId() != old);
        within(15).until(() -> !a.members().contains("node2"));

        b.join("node2", bytes("b again"));
        b.put("after/expiry", bytes("written"), -1);
        assertArrayEquals(bytes("written"), a.get("after/expiry").orElseThrow().value());
        ZooKeeper admin = raw(CREDS);
        List<ACL> ours = ZkCoordination.acl(CREDS);
        assertEquals(ours, admin.getACL(ROOT + "/members/node2", new Stat()));
        assertEquals(ours, admin.getACL(ROOT + "/store/after/expiry", new Stat()));
        assertEquals(ours, admin.getACL(ROOT + "/store/after", new Stat()));
    }

    @Test
    void anOpenTreeIsRefusedByAClientWithCredentialsUntilItIsSecuredOnPurpose() throws Exception {
        ZkCoordination open = client(null);
        open.join("node1", bytes("info1"));
        open.put("config/v1", bytes("the configuration"), -1);
        ZooKeeper admin = raw(CREDS); // may read an open tree like anyone
        SortedMap<String, String> before = snapshot(admin, "/havm");

        // Locking it behind the back of an agent that still runs without credentials would cut that
        // agent off at once: refused, with what to do, and nothing created or changed.
        CoordinationException e = assertThrows(CoordinationException.class, () -> client(CREDS));
        assertTrue(e.getMessage().contains("the cluster's root /havm/prod at ZooKeeper " + zk.connectString()
                + " exists open to anyone (world:anyone:cdrwa): it was made by clients without credentials"),
                e.getMessage());
        assertTrue(e.getMessage().contains("give every host the credentials file, then lock the existing tree once"
                + " with 'havm cluster secure'"), e.getMessage());
        assertEquals(before, snapshot(admin, "/havm"), "the refused client changed nothing");
        open.put("config/v2", bytes("still open"), -1);
        open.close();

        int secured = ZkCoordination.secure(zk.connectString(), ROOT, CREDS, CONNECT);
        SortedMap<String, List<ACL>> acls = acls(admin, ROOT);
        assertEquals(acls.size(), secured, "every node under the root, the root included, once: " + acls.keySet());
        List<ACL> ours = ZkCoordination.acl(CREDS);
        acls.forEach((p, acl) -> assertEquals(ours, acl, p));
        assertEquals(ZooDefs.Ids.OPEN_ACL_UNSAFE, admin.getACL("/havm", new Stat()),
                "a parent above the root, which other clusters may share, is left alone");
        assertEquals(0, ZkCoordination.secure(zk.connectString(), ROOT, CREDS, CONNECT), "a second run has nothing to do");

        ZkCoordination a = client(CREDS);
        assertArrayEquals(bytes("the configuration"), a.get("config/v1").orElseThrow().value());
        a.join("node1", bytes("info1"));
        ZooKeeper intruder = raw(null);
        assertThrows(KeeperException.NoAuthException.class, () -> intruder.getData(ROOT + "/store/config/v1", false, null));
        assertThrows(KeeperException.NoAuthException.class, () -> intruder.getChildren(ROOT, false));
        assertThrows(KeeperException.NoAuthException.class, () -> intruder.setData(ROOT + "/epoch", bytes("9"), -1));
        assertThrows(CoordinationException.class, () -> client(null));

        CoordinationException other = assertThrows(CoordinationException.class,
                () -> ZkCoordination.secure(zk.connectString(), ROOT, WRONG, CONNECT));
        assertTrue(other.getMessage().contains("ZooKeeper refuses to list /havm/prod (NoAuth): that node is protected"
                + " by other credentials; nothing was changed"), other.getMessage());
    }

    @Test
    void aWrongPasswordAppearsInNoMessageAndNoLogLine() throws Exception {
        client(CREDS).put("config/v1", bytes("x"), -1);
        Logger rootLogger = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Logger ours = (Logger) LoggerFactory.getLogger("io.havm");
        Logger curator = (Logger) LoggerFactory.getLogger("org.apache.curator");
        Level oursBefore = ours.getLevel();
        Level curatorBefore = curator.getLevel();
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        rootLogger.addAppender(logs);
        ours.setLevel(Level.DEBUG);
        curator.setLevel(Level.DEBUG);
        List<String> texts = new ArrayList<>();
        try {
            Throwable t = assertThrows(CoordinationException.class, () -> client(WRONG));
            for (; t != null; t = t.getCause()) {
                texts.add(t.toString());
            }
            texts.add(String.valueOf(assertThrows(CoordinationException.class,
                    () -> ZkCoordination.secure(zk.connectString(), ROOT, WRONG, CONNECT))));
            ZkCoordination.secure(zk.connectString(), ROOT, CREDS, CONNECT); // logs what it did
        } finally {
            rootLogger.detachAppender(logs);
            ours.setLevel(oursBefore);
            curator.setLevel(curatorBefore);
        }
        texts.add(WRONG.toString());
        texts.add(CREDS.toString());
        for (ILoggingEvent e : logs.list) {
            texts.add(e.getFormattedMessage());
            for (IThrowableProxy p = e.getThrowableProxy(); p != null; p = p.getCause()) {
                texts.add(p.getClassName() + ": " + p.getMessage());
            }
        }
        assertTrue(logs.list.stream().anyMatch(e -> e.getFormattedMessage().contains("secured /havm/prod")),
                "the log was captured");
        for (String s : texts) {
            for (String secret : List.of(WRONG.password(), CREDS.password())) {
                assertFalse(s.contains(secret), s);
                // as a library would print the auth bytes it was given (Curator's AuthInfo.toString)
                String asBytes = java.util.Arrays.toString(("havm:" + secret).getBytes(UTF_8));
                assertFalse(s.contains(asBytes.substring(1, asBytes.length() - 1)), s);
            }
        }
        assertEquals("ZkCredentials[user=havm, password=****]", WRONG.toString());
    }
}
