package io.havm.sim;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.InvalidInputException;
import io.havm.model.MoveMode;
import io.havm.policy.ClusterState;
import io.havm.policy.Input;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A scenario directory: {@code cluster.yaml} (the configuration), {@code events.txt} (what
 * happens when), {@code expected.log} (the golden log), {@code README.md} (what it shows).
 *
 * <p>events.txt: one event per line, {@code <seconds> <verb> <args>}; {@code #} starts a comment.
 * Every node is powered on at t=0, except those a {@code 0 power-off N} line names: they start
 * powered off (to join later with power-on). Verbs: power-off N, power-on N, partition N, heal N,
 * zk-down, zk-up, crash G/R, hang G/R, fence-fails N COUNT, online-fails G N COUNT, move-fails G,
 * agent-hang N, libvirt-hang N, agent-recover N, coordinator-crash, move G N live|quick|offline,
 * online G, offline G, drain N, resume N [failback], shutdown N, end (run until then; required,
 * last).
 */
public final class Scenario {
    private Scenario() {}

    /** One timed event. */
    record Step(double at, int line, String[] words) {}

    public static List<String> run(Path dir) {
        ClusterSpec spec = ClusterConfigLoader.load(dir.resolve("cluster.yaml")).spec();
        List<Step> steps = parse(dir.resolve("events.txt"));
        SimCluster sim = new SimCluster(spec);
        sim.boot();
        List<String> startOff = new ArrayList<>();
        for (Step s : steps) {
            if (s.at() == 0 && s.words()[0].equals("power-off") && s.words().length > 1) {
                startOff.add(s.words()[1]);
            }
        }
        for (ClusterSpec.NodeSpec n : spec.nodes()) {
            if (!startOff.contains(n.name())) {
                sim.powerOn(n.name());
            }
        }
        // Events at t=0 (e.g. injected failures) are in place before the cluster's first step.
        int first = 0;
        while (first < steps.size() && steps.get(first).at() == 0 && !steps.get(first).words()[0].equals("end")) {
            apply(sim, steps.get(first), spec);
            first++;
        }
        sim.settle();
        double end = 0;
        for (Step s : steps.subList(first, steps.size())) {
            sim.runUntil(sim.t0.plus(Duration.ofMillis(Math.round(s.at() * 1000))));
            if (!sim.violations().isEmpty()) {
                break;
            }
            if (s.words()[0].equals("end")) {
                end = s.at();
                break;
            }
            apply(sim, s, spec);
            sim.settle();
        }
        sim.runUntil(sim.t0.plus(Duration.ofMillis(Math.round(end * 1000))));
        List<String> out = new ArrayList<>(sim.log());
        for (ClusterState.Node n : sim.state().nodes().values()) {
            out.add("final node " + n.name() + ": " + n.status().word() + (n.paused() ? " (paused)" : ""));
        }
        for (ClusterState.Group g : sim.state().groups().values()) {
            List<String> on = new ArrayList<>();
            sim.nodes.values().forEach(n -> {
                if (n.powered && n.running.containsKey(g.name())) {
                    on.add(n.name);
                }
            });
            out.add("final group " + g.name() + ": " + g.phase().word() + (g.node() == null ? "" : " on " + g.node())
                    + "; runs on " + (on.isEmpty() ? "no node" : String.join(" ", on)));
        }
        return out;
    }

    static List<Step> parse(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new InvalidInputException(file.toString(), "cannot read: " + e.getMessage());
        }
        List<Step> steps = new ArrayList<>();
        double last = 0;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).replaceAll("#.*", "").strip();
            if (l.isEmpty()) {
                continue;
            }
            String[] w = l.split("\\s+");
            String where = file + ":" + (i + 1);
            double at;
            try {
                at = Double.parseDouble(w[0]);
            } catch (NumberFormatException e) {
                throw new InvalidInputException(where, "'" + w[0] + "' is not a time in seconds");
            }
            if (at < last) {
                throw new InvalidInputException(where, "time " + at + " is before the previous event (" + last + ")");
            }
            last = at;
            String[] words = java.util.Arrays.copyOfRange(w, 1, w.length);
            if (words.length == 0) {
                throw new InvalidInputException(where, "an event needs a verb");
            }
            steps.add(new Step(at, i + 1, words));
        }
        if (steps.isEmpty() || !steps.get(steps.size() - 1).words()[0].equals("end")) {
            throw new InvalidInputException(file.toString(), "must end with '<seconds> end'");
        }
        return steps;
    }

    static void apply(SimCluster sim, Step s, ClusterSpec spec) {
        String[] w = s.words();
        String verb = w[0];
        for (int i = 1; i < w.length; i++) {
            String a = w[i].split("/")[0];
            boolean nodeArg = a.startsWith("host") || verb.matches(
                    "power-.*|partition|heal|drain|resume|shutdown|fence-fails|agent-hang|libvirt-hang|agent-recover")
                    && i == 1;
            if (nodeArg && !sim.knows(a) && !spec.groups().containsKey(a)) {
                throw new InvalidInputException("events.txt:" + s.line(), "unknown node '" + a + "' (nodes: "
                        + String.join(", ", spec.nodeNames()) + ")");
            }
            boolean groupArg = verb.matches("crash|hang|online-fails|move-fails|move|online|offline") && i == 1;
            if (groupArg && !spec.groups().containsKey(a)) {
                throw new InvalidInputException("events.txt:" + s.line(), "unknown group '" + a + "' (groups: "
                        + String.join(", ", spec.groups().keySet()) + ")");
            }
        }
        try {
            switch (verb) {
                case "power-off" -> sim.powerOff(w[1]);
                case "power-on" -> sim.powerOn(w[1]);
                case "partition" -> sim.partition(w[1]);
                case "heal" -> sim.heal(w[1]);
                case "zk-down" -> sim.zkDown();
                case "zk-up" -> sim.zkUp();
                case "crash" -> sim.crash(w[1].split("/")[0], w[1].split("/")[1]);
                case "hang" -> sim.hang(w[1].split("/")[0], w[1].split("/")[1]);
                case "fence-fails" -> sim.failNextFences(w[1], Integer.parseInt(w[2]));
                case "online-fails" -> sim.failNextOnline(w[1], w[2], Integer.parseInt(w[3]));
                case "move-fails" -> sim.failNextMove(w[1]);
                case "agent-hang" -> sim.hangAgent(w[1], false);
                case "libvirt-hang" -> sim.hangAgent(w[1], true);
                case "agent-recover" -> sim.recoverAgent(w[1]);
                case "coordinator-crash" -> sim.crashCoordinator();
                case "move" -> sim.operator(new Input.MoveGroup(w[1], w[2], MoveMode.parse("move mode", w[3])));
                case "online" -> sim.operator(new Input.GroupOnline(w[1]));
                case "offline" -> sim.operator(new Input.GroupOffline(w[1]));
                case "drain" -> sim.operator(new Input.DrainNode(w[1]));
                case "resume" -> sim.operator(new Input.ResumeNode(w[1], w.length > 2 && w[2].equals("failback")));
                case "shutdown" -> sim.operator(new Input.ShutdownNode(w[1]));
                default -> throw new InvalidInputException("events.txt:" + s.line(), "unknown verb '" + verb
                        + "' (allowed: power-off, power-on, partition, heal, zk-down, zk-up, crash, hang, fence-fails,"
                        + " online-fails, move-fails, agent-hang, libvirt-hang, agent-recover, coordinator-crash, move,"
                        + " online, offline, drain, resume, shutdown, end)");
            }
        } catch (ArrayIndexOutOfBoundsException | NumberFormatException e) {
            throw new InvalidInputException("events.txt:" + s.line(), "'" + String.join(" ", w)
                    + "': missing or bad argument");
        }
    }
}
