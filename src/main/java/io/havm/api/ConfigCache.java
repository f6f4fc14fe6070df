package io.havm.api;

import com.fasterxml.jackson.core.type.TypeReference;
import io.havm.engine.Codec;
import io.havm.engine.ConfigStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The last configuration version an agent used, on its own disk: an agent that starts while
 * ZooKeeper does not answer starts its guard from it instead of waiting unprotected. Written
 * atomically (a temporary file, then a rename), readable by root only.
 */
final class ConfigCache {
    private record Cached(long version, ConfigStore.Meta meta, List<Map<String, String>> files) {}

    private final Path file;

    ConfigCache(Path file) {
        this.file = file;
    }

    void write(ConfigStore.Version v) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            List<Map<String, String>> files = new java.util.ArrayList<>();
            v.files().forEach((k, t) -> files.add(Map.of("name", k, "text", t)));
            Files.write(tmp, Codec.value(new Cached(v.number(), v.meta(), files)));
            try {
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: its own permissions apply
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // The cache only helps a start during an outage; the running agent does not depend on it.
            System.err.println("havm agent: cannot write the configuration cache " + file + ": " + e.getMessage());
        }
    }

    Optional<ConfigStore.Version> read() {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            Cached c = Codec.value(Files.readAllBytes(file), new TypeReference<Cached>() { });
            Map<String, String> files = new LinkedHashMap<>();
            c.files().forEach(f -> files.put(f.get("name"), f.get("text")));
            if (!ConfigStore.sha256(files).equals(c.meta().sha256())) {
                return Optional.empty(); // torn or edited: not a version the cluster had
            }
            return Optional.of(new ConfigStore.Version(c.version(), files, c.meta()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
