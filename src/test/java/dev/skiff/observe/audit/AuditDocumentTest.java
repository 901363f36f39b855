package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.observe.Observers;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.Tokens;
import dev.skiff.observe.UsageRecord;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The detail the writer streams out: its shape, and bodies kept as text (ASCII or not), base64, or cut inside a character. */
class AuditDocumentTest {
    static RequestTrail trail(int cap, byte[] requestBody, byte[] responseBody) {
        Observers o = new Observers(null);
        o.audit(new AuditConfig(AuditConfig.Level.BODIES, cap, Pattern.compile("sk-[a-z0-9]+"), Duration.ofDays(1)));
        var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions?key=abc",
                Unpooled.wrappedBuffer(requestBody));
        req.headers().set("authorization", "Bearer sk-secret").set("x-note", "uses sk-abc123");
        RequestTrail t = o.begin(req);
        var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(responseBody));
        t.clientWrite(res);
        t.finish();
        return t;
    }

    static JsonNode detail(RequestTrail t) throws Exception {
        UsageRecord r = new UsageRecord(1, "req-1", "chat", null, "gpt-4o-mini", "gpt-4o-mini", false, 200,
                new Usage(3, 2, 5, -1, -1), 1.5, 1.0, null, null);
        AuditRow row = new AuditDocument.Writer(new Redactor(Pattern.compile("sk-[a-z0-9]+")), AuditConfig.Level.BODIES).row(r, t);
        assertThat(row.path()).isEqualTo("/v1/chat/completions");
        return read(row);
    }

    /** A stored row's detail whole again as the API reads it: its bodies back from their columns, the short form completed. */
    static com.fasterxml.jackson.databind.node.ObjectNode read(AuditRow row) throws Exception {
        var d = (com.fasterxml.jackson.databind.node.ObjectNode) OpenAiChat.JSON.readTree(row.detail());
        AuditDocument.bodiesFromColumns(d, row);
        AuditDocument.complete(d, row);
        return d;
    }

    /** A content-length header repeats the body's size only when it is that number as written: no sign, no leading zeros. */
    @Test
    void aContentLengthSaysTheSizeOnlyInItsPlainDecimal() {
        for (long n : new long[] {0, 7, 10, 627, 65536, Long.MAX_VALUE}) assertThat(AuditDocument.Writer.says(Long.toString(n), n)).isTrue();
        assertThat(AuditDocument.Writer.says("0627", 627)).isFalse();
        assertThat(AuditDocument.Writer.says("27", 627)).isFalse();
        assertThat(AuditDocument.Writer.says("1627", 627)).isFalse();
        assertThat(AuditDocument.Writer.says("", 0)).isFalse();
        assertThat(AuditDocument.Writer.says("00", 0)).isFalse();
        assertThat(AuditDocument.Writer.says("+7", 7)).isFalse();
        assertThat(AuditDocument.Writer.says("62a", 627)).isFalse();
    }

    /** A header name's cached form: lower case, its JSON encoded once, and the bit of the row value it may repeat (REPEATS' order). */
    @Test
    void aHeaderNameKnowsItsEncodingAndWhichRowValueItMayRepeat() {
        for (int i = 0; i < AuditDocument.REPEATS.length; i++) {
            Redactor.Name n = Redactor.Name.of(AuditDocument.REPEATS[i].toUpperCase(java.util.Locale.ROOT));
            assertThat(n.repeat()).isEqualTo(1 << i);
            assertThat(n.lower()).isEqualTo(AuditDocument.REPEATS[i]);
            assertThat(n.encoded().getValue()).isEqualTo(AuditDocument.REPEATS[i]);
        }
        Redactor.Name auth = Redactor.Name.of("Authorization");
        assertThat(auth.repeat()).isZero();
        assertThat(auth.secret()).isTrue();
        assertThat(Redactor.Name.of("X-RateLimit-Remaining-Tokens").secret()).isFalse();
    }

    /** Repeated header names, in any case, are joined into the first one's place, before the 64th header and after it. */
    @Test
    void repeatedHeadersAreJoinedInTheFirstOnesPlace() {
        for (int filler : new int[] {0, 70}) {
            java.util.List<String> pairs = new java.util.ArrayList<>(java.util.List.of("Accept", "a", "X-Api-Key", "k1", "accept", "b"));
            for (int i = 0; i < filler; i++) pairs.addAll(java.util.List.of("x-f" + i, "v" + i));
            pairs.addAll(java.util.List.of("ACCEPT", "c", "x-api-key", "k2", "Via", "v"));
            for (int i = 0; i < filler; i++) pairs.addAll(java.util.List.of("x-g" + i, "w" + i, "X-G" + i, "u" + i));
            java.util.Map<String, String> h = new Redactor(null).headers(pairs.toArray(String[]::new));
            assertThat(h).hasSize(3 + 2 * filler);
            assertThat(h.get("accept")).isEqualTo("a, b, c");
            assertThat(h.get("x-api-key")).isEqualTo("[redacted], [redacted]");
            assertThat(h.get("via")).isEqualTo("v");
            for (int i = 0; i < filler; i++) assertThat(h.get("x-g" + i)).isEqualTo("w" + i + ", u" + i);
            assertThat(h.keySet().stream().toList().subList(0, 2)).containsExactly("accept", "x-api-key");
        }
    }

    /** The newline search the writer uses (Bytes.indexOf) reads eight bytes at a time: it finds what a byte by byte search finds, wherever the newlines fall. */
    @Test
    void newlinesAreFoundAsByteByByte() {
        java.util.Random random = new java.util.Random(14);
        for (int round = 0; round < 2000; round++) {
            byte[] b = new byte[random.nextInt(40)];
            for (int i = 0; i < b.length; i++) b[i] = (byte) (random.nextInt(4) == 0 ? '\n' : random.nextInt(256));
            for (int from = 0; from <= b.length; from++) {
                int expected = -1;
                for (int i = from; i < b.length; i++) if (b[i] == '\n') { expected = i; break; }
                assertThat(dev.skiff.dialect.Bytes.indexOf(b, from, b.length, (byte) '\n')).as("round %d from %d", round, from).isEqualTo(expected);
            }
        }
    }

    @Test
    void textBodiesAsciiOrNotAreKeptRedactedAndOthersAsBase64() throws Exception {
        byte[] invalid = {'{', (byte) 0xff, (byte) 0xfe, '}'};
        JsonNode d = detail(trail(1024, "{\"q\":\"my key sk-abc123 and café\"}".getBytes(StandardCharsets.UTF_8), invalid));
        assertThat(d.get("attempts").asInt()).isEqualTo(1);
        assertThat(d.at("/usage/input_tokens").asLong()).isEqualTo(3);
        assertThat(d.at("/usage/total_tokens").asLong()).isEqualTo(5);
        assertThat(d.at("/usage").has("cached_tokens")).isFalse();
        assertThat(d.at("/client/request/url").asText()).isEqualTo("/v1/chat/completions?key=[redacted]");
        assertThat(d.at("/client/request/headers/authorization").asText()).isEqualTo("[redacted]");
        assertThat(d.at("/client/request/headers/x-note").asText()).isEqualTo("uses [redacted]");
        assertThat(d.at("/client/request/body/text").asText()).isEqualTo("{\"q\":\"my key [redacted] and café\"}");
        assertThat(d.at("/client/response/status").asInt()).isEqualTo(200);
        assertThat(d.at("/client/response/body/base64").asText()).isEqualTo(java.util.Base64.getEncoder().encodeToString(invalid));
        assertThat(d.at("/client/response/body/size").asInt()).isEqualTo(4);
        assertThat(d.get("provider").isNull()).isTrue();
        assertThat(d.at("/timing/chunks_ms")).hasSize(1);
        assertThat(d.at("/timing/upstream_sent_ms").isNull()).isTrue();
    }

    @Test
    void aBodyCutInsideACharacterIsTextUpToIt() throws Exception {
        byte[] body = "{\"a\":\"éé\"}".getBytes(StandardCharsets.UTF_8); // é is two bytes: a cap of 9 cuts the second in half
        JsonNode d = detail(trail(9, body, "ascii".getBytes(StandardCharsets.US_ASCII)));
        assertThat(d.at("/client/request/body/truncated").asBoolean()).isTrue();
        assertThat(d.at("/client/request/body/size").asInt()).isEqualTo(body.length);
        assertThat(d.at("/client/request/body/text").asText()).isEqualTo("{\"a\":\"é");
        assertThat(d.at("/client/response/body/text").asText()).isEqualTo("ascii");
    }

    /**
     * Headers that repeat the row (the body's size, request id, provider, model, attempts, the provider
     * URL's host) are not stored when they say just that, and read back as they were; one that says
     * something else is stored as it is.
     */
    @Test
    void headersThatRepeatTheRowAreLeftOutAndReadBack() throws Exception {
        byte[] body = "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8);
        byte[] answer = "{\"id\":\"a\"}".getBytes(StandardCharsets.UTF_8);
        Observers o = new Observers(null);
        o.audit(new AuditConfig(AuditConfig.Level.BODIES, 1024, null, Duration.ofDays(1)));
        var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions", Unpooled.wrappedBuffer(body));
        req.headers().set("Host", "skiff.local").set("Content-Length", body.length).set("X-Request-Id", "req-9");
        RequestTrail t = o.begin(req);
        var up = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions", Unpooled.wrappedBuffer(body));
        up.headers().set("host", "127.0.0.1:9").set("content-length", body.length).set("x-request-id", "req-9");
        o.upstream(t, up, up.content(), "openai", "http://127.0.0.1:9");
        var head = new io.netty.handler.codec.http.DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set("content-length", 999); // not the body's size: kept
        t.upstreamHead(head);
        t.upstreamContent(Unpooled.wrappedBuffer(answer));
        var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(answer));
        res.headers().set("content-length", answer.length).set("x-request-id", "req-9").set("x-skiff-provider", "openai")
                .set("x-skiff-model", "m").set("x-skiff-attempts", 1).set("content-type", "application/json");
        t.clientWrite(res);
        t.finish();
        UsageRecord r = new UsageRecord(1, "req-9", "chat", "openai", "m", "m", false, 200, new Usage(3, 2, 5, -1, -1), 1.5, 1.0, null, null);
        AuditRow row = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.BODIES).row(r, t);
        t.release();
        assertThat(row.detail()).doesNotContain("req-9", "x-skiff", "127.0.0.1:9\"", "\"" + body.length + "\"").contains("\"999\"", "skiff.local");
        var d = read(row);
        assertThat(d.at("/client/request/headers")).isEqualTo(OpenAiChat.JSON.readTree(
                "{\"host\":\"skiff.local\",\"content-length\":\"" + body.length + "\",\"x-request-id\":\"req-9\"}"));
        assertThat(d.at("/client/response/headers").properties()).extracting(java.util.Map.Entry::getKey)
                .containsExactlyInAnyOrder("content-length", "x-request-id", "x-skiff-provider", "x-skiff-model", "x-skiff-attempts", "content-type");
        assertThat(d.at("/client/response/headers/content-length").asText()).isEqualTo(Integer.toString(answer.length));
        assertThat(d.at("/client/response/headers/x-skiff-attempts").asText()).isEqualTo("1");
        assertThat(d.at("/provider/request/headers/host").asText()).isEqualTo("127.0.0.1:9");
        assertThat(d.at("/provider/request/headers/content-length").asText()).isEqualTo(Integer.toString(body.length));
        assertThat(d.at("/provider/response/headers/content-length").asText()).isEqualTo("999");
        assertThat(d.at("/client/response").has("hx")).isFalse();
    }

    /** A writer keeps its generator from record to record: each record is whole and alone, as a new writer's is. */
    @Test
    void recordsMadeOneAfterAnotherAreEachWhole() throws Exception {
        byte[] body = "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8);
        UsageRecord r = new UsageRecord(1, "req-6", "chat", "openai", "m", "m", false, 200, new Usage(3, 2, 5, -1, -1), 1.5, 1.0, null, null);
        RequestTrail t = forwarded(AuditConfig.Level.BODIES, body, body, body);
        AuditDocument.Writer kept = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.BODIES);
        String inRow = kept.inUsageRow(r, t);
        AuditRow first = kept.row(r, t);
        AuditRow second = kept.row(r, t);
        AuditRow fresh = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.BODIES).row(r, t);
        t.release();
        assertThat(second.detail()).isEqualTo(first.detail()).isEqualTo(fresh.detail());
        assertThat(inRow).isEqualTo(new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.BODIES).inUsageRow(r, t));
        assertThat(OpenAiChat.JSON.readTree(second.detail()).isObject()).isTrue();
    }

    /** A trail at {@code level} with a provider call that forwarded the client's body and answered with {@code upstreamAnswer}. */
    static RequestTrail forwarded(AuditConfig.Level level, byte[] body, byte[] upstreamAnswer, byte[] answer) {
        Observers o = new Observers(null);
        o.audit(new AuditConfig(level, 1024, null, Duration.ofDays(1)));
        var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions", Unpooled.wrappedBuffer(body));
        RequestTrail t = o.begin(req);
        var up = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions", Unpooled.wrappedBuffer(body));
        o.upstream(t, up, up.content(), "openai", "http://127.0.0.1:9");
        t.upstreamHead(new io.netty.handler.codec.http.DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        t.upstreamContent(Unpooled.wrappedBuffer(upstreamAnswer));
        t.clientWrite(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(answer)));
        t.finish();
        return t;
    }

    @Test
    void metadataIsStoredShortAndReadWhole() throws Exception {
        byte[] body = "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8);
        UsageRecord r = new UsageRecord(1, "req-2", "chat", "openai", "m", "m", false, 200, new Usage(3, 2, 5, -1, -1), 1.5, 1.0, null, null);
        AuditRow row = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.METADATA).row(r, forwarded(AuditConfig.Level.METADATA, body, body, body));
        assertThat(row.detail()).doesNotContain("headers", "body", "received_at", "input_tokens", "_ms", "\"method\"", "\"url\":\"/v1");
        assertThat(row.detail().length()).isLessThan(220);
        var d = (com.fasterxml.jackson.databind.node.ObjectNode) OpenAiChat.JSON.readTree(row.detail());
        AuditDocument.complete(d, row);
        assertThat(d.get("attempts").asInt()).isEqualTo(1);
        assertThat(d.at("/usage/input_tokens").asLong()).isEqualTo(3);
        assertThat(d.at("/usage/output_tokens").asLong()).isEqualTo(2);
        assertThat(d.at("/timing/received_at").asText()).isEqualTo(java.time.Instant.ofEpochMilli(row.ts()).toString());
        assertThat(d.at("/timing/upstream_connected_ms").isNull()).isTrue();
        assertThat(d.at("/timing/first_byte_ms").isNumber()).isTrue();
        assertThat(d.at("/client/request/method").asText()).isEqualTo("POST");
        assertThat(d.at("/client/request/url").asText()).isEqualTo("/v1/chat/completions");
        assertThat(d.at("/client/request/headers").isNull()).isTrue();
        assertThat(d.at("/client/request/body").isNull()).isTrue();
        assertThat(d.at("/client/response/status").asInt()).isEqualTo(200);
        assertThat(d.at("/provider/request/method").asText()).isEqualTo("POST");
        assertThat(d.at("/provider/request/url").asText()).isEqualTo("http://127.0.0.1:9/v1/chat/completions");
        assertThat(d.at("/provider/response/status").asInt()).isEqualTo(200);
        assertThat(d.at("/provider/response/body").isNull()).isTrue();
    }

    /** The record a usage row carries is shorter still, and reads back as the audit table's record of the same request does. */
    @Test
    void aRecordInAUsageRowReadsAsTheAuditTablesOwn() throws Exception {
        byte[] body = "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8);
        UsageRecord r = new UsageRecord(1, "req-5", "chat", "openai", "m", "m", false, 200, new Usage(3, 2, 5, -1, -1), 1.5, 1.0, null, null);
        RequestTrail t = forwarded(AuditConfig.Level.METADATA, body, body, body);
        t.responseModel = "m";
        AuditDocument.Writer writer = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.METADATA);
        AuditRow own = writer.row(r, t);
        String inRow = writer.inUsageRow(r, t);
        assertThat(inRow).doesNotContain("usage", "upstream_sent_ms", "response_model", "client", "POST", "\"p\":")
                .hasSizeLessThan(100);
        // the usage row's columns: 3 input tokens, 2 output, none cached or reasoning
        AuditRow read = AuditDocument.fromUsage(OpenAiChat.JSON, 7, own.ts(), "req-5", null, null, null, "chat", "openai", "m", "m", false, 200,
                own.latencyUs(), own.ttftUs(), new long[] {3, 0, 0, 2, 0}, null, inRow);
        assertThat(read).isEqualTo(new AuditRow(7, own.ts(), "req-5", null, null, null, "POST", "/v1/chat/completions", "chat", "openai", "m", "m",
                false, 200, own.latencyUs(), own.ttftUs(), 3, 2, null, "metadata", null, read.detail()));
        assertThat(AuditResource.detail(read)).isEqualTo(AuditResource.detail(new AuditRow(7, own.ts(), own.requestId(), null, null, null,
                own.method(), own.path(), own.endpoint(), own.provider(), own.model(), own.requestedModel(), false, 200, own.latencyUs(), own.ttftUs(),
                3, 2, null, "metadata", null, own.detail())));
    }

    /**
     * At bodies level the record a usage row carries is the audit table's detail and bodies, with what the
     * usage row's columns do not say: it reads back as the audit table's record of the same request, redacted
     * alike, tokens that were not reported null as there.
     */
    @Test
    void aRecordWithBodiesInAUsageRowReadsAsTheAuditTablesOwn() throws Exception {
        byte[] body = "{\"model\":\"m\",\"key\":\"sk-secret-7\"}".getBytes(StandardCharsets.UTF_8);
        byte[] answer = "{\"id\":\"a\"}".getBytes(StandardCharsets.UTF_8);
        Redactor red = new Redactor(Pattern.compile("sk-secret-[0-9]+"));
        for (Usage usage : new Usage[] {new Usage(3, 2, 5, -1, -1), Usage.NONE}) {
            UsageRecord r = new UsageRecord(1, "req-8", "chat", "openai", "m", "m", false, 502, usage, 1.5, 1.0, "said sk-secret-9", null);
            RequestTrail t = forwarded(AuditConfig.Level.BODIES, body, answer, answer);
            AuditDocument.Writer writer = new AuditDocument.Writer(red, AuditConfig.Level.BODIES);
            AuditRow own = writer.row(r, t);
            var inRow = writer.withBodiesInUsageRow(r, t);
            t.release();
            assertThat(inRow.bodies()).isDeepEqualTo(own.bodies());
            assertThat(new String(inRow.bodies()[0], StandardCharsets.UTF_8)).contains("[redacted]").doesNotContain("sk-secret-7");
            Tokens tokens = Tokens.of(usage);
            AuditRow read = AuditDocument.fromUsage(OpenAiChat.JSON, 7, own.ts(), "req-8", null, null, null, "chat", "openai", "m", "m", false, 502,
                    own.latencyUs(), own.ttftUs(), new long[] {tokens.input(), tokens.cachedInput(), tokens.cacheWrite(), tokens.output(),
                            tokens.reasoning()}, r.error(), inRow.json());
            AuditRow expected = new AuditRow(7, own.ts(), own.requestId(), null, null, null, own.method(), own.path(), own.endpoint(), own.provider(),
                    own.model(), own.requestedModel(), false, 502, own.latencyUs(), own.ttftUs(), own.inputTokens(), own.outputTokens(), own.error(),
                    "bodies", null, own.detail());
            assertThat(read).isEqualTo(expected);
            assertThat(read.error()).isEqualTo("said [redacted]");
            AuditRow withBodies = new AuditRow(read.id(), read.ts(), read.requestId(), null, null, null, read.method(), read.path(), read.endpoint(),
                    read.provider(), read.model(), read.requestedModel(), false, 502, read.latencyUs(), read.ttftUs(), read.inputTokens(),
                    read.outputTokens(), read.error(), read.level(), null, read.detail(), inRow.bodies());
            assertThat(AuditResource.detail(withBodies)).isEqualTo(AuditResource.detail(new AuditRow(7, own.ts(), own.requestId(), null, null, null,
                    own.method(), own.path(), own.endpoint(), own.provider(), own.model(), own.requestedModel(), false, 502, own.latencyUs(),
                    own.ttftUs(), own.inputTokens(), own.outputTokens(), own.error(), "bodies", null, own.detail(), own.bodies())));
        }
    }

    @Test
    void aProviderBodyTheSameAsTheClientsIsStoredOnceAndReadAsBoth() throws Exception {
        byte[] body = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
        byte[] upstream = "{\"id\":\"up\"}".getBytes(StandardCharsets.UTF_8);
        byte[] answer = "{\"id\":\"translated\"}".getBytes(StandardCharsets.UTF_8);
        UsageRecord r = new UsageRecord(1, "req-3", "chat", "openai", "m", "m", false, 200, new Usage(3, 2, 5, -1, -1), 1.5, 1.0, null, null);
        AuditRow row = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.BODIES).row(r, forwarded(AuditConfig.Level.BODIES, body, upstream, answer));
        assertThat(row.detail()).contains("same_as_client").doesNotContain("messages", "translated", "\\\"up\\\""); // bodies are apart
        assertThat(row.bodies()).isDeepEqualTo(new byte[][] {body, answer, null, upstream});
        var d = read(row);
        assertThat(d.at("/provider/request/body")).isEqualTo(d.at("/client/request/body"));
        assertThat(d.at("/provider/request/body/text").asText()).isEqualTo(new String(body, StandardCharsets.UTF_8));
        assertThat(d.at("/provider/response/body/text").asText()).isEqualTo("{\"id\":\"up\"}");
        assertThat(d.at("/client/response/body/text").asText()).isEqualTo("{\"id\":\"translated\"}");
    }

    @Test
    void anAnswerPassedOnWholeIsStoredOnceForBothSides() throws Exception {
        byte[] body = "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8);
        byte[] answer = "{\"id\":\"same-answer\"}".getBytes(StandardCharsets.UTF_8);
        UsageRecord r = new UsageRecord(1, "req-4", "chat", "openai", "m", "m", false, 200, new Usage(3, 2, 5, -1, -1), 1.5, 1.0, null, null);
        RequestTrail t = forwarded(AuditConfig.Level.BODIES, body, answer, answer);
        AuditRow row = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.BODIES).row(r, t);
        t.release();
        assertThat(row.bodies()).isDeepEqualTo(new byte[][] {body, answer, null, null});
        var d = read(row);
        assertThat(d.at("/provider/response/body")).isEqualTo(d.at("/client/response/body"));
        assertThat(d.at("/client/response/body/text").asText()).isEqualTo("{\"id\":\"same-answer\"}");
        assertThat(d.at("/client/response/body/size").asInt()).isEqualTo(answer.length);
    }

    /**
     * A body is stored as its bytes when there is no pattern to redact, through a String when there is:
     * quotes, backslashes and control characters read back the same either way.
     */
    @Test
    void asciiBodiesEscapedFromTheirBytesReadAsThroughText() throws Exception {
        byte[] body = "{\"q\":\"a \\\"quote\\\" a \\\\ and\\n\", \"raw\":\"\t\u0001\u001f/\"}".getBytes(StandardCharsets.US_ASCII);
        byte[] answer = "data: {\"x\":1}\n\ndata: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
        UsageRecord r = new UsageRecord(1, "req-5", "chat", "openai", "m", "m", false, 200, new Usage(3, 2, 5, -1, -1), 1.5, 1.0, null, null);
        RequestTrail t = forwarded(AuditConfig.Level.BODIES, body, answer, answer);
        AuditRow bytes = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.BODIES).row(r, t);
        AuditRow text = new AuditDocument.Writer(new Redactor(Pattern.compile("matches-nothing-here")), AuditConfig.Level.BODIES).row(r, t);
        t.release();
        assertThat(bytes.detail()).isEqualTo(text.detail());
        assertThat(text.bodies()).isDeepEqualTo(bytes.bodies());
        JsonNode d = read(bytes);
        assertThat(d.at("/client/request/body/text").asText()).isEqualTo(new String(body, StandardCharsets.US_ASCII));
        assertThat(d.at("/client/response/body/text").asText()).isEqualTo(new String(answer, StandardCharsets.US_ASCII));
    }
}
