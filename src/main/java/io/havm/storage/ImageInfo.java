package io.havm.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havm.util.Exec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What {@code qemu-img info} says of an image file: its format, backing file and virtual size.
 * Read with {@code -U} (no image lock: a running VM may hold it) and bounded (a hung mount must
 * not hold the caller).
 *
 * @param backing the backing file's path, or "" when it has none
 * @param virtualSize bytes, or -1 when qemu-img did not say
 */
public record ImageInfo(String format, String backing, long virtualSize) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Why qemu-img could not tell; the message is qemu-img's own words. */
    public static final class Unreadable extends Exception {
        private final boolean timedOut;

        Unreadable(String message, boolean timedOut) {
            super(message);
            this.timedOut = timedOut;
        }

        public boolean timedOut() {
            return timedOut;
        }
    }

    public static ImageInfo read(Path file, Duration timeout) throws Unreadable {
        Exec.Outcome o = Bounded.exec(timeout, List.of("qemu-img", "info", "-U", "--output=json", file.toString()));
        if (o.timedOut()) {
            throw new Unreadable("no answer within " + timeout.toMillis() + " ms", true);
        }
        if (!o.ok()) {
            String t = (o.err().isBlank() ? o.out() : o.err()).strip().replaceAll("\\s+", " ");
            throw new Unreadable(t.isEmpty() ? "exit " + o.code() : t, false);
        }
        JsonNode info;
        try {
            info = JSON.readTree(o.out());
        } catch (IOException e) {
            throw new Unreadable("said something that is not JSON: " + e.getMessage(), false);
        }
        return new ImageInfo(info.path("format").asText(""),
                info.path("full-backing-filename").asText(info.path("backing-filename").asText("")),
                info.path("virtual-size").asLong(-1));
    }
}
