package io.havm.lab;

import io.havm.model.InvalidInputException;
import io.havm.util.Exec;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pacemaker's scheduler as the baseline of {@code havm bench scale}: for a cluster shape it writes a
 * CIB (a file in the benchmark's work folder; nothing is installed or started) and times
 * {@code crm_simulate -R -x cib.xml} on it, then checks from crm_simulate's transition summary that
 * the scheduler did what the scenario claims, so that a baseline which did nothing fails loudly.
 *
 * <p>The CIB mirrors havm's capacity model: every node has {@code utilization memory} (MiB), every
 * VM group is one {@code ocf:heartbeat:VirtualDomain} primitive with {@code utilization memory},
 * {@code placement-strategy=balanced} (capacity first, then the least loaded node, as havm places),
 * {@code resource-stickiness=100} (a running VM stays where it is, as in havm), stonith enabled with
 * one fence device. The status section is lean: a started resource has one successful start and
 * its recurring monitor on its node, with the operation digests Pacemaker computes, so a steady
 * cluster gives an empty transition; {@code enable-startup-probes=false} stands for "every other
 * node was probed already" (the probe history would be hosts × groups entries).
 */
public final class PacemakerBaseline {
    static final String CRM_SIMULATE = "crm_simulate";
    static final String LOST = "node1";
    private static final Duration TIMEOUT = Duration.ofMinutes(30);
    private static final Duration SHORT = Duration.ofSeconds(30);

    /** What the generated cluster is asked to decide. */
    public enum Scenario {
        /** Every VM running; node1 (with {@link Shape#onLostHost} of them) lost: fence it, place its VMs. */
        HOST_LOST("hostLost"),
        /** Every node online, no resource history: place every VM. */
        FORMATION("formation");

        private final String label;

        Scenario(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /**
     * A cluster: {@code hosts} nodes of {@code hostMemoryMiB}, {@code groups} VMs of
     * {@code vmMemoryMiB}, {@code onLostHost} of them on node1, the rest spread evenly over the
     * other nodes; {@code placementStrategy} is Pacemaker's ({@code balanced} is havm's rule).
     */
    public record Shape(int hosts, int groups, int onLostHost, long hostMemoryMiB, long vmMemoryMiB, String placementStrategy) {
        public static final long HOST_MEMORY_MIB = 512 * 1024;
        public static final long VM_MEMORY_MIB = 4096;

        public Shape {
            String where = "shape " + hosts + "x" + groups;
            if (hosts < 2) {
                throw new InvalidInputException(where, "a lost host needs at least 2 hosts");
            }
            if (groups < 1 || onLostHost < 0 || onLostHost > groups) {
                throw new InvalidInputException(where, "needs 1 or more groups and 0.." + groups + " on the lost host, not " + onLostHost);
            }
            if (hostMemoryMiB < 1 || vmMemoryMiB < 1) {
                throw new InvalidInputException(where, "memory must be positive");
            }
            if (!List.of("balanced", "utilization", "minimal", "default").contains(placementStrategy)) {
                throw new InvalidInputException(where, "unknown placement strategy " + placementStrategy);
            }
            long perHost = hostMemoryMiB / vmMemoryMiB;
            int others = hosts - 1;
            long spread = (groups - onLostHost + others - 1) / others;
            if (onLostHost > perHost || spread > perHost) {
                throw new InvalidInputException(where, "does not fit: " + Math.max(onLostHost, spread) + " VMs of "
                        + vmMemoryMiB + " MiB on a host of " + hostMemoryMiB + " MiB");
            }
            if ((long) groups > perHost * others) {
                throw new InvalidInputException(where, "the survivors cannot hold all " + groups + " VMs ("
                        + perHost + " per host)");
            }
        }

        /** havm's default sizes: 512 GiB hosts, 4 GiB VMs, balanced placement. */
        public static Shape of(int hosts, int groups, int onLostHost) {
            return new Shape(hosts, groups, onLostHost, HOST_MEMORY_MIB, VM_MEMORY_MIB, "balanced");
        }

        /** Where VM {@code g} (1-based) runs before the loss: 1..onLostHost on node1, the rest round-robin on 2..hosts. */
        int nodeOf(int g) {
            return g <= onLostHost ? 1 : 2 + (g - onLostHost - 1) % (hosts - 1);
        }
    }

    /** What crm_simulate's transition summary says was decided. */
    public record Counts(List<String> fenced, int placed, int moved, Map<String, Integer> others) {}

    /**
     * One timed run: {@code wall} is crm_simulate's process from start to exit, parsing and printing
     * included; {@code cpu} its user + system time (10 ms resolution; null where /proc cannot tell),
     * the figure to compare on a busy machine; {@code placed} the VMs the scheduler started
     * (formation) or moved off the lost node (hostLost), already checked against the shape.
     */
    public record Result(Scenario scenario, Shape shape, Duration wall, Duration cpu, int placed, List<String> fenced,
            String version, List<String> command, Path cib, long cibBytes) {}

    /** crm_simulate is missing, failed or decided something other than the scenario claims. */
    public static final class BaselineException extends RuntimeException {
        BaselineException(String message) {
            super(message);
        }
    }

    private PacemakerBaseline() {}

    /** Whether crm_simulate (Debian's pacemaker-cli-utils, see ci/install-deps) can run here. */
    public static boolean available() {
        return Exec.run(SHORT, List.of(CRM_SIMULATE, "--version")).ok();
    }

    /** crm_simulate's version line, e.g. "Pacemaker 2.1.5". */
    public static String version() {
        Exec.Outcome o = Exec.run(SHORT, List.of(CRM_SIMULATE, "--version"));
        if (!o.ok()) {
            throw new BaselineException(CRM_SIMULATE + " is not usable (" + (o.code() == 127 ? "not installed: Debian's "
                    + "pacemaker-cli-utils, ci/install-deps installs it" : "exit " + o.code()) + "): " + o.err().strip());
        }
        return o.out().lines().findFirst().orElse("").strip();
    }

    /** Writes the scenario's CIB to {@code workDir}, times crm_simulate on it and checks what it decided. */
    public static Result run(Shape s, Scenario sc, Path workDir) {
        String version = version();
        Path cib = workDir.resolve("pacemaker-" + sc.label() + "-" + s.hosts() + "x" + s.groups() + "-k" + s.onLostHost() + "-"
                + s.placementStrategy() + ".xml");
        try {
            Files.createDirectories(workDir);
            writeCib(s, sc, schema(), cib);
            List<String> command = List.of(CRM_SIMULATE, "--run", "--xml-file", cib.toString());
            long ticks0 = childCpuTicks();
            long t0 = System.nanoTime();
            Exec.Outcome o = Exec.run(TIMEOUT, command);
            Duration wall = Duration.ofNanos(System.nanoTime() - t0);
            long ticks1 = childCpuTicks();
            Duration cpu = ticks0 < 0 || ticks1 < 0 ? null : Duration.ofMillis((ticks1 - ticks0) * 1000 / CLOCK_TICKS);
            if (!o.ok()) {
                throw new BaselineException(String.join(" ", command) + ": " + (o.timedOut() ? "timed out after " + TIMEOUT
                        : "exit " + o.code()) + lastLines(o.err().isBlank() ? o.out() : o.err()));
            }
            Counts c = parse(o.out());
            int placed = check(s, sc, c, String.join(" ", command));
            return new Result(sc, s, wall, cpu, placed, c.fenced(), version, command, cib, Files.size(cib));
        } catch (IOException e) {
            throw new BaselineException("cannot write " + cib + ": " + e.getMessage());
        }
    }

    /**
     * What starting crm_simulate costs apart from scheduling: the median wall time of
     * {@code runs} runs on a tiny CIB (2 nodes, 1 VM to start), to subtract from or note beside
     * {@link Result#wall}.
     */
    public static Duration processOverhead(Path workDir, int runs) {
        List<Long> ns = new ArrayList<>();
        for (int i = 0; i < Math.max(1, runs); i++) {
            ns.add(run(new Shape(2, 1, 0, Shape.HOST_MEMORY_MIB, Shape.VM_MEMORY_MIB, "balanced"), Scenario.FORMATION, workDir).wall().toNanos());
        }
        ns.sort(null);
        return Duration.ofNanos(ns.get(ns.size() / 2));
    }

    /** USER_HZ, the unit of /proc's CPU times: 100 on every Linux that havm runs on. */
    private static final long CLOCK_TICKS = 100;

    /**
     * The user + system time of this JVM's finished children (cutime + cstime of /proc/self/stat,
     * in clock ticks), or -1 where there is no such file: its growth across one run is that run's
     * CPU time, as the benchmark runs one child at a time.
     */
    static long childCpuTicks() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[13]) + Long.parseLong(f[14]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static final Pattern PROFILE = Pattern.compile("Testing .* \\.\\.\\. ([0-9.]+) secs");

    /**
     * The scheduler alone on {@code cib} (e.g. {@link Result#cib}): {@code crm_simulate --profile DIR
     * --repeat N} runs the scheduler N times on the parsed CIB (unpacking the status, placing,
     * building the transition graph) and prints the CPU seconds Pacemaker measured itself; reading
     * the file, process start and printing are outside that figure. This returns one run's share.
     * The file is linked into a folder of its own beside it, as --profile reads every XML file of a folder.
     */
    public static Duration schedulerTime(Path cib, int repeat) {
        Path dir = cib.resolveSibling(cib.getFileName() + ".profile");
        Path copy = dir.resolve(cib.getFileName());
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(copy);
            Files.createLink(copy, cib);
            List<String> command = List.of(CRM_SIMULATE, "--profile", dir.toString(), "--repeat", Integer.toString(Math.max(1, repeat)));
            Exec.Outcome o = Exec.run(TIMEOUT, command);
            Matcher m = PROFILE.matcher(o.out());
            if (!o.ok() || !m.find()) {
                throw new BaselineException(String.join(" ", command) + ": " + (o.ok() ? "no timing in its output" : "exit " + o.code())
                        + lastLines(o.err().isBlank() ? o.out() : o.err()));
            }
            return Duration.ofNanos((long) (Double.parseDouble(m.group(1)) * 1e9 / Math.max(1, repeat)));
        } catch (IOException e) {
            throw new BaselineException("cannot link " + cib + " into " + dir + ": " + e.getMessage());
        } finally {
            try {
                Files.deleteIfExists(copy);
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // a leftover link in the benchmark's work folder is harmless
            }
        }
    }

    /** crm_feature_set and validate-with of the installed Pacemaker, from {@code cibadmin --empty}. */
    static String[] schema() {
        Exec.Outcome o = Exec.run(SHORT, List.of("cibadmin", "--empty"));
        Matcher fs = Pattern.compile("crm_feature_set=\"([^\"]+)\"").matcher(o.out());
        Matcher vw = Pattern.compile("validate-with=\"([^\"]+)\"").matcher(o.out());
        if (!o.ok() || !fs.find() || !vw.find()) {
            throw new BaselineException("cibadmin --empty (pacemaker-cli-utils) gave no CIB schema: exit " + o.code()
                    + lastLines(o.err()));
        }
        return new String[] {fs.group(1), vw.group(1)};
    }

    /** Writes the CIB of {@code s} for {@code sc}; {@code schema} is {crm_feature_set, validate-with}. */
    static void writeCib(Shape s, Scenario sc, String[] schema, Path file) throws IOException {
        String fs = schema[0];
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("<cib crm_feature_set=\"" + fs + "\" validate-with=\"" + schema[1]
                    + "\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\" have-quorum=\"1\" dc-uuid=\"2\">\n<configuration>\n"
                    + "<crm_config><cluster_property_set id=\"havm-bench\">"
                    + "<nvpair id=\"o-stonith\" name=\"stonith-enabled\" value=\"true\"/>"
                    + "<nvpair id=\"o-placement\" name=\"placement-strategy\" value=\"" + s.placementStrategy() + "\"/>"
                    + "<nvpair id=\"o-quorum\" name=\"no-quorum-policy\" value=\"stop\"/>"
                    + "<nvpair id=\"o-probes\" name=\"enable-startup-probes\" value=\"false\"/>"
                    + "</cluster_property_set></crm_config>\n"
                    + "<rsc_defaults><meta_attributes id=\"rsc-defaults\">"
                    + "<nvpair id=\"rd-stickiness\" name=\"resource-stickiness\" value=\"100\"/></meta_attributes></rsc_defaults>\n<nodes>\n");
            for (int n = 1; n <= s.hosts(); n++) {
                w.write("<node id=\"" + n + "\" uname=\"node" + n + "\"><utilization id=\"node" + n + "-u\"><nvpair id=\"node" + n
                        + "-u-m\" name=\"memory\" value=\"" + s.hostMemoryMiB() + "\"/></utilization></node>\n");
            }
            w.write("</nodes>\n<resources>\n<primitive id=\"fence\" class=\"stonith\" type=\"fence_ipmilan\">"
                    + "<operations><op id=\"fence-mon\" name=\"monitor\" interval=\"60s\"/></operations></primitive>\n");
            for (int g = 1; g <= s.groups(); g++) {
                w.write("<primitive id=\"vm" + g + "\" class=\"ocf\" provider=\"heartbeat\" type=\"VirtualDomain\">"
                        + "<instance_attributes id=\"vm" + g + "-p\"><nvpair id=\"vm" + g + "-c\" name=\"config\" value=\""
                        + config(g) + "\"/></instance_attributes><utilization id=\"vm" + g + "-u\"><nvpair id=\"vm" + g
                        + "-u-m\" name=\"memory\" value=\"" + s.vmMemoryMiB() + "\"/></utilization><operations><op id=\"vm" + g
                        + "-mon\" name=\"monitor\" interval=\"10s\"/></operations></primitive>\n");
            }
            w.write("</resources>\n<constraints/>\n</configuration>\n<status>\n");
            boolean history = sc == Scenario.HOST_LOST;
            List<List<Integer>> on = new ArrayList<>();
            for (int n = 0; n <= s.hosts(); n++) {
                on.add(new ArrayList<>());
            }
            if (history) {
                for (int g = 1; g <= s.groups(); g++) {
                    on.get(s.nodeOf(g)).add(g);
                }
            }
            for (int n = 1; n <= s.hosts(); n++) {
                boolean lost = history && n == 1;
                w.write("<node_state id=\"" + n + "\" uname=\"node" + n + "\" crm-debug-origin=\"havm-bench\" "
                        + (lost ? "in_ccm=\"false\" crmd=\"offline\" join=\"down\"" : "in_ccm=\"true\" crmd=\"online\" join=\"member\"")
                        + " expected=\"member\"><lrm id=\"" + n + "\"><lrm_resources>\n");
                if (history && n == 2) {
                    w.write("<lrm_resource id=\"fence\" class=\"stonith\" type=\"fence_ipmilan\">" + op(fs, "fence", "start", 0, n, null)
                            + op(fs, "fence", "monitor", 60000, n, null) + "</lrm_resource>\n");
                }
                for (int g : on.get(n)) {
                    String id = "vm" + g;
                    w.write("<lrm_resource id=\"" + id + "\" class=\"ocf\" provider=\"heartbeat\" type=\"VirtualDomain\">"
                            + op(fs, id, "start", 0, n, config(g)) + op(fs, id, "monitor", 10000, n, config(g)) + "</lrm_resource>\n");
                }
                w.write("</lrm_resources></lrm></node_state>\n");
            }
            w.write("</status>\n</cib>\n");
        }
    }

    private static String config(int g) {
        return "/etc/havm/vm" + g + ".xml";
    }

    /**
     * One successful operation in the status section. Its op-digest is Pacemaker's (2.1): the MD5 of
     * the operation's parameters as one sorted XML element, a recurring one with its timeout (the
     * 20 s default); with a wrong digest the scheduler restarts every VM "due to resource definition change".
     */
    private static String op(String featureSet, String rsc, String task, int intervalMs, int node, String config) {
        String params = " <parameters" + (intervalMs > 0 ? " CRM_meta_timeout=\"20000\"" : "")
                + (config == null ? "" : " config=\"" + config + "\"") + "/>\n";
        String key = rsc + "_" + task + "_" + intervalMs;
        int call = intervalMs > 0 ? 2 : 1;
        String tk = call + ":1:0:00000000-0000-0000-0000-000000000000";
        return "<lrm_rsc_op id=\"" + (intervalMs > 0 ? key : rsc + "_last_0") + "\" operation_key=\"" + key + "\" operation=\"" + task
                + "\" crm-debug-origin=\"havm-bench\" crm_feature_set=\"" + featureSet + "\" transition-key=\"" + tk
                + "\" transition-magic=\"0:0;" + tk + "\" exit-reason=\"\" on_node=\"node" + node + "\" call-id=\"" + call
                + "\" rc-code=\"0\" op-status=\"0\" interval=\"" + intervalMs + "\" last-rc-change=\"1700000000\" exec-time=\"0\""
                + " queue-time=\"0\" op-digest=\"" + md5(params) + "\"/>";
    }

    private static String md5(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final Pattern FENCE = Pattern.compile("^\\s*\\* Fence \\(\\w+\\) (\\S+)");
    private static final Pattern ACTION = Pattern.compile("^\\s*\\* (\\w+)\\s+(\\S+)\\s+\\(\\s*(.*?)\\s*\\)(.*)$");

    /** The transition summary of {@code crm_simulate --run}'s text output. */
    static Counts parse(String out) {
        List<String> fenced = new ArrayList<>();
        Map<String, Integer> others = new TreeMap<>();
        int placed = 0;
        int moved = 0;
        boolean summary = false;
        for (String line : (Iterable<String>) out.lines()::iterator) {
            if (line.startsWith("Transition Summary:")) {
                summary = true;
                continue;
            }
            if (!summary) {
                continue;
            }
            if (!line.isBlank() && !Character.isWhitespace(line.charAt(0))) {
                break;
            }
            Matcher f = FENCE.matcher(line);
            Matcher a = ACTION.matcher(line);
            if (f.find()) {
                fenced.add(f.group(1));
            } else if (a.find()) {
                String what = a.group(1);
                boolean vm = a.group(2).startsWith("vm");
                if (vm && what.equals("Start") && !a.group(3).contains("->")) {
                    placed++;
                } else if (vm && (what.equals("Move") || what.equals("Recover")) && a.group(3).startsWith(LOST + " -> ")
                        && !a.group(3).endsWith("-> " + LOST)) {
                    moved++;
                } else {
                    others.merge(what + " " + (vm ? "vm" : a.group(2)), 1, Integer::sum);
                }
            } else if (!line.isBlank()) {
                others.merge("unparsed: " + line.strip(), 1, Integer::sum);
            }
        }
        if (!summary) {
            throw new BaselineException("crm_simulate printed no transition summary" + lastLines(out));
        }
        return new Counts(List.copyOf(fenced), placed, moved, others);
    }

    /** Fails unless {@code c} is exactly what {@code sc} on {@code s} must decide; the count of VMs placed. */
    static int check(Shape s, Scenario sc, Counts c, String command) {
        List<String> problems = new ArrayList<>();
        Map<String, Integer> others = new TreeMap<>(c.others());
        if (sc == Scenario.HOST_LOST) {
            if (!c.fenced().equals(List.of(LOST))) {
                problems.add("fenced " + c.fenced() + ", expected [" + LOST + "]");
            }
            if (c.moved() != s.onLostHost() || c.placed() != 0) {
                problems.add("moved " + c.moved() + " VMs off " + LOST + " and started " + c.placed() + ", expected "
                        + s.onLostHost() + " and 0");
            }
        } else {
            others.remove("Start fence");
            if (!c.fenced().isEmpty()) {
                problems.add("fenced " + c.fenced() + ", expected none");
            }
            if (c.placed() != s.groups() || c.moved() != 0) {
                problems.add("started " + c.placed() + " VMs, expected " + s.groups());
            }
        }
        if (!others.isEmpty()) {
            problems.add("other actions " + others);
        }
        if (!problems.isEmpty()) {
            throw new BaselineException(command + " did not do what " + sc.label() + " " + s.hosts() + "x" + s.groups()
                    + " claims: " + String.join("; ", problems));
        }
        return sc == Scenario.HOST_LOST ? c.moved() : c.placed();
    }

    private static String lastLines(String text) {
        List<String> lines = text.strip().lines().toList();
        return lines.isEmpty() ? "" : ": " + String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
    }
}
