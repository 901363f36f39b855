package dev.skiff.observe.audit;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Bytes;
import dev.skiff.dialect.Json;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.Capped;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.UsageRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

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
     * UTF-8 with a streaming generator (no tree of nodes built and then serialised), into a buffer
     * kept from row to row. A body is escaped from its captured bytes, not first made a String, when
     * it is ASCII and no configured pattern is to be redacted from it (the usual case).
     */
    static final class Writer {
        private final Redactor red;
        /** The level of records without a trail to say theirs (see {@link #levelOf}). */
        private final AuditConfig.Level level;
        /** The level of the row being made: its trail's. */
        private AuditConfig.Level rowLevel;
        private final Utf8Buffer text = new Utf8Buffer();
        /** The row being made's bodies (see {@link #body}); null when it keeps none. */
        private byte[][] bodies;
        /** The row being made's values that headers may repeat (see {@link #headers}). */
        private String rowRequestId, rowProvider, rowModel, rowAttempts;

        /** The generator writing into {@link #text}, kept from row to row (null: made afresh, as after a failure mid-record). */
        private JsonGenerator generator;

        Writer(Redactor red, AuditConfig.Level level) {
            this.red = red;
            this.level = level;
        }

        /**
         * The generator, for one record written into the emptied buffer: one kept, not one made per record
         * (each came with its context, its buffers taken from a pool and given back: a few hundred bytes
         * and a fraction of a µs, for every request at metadata level). Its records are root values
         * without a separator; {@link #done} flushes one into the buffer.
         */
        private JsonGenerator start() throws IOException {
            text.reset();
            if (generator == null) {
                generator = Json.FACTORY.createGenerator(text);
                generator.setRootValueSeparator(null);
            }
            return generator;
        }

        private void done(JsonGenerator g) throws IOException {
            g.flush();
        }

        /** A record that failed half way leaves the generator inside it: the next one starts with a new one. */
        private void discard() {
            generator = null;
        }

        /** What writes one record's JSON. */
        private interface Part {
            void write(JsonGenerator g) throws IOException;
        }

        /** Writes one record into the emptied buffer with the kept generator ({@link #start}, {@link #done}). */
        private void write(Part part) {
            boolean made = false;
            try {
                JsonGenerator g = start();
                part.write(g);
                done(g);
                made = true;
            } catch (IOException e) {
                throw new UncheckedIOException(e); // a byte buffer does not fail
            } finally {
                if (!made) discard();
            }
        }

        /**
         * The level a request was captured at: its trail's (the audit level may change while requests
         * run; each keeps the one it began with), else {@code fallback}.
         */
        static AuditConfig.Level levelOf(RequestTrail t, AuditConfig.Level fallback) {
            if (t == null || !t.audited()) return fallback;
            return t.auditsBodies() ? AuditConfig.Level.BODIES : AuditConfig.Level.METADATA;
        }

        AuditRow row(UsageRecord r, RequestTrail t) {
            return row(r, t, levelOf(t, level));
        }

        /** The row of {@code r} at {@code level} (bodies kept only at bodies level). */
        AuditRow row(UsageRecord r, RequestTrail t, AuditConfig.Level level) {
            rowLevel = level;
            String path = t == null || t.uri() == null ? null : pathOf(t.uri());
            int status = r.status();
            begin(r);
            write(g -> detail(g, r, t, path));
            long input = r.usage().promptTokens();
            long output = r.usage().completionTokens();
            String traceId = t != null && t.serverSpan != null ? t.serverSpan.traceId : null;
            return new AuditRow(0, t != null ? t.receivedMs : r.timestampMs(), r.requestId(), r.keyId(), r.userPath(), r.endUser(),
                    t == null ? null : t.method(), path, r.endpoint(), r.provider(), r.model(), r.requestedModel(), r.stream(), status,
                    micros(r.latencyMs()), micros(r.ttftMs()), input, output, red.text(r.error()), level.id(), traceId, null, bodies, text.toByteArray());
        }

        /**
         * The audit record a usage row carries (its column {@code audit}, metadata level), written for
         * every request, so as short as it can be: what an audit row has in columns of its own that a
         * usage row has not (method unless POST, path unless its endpoint's usual one, trace id; the error
         * when redacting changed it: the usage row keeps it as it was), and the detail's short form
         * without what the row's columns say (usage, a response model that is the row's model), timings
         * as whole tenths of a millisecond in {@link #TIMES}' order, the client's and provider's sides as
         * plain members ({@link #fromUsage} names them, and makes the detail whole). Measured
         * on the usage writer (JDBC, SQLite, 300-row transactions): 460 bytes of record cost about 2 µs a
         * row, these 85 about 0.5; the two partial indexes (see the usage migration) 3.4 more.
         */
        String inUsageRow(UsageRecord r, RequestTrail t) {
            writeInUsageRow(r, t);
            return text.utf8();
        }

        /** {@link #inUsageRow} in UTF-8, as the usage store binds it. */
        byte[] inUsageRowUtf8(UsageRecord r, RequestTrail t) {
            writeInUsageRow(r, t);
            return text.toByteArray();
        }

        private void writeInUsageRow(UsageRecord r, RequestTrail t) {
            String path = t.uri() == null ? null : pathOf(t.uri());
            write(g -> {
                g.writeStartObject();
                columns(g, r, t, path);
                int attempts = Math.max(t.attempts(), r.attempts());
                if (attempts != 1) g.writeNumberField("attempts", attempts);
                if (r.droppedFields() != null) g.writeStringField("dropped_fields", r.droppedFields());
                if (t.responseModel == null) g.writeNullField("model");
                else if (!t.responseModel.equals(r.model())) g.writeStringField("model", t.responseModel);
                g.writeArrayFieldStart("t");
                long[] times = {t.upstreamSentNanos(), t.upstreamConnectedNanos(), t.upstreamFirstByteNanos(), t.upstreamFirstContentNanos(), t.finishedNanos()};
                for (long nanos : times) {
                    if (nanos < 0) g.writeNull();
                    else g.writeNumber((nanos - t.receivedNanos + 50_000) / 100_000);
                }
                g.writeEndArray();
                if (t.upstreamConnectedNanos() >= 0 && !t.upstreamReused()) g.writeBooleanField("new_connection", true);
                g.writeArrayFieldStart("c");
                for (int i = 0; i < t.pieceCount(); i++) g.writeNumber((t.pieceMicros(i) + 50) / 100);
                g.writeEndArray();
                String url = urlUnlessPath(t.uri(), path);
                if (url != null) g.writeStringField("cu", url);
                if (t.clientStatus() != 0 && t.clientStatus() != r.status()) g.writeNumberField("cs", t.clientStatus());
                if (t.upstreamMethod() != null) {
                    if (!t.upstreamMethod().equals(t.method())) g.writeStringField("pm", t.upstreamMethod());
                    g.writeStringField("pu", red.url(t.upstreamUri()));
                    if (t.upstreamStatus() != 0) g.writeNumberField("ps", t.upstreamStatus());
                }
                g.writeEndObject();
            });
        }

        /** Starts a row of {@code r}: no bodies yet, and the values its headers may repeat. */
        private void begin(UsageRecord r) {
            bodies = null;
            rowRequestId = r.requestId();
            rowProvider = r.provider();
            rowModel = r.model();
        }

        /**
         * The members of a record in a usage row that stand for the audit table's columns a usage row has
         * not: m method (unless POST), p path (unless its endpoint's usual one), trace, err (the error when
         * redacting changed it: the usage row keeps it as it was).
         */
        private void columns(JsonGenerator g, UsageRecord r, RequestTrail t, String path) throws IOException {
            if (t.method() != null && !t.method().equals("POST")) g.writeStringField("m", t.method());
            if (path != null && !path.equals(usualPath(r.endpoint()))) g.writeStringField("p", path);
            if (t.serverSpan != null) g.writeStringField("trace", t.serverSpan.traceId);
            String error = red.text(r.error());
            if (error != null && !error.equals(r.error())) g.writeStringField("err", error);
        }

        /**
         * The audit record a usage row carries at bodies level, and its bodies (apart, as {@link #row}
         * keeps them): the members {@link #columns} writes, {@code in}/{@code out} null when the input or
         * output tokens were not reported (the usage row's columns count them 0, the audit table's are
         * null), and under {@code d} the detail as {@link #row} writes it. One row per request, written
         * by the usage writer, instead of a usage row and an audit row.
         */
        dev.skiff.observe.UsageLog.AuditInRow withBodiesInUsageRow(UsageRecord r, RequestTrail t) {
            rowLevel = AuditConfig.Level.BODIES;
            String path = t.uri() == null ? null : pathOf(t.uri());
            begin(r);
            write(g -> {
                g.writeStartObject();
                columns(g, r, t, path);
                if (r.usage().promptTokens() < 0) nul(g, N_IN);
                if (r.usage().completionTokens() < 0) nul(g, N_OUT);
                g.writeFieldName(N_D);
                detail(g, r, t, path);
                g.writeEndObject();
            });
            return new dev.skiff.observe.UsageLog.AuditInRow(text.toByteArray(), bodies);
        }

        /**
         * The stored detail, in its short form: what the row's columns already say (method, path, status,
         * input and output tokens, the receipt time), what is null and what repeats the client's side is
         * left out, and {@link #complete} puts it back when a record is read. Most records are written and
         * never read: each byte left out here is one the writer neither formats nor stores (a metadata
         * record went from about 700 bytes to about 250).
         */
        private void detail(JsonGenerator g, UsageRecord r, RequestTrail t, String path) throws IOException {
            boolean bodies = rowLevel == AuditConfig.Level.BODIES; // a trail may hold bodies for the tracer alone
            g.writeStartObject();
            int attempts = t != null ? Math.max(t.attempts(), r.attempts()) : r.attempts();
            if (attempts != 1) num(g, N_ATTEMPTS, attempts);
            rowAttempts = Integer.toString(attempts);
            if (r.droppedFields() != null) str(g, N_DROPPED_FIELDS, r.droppedFields());
            // Left out when it is the row's model (put back by unpack), null when there was none.
            String responseModel = t != null ? t.responseModel : null;
            if (responseModel == null) nul(g, N_RESPONSE_MODEL);
            else if (!responseModel.equals(r.model())) str(g, N_RESPONSE_MODEL, responseModel);
            g.writeFieldName(N_USAGE);
            usage(g, r.usage());
            if (t != null) {
                g.writeFieldName(N_TIMING);
                timing(g, t, bodies);
                Capped clientRequest = bodies ? t.requestBody() : null;
                Capped clientResponse = bodies ? t.clientResponseBody() : null;
                int clientStatus = t.clientStatus() != 0 ? t.clientStatus() : r.status();
                exchange(g, N_CLIENT, 0, null, urlUnlessPath(t.uri(), path), null, t.requestHeaders(), clientRequest, null,
                        clientStatus == r.status() ? 0 : clientStatus, t.clientResponseHeaders(), clientResponse, null);
                if (t.upstreamMethod() != null) {
                    String url = red.url(t.upstreamUri());
                    exchange(g, N_PROVIDER, 2, t.upstreamMethod().equals(t.method()) ? null : t.upstreamMethod(), url, authority(url),
                            t.upstreamRequestHeaders(), bodies ? t.upstreamRequestBody() : null, clientRequest,
                            t.upstreamStatus(), t.upstreamResponseHeaders(), bodies ? t.upstreamResponseBody() : null, clientResponse);
                }
            }
            g.writeEndObject();
        }

        /** The client's URL redacted, or null when that is the path column as it is (no query, nothing redacted). */
        private String urlUnlessPath(String uri, String path) {
            String url = red.url(uri);
            return url != null && url.equals(path) ? null : url;
        }

        /**
         * One side's request and response ({@code client}: as the client saw them; {@code provider}: as sent
         * and answered). Null members and status 0 are left out; a provider body the same as the client's
         * ({@code sameRequest}, {@code sameResponse}: forwarded untranslated) is written as {@code {"same_as_client": true}}.
         */
        private void exchange(JsonGenerator g, SerializedString side, int slot, String method, String url, String host, String[] requestHeaders, Capped requestBody,
                              Capped sameRequest, int status, String[] responseHeaders, Capped responseBody, Capped sameResponse)
                throws IOException {
            obj(g, side);
            obj(g, N_REQUEST);
            if (method != null) str(g, N_METHOD, method);
            if (url != null) str(g, N_URL, url);
            headers(g, requestHeaders, requestBody, host);
            body(g, requestBody, sameRequest, slot);
            g.writeEndObject();
            obj(g, N_RESPONSE);
            if (status != 0) num(g, N_STATUS, status);
            headers(g, responseHeaders, responseBody, null);
            body(g, responseBody, sameResponse, slot + 1);
            g.writeEndObject();
            g.writeEndObject();
        }

        /**
         * The usage in its stored form, an array (input and output tokens are columns): total, cached, cache
         * write and reasoning tokens, null for those not reported (and left out after the last that was);
         * {@link #unpack} names them again.
         */
        private static void usage(JsonGenerator g, Usage u) throws IOException {
            long[] counts = {u.totalTokens(), u.cachedTokens(), u.cacheCreationTokens(), u.reasoningTokens()};
            int n = counts.length;
            while (n > 0 && counts[n - 1] < 0) n--;
            g.writeStartArray();
            for (int i = 0; i < n; i++) {
                if (counts[i] >= 0) g.writeNumber(counts[i]);
                else g.writeNull();
            }
            g.writeEndArray();
        }

        /**
         * The timings in their stored form, whole tenths of a ms since receipt ({@link #unpack} makes them the
         * API's milliseconds, {@code 12.0}, {@code 0.2}): t the steps in {@link #TIMES}' order (null for one
         * that did not happen), new when the connection was not reused, c the pieces, e the events. The
         * members' names as the API has them were about a fifth of a short chat's record, and its largest part
         * written for every request.
         */
        private void timing(JsonGenerator g, RequestTrail t, boolean bodies) throws IOException {
            g.writeStartObject();
            arr(g, N_T);
            ms(g, t.upstreamSentNanos(), t.receivedNanos);
            ms(g, t.upstreamConnectedNanos(), t.receivedNanos);
            ms(g, t.upstreamFirstByteNanos(), t.receivedNanos);
            ms(g, t.upstreamFirstContentNanos(), t.receivedNanos);
            ms(g, t.finishedNanos(), t.receivedNanos);
            g.writeEndArray();
            if (t.upstreamConnectedNanos() >= 0 && !t.upstreamReused()) bool(g, N_NEW, true);
            // When each piece of the response left for the client (one per upstream read; a stream's events ride in them).
            arr(g, N_C);
            for (int i = 0; i < t.pieceCount(); i++) g.writeNumber(Math.round(t.pieceMicros(i) / 100.0));
            g.writeEndArray();
            Capped body = t.clientResponseBody();
            if (body != null && t.pieceCount() > 0 && bodies) {
                arr(g, N_E);
                byte[] b = body.bytes();
                int piece = 0;
                // Each blank line ends an event ("\n\n"; the second newline is not the first of another). A JSON
                // answer (most bodies kept) has no newline or few: the search reads eight bytes at a time.
                for (int i = Bytes.indexOf(b, 0, b.length, (byte) '\n'); i >= 0 && i + 1 < b.length; i = Bytes.indexOf(b, i + 1, b.length, (byte) '\n')) {
                    if (b[i + 1] != '\n') continue;
                    while (piece < t.pieceCount() - 1 && t.pieceEnd(piece) <= i) piece++;
                    g.writeNumber(Math.round(t.pieceMicros(piece) / 100.0));
                    i++;
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        }

        /** A step's time in tenths of a ms since receipt; null when the step did not happen. */
        private static void ms(JsonGenerator g, long nanos, long from) throws IOException {
            if (nanos < 0) g.writeNull();
            else g.writeNumber(Math.round((nanos - from) / 1e5));
        }

        /**
         * Headers as an object, name to value, secrets redacted; left out when none were kept (metadata
         * level). Those that say what the row says already ({@link #REPEATS}: the body's size, the
         * request id, provider, model, attempts, the URL's host) are left out when they say just that,
         * and named in {@code hx} (a bit each) for {@link #complete} to put back: a third of a short
         * chat's record was such headers.
         */
        private void headers(JsonGenerator g, String[] pairs, Capped body, String host) throws IOException {
            if (pairs == null) return;
            int[] omitted = {0};
            obj(g, N_HEADERS);
            red.eachHeader(pairs, (Redactor.NamedHeaderSink) (name, value) -> {
                int bit = name.repeat() == 0 ? 0 : repeats(name.repeat(), value, body, host);
                if (bit != 0) {
                    omitted[0] |= bit;
                } else {
                    g.writeFieldName(name.encoded());
                    g.writeString(value);
                }
            });
            g.writeEndObject();
            if (omitted[0] != 0) num(g, N_HX, omitted[0]);
        }

        /** {@code bit} (a header's {@link Redactor.Name#repeat}) when the header's value is what the row says, else 0. */
        private int repeats(int bit, String value, Capped body, String host) {
            boolean same = switch (bit) {
                case 1 -> body != null && says(value, body.total());
                case 2 -> value.equals(rowRequestId);
                case 4 -> value.equals(rowProvider);
                case 8 -> value.equals(rowModel);
                case 16 -> value.equals(rowAttempts);
                case 32 -> value.equals(host);
                default -> false;
            };
            return same ? bit : 0;
        }

        /** Whether {@code value} is {@code n} in decimal as {@link Long#toString(long)} writes it, without making that String. */
        static boolean says(String value, long n) {
            if (n < 0) return value.equals(Long.toString(n));
            int at = value.length();
            if (at == 0 || at > 1 && value.charAt(0) == '0') return false;
            do {
                if (--at < 0 || value.charAt(at) != (char) ('0' + n % 10)) return false;
                n /= 10;
            } while (n > 0);
            return at == 0;
        }

        /**
         * A body as it is stored: {@code size} and {@code truncated} here, its bytes (redacted when a
         * pattern is configured) in column {@code slot} of the row ({@link AuditRow#bodies}), as they
         * came: not escaped into the detail, not made a String. {@link #expand} makes the API's form
         * ({@code text}, {@code json} or {@code base64}) when a record is read.
         */
        private void body(JsonGenerator g, Capped c, Capped clients, int slot) throws IOException {
            if (c == null) return;
            obj(g, N_BODY);
            if (clients != null && c.sameAs(clients)) {
                bool(g, N_SAME_AS_CLIENT, true);
                g.writeEndObject();
                return;
            }
            num(g, N_SIZE, c.total());
            if (c.truncated()) bool(g, N_TRUNCATED, true); // false is left out ({@link #unpack} puts it back)
            g.writeEndObject();
            byte[] bytes = c.bytes();
            if (red.redactsText()) {
                String text = utf8(bytes, c.truncated());
                if (text != null) bytes = red.text(text).getBytes(StandardCharsets.UTF_8); // not text: kept as it is (read as base64)
            }
            if (bodies == null) bodies = new byte[AuditRow.BODIES][];
            bodies[slot] = bytes;
        }
    }

    /*
     * The member names a record at bodies level writes, encoded once (a generator copies their bytes instead
     * of escaping and encoding each name's characters again, some fifty a record), and the writes of a member.
     */
    private static final SerializedString N_ATTEMPTS = new SerializedString("attempts");
    private static final SerializedString N_BODY = new SerializedString("body");
    private static final SerializedString N_C = new SerializedString("c");
    private static final SerializedString N_E = new SerializedString("e");
    private static final SerializedString N_CLIENT = new SerializedString("client");
    private static final SerializedString N_D = new SerializedString("d");
    private static final SerializedString N_DROPPED_FIELDS = new SerializedString("dropped_fields");
    private static final SerializedString N_HEADERS = new SerializedString("headers");
    private static final SerializedString N_HX = new SerializedString("hx");
    private static final SerializedString N_IN = new SerializedString("in");
    private static final SerializedString N_METHOD = new SerializedString("method");
    private static final SerializedString N_NEW = new SerializedString("new");
    private static final SerializedString N_OUT = new SerializedString("out");
    private static final SerializedString N_PROVIDER = new SerializedString("provider");
    private static final SerializedString N_REQUEST = new SerializedString("request");
    private static final SerializedString N_RESPONSE = new SerializedString("response");
    private static final SerializedString N_RESPONSE_MODEL = new SerializedString("response_model");
    private static final SerializedString N_SAME_AS_CLIENT = new SerializedString("same_as_client");
    private static final SerializedString N_SIZE = new SerializedString("size");
    private static final SerializedString N_STATUS = new SerializedString("status");
    private static final SerializedString N_T = new SerializedString("t");
    private static final SerializedString N_TIMING = new SerializedString("timing");
    private static final SerializedString N_TRUNCATED = new SerializedString("truncated");
    private static final SerializedString N_URL = new SerializedString("url");
    private static final SerializedString N_USAGE = new SerializedString("usage");

    private static void num(JsonGenerator g, SerializedString name, long v) throws IOException {
        g.writeFieldName(name);
        g.writeNumber(v);
    }

    private static void str(JsonGenerator g, SerializedString name, String v) throws IOException {
        g.writeFieldName(name);
        g.writeString(v);
    }

    private static void bool(JsonGenerator g, SerializedString name, boolean v) throws IOException {
        g.writeFieldName(name);
        g.writeBoolean(v);
    }

    private static void nul(JsonGenerator g, SerializedString name) throws IOException {
        g.writeFieldName(name);
        g.writeNull();
    }

    private static void obj(JsonGenerator g, SerializedString name) throws IOException {
        g.writeFieldName(name);
        g.writeStartObject();
    }

    private static void arr(JsonGenerator g, SerializedString name) throws IOException {
        g.writeFieldName(name);
        g.writeStartArray();
    }

    /** A byte buffer kept from record to record, read as UTF-8 text without a copy of its own. */
    private static final class Utf8Buffer extends java.io.ByteArrayOutputStream {
        Utf8Buffer() {
            super(2048);
        }

        String utf8() {
            return new String(buf, 0, count, StandardCharsets.UTF_8);
        }
    }

    /** The path an endpoint is usually called on, or null. */
    static String usualPath(String endpoint) {
        return switch (endpoint) {
            case "chat" -> "/v1/chat/completions";
            case "messages" -> "/v1/messages";
            case "responses" -> "/v1/responses";
            case "embeddings" -> "/v1/embeddings";
            case "count_tokens" -> "/v1/messages/count_tokens";
            default -> null;
        };
    }

    /**
     * The audit row of a usage row's columns and its {@code audit} record ({@link Writer#inUsageRow}):
     * the columns an audit row has, and the detail in the short form the audit table keeps. {@code
     * tokens} are the row's non-overlapping classes: input, cached input, cache write, output, reasoning.
     *
     * <p>The record's members, short since every request writes them: m method (absent: POST), p path
     * (absent: the endpoint's usual one), trace, err the redacted error, model the response's (absent:
     * the row's; null: none), t the timings in tenths of a ms, new_connection, c the chunks' times,
     * cu/cs the client's URL and status, pm/pu/ps the provider's method, URL and status; attempts and
     * dropped_fields as in the detail. A record of bodies level ({@link Writer#withBodiesInUsageRow})
     * has m, p, trace and err, in/out, and its detail whole under d; its bodies are the row's columns.
     */
    static AuditRow fromUsage(ObjectMapper json, long id, long ts, String requestId, String keyId, String userPath, String endUser,
                              String endpoint, String provider, String model, String requestedModel, boolean stream, int status,
                              long latencyUs, long ttftUs, long[] tokens, String error, String audit) throws IOException {
        JsonNode a = json.readTree(audit);
        String method = a.has("m") ? a.get("m").textValue() : "POST";
        String path = a.has("p") ? a.get("p").textValue() : usualPath(endpoint);
        String redactedError = a.has("err") ? a.get("err").textValue() : error;
        if (a.get("d") instanceof ObjectNode whole) { // bodies level: the detail as the audit table keeps it
            long input = a.has("in") ? -1 : tokens[0] + tokens[1] + tokens[2], output = a.has("out") ? -1 : tokens[3] + tokens[4];
            return new AuditRow(id, ts, requestId, keyId, userPath, endUser, method, path, endpoint, provider, model, requestedModel, stream,
                    status, latencyUs, ttftUs, input, output, redactedError, AuditConfig.Level.BODIES.id(), a.path("trace").textValue(),
                    whole.toString());
        }
        ObjectNode d = json.createObjectNode();
        if (a.has("attempts")) d.set("attempts", a.get("attempts"));
        if (a.has("dropped_fields")) d.set("dropped_fields", a.get("dropped_fields"));
        JsonNode responseModel = a.get("model");
        if (responseModel == null && model != null) d.put("response_model", model);
        else if (responseModel != null && !responseModel.isNull()) d.set("response_model", responseModel);
        ObjectNode usage = d.putObject("usage");
        long input = tokens[0] + tokens[1] + tokens[2], output = tokens[3] + tokens[4];
        usage.put("total_tokens", input + output);
        if (tokens[1] > 0) usage.put("cached_tokens", tokens[1]);
        if (tokens[2] > 0) usage.put("cache_write_tokens", tokens[2]);
        if (tokens[4] > 0) usage.put("reasoning_tokens", tokens[4]);
        ObjectNode timing = d.putObject("timing");
        for (int i = 0; i < TIMES.length; i++) {
            JsonNode v = a.path("t").get(i);
            if (v != null && v.isNumber()) timing.put(TIMES[i], v.longValue() / 10.0);
        }
        if (timing.has("upstream_connected_ms")) timing.put("connection_reused", !a.path("new_connection").asBoolean());
        var chunks = timing.putArray("chunks_ms");
        for (JsonNode c : a.path("c")) chunks.add(c.longValue() / 10.0);
        ObjectNode client = d.putObject("client");
        ObjectNode clientRequest = client.putObject("request");
        if (a.has("cu")) clientRequest.set("url", a.get("cu"));
        ObjectNode clientResponse = client.putObject("response");
        if (a.has("cs")) clientResponse.set("status", a.get("cs"));
        if (a.has("pu")) {
            ObjectNode side = d.putObject("provider");
            ObjectNode request = side.putObject("request");
            if (a.has("pm")) request.set("method", a.get("pm"));
            request.set("url", a.get("pu"));
            ObjectNode response = side.putObject("response");
            if (a.has("ps")) response.set("status", a.get("ps"));
        }
        return new AuditRow(id, ts, requestId, keyId, userPath, endUser, method, path, endpoint, provider, model, requestedModel, stream, status,
                latencyUs, ttftUs, input, output, redactedError, AuditConfig.Level.METADATA.id(),
                a.path("trace").textValue(), d.toString());
    }

    private static final String SAME_AS_CLIENT = "same_as_client";
    private static final String[] TIMES = {"upstream_sent_ms", "upstream_connected_ms", "first_byte_ms", "first_token_ms", "finished_ms"};

    /**
     * A stored detail in the API's full form (docs/audit.md): what {@link Writer} left out of it put
     * back from the row's columns, nulls where nothing was kept, and a provider body that was the
     * client's copied from it. A detail already whole (written before the short form) is left as it is.
     */
    static void complete(ObjectNode d, AuditRow r) {
        unpack(d, r);
        if (!d.has("attempts")) d.put("attempts", 1);
        ObjectNode usage = object(d, "usage");
        if (!usage.has("input_tokens") && r.inputTokens() >= 0) usage.put("input_tokens", r.inputTokens());
        if (!usage.has("output_tokens") && r.outputTokens() >= 0) usage.put("output_tokens", r.outputTokens());
        if (!(d.get("client") instanceof ObjectNode client)) return; // no trail: a refusal without a head
        if (d.get("timing") instanceof ObjectNode timing) {
            if (!timing.has("received_at")) timing.put("received_at", java.time.Instant.ofEpochMilli(r.ts()).toString());
            for (String name : TIMES) if (!timing.has(name)) timing.putNull(name);
        }
        ObjectNode request = object(client, "request");
        if (!request.has("method")) request.put("method", r.method());
        if (!request.has("url")) request.put("url", r.path());
        ObjectNode response = object(client, "response");
        if (!response.has("status")) response.put("status", r.status());
        side(request, null);
        side(response, null);
        if (!(d.get("provider") instanceof ObjectNode provider)) {
            d.putNull("provider");
            return;
        }
        ObjectNode upRequest = object(provider, "request");
        if (!upRequest.has("method")) upRequest.put("method", r.method());
        ObjectNode upResponse = object(provider, "response");
        if (!upResponse.has("status")) upResponse.putNull("status");
        side(upRequest, request);
        side(upResponse, response);
        String host = upRequest.path("url").isTextual() ? authority(upRequest.get("url").asText()) : null;
        for (ObjectNode o : new ObjectNode[] {request, response, upRequest, upResponse}) restoreHeaders(o, d, r, o == upRequest ? host : null);
    }

    /** The usage members the stored array holds, in its order (see {@link Writer#usage}). */
    private static final String[] USAGE = {"total_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens"};

    /**
     * A stored detail's compact members in the form a detail had before them, in the same places (the
     * API's form, which {@link #complete} goes on from): the usage array as its members, the response
     * model the row's when left out (null: none), the timings in ms ({@link Writer#timing}), a body's
     * {@code truncated} false when left out. Called by {@link #bodiesFromColumns} and {@link #complete},
     * whichever comes first; a detail written before the compact form, or unpacked already, is left as it is.
     */
    static void unpack(ObjectNode d, AuditRow r) {
        if (d.get("usage") instanceof ArrayNode stored) {
            ObjectNode usage = d.objectNode();
            for (int i = 0; i < USAGE.length; i++) {
                JsonNode v = stored.get(i);
                if (v != null && !v.isNull()) usage.set(USAGE[i], v);
            }
            JsonNode responseModel = d.get("response_model");
            if (responseModel == null && r.model() != null) {
                // the row's model, in its place before the usage
                ObjectNode whole = d.objectNode();
                for (var e : d.properties()) {
                    if (e.getKey().equals("usage")) whole.put("response_model", r.model());
                    whole.set(e.getKey(), e.getValue());
                }
                d.removeAll();
                d.setAll(whole);
            } else if (responseModel != null && responseModel.isNull()) {
                d.remove("response_model");
            }
            d.set("usage", usage);
        }
        if (d.get("timing") instanceof ObjectNode stored && stored.get("t") instanceof ArrayNode steps) {
            ObjectNode timing = d.objectNode();
            for (int i = 0; i < TIMES.length; i++) {
                JsonNode v = steps.get(i);
                if (v == null || !v.isNumber()) continue;
                timing.set(TIMES[i], tenths(v));
                if (i == 1) timing.put("connection_reused", !stored.path("new").asBoolean());
            }
            ArrayNode chunks = timing.putArray("chunks_ms");
            for (JsonNode c : stored.path("c")) chunks.add(tenths(c));
            if (stored.get("e") instanceof ArrayNode e) {
                ArrayNode events = timing.putArray("events_ms");
                for (JsonNode v : e) events.add(tenths(v));
            }
            d.set("timing", timing);
        }
        for (String side : new String[] {"client", "provider"}) {
            for (String part : new String[] {"request", "response"}) {
                if (!(d.path(side).path(part).get("body") instanceof ObjectNode body) || !body.has("size") || body.has("truncated")) continue;
                ObjectNode whole = body.objectNode();
                for (var e : body.properties()) {
                    whole.set(e.getKey(), e.getValue());
                    if (e.getKey().equals("size")) whole.put("truncated", false);
                }
                body.removeAll();
                body.setAll(whole);
            }
        }
    }

    /** Tenths of a ms as the ms a detail wrote before ({@code 12.0}, {@code 0.2}), the number its reader makes of them. */
    private static JsonNode tenths(JsonNode tenths) {
        return com.fasterxml.jackson.databind.node.DecimalNode.valueOf(java.math.BigDecimal.valueOf(tenths.longValue(), 1));
    }

    /** Headers that repeat the row (bit i of a side's {@code hx}: {@code REPEATS[i]}), in the order of their bits. */
    static final String[] REPEATS = {"content-length", "x-request-id", "x-skiff-provider", "x-skiff-model", "x-skiff-attempts", "host"};

    /** Puts back the headers {@link Writer} left out of one side's request or response for repeating its row (its {@code hx}). */
    private static void restoreHeaders(ObjectNode o, ObjectNode d, AuditRow r, String host) {
        JsonNode hx = o.remove("hx");
        if (hx == null || !(o.get("headers") instanceof ObjectNode headers)) return;
        int bits = hx.asInt();
        for (int i = 0; i < REPEATS.length; i++) {
            if ((bits & 1 << i) == 0) continue;
            String value = switch (i) {
                case 0 -> o.path("body").path("size").asText(null);
                case 1 -> r.requestId();
                case 2 -> r.provider();
                case 3 -> r.model();
                case 4 -> d.path("attempts").asText();
                default -> host;
            };
            if (value != null) headers.put(REPEATS[i], value);
        }
    }

    /** The host (and port, when the URL names one) of {@code url}, as a Host header gives it; null when it names none. */
    static String authority(String url) {
        if (url == null) return null;
        int from = url.indexOf("://");
        if (from < 0) return null;
        from += 3;
        int to = from;
        while (to < url.length() && url.charAt(to) != '/' && url.charAt(to) != '?' && url.charAt(to) != '#') to++;
        return url.substring(from, to);
    }

    /** Null headers and body where none were kept; a body marked the same as the client's, a copy of it. */
    private static void side(ObjectNode o, ObjectNode clients) {
        if (!o.has("headers")) o.putNull("headers");
        JsonNode body = o.get("body");
        if (body == null) o.putNull("body");
        else if (clients != null && body.path(SAME_AS_CLIENT).asBoolean()) o.set("body", clients.get("body").deepCopy());
    }

    private static ObjectNode object(ObjectNode parent, String name) {
        return parent.get(name) instanceof ObjectNode o ? o : parent.putObject(name);
    }

    private static long micros(double ms) {
        return ms < 0 ? -1 : Math.round(ms * 1000);
    }

    static String pathOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }


    /**
     * Puts the bodies a row keeps apart ({@link AuditRow#bodies}) back into its detail's body members,
     * as {@code text} when they are UTF-8 (a capture cut inside a character taken up to it), else as
     * {@code base64}: the form records written before kept in the detail itself, which {@link #expand}
     * takes on from. A body marked the same as the client's is left for {@link #complete} to copy.
     */
    static void bodiesFromColumns(ObjectNode d, AuditRow r) {
        unpack(d, r);
        String[] sides = {"client", "provider"};
        String[] parts = {"request", "response"};
        for (int slot = 0; slot < AuditRow.BODIES; slot++) {
            if (!(d.path(sides[slot / 2]).path(parts[slot % 2]).get("body") instanceof ObjectNode o)) continue;
            if (o.has("text") || o.has("base64") || o.path(SAME_AS_CLIENT).asBoolean()) continue;
            byte[] b = r.body(slot);
            if (b == null) b = new byte[0]; // an empty body: SQLite gives an empty blob back as null
            String text = utf8(b, o.path("truncated").asBoolean());
            if (text != null) o.put("text", text);
            else o.put("base64", Base64.getEncoder().encodeToString(b));
        }
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
