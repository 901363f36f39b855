package dev.skiff.control;

/**
 * Hierarchical user paths ({@code /acme/support/bot}) that attribute requests: normalized to a leading
 * slash, no trailing or repeated slashes. A request's path is its key's path, made deeper by the
 * {@code X-Skiff-User-Path} header: the header is appended beneath the key's path, so it can never
 * leave it.
 */
public final class UserPath {
    public static final String ROOT = "/";
    /** Longest normalized path. */
    public static final int MAX_LENGTH = 512;
    /** Most segments. */
    public static final int MAX_DEPTH = 32;
    /** Longest segment. */
    public static final int MAX_SEGMENT = 128;

    private UserPath() {}

    /** Normalizes {@code raw}; an unacceptable path is refused with the reason. */
    public static String normalize(String raw) throws IllegalArgumentException {
        if (raw == null) return ROOT;
        StringBuilder out = new StringBuilder(raw.length() + 1);
        int depth = 0;
        int i = 0, n = raw.length();
        while (i < n) {
            int slash = raw.indexOf('/', i);
            int end = slash < 0 ? n : slash;
            if (end > i) {
                String segment = raw.substring(i, end);
                if (segment.equals("..") || segment.equals(".")) {
                    throw new IllegalArgumentException("A user path may not contain '" + segment + "' segments: '" + shorten(raw) + "'.");
                }
                if (segment.length() > MAX_SEGMENT) {
                    throw new IllegalArgumentException("A user path segment is longer than " + MAX_SEGMENT + " characters.");
                }
                for (int k = 0; k < segment.length(); k++) {
                    char c = segment.charAt(k);
                    if (!allowed(c)) {
                        throw new IllegalArgumentException("A user path may contain only letters, digits and - _ . ~ @ + : in its segments; '"
                                + shorten(raw) + "' has " + describe(c) + ".");
                    }
                }
                if (++depth > MAX_DEPTH) throw new IllegalArgumentException("A user path may have at most " + MAX_DEPTH + " segments.");
                out.append('/').append(segment);
            }
            i = end + 1;
        }
        if (out.length() > MAX_LENGTH) throw new IllegalArgumentException("A user path may be at most " + MAX_LENGTH + " characters long.");
        return out.isEmpty() ? ROOT : out.toString();
    }

    /** {@code header} (normalized) beneath {@code base} (already normalized). */
    public static String beneath(String base, String header) throws IllegalArgumentException {
        String sub = normalize(header);
        if (sub.equals(ROOT)) return base;
        String joined = base.equals(ROOT) ? sub : base + sub;
        if (joined.length() > MAX_LENGTH) throw new IllegalArgumentException("A user path may be at most " + MAX_LENGTH + " characters long.");
        return joined;
    }

    /** Whether {@code path} is {@code ancestor} or lies beneath it (both normalized). */
    public static boolean within(String path, String ancestor) {
        if (ancestor.equals(ROOT)) return true;
        return path.startsWith(ancestor) && (path.length() == ancestor.length() || path.charAt(ancestor.length()) == '/');
    }

    private static boolean allowed(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '_' || c == '.' || c == '~' || c == '@' || c == '+' || c == ':';
    }

    private static String describe(char c) {
        return c < 0x20 || c == 0x7f ? String.format("the control character U+%04X", (int) c) : "'" + c + "'";
    }

    private static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
