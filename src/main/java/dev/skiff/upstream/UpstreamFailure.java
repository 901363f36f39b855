package dev.skiff.upstream;

/** Why an upstream exchange ended without a complete response. */
public record UpstreamFailure(Kind kind, String message) {
    public enum Kind {
        /** Could not connect, TLS failed, or the proxy refused: 502. */
        UNREACHABLE,
        /** A timeout: connect, first byte, idle between chunks, or total: 504. */
        TIMEOUT,
        /** The connection closed or broke before the response was complete: 502. */
        BROKEN
    }

    public int status() {
        return kind == Kind.TIMEOUT ? 504 : 502;
    }
}
