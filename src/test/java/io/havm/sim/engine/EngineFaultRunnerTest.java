package io.havm.sim.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Seeded random faults over the real engine: {@code -Dhavm.engineSeeds=N} seeds (200 by
 * default), or one seed with its whole log: {@code -Dhavm.engineSeed=K}.
 */
class EngineFaultRunnerTest {

    @Test
    void invariantsHoldUnderRandomFaultsOverTheRealEngine() {
        String one = System.getProperty("havm.engineSeed");
        if (one != null) {
            EngineFaultRunner.Outcome o = EngineFaultRunner.run(Long.parseLong(one));
            o.log().forEach(System.out::println);
            assertEquals(List.of(), o.problems(), "seed " + one);
            return;
        }
        int seeds = Integer.getInteger("havm.engineSeeds", 200);
        long first = Long.getLong("havm.engineFirstSeed", 1);
        List<String> failures = new ArrayList<>();
        for (long s = first; s < first + seeds && failures.size() < 5; s++) {
            EngineFaultRunner.Outcome o = EngineFaultRunner.run(s);
            if (!o.ok()) {
                failures.add("seed " + s + ": " + String.join("; ", o.problems())
                        + "\n  replay: mvn test -Dtest=EngineFaultRunnerTest -Dhavm.engineSeed=" + s);
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " seed(s) failed:\n" + String.join("\n", failures));
        }
    }

    @Test
    void aSeedReplaysToTheSameLog() {
        assertEquals(String.join("\n", EngineFaultRunner.run(7).log()), String.join("\n", EngineFaultRunner.run(7).log()));
    }
}
