package io.havm.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Seeded random faults: {@code -Dhavm.seeds=N} seeds (1,000 by default; the long profile runs
 * many more), or one seed with its whole log: {@code -Dhavm.seed=K}.
 */
class FaultRunnerTest {

    @Test
    void invariantsHoldUnderRandomFaults() {
        String one = System.getProperty("havm.seed");
        if (one != null) {
            FaultRunner.Outcome o = FaultRunner.run(Long.parseLong(one));
            o.log().forEach(System.out::println);
            assertEquals(List.of(), o.problems(), "seed " + one);
            return;
        }
        int seeds = Integer.getInteger("havm.seeds", 1000);
        long first = Long.getLong("havm.firstSeed", 1);
        List<String> failures = new ArrayList<>();
        for (long s = first; s < first + seeds && failures.size() < 5; s++) {
            FaultRunner.Outcome o = FaultRunner.run(s);
            if (!o.ok()) {
                failures.add("seed " + s + ": " + String.join("; ", o.problems())
                        + "\n  replay: mvn test -Dtest=FaultRunnerTest -Dhavm.seed=" + s);
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " seed(s) failed:\n" + String.join("\n", failures));
        }
    }

    @Test
    void aSeedReplaysToTheSameLog() {
        assertEquals(FaultRunner.run(42).log(), FaultRunner.run(42).log());
    }
}
