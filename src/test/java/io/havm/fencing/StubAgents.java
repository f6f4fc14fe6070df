package io.havm.fencing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Helpers for tests that write small executables and check processes. */
final class StubAgents {
    private StubAgents() {}

    /** Writes an executable bash script {@code dir/name} with {@code body} after the shebang. */
    static Path script(Path dir, String name, String body) {
        try {
            Path p = dir.resolve(name);
            Files.createDirectories(p.getParent());
            Files.writeString(p, "#!/usr/bin/env bash\n" + body);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final Pattern STATE = Pattern.compile("(?m)^State:\\s*([A-Z])");

    /** Alive: exists and is not a zombie (an orphan waits for PID 1 to reap it). */
    static boolean alive(long pid) {
        try {
            Matcher m = STATE.matcher(Files.readString(Path.of("/proc", Long.toString(pid), "status")));
            return m.find() && !m.group(1).equals("Z") && !m.group(1).equals("X");
        } catch (IOException e) {
            return false;
        }
    }
}
