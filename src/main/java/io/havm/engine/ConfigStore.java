package io.havm.engine;

import io.havm.port.Coordination;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The cluster's configuration in the cluster store, versioned. Each version is immutable: its
 * files (the main {@code cluster.yaml} and its fragments, as text) gzip'd and cut into chunks of
 * at most {@link #CHUNK} bytes under {@code config/versions/<N>/}, with a small {@code meta}; the
 * version in force is the one {@code config/current} names. A new version is written in full
 * first, then {@code config/current} is switched to it in one compare-and-set: a reader sees the
 * old version or the new one, never a mix, and two operators applying at once cannot both win.
 *
 * <p>At 20,000 groups the text is a few MiB and compresses to a few hundred KiB: every znode
 * stays far below ZooKeeper's 1 MiB.
 */
public final class ConfigStore {
    static final String CURRENT = "config/current";
    static final String VERSIONS = "config/versions";
    /** Largest chunk: a quarter of ZooKeeper's default 1 MiB. */
    static final int CHUNK = 256 * 1024;

    /** One stored version: its number, its files by name (the main file first), and who stored it when. */
    public record Version(long number, Map<String, String> files, Meta meta) {
        /** The main file's name (its first file). */
        public String mainName() {
            return files.keySet().iterator().next();
        }

        public String mainText() {
            return files.values().iterator().next();
        }

        /** The fragments, by name (without the main file). */
        public Map<String, String> fragments() {
            Map<String, String> out = new LinkedHashMap<>(files);
            out.remove(mainName());
            return out;
        }
    }

    /**
     * What is known about a version without reading its files.
     *
     * @param sha256 of the files (as stored), to tell "the same" cheaply
     */
    public record Meta(long version, Instant at, String by, String comment, String sha256, int bytes, int chunks) {}

    private record Pointer(long version) {}

    private final Coordination zk;

    public ConfigStore(Coordination zk) {
        this.zk = zk;
    }

    /** The version in force, if any was stored. */
    public Optional<Long> currentNumber() {
        return zk.get(CURRENT).map(v -> Codec.value(v.value(), Pointer.class).version());
    }

    public Optional<Version> current() {
        return currentNumber().map(this::version);
    }

    /** Version {@code n}; an {@link IllegalArgumentException} naming the known ones if there is none. */
    public Version version(long n) {
        String dir = VERSIONS + "/" + key(n);
        Optional<Coordination.Versioned> m = zk.get(dir + "/meta");
        if (m.isEmpty()) {
            throw new IllegalArgumentException("there is no configuration version " + n + " (stored: "
                    + history().stream().map(x -> Long.toString(x.version())).toList() + ")");
        }
        Meta meta = Codec.value(m.get().value(), Meta.class);
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < meta.chunks(); i++) {
            keys.add(dir + "/" + chunkKey(i));
        }
        Map<String, Coordination.Versioned> got = zk.getMany(keys);
        ByteArrayOutputStream all = new ByteArrayOutputStream(meta.bytes());
        for (String k : keys) {
            Coordination.Versioned v = got.get(k);
            if (v == null) {
                throw new IllegalStateException("configuration version " + n + " is incomplete: " + k + " is missing");
            }
            all.writeBytes(v.value());
        }
        Map<String, String> files = decode(all.toByteArray());
        if (!sha256(files).equals(meta.sha256())) {
            throw new IllegalStateException("configuration version " + n + " does not match its checksum");
        }
        return new Version(n, files, meta);
    }

    /** Every stored version's meta, oldest first. */
    public List<Meta> history() {
        List<String> keys = new ArrayList<>();
        for (String v : zk.children(VERSIONS)) {
            keys.add(VERSIONS + "/" + v + "/meta");
        }
        Map<String, Coordination.Versioned> got = zk.getMany(keys);
        List<Meta> out = new ArrayList<>();
        for (String k : keys) {
            Coordination.Versioned v = got.get(k);
            if (v != null) {
                out.add(Codec.value(v.value(), Meta.class));
            }
        }
        out.sort(java.util.Comparator.comparingLong(Meta::version));
        return out;
    }

    /**
     * Stores {@code files} (main file first) as the version after {@code expected} (0: the first)
     * and puts it in force. {@link Coordination.ConflictException} when another version was put in
     * force since {@code expected}: nothing of this one is in force then.
     */
    public Meta store(Map<String, String> files, long expected, String by, String comment, Instant now) {
        if (files.isEmpty()) {
            throw new IllegalArgumentException("a configuration needs its main file");
        }
        Optional<Coordination.Versioned> cur = zk.get(CURRENT);
        long inForce = cur.map(v -> Codec.value(v.value(), Pointer.class).version()).orElse(0L);
        if (inForce != expected) {
            throw new Coordination.ConflictException("configuration version " + inForce + " is in force, not "
                    + expected + ": someone stored a version meanwhile (look at it: havm config history)");
        }
        long n = Math.max(expected, lastStored()) + 1;
        byte[] packed = encode(files);
        String dir = VERSIONS + "/" + key(n);
        int chunks = 0;
        for (int off = 0; off < packed.length || chunks == 0; off += CHUNK) {
            byte[] part = java.util.Arrays.copyOfRange(packed, off, Math.min(packed.length, off + CHUNK));
            zk.put(dir + "/" + chunkKey(chunks++), part, -1);
        }
        Meta meta = new Meta(n, now, by, comment, sha256(files), packed.length, chunks);
        zk.put(dir + "/meta", Codec.value(meta), -1);
        try {
            zk.put(CURRENT, Codec.value(new Pointer(n)), cur.map(Coordination.Versioned::version).orElse(-1));
        } catch (Coordination.ConflictException e) {
            // Lost the race to another store: this version was never in force, and the history must
            // not show it as if it had been (a crash right here still can leave one behind).
            forget(dir);
            throw e;
        }
        return meta;
    }

    /** Deletes a version this store wrote (its meta and chunks were created by it: create-only). */
    private void forget(String dir) {
        try {
            zk.delete(dir);
        } catch (RuntimeException e) {
            // cut off meanwhile: the leftover is a version that never was in force, as after a crash
        }
    }

    /** The highest version number written, in force or not (a failed store leaves one that never was). */
    private long lastStored() {
        long max = 0;
        for (String v : zk.children(VERSIONS)) {
            try {
                max = Math.max(max, Long.parseLong(v));
            } catch (NumberFormatException e) {
                // not ours
            }
        }
        return max;
    }

    /** Calls {@code onChange} when a version may have been put in force (a hint: read {@link #currentNumber}). */
    public void watch(Runnable onChange) {
        zk.watchChildren("config", onChange);
    }

    /** The checksum of a set of files, as {@link Meta#sha256} holds it. */
    public static String sha256(Map<String, String> files) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, String> e : files.entrySet()) {
                d.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
                d.update(e.getValue().getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String key(long n) {
        return String.format("%010d", n);
    }

    private static String chunkKey(int i) {
        return String.format("chunk-%04d", i);
    }

    private static byte[] encode(Map<String, String> files) {
        List<Map<String, String>> list = new ArrayList<>();
        files.forEach((k, v) -> list.add(Map.of("name", k, "text", v)));
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(b)) {
            z.write(Codec.value(list));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toByteArray();
    }

    private static Map<String, String> decode(byte[] packed) {
        try (GZIPInputStream z = new GZIPInputStream(new ByteArrayInputStream(packed))) {
            List<Map<String, String>> list = Codec.value(z.readAllBytes(),
                    new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, String>>>() { });
            Map<String, String> out = new LinkedHashMap<>();
            for (Map<String, String> f : list) {
                out.put(f.get("name"), f.get("text"));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("reading a stored configuration", e);
        }
    }

    /** For tests: the raw sizes of the version's znodes. */
    SortedMap<String, Integer> sizes(long n) {
        SortedMap<String, Integer> out = new TreeMap<>();
        zk.getAll(VERSIONS + "/" + key(n)).forEach((k, v) -> out.put(k, v.value().length));
        return out;
    }
}
