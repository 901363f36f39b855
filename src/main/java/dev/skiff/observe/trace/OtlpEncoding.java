package dev.skiff.observe.trace;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.skiff.dialect.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * An OTLP {@code ExportTraceServiceRequest} of spans, in the protobuf wire format or the OTLP JSON
 * mapping (ids as hex, 64-bit integers as strings, enums as numbers). One resource (the service),
 * one instrumentation scope ({@code dev.skiff}).
 */
final class OtlpEncoding {
    private OtlpEncoding() {}

    static final String SCOPE = "dev.skiff";

    static byte[] json(TraceConfig config, List<Span> spans) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024 + spans.size() * 600);
        try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
            g.writeStartObject();
            g.writeArrayFieldStart("resourceSpans");
            g.writeStartObject();
            g.writeObjectFieldStart("resource");
            g.writeArrayFieldStart("attributes");
            for (Map.Entry<String, String> e : config.resource().entrySet()) jsonAttribute(g, e.getKey(), e.getValue());
            g.writeEndArray();
            g.writeEndObject();
            g.writeArrayFieldStart("scopeSpans");
            g.writeStartObject();
            g.writeObjectFieldStart("scope");
            g.writeStringField("name", SCOPE);
            g.writeEndObject();
            g.writeArrayFieldStart("spans");
            for (Span s : spans) {
                g.writeStartObject();
                g.writeStringField("traceId", s.traceId);
                g.writeStringField("spanId", s.spanId);
                if (s.parentSpanId != null) g.writeStringField("parentSpanId", s.parentSpanId);
                g.writeStringField("name", s.name);
                g.writeNumberField("kind", kind(s));
                g.writeStringField("startTimeUnixNano", Long.toUnsignedString(s.startEpochNanos));
                g.writeStringField("endTimeUnixNano", Long.toUnsignedString(s.endEpochNanos));
                g.writeArrayFieldStart("attributes");
                for (Map.Entry<String, Object> e : s.attributes.entrySet()) jsonAttribute(g, e.getKey(), e.getValue());
                g.writeEndArray();
                g.writeObjectFieldStart("status");
                if (s.error) {
                    g.writeNumberField("code", 2);
                    if (s.statusMessage != null) g.writeStringField("message", s.statusMessage);
                }
                g.writeEndObject();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void jsonAttribute(JsonGenerator g, String key, Object value) throws IOException {
        Object v = resolve(value);
        g.writeStartObject();
        g.writeStringField("key", key);
        g.writeObjectFieldStart("value");
        switch (v) {
            case Long l -> g.writeStringField("intValue", Long.toString(l));
            case Integer i -> g.writeStringField("intValue", Integer.toString(i));
            case Double d -> g.writeNumberField("doubleValue", d);
            case Boolean b -> g.writeBooleanField("boolValue", b);
            default -> g.writeStringField("stringValue", String.valueOf(v));
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    /** A value given as a supplier (content parsed off the event loop) is made now. */
    private static Object resolve(Object value) {
        return value instanceof Supplier<?> s ? s.get() : value;
    }

    private static int kind(Span s) {
        return s.kind == Span.Kind.SERVER ? 2 : 3;
    }

    // ---- protobuf (opentelemetry/proto/collector/trace/v1/trace_service.proto and the messages it uses) ----

    static byte[] protobuf(TraceConfig config, List<Span> spans) {
        Proto scopeSpans = new Proto();
        scopeSpans.message(1, new Proto().string(1, SCOPE)); // InstrumentationScope.name
        for (Span s : spans) scopeSpans.message(2, span(s));
        Proto resource = new Proto();
        for (Map.Entry<String, String> e : config.resource().entrySet()) resource.message(1, keyValue(e.getKey(), e.getValue()));
        Proto resourceSpans = new Proto().message(1, resource).message(2, scopeSpans);
        return new Proto().message(1, resourceSpans).bytes();
    }

    private static Proto span(Span s) {
        Proto p = new Proto()
                .bytes(1, hexBytes(s.traceId))
                .bytes(2, hexBytes(s.spanId));
        if (s.parentSpanId != null) p.bytes(4, hexBytes(s.parentSpanId));
        p.string(5, s.name).varint(6, kind(s)).fixed64(7, s.startEpochNanos).fixed64(8, s.endEpochNanos);
        for (Map.Entry<String, Object> e : s.attributes.entrySet()) p.message(9, keyValue(e.getKey(), e.getValue()));
        Proto status = new Proto();
        if (s.error) {
            if (s.statusMessage != null) status.string(2, s.statusMessage);
            status.varint(3, 2);
        }
        p.message(15, status);
        return p;
    }

    private static Proto keyValue(String key, Object value) {
        Object v = resolve(value);
        Proto any = new Proto();
        switch (v) {
            case Long l -> any.varint(3, l);
            case Integer i -> any.varint(3, i);
            case Double d -> any.fixed64(4, Double.doubleToRawLongBits(d));
            case Boolean b -> any.varint(2, b ? 1 : 0);
            default -> any.string(1, String.valueOf(v));
        }
        return new Proto().string(1, key).message(2, any);
    }

    static byte[] hexBytes(String hex) {
        byte[] out = new byte[hex.length() / 2];
        for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(hex, i * 2, i * 2 + 2, 16);
        return out;
    }

    /** A protobuf message being written: fields appended in order, nested messages length-prefixed. */
    static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream(64);

        private void tag(int field, int wireType) {
            raw(((long) field << 3) | wireType);
        }

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        Proto varint(int field, long v) {
            tag(field, 0);
            raw(v);
            return this;
        }

        Proto fixed64(int field, long v) {
            tag(field, 1);
            for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
            return this;
        }

        Proto bytes(int field, byte[] b) {
            tag(field, 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        Proto string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto m) {
            return bytes(field, m.bytes());
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
