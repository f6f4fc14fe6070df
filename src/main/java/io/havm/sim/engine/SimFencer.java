package io.havm.sim.engine;

import io.havm.port.Fencer;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * A fence device for every simulated node: OFF powers the node off (its guests and its agent die
 * with it) unless a failure was injected for it, then the device reports FAILED and nothing
 * happens. How long a fence takes is the scheduler's latency for fence tasks.
 */
public final class SimFencer implements Fencer {
    private final Consumer<String> powerOff;
    private final TreeMap<String, Integer> failures = new TreeMap<>();

    public SimFencer(Consumer<String> powerOff) {
        this.powerOff = powerOff;
    }

    /** The next {@code n} fences of {@code node} fail. */
    public void failNext(String node, int n) {
        failures.put(node, n);
    }

    public void clearFailures() {
        failures.clear();
    }

    @Override
    public Result fence(String node, Action action) {
        int left = failures.getOrDefault(node, 0);
        if (left > 0) {
            failures.put(node, left - 1);
            return new Result(Outcome.FAILED, "simulated fence device for " + node + " timed out");
        }
        if (action == Action.OFF) {
            powerOff.accept(node);
            return new Result(Outcome.OFF, "sim power-off " + node + ": status off");
        }
        return new Result(Outcome.OK, "sim " + action.name().toLowerCase() + " " + node);
    }
}
