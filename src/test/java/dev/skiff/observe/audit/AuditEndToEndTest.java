package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The audit log on a real socket (SKIFF_AUDIT=bodies): a plain answer, a translated stream, a refused
 * request and a bad one are each recorded with both sides' bodies, redacted, and read back through
 * /admin/v1/audit (list, filters, paging) and /admin/v1/audit/{request_id}.
 */
class AuditEndToEndTest {
    static final String MASTER = "master-secret";

    MockUpstream openai;
    MockUpstream anthropic;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4");
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "SKIFF_AUDIT", "bodies", "SKIFF_AUDIT_REDACT", "sk-secret-[a-z0-9]+",
                "OPENAI_API_KEY", "sk-openai-upstream", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant-upstream", "ANTHROPIC_BASE_URL", anthropic.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
    }

    static JsonNode json(String s) throws Exception {
        return OpenAiChat.JSON.readTree(s);
    }

    /** The record of a request, once the writer has stored it. */
    JsonNode record(String requestId) throws Exception {
        for (int i = 0; i < 100; i++) {
            HttpResponse<String> r = gw.request("GET", "/admin/v1/audit/" + requestId, null, "Authorization", "Bearer " + MASTER);
            if (r.statusCode() == 200) return json(r.body());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(404);
            Thread.sleep(50);
        }
        throw new AssertionError("no audit record of " + requestId);
    }

    JsonNode list(String query) throws Exception {
        HttpResponse<String> r = gw.request("GET", "/admin/v1/audit" + query, null, "Authorization", "Bearer " + MASTER);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r.body());
    }

    @Test
    void plainStreamedRefusedAndBadRequestsAreRecordedWithBothSidesRedacted() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}"));
        anthropic.on("/v1/messages", (req, reply) -> {
            reply.startStream();
            reply.chunk("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
                    + "\"model\":\"claude-sonnet-4\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n");
            reply.chunk("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
            reply.chunk("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n");
            reply.chunk("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" world\"}}\n\n");
            reply.chunk("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
            reply.chunk("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":4}}\n\n");
            reply.chunk("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        });

        // 1. a plain answer, with a secret in the body and a custom token header
        HttpResponse<String> plain = gw.post("/v1/chat/completions",
                "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"my key is sk-secret-abc123\"}]}",
                "Authorization", "Bearer " + MASTER, "X-Request-ID", "a-plain", "X-Custom-Token", "tok-123", "X-Trace-Note", "visible");
        assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
        // 2. a stream translated from Anthropic's events into Chat Completions chunks
        HttpResponse<InputStream> s = gw.postStreaming("/v1/chat/completions",
                "{\"model\":\"anthropic/claude-sonnet-4\",\"stream\":true,\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "Authorization", "Bearer " + MASTER, "X-Request-ID", "a-stream");
        assertThat(s.statusCode()).isEqualTo(200);
        try (InputStream in = s.body()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).contains("[DONE]");
        }
        // 3. refused on its head: a wrong key
        HttpResponse<String> refused = gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}",
                "Authorization", "Bearer wrong-key-sk-secret-zzz", "X-Request-ID", "a-refused");
        assertThat(refused.statusCode()).isEqualTo(401);
        // 4. a body that is not JSON
        HttpResponse<String> bad = gw.post("/v1/chat/completions", "{not json", "Authorization", "Bearer " + MASTER, "X-Request-ID", "a-bad");
        assertThat(bad.statusCode()).isEqualTo(400);

        JsonNode p = record("a-plain");
        assertThat(p.get("object").asText()).isEqualTo("audit.request");
        assertThat(p.get("status").asInt()).isEqualTo(200);
        assertThat(p.get("provider").isObject()).isTrue();
        assertThat(p.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(p.get("path").asText()).isEqualTo("/v1/chat/completions");
        assertThat(p.get("input_tokens").asLong()).isEqualTo(12);
        assertThat(p.get("output_tokens").asLong()).isEqualTo(3);
        JsonNode clientReq = p.at("/client/request");
        assertThat(clientReq.at("/headers/authorization").asText()).isEqualTo("[redacted]");
        assertThat(clientReq.at("/headers/x-custom-token").asText()).isEqualTo("[redacted]");
        assertThat(clientReq.at("/headers/x-trace-note").asText()).isEqualTo("visible");
        assertThat(clientReq.at("/body/json/messages/0/content").asText()).isEqualTo("my key is [redacted]");
        assertThat(p.at("/client/response/status").asInt()).isEqualTo(200);
        assertThat(p.at("/client/response/body/json/choices/0/message/content").asText()).isEqualTo("Hi there");
        // The answer went out pre-encoded (no header map): its headers are recorded all the same.
        JsonNode clientResponseHeaders = p.at("/client/response/headers");
        assertThat(clientResponseHeaders.at("/content-type").asText()).startsWith("application/json");
        assertThat(clientResponseHeaders.at("/x-request-id").asText()).isEqualTo("a-plain");
        assertThat(clientResponseHeaders.at("/content-length").asLong()).isPositive();
        JsonNode providerReq = p.at("/provider/request");
        assertThat(providerReq.get("url").asText()).startsWith("http://").endsWith("/v1/chat/completions");
        assertThat(providerReq.at("/headers/authorization").asText()).isEqualTo("[redacted]");
        assertThat(providerReq.at("/body/json/model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(p.at("/provider/response/status").asInt()).isEqualTo(200);
        assertThat(p.at("/provider/response/body/json/id").asText()).isEqualTo("c1");
        assertThat(p.at("/timing/first_byte_ms").asDouble()).isGreaterThan(0);
        assertThat(p.at("/timing/finished_ms").asDouble()).isGreaterThanOrEqualTo(p.at("/timing/first_byte_ms").asDouble());
        assertThat(p.toString()).doesNotContain("sk-secret-abc123").doesNotContain("sk-openai-upstream").doesNotContain(MASTER);

        JsonNode st = record("a-stream");
        assertThat(st.get("stream").asBoolean()).isTrue();
        assertThat(st.get("provider").isObject()).isTrue();
        // the client's side: Chat Completions chunks, reassembled into a chat.completion
        assertThat(st.at("/client/response/body/assembled/object").asText()).isEqualTo("chat.completion");
        assertThat(st.at("/client/response/body/assembled/choices/0/message/content").asText()).isEqualTo("Hello world");
        assertThat(st.at("/client/response/body/text").asText()).contains("chat.completion.chunk");
        // The stream's head went out written by the codec itself (no header map): recorded all the same.
        assertThat(st.at("/client/response/status").asInt()).isEqualTo(200);
        assertThat(st.at("/client/response/headers/content-type").asText()).isEqualTo("text/event-stream");
        assertThat(st.at("/client/response/headers/transfer-encoding").asText()).isEqualTo("chunked");
        assertThat(st.at("/client/response/headers/x-request-id").asText()).isEqualTo("a-stream");
        // the provider's side: Anthropic's request (translated) and its events, reassembled into a message
        assertThat(st.at("/provider/request/body/json/max_tokens").asInt()).isEqualTo(20);
        assertThat(st.at("/provider/request/url").asText()).endsWith("/v1/messages");
        assertThat(st.at("/provider/response/body/assembled/content/0/text").asText()).isEqualTo("Hello world");
        assertThat(st.at("/provider/response/body/assembled/stop_reason").asText()).isEqualTo("end_turn");
        assertThat(st.at("/timing/events_ms").size()).isGreaterThanOrEqualTo(3);
        assertThat(st.at("/timing/chunks_ms").size()).isGreaterThanOrEqualTo(1);
        assertThat(st.at("/provider/request/headers/x-api-key").asText()).isEqualTo("[redacted]");
        assertThat(st.toString()).doesNotContain("sk-ant-upstream");

        JsonNode r = record("a-refused");
        assertThat(r.get("status").asInt()).isEqualTo(401);
        assertThat(r.get("provider").isNull()).isTrue();
        assertThat(r.at("/client/request/headers/authorization").asText()).isEqualTo("[redacted]");
        assertThat(r.at("/client/response/body/json/error/code").asText()).isEqualTo("invalid_api_key");
        assertThat(r.toString()).doesNotContain("wrong-key");

        JsonNode b = record("a-bad");
        assertThat(b.get("status").asInt()).isEqualTo(400);
        assertThat(b.at("/client/request/body/text").asText()).isEqualTo("{not json");
        assertThat(b.at("/client/response/body/json/error/message").asText()).isNotEmpty();

        // the list: newest first, filtered, paged
        JsonNode all = list("?limit=10");
        assertThat(all.get("object").asText()).isEqualTo("list");
        assertThat(all.get("data").size()).isGreaterThanOrEqualTo(4);
        assertThat(all.at("/data/0/client")).as("summaries carry no bodies").isEmpty();
        JsonNode errors = list("?status=4xx");
        assertThat(errors.get("data")).extracting(n -> n.get("request_id").asText()).containsExactlyInAnyOrder("a-bad", "a-refused");
        JsonNode byModel = list("?model=claude-sonnet-4");
        assertThat(byModel.get("data")).extracting(n -> n.get("request_id").asText()).containsExactly("a-stream");
        JsonNode page1 = list("?limit=1&endpoint=chat");
        assertThat(page1.get("has_more").asBoolean()).isTrue();
        JsonNode page2 = list("?limit=1&endpoint=chat&cursor=" + page1.get("next_cursor").asText());
        assertThat(page2.at("/data/0/id").asLong()).isLessThan(page1.at("/data/0/id").asLong());
        assertThat(gw.request("GET", "/admin/v1/audit?colour=red", null, "Authorization", "Bearer " + MASTER).statusCode()).isEqualTo(400);
        assertThat(gw.request("GET", "/admin/v1/audit/nope", null, "Authorization", "Bearer " + MASTER).statusCode()).isEqualTo(404);
    }

    @Test
    void metadataKeepsNoBodiesAndTheCapCutsLongOnes() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + "x".repeat(500) + "\"},\"finish_reason\":\"stop\"}]}"));
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "y".repeat(300) + "\"}]}";
        gw.close();
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "SKIFF_AUDIT", "metadata", "OPENAI_API_KEY", "sk-openai-upstream",
                "OPENAI_BASE_URL", openai.baseUrl()).awaitListings();
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER, "X-Request-ID", "m-1").statusCode()).isEqualTo(200);
        JsonNode m = record("m-1");
        assertThat(m.get("level").asText()).isEqualTo("metadata");
        assertThat(m.at("/client/request/body").isNull()).isTrue();
        assertThat(m.at("/client/response/body").isNull()).isTrue();
        assertThat(m.at("/provider/request/body").isNull()).isTrue();
        assertThat(m.at("/client/request/headers").isNull()).as("metadata keeps no headers").isTrue();
        assertThat(m.at("/provider/request/headers").isNull()).isTrue();
        assertThat(m.at("/timing/first_byte_ms").asDouble()).isGreaterThan(0);
        assertThat(m.at("/provider/response/status").asInt()).isEqualTo(200);
        assertThat(m.toString()).doesNotContain("yyyy").doesNotContain("xxxx");
        // metadata records ride in usage rows (the usage store is on): refusals are recorded too, and the
        // list pages through them and through the audit table's (admin calls) as one
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", "Bearer wrong", "X-Request-ID", "m-2").statusCode()).isEqualTo(401);
        assertThat(gw.request("GET", "/admin/v1/keys", null, "Authorization", "Bearer " + MASTER, "X-Request-ID", "m-3").statusCode()).isEqualTo(200);
        // without a request id of the client's: Skiff's own, which says when it was made, and the record rides in the usage row
        HttpResponse<String> own = gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER);
        String ownId = own.headers().firstValue("x-request-id").orElseThrow();
        JsonNode o = record(ownId);
        assertThat(o.get("level").asText()).isEqualTo("metadata");
        assertThat(o.at("/provider/response/status").asInt()).isEqualTo(200);
        assertThat(o.at("/timing/finished_ms").isNumber()).isTrue();
        assertThat(record("m-2").get("status").asInt()).isEqualTo(401);
        assertThat(record("m-2").at("/client/request/method").asText()).isEqualTo("POST");
        assertThat(record("m-3").get("endpoint").asText()).isEqualTo("admin");
        java.util.List<String> seen = new java.util.ArrayList<>();
        String cursor = "";
        for (int i = 0; i < 5; i++) {
            JsonNode page = list("?limit=1" + cursor);
            page.get("data").forEach(n -> seen.add(n.get("request_id").asText()));
            if (!page.get("has_more").asBoolean()) break;
            cursor = "&cursor=" + page.get("next_cursor").asText();
        }
        assertThat(seen).containsExactlyInAnyOrder("m-1", "m-2", "m-3", ownId);

        gw.close();
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "SKIFF_AUDIT", "bodies", "SKIFF_AUDIT_MAX_BODY", "100",
                "OPENAI_API_KEY", "sk-openai-upstream", "OPENAI_BASE_URL", openai.baseUrl()).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER, "X-Request-ID", "c-1");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode c = record("c-1");
        JsonNode in = c.at("/client/request/body");
        assertThat(in.get("truncated").asBoolean()).isTrue();
        assertThat(in.get("size").asLong()).isEqualTo(chat.length());
        assertThat(in.get("text").asText()).hasSize(100).isEqualTo(chat.substring(0, 100));
        JsonNode out = c.at("/client/response/body");
        assertThat(out.get("truncated").asBoolean()).isTrue();
        assertThat(out.get("size").asLong()).isEqualTo(r.body().length());
        assertThat(out.get("text").asText()).hasSize(100);
        assertThat(c.at("/provider/response/body/text").asText()).hasSize(100);
    }

    @Test
    void passthroughRequestsAreAuditedWithTheProviderSide() throws Exception {
        openai.on("/v1/files", (req, reply) -> reply.json(200, "{\"object\":\"list\",\"data\":[],\"note\":\"sk-secret-q1\"}"));
        HttpResponse<String> r = gw.request("POST", "/p/openai/files", "{\"purpose\":\"batch\"}", "Authorization", "Bearer " + MASTER,
                "X-Request-ID", "p-1");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode p = record("p-1");
        assertThat(p.get("endpoint").asText()).isEqualTo("passthrough");
        assertThat(p.at("/client/request/body/json/purpose").asText()).isEqualTo("batch");
        assertThat(p.at("/provider/request/url").asText()).endsWith("/v1/files");
        assertThat(p.at("/provider/request/headers/authorization").asText()).isEqualTo("[redacted]");
        assertThat(p.at("/provider/response/body/json/note").asText()).isEqualTo("[redacted]");
        assertThat(p.at("/client/response/body/json/object").asText()).isEqualTo("list");
        assertThat(p.toString()).doesNotContain("sk-openai-upstream").doesNotContain("sk-secret-q1");
    }
}
