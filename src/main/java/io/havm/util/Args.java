package io.havm.util;

import io.havm.model.InvalidInputException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Command-line options of one command: known options only, values where needed, positionals counted. */
public final class Args {
    /** {@code positionals} for a command that takes any number of arguments (e.g. disk names). */
    public static final int ANY = -1;

    public final List<String> positional = new ArrayList<>();
    private final Map<String, String> options = new LinkedHashMap<>();
    private final Map<String, List<String>> repeated = new LinkedHashMap<>();

    public static Args parse(String command, List<String> argv, Set<String> valued, Set<String> flags, int positionals,
            String usage) {
        Args a = new Args();
        for (int i = 0; i < argv.size(); i++) {
            String s = argv.get(i);
            if (s.startsWith("--")) {
                if (valued.contains(s)) {
                    if (i + 1 >= argv.size() || argv.get(i + 1).startsWith("--")) {
                        throw new InvalidInputException(command, "option " + s + " needs a value (usage: " + usage + ")");
                    }
                    a.options.put(s, argv.get(++i));
                    a.repeated.computeIfAbsent(s, k -> new ArrayList<>()).add(argv.get(i));
                } else if (flags.contains(s)) {
                    a.options.put(s, "true");
                } else {
                    TreeSet<String> all = new TreeSet<>(valued);
                    all.addAll(flags);
                    throw new InvalidInputException(command, "unknown option '" + s + "' (allowed: "
                            + (all.isEmpty() ? "none" : String.join(", ", all)) + "; usage: " + usage + ")"
                            + InvalidInputException.didYouMean(s, all));
                }
            } else {
                a.positional.add(s);
            }
        }
        if (positionals != ANY && a.positional.size() != positionals) {
            throw new InvalidInputException(command, "expected " + positionals + " argument(s), got "
                    + a.positional.size() + " (usage: " + usage + ")");
        }
        return a;
    }

    public String get(String option) {
        return options.get(option);
    }

    /** Every value of an option given several times (e.g. --shared-disk a:1G --shared-disk b:2G), in order. */
    public List<String> all(String option) {
        return List.copyOf(repeated.getOrDefault(option, List.of()));
    }

    public String require(String command, String option, String usage) {
        String v = options.get(option);
        if (v == null) {
            throw new InvalidInputException(command, "option " + option + " is required (usage: " + usage + ")");
        }
        return v;
    }

    public boolean flag(String option) {
        return options.containsKey(option);
    }
}
