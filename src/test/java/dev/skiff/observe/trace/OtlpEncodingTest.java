package dev.skiff.observe.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The protobuf encoding read back field by field, with a reader written from the wire format; traceparent parsing. */
class OtlpEncodingTest {
    /** Fields of one message: number to values (byte[] for length-delimited, Long for varint and fixed64). */
    static Map<Integer, List<Object>> read(byte[] b) {
        Map<Integer, List<Object>> out = new LinkedHashMap<>();
        int[] at = {0};
        while (at[0] < b.length) {
            long tag = varint(b, at);
            int field = (int) (tag >>> 3);
            Object v = switch ((int) (tag & 7)) {
                case 0 -> varint(b, at);
                case 1 -> {
                    long x = ByteBuffer.wrap(b, at[0], 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
                    at[0] += 8;
                    yield x;
                }
                case 2 -> {
                    int len = (int) varint(b, at);
                    byte[] x = java.util.Arrays.copyOfRange(b, at[0], at[0] + len);
                    at[0] += len;
                    yield x;
                }
                default -> throw new AssertionError("wire type " + (tag & 7));
            };
            out.computeIfAbsent(field, k -> new ArrayList<>()).add(v);
        }
        return out;
    }

    static long varint(byte[] b, int[] at) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            int x = b[at[0]++] & 0xff;
            v |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) return v;
        }
    }

    static byte[] one(Map<Integer, List<Object>> m, int field) {
        return (byte[]) m.get(field).getFirst();
    }

    @Test
    void protobufCarriesTheSpanAsTheOtlpMessagesDefineIt() {
        TraceConfig config = TraceConfig.from(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_SERVICE_NAME", "svc"));
        assertThat(config.endpoint()).isEqualTo(URI.create("http://collector:4318/v1/traces"));
        Span s = new Span("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "1111111111111111", Span.Kind.CLIENT, true, "chat m", 1_000L);
        s.endEpochNanos = 2_000L;
        s.set("gen_ai.usage.input_tokens", 12L).set("gen_ai.provider.name", "openai");
        s.error = true;
        s.statusMessage = "boom";
        Map<Integer, List<Object>> request = read(OtlpEncoding.protobuf(config, List.of(s)));
        Map<Integer, List<Object>> resourceSpans = read(one(request, 1));
        Map<Integer, List<Object>> resource = read(one(resourceSpans, 1));
        Map<Integer, List<Object>> kv = read(one(resource, 1));
        assertThat(new String(one(kv, 1), StandardCharsets.UTF_8)).isEqualTo("service.name");
        assertThat(new String(one(read(one(kv, 2)), 1), StandardCharsets.UTF_8)).isEqualTo("svc");
        Map<Integer, List<Object>> scopeSpans = read(one(resourceSpans, 2));
        assertThat(new String(one(read(one(scopeSpans, 1)), 1), StandardCharsets.UTF_8)).isEqualTo("dev.skiff");
        Map<Integer, List<Object>> span = read(one(scopeSpans, 2));
        assertThat(HexFormat.of().formatHex(one(span, 1))).isEqualTo(s.traceId);
        assertThat(HexFormat.of().formatHex(one(span, 2))).isEqualTo(s.spanId);
        assertThat(HexFormat.of().formatHex(one(span, 4))).isEqualTo(s.parentSpanId);
        assertThat(new String(one(span, 5), StandardCharsets.UTF_8)).isEqualTo("chat m");
        assertThat(span.get(6).getFirst()).isEqualTo(3L); // SPAN_KIND_CLIENT
        assertThat(span.get(7).getFirst()).isEqualTo(1_000L);
        assertThat(span.get(8).getFirst()).isEqualTo(2_000L);
        Map<Integer, List<Object>> tokens = read((byte[]) span.get(9).get(0));
        assertThat(new String(one(tokens, 1), StandardCharsets.UTF_8)).isEqualTo("gen_ai.usage.input_tokens");
        assertThat(read(one(tokens, 2)).get(3).getFirst()).isEqualTo(12L); // AnyValue.int_value
        Map<Integer, List<Object>> status = read(one(span, 15));
        assertThat(new String(one(status, 2), StandardCharsets.UTF_8)).isEqualTo("boom");
        assertThat(status.get(3).getFirst()).isEqualTo(2L); // STATUS_CODE_ERROR
    }

    @Test
    void traceparentsAreParsedStrictly() {
        assertThat(Tracer.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
                .containsExactly("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "1");
        assertThat(Tracer.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")[2]).isEqualTo("0");
        assertThat(Tracer.parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01")).isNull();
        assertThat(Tracer.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")).isNull();
        assertThat(Tracer.parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).isNull();
        assertThat(Tracer.parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")).isNull();
        assertThat(Tracer.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")).isNull();
        assertThat(Tracer.parse("garbage")).isNull();
        assertThat(Tracer.route("/v1/models/openai/gpt-4o")).isEqualTo("/v1/models/{model}");
        assertThat(Tracer.route("/p/openai/v1/files")).isEqualTo("/p/openai/*");
    }
}
