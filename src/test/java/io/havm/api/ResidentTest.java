package io.havm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The resident client's side of the launcher's protocol, spoken as ./havm speaks it. */
class ResidentTest {
    @TempDir
    Path tmp;

    private final List<Resident> started = new ArrayList<>();
    private final AtomicReference<List<String>> ran = new AtomicReference<>();
    private final AtomicReference<Map<String, String>> envSeen = new AtomicReference<>();
    private final AtomicBoolean terminalSeen = new AtomicBoolean();

    @AfterEach
    void stop() {
        started.forEach(Resident::close);
    }

    private Path dir() throws Exception {
        Path d = tmp.resolve("resident");
        Files.createDirectory(d, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        return d;
    }

    /** A resident serving in its own thread, once its endpoint is written. */
    private Resident serve(Path dir, Resident.Runner runner) {
        Resident r = new Resident(dir, "id-1", null, runner);
        started.add(r);
        CompletableFuture.runAsync(() -> {
            try {
                r.serve();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.isRegularFile(dir.resolve("endpoint")));
        return r;
    }

    private Resident.Runner recording(Resident.Runner then) {
        return (argv, out, err, env, terminal) -> {
            ran.set(argv);
            envSeen.set(env);
            terminalSeen.set(terminal);
            return then.run(argv, out, err, env, terminal);
        };
    }

    /** Sends a request as the launcher does; the answer's lines to the end. */
    private static List<String> ask(Resident r, String secret, String tty, String token, String... args)
            throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), r.port())) {
            s.setSoTimeout(10_000);
            StringBuilder b = new StringBuilder(secret + "\n" + tty + "\n" + token + "\n" + args.length + "\n");
            for (String a : args) {
                b.append(a).append('\n');
            }
            s.getOutputStream().write(b.toString().getBytes(StandardCharsets.UTF_8));
            // lines end at '\n' only, as bash's read sees them (a progress redraw's '\r' stays in its frame)
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            List<String> lines = new ArrayList<>(List.of(all.split("\n", -1)));
            assertEquals("", lines.remove(lines.size() - 1), "the answer ends with a whole line");
            return lines;
        }
    }

    @Test
    void runsAGroupCommandAndFramesItsOutputAndExitCode() throws Exception {
        Path dir = dir();
        Resident r = serve(dir, recording((argv, out, err, env, terminal) -> {
            out.println("havm group move web: operation 7 through https://kvm1:8440");
            out.print("\r  running: web is moving");
            out.flush();
            err.println("a warning");
            return 3;
        }));
        String endpoint = Files.readString(dir.resolve("endpoint"));
        assertEquals(r.port() + " " + r.secret() + " id-1 " + ProcessHandle.current().pid() + "\n", endpoint);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("endpoint"))),
                "the secret is this user's alone");

        List<String> answer = ask(r, r.secret(), "1", "tok-123", "group", "move", "web", "--to", "kvm2", "--config",
                "/etc/havm/cluster.yaml");
        assertEquals(List.of("a ", "o havm group move web: operation 7 through https://kvm1:8440",
                "p \r  running: web is moving", "e a warning", "x 3"), answer);
        assertEquals(List.of("group", "move", "web", "--to", "kvm2", "--config", "/etc/havm/cluster.yaml"), ran.get());
        assertEquals(Map.of("HAVM_API_TOKEN", "tok-123"), envSeen.get(), "the caller's token, and nothing else");
        assertTrue(terminalSeen.get());

        ask(r, r.secret(), "0", "", "node", "drain", "kvm1");
        assertEquals(Map.of(), envSeen.get(), "no token given: none (not the resident's own environment)");
        assertFalse(terminalSeen.get());
    }

    @Test
    void refusesAWrongSecretAnotherCommandAndAMalformedRequestRunningNothing() throws Exception {
        Resident r = serve(dir(), recording((argv, out, err, env, terminal) -> 0));
        assertEquals(List.of("r not this resident's secret"), ask(r, "0".repeat(48), "0", "", "group", "online", "web"));
        assertEquals(List.of("r not a command a resident runs: vm"), ask(r, r.secret(), "0", "", "vm", "remove", "x"));
        assertEquals(List.of("r not a command a resident runs: agent"), ask(r, r.secret(), "0", "", "agent"));
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), r.port())) {
            s.getOutputStream().write((r.secret() + "\n0\n\nmany\n").getBytes(StandardCharsets.UTF_8));
            assertEquals("r a malformed request", new BufferedReader(new InputStreamReader(s.getInputStream(),
                    StandardCharsets.UTF_8)).readLine());
        }
        assertEquals(null, ran.get(), "nothing ran");
    }

    @Test
    void aClientThatGoesAwayInterruptsItsCommand() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
        Resident r = serve(dir(), (argv, out, err, env, terminal) -> {
            running.countDown();
            try {
                Thread.sleep(60_000);
                interrupted.complete(false);
            } catch (InterruptedException e) {
                interrupted.complete(true);
            }
            return 1;
        });
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), r.port())) {
            OutputStream o = s.getOutputStream();
            o.write((r.secret() + "\n0\n\n3\ngroup\nmove\nweb\n").getBytes(StandardCharsets.UTF_8));
            assertTrue(running.await(10, TimeUnit.SECONDS));
        } // Ctrl-C on the launcher: its end of the socket closes
        assertTrue(interrupted.get(10, TimeUnit.SECONDS), "the command was interrupted, as a JVM of its own would end");
    }

    @Test
    void oneResidentPerDirectoryAndOnlyInADirectoryOfThisUsersAlone() throws Exception {
        Path dir = dir();
        Resident first = serve(dir, (argv, out, err, env, terminal) -> 0);
        Resident second = new Resident(dir, "id-1", null, (argv, out, err, env, terminal) -> 0);
        assertFalse(second.serve(), "the directory's lock is held: a second resident exits at once");
        assertTrue(Files.readString(dir.resolve("endpoint")).contains(first.secret()), "the first one's endpoint stays");

        Path open = tmp.resolve("open");
        Files.createDirectory(open, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        assertFalse(new Resident(open, "id-1", null, (argv, out, err, env, terminal) -> 0).serve());
        assertFalse(Files.exists(open.resolve("endpoint")), "no secret written where others may read it");

        first.close();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dir.resolve("endpoint")));
    }

    @Test
    void aResidentThatStopsFinishesTheCommandsUnderWay() throws Exception {
        Path dir = dir();
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        Resident r = new Resident(dir, "id-1", null, (argv, out, err, env, terminal) -> {
            running.countDown();
            try {
                finish.await();
            } catch (InterruptedException e) {
                return 130;
            }
            out.println("web is online on kvm2");
            return 0;
        });
        started.add(r);
        CompletableFuture<Boolean> served = CompletableFuture.supplyAsync(() -> {
            try {
                return r.serve();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.isRegularFile(dir.resolve("endpoint")));
        CompletableFuture<List<String>> answer = CompletableFuture.supplyAsync(() -> {
            try {
                return ask(r, r.secret(), "0", "", "group", "move", "web", "--to", "kvm2");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(running.await(10, TimeUnit.SECONDS));
        r.close(); // its jar changed, say: it takes no new request, and ends once this one did
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dir.resolve("endpoint")));
        assertFalse(served.isDone(), "still serving the command under way");
        finish.countDown();
        assertEquals(List.of("a ", "o web is online on kvm2", "x 0"), answer.get(10, TimeUnit.SECONDS));
        assertTrue(served.get(10, TimeUnit.SECONDS));
    }

    @Test
    void aNewVersionTakesTheDirectoryOverOnceTheOldOneEnds() throws Exception {
        Path dir = dir();
        Resident old = serve(dir, (argv, out, err, env, terminal) -> 0);
        Resident upgraded = new Resident(dir, "id-2", null, (argv, out, err, env, terminal) -> 0);
        started.add(upgraded);
        CompletableFuture<Boolean> served = CompletableFuture.supplyAsync(() -> {
            try {
                return upgraded.serve();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        old.close(); // its jar changed: it ends (watchIdle), and the new one, waiting for the lock, serves
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.isRegularFile(dir.resolve("endpoint"))
                && Files.readString(dir.resolve("endpoint")).contains(" id-2 "));
        assertEquals(List.of("a ", "x 0"), ask(upgraded, upgraded.secret(), "0", "", "group", "online", "web"));
        upgraded.close();
        assertTrue(served.get(10, TimeUnit.SECONDS));
    }
}
