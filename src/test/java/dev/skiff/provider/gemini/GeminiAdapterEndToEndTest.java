package dev.skiff.provider.gemini;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** OpenAI chat clients in front of a Gemini upstream (a mock serving Gemini-shaped answers). */
class GeminiAdapterEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String GENERATE = "/v1/models/gemini-2.5-flash:generateContent";
    static final String STREAM = "/v1/models/gemini-2.5-flash:streamGenerateContent";

    MockUpstream mock;
    TestGateway gw;

    static String fixture(String name) throws Exception {
        return GeminiCodecTest.fixture(name);
    }

    /** A mock answering Gemini's model listing ({base}/models). */
    static MockUpstream geminiMock() throws Exception {
        MockUpstream mock = new MockUpstream();
        mock.on("/v1/models", (req, reply) -> reply.json(200,
                "{\"models\":[{\"name\":\"models/gemini-2.5-flash\",\"displayName\":\"Gemini 2.5 Flash\"},{\"name\":\"models/gemini-2.5-pro\"}]}"));
        return mock;
    }

    @BeforeEach
    void setUp() throws Exception {
        mock = geminiMock();
        gw = TestGateway.start("GEMINI_API_KEY", "g-key", "GEMINI_BASE_URL", mock.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        mock.close();
    }

    static List<JsonNode> events(String body) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (!block.startsWith("data: ")) continue;
            String data = block.substring(6);
            out.add(data.equals("[DONE]") ? null : JSON.readTree(data));
        }
        return out;
    }

    @Test
    void plainAnswerWithKeyHeaderAndUsage() throws Exception {
        mock.on(GENERATE, (req, reply) -> reply.json(200, fixture("generate_content.json")));
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"system\",\"content\":\"Be kind.\"},{\"role\":\"user\",\"content\":\"Hello\"}]}",
                "X-Request-ID", "gem-1");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode out = JSON.readTree(r.body());
        assertThat(out.get("object").asText()).isEqualTo("chat.completion");
        assertThat(out.get("model").asText()).isEqualTo("gemini-2.5-flash");
        assertThat(out.at("/choices/0/message/content").asText()).isEqualTo("Hello! How can I help you today?");
        assertThat(out.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(out.at("/usage/prompt_tokens").asInt()).isEqualTo(5);
        assertThat(out.at("/usage/completion_tokens").asInt()).isEqualTo(9);

        MockUpstream.Received sent = mock.take(GENERATE);
        assertThat(sent.method()).isEqualTo("POST");
        assertThat(sent.header("x-goog-api-key")).isEqualTo("g-key");
        assertThat(sent.header("Authorization")).isNull();
        JsonNode body = JSON.readTree(sent.body());
        assertThat(body.at("/systemInstruction/parts/0/text").asText()).isEqualTo("Be kind.");
        assertThat(body.at("/contents/0/parts/0/text").asText()).isEqualTo("Hello");

        JsonNode usage = JSON.readTree(gw.usageLine("gem-1"));
        assertThat(usage.get("provider").asText()).isEqualTo("gemini");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void toolCallsRoundTripWithSynthesizedIdsAndSignature() throws Exception {
        JsonNode fixture = JSON.readTree(fixture("generate_content_tools.json"));
        mock.on(GENERATE, (req, reply) -> reply.json(200, fixture.toString()));
        String tools = """
                "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather",
                  "parameters":{"type":"object","additionalProperties":false,"properties":{"location":{"type":"string"},
                  "unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}}}]""";
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"gemini-2.5-flash\",\"reasoning_effort\":\"low\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris and London?\"}]," + tools + ",\"tool_choice\":\"required\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode message = JSON.readTree(r.body()).at("/choices/0/message");
        assertThat(JSON.readTree(r.body()).at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(message.get("content").isNull()).isTrue();
        JsonNode calls = message.get("tool_calls");
        assertThat(calls.size()).isEqualTo(2);
        assertThat(calls.at("/0/type").asText()).isEqualTo("function");
        assertThat(calls.at("/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(calls.at("/0/id").asText()).isNotEqualTo(calls.at("/1/id").asText());
        JsonNode first = JSON.readTree(mock.take(GENERATE).body());
        assertThat(first.at("/toolConfig/functionCallingConfig/mode").asText()).isEqualTo("ANY");
        assertThat(first.at("/tools/0/functionDeclarations/0/parameters").has("additionalProperties")).isFalse();
        assertThat(first.at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(1024);

        mock.on(GENERATE, (req, reply) -> reply.json(200, fixture("generate_content.json")));
        String next = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris and London?\"},"
                + JSON.writeValueAsString(message) + ","
                + "{\"role\":\"tool\",\"tool_call_id\":" + calls.at("/0/id") + ",\"content\":\"{\\\"temp\\\":18}\"},"
                + "{\"role\":\"tool\",\"tool_call_id\":" + calls.at("/1/id") + ",\"content\":\"12C\"}]," + tools + "}";
        HttpResponse<String> r2 = gw.post("/v1/chat/completions", next);
        assertThat(r2.statusCode()).as(r2.body()).isEqualTo(200);
        JsonNode sent = JSON.readTree(mock.take(GENERATE).body());
        JsonNode model = sent.at("/contents/1");
        assertThat(model.get("role").asText()).isEqualTo("model");
        assertThat(model.at("/parts/0/thoughtSignature").asText())
                .isEqualTo(fixture.at("/candidates/0/content/parts/0/thoughtSignature").asText());
        assertThat(model.at("/parts/1/functionCall/args/location").asText()).isEqualTo("London");
        JsonNode results = sent.at("/contents/2");
        assertThat(results.get("role").asText()).isEqualTo("user");
        assertThat(results.at("/parts/0/functionResponse/name").asText()).isEqualTo("get_weather");
        assertThat(results.at("/parts/0/functionResponse/response/temp").asInt()).isEqualTo(18);
        assertThat(results.at("/parts/1/functionResponse/response/output").asText()).isEqualTo("12C");
    }

    @Test
    void reasoningComesBackAsReasoningContent() throws Exception {
        mock.on(GENERATE, (req, reply) -> reply.json(200, fixture("generate_content_thinking.json")));
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"gemini-2.5-flash\",\"reasoning_effort\":\"high\",\"messages\":[{\"role\":\"user\",\"content\":\"x + 5 = 12\"}]}");
        JsonNode out = JSON.readTree(r.body());
        assertThat(out.at("/choices/0/message/reasoning_content").asText()).startsWith("**Solving the equation**");
        assertThat(out.at("/choices/0/message/content").asText()).isEqualTo("x = 7, because 12 - 5 = 7.");
        assertThat(out.at("/usage/completion_tokens_details/reasoning_tokens").asInt()).isEqualTo(98);
        assertThat(out.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(1024);
        assertThat(out.at("/usage/completion_tokens").asInt()).isEqualTo(112);
        JsonNode sent = JSON.readTree(mock.take(GENERATE).body());
        assertThat(sent.at("/generationConfig/thinkingConfig/includeThoughts").asBoolean()).isTrue();
    }

    @Test
    void errorsKeepStatusAndMessage() throws Exception {
        mock.on(GENERATE, (req, reply) -> {
            reply.header("retry-after", "7");
            reply.json(429, "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}");
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(429);
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertThat(e.get("message").asText()).contains("Resource has been exhausted");
        assertThat(e.get("code").asText()).isEqualTo("RESOURCE_EXHAUSTED");
        assertThat(e.has("type") && e.has("param")).isTrue();
        assertThat(r.headers().firstValue("retry-after")).hasValue("7");
    }

    @Test
    void unknownToolCallIdIsA400() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"tool\",\"tool_call_id\":\"zz\",\"content\":\"1\"}]}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/message").asText()).contains("zz");
    }

    @Test
    void recordedStreamBecomesChatChunks() throws Exception {
        String recorded = fixture("stream.txt");
        mock.on(STREAM, (req, reply) -> {
            reply.startStream();
            for (int i = 0; i < recorded.length(); i += 61) reply.chunk(recorded.substring(i, Math.min(recorded.length(), i + 61)));
        });
        String req = "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", req, "X-Request-ID", "gem-s1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        var ev = events(r.body());
        assertThat(ev.getFirst().at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        assertThat(ev.getFirst().get("id").asText()).isEqualTo("chatcmpl-Jx9GaOGHMKjAz7IPytGf0Qo");
        StringBuilder text = new StringBuilder(), reasoning = new StringBuilder();
        int finishes = 0;
        for (JsonNode e : ev) {
            if (e == null) continue;
            text.append(e.at("/choices/0/delta/content").asText(""));
            reasoning.append(e.at("/choices/0/delta/reasoning_content").asText(""));
            if (e.at("/choices/0/finish_reason").isTextual()) finishes++;
        }
        assertThat(text.toString()).isEqualTo("Hello World");
        assertThat(reasoning.toString()).startsWith("**Greeting the user**");
        assertThat(finishes).isEqualTo(1);
        assertThat(ev.get(ev.size() - 2).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(ev.getLast()).isNull();
        assertThat(r.body()).doesNotContain("\"usage\"");
        JsonNode usage = JSON.readTree(gw.usageLine("gem-s1"));
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(4); // cumulative: assigned, not summed
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(22);
        MockUpstream.Received sent = mock.take(STREAM);
        assertThat(sent.query()).isEqualTo("alt=sse");
        assertThat(sent.header("x-goog-api-key")).isEqualTo("g-key");

        String withUsage = req.replace("\"stream\":true", "\"stream\":true,\"stream_options\":{\"include_usage\":true}");
        var ev2 = events(gw.post("/v1/chat/completions", withUsage).body());
        JsonNode usageChunk = ev2.get(ev2.size() - 2);
        assertThat(usageChunk.get("choices")).isEmpty();
        assertThat(usageChunk.at("/usage/prompt_tokens").asInt()).isEqualTo(4);
        assertThat(usageChunk.at("/usage/completion_tokens").asInt()).isEqualTo(22);
        assertThat(usageChunk.at("/usage/completion_tokens_details/reasoning_tokens").asInt()).isEqualTo(20);
    }

    @Test
    void conformance13_streamedCallGetsTheSignatureOfALaterChunk() throws Exception {
        String recorded = fixture("stream_tools.txt");
        mock.on(STREAM, (req, reply) -> {
            reply.startStream();
            for (String part : recorded.split("(?<=\r\n\r\n)")) reply.chunk(part);
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"w\"}]}", "X-Request-ID", "gem-s2");
        var ev = events(r.body());
        List<JsonNode> calls = new ArrayList<>();
        for (JsonNode e : ev) {
            if (e != null && e.at("/choices/0/delta/tool_calls/0").isObject()) calls.add(e.at("/choices/0/delta/tool_calls/0"));
        }
        assertThat(calls).hasSize(1);
        JsonNode call = calls.getFirst();
        assertThat(call.get("index").asInt()).isZero();
        assertThat(call.get("type").asText()).isEqualTo("function");
        assertThat(call.at("/function/name").asText()).isEqualTo("get_weather");
        assertThat(JSON.readTree(call.at("/function/arguments").asText()).get("location").asText()).isEqualTo("Paris");
        assertThat(GeminiCodec.parseCallId(call.get("id").asText()).signature())
                .isEqualTo("EiYKJGUyNDgzMGE3LTVjZDYtNDJmZS05OTA0LWM0ZGQ1ZWI2YjM1Mg==");
        assertThat(ev.get(ev.size() - 2).at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode usage = JSON.readTree(gw.usageLine("gem-s2"));
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(30);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(65);
    }

    @Test
    void streamWithoutFinishReasonEndsWithAnError() throws Exception {
        mock.on(STREAM, (req, reply) -> {
            reply.startStream();
            reply.chunk("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"par\"}],\"role\":\"model\"},\"index\":0}],\"responseId\":\"x\"}\r\n\r\n");
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"w\"}]}");
        var ev = events(r.body());
        assertThat(ev.getLast()).isNotNull();
        assertThat(ev.getLast().at("/error/code").asText()).isEqualTo("upstream_incomplete_stream");
        assertThat(r.body()).doesNotContain("finish_reason\":\"stop").doesNotContain("[DONE]");
    }

    @Test
    void streamedSafetyStopIsContentFilter() throws Exception {
        mock.on(STREAM, (req, reply) -> {
            reply.startStream();
            reply.chunk("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Sure\"}],\"role\":\"model\"},\"index\":0}]}\r\n\r\n");
            reply.chunk("data: {\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":1,\"totalTokenCount\":4}}\r\n\r\n");
        });
        var ev = events(gw.post("/v1/chat/completions",
                "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"w\"}]}").body());
        assertThat(ev.get(ev.size() - 2).at("/choices/0/finish_reason").asText()).isEqualTo("content_filter");
    }
}
