package dev.skiff.observe;

/**
 * Something that watches every request end: metrics, the audit log, traces. Called once per request,
 * on the event loop that answered it, after the response was written; it must return at once (count,
 * or hand the record to a thread of its own), never block.
 */
public interface CallObserver {
    /**
     * @param record what the usage log records of the request
     * @param trail  what was captured along the way (bodies, timings, spans), or null when nothing
     *               captures (audit off and the request not traced)
     */
    void finished(UsageRecord record, RequestTrail trail);

    /** An upstream call failed before or while answering: {@code kind} is UpstreamFailure's kind, lower case. */
    default void upstreamFailed(String provider, String kind) {}
}
