package io.havm.engine;

import io.havm.port.Clock;
import io.havm.port.Coordination;
import io.havm.port.Fencer;
import io.havm.port.Heartbeats;
import io.havm.port.Scheduler;
import io.havm.port.Watchdog;
import io.havm.model.ClusterSpec;
import io.havm.model.ResourceSpec;
import io.havm.model.Result;
import io.havm.policy.ClusterState;
import io.havm.policy.Command;
import io.havm.policy.GroupPhase;
import io.havm.policy.Input;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The agent on one node: executes the commands the coordinator stores for it, runs LooksAlive
 * and IsAlive on the resources it is assigned, reports back through the store, and takes part in
 * the coordinator election.
 *
 * <p>Losing coordination is an input, handled with judgement, not panic (DESIGN habit 7). While
 * cut off (SUSPENDED, or LOST until it has joined again) it takes no new decisions and executes
 * nothing — and stops nothing that runs, unless someone else may act on its groups. Its
 * {@link Guard} decides that on the second channel (heartbeats on shared storage): a coordinator
 * elsewhere that still reaches ZooKeeper has declared this node lost, or storage cannot be read
 * either (no proof either way), or a coordinator wrote a fence request for it. A ZooKeeper outage
 * for everyone shows no coordinator acting anywhere, so nothing is stopped, and after it the agent
 * joins again under its new session without ever leaving the members (see
 * {@link Coordination#rejoin}). Without a second channel it can only guess: when the survivors
 * may recover without a fence ({@code recoveryWithoutFence}) it stops its groups after
 * {@code selfFenceAfter}; when every recovery waits for a power fence it keeps them.
 *
 * <p>A Terminate is never assumed: the answer says whether the group was proven off here
 * ({@link GroupRunner#terminateProven}), and the coordinator fences the node when it was not.
 *
 * <p>Threads go through a {@link Scheduler}: real ones on hosts; in the simulator one driver steps
 * the same loop ({@link #step}), the guard and fences at virtual times.
 */
public final class Agent implements AutoCloseable {
    /** Monitoring cadence and fallback poll; new commands wake the loop at once. */
    private static final Duration POLL = Duration.ofMillis(200);

    /** The configuration in force; {@link #known} adds the definitions of groups retired while they ran. */
    private volatile ClusterSpec spec;
    private volatile ClusterSpec known;
    private volatile long configVersion;
    private static final Duration CONFIG_CHECK = Duration.ofSeconds(30);
    private volatile ConfigStore configs;
    private java.util.function.Function<ConfigStore.Version, ClusterSpec> parseConfig;
    private volatile boolean configHint;
    private Instant nextConfigCheck = Instant.MIN;
    private String configProblem;
    private final String node;
    private final Coordination zk;
    private final ClusterStore store;
    /** For readers beside the loop (metrics): its own store, so a read never waits on or changes the loop's. */
    private final ClusterStore reads;
    private final GroupRunner runner;
    private final Clock clock;
    private final Consumer<String> log;
    private final CoordinatorLoop coordinator;
    private final Wakeup wakeup;
    /** Domains the local libvirtd reported stopped or crashed: checked at once, not at the next interval. */
    private final java.util.Set<String> stoppedDomains = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final Map<String, Instant> nextCheck = new HashMap<>();
    private final Map<String, String> reported = new HashMap<>();
    private volatile Coordination.ConnectionState connection = Coordination.ConnectionState.CONNECTED;
    /** Since when this node is cut off from coordination (null: it is not). */
    private volatile Instant cutOffSince;
    /** The last cut-off period that ended: [0] since, [1] back. */
    private volatile Instant[] lastOutage;
    private volatile boolean selfFenced;
    private volatile boolean needsRejoin;
    /** The first join, the AgentStarted input and the election entry: each done once, retried until it is. */
    private volatile boolean joined;
    private volatile boolean announced;
    private volatile boolean electing;
    private String startProblem;
    private volatile boolean stop;
    private Runnable onLeft = () -> { };
    private final Scheduler scheduler;
    private Scheduler.Handle loop;
    /** Groups the coordinator last had on (or moving through) this node: whose scripts a self-fence stops. */
    private volatile java.util.Set<String> lastKnownHere = java.util.Set.of();
    /** Groups released by havm vm release (their VMs keep running, no longer managed). */
    private volatile java.util.Set<String> released = java.util.Set.of();
    private Heartbeats heartbeats;
    private Watchdog watchdog = Watchdog.NONE;
    private Guard guard;
    private volatile EngineObserver observer = EngineObserver.NONE;

    public Agent(ClusterSpec spec, String node, Coordination zk, GroupRunner runner, Fencer fencer, Clock clock,
            Consumer<String> log) {
        this(spec, node, zk, runner, fencer, clock, log, Scheduler.threads(clock));
    }

    public Agent(ClusterSpec spec, String node, Coordination zk, GroupRunner runner, Fencer fencer, Clock clock,
            Consumer<String> log, Scheduler scheduler) {
        this.spec = spec;
        this.known = spec;
        this.node = node;
        this.zk = zk;
        this.store = new ClusterStore(zk, node, clock);
        this.reads = new ClusterStore(zk, node + "-reader", clock);
        this.runner = runner;
        this.clock = clock;
        this.log = log;
        this.scheduler = scheduler;
        this.coordinator = new CoordinatorLoop(spec, node, zk, fencer, clock, log, scheduler);
        this.wakeup = new Wakeup(clock);
    }

    /**
     * Configuration version {@code version} is in force from now on, without a restart: the
     * coordinator (if this node is it) places new groups and retires removed ones at its next
     * step; here, changed definitions take effect at their group's next Online, and a retired
     * group keeps its old definition until it has stopped.
     */
    public synchronized void reconfigure(ClusterSpec next, long version) {
        if (version <= configVersion && configVersion != 0) {
            return;
        }
        ClusterSpec k = next.retaining(known, known.groups().keySet());
        this.known = k;
        this.spec = next;
        this.configVersion = version;
        java.util.Set<String> rel = new java.util.TreeSet<>();
        try {
            for (ClusterStore.Handover h : store.handovers().values()) {
                if (h.release() && !next.groups().containsKey(h.group())) {
                    rel.add(h.group());
                }
            }
        } catch (RuntimeException e) {
            rel.addAll(released); // cut off: what was released stays so
        }
        this.released = rel;
        // Released groups leave this node's hands at once (their VMs are no longer HA: a self-fence
        // must not kill them); other removed groups stay until they are stopped (see monitor()).
        runner.reconfigure(runnerSpec(runner.groups()));
        coordinator.reconfigure(next, version, k);
        Guard g = guard;
        if (g != null) {
            g.reconfigure(next);
        }
        log.accept(node + " agent: configuration version " + version + " in force");
    }

    /**
     * What the runner knows: the configuration in force plus the removed groups of {@code keep}
     * (removed while they ran here), never a released one.
     */
    private ClusterSpec runnerSpec(java.util.Collection<String> keep) {
        java.util.Set<String> k = new java.util.TreeSet<>(keep);
        k.removeAll(released);
        return spec.retaining(known, k);
    }

    /** The configuration version in force here (0: the one it started with, not from the store). */
    public long configVersion() {
        return configVersion;
    }

    /**
     * The second channel and the watchdog (before {@link #start}): heartbeats on shared storage
     * (null: none configured) and the host's watchdog.
     */
    public Agent secondChannel(Heartbeats hb, Watchdog wd) {
        this.heartbeats = hb;
        this.watchdog = wd;
        return this;
    }

    /**
     * Tells {@code o} what this agent and, while it coordinates, its coordinator do (metrics;
     * before {@link #start}). The default observes nothing; what {@code o} throws is logged and
     * ignored.
     */
    public Agent observe(EngineObserver o) {
        this.observer = EngineObserver.safe(o);
        coordinator.observe(o);
        return this;
    }

    /** How often a live move's progress is published. */
    static final Duration PROGRESS_EVERY = Duration.ofMillis(500);

    /**
     * Publishes the progress of the live moves this node runs as their source in the cluster store
     * ({@link ClusterStore#putProgress}, about every 500 ms, deleted when the move ends), for the
     * API and the dashboard. Off by default (the simulator leaves it off). A write that fails
     * never disturbs the move: it is logged once per move, and the move goes on.
     */
    public Agent publishProgress() {
        ClusterStore out = new ClusterStore(zk, node + "-progress", clock);
        java.util.Set<String> failing = java.util.concurrent.ConcurrentHashMap.newKeySet();
        runner.reportProgress(new MoveProgress.Sink() {
            @Override
            public void update(MoveProgress p) {
                try {
                    out.putProgress(p);
                } catch (RuntimeException e) {
                    if (failing.add(p.group())) {
                        log.accept(node + " agent: cannot publish the progress of the move of " + p.group() + " ("
                                + e.getMessage() + "); the move goes on");
                    }
                }
            }

            @Override
            public void completed(MoveProgress last) {
                observer.migrated(last.group(), last.domain(), Duration.ofMillis(last.expectedDowntimeMs()));
            }

            @Override
            public void ended(String group) {
                try {
                    out.clearProgress(group);
                } catch (RuntimeException e) {
                    if (failing.add(group)) {
                        log.accept(node + " agent: cannot remove the progress of the move of " + group + " ("
                                + e.getMessage() + "); it goes with this agent's session");
                    }
                }
                failing.remove(group);
            }
        }, scheduler, PROGRESS_EVERY);
        return this;
    }

    /** The node this agent runs on. */
    public String node() {
        return node;
    }

    /** The configuration in force here. */
    public ClusterSpec spec() {
        return spec;
    }

    /** Whether this node is the coordinator now. */
    public boolean coordinating() {
        return coordinator.office() != null;
    }

    /** The coordinator's epoch as ZooKeeper has it now (empty when it cannot be read, or this node is cut off). */
    public Optional<Long> clusterEpoch() {
        if (cutOffSince != null || needsRejoin) {
            return Optional.empty(); // no read that would wait for ZooKeeper's timeout
        }
        try {
            return Optional.of(zk.currentEpoch());
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** This agent's ZooKeeper connection as last reported. */
    public Coordination.ConnectionState connection() {
        return connection;
    }

    /** Whether this agent is a member now: joined, connected, not waiting to join again. */
    public boolean isMember() {
        return member();
    }

    /** The members ZooKeeper lists now (empty when it cannot be read). */
    public java.util.SortedSet<String> members() {
        try {
            return zk.members();
        } catch (RuntimeException e) {
            return new java.util.TreeSet<>();
        }
    }

    /**
     * The cluster state: the coordinator's own when this node coordinates, else as stored (one
     * read of the store); empty when none can be read (cut off, or nothing stored yet). A node
     * cut off from coordination does not try: its answer would be a wait for ZooKeeper's timeout.
     */
    public Optional<ClusterState> clusterState() {
        ClusterState s = coordinator.office();
        if (s != null) {
            return Optional.of(s);
        }
        if (cutOffSince != null || needsRejoin) {
            return Optional.empty();
        }
        try {
            return reads.state();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    public void start() {
        guard = new Guard(spec, node, heartbeats, watchdog, clock, log, this, coordinator);
        coordinator.guard(guard);
        // The guard first: whatever ZooKeeper does from here on (a stall right after the join, a
        // network cut, a previous process's session not yet expired), the VMs on this host are
        // protected as they are for any member cut off; and nothing below is fatal to the process.
        guard.start(scheduler);
        zk.onConnectionState(this::onConnection);
        zk.watchChildren("commands/" + node, wakeup::signal);
        // The second source of LooksAlive: libvirt's own lifecycle events on this host. A QEMU that
        // dies is seen within milliseconds instead of at the next poll (which stays as the fallback).
        io.havm.port.Hypervisor local = runner.local();
        if (local != null) {
            local.addListener(e -> {
                if (e instanceof io.havm.port.VmEvent.Lifecycle l
                        && (l.type() == io.havm.port.VmEvent.Type.STOPPED
                                || l.type() == io.havm.port.VmEvent.Type.CRASHED)) {
                    stoppedDomains.add(l.domain());
                    wakeup.signal();
                }
            });
        }
        startUp();
        Scheduler.Handle h = scheduler.start("havm-agent-" + node, false, this::loop, this::step);
        loop = h;
        wakeup.alsoNotify(h::wake);
    }

    /**
     * Joins, announces this process and takes part in the election, each once; what fails is tried
     * again by the loop. Until the join holds, this node counts as cut off from coordination.
     */
    private void startUp() {
        try {
            if (!joined) {
                join(false);
                joined = true;
                if (!needsRejoin) {
                    back(); // a start that could not join at once was cut off until now
                }
            }
            if (!announced) {
                store.submit(new Input.AgentStarted(node));
                announced = true;
            }
            if (!electing) {
                zk.elect(node, coordinator);
                electing = true;
            }
        } catch (RuntimeException e) {
            if (!joined && cutOffSince == null) {
                cutOffSince = clock.now();
            }
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            if (!why.equals(startProblem)) {
                log.accept(node + " agent: " + (joined ? "joined, but cannot announce itself yet: " : "cannot join yet: ")
                        + why + "; trying again (what runs here keeps running, guarded)");
                startProblem = why;
            }
        }
    }

    private boolean startedUp() {
        return joined && announced && electing;
    }

    private void join(boolean again) {
        // The version in force first: what it reports running is what the coordinator decides on,
        // and a group added while this node was cut off (vm import) must be among what it knows.
        // On a rejoin, which follows a reconnection; a first join may be tried while ZooKeeper is
        // out of reach, where the read would only wait for its timeout (the loop follows it soon).
        if (again) {
            followConfig(true);
        }
        store.setRunning(node, runner.running());
        if (again && !selfFenced) {
            // Still running what it ran: never leave the members, or the coordinator would take the
            // old session's expiry for this node's loss.
            zk.rejoin(node, new byte[0]);
        } else {
            zk.join(node, new byte[0]);
        }
        log.accept(node + " agent: joined" + (again ? " again" : "") + " (running: " + runner.running() + ")");
    }

    private void onConnection(Coordination.ConnectionState s) {
        connection = s;
        observer.connection(s);
        switch (s) {
            case SUSPENDED -> {
                if (cutOffSince == null) {
                    cutOffSince = clock.now();
                }
                log.accept(node + " agent: zookeeper suspended: no new decisions; what runs keeps running"
                        + " unless storage shows someone else may act on it");
                guard.wake();
            }
            case LOST -> {
                needsRejoin = true;
                if (cutOffSince == null) {
                    cutOffSince = clock.now();
                }
                log.accept(node + " agent: zookeeper session lost: will join again with a new session");
                guard.wake();
            }
            case RECONNECTED, CONNECTED -> {
                if (!needsRejoin && joined) { // not joined yet: the join ends the cut-off period
                    back();
                }
            }
            default -> { }
        }
    }

    /** Connected and a member (not cut off, not waiting to join again). */
    boolean member() {
        return joined && cutOffSince == null && !needsRejoin;
    }

    /** The cut-off period is over: connected, and a member again. */
    private void back() {
        Instant since = cutOffSince;
        if (since != null) {
            Instant now = clock.now();
            lastOutage = new Instant[] {since, now};
            cutOffSince = null;
            log.accept(node + " agent: zookeeper back after " + Duration.between(since, now).toMillis() + " ms"
                    + (selfFenced ? "" : "; nothing was stopped here"));
        }
    }

    /** Since when this node is cut off from coordination; null when it is not. */
    Instant cutOffSince() {
        return cutOffSince;
    }

    /** The last cut-off period that ended ([since, back]); null if none. */
    Instant[] lastOutage() {
        return lastOutage;
    }

    boolean selfFenced() {
        return selfFenced;
    }

    boolean stopped() {
        return stop;
    }

    /**
     * Stops every HA group on this node (the guard decided someone else may act on them, or a
     * coordinator asked); true when all is proven off. Idempotent while nothing new is started.
     */
    synchronized boolean selfFence(String why) {
        if (selfFenced) {
            return true;
        }
        GroupRunner.SelfFence done = runner.stopEverything(lastKnownHere);
        log.accept(node + " agent: self-fence (" + why + "): " + done.describe());
        if (done.proven()) {
            selfFenced = true;
        }
        return done.proven();
    }

    private void loop() {
        while (!stop) {
            try {
                Duration next = pass();
                if (next == null) {
                    return; // it left the cluster
                }
                wakeup.await(next);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | LinkageError e) {
                // A LinkageError (a class missing from a jar replaced under a running agent) ends
                // one pass, not the loop: the thread dying would leave the host a member that
                // monitors nothing and answers nothing, its watchdog petted.
                log.accept(node + " agent: " + e);
                try {
                    clock.pause(POLL);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** One pass of the loop; returns the wait before the next. */
    private Duration pass() {
        boolean reachable = connection != Coordination.ConnectionState.SUSPENDED
                && connection != Coordination.ConnectionState.LOST;
        if (!joined) {
            if (reachable) {
                startUp();
            }
            if (!joined) {
                return POLL;
            }
        }
        if (cutOffSince != null || needsRejoin) {
            if (needsRejoin && reachable) {
                rejoin();
            }
        } else {
            if (!startedUp()) {
                startUp(); // joined; the announcement or the election entry failed before
                if (!startedUp()) {
                    return POLL;
                }
            }
            followConfig(false);
            executeCommands();
            if (stop) {
                return null; // it left the cluster
            }
            monitor();
        }
        return POLL;
    }

    /**
     * One pass of the agent's loop for a driver that waits itself (the simulator): an unexpected
     * error is logged as the loop's thread logs it. Null once the agent has stopped.
     */
    public Duration step() {
        if (stop) {
            return null;
        }
        try {
            return pass();
        } catch (RuntimeException e) {
            log.accept(node + " agent: " + e);
            return POLL;
        }
    }

    private void rejoin() {
        try {
            join(true);
            needsRejoin = false;
            back();
            selfFenced = false;
        } catch (Coordination.ConflictException e) {
            // After a self-fence: our previous session's member stays until the server expires it,
            // so the survivors see the loss and recover what was stopped here.
        }
    }

    private void executeCommands() {
        List<ClusterStore.Keyed<Command>> commands = store.commands(node);
        int i = 0;
        while (i < commands.size()) {
            if (cutOffSince != null) {
                return;
            }
            ClusterStore.Keyed<Command> k = commands.get(i++);
            if (dropped(k)) {
                continue;
            }
            if (k.value() instanceof Command.Move first) {
                // Moves of other groups queued right behind it go together, up to the cluster's
                // migrations per host (the coordinator sends no more than that at once): a drain
                // with two allowed takes half the time, not the sum of its migrations.
                List<ClusterStore.Keyed<Command>> batch = new ArrayList<>(List.of(k));
                java.util.Set<String> groups = new java.util.HashSet<>(java.util.Set.of(first.group()));
                while (i < commands.size() && batch.size() < spec.migrationsPerHost()
                        && commands.get(i).value() instanceof Command.Move m && !groups.contains(m.group())) {
                    ClusterStore.Keyed<Command> next = commands.get(i++);
                    if (!dropped(next)) {
                        batch.add(next);
                        groups.add(m.group());
                    }
                }
                List<java.util.function.Supplier<Input>> work = new ArrayList<>();
                for (ClusterStore.Keyed<Command> b : batch) {
                    work.add(() -> execute(b.value()));
                }
                List<Input> answers = scheduler.together("havm-move-" + node, work);
                for (int j = 0; j < batch.size(); j++) {
                    store.submit(answers.get(j));
                    store.delete(batch.get(j).key());
                }
            } else {
                Input answer = execute(k.value());
                if (answer != null) {
                    store.submit(answer);
                }
                store.delete(k.key());
                if (stop) {
                    leave(); // answered "left": now leave the members, or the coordinator sees it rejoin
                    return;
                }
            }
            store.setRunning(node, runner.running());
            selfFenced = false;
        }
    }

    /** Drops {@code k} (deleting it) when the coordinator no longer waits for it; true if dropped. */
    private boolean dropped(ClusterStore.Keyed<Command> k) {
        if (!Command.superseded(k.value(), storedFor(k.value()))) {
            return false;
        }
        // Queued behind something that took too long: the coordinator gave up on this attempt and
        // has moved on; starting it now would act on a stale decision.
        log.accept(node + " agent: " + k.value() + " dropped: the coordinator no longer waits for it");
        store.delete(k.key());
        return true;
    }

    /**
     * What {@link Command#superseded} reads of the stored state for {@code c}: the state narrowed
     * to its group (one key, not the whole state), or null when it judges without one (Terminate,
     * commands for no group) or nothing is stored.
     */
    private ClusterState storedFor(Command c) {
        String group = c instanceof Command.Online x ? x.group() : c instanceof Command.Offline x ? x.group()
                : c instanceof Command.Restart x ? x.group() : c instanceof Command.Move x ? x.group() : null;
        return group == null ? null : store.stateOfGroup(group).orElse(null);
    }

    Input execute(Command c) {
        Instant began = clock.now();
        Input answer = run(c);
        observer.executed(c, answer, began, clock.now());
        return answer;
    }

    private Input run(Command c) {
        log.accept(node + " agent: " + c);
        String group = c instanceof Command.Online o ? o.group() : c instanceof Command.Offline o ? o.group()
                : c instanceof Command.Terminate t ? t.group() : c instanceof Command.Restart r ? r.group()
                : c instanceof Command.Move m ? m.group() : null;
        if (group != null && runner.def(group) == null) {
            followConfig(true); // the coordinator decided with a newer configuration than this agent has
            if (runner.def(group) == null) {
                String why = "group " + group + " is not in this agent's configuration (version " + configVersion + ")";
                log.accept(node + " agent: " + why);
                return failed(c, why);
            }
        }
        if (c instanceof Command.Online o) {
            Result r = runner.online(o.group());
            return new Input.Onlined(o.group(), node, r.ok(), r.detail(), o.attempt());
        } else if (c instanceof Command.Offline o) {
            Result r = runner.offline(o.group());
            return new Input.Offlined(o.group(), node, r.ok(), r.detail(), o.attempt());
        } else if (c instanceof Command.Terminate t) {
            Result r = runner.terminateProven(t.group());
            return new Input.Terminated(t.group(), node, r.ok(), r.detail(), t.attempt());
        } else if (c instanceof Command.Restart r) {
            Result res = runner.restart(r.group(), r.resource());
            return new Input.Restarted(r.group(), r.resource(), node, res.ok(), r.attempt());
        } else if (c instanceof Command.Move m) {
            Mover.Report rep = runner.move(m.group(), m.to(), m.mode());
            return new Input.Moved(m.group(), m.from(), m.to(), rep.ok(), rep.detail(), m.attempt());
        } else if (c instanceof Command.ShutdownNode) {
            log.accept(node + " agent: drained; leaving the cluster");
            stop = true;
            guard.disarm(); // a clean leave: nothing runs here any more
            return new Input.NodeLeft(node);
        }
        return null;
    }

    /** The failed answer to command {@code c}. */
    private Input failed(Command c, String why) {
        if (c instanceof Command.Online o) {
            return new Input.Onlined(o.group(), node, false, why, o.attempt());
        } else if (c instanceof Command.Offline o) {
            return new Input.Offlined(o.group(), node, false, why, o.attempt());
        } else if (c instanceof Command.Terminate t) {
            return new Input.Terminated(t.group(), node, false, why, t.attempt());
        } else if (c instanceof Command.Restart r) {
            return new Input.Restarted(r.group(), r.resource(), node, false, r.attempt());
        } else if (c instanceof Command.Move m) {
            return new Input.Moved(m.group(), m.from(), m.to(), false, why, m.attempt());
        }
        return null;
    }

    /**
     * Follows the configuration in the cluster store: each version put in force is applied here
     * live ({@link #reconfigure}). {@code parse} turns a stored version into a configuration (it
     * was validated when stored; one this agent cannot use is reported and the one in force stays).
     */
    public Agent followConfig(ConfigStore configs, java.util.function.Function<ConfigStore.Version, ClusterSpec> parse) {
        this.configs = configs;
        this.parseConfig = parse;
        configs.watch(() -> {
            configHint = true;
            wakeup.signal();
        });
        return this;
    }

    /** Reads the version in force if a watch said it may have changed, every 30 s anyway, or when {@code now}. */
    private void followConfig(boolean now) {
        ConfigStore cs = configs;
        if (cs == null) {
            return;
        }
        Instant t = clock.now();
        if (!now && !configHint && t.isBefore(nextConfigCheck)) {
            return;
        }
        configHint = false;
        nextConfigCheck = t.plus(CONFIG_CHECK);
        Optional<Long> n;
        try {
            n = cs.currentNumber();
        } catch (RuntimeException e) {
            configHint = true; // cut off just now: read it again once back
            return;
        }
        if (n.isEmpty() || n.get() <= configVersion) {
            return;
        }
        try {
            reconfigure(parseConfig.apply(cs.version(n.get())), n.get());
            configProblem = null;
        } catch (RuntimeException e) {
            String why = "configuration version " + n.get() + " cannot be used here (" + e.getMessage()
                    + "); version " + configVersion + " stays in force";
            if (!why.equals(configProblem)) {
                log.accept(node + " agent: " + why);
                configProblem = why;
            }
        }
    }

    /** LooksAlive and IsAlive on the resources of groups the coordinator has online here. */
    private void monitor() {
        // Only the groups stored as on this node (its index and those groups), not the whole state.
        java.util.SortedMap<String, ClusterState.Group> mine = store.groupsOn(node).orElse(null);
        if (mine == null) {
            return;
        }
        java.util.Set<String> here = new java.util.TreeSet<>();
        for (ClusterState.Group g : mine.values()) {
            if (g.phase().mayRun()) {
                here.add(g.name());
            }
        }
        lastKnownHere = here;
        // The runner knows the groups in force plus the removed ones it keeps: more than the
        // configuration only while some removed group is kept (the common pass copies nothing).
        java.util.Collection<String> known = runner.groups();
        java.util.Set<String> retired = known.size() == spec.groups().size() ? java.util.Set.of()
                : new java.util.TreeSet<>(known);
        if (!retired.isEmpty()) {
            retired.removeAll(spec.groups().keySet());
        }
        if (!here.containsAll(retired)) {
            // removed groups that are stopped here now (or were never here): forgotten, so that a
            // self-fence or a report never touches a domain that is no longer HA
            retired.retainAll(here);
            runner.reconfigure(runnerSpec(retired));
        }
        Instant now = clock.now();
        reported.keySet().removeIf(name -> {
            ClusterState.Group g = mine.get(name);
            return g == null || g.phase() != GroupPhase.ONLINE || !node.equals(g.node());
        });
        for (ClusterState.Group g : mine.values()) {
            if (g.phase() != GroupPhase.ONLINE || !node.equals(g.node())) {
                continue;
            }
            // ops: every command the coordinator sent for the group; the same node, failover count
            // and restarts can come back after a fence and a rejoin ("found running"), and must be
            // watched again
            String incarnation = g.phase() + "@" + g.node() + "#" + g.failovers().size() + "/" + g.restarts()
                    + "/" + g.ops();
            if (incarnation.equals(reported.get(g.name()))) {
                continue; // already reported for this incarnation; wait for the coordinator
            }
            io.havm.model.GroupSpec def = runner.def(g.name());
            if (def == null) {
                continue; // not configured here yet: the next configuration version brings it
            }
            for (ResourceSpec r : def.resources().values()) {
                Result res = null;
                String key = g.name() + "/" + r.name();
                String domain = r.type() == ResourceSpec.Type.VM ? r.properties().get("domain") : null;
                boolean stopped = domain != null && stoppedDomains.remove(domain);
                if (stopped) {
                    nextCheck.put(key + "/looks", now.plus(r.looksAliveInterval()));
                    res = runner.looksAlive(g.name(), r.name());
                } else if (due(key + "/looks", r.looksAliveInterval(), now)) {
                    res = runner.looksAlive(g.name(), r.name());
                }
                if ((res == null || res.ok()) && due(key + "/is", r.isAliveInterval(), now)) {
                    res = runner.resource(g.name(), r.name()).isAlive();
                    observer.checked(g.name(), r.name(), res, clock.now());
                }
                if (res != null && (res instanceof Result.Failed || res instanceof Result.NotRunning
                        || res instanceof Result.Timeout)) {
                    reported.put(g.name(), incarnation);
                    store.submit(new Input.ResourceFailed(g.name(), r.name(), node, res.detail()));
                    break;
                }
            }
        }
    }

    private boolean due(String key, Duration every, Instant now) {
        Instant next = nextCheck.get(key);
        if (next != null && now.isBefore(next)) {
            return false;
        }
        nextCheck.put(key, now.plus(every));
        return next != null; // the first check waits one interval: the resource just came online
    }

    /** Runs {@code r} once this agent has left the cluster on an operator's shutdown. */
    public void whenLeft(Runnable r) {
        this.onLeft = r;
    }

    /**
     * A clean leave: the coordinator role goes to another node, the session ends and the node is
     * no longer a member, so the coordinator keeps it down until an agent starts here again.
     */
    private void leave() {
        close();
        log.accept(node + " agent: left the cluster");
        onLeft.run();
    }

    @Override
    public void close() {
        stop = true;
        if (loop != null) {
            loop.cancel();
        }
        if (guard != null) {
            guard.close();
        }
        coordinator.revoked();
        zk.close();
    }
}
