package io.havm.sim.engine;

import io.havm.port.Processes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The processes of script resources in the simulator: each script resource is a simulated agent
 * that speaks both dialects as the real ones do — OCF ({@code start}, {@code stop}, {@code
 * monitor} with {@code OCF_CHECK_LEVEL}, {@code validate-all}; exit 0 OCF_SUCCESS, 1
 * OCF_ERR_GENERIC, 7 OCF_NOT_RUNNING) and generic ({@code online}, {@code offline}, {@code
 * terminate}, {@code looks-alive}, {@code is-alive}, {@code open}, {@code close}; exit 0 ok) — and
 * that runs on a node until it is stopped or the node loses power (an agent's crash does not stop
 * it, as on a host). The same {@link io.havm.resource.ScriptResource} calls it through the {@link
 * Processes} port.
 *
 * <p>Faults: the next starts on a node fail; the next stops on a node fail (the script keeps
 * running: a Terminate that cannot be proven); the script dies wherever it runs (its monitor says
 * not running); it is sick (the cheap check passes, the deep one, check level 20, fails); its
 * monitor is broken (errs whether or not the service runs: no proof either way); every call on a
 * node hangs (times out, at once: the simulator's calls take no virtual time). Every start is told to the referee before it takes effect.
 */
public final class SimScripts {
    private final SimHypervisor.Referee referee;
    /** node -> scripts running there. */
    private final TreeMap<String, TreeSet<String>> running = new TreeMap<>();
    private final TreeMap<String, Integer> failStarts = new TreeMap<>();
    private final TreeMap<String, Integer> failStops = new TreeMap<>();
    private final TreeSet<String> hung = new TreeSet<>();
    private final TreeSet<String> sick = new TreeSet<>();
    /** Scripts whose monitor errs whatever the state (OCF_ERR_GENERIC; a generic one cannot run). */
    private final TreeSet<String> broken = new TreeSet<>();

    SimScripts(SimHypervisor.Referee referee) {
        this.referee = referee;
    }

    private static String key(String node, String script) {
        return node + "/" + script;
    }

    public boolean runs(String node, String script) {
        return running.getOrDefault(node, new TreeSet<>()).contains(script);
    }

    /** The node lost power: its scripts are gone. */
    void powerOff(String node) {
        running.remove(node);
    }

    void failNextStarts(String node, String script, int k) {
        set(failStarts, key(node, script), k);
    }

    void failNextStops(String node, String script, int k) {
        set(failStops, key(node, script), k);
    }

    private static void set(TreeMap<String, Integer> counts, String k, int n) {
        if (n == 0) {
            counts.remove(k);
        } else {
            counts.put(k, n);
        }
    }

    /** No script hangs, is sick, or will fail to start or stop. */
    boolean healthy() {
        return hung.isEmpty() && sick.isEmpty() && broken.isEmpty() && failStarts.isEmpty() && failStops.isEmpty();
    }

    boolean failsStarts(String node, String script) {
        return failStarts.containsKey(key(node, script));
    }

    boolean failsStops(String node, String script) {
        return failStops.containsKey(key(node, script));
    }

    boolean hangs(String node, String script) {
        return hung.contains(key(node, script));
    }

    boolean isSick(String script) {
        return sick.contains(script);
    }

    /** The script's service dies wherever it runs; true if it ran somewhere. */
    boolean crash(String script) {
        boolean any = false;
        for (TreeSet<String> on : running.values()) {
            any |= on.remove(script);
        }
        return any;
    }

    void hang(String node, String script, boolean on) {
        if (on) {
            hung.add(key(node, script));
        } else {
            hung.remove(key(node, script));
        }
    }

    void broken(String script, boolean on) {
        if (on) {
            broken.add(script);
        } else {
            broken.remove(script);
        }
    }

    boolean isBroken(String script) {
        return broken.contains(script);
    }

    void sick(String script, boolean on) {
        if (on) {
            sick.add(script);
        } else {
            sick.remove(script);
        }
    }

    /** Node {@code node}'s processes: these scripts, and QEMU by pid through {@code host}. */
    Processes view(String node, SimHypervisor host) {
        return new Processes() {
            @Override
            public Outcome run(List<String> command, Map<String, String> env, Duration timeout) {
                String script = env.getOrDefault("OCF_RESOURCE_INSTANCE", env.get("HAVM_RESOURCE"));
                if (script == null || command.size() != 2) {
                    return new Outcome(127, false, "", "cannot run " + command + ": not a simulated script");
                }
                if (hung.contains(key(node, script))) {
                    return new Outcome(-1, true, "", "");
                }
                return call(node, script, command.get(1), env.get("OCF_CHECK_LEVEL"));
            }

            @Override
            public boolean executable(Path file) {
                return true; // every agent the configuration names is installed on every simulated host
            }

            @Override
            public boolean killQemu(String domain) {
                return host.kill(domain);
            }

            @Override
            public boolean qemuAlive(String domain) {
                return host.runs(domain);
            }
        };
    }

    private Processes.Outcome call(String node, String script, String action, String checkLevel) {
        TreeSet<String> on = running.computeIfAbsent(node, k -> new TreeSet<>());
        Function<Integer, Processes.Outcome> exit = code -> new Processes.Outcome(code, false,
                code == 0 ? "" : "simulated " + script + " " + action + " on " + node, "");
        switch (action) {
            case "start", "online" -> {
                if (on.contains(script)) {
                    return exit.apply(0); // OCF: start of a running resource succeeds
                }
                if (takeOne(failStarts, key(node, script))) {
                    return exit.apply(1);
                }
                referee.starting(node, script, "script start");
                on.add(script);
                return exit.apply(0);
            }
            case "stop", "offline", "terminate" -> {
                if (on.contains(script) && takeOne(failStops, key(node, script))) {
                    return exit.apply(1);
                }
                on.remove(script);
                return exit.apply(0);
            }
            case "monitor", "looks-alive", "is-alive" -> {
                if (broken.contains(script)) {
                    return exit.apply(action.equals("monitor") ? 1 : 127); // says nothing about the service
                }
                if (!on.contains(script)) {
                    return exit.apply(action.equals("monitor") ? 7 : 1);
                }
                boolean deep = "20".equals(checkLevel) || action.equals("is-alive");
                return exit.apply(deep && sick.contains(script) ? 1 : 0);
            }
            case "validate-all", "open", "close" -> {
                return exit.apply(0);
            }
            default -> {
                return exit.apply(3); // OCF_ERR_UNIMPLEMENTED
            }
        }
    }

    private static boolean takeOne(TreeMap<String, Integer> counts, String k) {
        Integer n = counts.get(k);
        if (n == null || n == 0) {
            return false;
        }
        if (n == 1) {
            counts.remove(k);
        } else {
            counts.put(k, n - 1);
        }
        return true;
    }
}
