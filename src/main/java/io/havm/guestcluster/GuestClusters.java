package io.havm.guestcluster;

import io.havm.config.ClusterConfigLoader;
import io.havm.coordination.CoordinationException;
import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.libvirt.GuestImage;
import io.havm.libvirt.AccelProbe;
import io.havm.libvirt.DomainSpec;
import io.havm.model.ClusterSpec;
import io.havm.model.DomainType;
import io.havm.model.GroupSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.ResourceSpec;
import io.havm.model.StorageSpec;
import io.havm.policy.ClusterState;
import io.havm.policy.GroupPhase;
import io.havm.storage.LunPicker;
import io.havm.storage.Volumes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Guest clusters: N VMs that share raw, shareable disks (the guests run their own cluster software
 * over them), written into the cluster configuration as a fragment {@code <config>.d/NAME.yaml}
 * with one group per member, held apart by a hard anti-affinity class named after the guest cluster.
 * Planning (every name, file and LUN decided and checked before anything changes) and provisioning
 * (volumes, definitions, the fragment; rolled back when a step fails) live here; {@code havm
 * guest-cluster} only parses options and prints.
 *
 * <p>The fragment names everything create made in its header, which is what remove deletes.
 */
public final class GuestClusters {
    /** First line of a fragment made by create; remove and list recognise guest clusters by it. */
    public static final String MARK = "# havm guest-cluster: ";
    /** Header lines naming the files and directories create made (remove deletes them). */
    public static final String CREATED = "# havm-created: ";

    public static final int MIN_MEMBERS = 2;
    public static final int MAX_MEMBERS = 8;
    /** A VM has at most 20 disks (vda..vdt); one is the OS disk. */
    public static final int MAX_SHARED = 19;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Set<String> RESERVED = Set.of("os", "vm");
    private static final String OS_SIZE = "64M";


    /**
     * What create is asked for, as given (null: not given, the default applies). The values are
     * checked by {@link #plan}; errors name the command-line option.
     *
     * @param config the cluster configuration (absolute, existing)
     * @param consoleDir where members' serial consoles go (default: the OS pool's {@code console/})
     * @param stateDir where members' saved states would go (default: the OS pool's {@code save/})
     */
    public record CreateRequest(Path config, String name, String members, List<String> sharedDisks, String pool,
            String osPool, String memory, String osSize, String domainType, Path consoleDir, Path stateDir) {}

    /**
     * What the commands take from outside, replaceable in tests.
     *
     * @param guest the test guest's kernel and initrd (built on first use)
     * @param capacity an iSCSI LUN's size
     * @param step called before each step that changes something, with what it is about to do
     *        (tests fail a step here to check the rollback)
     * @param clusterState the cluster's state as its coordinator wrote it in ZooKeeper (empty: none
     *        yet); throws {@link CoordinationException} when ZooKeeper cannot be reached
     * @param hosts every node's hypervisor (remove asks each whether a member runs there); closed after
     */
    public record Env(Supplier<GuestImage> guest, LunPicker.Capacity capacity, Consumer<String> step,
            Function<ClusterSpec, Optional<ClusterState>> clusterState,
            Function<ClusterSpec, Map<String, Hypervisor>> hosts) {}

    private final Path home;
    private final Env env;

    /** @param home havm's home (its vm-templates) */
    public GuestClusters(Path home, Env env) {
        this.home = home;
        this.env = env;
    }

    /** One member VM: its group, OS disk and definition. */
    public record Member(String group, StorageSpec.Disk os, Path definition, Path serialLog, List<String> preferred,
            String xml) {}

    /** One shared disk: the name given on the command line and the disk made for it. */
    public record Shared(String given, StorageSpec.Disk disk) {}

    /** Everything create will make, decided and checked before anything is made. */
    public record Plan(String name, Path config, StorageSpec storage, List<Shared> shared, List<Member> members,
            long memoryMiB, Path defsDir, Path fragment, Path stateDir, boolean unsafeSharedStorage,
            List<Path> dirs, String fragmentText, List<String> warnings) {

        public Plan withFragmentText(String text) {
            return new Plan(name, config, storage, shared, members, memoryMiB, defsDir, fragment, stateDir,
                    unsafeSharedStorage, dirs, text, warnings);
        }
    }

    /**
     * Makes what the plan says. When a step fails it removes what it had made, newest first, and
     * throws {@link CreateFailed} saying why and what could not be removed.
     */
    public void create(Plan p) {
        List<Path> made = new ArrayList<>();
        try {
            make(p, made);
        } catch (RuntimeException | IOException e) {
            List<String> left = undo(made);
            String why = e instanceof UncheckedIOException u && u.getCause() != null ? e.getMessage() + ": "
                    + u.getCause().getMessage() : e.getMessage();
            throw new CreateFailed(why, made.size(), left);
        }
    }

    /** Create failed after it had made {@code made} files and directories; {@code left} could not be removed. */
    public static final class CreateFailed extends RuntimeException {
        public final int made;
        public final List<String> left;

        CreateFailed(String why, int made, List<String> left) {
            super(why);
            this.made = made;
            this.left = List.copyOf(left);
        }
    }

    /** Makes what the plan says, recording each file or directory in {@code made} before making it. */
    private void make(Plan p, List<Path> made) throws IOException {
        for (Path dir : p.dirs()) {
            env.step().accept("directory " + dir);
            Files.createDirectory(dir); // fails if it appeared meanwhile: then it is not ours to remove
            made.add(dir);
        }
        for (Shared s : p.shared()) {
            if (s.disk().volume() != null) {
                volume(p, s.disk(), made);
            }
        }
        for (Member m : p.members()) {
            volume(p, m.os(), made);
        }
        for (Member m : p.members()) {
            env.step().accept("definition " + m.definition());
            made.add(m.definition()); // in the directory just made: ours, even half-written
            Files.writeString(m.definition(), m.xml(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
        env.step().accept("fragment " + p.fragment());
        Path tmp = p.fragment().resolveSibling("." + p.name() + ".yaml.tmp");
        made.add(tmp);
        Files.writeString(tmp, p.fragmentText());
        made.add(p.fragment());
        Files.move(tmp, p.fragment(), StandardCopyOption.ATOMIC_MOVE);
        made.remove(tmp);
        env.step().accept("reload " + p.config());
        ClusterConfigLoader.load(p.config());
    }

    private void volume(Plan p, StorageSpec.Disk d, List<Path> made) {
        Path file = d.file((StorageSpec.SharedDir) p.storage().poolOf(d));
        env.step().accept("volume " + file);
        if (Files.exists(file)) {
            throw new IllegalStateException("volume " + file + " appeared since the checks; it is not havm's");
        }
        made.add(file); // before creating it: a failed qemu-img may leave an empty file behind
        Volumes.create(p.storage(), d);
    }

    /** Removes what create made, newest first; returns what could not be removed. */
    private static List<String> undo(List<Path> made) {
        List<String> left = new ArrayList<>();
        List<Path> reversed = new ArrayList<>(made);
        Collections.reverse(reversed);
        for (Path f : reversed) {
            try {
                Files.deleteIfExists(f);
            } catch (DirectoryNotEmptyException e) {
                left.add(f + " (not empty)");
            } catch (IOException e) {
                left.add(f + " (" + e.getMessage() + ")");
            }
        }
        return left;
    }

    /** Checks the command line against the configuration and decides every name, file and LUN. */
    public Plan plan(CreateRequest a) {
        Path config = a.config();
        ClusterConfigLoader.Loaded loaded = ClusterConfigLoader.load(config);
        ClusterSpec spec = loaded.spec();
        StorageSpec st = spec.storage();
        String name = a.name();
        int members = members(a.members());
        String longest = name + "-" + members + "-os";
        if (!NAME.matcher(name).matches() || !NAME.matcher(longest).matches()) {
            throw new InvalidInputException("NAME", "'" + name + "' is not a valid guest cluster name (letters,"
                    + " digits, '_', '.', '-'; short enough that member disk " + longest + " has at most 64 characters)");
        }
        long memory = wholeNumber("--memory", a.memory() == null ? "128" : a.memory(), 32, 1_048_576);
        long osSize = size("--os-size", a.osSize() == null ? OS_SIZE : a.osSize());
        String typeWord = a.domainType() == null ? "auto" : a.domainType();
        if (!typeWord.equals("auto")) {
            DomainType.parse("--domain-type", typeWord);
        }
        Map<String, Long> wanted = sharedDisks(a.sharedDisks(), name);

        // Hard anti-affinity: one node per member, among the nodes with room for one.
        long need = memory + spec.timers().perVmOverheadMiB();
        List<String> hosts = spec.nodes().stream().filter(n -> n.memoryMiB() >= need)
                .map(ClusterSpec.NodeSpec::name).toList();
        if (members > hosts.size()) {
            throw new InvalidInputException("--members", members + " members need " + members + " nodes (a hard"
                    + " anti-affinity class keeps each member on its own node), but only " + hosts.size()
                    + " node(s) can host one (" + need + " MiB with overhead): "
                    + (hosts.isEmpty() ? "none" : String.join(", ", hosts)) + " (nodes: "
                    + String.join(", ", spec.nodeNames()) + ")");
        }
        List<String> warnings = new ArrayList<>(loaded.warnings());
        if (members == hosts.size()) {
            warnings.add(members + " members on " + hosts.size() + " nodes: a member whose node fails stays offline"
                    + " until a node is free again (hard anti-affinity)");
        }

        // Pools.
        StorageSpec.Pool pool = sharedPool(st, a.pool());
        StorageSpec.SharedDir osPool = osPool(st, a.osPool(), pool);

        // Names: nothing of this guest cluster may exist yet.
        List<String> groups = new ArrayList<>();
        for (int i = 1; i <= members; i++) {
            groups.add(name + "-" + i);
        }
        Set<String> diskNames = new LinkedHashSet<>();
        wanted.keySet().forEach(d -> diskNames.add(name + "-" + d));
        groups.forEach(g -> diskNames.add(g + "-os"));
        for (String d : diskNames) {
            if (!NAME.matcher(d).matches()) {
                throw new InvalidInputException("--shared-disk", "disk name '" + d + "' (NAME-DNAME) is longer"
                        + " than 64 characters: choose shorter names");
            }
        }
        checkFree(spec, name, groups, diskNames);

        // Files: none may exist; the pools' directories must.
        Path fragDir = ClusterConfigLoader.fragmentDir(config);
        Path fragment = fragDir.resolve(name + ".yaml");
        Path defsDir = fragDir.resolve(name);
        // Consoles and saved states live on the OS disks' pool, which every node reaches, unless the
        // request names other directories.
        Path consoleDir = a.consoleDir() != null ? a.consoleDir() : osPool.path().resolve("console");
        Path stateDir = a.stateDir() != null ? a.stateDir() : osPool.path().resolve("save");
        for (Path p : List.of(fragment, defsDir)) {
            if (Files.exists(p)) {
                throw new InvalidInputException(name, p + " already exists: remove it (havm guest-cluster remove "
                        + name + " for one havm made) or choose another name");
            }
        }
        for (String g : groups) {
            Path sav = stateDir.resolve(g + ".sav");
            if (Files.exists(sav)) {
                throw new InvalidInputException(name, "a saved state of domain " + g + " exists (" + sav
                        + "): a new member would resume it; remove it or choose another name");
            }
        }
        List<Shared> shared = new ArrayList<>();
        if (pool instanceof StorageSpec.SharedDir sd) {
            poolDir(sd);
            for (Map.Entry<String, Long> w : wanted.entrySet()) {
                String dn = name + "-" + w.getKey();
                shared.add(new Shared(w.getKey(), new StorageSpec.Disk(dn, sd.name(), dn + ".raw", null,
                        StorageSpec.Format.RAW, w.getValue(), null, true)));
            }
        }
        poolDir(osPool);
        List<StorageSpec.Disk> osDisks = new ArrayList<>();
        for (String g : groups) {
            osDisks.add(new StorageSpec.Disk(g + "-os", osPool.name(), g + "-os.qcow2", null,
                    StorageSpec.Format.QCOW2, osSize, null, false));
        }
        List<Path> volumes = new ArrayList<>();
        for (StorageSpec.Disk d : Stream.concat(shared.stream().map(Shared::disk), osDisks.stream()).toList()) {
            Path f = d.file((StorageSpec.SharedDir) st.poolOf(d));
            if (Files.exists(f)) {
                throw new InvalidInputException("storage.pools." + d.pool(), "volume " + f + " (for disk " + d.name()
                        + ") already exists: havm does not take over a volume it did not make; remove it or choose"
                        + " another name");
            }
            volumes.add(f);
        }

        // iSCSI: the smallest free LUN that is large enough, for each shared disk.
        if (pool instanceof StorageSpec.Iscsi is) {
            Map<String, Integer> luns = LunPicker.pick(st, is, wanted, env.capacity(), "--shared-disk");
            for (Map.Entry<String, Long> w : wanted.entrySet()) {
                shared.add(new Shared(w.getKey(), new StorageSpec.Disk(name + "-" + w.getKey(), is.name(), null,
                        luns.get(w.getKey()), StorageSpec.Format.RAW, w.getValue(), null, true)));
            }
        }

        // Definitions: the test guest, booting from the member's OS disk (the cluster configuration
        // decides the disks the domain really gets when it comes online).
        GuestImage guest = env.guest().get();
        DomainType type = AccelProbe.resolve(typeWord, guest.kernel(), guest.initrd(), Path.of("/var/cache/havm"));
        List<Member> ms = new ArrayList<>();
        for (int i = 0; i < members; i++) {
            String g = groups.get(i);
            StorageSpec.Disk os = osDisks.get(i);
            Path log = consoleDir.resolve(g + ".log");
            DomainSpec ds = new DomainSpec(g, null, (int) memory, 1, type, guest.kernel(), guest.initrd(), null,
                    List.of(new DomainSpec.Disk(os.file(osPool), "qcow2")), null, log, Map.of());
            String xml = ds.render(home.resolve("vm-templates/lab-direct-kernel.xml"), false);
            List<String> preferred = new ArrayList<>(hosts.subList(i, hosts.size()));
            preferred.addAll(hosts.subList(0, i));
            ms.add(new Member(g, os, defsDir.resolve(g + ".xml"), log, preferred, xml));
        }
        boolean unsafe = Stream.of(pool, osPool).anyMatch(p -> p instanceof StorageSpec.SharedDir sd
                && !sd.libvirtSeesShared());

        // What create makes, in order: directories, volumes, definitions (the fragment comes last).
        List<Path> dirs = new ArrayList<>();
        for (Path dir : List.of(fragDir, consoleDir)) {
            if (!Files.isDirectory(dir) && !dirs.contains(dir)) {
                dirs.add(dir);
            }
        }
        dirs.add(defsDir);
        // Remove deletes these; the fragment and console directories may serve others by then and stay.
        List<Path> manifest = new ArrayList<>(List.of(defsDir));
        manifest.addAll(volumes);
        ms.forEach(m -> manifest.add(m.definition()));
        Plan plan = new Plan(name, config, st, shared, ms, memory, defsDir, fragment, stateDir, unsafe, dirs, null,
                warnings);
        plan = plan.withFragmentText(fragmentText(plan, manifest));
        checkLoads(config, fragment, plan.fragmentText());
        return plan;
    }

    private static int members(String v) {
        return (int) wholeNumber("--members", v, MIN_MEMBERS, MAX_MEMBERS);
    }

    private static long wholeNumber(String option, String v, long min, long max) {
        try {
            long n = Long.parseLong(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new InvalidInputException(option, "'" + v + "' is not allowed (allowed: " + min + ".." + max + ")");
    }

    private static long size(String option, String v) {
        return StorageSpec.parseSize(v).orElseThrow(() -> new InvalidInputException(option, "'" + v + "' is not "
                + StorageSpec.SIZE_SYNTAX));
    }

    /** --shared-disk DNAME:SIZE ..., by name in the given order. */
    private static Map<String, Long> sharedDisks(List<String> given, String name) {
        if (given.isEmpty()) {
            throw new InvalidInputException("--shared-disk", "is required: at least one shared disk DNAME:SIZE"
                    + " (e.g. --shared-disk witness:64M --shared-disk data:1G)");
        }
        if (given.size() > MAX_SHARED) {
            throw new InvalidInputException("--shared-disk", given.size() + " shared disks: at most " + MAX_SHARED
                    + " (a VM has 20 disks, one of them its OS disk)");
        }
        Map<String, Long> out = new LinkedHashMap<>();
        for (String g : given) {
            int colon = g.indexOf(':');
            if (colon <= 0 || colon == g.length() - 1) {
                throw new InvalidInputException("--shared-disk", "'" + g + "' is not DNAME:SIZE (e.g. witness:64M)");
            }
            String d = g.substring(0, colon);
            String s = g.substring(colon + 1);
            if (!NAME.matcher(d).matches()) {
                throw new InvalidInputException("--shared-disk " + g, "'" + d + "' is not a valid disk name"
                        + " (letters, digits, '_', '.', '-'; 1-64 characters)");
            }
            if (RESERVED.contains(d)) {
                throw new InvalidInputException("--shared-disk " + g, "'" + d + "' is reserved (each member has"
                        + " resources 'os' for its OS disk and 'vm'); choose another name");
            }
            long bytes = StorageSpec.parseSize(s).orElseThrow(() -> new InvalidInputException("--shared-disk " + g,
                    "'" + s + "' is not " + StorageSpec.SIZE_SYNTAX));
            if (out.put(d, bytes) != null) {
                throw new InvalidInputException("--shared-disk", "'" + d + "' is given twice (names must be unique)");
            }
        }
        return out;
    }

    private static String poolList(StorageSpec st) {
        return st.pools().isEmpty() ? "none" : String.join(", ", st.pools().values().stream()
                .map(p -> p.name() + " (" + p.type() + ")").toList());
    }

    /** --pool, or the only pool. */
    private static StorageSpec.Pool sharedPool(StorageSpec st, String given) {
        if (given != null) {
            return st.pool(given).orElseThrow(() -> new InvalidInputException("--pool", "unknown pool '" + given
                    + "' (storage.pools: " + poolList(st) + ")"));
        }
        if (st.pools().size() == 1) {
            return st.pools().values().iterator().next();
        }
        throw new InvalidInputException("--pool", st.pools().isEmpty()
                ? "the configuration has no storage.pools: add a shared-dir or iscsi pool for the shared disks"
                : "is required when there are several pools: name the one for the shared disks (storage.pools: "
                        + poolList(st) + ")");
    }

    /** --os-pool (shared-dir), or the shared disks' pool when it is shared-dir, else the first shared-dir pool. */
    private static StorageSpec.SharedDir osPool(StorageSpec st, String given, StorageSpec.Pool sharedPool) {
        List<String> dirs = st.pools().values().stream().filter(p -> p instanceof StorageSpec.SharedDir)
                .map(StorageSpec.Pool::name).toList();
        if (given != null) {
            StorageSpec.Pool p = st.pool(given).orElseThrow(() -> new InvalidInputException("--os-pool",
                    "unknown pool '" + given + "' (storage.pools: " + poolList(st) + ")"));
            if (p instanceof StorageSpec.SharedDir sd) {
                return sd;
            }
            throw new InvalidInputException("--os-pool", "pool '" + given + "' is " + p.type() + ": the members' OS"
                    + " disks are qcow2 files and need a shared-dir pool (shared-dir pools: "
                    + (dirs.isEmpty() ? "none" : String.join(", ", dirs)) + ")");
        }
        if (sharedPool instanceof StorageSpec.SharedDir sd) {
            return sd;
        }
        if (dirs.isEmpty()) {
            throw new InvalidInputException("--os-pool", "no shared-dir pool in storage.pools (" + poolList(st)
                    + "): the members' OS disks are qcow2 files on a shared-dir pool; add one and name it with"
                    + " --os-pool");
        }
        return (StorageSpec.SharedDir) st.pool(dirs.get(0)).orElseThrow();
    }

    private static void poolDir(StorageSpec.SharedDir sd) {
        if (!Files.isDirectory(sd.path())) {
            throw new InvalidInputException("storage.pools." + sd.name() + ".path", sd.path()
                    + " is not a directory here (is the shared file system mounted?)");
        }
    }

    /** No group, disk, domain or anti-affinity class of the guest cluster's names exists yet. */
    private static void checkFree(ClusterSpec spec, String name, List<String> groups, Set<String> disks) {
        Set<String> taken = new LinkedHashSet<>(groups);
        taken.add(name);
        for (GroupSpec g : spec.groups().values()) {
            if (taken.contains(g.name())) {
                throw new InvalidInputException(name, "group '" + g.name() + "' already exists in the"
                        + " configuration: choose another name");
            }
            if (g.antiAffinity().stream().anyMatch(x -> x.className().equals(name))) {
                throw new InvalidInputException(name, "group '" + g.name() + "' already uses anti-affinity class '"
                        + name + "' (the guest cluster's members get that class): choose another name");
            }
            for (ResourceSpec r : g.resources().values()) {
                String domain = r.type() == ResourceSpec.Type.VM ? r.domain()
                        : null;
                if (domain != null && taken.contains(domain)) {
                    throw new InvalidInputException(name, "domain '" + domain + "' is already resource " + g.name()
                            + "/" + r.name() + ": choose another name");
                }
            }
        }
        Set<String> both = new LinkedHashSet<>(disks);
        both.add(name);
        for (String d : both) {
            if (spec.storage().disks().containsKey(d)) {
                throw new InvalidInputException(name, "disk '" + d + "' already exists in storage.disks: choose"
                        + " another name");
            }
        }
    }

    /** Loads the configuration with the new fragment beside copies of the others: exit 2 if it would not. */
    private static void checkLoads(Path config, Path fragment, String text) {
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("havm-guest-cluster");
            Path cfg = Files.copy(config, tmp.resolve(config.getFileName()));
            Path dir = Files.createDirectories(ClusterConfigLoader.fragmentDir(cfg));
            for (Path f : ClusterConfigLoader.fragmentFiles(config)) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
            Files.writeString(dir.resolve(fragment.getFileName()), text);
            try {
                ClusterConfigLoader.load(cfg);
            } catch (InvalidInputException e) {
                String where = e.where().replace(tmp.toString(), config.getParent().toString());
                throw new InvalidInputException(where, e.getMessage().substring(e.where().length() + 2)
                        .replace(tmp.toString(), config.getParent().toString()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check the new fragment in a scratch directory", e);
        } finally {
            if (tmp != null) {
                deleteTree(tmp);
            }
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a scratch directory in /tmp; nothing depends on it
        }
    }

    private static String q(Object s) {
        return "'" + s.toString().replace("'", "''") + "'";
    }

    /** The fragment: header (what it is, what create made), storage.disks and one group per member. */
    public static String fragmentText(Plan p, List<Path> made) {
        StringBuilder y = new StringBuilder();
        y.append(MARK).append(p.name()).append('\n');
        y.append("# Made by 'havm guest-cluster create'. 'havm guest-cluster remove ").append(p.name())
                .append(" --config ").append(p.config()).append("'\n");
        y.append("# removes this file and what is listed below (iSCSI LUNs keep their data). A change here\n");
        y.append("# takes effect with 'havm config apply': the agents apply each version live.\n");
        for (Path f : made) {
            y.append(CREATED).append(f).append('\n');
        }
        y.append("storage:\n  disks:\n");
        List<StorageSpec.Disk> disks = new ArrayList<>();
        p.shared().forEach(s -> disks.add(s.disk()));
        p.members().forEach(m -> disks.add(m.os()));
        for (StorageSpec.Disk d : disks) {
            y.append("    ").append(d.name()).append(": {pool: ").append(d.pool());
            if (d.volume() != null) {
                y.append(", volume: ").append(d.volume());
            } else {
                y.append(", lun: ").append(d.lun());
            }
            y.append(", format: ").append(d.format().word).append(", size: ")
                    .append(StorageSpec.formatSize(d.sizeBytes()));
            if (d.shareable()) {
                y.append(", shareable: true");
            }
            y.append("}\n");
        }
        y.append("groups:\n");
        for (Member m : p.members()) {
            y.append("  ").append(m.group()).append(":\n");
            y.append("    preferredOwners: [").append(String.join(", ", m.preferred())).append("]\n");
            y.append("    antiAffinity: [{class: ").append(p.name()).append(", hard: true}]\n");
            y.append("    resources:\n");
            y.append("      os: {type: disk, disk: ").append(m.os().name()).append("}\n");
            List<String> attached = new ArrayList<>(List.of("os"));
            for (Shared s : p.shared()) {
                y.append("      ").append(s.given()).append(": {type: disk, disk: ").append(s.disk().name())
                        .append("}\n");
                attached.add(s.given());
            }
            y.append("      vm:\n        type: vm\n        memoryMiB: ").append(p.memoryMiB()).append('\n');
            // A member's saved memory would be stale once its partners wrote to the shared disks:
            // it is shut down (turned off if it does not comply), never saved and restored.
            y.append("        offlineAction: forced-shutdown\n");
            y.append("        disks: [").append(String.join(", ", attached)).append("]\n");
            y.append("        properties: {domain: ").append(m.group()).append(", definition: ")
                    .append(q(m.definition())).append(", stateDir: ").append(q(p.stateDir()));
            if (p.unsafeSharedStorage()) {
                y.append(", unsafeSharedStorage: 'true'");
            }
            y.append("}\n");
        }
        return y.toString();
    }

    /** A fragment made by create, read back. */
    public record Made(String name, Path fragment, List<Path> created, List<String> groups, Map<String, Map<?, ?>> disks,
            List<Path> states, List<String> domains) {}

    /**
     * What remove did: the groups it removed, how many files, the LUNs that keep their data; or,
     * when {@code inUse} is not empty, why nothing was changed. {@code left}: what it could not remove.
     */
    public record Removal(String name, List<String> groups, int removed, Map<String, Map<?, ?>> luns,
            List<String> inUse, List<String> left) {}

    /**
     * Removes a guest cluster made by create: its fragment, definitions, volumes and saved states
     * (LUNs keep their data), unless one of its members may still run or be wanted online.
     *
     * @param clusterStopped the operator says no agent runs (the cluster's state is not asked)
     * @param hostOff nodes the operator says are powered off (their libvirt is not asked)
     */
    public Removal remove(String name, Path config, boolean clusterStopped, List<String> hostOff) {
        Path fragment = ClusterConfigLoader.fragmentDir(config).resolve(name + ".yaml");
        if (!NAME.matcher(name).matches() || !Files.isRegularFile(fragment) || !isMade(fragment, name)) {
            throw new InvalidInputException(name, "is not a guest cluster made by havm (no " + fragment
                    + " beginning '" + MARK + name + "'; havm guest-cluster list --config " + config + " shows them)");
        }
        Made m = read(fragment, name);
        // The configuration must still load without it (nothing else may use its disks).
        Path aside = fragment.resolveSibling("." + name + ".yaml.removing");
        try {
            Files.move(fragment, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move " + fragment + " aside", e);
        }
        ClusterSpec rest;
        try {
            rest = ClusterConfigLoader.load(config).spec();
        } catch (InvalidInputException e) {
            putBack(aside, fragment);
            throw new InvalidInputException(name, "the configuration would not load without it, so it stays: "
                    + e.getMessage());
        }
        Set<String> off = new LinkedHashSet<>(hostOff);
        for (String h : off) {
            if (rest.node(h).isEmpty()) {
                putBack(aside, fragment);
                throw new InvalidInputException("--host-off", "unknown node '" + h + "' (nodes: " + String.join(", ",
                        rest.nodes().stream().map(ClusterSpec.NodeSpec::name).toList()) + ")");
            }
        }
        // Its volumes are about to be deleted: nothing of it may run, or be wanted online, anywhere.
        List<String> inUse = stillInUse(rest, m, config, clusterStopped, off);
        if (!inUse.isEmpty()) {
            putBack(aside, fragment);
            return new Removal(name, m.groups(), 0, Map.of(), inUse, List.of());
        }
        Set<String> volumes = new java.util.HashSet<>();
        m.disks().values().forEach(d -> {
            if (d.get("volume") != null) {
                volumes.add(d.get("volume").toString());
            }
        });
        Path defsDir = fragment.resolveSibling(name);
        List<Path> doomed = new ArrayList<>();
        List<String> left = new ArrayList<>();
        for (Path f : m.created()) {
            boolean ours = f.startsWith(defsDir) || volumes.contains(f.getFileName().toString());
            if (ours) {
                doomed.add(f);
            } else {
                left.add(f + " (not a volume or definition of " + name + "; left alone)");
            }
        }
        doomed.addAll(m.states());
        doomed.add(aside);
        int removed = 0;
        List<Path> reversed = new ArrayList<>(doomed);
        Collections.reverse(reversed);
        for (Path f : reversed) {
            try {
                if (Files.deleteIfExists(f)) {
                    removed++;
                }
            } catch (DirectoryNotEmptyException e) {
                left.add(f + " (not empty)");
            } catch (IOException e) {
                left.add(f + " (" + e.getMessage() + ")");
            }
        }
        Map<String, Map<?, ?>> luns = new LinkedHashMap<>();
        m.disks().forEach((d, spec) -> {
            if (spec.get("lun") != null) {
                luns.put(d, spec);
            }
        });
        return new Removal(name, m.groups(), removed, luns, List.of(), left);
    }

    private static void putBack(Path aside, Path fragment) {
        try {
            Files.move(aside, fragment, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException io) {
            throw new UncheckedIOException("cannot put " + fragment + " back from " + aside, io);
        }
    }

    /**
     * Why a guest cluster's members may still run or be started, one line each (empty: neither).
     * The coordinator must want each member offline and have it offline, unless the operator says
     * the whole cluster is stopped; and every node's libvirt must say no member runs there, unless
     * the operator says that node is powered off.
     */
    private List<String> stillInUse(ClusterSpec spec, Made m, Path config, boolean clusterStopped, Set<String> off) {
        List<String> why = new ArrayList<>();
        if (!clusterStopped) {
            try {
                Optional<ClusterState> state = env.clusterState().apply(spec);
                for (String g : m.groups()) {
                    ClusterState.Group st = state.map(x -> x.groups().get(g)).orElse(null);
                    if (st != null && (st.phase() != GroupPhase.OFFLINE || st.wantOnline())) {
                        why.add(g + " is " + st.phase().word() + (st.node() == null ? "" : " on " + st.node())
                                + " in the cluster: take it offline first (havm group offline " + g + " --config "
                                + config + ")");
                    }
                }
            } catch (CoordinationException e) {
                why.add("cannot read the cluster's state (" + e.getMessage() + "), so its members may still be"
                        + " wanted online: take them offline while the cluster runs, or, if every agent is stopped,"
                        + " pass --cluster-stopped");
            }
        }
        Map<String, Hypervisor> hosts = env.hosts().apply(spec);
        try {
            for (ClusterSpec.NodeSpec n : spec.nodes()) {
                if (off.contains(n.name())) {
                    continue;
                }
                Hypervisor h = hosts.get(n.name());
                try {
                    for (String d : m.domains()) {
                        Optional<DomainState> st = h.state(d);
                        if (st.map(DomainState::active).orElse(false)) {
                            why.add(d + " runs on " + n.name() + " (libvirt says " + st.get() + ")");
                        }
                    }
                } catch (HypervisorException e) {
                    why.add(n.name() + ": cannot ask libvirt whether " + String.join(", ", m.domains())
                            + " run there (" + e.getMessage() + "); if " + n.name() + " is powered off, pass"
                            + " --host-off " + n.name());
                }
            }
        } finally {
            hosts.values().forEach(Hypervisor::close);
        }
        return why;
    }

    public static boolean isMade(Path fragment, String name) {
        try (var r = Files.newBufferedReader(fragment)) {
            String first = r.readLine();
            return first != null && first.strip().equals(MARK.strip() + " " + name);
        } catch (IOException e) {
            return false;
        }
    }

    /** Reads a fragment made by create: its header and what it holds. */
    public static Made read(Path fragment, String name) {
        String text;
        try {
            text = Files.readString(fragment);
        } catch (IOException e) {
            throw new InvalidInputException(fragment.toString(), "cannot read: " + e.getMessage());
        }
        List<Path> created = new ArrayList<>();
        for (String line : text.lines().toList()) {
            if (line.startsWith(CREATED)) {
                created.add(Path.of(line.substring(CREATED.length()).strip()));
            }
        }
        Object root;
        try {
            root = new org.yaml.snakeyaml.Yaml(new SafeConstructor(new LoaderOptions())).load(text);
        } catch (RuntimeException e) {
            throw new InvalidInputException(fragment.toString(), "malformed YAML: " + e.getMessage());
        }
        Map<?, ?> top = root instanceof Map<?, ?> mp ? mp : Map.of();
        Map<?, ?> groups = map(top.get("groups"));
        Map<?, ?> disks = map(map(top.get("storage")).get("disks"));
        Map<String, Map<?, ?>> ds = new LinkedHashMap<>();
        disks.forEach((k, v) -> ds.put(k.toString(), map(v)));
        List<Path> states = new ArrayList<>();
        List<String> domains = new ArrayList<>();
        for (Object g : groups.values()) {
            for (Map.Entry<?, ?> r : map(map(g).get("resources")).entrySet()) {
                if (!"vm".equals(map(r.getValue()).get("type"))) {
                    continue;
                }
                Map<?, ?> props = map(map(r.getValue()).get("properties"));
                Object domain = props.get("domain") != null ? props.get("domain") : r.getKey();
                domains.add(domain.toString());
                if (props.get("stateDir") != null) {
                    states.add(Path.of(props.get("stateDir").toString()).resolve(domain + ".sav"));
                }
            }
        }
        return new Made(name, fragment, created, groups.keySet().stream().map(Object::toString).toList(), ds, states,
                domains);
    }

    private static Map<?, ?> map(Object o) {
        return o instanceof Map<?, ?> m ? m : Map.of();
    }

    /** A guest cluster made by create, as list shows it. */
    public record Listed(String name, List<String> groups, List<String> shared) {}

    /** The guest clusters havm made beside {@code config}. */
    public static List<Listed> list(Path config) {
        ClusterSpec spec = ClusterConfigLoader.load(config).spec();
        List<Listed> all = new ArrayList<>();
        for (Path f : ClusterConfigLoader.fragmentFiles(config)) {
            String file = f.getFileName().toString();
            String name = file.substring(0, file.length() - ".yaml".length());
            if (!isMade(f, name)) {
                continue;
            }
            Made m = read(f, name);
            List<String> shared = new ArrayList<>();
            for (String d : m.disks().keySet()) {
                StorageSpec.Disk disk = spec.storage().disks().get(d);
                if (disk != null && disk.shareable()) {
                    String given = d.startsWith(name + "-") ? d.substring(name.length() + 1) : d;
                    shared.add(given + " " + describe(spec.storage(), disk));
                }
            }
            all.add(new Listed(name, m.groups(), shared));
        }
        return all;
    }

    /** "64M raw, pool shared (/pool/x.raw)" or "1G, pool lab LUN 3". */
    public static String describe(StorageSpec st, StorageSpec.Disk d) {
        StorageSpec.Pool p = st.poolOf(d);
        if (p instanceof StorageSpec.SharedDir sd) {
            return StorageSpec.formatSize(d.sizeBytes()) + " " + d.format().word + ", pool " + sd.name() + " ("
                    + d.file(sd) + ")";
        }
        return "at least " + StorageSpec.formatSize(d.sizeBytes()) + ", pool " + p.name() + " LUN " + d.lun();
    }
}
