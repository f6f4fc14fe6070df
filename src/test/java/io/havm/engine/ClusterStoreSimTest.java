package io.havm.engine;

import io.havm.port.Coordination;
import io.havm.sim.engine.SimCoordinationService;
import io.havm.sim.engine.SimScheduler;
import io.havm.sim.engine.VirtualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;

/** The store's contract against the simulator's coordination service: the same atomicity and limits. */
class ClusterStoreSimTest extends StoreContract {
    private SimCoordinationService svc;
    private SimCoordinationService.Client writer;
    private SimCoordinationService.Client candidate;

    private static final Coordination.Leadership IGNORE = new Coordination.Leadership() {
        @Override
        public void elected(long epoch) {}

        @Override
        public void revoked() {}
    };

    @BeforeEach
    void start() {
        VirtualClock vc = new VirtualClock(Instant.parse("2026-12-06T10:00:00Z"));
        svc = new SimCoordinationService(new SimScheduler(vc), vc, Duration.ofSeconds(4), line -> {});
        candidate = svc.connect("c1");
        candidate.elect("c1", IGNORE);
        svc.connect("c2").elect("c2", IGNORE);
        writer = svc.connect("writer"); // writes under the epoch number it is given, as a coordinator does
    }

    @Override
    Coordination coordinator() {
        return writer;
    }

    @Override
    long epoch() {
        return svc.epoch();
    }

    /** The first coordinator goes; the second candidate takes office with the next epoch. */
    @Override
    void supersede() {
        candidate.close();
    }

    @Override
    SortedMap<String, Integer> sizes() {
        SortedMap<String, Integer> out = new TreeMap<>();
        Deque<String> todo = new ArrayDeque<>(writer.children(""));
        while (!todo.isEmpty()) {
            String k = todo.pop();
            writer.get(k).ifPresent(v -> out.put(k, v.value().length));
            for (String c : writer.children(k)) {
                todo.push(k + "/" + c);
            }
        }
        return out;
    }
}
