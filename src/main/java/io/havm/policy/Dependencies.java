package io.havm.policy;

import io.havm.model.GroupSpec;
import io.havm.model.ResourceSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/** Resource order inside a group: online bottom-up (dependencies first), offline top-down. */
public final class Dependencies {
    private Dependencies() {}

    /** Resources in online order; ties by name. Throws IllegalArgumentException on a cycle. */
    public static List<String> onlineOrder(GroupSpec g) {
        List<String> order = new ArrayList<>();
        TreeSet<String> done = new TreeSet<>();
        while (order.size() < g.resources().size()) {
            Optional<String> next = g.resources().values().stream()
                    .filter(r -> !done.contains(r.name()) && done.containsAll(r.dependsOn()))
                    .map(ResourceSpec::name).sorted().findFirst();
            if (next.isEmpty()) {
                TreeSet<String> left = new TreeSet<>(g.resources().keySet());
                left.removeAll(done);
                throw new IllegalArgumentException("group " + g.name() + ": dependency cycle among " + left);
            }
            order.add(next.get());
            done.add(next.get());
        }
        return order;
    }

    public static List<String> offlineOrder(GroupSpec g) {
        List<String> order = onlineOrder(g);
        Collections.reverse(order);
        return order;
    }

    /** Resources that depend, directly or not, on {@code resource}: they go down when it does. */
    public static List<String> dependents(GroupSpec g, String resource) {
        List<String> out = new ArrayList<>();
        for (String r : onlineOrder(g)) {
            ResourceSpec rs = g.resources().get(r);
            if (rs.dependsOn().contains(resource) || rs.dependsOn().stream().anyMatch(out::contains)) {
                out.add(r);
            }
        }
        return out;
    }
}
