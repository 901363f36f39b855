package dev.skiff.upstream;

/**
 * What the client side holds of work in flight upstream: one {@link Exchange}, or a
 * {@link MultiExchange} of several presented as one. Both report to an {@link ExchangeListener}.
 */
public interface UpstreamCall {
    /** The client went away: stop, and close rather than pool the connections in use. */
    void cancel();

    /** Pauses or resumes reading the response, to follow the client's pace. */
    void setAutoRead(boolean autoRead);
}
