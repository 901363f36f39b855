package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.Sse;
import dev.skiff.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code /v1/messages} (Anthropic's Messages API) in front of every kind of provider, on a real socket:
 * an Anthropic upstream gets the client's bytes, OpenAI-compatible and Gemini upstreams get translated
 * requests, and the client always gets Anthropic's shapes back, errors included.
 */
class MessagesEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "sk-gateway";

    MockUpstream openai;
    MockUpstream anthropic;
    MockUpstream gemini;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4");
        gemini = new MockUpstream();
        gemini.on("/v1/models", (req, reply) -> reply.json(200, "{\"models\":[{\"name\":\"models/gemini-2.5-flash\"}]}"));
        gw = TestGateway.start("SKIFF_MASTER_KEY", KEY,
                "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "GEMINI_API_KEY", "g-key", "GEMINI_BASE_URL", gemini.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
        gemini.close();
    }

    HttpResponse<String> messages(String body, String... headers) throws Exception {
        String[] all = new String[headers.length + 4];
        all[0] = "x-api-key";
        all[1] = KEY;
        all[2] = "anthropic-version";
        all[3] = "2023-06-01";
        System.arraycopy(headers, 0, all, 4, headers.length);
        return gw.post("/v1/messages", body, all);
    }

    @Test
    @DisplayName("conformance 29, 31: Anthropic upstream gets the client's bytes and headers; unknown fields survive both ways")
    void anAnthropicUpstreamGetsTheClientsBytesAndTheClientGetsTheProvidersBytes() throws Exception {
        String answer = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4\","
                + "\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":12,\"output_tokens\":3,\"cache_read_input_tokens\":4},\"future_field\":{\"x\":1}}";
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, answer));
        String request = "{\"model\":\"anthropic/claude-sonnet-4\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"some_new_option\":{\"on\":true}}";
        HttpResponse<String> r = messages(request, "anthropic-beta", "tools-2099-01-01", "X-Request-ID", "m-native");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        // unknown response fields survive (Postel); the model names what the client asked for
        assertThat(r.body()).isEqualTo(answer.replace("\"claude-sonnet-4\"", "\"anthropic/claude-sonnet-4\""));
        MockUpstream.Received sent = anthropic.take("/v1/messages");
        assertThat(sent.body()).isEqualTo(request.replace("anthropic/claude-sonnet-4", "claude-sonnet-4")); // unknown request fields too
        assertThat(sent.header("x-api-key")).isEqualTo("sk-ant"); // the provider's key, not the client's
        assertThat(sent.header("anthropic-beta")).isEqualTo("tools-2099-01-01");
        assertThat(sent.header("anthropic-version")).isEqualTo("2023-06-01");
        JsonNode usage = JSON.readTree(gw.usageLine("m-native"));
        assertThat(usage.get("endpoint").asText()).isEqualTo("messages");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(16); // input + cache reads (conformance 23)
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(3);
    }

    @Test
    @DisplayName("conformance 4, 21: an Anthropic stream is relayed unchanged (pings included), usage merged from start and delta")
    void anAnthropicStreamIsRelayedUnchangedAndItsUsageObserved() throws Exception {
        String stream = """
                event: message_start
                data: {"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":1}}}

                event: content_block_start
                data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

                event: ping
                data: {"type": "ping"}

                event: content_block_delta
                data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

                event: content_block_stop
                data: {"type":"content_block_stop","index":0}

                event: message_delta
                data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}

                event: message_stop
                data: {"type":"message_stop"}

                """;
        anthropic.on("/v1/messages", (req, reply) -> {
            reply.startStream();
            reply.chunk(stream);
        });
        HttpResponse<String> r = messages("{\"model\":\"claude-sonnet-4\",\"max_tokens\":50,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "X-Request-ID", "m-native-stream");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(stream);
        JsonNode usage = JSON.readTree(gw.usageLine("m-native-stream"));
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(20);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(7); // message_delta's count replaces message_start's
    }

    @Test
    @DisplayName("conformance 5, 23, 25: parallel tool results become tool messages before the user text; cached tokens mapped")
    void anOpenAiUpstreamGetsChatWithParallelToolResultsInOrder() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, """
                {"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o-mini",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"Paris is sunny, Rome rainy. Anything else?",
                   "tool_calls":[{"id":"call_3","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}}]},
                   "logprobs":null,"finish_reason":"tool_calls"}],
                 "usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":100}}}"""));
        String request = """
                {"model":"gpt-4o-mini","max_tokens":200,
                 "system":[{"type":"text","text":"You are terse."}],
                 "tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
                 "messages":[
                  {"role":"user","content":"Weather in Paris and Rome?"},
                  {"role":"assistant","content":[{"type":"text","text":"Checking."},
                    {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
                    {"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Rome"}}]},
                  {"role":"user","content":[
                    {"type":"tool_result","tool_use_id":"call_1","content":"sunny"},
                    {"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"rainy"}]},
                    {"type":"text","text":"And Oslo?"}]}]}""";
        HttpResponse<String> r = messages(request, "X-Request-ID", "m-openai");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);

        JsonNode chat = JSON.readTree(openai.take("/v1/chat/completions").body());
        JsonNode m = chat.get("messages");
        assertThat(m.get(0).get("role").asText()).isEqualTo("system");
        assertThat(m.get(0).toString()).contains("You are terse.");
        assertThat(m.get(1).get("role").asText()).isEqualTo("user");
        assertThat(m.get(2).get("role").asText()).isEqualTo("assistant");
        assertThat(m.get(2).at("/tool_calls/1/id").asText()).isEqualTo("call_2");
        assertThat(JSON.readTree(m.get(2).at("/tool_calls/0/function/arguments").asText()).get("city").asText()).isEqualTo("Paris");
        // the tool results come right after the calls, before the user's new text (conformance 5)
        assertThat(m.get(3).get("role").asText()).isEqualTo("tool");
        assertThat(m.get(3).get("tool_call_id").asText()).isEqualTo("call_1");
        assertThat(m.get(4).get("tool_call_id").asText()).isEqualTo("call_2");
        assertThat(m.get(4).toString()).contains("rainy");
        assertThat(m.get(5).get("role").asText()).isEqualTo("user");
        assertThat(m.get(5).toString()).contains("And Oslo?");
        assertThat(chat.at("/tools/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(chat.at("/tools/0/function/parameters/properties/city/type").asText()).isEqualTo("string");

        JsonNode out = JSON.readTree(r.body());
        assertThat(out.get("type").asText()).isEqualTo("message");
        assertThat(out.get("role").asText()).isEqualTo("assistant");
        assertThat(out.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(out.at("/content/0/type").asText()).isEqualTo("text");
        assertThat(out.at("/content/1/type").asText()).isEqualTo("tool_use");
        assertThat(out.at("/content/1/id").asText()).isEqualTo("call_3");
        assertThat(out.at("/content/1/input/city").asText()).isEqualTo("Oslo");
        assertThat(out.get("stop_reason").asText()).isEqualTo("tool_use");
        // OpenAI's cached tokens are part of prompt_tokens; Anthropic's input_tokens excludes cache reads
        assertThat(out.at("/usage/input_tokens").asInt()).isEqualTo(20);
        assertThat(out.at("/usage/cache_read_input_tokens").asInt()).isEqualTo(100);
        assertThat(out.at("/usage/output_tokens").asInt()).isEqualTo(30);
        assertThat(JSON.readTree(gw.usageLine("m-openai")).get("prompt_tokens").asInt()).isEqualTo(120);
    }

    @Test
    @DisplayName("conformance 1, 3, 20, 21: OpenAI chunks become Anthropic's event sequence, blocks never overlap, real usage at the end")
    void anOpenAiStreamBecomesAnthropicsEventSequence() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            String head = "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",";
            reply.chunk("data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
            reply.chunk("data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me look.\"},\"finish_reason\":null}]}\n\n");
            reply.chunk("data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
                    + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n");
            reply.chunk("data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}\n\n");
            reply.chunk("data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\","
                    + "\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n");
            reply.chunk("data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\n");
            reply.chunk("data: " + head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n");
            reply.chunk("data: " + head + "\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":17,\"total_tokens\":59}}\n\n");
            reply.chunk("data: [DONE]\n\n");
        });
        HttpResponse<String> r = messages("{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"weather and time?\"}],"
                + "\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":\"object\"}},{\"name\":\"get_time\",\"input_schema\":{\"type\":\"object\"}}]}",
                "X-Request-ID", "m-stream");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        JsonNode chat = JSON.readTree(openai.take("/v1/chat/completions").body());
        assertThat(chat.at("/stream_options/include_usage").asBoolean()).isTrue(); // usage is always captured (conformance 20)

        List<Sse.Event> events = Sse.parse(r.body());
        for (Sse.Event e : events) assertThat(e.data().get("type").asText()).isEqualTo(e.name());
        List<String> names = Sse.names(events);
        assertThat(names.getFirst()).isEqualTo("message_start");
        assertThat(names.getLast()).isEqualTo("message_stop");
        assertThat(names.get(names.size() - 2)).isEqualTo("message_delta");

        // conformance 3: text block first, then one tool_use block per call; blocks never overlap
        StringBuilder text = new StringBuilder();
        StringBuilder[] args = {new StringBuilder(), new StringBuilder()};
        int open = -1;
        List<String> blockTypes = new java.util.ArrayList<>();
        for (Sse.Event e : events) {
            JsonNode d = e.data();
            switch (e.name()) {
                case "content_block_start" -> {
                    assertThat(open).as("a block started while another was open").isEqualTo(-1);
                    open = d.get("index").asInt();
                    assertThat(open).isEqualTo(blockTypes.size());
                    blockTypes.add(d.at("/content_block/type").asText());
                    if (d.at("/content_block/type").asText().equals("tool_use")) {
                        assertThat(d.at("/content_block/input").isObject()).isTrue();
                        assertThat(d.at("/content_block/input").isEmpty()).isTrue();
                    }
                }
                case "content_block_delta" -> {
                    assertThat(d.get("index").asInt()).isEqualTo(open);
                    if (d.at("/delta/type").asText().equals("text_delta")) text.append(d.at("/delta/text").asText());
                    else args[open - 1].append(d.at("/delta/partial_json").asText());
                }
                case "content_block_stop" -> {
                    assertThat(d.get("index").asInt()).isEqualTo(open);
                    open = -1;
                }
                default -> {
                }
            }
        }
        assertThat(blockTypes).containsExactly("text", "tool_use", "tool_use");
        assertThat(text.toString()).isEqualTo("Let me look.");
        assertThat(JSON.readTree(args[0].toString()).get("city").asText()).isEqualTo("Paris");
        assertThat(JSON.readTree(args[1].toString()).isObject()).isTrue();
        JsonNode delta = events.get(events.size() - 2).data();
        assertThat(delta.at("/delta/stop_reason").asText()).isEqualTo("tool_use");
        // conformance 21: real numbers at the end
        assertThat(delta.at("/usage/output_tokens").asInt()).isEqualTo(17);
        assertThat(delta.at("/usage/input_tokens").asInt()).isEqualTo(42);
        assertThat(JSON.readTree(gw.usageLine("m-stream")).get("completion_tokens").asInt()).isEqualTo(17);
    }

    @Test
    @DisplayName("conformance 32, 35: errors in Anthropic's shape, upstream status and retry-after kept")
    void errorsComeInAnthropicsShape() throws Exception {
        HttpResponse<String> noKey = gw.post("/v1/messages", "{\"model\":\"gpt-4o-mini\",\"max_tokens\":5,\"messages\":[]}");
        assertThat(noKey.statusCode()).isEqualTo(401);
        assertAnthropicError(noKey, "authentication_error");

        HttpResponse<String> unknown = messages("{\"model\":\"no-such-model\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertAnthropicError(unknown, "not_found_error");

        HttpResponse<String> broken = messages("{\"model\":");
        assertThat(broken.statusCode()).isEqualTo(400);
        assertAnthropicError(broken, "invalid_request_error");

        HttpResponse<String> noMaxTokens = messages("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertThat(noMaxTokens.statusCode()).isEqualTo(400);
        assertAnthropicError(noMaxTokens, "invalid_request_error");

        openai.on("/v1/chat/completions", (req, reply) -> {
            reply.header("retry-after", "7");
            reply.json(429, "{\"error\":{\"message\":\"Rate limit reached for gpt-4o-mini\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}");
        });
        HttpResponse<String> limited = messages("{\"model\":\"gpt-4o-mini\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertThat(limited.statusCode()).isEqualTo(429);
        assertAnthropicError(limited, "rate_limit_error");
        assertThat(JSON.readTree(limited.body()).at("/error/message").asText()).contains("Rate limit reached");
        assertThat(limited.headers().firstValue("retry-after")).hasValue("7");

        HttpResponse<String> get = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(gw.url("/v1/messages")))
                .header("x-api-key", KEY).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(405);
        assertAnthropicError(get, "invalid_request_error");
    }

    static void assertAnthropicError(HttpResponse<String> r, String type) throws Exception {
        JsonNode e = JSON.readTree(r.body());
        assertThat(e.get("type").asText()).as(r.body()).isEqualTo("error");
        assertThat(e.at("/error/type").asText()).as(r.body()).isEqualTo(type);
        assertThat(e.at("/error/message").asText()).isNotBlank();
    }

    @Test
    @DisplayName("conformance 37: count_tokens exact where the provider counts, a marked estimate elsewhere")
    void countTokensIsExactWhereTheProviderCountsAndAMarkedEstimateElsewhere() throws Exception {
        String body = "{\"model\":\"%s\",\"system\":\"Be brief.\",\"messages\":[{\"role\":\"user\",\"content\":\"How many tokens is this?\"}],"
                + "\"tools\":[{\"name\":\"lookup\",\"description\":\"Looks things up\",\"input_schema\":{\"type\":\"object\"}}]}";
        anthropic.on("/v1/messages/count_tokens", (req, reply) -> reply.json(200, "{\"input_tokens\":31}"));
        HttpResponse<String> native_ = gw.post("/v1/messages/count_tokens", body.formatted("claude-sonnet-4"), "x-api-key", KEY);
        assertThat(native_.statusCode()).as(native_.body()).isEqualTo(200);
        assertThat(JSON.readTree(native_.body()).get("input_tokens").asInt()).isEqualTo(31);
        assertThat(native_.headers().firstValue("x-skiff-token-count")).hasValue("exact");
        assertThat(JSON.readTree(anthropic.take("/v1/messages/count_tokens").body()).get("model").asText()).isEqualTo("claude-sonnet-4");

        gemini.on("/v1/models/gemini-2.5-flash:countTokens", (req, reply) -> reply.json(200, "{\"totalTokens\":29}"));
        HttpResponse<String> counted = gw.post("/v1/messages/count_tokens", body.formatted("gemini-2.5-flash"), "x-api-key", KEY);
        assertThat(counted.statusCode()).as(counted.body()).isEqualTo(200);
        assertThat(JSON.readTree(counted.body()).get("input_tokens").asInt()).isEqualTo(29);
        assertThat(counted.headers().firstValue("x-skiff-token-count")).hasValue("exact");
        JsonNode asked = JSON.readTree(gemini.take("/v1/models/gemini-2.5-flash:countTokens").body());
        assertThat(asked.at("/generateContentRequest/model").asText()).isEqualTo("models/gemini-2.5-flash");
        assertThat(asked.at("/generateContentRequest/systemInstruction").toString()).contains("Be brief.");
        assertThat(asked.at("/generateContentRequest/tools").toString()).contains("lookup");

        HttpResponse<String> estimated = gw.post("/v1/messages/count_tokens", body.formatted("gpt-4o-mini"), "x-api-key", KEY);
        assertThat(estimated.statusCode()).as(estimated.body()).isEqualTo(200);
        assertThat(estimated.headers().firstValue("x-skiff-token-count")).hasValue("estimate");
        assertThat(JSON.readTree(estimated.body()).get("input_tokens").asInt()).isPositive();
    }

    /**
     * What Claude Code sends when ANTHROPIC_BASE_URL points at Skiff with a Gemini model configured:
     * system blocks with cache_control, tools (the last with cache_control), thinking, metadata, a stream.
     */
    @Test
    @DisplayName("conformance 8, 13, 14, 24: Claude Code's request shape to Gemini, streamed, and the next turn with the thought signature")
    void claudeCodeShapedRequestToGemini() throws Exception {
        gemini.on("/v1/models/gemini-2.5-flash:streamGenerateContent", (req, reply) -> {
            reply.startStream();
            reply.chunk("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Thinking about files\",\"thought\":true}]}}],"
                    + "\"usageMetadata\":{\"promptTokenCount\":900},\"responseId\":\"g1\"}\n\n");
            reply.chunk("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"I'll list them.\"}]}}]}\n\n");
            reply.chunk("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"Bash\",\"args\":{\"command\":\"ls\"}},"
                    + "\"thoughtSignature\":\"c2ln\"}]},\"finishReason\":\"STOP\"}],"
                    + "\"usageMetadata\":{\"promptTokenCount\":900,\"candidatesTokenCount\":25,\"thoughtsTokenCount\":10,\"totalTokenCount\":935}}\n\n");
        });
        String request = """
                {"model":"gemini-2.5-flash","max_tokens":32000,"stream":true,
                 "system":[{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude."},
                           {"type":"text","text":"Project instructions...","cache_control":{"type":"ephemeral"}}],
                 "messages":[{"role":"user","content":[{"type":"text","text":"list files","cache_control":{"type":"ephemeral"}}]}],
                 "tools":[{"name":"Read","description":"Reads a file","input_schema":{"type":"object","properties":{"file_path":{"type":"string"}},"required":["file_path"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}},
                          {"name":"Bash","description":"Runs a command","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]},"cache_control":{"type":"ephemeral"}}],
                 "thinking":{"type":"enabled","budget_tokens":4000},
                 "metadata":{"user_id":"user_abc_account__session_123"}}""";
        HttpResponse<String> r = messages(request, "anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14", "X-Request-ID", "cc-1");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);

        MockUpstream.Received sent = gemini.take("/v1/models/gemini-2.5-flash:streamGenerateContent");
        JsonNode g = JSON.readTree(sent.body());
        assertThat(g.at("/systemInstruction").toString()).contains("You are Claude Code").contains("Project instructions...");
        assertThat(g.at("/tools/0/functionDeclarations/1/name").asText()).isEqualTo("Bash");
        assertThat(g.at("/tools/0/functionDeclarations/0").toString()).doesNotContain("additionalProperties").doesNotContain("$schema");
        assertThat(g.at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(4000);
        assertThat(g.at("/generationConfig/maxOutputTokens").asInt()).isEqualTo(32000);
        assertThat(sent.header("x-goog-api-key")).isEqualTo("g-key");

        List<Sse.Event> events = Sse.parse(r.body());
        List<String> types = events.stream().filter(e -> e.name().equals("content_block_start"))
                .map(e -> e.data().at("/content_block/type").asText()).toList();
        assertThat(types).containsExactly("thinking", "text", "tool_use");
        Sse.Event toolStart = events.stream().filter(e -> e.name().equals("content_block_start")
                && e.data().at("/content_block/type").asText().equals("tool_use")).findFirst().orElseThrow();
        assertThat(toolStart.data().at("/content_block/name").asText()).isEqualTo("Bash");
        JsonNode delta = events.get(events.size() - 2).data();
        assertThat(delta.at("/delta/stop_reason").asText()).isEqualTo("tool_use");
        assertThat(delta.at("/usage/input_tokens").asInt()).isEqualTo(900);
        assertThat(events.getFirst().data().at("/message/usage/input_tokens").asInt()).isEqualTo(900); // known at the start here
        assertThat(Sse.names(events).getLast()).isEqualTo("message_stop");

        // The tool call goes back on the next turn with its thought signature (conformance 13).
        String callId = toolStart.data().at("/content_block/id").asText();
        gemini.on("/v1/models/gemini-2.5-flash:generateContent", (req, reply) -> reply.json(200,
                "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Done.\"}]},\"finishReason\":\"STOP\"}]}"));
        String followUp = """
                {"model":"gemini-2.5-flash","max_tokens":1000,
                 "messages":[{"role":"user","content":"list files"},
                  {"role":"assistant","content":[{"type":"text","text":"I'll list them."},{"type":"tool_use","id":"%s","name":"Bash","input":{"command":"ls"}}]},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"%s","content":"a.txt\\nb.txt"}]}]}""".formatted(callId, callId);
        HttpResponse<String> second = messages(followUp);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(JSON.readTree(second.body()).at("/content/0/text").asText()).isEqualTo("Done.");
        JsonNode g2 = JSON.readTree(gemini.take("/v1/models/gemini-2.5-flash:generateContent").body());
        assertThat(g2.toString()).contains("\"thoughtSignature\":\"c2ln\"").contains("functionResponse");
    }

    /** The same Claude Code request shape with an OpenAI model behind it, streamed. */
    @Test
    @DisplayName("conformance 3, 14, 24, 30: Claude Code's request shape to an OpenAI model, streamed")
    void claudeCodeShapedRequestToOpenAi() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            String head = "data: {\"id\":\"chatcmpl-cc\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",";
            reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"I'll list them.\"},\"finish_reason\":null}]}\n\n");
            reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_ls\",\"type\":\"function\","
                    + "\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}}]},\"finish_reason\":null}]}\n\n");
            reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n");
            reply.chunk(head + "\"choices\":[],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":20,\"total_tokens\":1220,"
                    + "\"prompt_tokens_details\":{\"cached_tokens\":1024}}}\n\n");
            reply.chunk("data: [DONE]\n\n");
        });
        String request = """
                {"model":"gpt-4o-mini","max_tokens":32000,"stream":true,
                 "system":[{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude."},
                           {"type":"text","text":"Project instructions...","cache_control":{"type":"ephemeral"}}],
                 "messages":[{"role":"user","content":[{"type":"text","text":"list files","cache_control":{"type":"ephemeral"}}]}],
                 "tools":[{"name":"Bash","description":"Runs a command","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]},"cache_control":{"type":"ephemeral"}}],
                 "thinking":{"type":"enabled","budget_tokens":10000},
                 "metadata":{"user_id":"user_abc_account__session_123"}}""";
        HttpResponse<String> r = messages(request, "anthropic-beta", "claude-code-20250219", "X-Request-ID", "cc-openai");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);

        JsonNode chat = JSON.readTree(openai.take("/v1/chat/completions").body());
        assertThat(chat.at("/messages/0/role").asText()).isEqualTo("system");
        assertThat(chat.at("/messages/0").toString()).contains("You are Claude Code");
        assertThat(chat.at("/messages/1/role").asText()).isEqualTo("system"); // each system block, in order
        assertThat(chat.at("/messages/1").toString()).contains("Project instructions...");
        assertThat(chat.at("/tools/0/function/name").asText()).isEqualTo("Bash");
        assertThat(chat.get("reasoning_effort").asText()).isEqualTo("high"); // a 10,000-token budget maps to high (conformance 14)
        assertThat(chat.get("max_completion_tokens").asInt()).isEqualTo(32000);
        assertThat(chat.get("user").asText()).isEqualTo("user_abc_account__session_123");
        assertThat(chat.at("/stream_options/include_usage").asBoolean()).isTrue();
        // OpenAI has no cache_control: it is named as dropped, never silently lost
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains("cache_control");

        List<Sse.Event> events = Sse.parse(r.body());
        List<String> blocks = events.stream().filter(e -> e.name().equals("content_block_start"))
                .map(e -> e.data().at("/content_block/type").asText()).toList();
        assertThat(blocks).containsExactly("text", "tool_use");
        JsonNode delta = events.get(events.size() - 2).data();
        assertThat(delta.at("/delta/stop_reason").asText()).isEqualTo("tool_use");
        assertThat(delta.at("/usage/input_tokens").asInt()).isEqualTo(176);
        assertThat(delta.at("/usage/cache_read_input_tokens").asInt()).isEqualTo(1024);
        assertThat(delta.at("/usage/output_tokens").asInt()).isEqualTo(20);
    }

    @Test
    @DisplayName("the gateway key is accepted as x-api-key (Anthropic's way) or as a Bearer token")
    void bothKeyHeadersAreAccepted() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, "{\"id\":\"msg_k\",\"type\":\"message\",\"role\":\"assistant\","
                + "\"model\":\"claude-sonnet-4\",\"content\":[],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}"));
        String body = "{\"model\":\"claude-sonnet-4\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
        assertThat(gw.post("/v1/messages", body, "x-api-key", KEY).statusCode()).isEqualTo(200);
        assertThat(gw.post("/v1/messages", body, "Authorization", "Bearer " + KEY).statusCode()).isEqualTo(200);
        HttpResponse<String> wrong = gw.post("/v1/messages", body, "Authorization", "Bearer not-the-key");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertAnthropicError(wrong, "authentication_error");
    }
}
