package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.dialect.Usage;
import dev.skiff.observe.Observers;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.UsageRecord;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The stored form of a record may change; what the API answers for a request may not. Records of
 * fixed requests (their times set) read as they did with the form before the compact one, and the
 * records that writer stored read as they did: {@code golden/audit/answers.jsonl} holds the answers
 * main (15e26f9) gave for {@link #requests}, {@code golden/audit/stored-before.jsonl} the details it stored.
 */
class AuditStoredFormTest {
    static final long TS = 1_796_669_569_501L;

    /** Sets the trail's times relative to its receipt, as the event loop would have: fixed, so that records compare. */
    static void times(RequestTrail t, boolean reused, long... micros) throws Exception {
        String[] names = {"upstreamSentNanos", "upstreamConnectedNanos", "upstreamFirstByteNanos", "upstreamFirstContentNanos", "finishedNanos"};
        for (int i = 0; i < names.length; i++) {
            java.lang.reflect.Field f = RequestTrail.class.getDeclaredField(names[i]);
            f.setAccessible(true);
            f.setLong(t, micros[i] < 0 ? -1 : t.receivedNanos + micros[i] * 1000 + 49);
        }
        java.lang.reflect.Field r = RequestTrail.class.getDeclaredField("upstreamReused");
        r.setAccessible(true);
        r.setBoolean(t, reused);
        java.lang.reflect.Field p = RequestTrail.class.getDeclaredField("pieces");
        p.setAccessible(true);
        long[] pieces = (long[]) p.get(t);
        for (int i = 0; pieces != null && i < t.pieceCount(); i++) pieces[i * 2 + 1] = micros[5] + 1_049 * i;
    }

    /** {@code w} as stored at {@link #TS} with detail {@code detail}. */
    static AuditRow stored(AuditRow w, String detail) {
        return new AuditRow(5, TS, w.requestId(), w.keyId(), w.userPath(), w.endUser(), w.method(), w.path(), w.endpoint(),
                w.provider(), w.model(), w.requestedModel(), w.stream(), w.status(), w.latencyUs(), w.ttftUs(), w.inputTokens(),
                w.outputTokens(), w.error(), w.level(), w.traceId(), detail, w.bodies());
    }

    static RequestTrail chat(Observers o, byte[] body, byte[] upstreamAnswer, byte[] answer, String model) {
        var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions", Unpooled.wrappedBuffer(body));
        req.headers().set("host", "127.0.0.1:8080").set("content-type", "application/json").set("content-length", body.length)
                .set("authorization", "Bearer sk-abc");
        RequestTrail t = o.begin(req);
        var up = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions", Unpooled.wrappedBuffer(body));
        up.headers().set("host", "127.0.0.1:9").set("content-type", "application/json").set("content-length", body.length);
        o.upstream(t, up, up.content(), "openai", "http://127.0.0.1:9");
        var head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set("content-type", "application/json");
        t.upstreamHead(head);
        t.upstreamContent(Unpooled.wrappedBuffer(upstreamAnswer));
        t.responseModel = model;
        var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(answer));
        res.headers().set("content-type", "application/json").set("content-length", answer.length).set("x-skiff-model", "m");
        t.clientWrite(res);
        t.finish();
        return t;
    }

    static Observers observers(AuditConfig.Level level, int cap) {
        Observers o = new Observers(null);
        o.audit(new AuditConfig(level, cap, null, Duration.ofDays(1)));
        return o;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static final byte[] BODY = utf8("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    static final byte[] ANSWER = utf8("{\"id\":\"a\",\"model\":\"m\",\"choices\":[{\"message\":{\"content\":\"hello\"}}]}");

    static UsageRecord record(String id, int status, Usage usage, String error) {
        return new UsageRecord(TS, id, "chat", "openai", "m", "m", false, status, usage, 41.2, 15.1, error, null);
    }

    /**
     * Rows of five requests as the writers of this tree make them: forwarded whole, translated with a body cut,
     * a stream with an error and no usage, one at metadata level, and a refusal without a trail.
     */
    static java.util.List<AuditRow> requests() throws Exception {
        AuditDocument.Writer bodies = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.BODIES);
        java.util.List<AuditRow> out = new java.util.ArrayList<>();
        // 1. forwarded as it came, the answer naming the row's model, a reused connection
        RequestTrail t = chat(observers(AuditConfig.Level.BODIES, 65536), BODY, ANSWER, ANSWER, "m");
        times(t, true, 120, 130, 15_049, 15_050, 40_000, 15_100);
        out.add(bodies.row(record("req-1", 200, new Usage(9, 10, 19, 0, -1, 0), null), t));
        t.release();
        // 2. translated (the answer differs), a new connection, the request cut at 20 bytes, another model answering
        t = chat(observers(AuditConfig.Level.BODIES, 20), BODY, utf8("{\"id\":\"up\"}"), ANSWER, "m-2024-01-01");
        times(t, false, 3, 2_000, 2_999, -1, 1_234_567, 2_050);
        out.add(bodies.row(record("req-2", 200, new Usage(3, 2, 5, 1, 4, 7), null), t));
        t.release();
        // 3. a stream: events in pieces, no first token time, usage not reported, no response model, an error
        Observers o = observers(AuditConfig.Level.BODIES, 65536);
        var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions?x=1", Unpooled.wrappedBuffer(BODY));
        t = o.begin(req);
        o.upstream(t, req, req.content(), "openai", "http://127.0.0.1:9");
        var head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set("content-type", "text/event-stream");
        t.upstreamHead(head);
        byte[] e1 = utf8("data: {\"choices\":[{\"delta\":{\"content\":\"he\"}}]}\n\n"), e2 = utf8("data: {\"choices\":[{\"delta\":{\"content\":\"llo\"}}]}\n\ndata: [DONE]\n\n");
        t.upstreamContent(Unpooled.wrappedBuffer(e1));
        t.upstreamContent(Unpooled.wrappedBuffer(e2));
        t.clientWrite(head);
        t.clientWrite(new DefaultHttpContent(Unpooled.wrappedBuffer(e1)));
        t.clientWrite(new DefaultHttpContent(Unpooled.wrappedBuffer(e2)));
        t.finish();
        times(t, true, 50, -1, 900, -1, 7_777, 950);
        out.add(bodies.row(new UsageRecord(TS, "req-3", "chat", "openai", "m", "m", true, 200, Usage.NONE, 7.8, -1, "upstream said no", null), t));
        t.release();
        // 4. metadata level
        AuditDocument.Writer metadata = new AuditDocument.Writer(new Redactor(null), AuditConfig.Level.METADATA);
        t = chat(observers(AuditConfig.Level.METADATA, 0), BODY, ANSWER, ANSWER, "m");
        times(t, false, 1, 1, 10, 11, 12, 13);
        out.add(metadata.row(record("req-4", 200, new Usage(9, 10, 19, 0, -1, 0), null), t));
        t.release();
        // 5. no trail: a refusal before any head
        out.add(bodies.row(record("req-5", 429, Usage.NONE, "too many"), null));
        return out;
    }

    static java.util.List<String> golden(String name) throws Exception {
        try (var in = AuditStoredFormTest.class.getResourceAsStream("/golden/audit/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        }
    }

    @Test
    void recordsReadAsTheFormBeforeReadAndAreShorter() throws Exception {
        java.util.List<AuditRow> rows = requests();
        java.util.List<String> answers = golden("answers.jsonl"), before = golden("stored-before.jsonl");
        assertThat(rows).hasSameSizeAs(answers);
        int now = 0, then = 0;
        for (int i = 0; i < rows.size(); i++) {
            AuditRow row = stored(rows.get(i), rows.get(i).detail());
            assertThat(AuditResource.detail(row).toString()).as("request %d", i + 1).isEqualTo(answers.get(i));
            if (row.requestId().equals("req-5")) continue; // no trail: a few bytes either way (the response model's null is said)
            assertThat(row.detail().length()).as("request %d", i + 1).isLessThan(before.get(i).length());
            now += row.detail().length();
            then += before.get(i).length();
        }
        assertThat(now).isLessThan(then * 4 / 5);
    }

    @Test
    void recordsStoredBeforeReadAsTheyDid() throws Exception {
        java.util.List<AuditRow> rows = requests();
        java.util.List<String> answers = golden("answers.jsonl"), before = golden("stored-before.jsonl");
        for (int i = 0; i < rows.size(); i++) {
            // the same bodies: their columns are as they were
            assertThat(AuditResource.detail(stored(rows.get(i), before.get(i))).toString()).as("request %d", i + 1).isEqualTo(answers.get(i));
        }
    }
}
