package dev.skiff.provider.bedrock;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One decoded event stream message: its headers in wire order and its payload.
 *
 * <p>Header values are Java objects chosen by wire type, and the encoder maps them back the same
 * way: {@code Boolean} (types 0/1), {@code Byte} (2), {@code Short} (3), {@code Integer} (4),
 * {@code Long} (5), {@code byte[]} (6), {@code String} (7), {@code java.time.Instant} (8, millisecond
 * precision) and {@code java.util.UUID} (9).
 *
 * <p>The payload is a plain array rather than a ByteBuf so a message can be handed to any code
 * (Jackson, a test, another thread) without reference-counting obligations; Bedrock payloads are
 * small JSON documents, so the copy is cheap. Treat it as read-only.
 */
public record EventStreamMessage(Map<String, Object> headers, byte[] payload) {
    public static final String EVENT_TYPE = ":event-type";
    public static final String MESSAGE_TYPE = ":message-type";
    public static final String CONTENT_TYPE = ":content-type";
    public static final String EXCEPTION_TYPE = ":exception-type";
    public static final String ERROR_CODE = ":error-code";
    public static final String ERROR_MESSAGE = ":error-message";

    public EventStreamMessage {
        headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        Objects.requireNonNull(payload, "payload");
    }

    /** {@code :message-type}: "event", "exception" (a modelled error) or "error" (an unmodelled one). */
    public String messageType() {
        return stringHeader(MESSAGE_TYPE);
    }

    /** {@code :event-type}, e.g. "contentBlockDelta" or "messageStop" for ConverseStream. */
    public String eventType() {
        return stringHeader(EVENT_TYPE);
    }

    public String contentType() {
        return stringHeader(CONTENT_TYPE);
    }

    /** {@code :exception-type} of an exception message, e.g. "throttlingException". */
    public String exceptionType() {
        return stringHeader(EXCEPTION_TYPE);
    }

    /** {@code :error-code} of an error message. */
    public String errorCode() {
        return stringHeader(ERROR_CODE);
    }

    /** {@code :error-message} of an error message. */
    public String errorMessage() {
        return stringHeader(ERROR_MESSAGE);
    }

    /** The header's value when it is a string header, otherwise null. */
    public String stringHeader(String name) {
        return headers.get(name) instanceof String s ? s : null;
    }

    public String payloadUtf8() {
        return new String(payload, StandardCharsets.UTF_8);
    }

    /** Compares contents: arrays (the payload and byte-array headers) by their bytes. */
    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof EventStreamMessage m) || !Arrays.equals(payload, m.payload) || headers.size() != m.headers.size()) {
            return false;
        }
        for (Map.Entry<String, Object> e : headers.entrySet()) {
            if (!m.headers.containsKey(e.getKey()) || !Objects.deepEquals(e.getValue(), m.headers.get(e.getKey()))) return false;
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = Arrays.hashCode(payload);
        for (Map.Entry<String, Object> e : headers.entrySet()) {
            Object v = e.getValue();
            h += e.getKey().hashCode() ^ (v instanceof byte[] b ? Arrays.hashCode(b) : Objects.hashCode(v));
        }
        return h;
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("EventStreamMessage[headers={");
        boolean first = true;
        for (Map.Entry<String, Object> e : headers.entrySet()) {
            if (!first) out.append(", ");
            first = false;
            Object v = e.getValue();
            out.append(e.getKey()).append('=').append(v instanceof byte[] b ? "byte[" + b.length + "]" : v);
        }
        return out.append("}, payload=").append(payload.length).append(" bytes]").toString();
    }
}
