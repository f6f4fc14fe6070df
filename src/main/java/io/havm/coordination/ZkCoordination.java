package io.havm.coordination;

import io.havm.port.Coordination;
import io.havm.model.InvalidInputException;
import io.havm.model.ZkCredentials;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.BoundedExponentialBackoffRetry;
import org.apache.curator.utils.ZKPaths;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.common.PathUtils;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Coordination} port on Apache ZooKeeper, through Curator.
 *
 * <h2>Layout under the root (e.g. {@code /havm/prod})</h2>
 * <pre>
 *   members/&lt;node&gt;   ephemeral, data = the node's info: gone when its session ends
 *   election/…        Curator LeaderLatch nodes (ephemeral sequential)
 *   epoch             the coordinator epoch as decimal text; only ever raised by compare-and-set
 *   store/&lt;key&gt;      persistent values; keys may contain '/', parents are created as needed
 * </pre>
 *
 * <h2>Goals and constraints</h2>
 * <ul>
 *   <li>At most one coordinator acts at a time, and the store refuses the writes of any coordinator
 *       that has been superseded, even one that does not know it yet (paused, partitioned).</li>
 *   <li>Losing the connection is reported, never hidden, and revokes leadership at once
 *       (SUSPENDED already revokes: a leader that cannot prove it is leader must stop acting).</li>
 *   <li>Every callback into the engine — connection states, member sets, elected/revoked — runs
 *       on one thread ({@code havm-coordination-events}), in the order the events happened, so the
 *       engine sees e.g. SUSPENDED before the revoked() it causes and never elected() after it.</li>
 * </ul>
 *
 * <h2>Algorithm: epochs</h2>
 * When the latch says we lead, a separate thread raises {@code epoch} in one ZooKeeper
 * transaction: {@code check(our latch node exists)} + {@code setData(epoch, e+1, version=v)}.
 * The check makes the raise itself fenced: a latch node is deleted only when its session ends
 * (or by its owner), and nodes ahead of it never come back, so if it still exists we still lead.
 * The version CAS makes the epoch strictly increase across leaders and crashes. Only then is
 * {@link Leadership#elected} called — if leadership has not been lost meanwhile.
 *
 * <p>{@link #putFenced} proves the epoch in the same transaction as the write:
 * {@code check(epoch, version=V)} + create-or-set the key, where V is the epoch znode's version
 * at which it held exactly {@code epoch} (recorded when this instance raised it, else read and
 * compared). A znode version identifies one state of its data, so if the check passes the epoch
 * is still {@code epoch} at the moment of the write; if anyone raised it since, the whole
 * transaction fails and the caller gets a {@link ConflictException}.
 *
 * <h2>Threads and ordering</h2>
 * Callbacks run on {@code havm-coordination-events}, one at a time: do not block in them (a
 * ZooKeeper call inside a callback delays the next SUSPENDED); hand work to your own thread.
 * Guarantees: a state change is delivered before the revoked() it causes; elected(e) is never
 * delivered after a SUSPENDED/LOST unless a RECONNECTED and a fresh win came in between; each
 * elected is followed by exactly one revoked before the next elected. Our connection listener
 * runs first among Curator's ({@link OrderedListeners}); Curator's own order is a hash map's.
 *
 * <h2>Timeouts</h2>
 * Keep the connection timeout at or below the session timeout (Curator warns otherwise). On a
 * partition the client notices after up to 2/3 of the session timeout T (SUSPENDED); the server
 * expires the session, and the survivors see the member vanish, about T after the node's last
 * heartbeat; Curator declares LOST only T after SUSPENDED, i.e. up to about 5/3 T after the last
 * heartbeat — later than the survivors notice. So LOST is too late a trigger for self-fencing:
 * start the self-fence clock at SUSPENDED.
 *
 * <h2>Access control</h2>
 * Without credentials the tree is open, as ZooKeeper makes nodes by default ({@code world:anyone},
 * every right): fine for the lab, not for a cluster whose ZooKeeper others can reach. With
 * {@link ZkCredentials} the client authenticates with the {@code digest} scheme and every znode it
 * creates (the root and the parents it makes above it, members, election, epoch, store, ephemeral
 * nodes alike: one Curator {@link ACLProvider} for all) gets exactly one ACL entry: every right for
 * {@code digest:<user>:<hash>}, nothing for anyone else. A client without them, or with other
 * ones, then gets NoAuth for every read, stat, listing, create, write, delete and ACL change under
 * the root; all it can learn is whether a path exists (a missing one answers "no node", an existing
 * one NoAuth), e.g. the names of the cluster and of its nodes and groups, never a value.
 *
 * <p>An existing root that is open (made by clients without credentials) is <em>refused</em> by a
 * client with credentials, with a message that says so, rather than locked: agents still running
 * without credentials would lose the cluster at once, an outage havm would cause. The operator gives
 * every host the credentials, then locks the tree once with {@link #secure} (every node below the
 * root, the root last). Parents above an existing root (e.g. {@code /havm}, which other clusters may
 * share) are left as they are. The digest password crosses the network in clear: a ZooKeeper
 * reached over an untrusted network needs TLS on its client port as well.
 *
 * <h2>What is not automatic</h2>
 * After LOST the member znode is gone and is <em>not</em> recreated: the engine self-fences, then
 * calls {@link #join} again when it is fit to host VMs. The election, however, is rejoined by the
 * latch on its own after every reconnection; each win yields a fresh, higher epoch.
 */
public final class ZkCoordination implements Coordination {
    private static final Logger LOG = LoggerFactory.getLogger(ZkCoordination.class);

    static final String MEMBERS = "/members";
    static final String STORE = "/store";
    static final String EPOCH = "/epoch";
    static final String ELECTION = "/election";

    /** Backstop for a pipelined read: a lost connection answers every request in flight long before. */
    private static final long PIPELINE_WAIT_MS = 120_000;
    /** Reads per read-only multi (see {@link #multiRead}). */
    private static final int READ_BATCH = 64;
    /**
     * The largest answer this client accepts (its own jute.maxbuffer; the server's, which bounds
     * every value and request, stays ZooKeeper's 1 MiB): a read-only multi of {@link #READ_BATCH}
     * values of up to 1 MiB each, so no answer can ever cut the connection for its size.
     */
    static final int CLIENT_MAX_ANSWER_BYTES = READ_BATCH * (MAX_REQUEST_BYTES + 4096) + (1 << 20);

    /** How long close() waits for the engine's revoked() and the last queued callbacks. */
    private static final long CLOSE_WAIT_MS = 5_000;

    private final String connectString;
    private final String root;
    /** Null: an open tree (no authentication, ZooKeeper's default ACL). */
    private final ZkCredentials credentials;
    private final CuratorFramework client;
    private final CuratorCache membersCache;
    private final List<CuratorCache> watches = new ArrayList<>(); // guarded by electionLock
    private final ExecutorService events;
    private final ExecutorService leadership;
    private volatile Thread eventsThread;

    // ---- state owned by the events thread
    private final List<Consumer<SortedSet<String>>> memberListeners = new ArrayList<>();
    private final List<Consumer<ConnectionState>> stateListeners = new ArrayList<>();
    private SortedSet<String> publishedMembers;
    private ConnectionState deliveredState;
    private long electedEpoch; // 0: not elected

    // ---- shared
    /** Bumped on every loss of leadership; an election result from an older term is void. */
    private final AtomicLong term = new AtomicLong();
    private volatile ConnectionState lastState;
    private volatile EpochStamp lastEpochSet;
    private volatile boolean closed;
    private final CountDownLatch membersReady = new CountDownLatch(1);
    private boolean cacheStarted;
    /** Every session this instance has had, to recognise our own leftovers after LOST. */
    private final java.util.Set<Long> pastSessions = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Object electionLock = new Object();
    private LeaderLatch latch; // guarded by electionLock
    private String candidate; // guarded by electionLock
    private volatile Leadership leadershipListener;

    /** The epoch znode's version at which it held {@code epoch}. */
    private record EpochStamp(long epoch, int version) {}

    /**
     * Connects, and waits for the connection and the member cache.
     *
     * @param connectString {@code host:port,host:port,…} of the ensemble
     * @param root          the cluster's root path, e.g. {@code /havm/prod}
     * @param sessionTimeout requested session timeout (the server clamps it to its min/max,
     *                       2 and 20 ticks by default)
     * @param connectionTimeout how long to wait for the first connection, and for a connection
     *                          before each attempt of an operation
     * @throws CoordinationException if ZooKeeper cannot be reached within {@code connectionTimeout}
     */
    public ZkCoordination(String connectString, String root, Duration sessionTimeout, Duration connectionTimeout) {
        this(connectString, root, sessionTimeout, connectionTimeout, true);
    }

    /**
     * As {@link #ZkCoordination(String, String, Duration, Duration)}; with {@code waitForConnection}
     * false (an agent: it must guard its host whatever ZooKeeper does) an ensemble that does not
     * answer within {@code connectionTimeout} is not an error: the client starts SUSPENDED and
     * connects in the background.
     */
    public ZkCoordination(String connectString, String root, Duration sessionTimeout, Duration connectionTimeout,
            boolean waitForConnection) {
        this(connectString, root, sessionTimeout, connectionTimeout, waitForConnection, null);
    }

    /**
     * As {@link #ZkCoordination(String, String, Duration, Duration, boolean)}, authenticated: with
     * {@code credentials} every znode this client creates is protected by them (see "Access
     * control" above), and an existing root open to anyone is refused (see {@link #secure}).
     *
     * @param credentials the cluster's digest credentials ({@code Secrets.zkCredentials(file)}); null:
     *                    none, an open tree as before
     * @throws CoordinationException also when ZooKeeper refuses these credentials, or the root exists
     *                               open to anyone
     */
    public ZkCoordination(String connectString, String root, Duration sessionTimeout, Duration connectionTimeout,
            boolean waitForConnection, ZkCredentials credentials) {
        if (connectString == null || connectString.isBlank()) {
            throw new InvalidInputException("coordination connect string", "must list host:port[,host:port…]");
        }
        this.connectString = connectString;
        this.root = validRoot(root);
        this.credentials = credentials;
        this.events = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "havm-coordination-events");
            t.setDaemon(true);
            eventsThread = t;
            return t;
        });
        this.leadership = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "havm-coordination-leadership");
            t.setDaemon(true);
            return t;
        });
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder();
        if (credentials != null) {
            authenticate(builder, credentials);
        }
        this.client = builder
                .connectString(connectString)
                .namespace(this.root.substring(1))
                .sessionTimeoutMs(Math.toIntExact(sessionTimeout.toMillis()))
                .connectionTimeoutMs(Math.toIntExact(connectionTimeout.toMillis()))
                // A few quick retries absorb a server switch; longer outages surface as exceptions
                // and as SUSPENDED, which the engine must see rather than wait through.
                .retryPolicy(new BoundedExponentialBackoffRetry(100, 1000, 3))
                // The operator's connect string is the truth: do not rewrite it from /zookeeper/config.
                .ensembleTracker(false)
                // Listeners in registration order: ours first, so SUSPENDED precedes revoked().
                .connectionStateListenerManagerFactory(c -> new OrderedListeners<>())
                .zkClientConfig(clientConfig())
                .build();
        // Registered before start() so CONNECTED is seen, and before any latch so that SUSPENDED
        // reaches the engine ahead of the revoked() it causes.
        client.getConnectionStateListenable().addListener((c, s) -> onCuratorState(s));
        this.membersCache = CuratorCache.build(client, MEMBERS);
        membersCache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, before, after) -> post(this::publishMembers))
                .forInitialized(() -> {
                    membersReady.countDown();
                    post(this::publishMembers);
                })
                .build());
        try {
            client.start();
            if (!client.blockUntilConnected(Math.toIntExact(connectionTimeout.toMillis()), TimeUnit.MILLISECONDS)) {
                String why = "no connection to ZooKeeper at " + connectString + " within " + connectionTimeout.toMillis()
                        + " ms";
                if (waitForConnection) {
                    throw new CoordinationException(why);
                }
                // Cut off from the start: said as SUSPENDED to every listener; the set-up runs once
                // the ensemble answers, and until then every call fails as it would in an outage.
                LOG.warn("{}: going on cut off; connecting in the background", why);
                post(() -> {
                    if (deliveredState == null) { // unless Curator connected in between
                        lastState = ConnectionState.SUSPENDED;
                        deliveredState = ConnectionState.SUSPENDED;
                    }
                });
                Thread t = new Thread(this::setUpOnceConnected, "havm-coordination-setup");
                t.setDaemon(true);
                t.start();
                return;
            }
            setUp(connectionTimeout);
        } catch (Exception e) {
            close();
            throw failure("connecting", e);
        }
    }

    /** The paths this client needs, and the member cache loaded. */
    private void setUp(Duration timeout) throws Exception {
        if (credentials != null) {
            checkRoot(); // first: nothing may be created under a root we refuse
        }
        ensurePath(MEMBERS);
        ensurePath(STORE);
        try {
            client.create().forPath(EPOCH, encode(0));
        } catch (KeeperException.NodeExistsException e) {
            // another node made it first
        }
        if (!cacheStarted) {
            membersCache.start();
            cacheStarted = true;
        }
        if (!membersReady.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new CoordinationException("member list at " + where(MEMBERS) + " not loaded within "
                    + timeout.toMillis() + " ms");
        }
    }

    /** Its own thread, for a client that started cut off: the set-up, as soon as the ensemble answers. */
    private void setUpOnceConnected() {
        while (!closed) {
            try {
                if (client.blockUntilConnected(1, TimeUnit.SECONDS)) {
                    setUp(Duration.ofSeconds(10));
                    LOG.info("connected to ZooKeeper at {}", connectString);
                    return;
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (closed) {
                    return;
                }
                LOG.warn("setting up at ZooKeeper {} failed: {}; trying again", connectString, e.toString());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** ZooKeeper's client settings from the system properties, with room for {@link #multiRead}'s answers. */
    private static org.apache.zookeeper.client.ZKClientConfig clientConfig() {
        org.apache.zookeeper.client.ZKClientConfig c = new org.apache.zookeeper.client.ZKClientConfig();
        if (c.getInt(org.apache.zookeeper.common.ZKConfig.JUTE_MAXBUFFER, 0) < CLIENT_MAX_ANSWER_BYTES) {
            c.setProperty(org.apache.zookeeper.common.ZKConfig.JUTE_MAXBUFFER, Integer.toString(CLIENT_MAX_ANSWER_BYTES));
        }
        return c;
    }

    // ------------------------------------------------------------------ access control

    /** Digest authentication, and this credential's ACL on every znode the client creates. */
    private static void authenticate(CuratorFrameworkFactory.Builder builder, ZkCredentials credentials) {
        List<ACL> acl = acl(credentials);
        builder.authorization("digest", (credentials.user() + ":" + credentials.password()).getBytes(StandardCharsets.UTF_8))
                .aclProvider(new ACLProvider() {
                    @Override
                    public List<ACL> getDefaultAcl() {
                        return acl;
                    }

                    @Override
                    public List<ACL> getAclForPath(String path) {
                        return acl;
                    }
                });
    }

    /** Every right for {@code digest:<user>:<hash of user:password>}, nothing for anyone else. */
    static List<ACL> acl(ZkCredentials credentials) {
        try {
            String id = DigestAuthenticationProvider.generateDigest(credentials.user() + ":" + credentials.password());
            // Not List.of: ZooKeeper asks the list contains(null), which an immutable List.of throws on.
            return Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("digest", id)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("ZooKeeper's digest algorithm is missing from this JVM: " + e.getMessage());
        }
    }

    /**
     * The root (created by this call, through Curator's namespace, if it did not exist: then with our
     * ACL) must give our credential every right and nobody else any: an existing open tree is not
     * ours to lock behind the backs of clients still using it (see {@link #secure}).
     */
    private void checkRoot() throws Exception {
        List<ACL> found;
        try {
            try {
                found = client.getACL().forPath("/");
            } catch (KeeperException.NoNodeException e) {
                // A new cluster (Curator makes the namespace on a create, not on getACL): made now,
                // with our ACL, then checked like any, in case another client made it first, open.
                ensurePath(MEMBERS);
                found = client.getACL().forPath("/");
            }
        } catch (KeeperException.NoAuthException e) {
            throw new CoordinationException("ZooKeeper " + connectString + " refuses user '" + credentials.user()
                    + "' on the cluster's root " + root + " (NoAuth): it is protected by other credentials; give this"
                    + " host the credentials file the cluster was secured with (user:password)", e);
        }
        if (found.stream().anyMatch(a -> a.getId().equals(ZooDefs.Ids.ANYONE_ID_UNSAFE) && a.getPerms() != 0)) {
            throw new CoordinationException("the cluster's root " + root + " at ZooKeeper " + connectString
                    + " exists open to anyone (" + describe(found) + "): it was made by clients without credentials."
                    + " havm does not lock it on its own, since agents still running without credentials would lose"
                    + " the cluster at once: give every host the credentials file, then lock the existing tree once"
                    + " with 'havm cluster secure' (ZkCoordination.secure); or run without credentials as before");
        }
        List<ACL> ours = acl(credentials);
        if (found.stream().noneMatch(a -> a.getId().equals(ours.get(0).getId()) && a.getPerms() == ZooDefs.Perms.ALL)) {
            throw new CoordinationException("the cluster's root " + root + " at ZooKeeper " + connectString
                    + " does not give user '" + credentials.user() + "' every right (its ACL: " + describe(found)
                    + "): it was set by hand or for other credentials; give this host the credentials the cluster"
                    + " was secured with, or set the ACL again with 'havm cluster secure'");
        }
    }

    /**
     * Locks an existing tree: puts the ACL of {@code credentials} (every right for them, none for
     * anyone else) on every znode under {@code root}, children before parents and the root last,
     * then walks again until a walk changes nothing (a node created by an open client during a
     * walk is caught by the next one; once the root is locked, nobody without the credentials can
     * create anything). Nodes that already carry exactly this ACL are left alone, so it is
     * idempotent and can be rerun after an interruption. Parents above the root are not touched
     * (other clusters may share them). A missing root is nothing to secure.
     *
     * <p>Clients still connected without credentials lose every access when their nodes are
     * locked: give every host the credentials first (clients with credentials work on an open tree,
     * but refuse to start on one: {@link #checkRoot}).
     *
     * @return how many znodes got the ACL
     * @throws CoordinationException if ZooKeeper cannot be reached, or a znode is protected by
     *                               other credentials (named)
     */
    public static int secure(String connectString, String root, ZkCredentials credentials, Duration timeout) {
        validRoot(root);
        java.util.Objects.requireNonNull(credentials, "credentials");
        List<ACL> acl = acl(credentials);
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder();
        authenticate(builder, credentials);
        try (CuratorFramework c = builder.connectString(connectString)
                .sessionTimeoutMs(Math.toIntExact(Math.max(timeout.toMillis(), 2000)))
                .connectionTimeoutMs(Math.toIntExact(timeout.toMillis()))
                .retryPolicy(new BoundedExponentialBackoffRetry(100, 1000, 3))
                .ensembleTracker(false)
                .build()) {
            c.start();
            if (!c.blockUntilConnected(Math.toIntExact(timeout.toMillis()), TimeUnit.MILLISECONDS)) {
                throw new CoordinationException("no connection to ZooKeeper at " + connectString + " within "
                        + timeout.toMillis() + " ms");
            }
            int total = 0;
            for (int walk = 0; walk < 10; walk++) {
                int changed = 0;
                for (String path : childrenFirst(c, root)) {
                    String at = connectString + " " + path;
                    try {
                        if (!c.getACL().forPath(path).equals(acl)) {
                            c.setACL().withACL(acl).forPath(path);
                            changed++;
                        }
                    } catch (KeeperException.NoNodeException e) {
                        // gone meanwhile (an ephemeral node, a deleted key): nothing to lock
                    } catch (KeeperException.NoAuthException e) {
                        throw new CoordinationException("securing " + root + ": ZooKeeper refuses user '"
                                + credentials.user() + "' on " + at + " (NoAuth): that node is protected by other"
                                + " credentials; the nodes below it are locked already, the root not yet: fix that"
                                + " node's ACL (or use the credentials it has) and run again", e);
                    }
                }
                total += changed;
                if (changed == 0) {
                    LOG.info("secured {} at ZooKeeper {}: {} znodes got the ACL of user '{}'", root, connectString,
                            total, credentials.user());
                    return total;
                }
            }
            throw new CoordinationException("securing " + root + " at ZooKeeper " + connectString + ": znodes kept"
                    + " appearing without the ACL after 10 walks: stop the clients that run without credentials");
        } catch (CoordinationException e) {
            throw e;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new CoordinationException("securing " + root + " at ZooKeeper " + connectString + " failed: " + e, e);
        }
    }

    /** Every znode of the subtree at {@code top} (absolute paths), each after all of its descendants. */
    private static List<String> childrenFirst(CuratorFramework c, String top) throws Exception {
        List<String> preorder = new ArrayList<>();
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(List.of(top));
        while (!todo.isEmpty()) {
            String p = todo.pop();
            List<String> kids;
            try {
                kids = c.getChildren().forPath(p);
            } catch (KeeperException.NoNodeException e) {
                continue;
            } catch (KeeperException.NoAuthException e) {
                throw new CoordinationException("securing " + top + ": ZooKeeper refuses to list " + p
                        + " (NoAuth): that node is protected by other credentials; nothing was changed", e);
            }
            preorder.add(p);
            for (String k : kids) {
                todo.push(ZKPaths.makePath(p, k));
            }
        }
        // Preorder puts every node before its descendants: reversed, after them.
        Collections.reverse(preorder);
        return preorder;
    }

    /** An ACL for a message: scheme:id:rights, with a digest's hash left out (it can be attacked offline). */
    static String describe(List<ACL> acl) {
        List<String> out = new ArrayList<>();
        for (ACL a : acl) {
            String id = a.getId().getId();
            if (a.getId().getScheme().equals("digest") && id.indexOf(':') >= 0) {
                id = id.substring(0, id.indexOf(':'));
            }
            StringBuilder rights = new StringBuilder();
            int[] bits = {ZooDefs.Perms.CREATE, ZooDefs.Perms.DELETE, ZooDefs.Perms.READ, ZooDefs.Perms.WRITE,
                ZooDefs.Perms.ADMIN};
            String letters = "cdrwa";
            for (int i = 0; i < bits.length; i++) {
                if ((a.getPerms() & bits[i]) != 0) {
                    rights.append(letters.charAt(i));
                }
            }
            out.add(a.getId().getScheme() + ":" + id + ":" + (rights.length() == 0 ? "-" : rights));
        }
        return String.join(", ", out);
    }

    // ------------------------------------------------------------------ membership

    @Override
    public void join(String node, byte[] info) {
        join(node, info, false);
    }

    @Override
    public void rejoin(String node, byte[] info) {
        join(node, info, true);
    }

    private void join(String node, byte[] info, boolean replaceOurs) {
        String path = MEMBERS + "/" + validName("node name", node);
        byte[] data = Objects.requireNonNull(info, "info");
        call("join as " + node, () -> {
            for (int attempt = 0; attempt < 3; attempt++) {
                try {
                    client.create().withMode(CreateMode.EPHEMERAL).forPath(path, data);
                    return null;
                } catch (KeeperException.NodeExistsException e) {
                    Stat stat = client.checkExists().forPath(path);
                    if (stat == null) {
                        continue; // vanished in between: try again
                    }
                    long ours = client.getZookeeperClient().getZooKeeper().getSessionId();
                    if (stat.getEphemeralOwner() == ours) {
                        client.setData().forPath(path, data);
                        return null;
                    }
                    String owner = "0x" + Long.toHexString(stat.getEphemeralOwner());
                    if (replaceOurs && pastSessions.contains(stat.getEphemeralOwner())) {
                        // Ours, from a session the server has not expired yet (a restarted server
                        // restores old sessions and expires them later). One transaction swaps it
                        // for one of this session: the node never vanishes from the members, so
                        // nobody takes that old session's end for this node's loss.
                        try {
                            client.transaction().forOperations(
                                    client.transactionOp().delete().withVersion(stat.getVersion()).forPath(path),
                                    client.transactionOp().create().withMode(CreateMode.EPHEMERAL).forPath(path, data));
                            return null;
                        } catch (KeeperException.NoNodeException | KeeperException.BadVersionException
                                | KeeperException.NodeExistsException e2) {
                            continue; // it expired or changed in between: look again
                        }
                    }
                    if (pastSessions.contains(stat.getEphemeralOwner())) {
                        // Not replaced on purpose: the survivors must see every session loss as a
                        // gap in membership, or they would never recover the VMs we self-fenced.
                        throw new ConflictException("node " + node + " is still registered by this agent's previous"
                                + " ZooKeeper session " + owner + ", which the server has not expired yet: join again"
                                + " once it has (within the session timeout)");
                    }
                    throw new ConflictException("node " + node + " is already a member under another ZooKeeper session ("
                            + owner + "): another agent runs as " + node
                            + ", or the previous one stopped less than a session timeout ago");
                }
            }
            throw new CoordinationException("member znode " + where(path) + " keeps appearing and vanishing");
        });
    }

    /**
     * The candidate that leads the election now, read from the election's latch nodes (Curator's
     * LeaderLatch: the lowest sequence number leads; each node's data is its candidate's name), or
     * empty when none takes part. What a client that is no candidate asks to learn which node's
     * agent coordinates ({@code havm drill}'s {coordinator: true}); the leader acts as coordinator
     * once it has raised the epoch, a moment after.
     */
    public Optional<String> leader() {
        return call("reading the election", () -> {
            List<String> latches;
            try {
                latches = client.getChildren().forPath(ELECTION);
            } catch (KeeperException.NoNodeException e) {
                return Optional.empty();
            }
            List<String> sorted = latches.stream().filter(n -> n.contains(LATCH))
                    .sorted(java.util.Comparator.comparing(n -> n.substring(n.lastIndexOf(LATCH) + LATCH.length())))
                    .toList();
            for (String first : sorted) {
                try {
                    byte[] who = client.getData().forPath(ZKPaths.makePath(ELECTION, first));
                    return Optional.of(new String(who, java.nio.charset.StandardCharsets.UTF_8));
                } catch (KeeperException.NoNodeException gone) {
                    // that candidate just left: the next one leads
                }
            }
            return Optional.<String>empty();
        });
    }

    /** The name part of Curator's LeaderLatch nodes, before their sequence number. */
    private static final String LATCH = "latch-";

    /** Live members as of the last event the cache received (stale while SUSPENDED), sorted. */
    @Override
    public SortedSet<String> members() {
        TreeSet<String> names = new TreeSet<>();
        membersCache.stream()
                .map(ChildData::getPath)
                .map(ZKPaths::getPathAndNode)
                .filter(pn -> pn.getPath().equals(MEMBERS))
                .forEach(pn -> names.add(pn.getNode()));
        return Collections.unmodifiableSortedSet(names);
    }

    /**
     * Calls {@code listener} on the events thread: at once with the current set, then after every
     * change (consecutive duplicates are dropped).
     */
    @Override
    public void watchMembers(Consumer<SortedSet<String>> listener) {
        Objects.requireNonNull(listener, "listener");
        post(() -> {
            memberListeners.add(listener);
            if (publishedMembers != null) {
                safely("member listener", () -> listener.accept(publishedMembers));
            }
        });
    }

    /** Events thread. */
    private void publishMembers() {
        if (membersReady.getCount() > 0) {
            return; // half-loaded cache: wait for the whole list
        }
        SortedSet<String> now = members();
        if (now.equals(publishedMembers)) {
            return;
        }
        publishedMembers = now;
        for (Consumer<SortedSet<String>> l : memberListeners) {
            safely("member listener", () -> l.accept(now));
        }
    }

    // ------------------------------------------------------------------ election

    /**
     * Joins the election. {@code listener} is called on the events thread; elected(epoch) only
     * after the epoch is durably raised, revoked() as soon as the latch is lost, the connection is
     * SUSPENDED or LOST, or this instance is closed. Callable once per instance.
     */
    @Override
    public void elect(String node, Leadership listener) {
        validName("node name", node);
        Objects.requireNonNull(listener, "listener");
        synchronized (electionLock) {
            if (closed) {
                throw new IllegalStateException("coordination client is closed");
            }
            if (latch != null) {
                throw new IllegalStateException("already taking part in the election as " + candidate);
            }
            candidate = node;
            leadershipListener = listener;
            startLatch();
        }
    }

    /** Holds electionLock. */
    private void startLatch() {
        LeaderLatch l = new LeaderLatch(client, ELECTION, candidate, LeaderLatch.CloseMode.SILENT);
        // Direct executor: these run on Curator's threads and only enqueue work.
        l.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                long t = term.get();
                submitLeadership(() -> takeOffice(l, t));
            }

            @Override
            public void notLeader() {
                leadershipLost();
            }
        });
        latch = l;
        try {
            l.start();
        } catch (Exception e) {
            throw failure("joining the election", e);
        }
    }

    /** Leadership thread: raise the epoch, then announce it if still leading. */
    private void takeOffice(LeaderLatch l, long t) {
        if (closed || term.get() != t || !l.hasLeadership()) {
            return;
        }
        String ourPath = l.getOurPath();
        if (ourPath == null) {
            return;
        }
        long epoch;
        try {
            epoch = raiseEpoch(ourPath);
        } catch (Exception e) {
            if (closed) {
                return;
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                return;
            }
            LOG.warn("won the election at {} but could not raise the epoch: {}", where(ELECTION), e.toString());
            if (!isConnectionProblem(e)) {
                // Leading without an epoch would leave the cluster with no coordinator: step down.
                requeue(l);
            }
            // A connection problem brings SUSPENDED; the latch re-checks when it reconnects.
            return;
        }
        if (epoch < 0) {
            return; // our latch node is gone: leadership already lost
        }
        post(() -> {
            if (!closed && term.get() == t && l.hasLeadership() && mayAct()) {
                revokeIfElected(); // never two elected() in a row, whatever the latch did
                electedEpoch = epoch;
                Leadership listener = leadershipListener;
                safely("leadership listener", () -> listener.elected(epoch));
            }
        });
    }

    /**
     * Raises the epoch by one, atomically with a check that our latch node still exists.
     *
     * @return the new epoch, or -1 if our latch node is gone (we no longer lead)
     */
    private long raiseEpoch(String ourPath) throws Exception {
        for (int attempt = 0; attempt < 10; attempt++) {
            Stat stat = new Stat();
            long next = parseEpoch(client.getData().storingStatIn(stat).forPath(EPOCH)) + 1;
            try {
                List<CuratorTransactionResult> results = client.transaction().forOperations(
                        client.transactionOp().check().forPath(ourPath),
                        client.transactionOp().setData().withVersion(stat.getVersion()).forPath(EPOCH, encode(next)));
                lastEpochSet = new EpochStamp(next, results.get(1).getResultStat().getVersion());
                return next;
            } catch (KeeperException e) {
                int failed = failedOp(e);
                if (failed == 0) {
                    return -1;
                }
                if (failed == 1 && e.code() == KeeperException.Code.BADVERSION) {
                    continue; // raised by someone else in between (or by our own retried attempt): read again
                }
                throw e;
            }
        }
        throw new CoordinationException("the epoch at " + where(EPOCH) + " kept changing while we raised it");
    }

    /** Leadership thread: give up the latch and queue again (after a failure to take office). */
    private void requeue(LeaderLatch l) {
        synchronized (electionLock) {
            if (closed || latch != l) {
                return;
            }
            closeQuietly(l);
            leadershipLost();
            startLatch();
        }
    }

    /** Any thread: leadership is gone; results of the current term are void. */
    private void leadershipLost() {
        term.incrementAndGet();
        post(this::revokeIfElected);
    }

    /** Events thread. */
    private void revokeIfElected() {
        if (electedEpoch != 0) {
            electedEpoch = 0;
            Leadership listener = leadershipListener;
            safely("leadership listener", listener::revoked);
        }
    }

    @Override
    public long currentEpoch() {
        return call("reading the epoch", () -> parseEpoch(client.getData().forPath(EPOCH)));
    }

    // ------------------------------------------------------------------ store

    @Override
    public Optional<Versioned> get(String key) {
        String path = storePath(key);
        return call("reading " + key, () -> {
            Stat stat = new Stat();
            try {
                byte[] data = client.getData().storingStatIn(stat).forPath(path);
                return Optional.of(new Versioned(data == null ? new byte[0] : data, stat.getVersion()));
            } catch (KeeperException.NoNodeException e) {
                return Optional.empty();
            }
        });
    }

    /** Child keys of {@code key} (the empty key: top-level keys), sorted; none if it does not exist. */
    @Override
    public List<String> children(String key) {
        String path = key != null && key.isEmpty() ? STORE : storePath(key);
        return call("listing " + key, () -> {
            try {
                List<String> names = new ArrayList<>(client.getChildren().forPath(path));
                Collections.sort(names);
                return List.copyOf(names);
            } catch (KeeperException.NoNodeException e) {
                return List.of();
            }
        });
    }

    /** {@inheritDoc} One getChildren, then one getData per child, all in flight at once. */
    @Override
    public SortedMap<String, Versioned> getAll(String parent) {
        String path = storePath(parent);
        return call("reading everything under " + parent, () -> {
            List<String> names;
            try {
                names = client.getChildren().forPath(path);
            } catch (KeeperException.NoNodeException e) {
                return Collections.emptySortedMap();
            }
            List<String> paths = new ArrayList<>(names.size());
            for (String n : names) {
                paths.add(path + "/" + n);
            }
            List<OpResult> results = multiRead(paths, org.apache.zookeeper.Op::getData);
            SortedMap<String, Versioned> out = new TreeMap<>();
            for (int i = 0; i < names.size(); i++) {
                if (results.get(i) instanceof OpResult.GetDataResult r) {
                    out.put(names.get(i), new Versioned(r.getData() == null ? new byte[0] : r.getData(), r.getStat().getVersion()));
                }
            }
            return out;
        });
    }

    /** {@inheritDoc} The reads go in read-only multis, all in flight at once. */
    @Override
    public java.util.Map<String, Versioned> getMany(List<String> keys) {
        return call("reading " + keys.size() + " keys", () -> {
            List<String> paths = new ArrayList<>(keys.size());
            for (String k : keys) {
                paths.add(storePath(k));
            }
            List<OpResult> results = multiRead(paths, org.apache.zookeeper.Op::getData);
            java.util.Map<String, Versioned> out = new java.util.LinkedHashMap<>();
            for (int i = 0; i < keys.size(); i++) {
                if (results.get(i) instanceof OpResult.GetDataResult r) {
                    out.put(keys.get(i), new Versioned(r.getData() == null ? new byte[0] : r.getData(),
                            r.getStat().getVersion()));
                }
            }
            return out;
        });
    }

    /**
     * {@inheritDoc}
     *
     * <p>A key that is a parent of other keys exists with an empty value. After a connection blip a
     * create may report a conflict although its own first attempt landed: re-read before retrying.
     */
    @Override
    public int put(String key, byte[] value, int expectedVersion) {
        String path = storePath(key);
        Objects.requireNonNull(value, "value");
        if (expectedVersion < -1) {
            throw new InvalidInputException("expected version of " + key, expectedVersion
                    + " is not a version: use -1 to create, or the version last read");
        }
        Coordination.checkRequest(List.of(Op.put(key, value)));
        return call("writing " + key, () -> {
            if (expectedVersion == -1) {
                try {
                    client.create().creatingParentsIfNeeded().forPath(path, value);
                    return 0;
                } catch (KeeperException.NodeExistsException e) {
                    throw new ConflictException("key " + key + " already exists (create expects it absent)");
                }
            }
            try {
                return client.setData().withVersion(expectedVersion).forPath(path, value).getVersion();
            } catch (KeeperException.BadVersionException e) {
                throw new ConflictException("key " + key + " is no longer at version " + expectedVersion);
            } catch (KeeperException.NoNodeException e) {
                throw new ConflictException("key " + key + " does not exist (expected version " + expectedVersion + ")");
            }
        });
    }

    @Override
    public void putFenced(String key, byte[] value, long epoch) {
        commitFenced(List.of(Op.put(key, value)), epoch);
    }

    /**
     * {@inheritDoc}
     *
     * <p>One ZooKeeper multi: {@code check(epoch, version=V)} as in {@link #putFenced} (see the
     * class comment), then per operation a create (after its missing parents, outermost first: a
     * stale leader must not leave even empty keys behind) or a setData, or a delete. Which keys
     * exist is read first (read-only multis); if one appears or vanishes before the multi lands, the multi
     * fails whole and is prepared again.
     */
    @Override
    public void commitFenced(List<Op> ops, long epoch) {
        List<Op> list = List.copyOf(ops);
        Coordination.checkRequest(list);
        if (list.isEmpty()) {
            return;
        }
        List<String> paths = new ArrayList<>(list.size());
        for (Op op : list) {
            paths.add(storePath(op.key()));
        }
        String what = list.size() == 1 ? "writing " + list.get(0).key() : "writing " + list.size() + " keys";
        call(what + " under epoch " + epoch, () -> {
            int epochVersion = versionOfEpoch(epoch);
            for (int attempt = 0; attempt < 5; attempt++) {
                java.util.Set<String> present = existing(paths);
                List<CuratorOp> tx = new ArrayList<>(list.size() + 2);
                tx.add(client.transactionOp().check().withVersion(epochVersion).forPath(EPOCH));
                for (int i = 0; i < list.size(); i++) {
                    String path = paths.get(i);
                    if (list.get(i) instanceof Op.Put put) {
                        if (present.contains(path)) {
                            tx.add(client.transactionOp().setData().forPath(path, put.value()));
                            continue;
                        }
                        List<String> parents = new ArrayList<>();
                        for (String p = parentOf(path); !p.equals(STORE) && !present.contains(p); p = parentOf(p)) {
                            parents.add(0, p);
                        }
                        for (String parent : parents) {
                            tx.add(client.transactionOp().create().forPath(parent, new byte[0]));
                            present.add(parent);
                        }
                        tx.add(client.transactionOp().create().forPath(path, put.value()));
                        present.add(path);
                    } else if (present.remove(path)) {
                        tx.add(client.transactionOp().delete().forPath(path));
                    }
                }
                if (tx.size() == 1) {
                    return null; // only deletes of keys already gone
                }
                try {
                    client.transaction().forOperations(tx);
                    return null;
                } catch (KeeperException e) {
                    int failed = failedOp(e);
                    if (failed == 0) {
                        throw staleEpoch(epoch);
                    }
                    if (failed > 0 && (e.code() == KeeperException.Code.NODEEXISTS || e.code() == KeeperException.Code.NONODE)) {
                        continue; // created or deleted by someone else in between: choose again
                    }
                    throw e;
                }
            }
            throw new CoordinationException("keys under " + where(STORE) + " keep being created and deleted under us");
        });
    }

    /** The epoch znode's version while it holds {@code epoch}; ConflictException if it does not. */
    private int versionOfEpoch(long epoch) throws Exception {
        if (epoch < 1) {
            throw new ConflictException("epoch " + epoch + " was never a coordinator's (epochs start at 1)");
        }
        EpochStamp stamp = lastEpochSet;
        if (stamp != null && stamp.epoch() == epoch) {
            return stamp.version();
        }
        Stat stat = new Stat();
        long current = parseEpoch(client.getData().storingStatIn(stat).forPath(EPOCH));
        if (current != epoch) {
            throw staleEpoch(epoch, current);
        }
        return stat.getVersion();
    }

    private ConflictException staleEpoch(long epoch) {
        long now;
        try {
            now = parseEpoch(client.getData().forPath(EPOCH));
        } catch (Exception e) {
            return new ConflictException("epoch " + epoch + " is no longer current");
        }
        return staleEpoch(epoch, now);
    }

    private static ConflictException staleEpoch(long epoch, long current) {
        return new ConflictException("epoch " + epoch + " is no longer current (current epoch is " + current + ")");
    }

    /**
     * {@inheritDoc} An ephemeral {@code key} of another session (an agent before this one) is
     * replaced by one of this session.
     */
    @Override
    public void putEphemeral(String key, byte[] value) {
        String path = storePath(key);
        Objects.requireNonNull(value, "value");
        Coordination.checkRequest(List.of(Op.put(key, value)));
        call("writing " + key + " (ephemeral)", () -> {
            for (int attempt = 0; attempt < 3; attempt++) {
                try {
                    client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(path, value);
                    return null;
                } catch (KeeperException.NodeExistsException e) {
                    Stat stat = client.checkExists().forPath(path);
                    if (stat == null) {
                        continue; // vanished in between: create it again
                    }
                    long ours = client.getZookeeperClient().getZooKeeper().getSessionId();
                    try {
                        if (stat.getEphemeralOwner() == ours) {
                            client.setData().withVersion(stat.getVersion()).forPath(path, value);
                        } else {
                            client.delete().withVersion(stat.getVersion()).forPath(path);
                            continue;
                        }
                        return null;
                    } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e2) {
                        continue; // changed in between: look again
                    }
                }
            }
            throw new CoordinationException("ephemeral key " + where(path) + " keeps changing under us");
        });
    }

    /** Deletes the key and everything under it; a missing key is not an error. */
    @Override
    public void delete(String key) {
        String path = storePath(key);
        call("deleting " + key, () -> {
            try {
                client.delete().deletingChildrenIfNeeded().forPath(path);
            } catch (KeeperException.NoNodeException e) {
                // already gone
            }
            return null;
        });
    }

    /**
     * A CuratorCache on the key's subtree (a persistent recursive watch, re-set by Curator after
     * reconnects and new sessions); {@code onChange} runs on the events thread.
     */
    @Override
    public void watchChildren(String key, Runnable onChange) {
        Objects.requireNonNull(onChange, "onChange");
        String path = storePath(key);
        try {
            if (client.getZookeeperClient().isConnected()) { // cut off: never block a start on it
                ensurePath(path);
            }
        } catch (Exception e) {
            if (!isConnectionProblem(e)) {
                throw failure("watching " + key, e);
            }
            // Cut off (an agent that starts during an outage): the cache loads the subtree once
            // connected, and hears of the path's creation if it is still missing then.
        }
        CuratorCache cache = CuratorCache.build(client, path);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, before, after) -> post(() -> safely("watch on " + key, onChange)))
                .build());
        synchronized (electionLock) {
            if (closed) {
                return;
            }
            watches.add(cache);
        }
        cache.start();
    }

    // ------------------------------------------------------------------ connection

    /**
     * Calls {@code listener} on the events thread: at once with the last state delivered (if any),
     * then on every change. READ_ONLY counts as SUSPENDED.
     */
    @Override
    public void onConnectionState(Consumer<ConnectionState> listener) {
        Objects.requireNonNull(listener, "listener");
        post(() -> {
            stateListeners.add(listener);
            if (deliveredState != null) {
                ConnectionState s = deliveredState;
                safely("connection listener", () -> listener.accept(s));
            }
        });
    }

    /** Curator's ConnectionStateManager thread. */
    private void onCuratorState(org.apache.curator.framework.state.ConnectionState curatorState) {
        ConnectionState s = map(curatorState);
        lastState = s;
        if (curatorState.isConnected()) {
            try {
                pastSessions.add(client.getZookeeperClient().getZooKeeper().getSessionId());
            } catch (Exception e) {
                LOG.debug("reading the session id", e);
            }
        }
        post(() -> {
            deliveredState = s;
            for (Consumer<ConnectionState> l : stateListeners) {
                safely("connection listener", () -> l.accept(s));
            }
        });
        if (s == ConnectionState.SUSPENDED || s == ConnectionState.LOST) {
            // Conservative: do not wait for the latch to notice. Posted after the state itself.
            leadershipLost();
        }
    }

    static ConnectionState map(org.apache.curator.framework.state.ConnectionState s) {
        return switch (s) {
            case CONNECTED -> ConnectionState.CONNECTED;
            case SUSPENDED, READ_ONLY -> ConnectionState.SUSPENDED;
            case RECONNECTED -> ConnectionState.RECONNECTED;
            case LOST -> ConnectionState.LOST;
        };
    }

    private boolean mayAct() {
        ConnectionState s = lastState;
        return s != ConnectionState.SUSPENDED && s != ConnectionState.LOST && client.getZookeeperClient().isConnected();
    }

    // ------------------------------------------------------------------ close

    /**
     * Revokes leadership (waiting for the engine's revoked(), unless called on the events thread),
     * leaves the election, ends the session (so the member znode goes at once), stops the threads.
     */
    @Override
    public void close() {
        synchronized (electionLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        term.incrementAndGet();
        runOnEventsAndWait(this::revokeIfElected);
        synchronized (electionLock) {
            if (latch != null) {
                closeQuietly(latch);
            }
        }
        synchronized (electionLock) {
            watches.forEach(w -> {
                try {
                    w.close();
                } catch (RuntimeException e) {
                    LOG.debug("closing a watch", e);
                }
            });
        }
        try {
            membersCache.close();
        } catch (RuntimeException e) {
            LOG.debug("closing the member cache", e);
        }
        leadership.shutdownNow();
        client.close();
        events.shutdown();
        if (Thread.currentThread() != eventsThread) {
            try {
                if (!events.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS)) {
                    LOG.warn("coordination callbacks still running {} ms after close", CLOSE_WAIT_MS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void runOnEventsAndWait(Runnable r) {
        if (Thread.currentThread() == eventsThread) {
            r.run();
            return;
        }
        try {
            Future<?> f = events.submit(r);
            f.get(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // already shut down
        } catch (TimeoutException e) {
            LOG.warn("leadership listener did not return from revoked() within {} ms of close", CLOSE_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            LOG.error("revoking leadership on close", e.getCause());
        }
    }

    private static void closeQuietly(LeaderLatch l) {
        try {
            l.close();
        } catch (Exception e) {
            LOG.debug("closing the leader latch", e);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Test hook: the Curator client (e.g. to inject a session expiry). */
    CuratorFramework curator() {
        return client;
    }

    private void post(Runnable r) {
        try {
            events.execute(() -> safely("coordination callback", r));
        } catch (RejectedExecutionException e) {
            // closed: nobody listens any more
        }
    }

    private void submitLeadership(Runnable r) {
        try {
            leadership.execute(() -> safely("taking office", r));
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private static void safely(String what, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.error("{} failed", what, e);
        }
    }

    @FunctionalInterface
    private interface ZkCall<T> {
        T call() throws Exception;
    }

    private <T> T call(String what, ZkCall<T> body) {
        try {
            return body.call();
        } catch (Exception e) {
            throw failure(what, e);
        }
    }

    private RuntimeException failure(String what, Exception e) {
        if (e instanceof RuntimeException re) {
            return re;
        }
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        if (e instanceof KeeperException.NoAuthException) {
            return new CoordinationException(what + " at ZooKeeper " + connectString + " under " + root
                    + " refused: " + e.getMessage() + (credentials == null
                    ? ": the cluster's znodes are protected by credentials and this client has none; give it the"
                            + " cluster's credentials file (the bootstrap file's 'credentials')"
                    : ": user '" + credentials.user() + "' has no right there; the credentials file holds other"
                            + " credentials than those the cluster was secured with"), e);
        }
        return new CoordinationException(what + " at ZooKeeper " + connectString + " under " + root + " failed: " + e, e);
    }

    private static boolean isConnectionProblem(Exception e) {
        return e instanceof KeeperException.ConnectionLossException
                || e instanceof KeeperException.SessionExpiredException
                || e instanceof KeeperException.SessionMovedException
                || e instanceof KeeperException.OperationTimeoutException;
    }

    /** Index of the operation that failed a multi, or -1 if the failure was not an operation's. */
    static int failedOp(KeeperException e) {
        List<OpResult> results = e.getResults();
        if (results == null) {
            return -1;
        }
        for (int i = 0; i < results.size(); i++) {
            if (results.get(i) instanceof OpResult.ErrorResult er) {
                int err = er.getErr();
                if (err != KeeperException.Code.OK.intValue() && err != KeeperException.Code.RUNTIMEINCONSISTENCY.intValue()) {
                    return i;
                }
            }
        }
        return -1;
    }

    /**
     * Which of {@code paths} exist, and of the parents of those that do not, asked all at once:
     * a getChildren of each (small answers, unlike getData; a key's own children are few) in
     * read-only multis, then the parents of the missing ones, and so on up.
     */
    private java.util.Set<String> existing(List<String> paths) throws Exception {
        java.util.Set<String> out = new java.util.HashSet<>();
        java.util.Set<String> asked = new java.util.HashSet<>(paths);
        List<String> ask = new ArrayList<>(asked);
        while (!ask.isEmpty()) {
            List<OpResult> results = multiRead(ask, org.apache.zookeeper.Op::getChildren);
            List<String> next = new ArrayList<>();
            for (int i = 0; i < ask.size(); i++) {
                String parent = parentOf(ask.get(i));
                if (results.get(i) instanceof OpResult.GetChildrenResult) {
                    out.add(ask.get(i));
                } else if (!parent.equals(STORE) && asked.add(parent)) {
                    next.add(parent);
                }
            }
            ask = next;
        }
        return out;
    }

    private static String parentOf(String path) {
        return ZKPaths.getPathAndNode(path).getPath();
    }

    /**
     * One read per path (relative to the namespace), sent as read-only multis of
     * {@value #READ_BATCH} without waiting in between: ZooKeeper answers them in order on the one
     * connection, about ten times faster than as many single reads. The results are in the order
     * of {@code paths}; a missing key is an {@link OpResult.ErrorResult}, any other error fails
     * the whole read. A lost connection answers every request in flight with CONNECTIONLOSS, so
     * the wait ends; its bound is only a backstop.
     */
    private List<OpResult> multiRead(List<String> paths, java.util.function.Function<String, org.apache.zookeeper.Op> read)
            throws Exception {
        org.apache.zookeeper.ZooKeeper z = client.getZookeeperClient().getZooKeeper();
        List<java.util.concurrent.CompletableFuture<List<OpResult>>> answers = new ArrayList<>();
        for (int from = 0; from < paths.size(); from += READ_BATCH) {
            List<org.apache.zookeeper.Op> ops = new ArrayList<>(READ_BATCH);
            for (String p : paths.subList(from, Math.min(paths.size(), from + READ_BATCH))) {
                ops.add(read.apply(root + p));
            }
            java.util.concurrent.CompletableFuture<List<OpResult>> answer = new java.util.concurrent.CompletableFuture<>();
            String first = paths.get(from);
            z.multi(ops, (rc, p, ctx, results) -> {
                if (results == null) {
                    answer.completeExceptionally(KeeperException.create(KeeperException.Code.get(rc), first));
                } else {
                    answer.complete(results); // rc is the first op's error, if any: each op is judged below
                }
            }, null);
            answers.add(answer);
        }
        List<OpResult> out = new ArrayList<>(paths.size());
        for (java.util.concurrent.CompletableFuture<List<OpResult>> answer : answers) {
            List<OpResult> results;
            try {
                results = answer.get(PIPELINE_WAIT_MS, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            } catch (TimeoutException e) {
                throw new CoordinationException(paths.size() + " reads at " + where(STORE) + " unanswered after "
                        + PIPELINE_WAIT_MS + " ms");
            }
            for (OpResult r : results) {
                if (r instanceof OpResult.ErrorResult er && er.getErr() != KeeperException.Code.NONODE.intValue()) {
                    throw KeeperException.create(KeeperException.Code.get(er.getErr()));
                }
            }
            out.addAll(results);
        }
        return out;
    }

    private void ensurePath(String path) throws Exception {
        try {
            client.create().creatingParentsIfNeeded().forPath(path, new byte[0]);
        } catch (KeeperException.NodeExistsException e) {
            // fine
        }
    }

    private String where(String path) {
        return connectString + " " + root + path;
    }

    static byte[] encode(long epoch) {
        return Long.toString(epoch).getBytes(StandardCharsets.UTF_8);
    }

    private long parseEpoch(byte[] raw) {
        String text = raw == null ? "" : new String(raw, StandardCharsets.UTF_8).trim();
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new CoordinationException("the epoch znode " + where(EPOCH) + " holds '" + text
                    + "', not a number: it is havm's, do not write it by hand");
        }
    }

    static String validRoot(String root) {
        String problem = null;
        if (root == null || root.isEmpty() || root.equals("/")) {
            problem = "must be an absolute path below /, e.g. /havm/prod";
        } else {
            try {
                PathUtils.validatePath(root);
            } catch (IllegalArgumentException e) {
                problem = "must be an absolute path without trailing '/', '//', '.' or '..' (" + e.getMessage() + ")";
            }
        }
        if (problem != null) {
            throw new InvalidInputException("coordination root \"" + root + "\"", problem);
        }
        return root;
    }

    static String validName(String what, String name) {
        if (name == null || name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
            throw new InvalidInputException(what + " \"" + name + "\"", "must be one non-empty path segment: no '/', not '.' or '..'");
        }
        try {
            PathUtils.validatePath("/" + name);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(what + " \"" + name + "\"", e.getMessage());
        }
        return name;
    }

    static String storePath(String key) {
        if (key == null || key.isEmpty() || key.startsWith("/") || key.endsWith("/")) {
            throw new InvalidInputException("store key \"" + key + "\"",
                    "must be non-empty segments separated by single '/', without a leading or trailing '/'");
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new InvalidInputException("store key \"" + key + "\"",
                        "segments must be non-empty and not '.' or '..'");
            }
        }
        try {
            PathUtils.validatePath(STORE + "/" + key);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("store key \"" + key + "\"", e.getMessage());
        }
        return STORE + "/" + key;
    }
}
