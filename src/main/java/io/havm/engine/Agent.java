package io.havm.engine;

import io.havm.engine.port.Clock;
import io.havm.engine.port.Coordination;
import io.havm.engine.port.Fencer;
import io.havm.engine.port.Scheduler;
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
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The agent on one node: executes the commands the coordinator stores for it, runs LooksAlive
 * and IsAlive on the resources it is assigned, reports back through the store, and takes part in
 * the coordinator election.
 *
 * <p>Losing coordination is handled conservatively (DESIGN habit 7): while SUSPENDED it executes
 * nothing; once suspended for selfFenceAfter it turns off every HA VM on the node (the survivors
 * will recover them after its session expires and it is fenced or its self-fence deadline passes);
 * after LOST it rejoins with a new session, reporting what runs (nothing, after the self-fence).
 *
 * <p>Threads go through a {@link Scheduler}: real ones on hosts; in the simulator one driver steps
 * the same loop ({@link #step}), watchdog and fences at virtual times.
 */
public final class Agent implements AutoCloseable {
    /** Monitoring cadence and fallback poll; new commands wake the loop at once. */
    private static final Duration POLL = Duration.ofMillis(200);

    private final ClusterSpec spec;
    private final String node;
    private final Coordination zk;
    private final ClusterStore store;
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
    private volatile Instant suspendedAt;
    private volatile boolean selfFenced;
    private volatile boolean needsRejoin;
    private volatile boolean stop;
    private final Scheduler scheduler;
    private Scheduler.Handle loop;

    public Agent(ClusterSpec spec, String node, Coordination zk, GroupRunner runner, Fencer fencer, Clock clock,
            Consumer<String> log) {
        this(spec, node, zk, runner, fencer, clock, log, Scheduler.threads(clock));
    }

    public Agent(ClusterSpec spec, String node, Coordination zk, GroupRunner runner, Fencer fencer, Clock clock,
            Consumer<String> log, Scheduler scheduler) {
        this.spec = spec;
        this.node = node;
        this.zk = zk;
        this.store = new ClusterStore(zk, node, clock);
        this.runner = runner;
        this.clock = clock;
        this.log = log;
        this.scheduler = scheduler;
        this.coordinator = new CoordinatorLoop(spec, node, zk, fencer, clock, log, scheduler);
        this.wakeup = new Wakeup(clock);
    }

    public void start() {
        zk.onConnectionState(this::onConnection);
        zk.watchChildren("commands/" + node, wakeup::signal);
        // The second source of LooksAlive: libvirt's own lifecycle events on this host. A QEMU that
        // dies is seen within milliseconds instead of at the next poll (which stays as the fallback).
        io.havm.engine.port.Hypervisor local = runner.local();
        if (local != null) {
            local.addListener(e -> {
                if (e instanceof io.havm.engine.port.VmEvent.Lifecycle l
                        && (l.type() == io.havm.engine.port.VmEvent.Type.STOPPED
                                || l.type() == io.havm.engine.port.VmEvent.Type.CRASHED)) {
                    stoppedDomains.add(l.domain());
                    wakeup.signal();
                }
            });
        }
        join();
        zk.elect(node, coordinator);
        Scheduler.Handle h = scheduler.start("havm-agent-" + node, false, this::loop, this::step);
        loop = h;
        wakeup.alsoNotify(h::wake);
    }

    private void join() {
        store.setRunning(node, runner.running());
        zk.join(node, new byte[0]);
        log.accept(node + " agent: joined (running: " + runner.running() + ")");
    }

    private void onConnection(Coordination.ConnectionState s) {
        connection = s;
        switch (s) {
            case SUSPENDED -> {
                Instant at = clock.now();
                suspendedAt = at;
                log.accept(node + " agent: zookeeper suspended: stop acting");
                startSelfFenceWatchdog(at, spec.timers().selfFenceAfter());
            }
            case LOST -> {
                needsRejoin = true;
                log.accept(node + " agent: zookeeper session lost");
                startSelfFenceWatchdog(null, Duration.ZERO);
            }
            case RECONNECTED, CONNECTED -> {
                suspendedAt = null;
            }
            default -> { }
        }
    }

    private void loop() {
        while (!stop) {
            try {
                wakeup.await(pass());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
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
        if (suspendedAt != null || needsRejoin) {
            maybeSelfFence();
            if (needsRejoin && connection != Coordination.ConnectionState.SUSPENDED
                    && connection != Coordination.ConnectionState.LOST) {
                rejoin();
            }
        } else {
            executeCommands();
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

    /**
     * Self-fencing runs on its own thread and touches only the local hypervisor: the agent's main
     * loop may be blocked in a coordination call while the connection is down, and the survivors'
     * clock is running.
     */
    private void startSelfFenceWatchdog(Instant suspendedSince, Duration after) {
        scheduler.after("havm-self-fence-" + node, after, () -> {
            boolean stillCutOff = suspendedSince == null || suspendedSince.equals(suspendedAt);
            if (stillCutOff) {
                maybeSelfFence();
            }
        });
    }

    private synchronized void maybeSelfFence() {
        Instant since = suspendedAt;
        boolean due = needsRejoin || since != null && !clock.now().isBefore(since.plus(spec.timers().selfFenceAfter()));
        if (due && !selfFenced) {
            // Kill first (no libvirt involved), say so, then let libvirt clean up whatever is left.
            List<String> killed = runner.killAll();
            selfFenced = true;
            if (!killed.isEmpty()) {
                log.accept(node + " agent: self-fenced: turned off " + String.join(", ", killed));
            }
            List<String> off = runner.turnOffAll();
            off.removeAll(killed);
            if (killed.isEmpty() || !off.isEmpty()) {
                log.accept(node + " agent: self-fenced: turned off " + (off.isEmpty() ? "nothing" : String.join(", ", off)));
            }
        }
    }

    private void rejoin() {
        try {
            join();
            needsRejoin = false;
            selfFenced = false;
        } catch (Coordination.ConflictException e) {
            // Our previous session's member node is still there until the server expires it.
        }
    }

    private void executeCommands() {
        for (ClusterStore.Keyed<Command> k : store.commands(node)) {
            if (suspendedAt != null) {
                return;
            }
            if (Command.superseded(k.value(), store.state().orElse(null))) {
                // Queued behind something that took too long: the coordinator gave up on this
                // attempt and has moved on; starting it now would act on a stale decision.
                log.accept(node + " agent: " + k.value() + " dropped: the coordinator no longer waits for it");
                store.delete(k.key());
                continue;
            }
            Input answer = execute(k.value());
            if (answer != null) {
                store.submit(answer);
            }
            store.delete(k.key());
            store.setRunning(node, runner.running());
            selfFenced = false;
        }
    }

    Input execute(Command c) {
        log.accept(node + " agent: " + c);
        if (c instanceof Command.Online o) {
            Result r = runner.online(o.group());
            return new Input.Onlined(o.group(), node, r.ok(), r.detail(), o.attempt());
        } else if (c instanceof Command.Offline o) {
            Result r = runner.offline(o.group());
            return new Input.Offlined(o.group(), node, r.ok(), r.detail(), o.attempt());
        } else if (c instanceof Command.Terminate t) {
            runner.terminate(t.group());
            return new Input.Terminated(t.group(), node, t.attempt());
        } else if (c instanceof Command.Restart r) {
            Result res = runner.restart(r.group(), r.resource());
            return new Input.Restarted(r.group(), r.resource(), node, res.ok(), r.attempt());
        } else if (c instanceof Command.Move m) {
            Mover.Report rep = runner.move(m.group(), m.to(), m.mode());
            return new Input.Moved(m.group(), m.from(), m.to(), rep.ok(), rep.detail(), m.attempt());
        } else if (c instanceof Command.ShutdownNode) {
            log.accept(node + " agent: drained; leaving the cluster");
            stop = true;
            return new Input.NodeLeft(node);
        }
        return null;
    }

    /** LooksAlive and IsAlive on the resources of groups the coordinator has online here. */
    private void monitor() {
        ClusterState state = store.state().orElse(null);
        if (state == null) {
            return;
        }
        Instant now = clock.now();
        for (ClusterState.Group g : state.groups().values()) {
            if (g.phase() != GroupPhase.ONLINE || !node.equals(g.node())) {
                continue;
            }
            String incarnation = g.phase() + "@" + g.node() + "#" + g.failovers().size() + "/" + g.restarts();
            if (incarnation.equals(reported.get(g.name()))) {
                continue; // already reported for this incarnation; wait for the coordinator
            }
            for (ResourceSpec r : spec.groups().get(g.name()).resources().values()) {
                Result res = null;
                String key = g.name() + "/" + r.name();
                String domain = r.type() == ResourceSpec.Type.VM ? r.properties().get("domain") : null;
                boolean stopped = domain != null && stoppedDomains.remove(domain);
                if (stopped) {
                    nextCheck.put(key + "/looks", now.plus(r.looksAliveInterval()));
                    res = runner.resource(g.name(), r.name()).looksAlive();
                } else if (due(key + "/looks", r.looksAliveInterval(), now)) {
                    res = runner.resource(g.name(), r.name()).looksAlive();
                }
                if ((res == null || res.ok()) && due(key + "/is", r.isAliveInterval(), now)) {
                    res = runner.resource(g.name(), r.name()).isAlive();
                }
                if (res != null && (res instanceof Result.Failed || res instanceof Result.Timeout)) {
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

    @Override
    public void close() {
        stop = true;
        if (loop != null) {
            loop.cancel();
        }
        coordinator.revoked();
        zk.close();
    }
}
