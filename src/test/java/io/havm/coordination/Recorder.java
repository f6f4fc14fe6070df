package io.havm.coordination;

import io.havm.port.Coordination.ConnectionState;
import io.havm.port.Coordination.Leadership;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records what a Coordination tells its engine, in order: "state CONNECTED", "elected 3", "revoked". */
final class Recorder implements Leadership {
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<String> threads = new CopyOnWriteArrayList<>();

    @Override
    public void elected(long epoch) {
        add("elected " + epoch);
    }

    @Override
    public void revoked() {
        add("revoked");
    }

    void state(ConnectionState s) {
        add("state " + s);
    }

    private void add(String e) {
        threads.add(Thread.currentThread().getName());
        events.add(e);
    }

    boolean has(String e) {
        return events.contains(e);
    }

    /** True if {@code later} was recorded after {@code earlier} (both present). */
    boolean inOrder(String earlier, String later) {
        int i = events.indexOf(earlier);
        return i >= 0 && events.subList(i + 1, events.size()).contains(later);
    }

    /** True if {@code e} was recorded at or after position {@code from}. */
    boolean hasSince(int from, String e) {
        return events.subList(Math.min(from, events.size()), events.size()).contains(e);
    }

    boolean leading() {
        for (int i = events.size() - 1; i >= 0; i--) {
            if (events.get(i).startsWith("elected ")) {
                return true;
            }
            if (events.get(i).equals("revoked")) {
                return false;
            }
        }
        return false;
    }

    OptionalLong lastEpoch() {
        return events.stream().filter(e -> e.startsWith("elected ")).mapToLong(e -> Long.parseLong(e.substring(8)))
                .reduce((a, b) -> b);
    }

    List<Long> epochs() {
        return events.stream().filter(e -> e.startsWith("elected ")).map(e -> Long.parseLong(e.substring(8))).toList();
    }

    @Override
    public String toString() {
        return events.toString();
    }
}
