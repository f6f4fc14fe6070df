package io.havm.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.util.Cli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input to havm validate: exit 2, one line naming the file or option, no stack trace, nothing asked. */
class ValidateCommandTest {
    @TempDir
    Path dir;
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        return Cli.exitCode(e, () -> ValidateCommand.run(List.of(args), new PrintStream(new ByteArrayOutputStream()), e));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aMissingConfigOptionOrFileOrFieldIsBadInputNamingIt() throws Exception {
        assertEquals(2, run());
        assertTrue(err().contains("--config"), err());
        assertEquals(2, run("--config", dir.resolve("none.yaml").toString()));
        assertTrue(err().contains("none.yaml"), err());
        Path bad = Files.writeString(dir.resolve("c.yaml"), "cluster:\n  name: x\n  nodes: [{name: h1, uri: 'qemu:///system', memoryMiB: lots}]\n");
        assertEquals(2, run("--config", bad.toString()));
        assertTrue(err().contains("c.yaml") && err().contains("memoryMiB"), err());
        assertEquals(2, run("--config", bad.toString(), "--json", dir.resolve("no/such/dir/r.json").toString()));
        assertTrue(err().contains("--json") && err().contains("does not exist"), err());
        assertEquals(2, run("--config", bad.toString(), "--frob"));
        assertFalse(err().contains("\tat "), "no stack trace: " + err());
    }
}
