package dev.skiff.provider.anthropic;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** OpenAI chat clients in front of an Anthropic upstream (a mock serving recorded Anthropic answers). */
class AnthropicAdapterEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();

    MockUpstream mock;
    TestGateway gw;

    static String fixture(String name) throws Exception {
        Path p = Recorded.path("anthropic", name);
        if (!Files.exists(p)) throw new AssertionError("fixture missing: " + p.toAbsolutePath());
        return Files.readString(p);
    }

    @BeforeEach
    void setUp() throws Exception {
        mock = new MockUpstream().models("claude-sonnet-4-20250514");
        gw = TestGateway.start("ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", mock.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        mock.close();
    }

    @Test
    void toolCallAnswerIsTranslatedBothWays() throws Exception {
        String answer = fixture("messages_with_tools.json");
        mock.on("/v1/messages", (req, reply) -> reply.json(200, answer));
        String request = """
                {"model":"claude-sonnet-4-20250514","max_tokens":300,
                 "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"}],
                 "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather",
                   "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}],
                 "tool_choice":"auto"}""";
        HttpResponse<String> r = gw.post("/v1/chat/completions", request, "X-Request-ID", "ant-1");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode out = JSON.readTree(r.body());
        assertThat(out.get("object").asText()).isEqualTo("chat.completion");
        assertThat(out.get("model").asText()).isEqualTo("claude-sonnet-4-20250514");
        JsonNode choice = out.at("/choices/0");
        assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode call = choice.at("/message/tool_calls/0");
        assertThat(call.get("id").asText()).isEqualTo("toolu_01Dq95J3WcnLmvSvBpAuaXwi");
        assertThat(call.at("/function/name").asText()).isEqualTo("get_weather");
        assertThat(JSON.readTree(call.at("/function/arguments").asText()).get("location").asText()).isEqualTo("Paris");
        assertThat(choice.at("/message/content").asText()).isEqualTo("I'll check the current weather in Paris for you.");
        assertThat(out.at("/usage/prompt_tokens").asInt()).isEqualTo(380);
        assertThat(out.at("/usage/completion_tokens").asInt()).isEqualTo(65);

        MockUpstream.Received sent = mock.take("/v1/messages");
        assertThat(sent.header("x-api-key")).isEqualTo("sk-ant");
        assertThat(sent.header("anthropic-version")).isEqualTo("2023-06-01");
        assertThat(sent.header("Authorization")).isNull();
        JsonNode body = JSON.readTree(sent.body());
        assertThat(body.get("max_tokens").asInt()).isEqualTo(300);
        assertThat(body.at("/system/0/text").asText()).isEqualTo("Be brief.");
        assertThat(body.at("/messages/0/role").asText()).isEqualTo("user");
        assertThat(body.at("/tools/0/input_schema/required/0").asText()).isEqualTo("location");
        assertThat(body.at("/tool_choice/type").asText()).isEqualTo("auto");

        JsonNode usage = JSON.readTree(gw.usageLine("ant-1"));
        assertThat(usage.get("provider").asText()).isEqualTo("anthropic");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(380);
    }

    @Test
    void conformance11_15_thinkingAndToolResultsGoBackOnTheNextTurn() throws Exception {
        String thinking = fixture("messages_extended_thinking.json");
        mock.on("/v1/messages", (req, reply) -> reply.json(200, thinking));
        HttpResponse<String> first = gw.post("/v1/chat/completions",
                "{\"model\":\"anthropic/claude-sonnet-4-20250514\",\"reasoning_effort\":\"low\",\"messages\":[{\"role\":\"user\",\"content\":\"x + 5 = 12\"}]}");
        JsonNode message = JSON.readTree(first.body()).at("/choices/0/message");
        assertThat(message.get("reasoning_content").asText()).startsWith("I need to solve for x");
        String signature = message.get("reasoning_signature").asText();
        assertThat(signature).isEqualTo(JSON.readTree(thinking).at("/content/0/signature").asText());
        assertThat(message.get("content").asText()).doesNotContain("I need to solve"); // reasoning never leaks into content
        assertThat(JSON.readTree(mock.take("/v1/messages").body()).at("/thinking/type").asText()).isEqualTo("enabled");

        // The client sends the conversation back with a tool round in between.
        String next = """
                {"model":"anthropic/claude-sonnet-4-20250514","messages":[
                  {"role":"user","content":"x + 5 = 12"},
                  {"role":"assistant","content":null,"reasoning_content":%s,"reasoning_signature":%s,
                   "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"calc","arguments":"{\\"e\\":\\"12-5\\"}"}},
                                 {"id":"toolu_2","type":"function","function":{"name":"calc","arguments":"{\\"e\\":\\"7+5\\"}"}}]},
                  {"role":"tool","tool_call_id":"toolu_1","content":"7"},
                  {"role":"tool","tool_call_id":"toolu_2","content":"12"},
                  {"role":"user","content":"so?"}]}""".formatted(JSON.writeValueAsString(message.get("reasoning_content").asText()),
                JSON.writeValueAsString(signature));
        assertThat(gw.post("/v1/chat/completions", next).statusCode()).isEqualTo(200);
        JsonNode sent = JSON.readTree(mock.take("/v1/messages").body());
        JsonNode assistant = sent.at("/messages/1");
        assertThat(assistant.get("role").asText()).isEqualTo("assistant");
        assertThat(assistant.at("/content/0/type").asText()).isEqualTo("thinking");
        assertThat(assistant.at("/content/0/signature").asText()).isEqualTo(signature);
        assertThat(assistant.at("/content/1/type").asText()).isEqualTo("tool_use");
        assertThat(assistant.at("/content/1/input/e").asText()).isEqualTo("12-5");
        // conformance 5: both results in ONE user message, before its text
        JsonNode results = sent.at("/messages/2");
        assertThat(results.get("role").asText()).isEqualTo("user");
        assertThat(results.at("/content/0/type").asText()).isEqualTo("tool_result");
        assertThat(results.at("/content/0/tool_use_id").asText()).isEqualTo("toolu_1");
        assertThat(results.at("/content/1/tool_use_id").asText()).isEqualTo("toolu_2");
        assertThat(results.at("/content/2/type").asText()).isEqualTo("text");
        assertThat(sent.get("messages").size()).isEqualTo(3);
    }

    @Test
    void settingsThinkingRefusesAreLeftOutVisibly() throws Exception {
        mock.on("/v1/messages", (req, reply) -> reply.json(200, fixture("messages_extended_thinking.json")));
        HttpResponse<String> r = gw.post("/v1/chat/completions", """
                {"model":"claude-sonnet-4-20250514","reasoning_effort":"medium","temperature":0.2,"top_k":5,"top_p":0.5,
                 "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required",
                 "messages":[{"role":"user","content":"x"}]}""");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode sent = JSON.readTree(mock.take("/v1/messages").body());
        assertThat(sent.at("/thinking/type").asText()).isEqualTo("enabled");
        assertThat(sent.has("temperature") || sent.has("top_k") || sent.has("top_p")).isFalse();
        assertThat(sent.at("/tool_choice/type").asText()).isEqualTo("auto");
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse(""))
                .contains("temperature(with thinking)", "top_k(with thinking)", "tool_choice(forced, with thinking)");

        // Without thinking, the same settings go through untouched.
        gw.post("/v1/chat/completions", """
                {"model":"claude-sonnet-4-20250514","temperature":0.2,"top_k":5,"messages":[{"role":"user","content":"x"}]}""");
        JsonNode plain = JSON.readTree(mock.take("/v1/messages").body());
        assertThat(plain.get("temperature").asDouble()).isEqualTo(0.2);
        assertThat(plain.get("top_k").asInt()).isEqualTo(5);
    }

    @Test
    void conformance32_35_anthropicErrorsKeepStatusMessageAndRateLimitHeaders() throws Exception {
        mock.on("/v1/messages", (req, reply) -> {
            reply.header("retry-after", "3");
            reply.header("anthropic-ratelimit-requests-remaining", "0");
            reply.json(429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Number of request tokens has exceeded your per-minute rate limit\"}}");
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"claude-sonnet-4-20250514\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(429);
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertThat(e.get("message").asText()).contains("per-minute rate limit");
        assertThat(e.has("type") && e.has("param") && e.has("code")).isTrue();
        assertThat(r.headers().firstValue("retry-after")).hasValue("3");
        assertThat(r.headers().firstValue("anthropic-ratelimit-requests-remaining")).hasValue("0");
    }

    @Test
    void conformance31_anthropicBetaHeaderIsForwarded() throws Exception {
        mock.on("/v1/messages", (req, reply) -> reply.json(200, fixture("messages.json")));
        gw.post("/v1/chat/completions", "{\"model\":\"claude-sonnet-4-20250514\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "anthropic-beta", "interleaved-thinking-2025-05-14");
        MockUpstream.Received sent = mock.take("/v1/messages");
        assertThat(sent.header("anthropic-beta")).isEqualTo("interleaved-thinking-2025-05-14");
        assertThat(sent.header("anthropic-version")).isEqualTo("2023-06-01");
    }

    @Test
    void fieldsAnthropicCannotTakeAreDroppedVisibly() throws Exception {
        mock.on("/v1/messages", (req, reply) -> reply.json(200, fixture("messages.json")));
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"claude-sonnet-4-20250514\",\"seed\":7,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "X-Request-ID", "drop-1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains("seed");
        assertThat(JSON.readTree(gw.usageLine("drop-1")).get("dropped_fields").asText()).contains("seed"); // and in the log
        JsonNode sent = JSON.readTree(mock.take("/v1/messages").body());
        assertThat(sent.has("seed")).isFalse();
        assertThat(sent.get("max_tokens").asInt()).isEqualTo(AnthropicCodec.DEFAULT_MAX_TOKENS);
    }

    @Test
    void embeddingsSayClearlyTheProviderHasNone() throws Exception {
        HttpResponse<String> e = gw.post("/v1/embeddings", "{\"model\":\"claude-sonnet-4-20250514\",\"input\":\"hi\"}");
        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(e.body()).at("/error/code").asText()).isEqualTo("unsupported_endpoint");
    }

    /** The data lines of an SSE body, as JSON (null for [DONE]). */
    static java.util.List<JsonNode> events(String body) throws Exception {
        java.util.List<JsonNode> out = new java.util.ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (!block.startsWith("data: ")) continue;
            String data = block.substring(6);
            out.add(data.equals("[DONE]") ? null : JSON.readTree(data));
        }
        return out;
    }

    @Test
    void conformance20_recordedStreamBecomesChatChunksWithUsageOnlyWhenAsked() throws Exception {
        String recorded = fixture("messages_stream.txt");
        mock.on("/v1/messages", (req, reply) -> {
            reply.startStream();
            // cut at arbitrary places, as the network does
            for (int i = 0; i < recorded.length(); i += 97) reply.chunk(recorded.substring(i, Math.min(recorded.length(), i + 97)));
        });
        String req = "{\"model\":\"claude-sonnet-4-20250514\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", req, "X-Request-ID", "ant-s1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        var ev = events(r.body());
        assertThat(ev.getFirst().at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        for (JsonNode e : ev) if (e != null) text.append(e.at("/choices/0/delta/content").asText(""));
        assertThat(text.toString()).isEqualTo("Hello World");
        JsonNode finish = ev.get(ev.size() - 2);
        assertThat(finish.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(ev.getLast()).isNull(); // [DONE]
        assertThat(r.body()).doesNotContain("\"usage\"");
        JsonNode usage = JSON.readTree(gw.usageLine("ant-s1"));
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(10);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(5);
        assertThat(JSON.readTree(mock.take("/v1/messages").body()).get("stream").asBoolean()).isTrue();

        String withUsage = req.replace("\"stream\":true", "\"stream\":true,\"stream_options\":{\"include_usage\":true}");
        var ev2 = events(gw.post("/v1/chat/completions", withUsage).body());
        JsonNode usageChunk = ev2.get(ev2.size() - 2);
        assertThat(usageChunk.get("choices")).isEmpty();
        assertThat(usageChunk.at("/usage/prompt_tokens").asInt()).isEqualTo(10);
        assertThat(usageChunk.at("/usage/completion_tokens").asInt()).isEqualTo(5);
    }

    static String sse(String type, String json) {
        return "event: " + type + "\ndata: " + json + "\n\n";
    }

    @Test
    void conformance04_21_streamedToolCallsPingsAndMergedUsage() throws Exception {
        mock.on("/v1/messages", (req, reply) -> {
            reply.startStream();
            reply.chunk(sse("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":20,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}"));
            reply.chunk(sse("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"));
            reply.chunk(sse("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}"));
            reply.chunk(sse("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"));
            reply.chunk(": keep-alive\n\n");
            reply.chunk(sse("ping", "{\"type\":\"ping\"}"));
            reply.chunk(sse("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"get_weather\",\"input\":{}}}"));
            reply.chunk(sse("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \"}}"));
            reply.chunk(sse("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}"));
            reply.chunk(sse("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}"));
            reply.chunk(sse("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":30}}"));
            reply.chunk(sse("message_stop", "{\"type\":\"message_stop\"}"));
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"claude-sonnet-4-20250514\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"w\"}]}", "X-Request-ID", "ant-s2");
        var ev = events(r.body());
        StringBuilder args = new StringBuilder();
        String id = null, name = null;
        for (JsonNode e : ev) {
            if (e == null) continue;
            JsonNode call = e.at("/choices/0/delta/tool_calls/0");
            if (call.isMissingNode()) continue;
            assertThat(call.get("index").asInt()).isZero();
            if (call.has("id")) id = call.get("id").asText();
            if (call.at("/function/name").isTextual()) name = call.at("/function/name").asText();
            args.append(call.at("/function/arguments").asText(""));
        }
        assertThat(id).isEqualTo("toolu_9");
        assertThat(name).isEqualTo("get_weather");
        assertThat(JSON.readTree(args.toString()).get("location").asText()).isEqualTo("Paris");
        assertThat(ev.get(ev.size() - 2).at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        // conformance 4: the upstream's ping and keep-alive comment reach the client as comments
        assertThat(r.body().split(": ping\n\n", -1).length - 1).isEqualTo(2);
        JsonNode usage = JSON.readTree(gw.usageLine("ant-s2"));
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(24); // input + cache read, counted once
        assertThat(usage.get("cached_tokens").asInt()).isEqualTo(4);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(30);
    }

    @Test
    void anUnknownStopReasonIsAnErrorNotACleanStop() throws Exception {
        mock.on("/v1/messages", (req, reply) -> {
            if (req.body().contains("\"stream\":true")) {
                reply.startStream();
                reply.chunk(sse("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":3}}}"));
                reply.chunk(sse("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"brand_new_reason\"},\"usage\":{\"output_tokens\":1}}"));
                reply.chunk(sse("message_stop", "{\"type\":\"message_stop\"}"));
            } else {
                reply.json(200, "{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
                        + "\"stop_reason\":\"brand_new_reason\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}");
            }
        });
        String body = "{\"model\":\"claude-sonnet-4-20250514\",\"messages\":[{\"role\":\"user\",\"content\":\"w\"}]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", body);
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(r.body()).at("/error/message").asText()).contains("brand_new_reason");
        HttpResponse<String> s = gw.post("/v1/chat/completions", body.replace("{\"model\"", "{\"stream\":true,\"model\""));
        var ev = events(s.body());
        assertThat(ev.getLast()).isNotNull();
        assertThat(ev.getLast().at("/error/message").asText()).contains("brand_new_reason");
        assertThat(s.body()).doesNotContain("[DONE]");
    }

    @Test
    void conformance18_streamCutShortEndsWithAnError() throws Exception {
        mock.on("/v1/messages", (req, reply) -> {
            reply.startStream();
            reply.chunk(sse("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":3}}}"));
            reply.chunk(sse("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"par\"}}"));
        }); // the response ends cleanly at the HTTP level, but without message_stop
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"claude-sonnet-4-20250514\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"w\"}]}");
        var ev = events(r.body());
        assertThat(ev.getLast()).isNotNull();
        assertThat(ev.getLast().at("/error/code").asText()).isEqualTo("upstream_incomplete_stream");
        assertThat(r.body()).doesNotContain("finish_reason\":\"stop");
    }
}
