package dev.skiff.observe.audit;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Json;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.Capped;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.UsageRecord;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * Turns a finished request (its usage record and trail) into the row the audit store keeps: redacted,
 * with bodies as JSON where they are JSON, streams reassembled, timings relative to receipt. The
 * shape of {@code detail} is the one {@code GET /admin/v1/audit/{request_id}} answers (docs/audit.md).
 * Runs on the audit writer's thread.
 */
final class AuditDocument {
    private AuditDocument() {}

    /**
     * Makes rows on the audit writer's thread, one after another: the detail is written straight to
     * text with a streaming generator (no tree of nodes built and then serialised), into a buffer
     * kept from row to row.
     */
    static final class Writer {
        private final Redactor red;
        private final AuditConfig.Level level;
        private final StringWriter text = new StringWriter(1024);

        Writer(Redactor red, AuditConfig.Level level) {
            this.red = red;
            this.level = level;
        }

        AuditRow row(UsageRecord r, RequestTrail t) {
            text.getBuffer().setLength(0);
            try (JsonGenerator g = Json.FACTORY.createGenerator(text)) {
                detail(g, r, t);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // a StringWriter does not fail
            }
            String path = t == null || t.uri() == null ? null : pathOf(t.uri());
            long input = r.usage().promptTokens();
            long output = r.usage().completionTokens();
            String traceId = t != null && t.serverSpan != null ? t.serverSpan.traceId : null;
            return new AuditRow(0, t != null ? t.receivedMs : r.timestampMs(), r.requestId(), r.keyId(), r.userPath(), r.endUser(),
                    t == null ? null : t.method(), path, r.endpoint(), r.provider(), r.model(), r.requestedModel(), r.stream(), r.status(),
                    micros(r.latencyMs()), micros(r.ttftMs()), input, output, red.text(r.error()), level.id(), traceId, text.toString());
        }

        private void detail(JsonGenerator g, UsageRecord r, RequestTrail t) throws IOException {
            boolean bodies = level == AuditConfig.Level.BODIES; // a trail may hold bodies for the tracer alone
            g.writeStartObject();
            g.writeNumberField("attempts", t != null ? Math.max(t.attempts(), r.attempts()) : r.attempts());
            if (r.droppedFields() != null) g.writeStringField("dropped_fields", r.droppedFields());
            if (t != null && t.responseModel != null) g.writeStringField("response_model", t.responseModel);
            g.writeFieldName("usage");
            usage(g, r.usage());
            if (t != null) {
                g.writeFieldName("timing");
                timing(g, t, bodies);
                exchange(g, "client", t.method(), t.uri(), t.requestHeaders(), bodies ? t.requestBody() : null,
                        t.clientStatus() != 0 ? t.clientStatus() : r.status(), t.clientResponseHeaders(), bodies ? t.clientResponseBody() : null);
                if (t.upstreamMethod() != null) {
                    exchange(g, "provider", t.upstreamMethod(), t.upstreamUri(), t.upstreamRequestHeaders(), bodies ? t.upstreamRequestBody() : null,
                            t.upstreamStatus(), t.upstreamResponseHeaders(), bodies ? t.upstreamResponseBody() : null);
                } else {
                    g.writeNullField("provider");
                }
            }
            g.writeEndObject();
        }

        /** One side's request and response ({@code client}: as the client saw them; {@code provider}: as sent and answered); status 0 is null. */
        private void exchange(JsonGenerator g, String side, String method, String uri, String[] requestHeaders, Capped requestBody,
                              int status, String[] responseHeaders, Capped responseBody) throws IOException {
            g.writeObjectFieldStart(side);
            g.writeObjectFieldStart("request");
            g.writeStringField("method", method);
            g.writeStringField("url", red.url(uri));
            headers(g, requestHeaders);
            body(g, requestBody);
            g.writeEndObject();
            g.writeObjectFieldStart("response");
            g.writeFieldName("status");
            if (status != 0) g.writeNumber(status);
            else g.writeNull();
            headers(g, responseHeaders);
            body(g, responseBody);
            g.writeEndObject();
            g.writeEndObject();
        }

        private static void usage(JsonGenerator g, Usage u) throws IOException {
            g.writeStartObject();
            count(g, "input_tokens", u.promptTokens());
            count(g, "output_tokens", u.completionTokens());
            count(g, "total_tokens", u.totalTokens());
            count(g, "cached_tokens", u.cachedTokens());
            count(g, "cache_write_tokens", u.cacheCreationTokens());
            count(g, "reasoning_tokens", u.reasoningTokens());
            g.writeEndObject();
        }

        private static void count(JsonGenerator g, String name, long n) throws IOException {
            if (n >= 0) g.writeNumberField(name, n);
        }

        private static void timing(JsonGenerator g, RequestTrail t, boolean bodies) throws IOException {
            g.writeStartObject();
            g.writeStringField("received_at", java.time.Instant.ofEpochMilli(t.receivedMs).toString());
            ms(g, "upstream_sent_ms", t.upstreamSentNanos(), t.receivedNanos);
            ms(g, "upstream_connected_ms", t.upstreamConnectedNanos(), t.receivedNanos);
            if (t.upstreamConnectedNanos() >= 0) g.writeBooleanField("connection_reused", t.upstreamReused());
            ms(g, "first_byte_ms", t.upstreamFirstByteNanos(), t.receivedNanos);
            ms(g, "first_token_ms", t.upstreamFirstContentNanos(), t.receivedNanos);
            ms(g, "finished_ms", t.finishedNanos(), t.receivedNanos);
            // When each piece of the response left for the client (one per upstream read; a stream's events ride in them).
            g.writeArrayFieldStart("chunks_ms");
            for (int i = 0; i < t.pieceCount(); i++) g.writeNumber(round(t.pieceMicros(i) / 1000.0));
            g.writeEndArray();
            Capped body = t.clientResponseBody();
            if (body != null && t.pieceCount() > 0 && bodies) {
                g.writeArrayFieldStart("events_ms");
                byte[] b = body.bytes();
                int piece = 0;
                for (int i = 0; i + 1 < b.length; i++) {
                    if (b[i] == '\n' && b[i + 1] == '\n') {
                        while (piece < t.pieceCount() - 1 && t.pieceEnd(piece) <= i) piece++;
                        g.writeNumber(round(t.pieceMicros(piece) / 1000.0));
                        i++;
                    }
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        }

        private static void ms(JsonGenerator g, String name, long nanos, long from) throws IOException {
            g.writeFieldName(name);
            if (nanos < 0) g.writeNull();
            else g.writeNumber(round((nanos - from) / 1e6));
        }

        /** Headers as an object, name to value, secrets redacted; null when none were kept (metadata level). */
        private void headers(JsonGenerator g, String[] pairs) throws IOException {
            g.writeFieldName("headers");
            if (pairs == null) {
                g.writeNull();
                return;
            }
            g.writeStartObject();
            for (Map.Entry<String, String> e : red.headers(pairs).entrySet()) g.writeStringField(e.getKey(), e.getValue());
            g.writeEndObject();
        }

        /**
         * A body as it is stored: {@code size}, {@code truncated}, and its {@code text} (redacted) or
         * {@code base64}. Kept as text here, not parsed: the writer does as little per record as it can,
         * and {@link #expand} makes the API's form when a record is read.
         */
        private void body(JsonGenerator g, Capped c) throws IOException {
            g.writeFieldName("body");
            if (c == null) {
                g.writeNull();
                return;
            }
            g.writeStartObject();
            g.writeNumberField("size", c.total());
            g.writeBooleanField("truncated", c.truncated());
            byte[] bytes = c.bytes();
            String text = utf8(bytes, c.truncated());
            if (text == null) g.writeStringField("base64", Base64.getEncoder().encodeToString(bytes));
            else g.writeStringField("text", red.text(text));
            g.writeEndObject();
        }
    }

    private static long micros(double ms) {
        return ms < 0 ? -1 : Math.round(ms * 1000);
    }

    static String pathOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    private static double round(double ms) {
        return Math.round(ms * 10) / 10.0;
    }

    /**
     * A stored record's bodies in the API's form (docs/audit.md): a whole JSON body as {@code json},
     * a streamed response with {@code events} and {@code assembled}. Runs when a record is read.
     */
    static void expand(ObjectMapper json, ObjectNode detail) {
        for (String side : new String[] {"client", "provider"}) {
            expand(json, detail.path(side).path("request").path("body"), false);
            expand(json, detail.path(side).path("response").path("body"), true);
        }
    }

    private static void expand(ObjectMapper json, JsonNode node, boolean response) {
        if (!(node instanceof ObjectNode o) || !o.path("text").isTextual()) return;
        String text = o.get("text").asText();
        if (response && StreamAssembler.looksLikeSse(text)) {
            o.put("events", StreamAssembler.dataOf(text).size());
            JsonNode assembled = StreamAssembler.assemble(json, text);
            if (assembled != null) o.set("assembled", assembled);
            else o.putNull("assembled");
            return;
        }
        if (o.path("truncated").asBoolean()) return;
        try {
            JsonNode tree = json.readTree(text);
            if (tree != null && (tree.isObject() || tree.isArray())) {
                o.remove("text");
                o.set("json", tree);
            }
        } catch (Exception e) {
            // not JSON: stays text
        }
    }

    /** The bytes as UTF-8 text, or null when they are not; a capture cut inside a character is taken up to it. */
    private static String utf8(byte[] b, boolean truncated) {
        if (ascii(b)) return new String(b, StandardCharsets.ISO_8859_1); // most bodies (JSON escapes what is not ASCII): no decoder
        for (int cut = 0; cut <= (truncated ? 3 : 0) && cut <= b.length; cut++) {
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, 0, b.length - cut)).toString();
            } catch (CharacterCodingException e) {
                // try a byte shorter
            }
        }
        return null;
    }

    private static boolean ascii(byte[] b) {
        for (byte x : b) if (x < 0) return false;
        return true;
    }
}
