package dev.skiff.observe.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.Capped;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.UsageRecord;
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

    static AuditRow row(ObjectMapper json, UsageRecord r, RequestTrail t, Redactor red, AuditConfig.Level level) {
        ObjectNode d = json.createObjectNode();
        boolean bodies = level == AuditConfig.Level.BODIES; // a trail may hold bodies for the tracer alone
        d.put("attempts", t != null ? Math.max(t.attempts(), r.attempts()) : r.attempts());
        if (r.droppedFields() != null) d.put("dropped_fields", r.droppedFields());
        if (t != null && t.responseModel != null) d.put("response_model", t.responseModel);
        d.set("usage", usage(json, r.usage()));
        if (t != null) {
            d.set("timing", timing(json, r, t, bodies));
            ObjectNode client = d.putObject("client");
            ObjectNode req = client.putObject("request");
            req.put("method", t.method());
            req.put("url", red.url(t.uri()));
            req.set("headers", headers(json, red, t.requestHeaders()));
            req.set("body", body(json, red, bodies ? t.requestBody() : null, false));
            ObjectNode res = client.putObject("response");
            res.put("status", t.clientStatus() != 0 ? t.clientStatus() : r.status());
            res.set("headers", headers(json, red, t.clientResponseHeaders()));
            res.set("body", body(json, red, bodies ? t.clientResponseBody() : null, true));
            if (t.upstreamMethod() != null) {
                ObjectNode p = d.putObject("provider");
                ObjectNode preq = p.putObject("request");
                preq.put("method", t.upstreamMethod());
                preq.put("url", red.url(t.upstreamUri()));
                preq.set("headers", headers(json, red, t.upstreamRequestHeaders()));
                preq.set("body", body(json, red, bodies ? t.upstreamRequestBody() : null, false));
                ObjectNode pres = p.putObject("response");
                if (t.upstreamStatus() != 0) pres.put("status", t.upstreamStatus());
                else pres.putNull("status");
                pres.set("headers", headers(json, red, t.upstreamResponseHeaders()));
                pres.set("body", body(json, red, bodies ? t.upstreamResponseBody() : null, true));
            } else {
                d.putNull("provider");
            }
        }
        String path = t == null || t.uri() == null ? null : pathOf(t.uri());
        long input = r.usage().promptTokens();
        long output = r.usage().completionTokens();
        String traceId = t != null && t.serverSpan != null ? t.serverSpan.traceId : null;
        return new AuditRow(0, t != null ? t.receivedMs : r.timestampMs(), r.requestId(), r.keyId(), r.userPath(), r.endUser(),
                t == null ? null : t.method(), path, r.endpoint(), r.provider(), r.model(), r.requestedModel(), r.stream(), r.status(),
                micros(r.latencyMs()), micros(r.ttftMs()), input, output, red.text(r.error()), level.id(), traceId, d.toString());
    }

    private static long micros(double ms) {
        return ms < 0 ? -1 : Math.round(ms * 1000);
    }

    static String pathOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    private static ObjectNode usage(ObjectMapper json, Usage u) {
        ObjectNode o = json.createObjectNode();
        if (u.promptTokens() >= 0) o.put("input_tokens", u.promptTokens());
        if (u.completionTokens() >= 0) o.put("output_tokens", u.completionTokens());
        if (u.totalTokens() >= 0) o.put("total_tokens", u.totalTokens());
        if (u.cachedTokens() >= 0) o.put("cached_tokens", u.cachedTokens());
        if (u.cacheCreationTokens() >= 0) o.put("cache_write_tokens", u.cacheCreationTokens());
        if (u.reasoningTokens() >= 0) o.put("reasoning_tokens", u.reasoningTokens());
        return o;
    }

    private static ObjectNode timing(ObjectMapper json, UsageRecord r, RequestTrail t, boolean bodies) {
        ObjectNode o = json.createObjectNode();
        o.put("received_at", java.time.Instant.ofEpochMilli(t.receivedMs).toString());
        ms(o, "upstream_sent_ms", t.upstreamSentNanos(), t.receivedNanos);
        ms(o, "upstream_connected_ms", t.upstreamConnectedNanos(), t.receivedNanos);
        if (t.upstreamConnectedNanos() >= 0) o.put("connection_reused", t.upstreamReused());
        ms(o, "first_byte_ms", t.upstreamFirstByteNanos(), t.receivedNanos);
        ms(o, "first_token_ms", t.upstreamFirstContentNanos(), t.receivedNanos);
        ms(o, "finished_ms", t.finishedNanos(), t.receivedNanos);
        // When each piece of the response left for the client (one per upstream read; a stream's events ride in them).
        ArrayNode pieces = o.putArray("chunks_ms");
        for (int i = 0; i < t.pieceCount(); i++) pieces.add(round(t.pieceMicros(i) / 1000.0));
        Capped body = t.clientResponseBody();
        if (body != null && t.pieceCount() > 0 && bodies) {
            ArrayNode events = o.putArray("events_ms");
            byte[] b = body.bytes();
            int piece = 0;
            for (int i = 0; i + 1 < b.length; i++) {
                if (b[i] == '\n' && b[i + 1] == '\n') {
                    while (piece < t.pieceCount() - 1 && t.pieceEnd(piece) <= i) piece++;
                    events.add(round(t.pieceMicros(piece) / 1000.0));
                    i++;
                }
            }
        }
        return o;
    }

    private static void ms(ObjectNode o, String name, long nanos, long from) {
        if (nanos < 0) o.putNull(name);
        else o.put(name, round((nanos - from) / 1e6));
    }

    private static double round(double ms) {
        return Math.round(ms * 10) / 10.0;
    }

    private static JsonNode headers(ObjectMapper json, Redactor red, String[] pairs) {
        if (pairs == null) return json.nullNode();
        ObjectNode o = json.createObjectNode();
        for (Map.Entry<String, String> e : red.headers(pairs).entrySet()) o.put(e.getKey(), e.getValue());
        return o;
    }

    /**
     * A body as it is stored: {@code size}, {@code truncated}, and its {@code text} (redacted) or
     * {@code base64}. Kept as text here, not parsed: the writer does as little per record as it can,
     * and {@link #expand} makes the API's form when a record is read.
     */
    private static JsonNode body(ObjectMapper json, Redactor red, Capped c, boolean response) {
        if (c == null) return json.nullNode();
        ObjectNode o = json.createObjectNode();
        o.put("size", c.total());
        o.put("truncated", c.truncated());
        byte[] bytes = c.bytes();
        String text = utf8(bytes, c.truncated());
        if (text == null) o.put("base64", Base64.getEncoder().encodeToString(bytes));
        else o.put("text", red.text(text));
        return o;
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
}
