package dev.skiff.control.limits;

/**
 * Whose requests a limit counts together.
 *
 * <ul>
 *   <li>{@link Key}: every request made with one managed key;
 *   <li>{@link Path}: every request attributed to a user path or beneath it ({@code /acme} counts
 *       {@code /acme/support/bot} too): one counter for the whole subtree;
 *   <li>{@link EndUser}: the calling system's end users under a key or a path, each counted on its
 *       own. With no {@code endUser} it is the default quota every end user gets, including the
 *       thousands nobody configured; with one, an override for that end user alone, which replaces
 *       the default of the same metric and window.
 * </ul>
 */
public sealed interface Scope permits Scope.Key, Scope.Path, Scope.EndUser {
    /** A stable text naming the scope, part of counter keys. */
    String id();

    record Key(String keyId) implements Scope {
        @Override
        public String id() {
            return "k:" + keyId;
        }
    }

    record Path(String path) implements Scope {
        @Override
        public String id() {
            return "p:" + path;
        }

        /** Whether a request attributed to {@code userPath} falls in this subtree. */
        public boolean covers(String userPath) {
            return path.equals("/") || userPath.equals(path) || userPath.startsWith(path) && userPath.charAt(path.length()) == '/';
        }
    }

    /** @param within a {@link Key} or {@link Path}; @param endUser null for the default quota of every end user */
    record EndUser(Scope within, String endUser) implements Scope {
        public EndUser {
            if (within instanceof EndUser) throw new IllegalArgumentException("an end-user scope lies within a key or a path");
        }

        @Override
        public String id() {
            return "e" + within.id() + (endUser == null ? "" : "|" + endUser);
        }
    }
}
