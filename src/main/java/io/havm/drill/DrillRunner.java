package io.havm.drill;

import io.havm.model.Playbook;
import io.havm.model.Playbook.Check;
import io.havm.model.Playbook.Fault;
import io.havm.model.Playbook.HostRef;
import io.havm.model.Playbook.Operation;
import io.havm.model.Playbook.Pause;
import io.havm.model.Playbook.Step;
import io.havm.model.Playbook.Wait;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Runs a playbook on a target, step by step, while a sampler asks both views at a fixed interval
 * the whole time: havm's state, and the referee (libvirt, asked directly). The report holds each
 * step's outcome, the timeline of both views, and every disagreement between them.
 *
 * <p>A failed wait, or a step that cannot be done, stops the drill: the steps after it assume a
 * cluster that is not there, and are reported as not run. A failed check does not stop it.
 */
public final class DrillRunner {
    /**
     * How long the views may disagree before it is reported: a start or a stop takes a moment to
     * show, a VM that died is seen by havm at the next LooksAlive at the latest, and a host that
     * lost power is seen lost only when its session expires (measured on the lab: libvirt showed
     * the VM gone up to 3.5 s before havm could know, with a 3 s session timeout).
     */
    static Duration grace(io.havm.model.ClusterSpec spec) {
        Duration longest = spec.timers().sessionTimeout();
        for (io.havm.model.GroupSpec g : spec.groups().values()) {
            for (io.havm.model.ResourceSpec r : g.resources().values()) {
                if (r.looksAliveInterval() != null && r.looksAliveInterval().compareTo(longest) > 0) {
                    longest = r.looksAliveInterval();
                }
            }
        }
        return longest.plusSeconds(2);
    }

    private Duration disagreementGrace; // from the cluster the target prepared

    /** How long a boots check waits for a guest on a real host to print that it booted. */
    static final Duration GUEST_BOOT = Duration.ofSeconds(90);

    private final DrillTarget target;
    private final Duration sample;
    private final Consumer<String> progress;

    private Instant t0;
    private final List<DrillReport.TimelineEntry> timeline = java.util.Collections.synchronizedList(new ArrayList<>());
    private final List<String> disagreements = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Map<String, View> last = new HashMap<>();
    private final io.havm.port.Clock wall;
    private boolean force;
    private Preflight preflight = Preflight.notRun("not asked");
    private final Map<String, Instant> disagreeSince = new HashMap<>();
    /** Groups whose current disagreement is already in {@link #disagreements} (once per stretch). */
    private final java.util.Set<String> disagreementSaid = new java.util.HashSet<>();
    /** Each group's boots as last sampled: a rise is the guest answering after a (re)start. */
    private final Map<String, Integer> bootsSeen = new HashMap<>();
    private final Map<String, Integer> mostCopies = new java.util.concurrent.ConcurrentHashMap<>();
    /** Incidents of earlier faults, recovered before the next fault began (in order). */
    private final List<Map.Entry<String, Incident>> past = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Incident> incidents = java.util.Collections.synchronizedMap(new LinkedHashMap<>());
    private Instant lastFault;
    /** The host the last fault on a host acted on ({@code {lastFaulted: true}}). */
    private String lastFaultedHost;
    private Thread sampler;
    private String sampleProblem; // the sampler's thread only
    private final java.util.Set<String> unreadable = new java.util.HashSet<>();

    /** What both views say of a group at one sample. */
    record View(GroupPhase phase, String node, List<String> running) {
        boolean healthy() {
            return phase == GroupPhase.ONLINE && running.size() == 1 && running.get(0).equals(node);
        }

        String havm() {
            return phase == null ? "not in the state" : phase.word() + (node == null ? "" : " on " + node);
        }

        String libvirt() {
            return running.isEmpty() ? "runs nowhere" : "runs on " + String.join(", ", running);
        }
    }

    /** A group's recovery after the last fault: when it was first seen disrupted, then healthy again. */
    static final class Incident {
        final Instant fault;
        volatile Instant disrupted; // the sampler writes these, the steps read them
        volatile Instant recovered;
        volatile String recoveredOn;
        volatile Instant answered;

        Incident(Instant fault) {
            this.fault = fault;
        }
    }

    public DrillRunner(DrillTarget target, Duration sample, Consumer<String> progress) {
        this(target, sample, progress, io.havm.port.Clock.SYSTEM);
    }

    /**
     * @param wall the operator's clock, for the report's start time (a simulated target's own
     *        clock is virtual)
     */
    public DrillRunner(DrillTarget target, Duration sample, Consumer<String> progress, io.havm.port.Clock wall) {
        this.target = target;
        this.sample = sample;
        this.progress = progress;
        this.wall = wall;
    }

    /** Runs the steps even when {@code havm validate} fails on the cluster ({@code --force}). */
    public DrillRunner force(boolean f) {
        this.force = f;
        return this;
    }

    public DrillReport run(Playbook p) {
        Instant began = wall.now();
        progress.accept("drill " + p.name() + " on " + target.describe());
        target.prepare(p);
        preflight = target.preflight();
        progress.accept("  " + preflight.summary());
        preflight.problems().forEach(x -> progress.accept("    " + x));
        if (preflight.failed() && !force) {
            throw new IllegalStateException("havm validate found " + preflight.fail() + " failing check"
                    + (preflight.fail() == 1 ? "" : "s") + " on the cluster (above): no step was run. Fix them, or run"
                    + " the drill anyway with --force");
        }
        disagreementGrace = grace(target.spec());
        target.begin(p);
        t0 = target.now();
        for (String g : p.groups().keySet()) {
            sample(g);
        }
        if (!target.simulated()) {
            sampler = startSampler(p);
        }
        try {
            return steps(p, began);
        } finally {
            if (sampler != null) {
                sampler.interrupt();
                try {
                    sampler.join(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private DrillReport steps(Playbook p, Instant began) {
        List<DrillReport.StepResult> results = new ArrayList<>();
        boolean stopped = false;
        for (int i = 0; i < p.steps().size(); i++) {
            Step s = p.steps().get(i);
            String kind = kind(s);
            if (stopped) {
                results.add(new DrillReport.StepResult(i + 1, s.line(), kind, s.label(), "not-run", at(target.now()),
                        0, "an earlier step failed: the cluster is not where this step assumes"));
                continue;
            }
            if (!target.simulated()) { // on real hosts a step can take a minute: say what runs now
                progress.accept(String.format("  [%d/%d] %s ...", i + 1, p.steps().size(), s.label()));
            }
            Instant start = target.now();
            String status;
            String detail;
            try {
                detail = step(p, s);
                status = "ok";
            } catch (NotJudged e) {
                status = "skipped";
                detail = e.getMessage();
            } catch (CheckFailed e) {
                status = "failed";
                detail = e.getMessage();
                stopped = !(s instanceof Check);
            } catch (RuntimeException e) {
                status = "error";
                detail = e.getMessage() == null ? e.toString() : e.getMessage();
                stopped = true;
            }
            double secs = Duration.between(start, target.now()).toMillis() / 1000.0;
            DrillReport.StepResult r = new DrillReport.StepResult(i + 1, s.line(), kind, s.label(), status,
                    at(start), secs, detail);
            results.add(r);
            timeline.add(new DrillReport.TimelineEntry(at(start), "drill", s.label() + ": " + status));
            progress.accept(String.format("  %-7s %7.2f s  %s%s", status, secs, s.label(),
                    detail == null || detail.isEmpty() ? "" : "\n          " + detail));
        }
        for (String problem : target.refereeProblems()) {
            disagreements.add("referee: " + problem);
        }
        for (Map.Entry<String, Integer> e : mostCopies.entrySet()) {
            if (e.getValue() > 1) {
                disagreements.add("referee: " + e.getKey() + "'s VM ran on " + e.getValue() + " hosts at once");
            }
        }
        return new DrillReport(DrillReport.SCHEMA, p.name(), p.description(), p.file(), target.describe(), target.simulated(),
                began, t0, results, snapshot(timeline), snapshot(disagreements), target.events(), incidents(), List.of(),
                preflight);
    }

    private static <T> List<T> snapshot(List<T> l) {
        synchronized (l) {
            return List.copyOf(l);
        }
    }

    private List<DrillReport.Recovery> incidents() {
        List<DrillReport.Recovery> out = new ArrayList<>();
        List<Map.Entry<String, Incident>> all = new ArrayList<>(past);
        all.addAll(new LinkedHashMap<>(incidents).entrySet());
        all.forEach(e -> {
            String g = e.getKey();
            Incident in = e.getValue();
            if (in.disrupted != null) {
                out.add(new DrillReport.Recovery(g, at(in.fault), at(in.disrupted),
                        in.recovered == null ? null : at(in.recovered),
                        in.recovered == null ? null : Duration.between(in.fault, in.recovered).toMillis() / 1000.0,
                        in.recoveredOn, in.answered == null ? null
                                : Duration.between(in.fault, in.answered).toMillis() / 1000.0));
            }
        });
        return out;
    }

    private static String kind(Step s) {
        return s instanceof Fault ? "fault" : s instanceof Operation ? "operation" : s instanceof Wait ? "wait"
                : s instanceof Check ? "check" : "pause";
    }

    private double at(Instant t) {
        return Duration.between(t0, t).toMillis() / 1000.0;
    }

    /** A check this target cannot judge (the simulator has no guest disk): reported skipped, never passed. */
    static final class NotJudged extends RuntimeException {
        NotJudged(String m) {
            super(m);
        }
    }

    /** Why a real target cannot judge what the guest says (a cluster's own VMs are not the test guest). */
    static final String NO_CONSOLE = "no test-guest console to read (its boots, its disk counter and its ticks)";

    /** A check or wait that did not hold. */
    static final class CheckFailed extends RuntimeException {
        CheckFailed(String m) {
            super(m);
        }
    }

    private String step(Playbook p, Step s) {
        if (s instanceof Fault f) {
            String host = f.host() == null ? null : resolve(f.host());
            Instant at = target.now(); // recovery counts from here, not from when the injection returned
            synchronized (this) {
                lastFault = at;
                for (String g : p.groups().keySet()) {
                    Incident before = incidents.put(g, new Incident(at));
                    if (before != null && before.disrupted != null && before.recovered != null) {
                        past.add(Map.entry(g, before)); // an earlier fault's recovery stays in the report
                    }
                }
            }
            if (host != null) {
                lastFaultedHost = host;
            }
            Instant took = target.fault(f, host);
            if (took != null && took.isAfter(at)) {
                synchronized (this) { // the target knows better when it took effect (the link went down)
                    lastFault = took;
                    for (String g : p.groups().keySet()) {
                        Incident in = incidents.get(g);
                        Incident later = new Incident(took);
                        later.disrupted = in.disrupted; // what the referee saw while the injection ran
                        later.recovered = in.recovered;
                        later.recoveredOn = in.recoveredOn;
                        later.answered = in.answered;
                        incidents.put(g, later);
                    }
                }
            }
            tick(p);
            return host == null ? "" : "on " + host;
        }
        if (s instanceof Operation o) {
            // the host it acts on: the node drained, resumed or shut down, or where a group moves
            String host = o.to() != null ? resolve(o.to()) : o.host() == null ? null : resolve(o.host());
            target.operate(o, host);
            tick(p);
            return "submitted";
        }
        if (s instanceof Wait w) {
            Instant deadline = target.now().plus(w.within());
            String on = w.on() == null ? null : resolve(w.on());
            String notOn = w.notOn() == null ? null : resolve(w.notOn());
            while (true) {
                View g = view(w.group());
                if (g.phase() != null && g.phase().word().equals(w.phase()) && (on == null || on.equals(g.node()))
                        && (notOn == null || !notOn.equals(g.node()))) {
                    return w.group() + " " + g.havm() + "; libvirt: " + g.libvirt();
                }
                if (!target.now().isBefore(deadline)) {
                    throw new CheckFailed("still " + view(w.group()).havm() + " after " + w.within().toMillis() / 1000.0
                            + " s (libvirt: " + view(w.group()).libvirt() + ")");
                }
                tick(p);
            }
        }
        if (s instanceof Pause x) {
            Instant end = target.now().plus(x.duration());
            while (target.now().isBefore(end)) {
                tick(p);
            }
            return "";
        }
        return check(p, (Check) s);
    }

    private String check(Playbook p, Check c) {
        String g = c.group();
        View v = view(g);
        switch (c.kind()) {
            case RUNS_ON -> {
                String h = resolve(c.host());
                boolean havm = v.phase() == GroupPhase.ONLINE && h.equals(v.node());
                boolean lib = v.running().equals(List.of(h));
                if (havm && lib) {
                    return "havm: " + v.havm() + "; libvirt: " + v.libvirt();
                }
                throw new CheckFailed("havm: " + v.havm() + "; libvirt: " + v.libvirt()
                        + (havm != lib ? " (the two views disagree)" : ""));
            }
            case NOT_ON -> {
                String h = resolve(c.host());
                if (!h.equals(v.node()) && !v.running().contains(h)) {
                    return "havm: " + v.havm() + "; libvirt: " + v.libvirt();
                }
                throw new CheckFailed("havm: " + v.havm() + "; libvirt: " + v.libvirt());
            }
            case RAN_ONCE -> {
                int most = mostCopies.getOrDefault(g, 0);
                List<String> problems = target.refereeProblems().stream().filter(x -> mentions(p, g, x)).toList();
                if (most <= 1 && problems.isEmpty()) {
                    return "never on two hosts at once (libvirt sampled every " + sample.toMillis() + " ms"
                            + (target.simulated() ? ", and every start checked" : "") + ")";
                }
                throw new CheckFailed("ran on " + most + " hosts at once" + (problems.isEmpty() ? ""
                        : ": " + String.join("; ", problems)));
            }
            case RECOVERY -> {
                Incident in = incidents.get(g);
                if (in == null) {
                    throw new CheckFailed("no fault was injected before this check");
                }
                Instant deadline = in.fault.plus(c.within());
                while (in.recovered == null && target.now().isBefore(deadline)
                        && !(in.disrupted == null && view(g).healthy() && target.now().isAfter(in.fault.plus(sample)))) {
                    tick(p);
                }
                if (in.disrupted == null) {
                    return "not disrupted by the fault: " + view(g).havm();
                }
                if (in.recovered != null) {
                    double secs = Duration.between(in.fault, in.recovered).toMillis() / 1000.0;
                    if (!in.recovered.isAfter(deadline)) {
                        return String.format("recovered in %.2f s on %s (target %s s)", secs, in.recoveredOn,
                                c.within().toMillis() / 1000.0);
                    }
                    throw new CheckFailed(String.format("recovered in %.2f s, over its target of %s s", secs,
                            c.within().toMillis() / 1000.0));
                }
                throw new CheckFailed("not recovered " + c.within().toMillis() / 1000.0 + " s after the fault: "
                        + view(g).havm() + "; libvirt: " + view(g).libvirt());
            }
            case QUIET -> {
                View before = view(g);
                Instant end = target.now().plus(c.within());
                int changes = 0;
                while (target.now().isBefore(end)) {
                    tick(p);
                    View now = view(g);
                    if (!Objects.equals(now, before)) {
                        changes++;
                        before = now;
                    }
                }
                if (changes == 0) {
                    return "no transition: " + before.havm() + "; libvirt: " + before.libvirt();
                }
                throw new CheckFailed(changes + " change" + (changes == 1 ? "" : "s") + " during the window; now "
                        + before.havm() + "; libvirt: " + before.libvirt());
            }
            case BOOTS -> {
                if (target.boots(g).isEmpty()) {
                    throw new NotJudged("not judged here: " + NO_CONSOLE);
                }
                // a guest on a real host takes a while to boot: its console is given time to show it
                Instant deadline = target.now().plus(target.simulated() ? Duration.ZERO : GUEST_BOOT);
                while (target.boots(g).getAsInt() < c.count() && target.now().isBefore(deadline)) {
                    tick(p);
                }
                int b = target.boots(g).getAsInt();
                if (b == c.count()) {
                    return "booted " + b + " time" + (b == 1 ? "" : "s");
                }
                throw new CheckFailed("booted " + b + " time" + (b == 1 ? "" : "s") + ", expected " + c.count());
            }
            case DISK_SURVIVED -> {
                java.util.Optional<Boolean> ok = target.diskSurvived(g);
                if (ok.isEmpty()) {
                    throw new NotJudged("not judged here: " + (target.simulated() ? "the simulator has no guest disk"
                            : NO_CONSOLE));
                }
                if (ok.get()) {
                    return "the guest's counter on its disk went on from where it was";
                }
                throw new CheckFailed("the guest's counter on its disk went back or is gone");
            }
            case TICKS -> {
                // the current boot is given time to show that it works (a few ticks)
                Instant deadline = target.now().plus(target.simulated() ? Duration.ZERO : GUEST_BOOT);
                java.util.Optional<DrillTarget.Ticks> t = target.ticks(g);
                while (t.isPresent() && t.get().continuous() && t.get().inLastBoot() < 3
                        && target.now().isBefore(deadline)) {
                    tick(p);
                    t = target.ticks(g);
                }
                if (t.isEmpty()) {
                    throw new NotJudged("not judged here: " + (target.simulated() ? "the simulator has no guest console"
                            : NO_CONSOLE));
                }
                if (!t.get().continuous()) {
                    throw new CheckFailed("a gap or two interleaved copies in the guest's ticks (ticks per boot: "
                            + t.get().perBoot() + ")");
                }
                if (t.get().inLastBoot() < 3) {
                    throw new CheckFailed("the guest stopped working: " + t.get().inLastBoot() + " ticks in its current"
                            + " boot after " + GUEST_BOOT.toSeconds() + " s");
                }
                return "every boot's ticks rose by one (ticks per boot: " + t.get().perBoot() + ")";
            }
            default -> throw new IllegalStateException(c.kind().word);
        }
    }

    private static boolean mentions(Playbook p, String group, String problem) {
        return problem.contains(group + "-vm") || problem.contains(" " + group + " ") || problem.contains(group);
    }

    private String resolve(HostRef h) {
        if (h.host() != null) {
            if (!target.spec().nodeNames().contains(h.host())) {
                throw new IllegalArgumentException("unknown host '" + h.host() + "' (hosts: "
                        + String.join(", ", target.spec().nodeNames()) + ")");
            }
            return h.host();
        }
        if (HostRef.COORDINATOR.equals(h.role())) {
            return target.coordinator().orElseThrow(() -> new IllegalStateException(
                    "the coordinator's host: no coordinator now"));
        }
        if (HostRef.LAST_FAULTED.equals(h.role())) {
            if (lastFaultedHost == null) {
                throw new IllegalStateException("the host of the last fault: no fault on a host yet");
            }
            return lastFaultedHost;
        }
        List<String> on = target.runningOn(h.ownerOf());
        if (on.size() != 1) {
            throw new IllegalStateException("the owner of " + h.ownerOf() + ": libvirt " + (on.isEmpty()
                    ? "runs it nowhere" : "runs it on " + String.join(", ", on)));
        }
        return on.get(0);
    }

    /** Lets one sample interval pass, then samples every group. */
    private void tick(Playbook p) {
        target.pass(sample);
        if (sampler == null) { // simulated: time passes only here
            for (String g : p.groups().keySet()) {
                sample(g);
            }
        }
    }

    private synchronized View view(String g) {
        View v = last.get(g);
        return v != null ? v : sample(g);
    }

    /**
     * On real hosts the referee samples on a thread of its own, every interval for the whole
     * drill, also while a step blocks (pulling a plug takes seconds).
     */
    private Thread startSampler(Playbook p) {
        Thread t = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                Instant next = target.now().plus(sample);
                try {
                    for (String g : p.groups().keySet()) {
                        sample(g);
                    }
                } catch (RuntimeException e) {
                    String why = "cannot sample: " + e.getMessage();
                    if (!why.equals(sampleProblem)) { // said once, not every interval
                        sampleProblem = why;
                        timeline.add(new DrillReport.TimelineEntry(at(target.now()), "referee", why));
                    }
                }
                Duration left = Duration.between(target.now(), next);
                if (!left.isNegative() && !left.isZero()) {
                    try {
                        target.pass(left); // the target's clock, as every other wait of a drill
                    } catch (RuntimeException e) {
                        if (Thread.currentThread().isInterrupted()) {
                            return; // the drill is over
                        }
                        throw e;
                    }
                }
            }
        }, "drill-referee");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Asks both views (outside the lock: a host or ZooKeeper may be slow to answer), then records them. */
    private View sample(String g) {
        ClusterState.Group s;
        boolean havmKnown = true;
        try {
            s = target.group(g).orElse(null);
        } catch (DrillTarget.Unreadable e) {
            s = null;
            havmKnown = false;
        }
        List<String> running = target.runningOn(g);
        int boots = target.boots(g).orElse(-1); // -1: not counted here, so never seen rising
        return record(g, s, havmKnown, running, boots, target.now());
    }

    private synchronized View record(String g, ClusterState.Group s, boolean havmKnown, List<String> running,
            int boots, Instant now) {
        Integer bootsBefore = bootsSeen.put(g, boots);
        if (bootsBefore != null && bootsBefore >= 0 && boots > bootsBefore) {
            // the guest answers: its console says it booted (in the simulator: its domain started)
            timeline.add(new DrillReport.TimelineEntry(at(now), "guest", g + ": booted (boot " + boots + ")"));
            Incident in = incidents.get(g);
            if (in != null && in.disrupted != null && in.answered == null && now.isAfter(in.fault)) {
                in.answered = now;
            }
        }
        View prev = last.get(g);
        View v;
        if (havmKnown) {
            v = new View(s == null ? null : s.phase(), s == null ? null : s.node(), running);
            unreadable.remove(g);
        } else {
            // havm's state cannot be read (its ZooKeeper is down, a drill's own fault): its last
            // known view stands, and the timeline says so once
            v = new View(prev == null ? null : prev.phase(), prev == null ? null : prev.node(), running);
            if (unreadable.add(g)) {
                timeline.add(new DrillReport.TimelineEntry(at(now), "havm", g + ": state unreadable (ZooKeeper)"));
            }
        }
        View before = last.put(g, v);
        double t = at(now);
        if (before == null || !Objects.equals(before.havm(), v.havm())) {
            timeline.add(new DrillReport.TimelineEntry(t, "havm", g + ": " + v.havm()));
        }
        if (before == null || !before.running().equals(v.running())) {
            timeline.add(new DrillReport.TimelineEntry(t, "libvirt", g + ": " + v.libvirt()));
        }
        mostCopies.merge(g, v.running().size(), Math::max);
        // disagreement: havm says online on X while libvirt runs it elsewhere or nowhere; or havm
        // says it runs nowhere while libvirt runs it
        boolean disagree = (v.phase() == GroupPhase.ONLINE && !v.running().equals(List.of(v.node())))
                || ((v.phase() == GroupPhase.OFFLINE || v.phase() == GroupPhase.FAILED) && !v.running().isEmpty());
        if (disagree) {
            Instant since = disagreeSince.computeIfAbsent(g, k -> now);
            if (!now.isBefore(since.plus(disagreementGrace)) && disagreementSaid.add(g)) {
                disagreements.add(String.format("t=%.2f s: %s: havm says %s, libvirt %s (for %.1f s)", at(since), g,
                        v.havm(), v.libvirt(), Duration.between(since, now).toMillis() / 1000.0));
            }
        } else {
            disagreeSince.remove(g);
            disagreementSaid.remove(g);
        }
        Incident in = incidents.get(g);
        if (in != null && in.recovered == null && now.isAfter(in.fault)) {
            if (!v.healthy()) {
                if (in.disrupted == null) {
                    in.disrupted = now;
                }
            } else if (in.disrupted != null) {
                in.recovered = now;
                in.recoveredOn = v.node();
            }
        }
        return v;
    }
}
