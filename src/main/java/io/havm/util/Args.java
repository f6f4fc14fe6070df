package io.havm.util;

import io.havm.model.InvalidInputException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Command-line options of one command, parsed by picocli: known options only, values where
 * needed ({@code --config F} or {@code --config=F}), positionals counted. A word that starts with
 * one dash ({@code -1}) is an argument; {@code @file} is a word like any other. Bad input is one
 * line with the allowed options and the usage, as {@link InvalidInputException}.
 */
public final class Args {
    /** {@code positionals} for a command that takes any number of arguments (e.g. disk names). */
    public static final int ANY = -1;

    public final List<String> positional = new ArrayList<>();
    private final Map<String, String> options = new LinkedHashMap<>();
    private final Map<String, List<String>> repeated = new LinkedHashMap<>();

    public static Args parse(String command, List<String> argv, Set<String> valued, Set<String> flags, int positionals,
            String usage) {
        CommandSpec spec = CommandSpec.create();
        spec.parser().expandAtFiles(false).unmatchedOptionsArePositionalParams(true).overwrittenOptionsAllowed(true)
                .abbreviatedOptionsAllowed(false).posixClusteredShortOptionsAllowed(false);
        for (String v : valued) {
            spec.addOption(OptionSpec.builder(v).arity("1").type(List.class).auxiliaryTypes(String.class).build());
        }
        for (String f : flags) {
            spec.addOption(OptionSpec.builder(f).arity("0").type(boolean[].class).build());
        }
        spec.addPositional(PositionalParamSpec.builder().index("0..*").arity("0..*").type(List.class)
                .auxiliaryTypes(String.class).build());
        TreeSet<String> all = new TreeSet<>(valued);
        all.addAll(flags);
        CommandLine.ParseResult parsed;
        try {
            parsed = new CommandLine(spec).parseArgs(argv.toArray(String[]::new));
        } catch (CommandLine.MissingParameterException e) {
            String option = e.getMissing().isEmpty() ? "an option" : ((OptionSpec) e.getMissing().get(0)).longestName();
            // the first problem from the left is the one said: an unknown option before this one
            for (int i = 0; i < argv.size() && !argv.get(i).equals(option); i++) {
                String w = argv.get(i);
                boolean aValue = i > 0 && valued.contains(argv.get(i - 1));
                if (w.startsWith("--") && !w.equals("--") && !all.contains(w.split("=", 2)[0]) && !aValue) {
                    throw unknownOption(command, w, all, usage);
                }
            }
            throw new InvalidInputException(command, "option " + option + " needs a value (usage: " + usage + ")");
        } catch (CommandLine.ParameterException e) {
            if (e.getArgSpec() instanceof OptionSpec o && flags.contains(o.longestName())) {
                throw new InvalidInputException(command, "option " + o.longestName() + " takes no value (usage: "
                        + usage + ")");
            }
            throw new InvalidInputException(command, e.getMessage() + " (allowed: " + (all.isEmpty() ? "none"
                    : String.join(", ", all)) + "; usage: " + usage + ")");
        }
        Args a = new Args();
        List<String> words = parsed.matchedPositionalValue(0, List.of());
        for (String s : words) {
            if (s.startsWith("--")) {
                throw unknownOption(command, s, all, usage);
            }
            a.positional.add(s);
        }
        for (OptionSpec o : parsed.matchedOptions()) {
            String name = o.longestName();
            if (flags.contains(name)) {
                a.options.put(name, "true");
                continue;
            }
            List<String> values = o.getValue();
            for (String v : values) {
                if (v.startsWith("--")) { // the next option, not this one's value
                    throw new InvalidInputException(command, "option " + name + " needs a value (usage: " + usage
                            + ")");
                }
            }
            a.options.put(name, values.get(values.size() - 1));
            a.repeated.put(name, List.copyOf(values));
        }
        if (positionals != ANY && a.positional.size() != positionals) {
            throw new InvalidInputException(command, "expected " + positionals + " argument(s), got "
                    + a.positional.size() + " (usage: " + usage + ")");
        }
        return a;
    }

    private static InvalidInputException unknownOption(String command, String option, Set<String> all, String usage) {
        return new InvalidInputException(command, "unknown option '" + option + "' (allowed: "
                + (all.isEmpty() ? "none" : String.join(", ", all)) + "; usage: " + usage + ")"
                + InvalidInputException.didYouMean(option, all));
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
