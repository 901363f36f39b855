package dev.skiff.control.keys;

import java.util.List;

/**
 * Which models a key may use: selectors matched against the model a request was routed to.
 * {@code *} is every model; {@code anthropic/*} every model of the provider {@code anthropic};
 * {@code openai/gpt-4o} that model at that provider; {@code gpt-4o} that model at any provider;
 * {@code *} may stand for any characters anywhere ({@code anthropic/claude-*}). A selector is
 * matched against {@code provider/model} and against the model alone, so {@code meta-llama/*} also
 * matches that family at any provider that names it so.
 */
public final class ModelSelectors {
    public static final int MAX_LENGTH = 200;

    private ModelSelectors() {}

    /** Refuses a selector that could never match or is unreasonably long. */
    public static String validate(String selector) throws IllegalArgumentException {
        String s = selector == null ? "" : selector.strip();
        if (s.isEmpty()) throw new IllegalArgumentException("A model selector may not be empty.");
        if (s.length() > MAX_LENGTH) throw new IllegalArgumentException("A model selector may be at most " + MAX_LENGTH + " characters.");
        for (int i = 0; i < s.length(); i++) {
            if (Character.isWhitespace(s.charAt(i)) || Character.isISOControl(s.charAt(i))) {
                throw new IllegalArgumentException("A model selector may not contain whitespace: '" + s + "'.");
            }
        }
        return s;
    }

    /** Whether any selector admits {@code model} served by {@code provider}. No allocation. */
    public static boolean allows(List<String> selectors, String provider, String model) {
        for (int i = 0, n = selectors.size(); i < n; i++) {
            String s = selectors.get(i);
            if (s.equals("*")) return true;
            if (glob(s, 0, provider, model, 0) || glob(s, 0, null, model, 0)) return true;
        }
        return false;
    }

    /** Whether the selectors admit every model of {@code provider} ({@code *} or {@code provider/*}). */
    public static boolean allowsWholeProvider(List<String> selectors, String provider) {
        for (String s : selectors) {
            if (s.equals("*") || (s.length() == provider.length() + 2 && s.startsWith(provider) && s.endsWith("/*"))) return true;
        }
        return false;
    }

    /**
     * Whether {@code pattern} from {@code pi} matches the text {@code prefix + "/" + model} (or
     * {@code model} alone when prefix is null) from position {@code ti}, without building that text.
     */
    private static boolean glob(String pattern, int pi, String prefix, String model, int ti) {
        int textLength = prefix == null ? model.length() : prefix.length() + 1 + model.length();
        int star = -1, mark = 0;
        while (ti < textLength) {
            if (pi < pattern.length() && pattern.charAt(pi) == '*') {
                star = pi++;
                mark = ti;
            } else if (pi < pattern.length() && pattern.charAt(pi) == charAt(prefix, model, ti)) {
                pi++;
                ti++;
            } else if (star >= 0) {
                pi = star + 1;
                ti = ++mark;
            } else {
                return false;
            }
        }
        while (pi < pattern.length() && pattern.charAt(pi) == '*') pi++;
        return pi == pattern.length();
    }

    private static char charAt(String prefix, String model, int i) {
        if (prefix == null) return model.charAt(i);
        if (i < prefix.length()) return prefix.charAt(i);
        return i == prefix.length() ? '/' : model.charAt(i - prefix.length() - 1);
    }
}
