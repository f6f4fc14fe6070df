package io.havm.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.havm.libvirt.AccelProbe;
import io.havm.libvirt.GuestImage;
import io.havm.libvirt.LibvirtHypervisor;
import io.havm.model.DomainType;
import io.havm.model.InvalidInputException;
import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.util.Args;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * What the lab benchmarks of moves, drains and agents share: argument checks, the referee that
 * polls libvirt, the raw virsh baselines, the havm CLI as an operator runs it, medians and JSON.
 */
final class BenchSupport {
    static final Duration BUDGET = Duration.ofSeconds(120);

    private BenchSupport() {}

    /** A whole-number option within [min, max], or its default; bad input names the option and the range. */
    static int count(Args a, String option, int dflt, int min, int max, String what) {
        String v = a.get(option);
        if (v == null) {
            return dflt;
        }
        if (!v.matches("\\d{1,6}") || Integer.parseInt(v) < min || Integer.parseInt(v) > max) {
            throw new InvalidInputException(option, "'" + v + "' is not a number of " + what + " (allowed: " + min + ".."
                    + max + ")");
        }
        return Integer.parseInt(v);
    }

    static Path json(Args a) {
        return a.get("--json") == null ? null : Path.of(a.get("--json"));
    }

    /**
     * The lab a benchmark brings up ({@code hosts} hosts, the test guest, the domain type) and
     * always takes down again on close, also when bringing it up failed half way.
     */
    static final class BenchLab implements AutoCloseable {
        final Lab lab;
        final Map<String, Hypervisor> hosts = new java.util.TreeMap<>();
        final GuestImage guest;
        final DomainType type;
        private final Path home;

        BenchLab(Path home, int hostCount) {
            this.home = home;
            this.lab = new Lab(home, null);
            try {
                guest = GuestImage.ensure(home);
                lab.up(hostCount);
                connect(lab, hosts);
                type = domainType(guest);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        Hypervisor host(String name) {
            return hosts.get(name);
        }

        /** A fresh test-guest VM (16 MiB disk) on the shared directory, defined nowhere yet. */
        LabVm vm(String name) {
            return LabVm.create(home, lab, hosts.values(), name, type, guest, "16M");
        }

        Path saveDir() {
            return lab.sharedDir().resolve("save");
        }

        @Override
        public void close() {
            hosts.values().forEach(Hypervisor::close);
            lab.down();
        }
    }

    /** One connection per lab host that is on, by name. */
    static void connect(Lab lab, Map<String, Hypervisor> hosts) {
        hosts.values().forEach(Hypervisor::close);
        hosts.clear();
        for (Lab.Host h : lab.status()) {
            hosts.put(h.name(), new LibvirtHypervisor(h.name(), h.uri()));
        }
    }

    static DomainType domainType(GuestImage guest) {
        return AccelProbe.resolve(System.getenv("HAVM_DOMAIN_TYPE"), guest.kernel(), guest.initrd(),
                Path.of("/var/cache/havm"));
    }

    static Optional<DomainState> state(Hypervisor hv, String domain) {
        try {
            return hv.state(domain);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    static boolean running(Hypervisor hv, String domain) {
        return state(hv, domain).map(d -> d.kind() == DomainState.Kind.RUNNING).orElse(false);
    }

    static boolean active(Hypervisor hv, String domain) {
        return state(hv, domain).map(DomainState::active).orElse(false);
    }

    /** Defines and starts each VM on {@code hv} (plain libvirt, no havm), then waits until every guest booted once. */
    static void startRaw(Hypervisor hv, Collection<LabVm> vms) throws InterruptedException {
        for (LabVm v : vms) {
            hv.define(v.xml());
            hv.start(v.name());
        }
        for (LabVm v : vms) {
            awaitBooted(v, 1);
        }
    }

    /** Polls the guest's console until it printed BOOTED {@code boots} times and ticks. */
    static void awaitBooted(LabVm vm, int boots) throws InterruptedException {
        poll("guest " + vm.name() + " booted " + boots + "x", () -> {
            ConsoleLog c = ConsoleLog.read(vm.console());
            return c.booted() == boots && c.lastTick() >= 1;
        });
    }

    /** Polls every 50 ms until {@code done} holds; fails naming {@code what} after {@link #BUDGET}. */
    static void poll(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + BUDGET.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not within " + BUDGET.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }

    /**
     * The referee: from its own thread, polls libvirt every 10 ms until {@code done} holds; its
     * {@link #at} answers the moment (System.nanoTime) it first held, or null after the budget.
     */
    static final class Referee {
        private final CompletableFuture<Long> when;

        Referee(BooleanSupplier done) {
            when = CompletableFuture.supplyAsync(() -> until(done));
        }

        Long at() throws InterruptedException {
            try {
                return when.get(BUDGET.toSeconds() + 5, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                return null;
            }
        }
    }

    /** Polls every 10 ms until {@code done} holds; the moment (System.nanoTime) it did, or null after {@link #BUDGET}. */
    static Long until(BooleanSupplier done) {
        long deadline = System.nanoTime() + BUDGET.toNanos();
        while (System.nanoTime() < deadline) {
            if (done.getAsBoolean()) {
                return System.nanoTime();
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    /** The commands the launcher runs with the quick compiler alone (./havm). */
    private static final java.util.Set<String> QUICK_JIT = java.util.Set.of("group", "node", "status", "events",
            "config", "vm", "storage", "guest-cluster");

    /** The havm command as an operator runs it (what ./havm execs, without the launcher's install and build check). */
    static List<String> havm(Path home, String... args) {
        List<String> cmd = new ArrayList<>(List.of("java"));
        Path jsa = home.resolve("target/havm.jsa");
        if (java.nio.file.Files.isRegularFile(jsa)) { // as the launcher runs it (ci/cds-archive)
            cmd.addAll(List.of("-XX:SharedArchiveFile=" + jsa, "-Xlog:disable"));
        }
        if (args.length > 0 && QUICK_JIT.contains(args[0])) { // as the launcher runs a short command
            cmd.add("-XX:TieredStopAtLevel=1");
        }
        cmd.addAll(List.of("-Dhavm.home=" + home, "-jar", home.resolve("target/havm.jar").toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * The launcher ({@code ./havm}) as an operator runs it, with its resident client in a directory
     * of the bench's own: the first group or node command starts the resident, the next ones go
     * through it. {@link #close} stops that resident (this bench started it).
     */
    static final class Launcher implements AutoCloseable {
        private final Path home;
        private final Path dir;

        Launcher(Path home, Path dir) {
            this.home = home;
            this.dir = dir;
        }

        /** Runs {@code ./havm ARGS}, through the resident when {@code resident}, else in a JVM of its own. */
        Exec.Outcome run(boolean resident, String... args) {
            Map<String, String> env = new java.util.HashMap<>(System.getenv());
            env.put("HAVM_RESIDENT", resident ? "1" : "0");
            env.put("HAVM_RESIDENT_DIR", dir.toString());
            List<String> cmd = new ArrayList<>(List.of(home.resolve("havm").toString()));
            cmd.addAll(List.of(args));
            return Exec.run(BUDGET, null, env, cmd);
        }

        /** Waits until the resident a first command started serves, warmed up (its warm-up files gone). */
        void awaitResident() throws InterruptedException {
            poll("the resident client serving in " + dir, () -> Files.isRegularFile(dir.resolve("endpoint"))
                    && !Files.exists(dir.resolve("warm")));
        }

        @Override
        public void close() {
            try {
                Path ep = dir.resolve("endpoint");
                if (!Files.isRegularFile(ep)) {
                    return;
                }
                String[] f = Files.readString(ep).strip().split(" ");
                ProcessHandle.of(Long.parseLong(f[3])).ifPresent(p -> {
                    p.destroy();
                    try {
                        p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                        p.destroyForcibly();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("cannot stop the bench's resident client in " + dir + ": " + e, e);
            }
        }
    }

    /** Runs a command to its end (it must succeed); returns its wall time in seconds. */
    static double timed(List<String> cmd) {
        long t0 = System.nanoTime();
        Exec.run(BUDGET, cmd).orThrow();
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The raw live migration: what havm's live move asks libvirt for, from virsh (same flags). */
    static double virshMigrateLive(String domain, Hypervisor from, Hypervisor to) {
        return timed(List.of("virsh", "-q", "-c", from.uri(), "migrate", "--live", "--p2p", "--persistent",
                "--undefinesource", "--abort-on-error", "--unsafe", domain, to.uri()));
    }

    /** The raw quick move: virsh save on the source to a shared file, virsh restore on the target; the sum. */
    static double virshSaveRestore(String domain, Path file, Hypervisor from, Hypervisor to) throws IOException {
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        double s = timed(List.of("virsh", "-q", "-c", from.uri(), "save", domain, file.toString()))
                + timed(List.of("virsh", "-q", "-c", to.uri(), "restore", file.toString()));
        Files.deleteIfExists(file);
        return s;
    }

    /** The first event containing {@code needle} at or after {@code since}, polled until it is there. */
    static Instant awaitEvent(LabCluster cluster, String needle, Instant since) throws InterruptedException {
        Instant[] at = new Instant[1];
        poll("event '" + needle + "'", () -> {
            at[0] = LabCluster.eventTime(cluster.events(), needle, since).orElse(null);
            return at[0] != null;
        });
        return at[0];
    }

    /** The time stamp of the first line of {@code log} ("ISO-time text") containing {@code needle}, at or after {@code since}. */
    static Optional<Instant> logTime(String log, String needle, Instant since) {
        return LabCluster.eventTime(log.lines().filter(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT\\S+Z .*")).toList(),
                needle, since);
    }

    static double secs(Instant a, Instant b) {
        return Duration.between(a, b).toNanos() / 1e9;
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static void writeJson(Path json, Object doc, PrintStream out, String bench) {
        if (json == null) {
            return;
        }
        try {
            if (json.toAbsolutePath().getParent() != null) {
                Files.createDirectories(json.toAbsolutePath().getParent());
            }
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), doc);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + json, e);
        }
        out.println("havm bench " + bench + ": wrote " + json);
    }
}
