package dev.skiff.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A deliberately tiny command-line parser: {@code --name value} options (repeatable), a few
 * value-less flags, and everything after {@code --} kept verbatim as a command to run. Unknown
 * options are an error, so a typo in a benchmark script fails loudly instead of silently
 * measuring the wrong thing.
 */
final class Args {
    private final Map<String, List<String>> values = new HashMap<>();
    private final List<String> rest = new ArrayList<>();

    private Args() {}

    /**
     * @param options names (without dashes) that take a value
     * @param flags   names (without dashes) that take none
     */
    static Args parse(String[] argv, Set<String> options, Set<String> flags) {
        Args args = new Args();
        for (int i = 0; i < argv.length; i++) {
            String arg = argv[i];
            if (arg.equals("--")) {
                args.rest.addAll(List.of(argv).subList(i + 1, argv.length));
                break;
            }
            if (!arg.startsWith("--")) throw new IllegalArgumentException("unexpected argument: " + arg);
            String name = arg.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (flags.contains(name)) {
                value = "true";
            } else if (options.contains(name)) {
                if (i + 1 >= argv.length) throw new IllegalArgumentException("--" + name + " needs a value");
                value = argv[++i];
            } else {
                throw new IllegalArgumentException("unknown option: --" + name);
            }
            if (!options.contains(name) && !flags.contains(name)) {
                throw new IllegalArgumentException("unknown option: --" + name);
            }
            args.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        return args;
    }

    String string(String name, String fallback) {
        List<String> list = values.get(name);
        return list == null ? fallback : list.getLast();
    }

    int integer(String name, int fallback) {
        String value = string(name, null);
        if (value == null) return fallback;
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " wants a whole number, got: " + value);
        }
    }

    boolean flag(String name) {
        return Boolean.parseBoolean(string(name, "false"));
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    /** The words after {@code --}: a command line to launch. */
    List<String> rest() {
        return rest;
    }
}
