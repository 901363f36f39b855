package dev.skiff.observe.trace;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One span as it is built on an event loop and then exported: ids in lower-case hex, times in epoch
 * nanoseconds, attributes of String, Long, Double or Boolean values.
 */
public final class Span {
    public enum Kind { SERVER, CLIENT }

    public final String traceId;
    public final String spanId;
    public final String parentSpanId; // null for a root
    public final Kind kind;
    public final boolean sampled;
    public String name;
    public final long startEpochNanos;
    public long endEpochNanos;
    public final Map<String, Object> attributes = new LinkedHashMap<>(16);
    public boolean error;
    public String statusMessage;

    public Span(String traceId, String spanId, String parentSpanId, Kind kind, boolean sampled, String name, long startEpochNanos) {
        this.traceId = traceId;
        this.spanId = spanId;
        this.parentSpanId = parentSpanId;
        this.kind = kind;
        this.sampled = sampled;
        this.name = name;
        this.startEpochNanos = startEpochNanos;
    }

    /** Sets an attribute; null values are left out. */
    public Span set(String key, Object value) {
        if (value != null) attributes.put(key, value);
        return this;
    }

    /** The W3C {@code traceparent} that names this span as the parent. */
    public String traceparent() {
        return "00-" + traceId + "-" + spanId + (sampled ? "-01" : "-00");
    }
}
