package io.havm.sim.engine;

import io.havm.port.Coordination;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * An in-memory ZooKeeper ensemble as the engine sees it through {@link Coordination}, on the
 * virtual clock, modelled on what {@code ZkCoordination} does with Curator:
 *
 * <ul>
 *   <li>Sessions: a client cut off (partition, quorum loss, paused process, power loss) goes silent;
 *       the server expires its session {@code sessionTimeout} after it was <em>last heard</em>, rounded
 *       up to the server's next tick, and only while it has quorum (a restored quorum gives every
 *       silent session a fresh timeout). Expiry removes the session's ephemeral member and its place
 *       in the election. An idle client is heard only by its pings, sent once it has sent nothing
 *       for a third of the session timeout (half the read timeout, as ZooKeeper's ClientCnxn does);
 *       so a session can expire as soon as two thirds of the timeout after a cut. Measured on the
 *       lab: a 2.5 s SIGSTOP of an agent expired its 3 s session.</li>
 *   <li>Connection states, delivered on the node's own event sequence: SUSPENDED 2/3 of the
 *       session timeout after the cut (the client's read timeout), LOST a session timeout after
 *       that; on reconnection RECONNECTED, preceded by LOST and a new session when the old one
 *       expired. SUSPENDED and LOST revoke leadership first.</li>
 *   <li>Election: candidates queue in arrival order (Curator's LeaderLatch); the first one leads
 *       while connected, with an epoch strictly greater than any before; a reconnecting candidate
 *       re-queues at the end (the latch resets). A first candidate that is cut off but whose
 *       session lives blocks the election until it expires, as in ZooKeeper.</li>
 *   <li>Store: versioned puts, epoch-fenced puts and transactions (a stale epoch gets a
 *       ConflictException and changes nothing), recursive deletes, sorted children; ZooKeeper's
 *       1 MiB bound on a value and on a transaction ({@link Coordination#MAX_REQUEST_BYTES});
 *       watches fire on the watcher's event sequence.</li>
 * </ul>
 * A cut-off client's reads and writes fail with {@link Unavailable} (members() answers from its
 * cache, as the real one does).
 */
public final class SimCoordinationService {
    private final SimScheduler sched;
    private final VirtualClock clock;
    private final Duration sessionTimeout;
    private final Duration readTimeout;
    /** An idle client pings after this long without sending anything. */
    private final Duration pingInterval;
    /** The server's tick: session expiry is rounded up to the next one ({@code ZERO}: not rounded). */
    private final Duration tick;
    private final Consumer<String> log;
    private final TreeMap<String, Value> store = new TreeMap<>();
    /** Ephemeral keys by their session: removed when it ends. */
    private final TreeMap<String, Session> ephemeral = new TreeMap<>();
    private final TreeMap<String, Session> members = new TreeMap<>();
    private final List<Candidate> candidates = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();
    private final TreeSet<String> partitioned = new TreeSet<>();
    private final Map<String, Runnable> afterJoin = new HashMap<>();
    private boolean quorum = true;
    private long epoch;
    private long sessionIds;

    /** The client cannot reach the service (connection loss): nothing was done. */
    public static final class Unavailable extends RuntimeException {
        Unavailable(String message) {
            super(message);
        }
    }

    private record Value(byte[] bytes, int version) {}

    private final class Session {
        final long id = ++sessionIds;
        final Client client;
        Instant silentSince;
        boolean ended;

        Session(Client client) {
            this.client = client;
        }
    }

    private final class Candidate {
        final Client client;
        final Session session;
        final Coordination.Leadership listener;
        boolean elected;
        long electedEpoch;

        Candidate(Client client, Coordination.Leadership listener) {
            this.client = client;
            this.session = client.session;
            this.listener = listener;
        }
    }

    public SimCoordinationService(SimScheduler sched, VirtualClock clock, Duration sessionTimeout, Consumer<String> log) {
        this(sched, clock, sessionTimeout, Duration.ZERO, log);
    }

    /** With the server's tick ({@code timers.zkTickTime}), to which session expiry is rounded up. */
    public SimCoordinationService(SimScheduler sched, VirtualClock clock, Duration sessionTimeout, Duration tick,
            Consumer<String> log) {
        this.sched = sched;
        this.clock = clock;
        this.sessionTimeout = sessionTimeout;
        this.readTimeout = sessionTimeout.multipliedBy(2).dividedBy(3);
        this.pingInterval = readTimeout.dividedBy(2);
        this.tick = tick;
        this.log = log;
    }

    // ------------------------------------------------------------------ faults

    /** Runs {@code fault} once, right after {@code node}'s next successful join (before its next call). */
    public void afterJoin(String node, Runnable fault) {
        afterJoin.put(node, fault);
    }

    /** Cuts {@code node} off from the service (its other links stay). */
    public void partition(String node) {
        partitioned.add(node);
        refresh();
    }

    public void heal(String node) {
        partitioned.remove(node);
        refresh();
    }

    /** The ensemble loses quorum: every client is cut off, no session expires. */
    public void quorumLost() {
        quorum = false;
        refresh();
    }

    /**
     * The server process dies: connections are refused, so every client notices at once
     * (SUSPENDED now, LOST a session timeout later, as Curator reports it); no session expires
     * while it is down.
     */
    public void crash() {
        quorum = false;
        for (Client c : new ArrayList<>(clients)) {
            if (c.connected) {
                c.cutAt(clock.now().minus(readTimeout));
            }
        }
        refresh();
    }

    public void quorumRestored() {
        if (quorum) {
            return;
        }
        quorum = true;
        // ZooKeeper's new leader gives every session a fresh timeout; the reachable ones are heard at once.
        for (Session s : allSessions()) {
            if (!s.ended) {
                silent(s, clock.now());
            }
        }
        refresh();
    }

    public boolean hasQuorum() {
        return quorum;
    }

    public boolean isPartitioned(String node) {
        return partitioned.contains(node);
    }

    /** The current epoch, as the server holds it. */
    public long epoch() {
        return epoch;
    }

    /** The stored value of {@code key}, read directly (the referee's view). */
    public Optional<byte[]> peek(String key) {
        Value v = store.get(key);
        return v == null ? Optional.empty() : Optional.of(v.bytes());
    }

    /** The children of {@code parent} with their values, read directly (the referee's view). */
    public SortedMap<String, byte[]> peekAll(String parent) {
        SortedMap<String, byte[]> out = new TreeMap<>();
        String prefix = parent + "/";
        for (Map.Entry<String, Value> e : store.tailMap(prefix, true).entrySet()) {
            if (!e.getKey().startsWith(prefix)) {
                break;
            }
            String name = e.getKey().substring(prefix.length());
            if (!name.contains("/")) {
                out.put(name, e.getValue().bytes());
            }
        }
        return out;
    }

    /** Live members, as the server sees them. */
    public SortedSet<String> liveMembers() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(members.keySet()));
    }

    // ------------------------------------------------------------------ clients

    /** A new client for {@code node} (its own session), connected if the node can reach the service. */
    public Client connect(String node) {
        Client c = new Client(node);
        clients.add(c);
        c.session = new Session(c);
        c.connected = reachable(c);
        c.lastSend = clock.now();
        if (c.connected) {
            c.post(() -> c.deliver(Coordination.ConnectionState.CONNECTED));
        } else {
            c.cutAt(clock.now());
        }
        return c;
    }

    private boolean reachable(Client c) {
        return c.alive && quorum && !partitioned.contains(c.node) && !sched.isFrozen(c.node);
    }

    /** Re-evaluates every client's link after a fault changed. */
    void refresh() {
        for (Client c : new ArrayList<>(clients)) {
            boolean r = reachable(c);
            if (r && !c.connected) {
                c.reconnect();
            } else if (!r && c.connected) {
                c.cutAt(clock.now());
            }
        }
        electLeader();
    }

    private List<Session> allSessions() {
        List<Session> out = new ArrayList<>();
        for (Session s : members.values()) {
            if (!out.contains(s)) {
                out.add(s);
            }
        }
        for (Candidate c : candidates) {
            if (!out.contains(c.session)) {
                out.add(c.session);
            }
        }
        return out;
    }

    /** The session was last heard at {@code since}: it expires a session timeout later, at the server's next tick. */
    private void silent(Session s, Instant since) {
        s.silentSince = since;
        Instant due = since.plus(sessionTimeout);
        if (!tick.isZero()) {
            long t = tick.toMillis();
            due = Instant.ofEpochMilli((due.toEpochMilli() / t + 1) * t); // ZooKeeper's ExpiryQueue rounding
        }
        if (due.isBefore(clock.now())) {
            due = clock.now();
        }
        sched.at(due, "zk", () -> {
            if (!s.ended && quorum && since.equals(s.silentSince)) {
                expire(s, "expired");
            }
        });
    }

    private void expire(Session s, String why) {
        s.ended = true;
        boolean changed = members.values().removeIf(x -> x == s);
        for (String k : new ArrayList<>(ephemeral.keySet())) {
            if (ephemeral.get(k) == s) {
                ephemeral.remove(k);
                if (store.remove(k) != null) {
                    changed(k);
                }
            }
        }
        if (why != null) {
            log.accept("zookeeper: session 0x" + Long.toHexString(s.id) + " of " + s.client.node + " " + why);
        }
        for (Candidate c : new ArrayList<>(candidates)) {
            if (c.session == s) {
                revoke(c);
                candidates.remove(c);
            }
        }
        if (changed) {
            publishMembers();
        }
        electLeader();
    }

    private void publishMembers() {
        for (Client c : clients) {
            if (c.connected) {
                c.publishMembers();
            }
        }
    }

    /** The node whose candidate holds the leadership now, or null. */
    /** The node whose candidate is elected now, or null. */
    public String leader() {
        for (Candidate c : candidates) {
            if (c.elected) {
                return c.client.node;
            }
        }
        return null;
    }

    private void electLeader() {
        Candidate first = candidates.isEmpty() ? null : candidates.get(0);
        for (Candidate c : candidates) {
            if (c != first) {
                revoke(c);
            }
        }
        if (first != null && !first.elected && first.client.connected && !first.client.cutOff) {
            long e = ++epoch;
            first.elected = true;
            first.electedEpoch = e;
            Candidate f = first;
            first.client.post(() -> {
                if (f.elected && f.electedEpoch == e && f.client.alive) {
                    f.client.leaderDelivered = true;
                    f.listener.elected(e);
                }
            });
        }
    }

    private void revoke(Candidate c) {
        if (!c.elected) {
            return;
        }
        c.elected = false;
        c.client.post(() -> {
            if (c.client.leaderDelivered) {
                c.client.leaderDelivered = false;
                c.listener.revoked();
            }
        });
    }

    private void changed(String key) {
        for (Client c : clients) {
            if (!c.connected) {
                continue;
            }
            for (Map.Entry<String, List<Runnable>> w : c.watches.entrySet()) {
                if (key.equals(w.getKey()) || key.startsWith(w.getKey() + "/")) {
                    w.getValue().forEach(r -> c.post(r));
                }
            }
        }
    }

    /** One node's client: what its agent and coordinator hold as their {@link Coordination}. */
    public final class Client implements Coordination {
        final String node;
        Session session;
        boolean alive = true;
        boolean connected;
        /** SUSPENDED (or LOST) delivered and not yet reconnected: may not act. */
        boolean cutOff;
        boolean lostDelivered;
        boolean leaderDelivered;
        private long cutGeneration;
        /** When this client last sent something (a request, or connecting): its pings follow from it. */
        private Instant lastSend;
        private Candidate candidate;
        private Coordination.Leadership leadership;
        private Coordination.ConnectionState delivered;
        private final List<Consumer<Coordination.ConnectionState>> stateListeners = new ArrayList<>();
        private final List<Consumer<SortedSet<String>>> memberListeners = new ArrayList<>();
        private SortedSet<String> published;
        final TreeMap<String, List<Runnable>> watches = new TreeMap<>();

        Client(String node) {
            this.node = node;
        }

        void post(Runnable r) {
            sched.post(node, () -> {
                if (alive) {
                    r.run();
                }
            });
        }

        void deliver(Coordination.ConnectionState s) {
            delivered = s;
            for (Consumer<Coordination.ConnectionState> l : new ArrayList<>(stateListeners)) {
                l.accept(s);
            }
        }

        /**
         * When the server last heard this client, had it been cut off at {@code t}: its last request,
         * or the last of the pings that followed it every {@code pingInterval}.
         */
        Instant lastHeard(Instant t) {
            if (lastSend == null || !lastSend.isBefore(t) || pingInterval.isZero()) {
                return t;
            }
            long p = pingInterval.toNanos();
            long idle = Duration.between(lastSend, t).toNanos();
            return lastSend.plusNanos(idle / p * p);
        }

        /**
         * Cut off at {@code at}: the server stops hearing it (its session is silent since it was
         * last heard), and it notices a read timeout after it last heard the server (its last
         * ping's answer), or at once when {@code at} is earlier (a refused connection).
         */
        void cutAt(Instant at) {
            Instant heard = lastHeard(clock.now());
            connected = false;
            long g = ++cutGeneration;
            if (session != null && !session.ended) {
                silent(session, heard);
            }
            if (heard.isBefore(at)) {
                at = heard;
            }
            sched.at(at.plus(readTimeout), node, () -> {
                if (alive && !connected && g == cutGeneration) {
                    cutOff = true;
                    deliver(Coordination.ConnectionState.SUSPENDED);
                    revokeMine();
                }
            });
            sched.at(at.plus(readTimeout).plus(sessionTimeout), node, () -> {
                if (alive && !connected && g == cutGeneration) {
                    lostDelivered = true;
                    deliver(Coordination.ConnectionState.LOST);
                    revokeMine();
                }
            });
        }

        private void revokeMine() {
            if (candidate != null) {
                revoke(candidate);
            }
        }

        void reconnect() {
            connected = true;
            lastSend = clock.now();
            cutGeneration++;
            boolean newSession = session.ended || lostDelivered;
            if (newSession) {
                if (!lostDelivered) {
                    post(() -> deliver(Coordination.ConnectionState.LOST));
                    if (candidate != null) {
                        revoke(candidate);
                    }
                }
                session = new Session(this);
                lostDelivered = false;
                cutOff = true; // until RECONNECTED is delivered
                post(() -> {
                    cutOff = false;
                    deliver(Coordination.ConnectionState.RECONNECTED);
                    electLeader();
                });
                requeue();
            } else if (cutOff) {
                session.silentSince = null;
                post(() -> {
                    cutOff = false;
                    deliver(Coordination.ConnectionState.RECONNECTED);
                    electLeader();
                });
                requeue();
            } else {
                session.silentSince = null; // a blip shorter than the read timeout: nobody noticed
            }
            if (!newSession) {
                session.silentSince = null;
            }
            // The caches re-sync after a reconnection: watchers hear about it once.
            publishMembers();
            for (List<Runnable> rs : watches.values()) {
                rs.forEach(this::post);
            }
        }

        /** Curator's latch resets on reconnection: a new place at the end of the queue. */
        private void requeue() {
            if (candidate == null) {
                return;
            }
            revoke(candidate);
            candidates.remove(candidate);
            candidate = new Candidate(this, leadership);
            candidates.add(candidate);
        }

        void publishMembers() {
            SortedSet<String> now = liveMembers();
            if (now.equals(published)) {
                return;
            }
            published = now;
            for (Consumer<SortedSet<String>> l : memberListeners) {
                post(() -> l.accept(now));
            }
        }

        /** Power loss or crash: the process is gone, without a goodbye; its session goes silent. */
        public void kill() {
            if (!alive) {
                return;
            }
            alive = false;
            refresh();
        }

        private void require(String what) {
            if (!alive) {
                throw new Unavailable(node + ": coordination client is closed (" + what + ")");
            }
            if (!connected) {
                throw new Unavailable(node + ": connection to zookeeper lost while " + what);
            }
            lastSend = clock.now();
        }

        @Override
        public void join(String n, byte[] info) {
            require("joining as " + n);
            Session owner = members.get(n);
            if (owner != null && owner != session) {
                throw new ConflictException("node " + n + " is already a member under another ZooKeeper session (0x"
                        + Long.toHexString(owner.id) + ")");
            }
            if (owner == null) {
                members.put(n, session);
                SimCoordinationService.this.publishMembers();
            }
            Runnable fault = afterJoin.remove(n);
            if (fault != null) {
                fault.run();
            }
        }

        @Override
        public void rejoin(String n, byte[] info) {
            require("joining again as " + n);
            Session owner = members.get(n);
            if (owner != null && owner != session && owner.client == this) {
                members.put(n, session); // one step: the member never vanishes
                SimCoordinationService.this.publishMembers();
                return;
            }
            join(n, info);
        }

        @Override
        public SortedSet<String> members() {
            if (connected) {
                return liveMembers();
            }
            return published == null ? Collections.emptySortedSet() : published;
        }

        @Override
        public void watchMembers(Consumer<SortedSet<String>> listener) {
            memberListeners.add(listener);
            if (published != null) {
                SortedSet<String> p = published;
                post(() -> listener.accept(p));
            } else if (connected) {
                publishMembers();
            }
        }

        @Override
        public void elect(String n, Coordination.Leadership listener) {
            if (candidate != null) {
                throw new IllegalStateException("already taking part in the election as " + n);
            }
            leadership = listener;
            candidate = new Candidate(this, listener);
            candidates.add(candidate);
            electLeader();
        }

        @Override
        public long currentEpoch() {
            require("reading the epoch");
            return epoch;
        }

        @Override
        public Optional<Versioned> get(String key) {
            require("reading " + key);
            Value v = store.get(key);
            return v == null ? Optional.empty() : Optional.of(new Versioned(v.bytes().clone(), v.version()));
        }

        @Override
        public List<String> children(String key) {
            require("listing " + key);
            TreeSet<String> out = new TreeSet<>();
            String prefix = key.isEmpty() ? "" : key + "/";
            for (String k : store.tailMap(prefix, true).keySet()) {
                if (!k.startsWith(prefix)) {
                    break;
                }
                String rest = k.substring(prefix.length());
                int slash = rest.indexOf('/');
                out.add(slash < 0 ? rest : rest.substring(0, slash));
            }
            out.remove("");
            return List.copyOf(out);
        }

        @Override
        public int put(String key, byte[] value, int expectedVersion) {
            require("writing " + key);
            Coordination.checkRequest(List.of(Coordination.Op.put(key, value)));
            Value cur = store.get(key);
            if (expectedVersion == -1) {
                if (cur != null) {
                    throw new ConflictException("key " + key + " already exists (create expects it absent)");
                }
                store.put(key, new Value(value.clone(), 0));
                changed(key);
                return 0;
            }
            if (cur == null) {
                throw new ConflictException("key " + key + " does not exist (expected version " + expectedVersion + ")");
            }
            if (cur.version() != expectedVersion) {
                throw new ConflictException("key " + key + " is no longer at version " + expectedVersion);
            }
            store.put(key, new Value(value.clone(), cur.version() + 1));
            changed(key);
            return cur.version() + 1;
        }

        @Override
        public SortedMap<String, Versioned> getAll(String parent) {
            require("listing " + parent); // as children(): one listing, then the reads
            SortedMap<String, Versioned> out = new TreeMap<>();
            for (String name : peekAll(parent).keySet()) {
                Value v = store.get(parent + "/" + name);
                out.put(name, new Versioned(v.bytes().clone(), v.version()));
            }
            return out;
        }

        @Override
        public java.util.Map<String, Versioned> getMany(List<String> keys) {
            require("reading " + keys.size() + " keys");
            java.util.Map<String, Versioned> out = new java.util.LinkedHashMap<>();
            for (String k : keys) {
                Value v = store.get(k);
                if (v != null) {
                    out.put(k, new Versioned(v.bytes().clone(), v.version()));
                }
            }
            return out;
        }

        @Override
        public void putFenced(String key, byte[] value, long e) {
            commitFenced(List.of(Coordination.Op.put(key, value)), e);
        }

        /** Atomic like ZooKeeper's multi: every check first, then every write; ZooKeeper's size limits. */
        @Override
        public void commitFenced(List<Coordination.Op> ops, long e) {
            if (ops.isEmpty()) {
                return; // as ZkCoordination: nothing is sent, nothing checked
            }
            require("writing " + ops.size() + " keys under epoch " + e);
            Coordination.checkRequest(ops);
            if (e != epoch) {
                throw new ConflictException("epoch " + e + " is no longer current (current epoch is " + epoch + ")");
            }
            for (Coordination.Op op : ops) {
                if (op instanceof Coordination.Op.Delete && !children(op.key()).isEmpty()) {
                    throw new IllegalStateException("key " + op.key() + " has children: ZooKeeper refuses to delete it (NOTEMPTY)");
                }
            }
            for (Coordination.Op op : ops) {
                if (op instanceof Coordination.Op.Put p) {
                    Value cur = store.get(p.key());
                    store.put(p.key(), new Value(p.value().clone(), cur == null ? 0 : cur.version() + 1));
                    changed(p.key());
                } else if (store.remove(op.key()) != null) {
                    changed(op.key());
                }
            }
        }

        @Override
        public void putEphemeral(String key, byte[] value) {
            require("writing " + key);
            Coordination.checkRequest(List.of(Coordination.Op.put(key, value)));
            Value cur = store.get(key);
            store.put(key, new Value(value.clone(), cur == null || ephemeral.get(key) != session ? 0 : cur.version() + 1));
            ephemeral.put(key, session);
            changed(key);
        }

        @Override
        public void delete(String key) {
            require("deleting " + key);
            boolean removed = store.remove(key) != null;
            String prefix = key + "/";
            while (true) {
                String k = store.ceilingKey(prefix);
                if (k == null || !k.startsWith(prefix)) {
                    break;
                }
                store.remove(k);
                removed = true;
            }
            if (removed) {
                ephemeral.keySet().removeIf(k -> !store.containsKey(k));
                changed(key);
            }
        }

        @Override
        public void watchChildren(String key, Runnable onChange) {
            require("watching " + key);
            watches.computeIfAbsent(key, k -> new ArrayList<>()).add(onChange);
        }

        @Override
        public void onConnectionState(Consumer<Coordination.ConnectionState> listener) {
            stateListeners.add(listener);
            if (delivered != null) {
                Coordination.ConnectionState s = delivered;
                post(() -> listener.accept(s));
            }
        }

        /** Revokes leadership at once, leaves the election, ends the session: the member goes now. */
        @Override
        public void close() {
            if (!alive) {
                return;
            }
            if (candidate != null && candidate.elected) {
                candidate.elected = false;
                if (leaderDelivered) {
                    leaderDelivered = false;
                    candidate.listener.revoked();
                }
            }
            alive = false;
            connected = false;
            if (candidate != null) {
                candidates.remove(candidate);
            }
            if (session != null && !session.ended) {
                expire(session, null);
            }
            clients.remove(this);
            electLeader();
        }
    }
}
