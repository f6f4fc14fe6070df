package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.config.ClusterConfigLoader;
import io.havm.port.Fencer;
import io.havm.port.Heartbeats;
import io.havm.model.ClusterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Storage fencing counts a node fenced only on its acknowledgement, or on silence long enough that
 * its watchdog must have reset it — and silence means no beat written after the request, with no
 * ZooKeeper session. Every storage call here takes time, as real I/O does (the simulator's takes
 * none, which once hid a beat read right after the request being taken for a live node).
 */
class StorageFenceTest {
    private static final ClusterSpec SPEC = ClusterConfigLoader.parse("c.yaml", """
            cluster:
              heartbeat: {dir: /srv/hb, interval: 500ms, timeout: 1s}
              watchdog: {device: /dev/watchdog, timeout: 6s}
              timers: {sessionTimeout: 3s, zkTickTime: 250ms, recoveryWithoutFence: never, safetyMargin: 500ms}
              nodes:
                - {name: host1, uri: qemu+tcp://10.77.0.11/system, fencing: {agent: storage}}
                - {name: host2, uri: qemu+tcp://10.77.0.12/system, fencing: {agent: storage}}
            groups: {}
            """).spec();

    /** Storage where every call takes 3 ms; host1's agent beats (or not) and may acknowledge. */
    static final class Storage implements Heartbeats {
        final ManualClock clock;
        final Map<String, Beat> beats = new TreeMap<>();
        FenceRequest request;
        boolean beating;
        boolean acknowledges;
        long seq = 1;

        Storage(ManualClock clock) {
            this.clock = clock;
            beats.put("host1", beat(0));
        }

        private Beat beat(long ack) {
            return new Beat("host1", 1, seq++, clock.now(), null, 0, null, List.of(), ack != 0, ack);
        }

        private void io() {
            clock.pause(Duration.ofMillis(3));
            if (beating) {
                beats.put("host1", beat(acknowledges && request != null ? request.id() : 0));
            }
        }

        @Override
        public void beat(Beat b) {
            io();
        }

        @Override
        public Map<String, Beat> beats() {
            io();
            return new TreeMap<>(beats);
        }

        @Override
        public void requestFence(String node, FenceRequest r) {
            io();
            request = r;
        }

        @Override
        public Optional<FenceRequest> fenceRequest(String node) {
            io();
            return Optional.ofNullable(request);
        }

        @Override
        public String describe() {
            return "test storage";
        }
    }

    private static Fencer.Result run(StorageFence f, ManualClock clock) {
        Duration d;
        int steps = 0;
        while ((d = f.step()) != null) {
            clock.pause(d);
            assertTrue(++steps < 1000, "the fence ends");
        }
        return f.result();
    }

    private static StorageFence fence(Storage s, ManualClock clock, Set<String> members, List<String> log) {
        return new StorageFence(SPEC, "host1", "host2", 2, 1, s, clock, () -> members, log::add, 1, false);
    }

    @Test
    void aDeadAgentsSilenceCountsAfterTheWatchdogTimeoutAndTheMargin() {
        ManualClock clock = new ManualClock();
        Storage s = new Storage(clock);
        List<String> log = new ArrayList<>();
        Instant t0 = clock.now();
        Fencer.Result r = run(fence(s, clock, Set.of("host2"), log), clock);
        assertEquals(Fencer.Outcome.OFF, r.outcome(), r.detail());
        assertTrue(r.detail().contains("no heartbeat since"), r.detail());
        assertTrue(Duration.between(t0, clock.now()).compareTo(Duration.ofMillis(6500)) >= 0);
        assertEquals(1, s.request.incarnation());
        assertEquals("havm", s.request.cluster());
    }

    @Test
    void aLiveAgentThatDoesNotAcknowledgeIsNotCountedFenced() {
        ManualClock clock = new ManualClock();
        Storage s = new Storage(clock);
        s.beating = true;
        Fencer.Result r = run(fence(s, clock, Set.of("host2"), new ArrayList<>()), clock);
        assertEquals(Fencer.Outcome.FAILED, r.outcome(), r.detail());
        assertTrue(r.detail().contains("still beats on storage"), r.detail());
    }

    @Test
    void aSilentNodeThatIsStillAMemberIsNotCountedFenced() {
        ManualClock clock = new ManualClock();
        Storage s = new Storage(clock);
        Fencer.Result r = run(fence(s, clock, Set.of("host1", "host2"), new ArrayList<>()), clock);
        assertEquals(Fencer.Outcome.FAILED, r.outcome(), r.detail());
        assertTrue(r.detail().contains("is still a ZooKeeper member"), r.detail());
    }

    @Test
    void anAcknowledgementLeftOnTheStorageByAnEarlierClusterNeverAnswersANewRequest() {
        // The lab once ran cluster after cluster on one heartbeat directory: each new coordinator
        // started at epoch 1, its first request got the same id as the last cluster's, and the
        // acknowledgement the node's previous agent had left fenced a node that was merely paused.
        ManualClock clock = new ManualClock();
        Storage s = new Storage(clock);
        StorageFence first = fence(s, clock, Set.of("host2"), new ArrayList<>());
        first.step();
        long old = s.request.id();
        s.beats.put("host1", new Heartbeats.Beat("host1", 1, 99, clock.now(), null, 0, null, List.of(), true, old));
        clock.pause(Duration.ofMinutes(5));
        Fencer.Result r = run(fence(s, clock, Set.of("host2"), new ArrayList<>()), clock);
        assertTrue(s.request.id() != old, "a new id");
        assertTrue(!r.detail().startsWith("acknowledged"), r.detail());
    }

    @Test
    void anAcknowledgementFencesAtOnce() {
        ManualClock clock = new ManualClock();
        Storage s = new Storage(clock);
        s.beating = true;
        s.acknowledges = true;
        Instant t0 = clock.now();
        Fencer.Result r = run(fence(s, clock, Set.of("host2"), new ArrayList<>()), clock);
        assertEquals(Fencer.Outcome.OFF, r.outcome(), r.detail());
        assertTrue(r.detail().startsWith("acknowledged fence request " + s.request.id()), r.detail());
        assertTrue(Duration.between(t0, clock.now()).compareTo(Duration.ofSeconds(1)) < 0);
    }
}
