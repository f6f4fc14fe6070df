package io.havm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.InvalidInputException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** One command's options on picocli: what is accepted, and the one-line message for what is not. */
class ArgsTest {
    private static final String USAGE = "havm x FILE --config C [--disk D]... [--json]";

    private static Args parse(int positionals, String... argv) {
        return Args.parse("havm x", List.of(argv), Set.of("--config", "--disk", "--first"), Set.of("--json"),
                positionals, USAGE);
    }

    private static String refused(int positionals, String... argv) {
        return assertThrows(InvalidInputException.class, () -> parse(positionals, argv)).getMessage();
    }

    @Test
    void valuesFlagsAndArgumentsInAnyOrder() {
        Args a = parse(1, "--config", "c.yaml", "f.yaml", "--json", "--disk", "a", "--disk=b");
        assertEquals(List.of("f.yaml"), a.positional);
        assertEquals("c.yaml", a.get("--config"));
        assertTrue(a.flag("--json"));
        assertEquals(List.of("a", "b"), a.all("--disk"));
        assertEquals("b", a.get("--disk"));
        assertNull(a.get("--first"));
        assertFalse(parse(1, "f").flag("--json"));
    }

    @Test
    void oneDashWordsAndAtWordsAreArgumentsOrValues() {
        Args a = parse(Args.ANY, "--first", "-1", "-x", "@nowhere");
        assertEquals("-1", a.get("--first"));
        assertEquals(List.of("-x", "@nowhere"), a.positional, "no @file expansion, no short options");
        assertEquals("c", parse(0, "--config", "a", "--config", "c").get("--config"), "the last one counts");
    }

    @Test
    void badInputIsOneLineWithTheAllowedOptionsAndTheUsage() {
        assertEquals("havm x: unknown option '--jsn' (allowed: --config, --disk, --first, --json; usage: " + USAGE
                + "): did you mean '--json'?", refused(0, "--jsn"));
        assertEquals("havm x: option --config needs a value (usage: " + USAGE + ")", refused(0, "--config"));
        assertEquals("havm x: option --config needs a value (usage: " + USAGE + ")", refused(0, "--config", "--json"));
        assertEquals("havm x: option --config needs a value (usage: " + USAGE + ")", refused(0, "--config", "--zz"));
        assertTrue(refused(0, "--zz", "--config").startsWith("havm x: unknown option '--zz'"), "the first from the left");
        assertEquals("havm x: option --json takes no value (usage: " + USAGE + ")", refused(0, "--json=yes"));
        assertEquals("havm x: expected 1 argument(s), got 2 (usage: " + USAGE + ")", refused(1, "a", "b"));
        assertEquals("havm x: expected 1 argument(s), got 0 (usage: " + USAGE + ")", refused(1));
        assertEquals("havm x: option --config is required (usage: " + USAGE + ")", assertThrows(
                InvalidInputException.class, () -> parse(0).require("havm x", "--config", USAGE)).getMessage());
    }
}
