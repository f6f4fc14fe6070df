package io.havm.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden-log scenarios: each directory under src/test/resources/scenarios runs the real
 * coordinator in the simulator; its log must equal expected.log. Regenerate on purpose with
 * {@code mvn test -Dtest=ScenarioTest -Dhavm.updateGolden=true} and review the diff; a scenario
 * without expected.log fails rather than creating one silently.
 */
class ScenarioTest {
    static final Path ROOT = Path.of("src/test/resources/scenarios");
    static final boolean UPDATE = Boolean.getBoolean("havm.updateGolden");

    @TestFactory
    Stream<DynamicTest> scenarios() throws IOException {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(ROOT)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        }
        return dirs.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
    }

    private void check(Path dir) throws IOException {
        assertTrue(Files.exists(dir.resolve("README.md")), dir + ": every scenario says what it shows in README.md");
        List<String> log = Scenario.run(dir);
        String actual = String.join("\n", log) + "\n";
        Path golden = dir.resolve("expected.log");
        assertTrue(log.stream().noneMatch(l -> l.contains("INVARIANT VIOLATED")), dir + ":\n" + actual);
        if (UPDATE) {
            Files.writeString(golden, actual);
            return;
        }
        if (!Files.exists(golden)) {
            fail(dir + " has no expected.log: run with -Dhavm.updateGolden=true, then review it");
        }
        assertEquals(Files.readString(golden), actual, dir + ": log differs from expected.log");
    }

    @Test
    void thereAreAtLeastFortyScenarios() throws IOException {
        try (Stream<Path> s = Files.list(ROOT)) {
            assertTrue(s.filter(Files::isDirectory).count() >= 40);
        }
    }
}
