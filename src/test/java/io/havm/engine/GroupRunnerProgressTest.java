package io.havm.engine;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.MoveMode;
import io.havm.port.Clock;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.MigrationOptions;
import io.havm.port.MigrationProgress;
import io.havm.port.Scheduler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A live move run by the source's {@link GroupRunner} reports the migration's job statistics to
 * the sink the agent set, while it runs, and says when it ended, whatever its outcome.
 */
class GroupRunnerProgressTest {
    @TempDir
    Path dir;

    static final String YAML = """
            cluster:
              nodes:
                - {name: host1, uri: qemu+tcp://10.77.0.11/system, memoryMiB: 2048}
                - {name: host2, uri: qemu+tcp://10.77.0.12/system, memoryMiB: 2048}
            groups:
              web:
                resources:
                  vm: {type: vm, properties: {domain: vm1, definition: DIR/vm1.xml, stateDir: DIR}}
            """;

    /** libvirt's figures of the running job, one per progress read, then the migration's end. */
    static final List<MigrationProgress> FIGURES = List.of(
            new MigrationProgress(400, 1_100L << 20, 100L << 20, 1_000L << 20, 1_024L << 20, 100L << 20, 924L << 20, 0),
            new MigrationProgress(900, 1_100L << 20, 700L << 20, 400L << 20, 1_024L << 20, 680L << 20, 344L << 20, 310),
            new MigrationProgress(1_400, 1_150L << 20, 1_120L << 20, 30L << 20, 1_024L << 20, 1_000L << 20, 24L << 20, 42));

    /** A source whose live migration runs {@code during} before it hands the domain over. */
    static final class Migrating extends FakeHypervisor {
        volatile int at = -1;
        volatile Runnable during = () -> { };
        volatile boolean fails;

        Migrating(String host) {
            super(host);
        }

        @Override
        public Optional<MigrationProgress> jobProgress(String d) {
            int i = at;
            return i < 0 || i >= FIGURES.size() ? Optional.empty() : Optional.of(FIGURES.get(i));
        }

        @Override
        public void migrateLive(String d, Hypervisor target, MigrationOptions o) {
            during.run();
            at = FIGURES.size();
            if (fails) {
                throw new HypervisorException(HypervisorException.Kind.MIGRATION_FAILED, host,
                        "injected: migration of " + d + " failed");
            }
            super.migrateLive(d, target, o);
        }
    }

    /** A target whose libvirt has the completed migration's statistics (or none). */
    static final class Target extends FakeHypervisor {
        volatile MigrationProgress completed;

        Target(String host) {
            super(host);
        }

        @Override
        public Optional<MigrationProgress> completedJob(String d) {
            return Optional.ofNullable(completed);
        }
    }

    /** A driver that steps the loops itself, as the simulator's does: no thread, no real time. */
    static final class Stepper implements Scheduler {
        final List<Loop> loops = new ArrayList<>();
        final List<String> names = new ArrayList<>();
        final List<boolean[]> cancelled = new ArrayList<>();

        @Override
        public Handle start(String name, boolean daemon, Runnable thread, Loop loop) {
            boolean[] c = {false};
            loops.add(loop);
            names.add(name);
            cancelled.add(c);
            return new Handle() {
                @Override
                public void wake() { }

                @Override
                public void cancel() {
                    c[0] = true;
                }
            };
        }

        @Override
        public Handle after(String name, Duration delay, Runnable task) {
            throw new UnsupportedOperationException("not used by moves");
        }
    }

    /** What the sink was told, in order: each update, then "ended <group>". */
    final List<Object> told = new CopyOnWriteArrayList<>();
    final MoveProgress.Sink sink = new MoveProgress.Sink() {
        @Override
        public void update(MoveProgress p) {
            told.add(p);
        }

        @Override
        public void completed(MoveProgress last) {
            told.add("completed " + last.group() + "/" + last.domain() + " downtime " + last.expectedDowntimeMs()
                    + " ms");
        }

        @Override
        public void ended(String group) {
            told.add("ended " + group);
        }
    };

    ClusterSpec spec;
    Migrating h1;
    Target h2;

    @BeforeEach
    void setUp() throws Exception {
        spec = ClusterConfigLoader.parse("c.yaml", YAML.replace("DIR", dir.toString())).spec();
        Files.writeString(dir.resolve("vm1.xml"), "<domain type='kvm'><name>vm1</name></domain>");
        h1 = new Migrating("host1");
        h2 = new Target("host2");
        h1.put("vm1", true);
    }

    private GroupRunner runner(Clock clock) {
        return new GroupRunner(spec, "host1", Map.of("host1", h1, "host2", h2), clock,
                TestPorts.resources(spec, "host1", h1, clock));
    }

    private List<MoveProgress> updates() {
        return told.stream().filter(o -> o instanceof MoveProgress).map(o -> (MoveProgress) o).toList();
    }

    @Test
    void aLiveMoveReportsEachReadOfItsJobThenTheMeasuredDowntimeThenItsEnd() {
        ManualClock clock = new ManualClock();
        h2.completed = new MigrationProgress(1_650, 1_150L << 20, 1_150L << 20, 0, 1_024L << 20, 1_024L << 20, 0, 37);
        Stepper stepper = new Stepper();
        GroupRunner runner = runner(clock).reportProgress(sink, stepper, Duration.ofMillis(500));
        List<Duration> waits = new ArrayList<>();
        h1.during = () -> {
            assertEquals(1, stepper.loops.size(), "one watcher for the migration");
            for (int i = 0; i < FIGURES.size(); i++) {
                h1.at = i;
                Duration next = stepper.loops.get(0).step();
                waits.add(next);
                clock.pause(next);
            }
        };
        Mover.Report r = runner.move("web", "host2", MoveMode.LIVE);
        assertTrue(r.ok(), r.detail());
        assertEquals(List.of(Duration.ofMillis(500), Duration.ofMillis(500), Duration.ofMillis(500)), waits);
        assertTrue(stepper.cancelled.get(0)[0], "the watcher is stopped once the migration returned");
        assertEquals("migration-progress-vm1", stepper.names.get(0));

        List<MoveProgress> got = updates();
        assertEquals(3, got.size(), told.toString());
        MoveProgress first = got.get(0);
        assertEquals(new MoveProgress("web", "vm1", "live", "host1", "host2", 1_024L << 20, 924L << 20, 1_100L << 20,
                100L << 20, 1_000L << 20, 400, 0, java.time.Instant.parse("2026-01-01T00:00:00Z")), first);
        MoveProgress last = got.get(2);
        assertEquals(24L << 20, last.memoryRemainingBytes());
        assertEquals(42, last.expectedDowntimeMs());
        assertEquals(1_400, last.elapsedMs());
        assertEquals(java.time.Instant.parse("2026-01-01T00:00:01Z"), last.updatedAt());
        assertEquals(List.of("completed web/vm1 downtime 37 ms", "ended web"), told.subList(3, told.size()));
    }

    @Test
    void aFailedLiveMoveEndsItsProgressToo() {
        Stepper stepper = new Stepper();
        GroupRunner runner = runner(new ManualClock()).reportProgress(sink, stepper, Duration.ofMillis(500));
        h1.fails = true;
        h1.during = () -> {
            h1.at = 1;
            stepper.loops.get(0).step();
        };
        Mover.Report r = runner.move("web", "host2", MoveMode.LIVE);
        assertFalse(r.ok());
        assertEquals(1, updates().size(), told.toString());
        assertEquals(List.of("ended web"), told.subList(1, told.size()));
        assertTrue(h1.domains.containsKey("vm1"), "the VM stays where it ran");
    }

    @Test
    void aReadAfterTheEndIsNotPublished() {
        Stepper stepper = new Stepper();
        GroupRunner runner = runner(new ManualClock()).reportProgress(sink, stepper, Duration.ofMillis(500));
        h1.during = () -> {
            h1.at = 0;
            stepper.loops.get(0).step();
        };
        assertTrue(runner.move("web", "host2", MoveMode.LIVE).ok());
        // A watcher thread that read once more while the move ended (a cancel lands between reads):
        // that figure must not bring the progress back after its removal.
        h1.at = 2;
        stepper.loops.get(0).step();
        assertEquals(2, told.size(), told.toString());
        assertEquals("ended web", told.get(1));
    }

    @Test
    void quickAndOfflineMovesAndARunnerWithoutSinkReportNothing() {
        Stepper stepper = new Stepper();
        GroupRunner runner = runner(new ManualClock()).reportProgress(sink, stepper, Duration.ofMillis(500));
        assertTrue(runner.move("web", "host2", MoveMode.QUICK).ok());
        assertEquals(List.of(), told);
        assertEquals(List.of(), stepper.loops);

        // The default: no sink, no watcher (the simulator's agents and every existing caller).
        h1 = new Migrating("host1");
        h2 = new Target("host2");
        h1.put("vm1", true);
        h1.at = 0;
        assertTrue(runner(new ManualClock()).move("web", "host2", MoveMode.LIVE).ok());
        assertTrue(h2.domains.containsKey("vm1"));
        assertEquals(List.of(), told);
        assertEquals(List.of(), stepper.loops);
    }

    @Test
    void onHostsAWatcherThreadReportsAboutEveryHalfSecond() {
        GroupRunner runner = runner(Clock.SYSTEM).reportProgress(sink, Scheduler.threads(Clock.SYSTEM),
                Duration.ofMillis(500));
        h1.at = 1;
        h1.during = () -> await().atMost(Duration.ofSeconds(10)).until(() -> updates().size() >= 3);
        Mover.Report r = runner.move("web", "host2", MoveMode.LIVE);
        assertTrue(r.ok(), r.detail());
        List<MoveProgress> got = updates();
        for (int i = 1; i < got.size(); i++) {
            long gap = Duration.between(got.get(i - 1).updatedAt(), got.get(i).updatedAt()).toMillis();
            assertTrue(gap >= 490 && gap < 2_000, "an update every 500 ms: " + gap + " ms");
        }
        assertEquals(344L << 20, got.get(0).memoryRemainingBytes());
        assertEquals(310, got.get(0).expectedDowntimeMs());
        assertEquals("ended web", told.get(told.size() - 1));
    }
}
