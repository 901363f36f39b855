package dev.skiff.observe.trace;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Traces exported to an in-test OTLP receiver: a server span continuing the client's traceparent, a
 * client span per provider call with the GenAI attributes, and the provider seeing that client span's
 * traceparent.
 */
class TraceEndToEndTest {
    static final String MASTER = "master-secret";
    static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String PARENT = "00f067aa0ba902b7";

    record Export(String contentType, byte[] body) {}

    HttpServer receiver;
    final List<Export> exports = new CopyOnWriteArrayList<>();
    MockUpstream openai;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/v1/traces", ex -> {
            exports.add(new Export(ex.getRequestHeaders().getFirst("Content-Type"), ex.getRequestBody().readAllBytes()));
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        receiver.start();
        openai = new MockUpstream().models("gpt-4o-mini");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}"));
    }

    @AfterEach
    void tearDown() {
        if (gw != null) gw.close();
        openai.close();
        receiver.stop(0);
    }

    TestGateway start(String... more) throws Exception {
        List<String> env = new ArrayList<>(List.of("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + receiver.getAddress().getPort(), "OTEL_SERVICE_NAME", "skiff-test",
                "OTEL_BSP_SCHEDULE_DELAY", "50"));
        env.addAll(List.of(more));
        return TestGateway.start(env.toArray(String[]::new)).awaitListings();
    }

    /** Every span exported so far (JSON exports). */
    List<JsonNode> spans() throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (Export e : exports) {
            JsonNode root = OpenAiChat.JSON.readTree(e.body());
            for (JsonNode rs : root.path("resourceSpans")) {
                assertThat(rs.at("/resource/attributes/0/key").asText()).isEqualTo("service.name");
                assertThat(rs.at("/resource/attributes/0/value/stringValue").asText()).isEqualTo("skiff-test");
                for (JsonNode ss : rs.path("scopeSpans")) ss.path("spans").forEach(out::add);
            }
        }
        return out;
    }

    List<JsonNode> spansOf(String traceId, int atLeast) throws Exception {
        for (int i = 0; i < 100; i++) {
            List<JsonNode> found = spans().stream().filter(s -> s.get("traceId").asText().equals(traceId)).toList();
            if (found.size() >= atLeast) return found;
            Thread.sleep(50);
        }
        throw new AssertionError("no " + atLeast + " spans of trace " + traceId + " exported: " + spans());
    }

    static String attr(JsonNode span, String key) {
        for (JsonNode a : span.path("attributes")) {
            if (a.get("key").asText().equals(key)) {
                JsonNode v = a.get("value");
                return v.has("stringValue") ? v.get("stringValue").asText() : v.has("intValue") ? v.get("intValue").asText()
                        : v.has("boolValue") ? v.get("boolValue").asText() : v.path("doubleValue").asText();
            }
        }
        return null;
    }

    @Test
    void serverAndClientSpansContinueTheIncomingTraceAndTheProviderSeesTheClientSpan() throws Exception {
        gw = start("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"a secret question\"}]}";
        var r = gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER, "traceparent", "00-" + TRACE + "-" + PARENT + "-01");
        assertThat(r.statusCode()).isEqualTo(200);
        MockUpstream.Received got = openai.take("/v1/chat/completions");

        List<JsonNode> spans = spansOf(TRACE, 2);
        assertThat(exports.getFirst().contentType()).isEqualTo("application/json");
        JsonNode server = spans.stream().filter(s -> s.get("kind").asInt() == 2).findFirst().orElseThrow();
        JsonNode client = spans.stream().filter(s -> s.get("kind").asInt() == 3).findFirst().orElseThrow();
        assertThat(server.get("parentSpanId").asText()).isEqualTo(PARENT);
        assertThat(server.get("name").asText()).isEqualTo("POST /v1/chat/completions");
        assertThat(attr(server, "http.response.status_code")).isEqualTo("200");
        assertThat(client.get("parentSpanId").asText()).isEqualTo(server.get("spanId").asText());
        assertThat(client.get("name").asText()).isEqualTo("chat gpt-4o-mini");
        assertThat(attr(client, "gen_ai.operation.name")).isEqualTo("chat");
        assertThat(attr(client, "gen_ai.provider.name")).isEqualTo("openai");
        assertThat(attr(client, "gen_ai.request.model")).isEqualTo("gpt-4o-mini");
        assertThat(attr(client, "gen_ai.response.model")).isEqualTo("gpt-4o-mini");
        assertThat(attr(client, "gen_ai.usage.input_tokens")).isEqualTo("12");
        assertThat(attr(client, "gen_ai.usage.output_tokens")).isEqualTo("3");
        assertThat(attr(client, "server.address")).isEqualTo("127.0.0.1");
        assertThat(Long.parseLong(client.get("startTimeUnixNano").asText())).isGreaterThanOrEqualTo(Long.parseLong(server.get("startTimeUnixNano").asText()));
        assertThat(Long.parseLong(client.get("endTimeUnixNano").asText())).isLessThanOrEqualTo(Long.parseLong(server.get("endTimeUnixNano").asText()));
        // the provider got the client span as its parent
        assertThat(got.header("traceparent")).isEqualTo("00-" + TRACE + "-" + client.get("spanId").asText() + "-01");
        // no bodies unless asked
        assertThat(new String(exports.getFirst().body(), StandardCharsets.UTF_8)).doesNotContain("secret question");

        // without a traceparent: a new trace, the server span its root; a refusal is traced too
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", "Bearer wrong", "X-Request-ID", "t-refused").statusCode()).isEqualTo(401);
        JsonNode refused = null;
        for (int i = 0; i < 100 && refused == null; i++) {
            refused = spans().stream().filter(s -> "401".equals(attr(s, "http.response.status_code"))).findFirst().orElse(null);
            if (refused == null) Thread.sleep(50);
        }
        assertThat(refused).isNotNull();
        assertThat(refused.has("parentSpanId")).isFalse();
        assertThat(refused.get("traceId").asText()).isNotEqualTo(TRACE).hasSize(32);
        assertThat(attr(refused, "skiff.request_id")).isEqualTo("t-refused");
    }

    @Test
    void protobufIsTheDefaultAndAnUnsampledParentIsNotTraced() throws Exception {
        gw = start();
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        // parent-based sampling: a parent that was not sampled is not traced, and no traceparent is made up
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER, "traceparent",
                "00-" + TRACE + "-" + PARENT + "-00").statusCode()).isEqualTo(200);
        assertThat(openai.take("/v1/chat/completions").header("traceparent")).isNull();
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER).statusCode()).isEqualTo(200);
        assertThat(openai.take("/v1/chat/completions").header("traceparent")).startsWith("00-").endsWith("-01");
        // the spans of one request may leave in two exports (a batch is cut when the exporter wakes): all of them, read together
        String raw = "";
        for (int i = 0; i < 100 && !raw.contains("chat gpt-4o-mini"); i++) {
            Thread.sleep(50);
            StringBuilder all = new StringBuilder();
            for (Export e : exports) all.append(new String(e.body(), StandardCharsets.ISO_8859_1));
            raw = all.toString();
        }
        assertThat(exports).isNotEmpty().allMatch(e -> e.contentType().equals("application/x-protobuf"));
        assertThat(raw).contains("skiff-test").contains("chat gpt-4o-mini").contains("gen_ai.provider.name").doesNotContain(TRACE);
        assertThat(raw).doesNotContain(new String(OtlpEncoding.hexBytes(TRACE), StandardCharsets.ISO_8859_1));
    }

    @Test
    void eachRetriedAttemptHasItsClientSpanAndTheAuditRecordCountsThem() throws Exception {
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        List<String> parents = new CopyOnWriteArrayList<>();
        openai.on("/v1/chat/completions", (req, reply) -> {
            parents.add(req.header("traceparent"));
            if (calls.incrementAndGet() <= 2) {
                reply.json(503, "{\"error\":{\"message\":\"busy\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
                return;
            }
            reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}");
        });
        gw = start("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "RETRY_MAX_RETRIES", "3", "RETRY_INITIAL_BACKOFF", "5ms", "RETRY_MAX_BACKOFF", "20ms",
                "SKIFF_AUDIT", "metadata");
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        var r = gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER, "traceparent", "00-" + TRACE + "-" + PARENT + "-01",
                "X-Request-ID", "t-retried");
        assertThat(r.statusCode()).isEqualTo(200);
        List<JsonNode> spans = spansOf(TRACE, 4);
        JsonNode server = spans.stream().filter(s -> s.get("kind").asInt() == 2).findFirst().orElseThrow();
        List<JsonNode> clients = spans.stream().filter(s -> s.get("kind").asInt() == 3).toList();
        assertThat(clients).hasSize(3).allMatch(c -> c.get("parentSpanId").asText().equals(server.get("spanId").asText()));
        assertThat(clients.stream().map(c -> attr(c, "http.response.status_code")).toList()).containsExactlyInAnyOrder("503", "503", "200");
        assertThat(clients.stream().filter(c -> c.path("status").path("code").asInt() == 2).count()).isEqualTo(2);
        // each attempt carried its own client span to the provider
        assertThat(parents).hasSize(3).doesNotHaveDuplicates()
                .allMatch(p -> clients.stream().anyMatch(c -> p.equals("00-" + TRACE + "-" + c.get("spanId").asText() + "-01")));
        JsonNode audit = null;
        for (int i = 0; i < 100 && audit == null; i++) {
            var a = gw.request("GET", "/admin/v1/audit/t-retried", null, "Authorization", "Bearer " + MASTER);
            if (a.statusCode() == 200) audit = dev.skiff.dialect.openai.OpenAiChat.JSON.readTree(a.body());
            else Thread.sleep(50);
        }
        assertThat(audit).isNotNull();
        assertThat(audit.get("attempts").asInt()).isEqualTo(3);
        assertThat(audit.get("trace_id").asText()).isEqualTo(TRACE);
        assertThat(audit.at("/provider/response/status").asInt()).isEqualTo(200);
    }

    @Test
    void theResponseModelIsTheOneTheProviderNamedNotTheOneAsked() throws Exception {
        String snapshot = "gpt-4o-mini-2024-07-18";
        openai.on("/v1/chat/completions", (req, reply) -> {
            if (req.body().contains("\"stream\":true")) {
                reply.startStream();
                reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"" + snapshot
                        + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
                reply.chunk("data: [DONE]\n\n");
                return;
            }
            reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"" + snapshot + "\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                    + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}");
        });
        gw = start("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "SKIFF_AUDIT", "metadata");
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        String streamTrace = "5bf92f3577b34da6a3ce929d0e0e4737";
        var r = gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER, "traceparent", "00-" + TRACE + "-" + PARENT + "-01",
                "X-Request-ID", "t-snapshot");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"model\":\"gpt-4o-mini\""); // the client is answered with the name it asked for
        var s = gw.post("/v1/chat/completions", chat.replace("{\"model\"", "{\"stream\":true,\"model\""), "Authorization", "Bearer " + MASTER,
                "traceparent", "00-" + streamTrace + "-" + PARENT + "-01");
        assertThat(s.statusCode()).isEqualTo(200);
        for (String trace : List.of(TRACE, streamTrace)) {
            JsonNode client = spansOf(trace, 2).stream().filter(x -> x.get("kind").asInt() == 3).findFirst().orElseThrow();
            assertThat(attr(client, "gen_ai.request.model")).isEqualTo("gpt-4o-mini");
            assertThat(attr(client, "gen_ai.response.model")).as(trace).isEqualTo(snapshot);
        }
        JsonNode audit = null;
        for (int i = 0; i < 100 && audit == null; i++) {
            var a = gw.request("GET", "/admin/v1/audit/t-snapshot", null, "Authorization", "Bearer " + MASTER);
            if (a.statusCode() == 200) audit = OpenAiChat.JSON.readTree(a.body());
            else Thread.sleep(50);
        }
        assertThat(audit).isNotNull();
        assertThat(audit.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(audit.get("response_model").asText()).isEqualTo(snapshot);
    }
}
