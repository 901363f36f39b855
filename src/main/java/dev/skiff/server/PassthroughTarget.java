package dev.skiff.server;

/**
 * Where a passthrough request goes: {@code /p/{provider}/{rest}} names a configured provider and a
 * path relative to its configured base URL, query included. {@code rest} keeps its leading slash
 * and is never decoded: the provider receives the client's bytes.
 */
record PassthroughTarget(String provider, String rest) {
    static final String PREFIX = "/p/";

    /** Whether a request-target is a passthrough one; cheap, for the pipeline to decide on every request. */
    static boolean matches(String uri) {
        return uri.startsWith(PREFIX);
    }

    /** The target of a matching URI, or null when it names no provider. */
    static PassthroughTarget parse(String uri) {
        if (!matches(uri)) return null;
        int nameStart = PREFIX.length();
        int nameEnd = nameStart;
        while (nameEnd < uri.length() && uri.charAt(nameEnd) != '/' && uri.charAt(nameEnd) != '?') nameEnd++;
        if (nameEnd == nameStart) return null;
        String rest = uri.substring(nameEnd);
        if (rest.isEmpty() || rest.charAt(0) == '?') rest = "/" + rest;
        return new PassthroughTarget(uri.substring(nameStart, nameEnd), rest);
    }

    /**
     * Whether the path climbs out of the base path with dot segments, which the provider would
     * resolve to another of its APIs than the one configured.
     */
    boolean climbs() {
        int q = rest.indexOf('?');
        String path = q < 0 ? rest : rest.substring(0, q);
        for (String segment : path.split("/", -1)) {
            String s = segment.replace("%2e", ".").replace("%2E", ".");
            if (s.equals("..")) return true;
        }
        return false;
    }
}
