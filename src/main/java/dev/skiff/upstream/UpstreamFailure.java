package dev.skiff.upstream;

/**
 * Why an upstream exchange ended without a complete response. {@code message} goes to the client:
 * it names the provider, never its address, proxy or the text of a low-level exception, which carry
 * the network's layout. {@code detail} is the operator's (usage log, start-up log) and may say more.
 */
public record UpstreamFailure(Kind kind, String message, String detail) {
    public enum Kind {
        /** Could not connect, TLS failed, or the proxy refused: 502. */
        UNREACHABLE,
        /** A timeout: connect, first byte, idle between chunks, or total: 504. */
        TIMEOUT,
        /** The connection closed or broke before the response was complete: 502. */
        BROKEN
    }

    /** A failure whose message is as fit for the operator as for the client. */
    public UpstreamFailure(Kind kind, String message) {
        this(kind, message, message);
    }

    public int status() {
        return kind == Kind.TIMEOUT ? 504 : 502;
    }
}
