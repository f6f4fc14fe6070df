package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.havm.config.BootstrapLoader;
import io.havm.config.ClusterConfigLoader;
import io.havm.config.PlaybookLoader;
import io.havm.libvirt.DomainSpec;
import io.havm.model.DomainType;
import io.havm.model.InvalidInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Random and mutated documents for every loader of operator input: the cluster configuration,
 * the bootstrap file, playbooks and VM files. Each document is either accepted or refused with
 * an {@link InvalidInputException} whose message names the file; anything else (another
 * exception, a stack overflow, a hang) fails, with the seed and the document to reproduce it.
 * The seeds are fixed, so a failure is the same on every run.
 */
class InputFuzzTest {
    /** Per document: a loader that takes longer is hung (a real document loads in milliseconds). */
    private static final Duration PER_DOCUMENT = Duration.ofSeconds(5);
    /** Mutants per seed and loader; -Dhavm.fuzz.mutants=5000 for a deeper run by hand. */
    private static final int MUTANTS_PER_SEED = Integer.getInteger("havm.fuzz.mutants", 40);
    private static final long[] SEEDS = {1, 2, 3, 42, 1234, 99991};

    private static final String VM = """
            name: web
            memoryMiB: 128
            vcpus: 1
            domainType: qemu
            template: lab-direct-kernel
            kernel: /boot/vmlinuz
            initrd: /boot/initrd.img
            disk: {path: /srv/shared/web.qcow2, format: qcow2, size: 64M}
            serialLog: /srv/shared/web.console.log
            migration: {unsafeSharedStorage: true, tls: false}
            resource:
              useAgentIsAlive: true
              agentFailureAction: turn-off
              offlineAction: save
              onlineTimeout: 300s
            """;

    /** Resolves kernel and initrd as paths, never building or booting anything. */
    private static final VmFile.Boot BOOT = (kernel, initrd, type) -> new VmFile.Boot.Resolved(Path.of(kernel),
            Path.of(initrd), type.equals("auto") ? DomainType.QEMU : DomainType.parse("domainType", type));

    private static final String[] SPECIALS = {"&a ", "*a", "!!java.lang.Object ", "{", "}", "[", "]", "\t", ": ",
        "- ", "? ", "|", ">", "'", "\"", "#", "%YAML 1.1\n", "---\n", "...\n", "99999999999999999999",
        "9223372036854775808", "99999999999999999999s", "9999999999999h", "-1", "0", "1e309", "0x7fffffff", "never", "~", "null", "\u0000", "\uFEFF", "\\",
        "!!binary AAAA", "<<: *a", "&a [*a]", "${NAME}", "../../etc/passwd", "\"/a\\0b\"", "\"\\x00\"", "/", "\n  ", "é", "\uD83D\uDE00"};

    private record Loader(String file, Consumer<String> load) {}

    private static final List<Loader> LOADERS = List.of(
            new Loader("fuzz-cluster.yaml", t -> ClusterConfigLoader.parse("fuzz-cluster.yaml", t).forRealHosts()),
            new Loader("fuzz-agent.yaml", t -> BootstrapLoader.parse("fuzz-agent.yaml", t)),
            new Loader("fuzz-playbook.yaml", t -> PlaybookLoader.parse("fuzz-playbook.yaml", t)),
            new Loader("fuzz-vm.yaml", t -> VmFile.parse(Path.of("fuzz-vm.yaml"), t, BOOT)));

    private static List<String> seeds(Loader l) throws Exception {
        return switch (l.file()) {
            case "fuzz-cluster.yaml" -> List.of(Files.readString(Path.of("examples/cluster.yaml")));
            case "fuzz-agent.yaml" -> List.of(Files.readString(Path.of("examples/agent.yaml")));
            case "fuzz-playbook.yaml" -> {
                List<String> p = new ArrayList<>();
                try (var s = Files.list(Path.of("playbooks"))) {
                    for (Path f : s.filter(x -> x.toString().endsWith(".yaml")).sorted().limit(4).toList()) {
                        p.add(Files.readString(f));
                    }
                }
                yield p;
            }
            default -> List.of(VM);
        };
    }

    /** One mutation of {@code doc}: lines deleted, duplicated or swapped, characters flipped, YAML specials, nesting. */
    static String mutate(String doc, Random r) {
        List<String> lines = new ArrayList<>(Arrays.asList(doc.split("\n", -1)));
        int edits = 1 + r.nextInt(4);
        for (int e = 0; e < edits && !lines.isEmpty(); e++) {
            int i = r.nextInt(lines.size());
            String line = lines.get(i);
            switch (r.nextInt(9)) {
                case 0 -> lines.remove(i);
                case 1 -> lines.add(i, line);
                case 2 -> {
                    int j = r.nextInt(lines.size());
                    lines.set(i, lines.get(j));
                    lines.set(j, line);
                }
                case 3 -> { // flip a character
                    if (!line.isEmpty()) {
                        int k = r.nextInt(line.length());
                        lines.set(i, line.substring(0, k) + (char) (32 + r.nextInt(95)) + line.substring(k + 1));
                    }
                }
                case 4, 5 -> { // a YAML special where a value or key starts
                    int k = line.isEmpty() ? 0 : r.nextInt(line.length() + 1);
                    lines.set(i, line.substring(0, k) + SPECIALS[r.nextInt(SPECIALS.length)] + line.substring(k));
                }
                case 6 -> { // replace a value with a huge or odd one
                    int colon = line.indexOf(": ");
                    if (colon > 0) {
                        lines.set(i, line.substring(0, colon + 2) + SPECIALS[r.nextInt(SPECIALS.length)]);
                    }
                }
                case 7 -> { // deep nesting
                    int depth = 1 + r.nextInt(r.nextBoolean() ? 60 : 3000);
                    lines.set(i, line + " " + "[".repeat(depth) + "]".repeat(r.nextInt(depth + 1)));
                }
                default -> { // indentation shifted
                    lines.set(i, (r.nextBoolean() ? "  " : "") + line.stripLeading());
                }
            }
        }
        return String.join("\n", lines);
    }

    /** Random bytes of YAML's alphabet: what a corrupt file looks like. */
    static String noise(Random r) {
        String alphabet = "ab1:- \n\t#{}[]&*!|>'\",?%@`";
        StringBuilder b = new StringBuilder();
        int n = r.nextInt(400);
        for (int i = 0; i < n; i++) {
            b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    private static void check(Loader l, String doc, long seed) {
        assertTimeoutPreemptively(PER_DOCUMENT, () -> {
            try {
                l.load().accept(doc);
            } catch (InvalidInputException e) {
                if (!e.getMessage().contains(l.file())) {
                    fail("seed " + seed + ": " + l.file() + ": the message does not name the file: " + e.getMessage()
                            + "\n--- document ---\n" + doc);
                }
            } catch (Throwable t) {
                fail("seed " + seed + ": " + l.file() + ": " + t + "\n--- document ---\n" + doc, t);
            }
        }, () -> "seed " + seed + ": " + l.file() + ": no answer within " + PER_DOCUMENT + "\n--- document ---\n" + doc);
    }

    @Test
    void everyLoaderAcceptsOrRefusesByNameAnyMutationOfAValidDocument() throws Exception {
        for (Loader l : LOADERS) {
            List<String> valid = seeds(l);
            for (long seed : SEEDS) {
                Random r = new Random(seed);
                for (int i = 0; i < MUTANTS_PER_SEED; i++) {
                    check(l, mutate(valid.get(r.nextInt(valid.size())), r), seed);
                }
                check(l, noise(r), seed);
            }
        }
    }

    @Test
    void theSeedsAreValid() throws Exception {
        for (Loader l : LOADERS) {
            for (String doc : seeds(l)) {
                l.load().accept(doc); // accepted as they are: the mutations start from real documents
            }
        }
    }

    /** Counts its instances: a YAML tag that names it must never make one. */
    public static final class Canary {
        static final AtomicInteger MADE = new AtomicInteger();

        public Canary() {
            MADE.incrementAndGet();
        }

        public Canary(String s) {
            MADE.incrementAndGet();
        }
    }

    @Test
    void tagsNeverInstantiateJavaClasses() throws Exception {
        String tag = "!!" + Canary.class.getName();
        List<String> payloads = List.of(tag + " {}\n", "x: " + tag + " {}\n", "cluster: " + tag + " {}\n",
                "name: " + tag + " web\n", tag + " [a]\n", "!<tag:yaml.org,2002:" + Canary.class.getName() + "> {}\n",
                "cluster: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL"
                        + " [\"http://127.0.0.1:1/\"]]]]\n");
        for (Loader l : LOADERS) {
            for (String valid : seeds(l)) {
                List<String> docs = new ArrayList<>(payloads);
                docs.add(tag + "\n" + valid); // the whole valid document tagged
                docs.add(valid.replaceFirst(": ", java.util.regex.Matcher.quoteReplacement(": " + tag + " ")));
                for (String doc : docs) {
                    check(l, doc, 0);
                }
            }
        }
        assertEquals(0, Canary.MADE.get(), "a YAML tag made a Java object");
        assertTrue(DomainSpec.class.getName().startsWith("io.havm"), "classpath sanity");
    }
}
