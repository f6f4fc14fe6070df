package io.havm.config;

import io.havm.model.StorageSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;

/**
 * The {@code storage} section: {@code leaseDir}, {@code pools} (main file only) and {@code disks}
 * (main file and fragments). Disks are checked against the pools once everything is read.
 */
final class StorageParts {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Pattern IQN = Pattern.compile("(iqn\\.[0-9]{4}-[0-9]{2}\\.[a-z0-9.-]+(:[^\\s/]+)?|eui\\.[0-9A-Fa-f]{16})");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+]");
    private static final Pattern VOLUME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

    private Path leaseDir;
    private final Map<String, StorageSpec.Pool> pools = new LinkedHashMap<>();
    private final List<PendingDisk> disks = new ArrayList<>();
    private final Map<String, Yaml> diskFile = new HashMap<>();

    private record PendingDisk(Yaml y, String name, Node node) {}

    void main(Yaml y, Node n) {
        Map<String, Node> m = y.mapping(n, "storage", Set.of("leaseDir", "pools", "disks"));
        if (m.containsKey("leaseDir")) {
            leaseDir = absolute(y, m.get("leaseDir"), "storage.leaseDir", y.text(m, "leaseDir", "storage.leaseDir", null));
        }
        if (m.containsKey("pools")) {
            for (Map.Entry<String, Node> e : y.mapping(m.get("pools"), "storage.pools", null).entrySet()) {
                pools.put(e.getKey(), pool(y, e.getKey(), e.getValue()));
            }
        }
        disks(y, m.get("disks"));
    }

    void fragment(Yaml y, Node n) {
        Map<String, Node> m = y.mapping(n, "storage", Set.of("disks"));
        disks(y, m.get("disks"));
    }

    private void disks(Yaml y, Node n) {
        if (n == null) {
            return;
        }
        for (Map.Entry<String, Node> e : y.mapping(n, "storage.disks", null).entrySet()) {
            Yaml before = diskFile.put(e.getKey(), y);
            if (before != null) {
                throw y.error(e.getValue(), "storage.disks." + e.getKey(), "is also defined in " + before.file);
            }
            disks.add(new PendingDisk(y, e.getKey(), e.getValue()));
        }
    }

    StorageSpec build() {
        Map<String, StorageSpec.Disk> out = new LinkedHashMap<>();
        Map<String, String> usedBy = new HashMap<>(); // "pool/volume" or "pool#lun" -> disk
        for (PendingDisk d : disks) {
            StorageSpec.Disk disk = disk(d.y(), d.name(), d.node());
            String where = disk.volume() != null ? disk.pool() + "/" + disk.volume() : disk.pool() + "#" + disk.lun();
            String other = usedBy.put(where, disk.name());
            if (other != null) {
                throw d.y().error(d.node(), "storage.disks." + d.name(), (disk.volume() != null ? "volume '"
                        + disk.volume() + "'" : "LUN " + disk.lun()) + " of pool '" + disk.pool()
                        + "' is already disk '" + other + "'");
            }
            out.put(disk.name(), disk);
        }
        return new StorageSpec(leaseDir, pools, out);
    }

    private static Path absolute(Yaml y, Node at, String field, String v) {
        Path p = Path.of(v);
        if (!p.isAbsolute()) {
            throw y.error(at, field, "'" + v + "' must be an absolute path");
        }
        return p.normalize();
    }

    private static void checkName(Yaml y, Node at, String field, String v) {
        if (!NAME.matcher(v).matches()) {
            throw y.error(at, field, "'" + v + "' is not a valid name (letters, digits, '_', '.', '-'; 1-64 characters)");
        }
    }

    private static StorageSpec.Pool pool(Yaml y, String name, Node n) {
        String f = "storage.pools." + name;
        checkName(y, n, f, name);
        Map<String, Node> m = y.mapping(n, f, Set.of("type", "path", "libvirtSeesShared", "portal", "target", "luns"));
        String type = y.required(m, "type", f + ".type", n);
        switch (type) {
            case "shared-dir" -> {
                for (String k : List.of("portal", "target", "luns")) {
                    if (m.containsKey(k)) {
                        throw y.error(m.get(k), f + "." + k, "belongs to an iscsi pool, not shared-dir");
                    }
                }
                Path path = absolute(y, m.get("path"), f + ".path", y.required(m, "path", f + ".path", n));
                return new StorageSpec.SharedDir(name, path, y.bool(m, "libvirtSeesShared", f + ".libvirtSeesShared",
                        false));
            }
            case "iscsi" -> {
                for (String k : List.of("path", "libvirtSeesShared")) {
                    if (m.containsKey(k)) {
                        throw y.error(m.get(k), f + "." + k, "belongs to a shared-dir pool, not iscsi");
                    }
                }
                String portal = y.required(m, "portal", f + ".portal", n);
                int colon = portal.lastIndexOf(':');
                String host = colon > 0 && !portal.endsWith("]") ? portal.substring(0, colon) : portal;
                int port = 3260;
                if (colon > 0 && !portal.endsWith("]")) {
                    try {
                        port = Integer.parseInt(portal.substring(colon + 1));
                    } catch (NumberFormatException e) {
                        port = -1;
                    }
                }
                if (!HOST.matcher(host).matches() || port < 1 || port > 65535) {
                    throw y.error(m.get("portal"), f + ".portal", "'" + portal
                            + "' is not a portal (host or address, optionally :port; e.g. 10.0.0.5:3260)");
                }
                String target = y.required(m, "target", f + ".target", n);
                if (!IQN.matcher(target).matches()) {
                    throw y.error(m.get("target"), f + ".target", "'" + target
                            + "' is not an iSCSI name (iqn.YYYY-MM.reversed.domain[:name], or eui.<16 hex digits>)");
                }
                List<Integer> luns = new ArrayList<>();
                if (m.containsKey("luns")) {
                    for (String l : y.names(m, "luns", f + ".luns")) {
                        luns.add(lun(y, m.get("luns"), f + ".luns", l));
                    }
                }
                return new StorageSpec.Iscsi(name, host, port, target, luns);
            }
            default -> throw y.error(m.get("type"), f + ".type", "'" + type
                    + "' is not allowed (allowed: shared-dir, iscsi)");
        }
    }

    private static int lun(Yaml y, Node at, String field, String v) {
        try {
            int l = Integer.parseInt(v);
            if (l >= 0 && l <= 16383) {
                return l;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw y.error(at, field, "'" + v + "' is not a LUN (0..16383)");
    }

    private StorageSpec.Disk disk(Yaml y, String name, Node n) {
        String f = "storage.disks." + name;
        checkName(y, n, f, name);
        Map<String, Node> m = y.mapping(n, f, Set.of("pool", "volume", "lun", "format", "size", "backing",
                "shareable"));
        String poolName = y.required(m, "pool", f + ".pool", n);
        StorageSpec.Pool pool = pools.get(poolName);
        if (pool == null) {
            throw y.error(m.get("pool"), f + ".pool", "unknown pool '" + poolName + "' (storage.pools: "
                    + (pools.isEmpty() ? "none" : String.join(", ", pools.keySet())) + ")");
        }
        boolean shareable = y.bool(m, "shareable", f + ".shareable", false);
        long size = 0;
        if (m.containsKey("size")) {
            String s = y.text(m, "size", f + ".size", null);
            size = StorageSpec.parseSize(s).orElseThrow(() -> y.error(m.get("size"), f + ".size", "'" + s
                    + "' is not " + StorageSpec.SIZE_SYNTAX));
        }
        String fmtWord = y.text(m, "format", f + ".format", pool instanceof StorageSpec.SharedDir && !shareable
                ? "qcow2" : "raw");
        StorageSpec.Format format = StorageSpec.Format.of(fmtWord).orElseThrow(() -> y.error(m.get("format"),
                f + ".format", "'" + fmtWord + "' is not allowed (allowed: raw, qcow2)"));
        Path backing = null;
        if (m.containsKey("backing")) {
            backing = absolute(y, m.get("backing"), f + ".backing", y.text(m, "backing", f + ".backing", null));
        }
        if (shareable && (format != StorageSpec.Format.RAW || backing != null)) {
            // Point at the field that makes it unsafe: the format when it is not raw, else the backing file.
            throw y.error(format != StorageSpec.Format.RAW ? m.getOrDefault("format", n) : m.get("backing"), f,
                    "a shareable disk must be raw with no backing file: qcow2 and differencing disks are not safe"
                            + " for several writers (ensure it is not a differencing disk; use format: raw)");
        }
        if (backing != null && format != StorageSpec.Format.QCOW2) {
            throw y.error(m.get("backing"), f + ".backing", "only a qcow2 volume has a backing file (format is "
                    + format.word + ")");
        }
        if (pool instanceof StorageSpec.SharedDir) {
            if (m.containsKey("lun")) {
                throw y.error(m.get("lun"), f + ".lun", "belongs to a disk on an iscsi pool; '" + poolName
                        + "' is shared-dir (name the file with volume)");
            }
            String volume = y.text(m, "volume", f + ".volume", name + "." + format.word);
            if (!VOLUME.matcher(volume).matches()) {
                throw y.error(m.get("volume"), f + ".volume", "'" + volume
                        + "' is not a file name in the pool (letters, digits, '_', '.', '-'; no '/')");
            }
            if (size == 0 && backing == null) {
                throw y.error(n, f + ".size", "is required to create the volume (" + StorageSpec.SIZE_SYNTAX + ")");
            }
            return new StorageSpec.Disk(name, poolName, volume, null, format, size, backing, shareable);
        }
        StorageSpec.Iscsi iscsi = (StorageSpec.Iscsi) pool;
        for (String k : List.of("volume", "backing")) {
            if (m.containsKey(k)) {
                throw y.error(m.get(k), f + "." + k, "belongs to a disk on a shared-dir pool; '" + poolName
                        + "' is iscsi (name the LUN with lun)");
            }
        }
        if (format != StorageSpec.Format.RAW) {
            throw y.error(m.get("format"), f + ".format", "a LUN is a raw block device (allowed: raw)");
        }
        String l = y.required(m, "lun", f + ".lun", n);
        int lun = lun(y, m.get("lun"), f + ".lun", l);
        if (!iscsi.luns().isEmpty() && !iscsi.luns().contains(lun)) {
            throw y.error(m.get("lun"), f + ".lun", "LUN " + lun + " is not among pool '" + poolName + "' luns "
                    + iscsi.luns());
        }
        return new StorageSpec.Disk(name, poolName, null, lun, format, size, null, shareable);
    }
}
