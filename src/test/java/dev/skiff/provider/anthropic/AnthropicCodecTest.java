package dev.skiff.provider.anthropic;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatRequest.Reasoning;
import dev.skiff.dialect.ir.ChatRequest.Sampling;
import dev.skiff.dialect.ir.ChatRequest.Tool;
import dev.skiff.dialect.ir.ChatRequest.ToolChoice;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Message.Role;
import dev.skiff.dialect.ir.Part;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class AnthropicCodecTest {
    private static final ObjectMapper M = new ObjectMapper();
    private static final Path FIXTURES = Recorded.dir("anthropic");

    // -- helpers -----------------------------------------------------------------------------------

    private static ChatRequest req(List<Part> system, List<Message> messages) {
        return new Req().system(system).messages(messages).build();
    }

    /** A small builder so each test sets only what it is about. */
    private static final class Req {
        String model = "claude-sonnet-4-20250514";
        List<Part> system = List.of();
        List<Message> messages = List.of(user(new Part.Text("hi")));
        List<Tool> tools = List.of();
        ToolChoice toolChoice;
        Boolean parallel;
        Sampling sampling = Sampling.NONE;
        ChatRequest.ResponseFormat responseFormat;
        Reasoning reasoning;
        Map<String, JsonNode> extras = Map.of();

        Req system(List<Part> v) { system = v; return this; }
        Req messages(List<Message> v) { messages = v; return this; }
        Req tools(List<Tool> v) { tools = v; return this; }
        Req toolChoice(ToolChoice v) { toolChoice = v; return this; }
        Req parallel(Boolean v) { parallel = v; return this; }
        Req sampling(Sampling v) { sampling = v; return this; }
        Req responseFormat(ChatRequest.ResponseFormat v) { responseFormat = v; return this; }
        Req reasoning(Reasoning v) { reasoning = v; return this; }
        Req extras(Map<String, JsonNode> v) { extras = v; return this; }

        ChatRequest build() {
            return new ChatRequest(model, system, messages, tools, toolChoice, parallel, sampling, responseFormat,
                    reasoning, false, extras);
        }
    }

    private static Message user(Part... parts) {
        return new Message(Role.USER, List.of(parts));
    }

    private static Message assistant(Part... parts) {
        return new Message(Role.ASSISTANT, List.of(parts));
    }

    private static Sampling maxTokens(int n) {
        return new Sampling(null, null, null, null, n, List.of(), null, null);
    }

    private static JsonNode json(String s) {
        try {
            return M.readTree(s);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static ObjectNode render(ChatRequest r) {
        return AnthropicCodec.renderRequest(r, new Dropped());
    }

    private static JsonNode fixture(String name) {
        Path p = FIXTURES.resolve(name);
        if (!Files.isRegularFile(p)) {
            fail("Anthropic fixture missing: " + p.toAbsolutePath().normalize()
                    + "");
        }
        try {
            return M.readTree(Files.readString(p));
        } catch (IOException e) {
            throw new AssertionError("cannot read fixture " + p, e);
        }
    }

    private static final Tool WEATHER = new Tool("get_weather", "Weather for a city",
            json("{\"type\":\"object\",\"properties\":{\"location\":{\"type\":\"string\"}},\"required\":[\"location\"]}"),
            null, null);

    // -- render: basics ----------------------------------------------------------------------------

    @Nested
    class Render {
        @Test
        void conformance28_maxTokensDefaultWhenAbsent() {
            ObjectNode out = render(new Req().build());
            assertThat(out.get("model").asText()).isEqualTo("claude-sonnet-4-20250514");
            assertThat(out.get("max_tokens").asInt()).isEqualTo(AnthropicCodec.DEFAULT_MAX_TOKENS).isEqualTo(4096);
            assertThat(out.has("system")).isFalse();
            assertThat(out.has("thinking")).isFalse();
            assertThat(out.has("tools")).isFalse();
            assertThat(out.has("tool_choice")).isFalse();
            assertThat(out.has("stream")).isFalse();
            assertThat(out.get("messages")).isEqualTo(json("[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]"));
        }

        @Test
        void conformance28_maxTokensFromClient() {
            assertThat(render(new Req().sampling(maxTokens(123)).build()).get("max_tokens").asInt()).isEqualTo(123);
        }

        @Test
        void conformance24_severalSystemPartsBecomeTopLevelSystemBlocks() {
            JsonNode cc = json("{\"type\":\"ephemeral\"}");
            ObjectNode out = render(req(List.of(new Part.Text("Be brief."), new Part.Text("  "),
                    new Part.Text("Answer in French.", cc)), List.of(user(new Part.Text("hi")))));
            assertThat(out.get("system")).isEqualTo(json("""
                    [{"type":"text","text":"Be brief."},
                     {"type":"text","text":"Answer in French.","cache_control":{"type":"ephemeral"}}]"""));
        }

        @Test
        void multiTurnKeepsRolesAndOrder() {
            ObjectNode out = render(req(List.of(), List.of(user(new Part.Text("What is 2+2?")),
                    assistant(new Part.Text("4")), user(new Part.Text("Square it.")))));
            assertThat(out.get("messages")).isEqualTo(json("""
                    [{"role":"user","content":[{"type":"text","text":"What is 2+2?"}]},
                     {"role":"assistant","content":[{"type":"text","text":"4"}]},
                     {"role":"user","content":[{"type":"text","text":"Square it."}]}]"""));
        }

        @Test
        void conformance26_imageWithDataBecomesBase64Source() {
            ObjectNode out = render(req(List.of(), List.of(user(new Part.Text("What is this?"),
                    new Part.Image(null, "image/png", "iVBORw0KGgo=", null, null)))));
            assertThat(out.at("/messages/0/content/1")).isEqualTo(json("""
                    {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}"""));
        }

        @Test
        void conformance26_imageWithDataUrlBecomesBase64Source() {
            ObjectNode out = render(req(List.of(), List.of(user(
                    new Part.Image("data:image/jpeg;base64,/9j/4AAQ", null, null, null, null)))));
            assertThat(out.at("/messages/0/content/0")).isEqualTo(json("""
                    {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}}"""));
        }

        @Test
        void conformance26_imageWithHttpUrlBecomesUrlSource() {
            Dropped dropped = new Dropped();
            ObjectNode out = AnthropicCodec.renderRequest(req(List.of(), List.of(user(
                    new Part.Image("https://example.com/logo.png", null, null, "high", json("{\"type\":\"ephemeral\"}"))))),
                    dropped);
            assertThat(out.at("/messages/0/content/0")).isEqualTo(json("""
                    {"type":"image","source":{"type":"url","url":"https://example.com/logo.png"},
                     "cache_control":{"type":"ephemeral"}}"""));
            assertThat(dropped.fields()).containsExactly("image_url.detail");
        }

        @Test
        void conformance30_cacheControlOnTextSurvives() {
            ObjectNode out = render(req(List.of(), List.of(user(new Part.Text("long doc", json("{\"type\":\"ephemeral\",\"ttl\":\"1h\"}"))))));
            assertThat(out.at("/messages/0/content/0/cache_control")).isEqualTo(json("{\"type\":\"ephemeral\",\"ttl\":\"1h\"}"));
        }
    }

    // -- render: tools -----------------------------------------------------------------------------

    @Nested
    class Tools {
        @Test
        void toolsRenderWithInputSchemaAndCacheControl() {
            Tool noParams = new Tool("now", null, null, null, json("{\"type\":\"ephemeral\"}"));
            Tool emptyParams = new Tool("ping", "Ping", json("{}"), true, null);
            ObjectNode out = render(new Req().tools(List.of(WEATHER, noParams, emptyParams)).build());
            assertThat(out.get("tools")).isEqualTo(json("""
                    [{"name":"get_weather","description":"Weather for a city",
                      "input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}},
                     {"name":"now","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}},
                     {"name":"ping","description":"Ping","input_schema":{"type":"object"},"strict":true}]"""));
            assertThat(out.has("tool_choice")).isFalse();
        }

        @Test
        void conformance08_anthropicSchemasAreSentUnchanged() {
            JsonNode schema = json("{\"type\":\"object\",\"$defs\":{\"a\":{\"type\":\"string\"}},\"properties\":{\"x\":{\"$ref\":\"#/$defs/a\"}},\"additionalProperties\":false}");
            ObjectNode out = render(new Req().tools(List.of(new Tool("t", null, schema, null, null))).build());
            assertThat(out.at("/tools/0/input_schema")).isEqualTo(schema);
        }

        @Test
        void conformance07_toolChoiceAuto() {
            assertThat(render(new Req().tools(List.of(WEATHER)).toolChoice(new ToolChoice.Auto()).build()).get("tool_choice"))
                    .isEqualTo(json("{\"type\":\"auto\"}"));
        }

        @Test
        void conformance07_toolChoiceRequiredIsAny() {
            assertThat(render(new Req().tools(List.of(WEATHER)).toolChoice(new ToolChoice.Required()).build()).get("tool_choice"))
                    .isEqualTo(json("{\"type\":\"any\"}"));
        }

        @Test
        void conformance07_toolChoiceNone() {
            assertThat(render(new Req().tools(List.of(WEATHER)).toolChoice(new ToolChoice.None()).build()).get("tool_choice"))
                    .isEqualTo(json("{\"type\":\"none\"}"));
        }

        @Test
        void conformance07_toolChoiceNamed() {
            assertThat(render(new Req().tools(List.of(WEATHER)).toolChoice(new ToolChoice.Named("get_weather")).build())
                    .get("tool_choice")).isEqualTo(json("{\"type\":\"tool\",\"name\":\"get_weather\"}"));
        }

        @Test
        void conformance07_parallelToolCallsFalseWithoutChoiceCreatesAuto() {
            assertThat(render(new Req().tools(List.of(WEATHER)).parallel(false).build()).get("tool_choice"))
                    .isEqualTo(json("{\"type\":\"auto\",\"disable_parallel_tool_use\":true}"));
        }

        @Test
        void conformance07_parallelToolCallsFalseWithNamedChoice() {
            assertThat(render(new Req().tools(List.of(WEATHER)).toolChoice(new ToolChoice.Named("get_weather"))
                    .parallel(false).build()).get("tool_choice"))
                    .isEqualTo(json("{\"type\":\"tool\",\"name\":\"get_weather\",\"disable_parallel_tool_use\":true}"));
            assertThat(render(new Req().tools(List.of(WEATHER)).toolChoice(new ToolChoice.Required())
                    .parallel(false).build()).get("tool_choice"))
                    .isEqualTo(json("{\"type\":\"any\",\"disable_parallel_tool_use\":true}"));
        }

        @Test
        void parallelToolCallsTrueLeavesChoiceAlone() {
            assertThat(render(new Req().tools(List.of(WEATHER)).parallel(true).build()).has("tool_choice")).isFalse();
        }

        @Test
        void toolChoiceWithoutToolsIsNotSent() {
            ObjectNode out = render(new Req().toolChoice(new ToolChoice.Required()).parallel(false).build());
            assertThat(out.has("tool_choice")).isFalse();
            assertThat(out.has("tools")).isFalse();
        }

        @Test
        void toolCallBecomesToolUseWithParsedInput() {
            ObjectNode out = render(req(List.of(), List.of(user(new Part.Text("Weather in Paris?")),
                    assistant(new Part.Text("Checking."), new Part.ToolCall("toolu_1", "get_weather", "{\"location\":\"Paris\",\"n\":1.50}")))));
            // compared as text: the number keeps its written digits (1.50, not 1.5)
            assertThat(out.at("/messages/1/content/1").toString()).isEqualTo(
                    "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"location\":\"Paris\",\"n\":1.50}}");
        }

        @Test
        void conformance25_toolCallOnlyAssistantTurnHasNoEmptyTextBlock() {
            ObjectNode out = render(req(List.of(), List.of(user(new Part.Text("go")),
                    assistant(new Part.Text(""), new Part.ToolCall("toolu_1", "now", "")))));
            assertThat(out.at("/messages/1/content")).isEqualTo(json("""
                    [{"type":"tool_use","id":"toolu_1","name":"now","input":{}}]"""));
        }

        @Test
        void invalidToolArgumentsBecomeEmptyInputAndAreRecorded() {
            for (String bad : List.of("{not json", "[1,2]", "\"str\"", "{\"a\":1} trailing")) {
                Dropped dropped = new Dropped();
                ObjectNode out = AnthropicCodec.renderRequest(req(List.of(), List.of(user(new Part.Text("go")),
                        assistant(new Part.ToolCall("toolu_1", "now", bad)))), dropped);
                assertThat(out.at("/messages/1/content/0/input")).as(bad).isEqualTo(json("{}"));
                assertThat(dropped.fields()).as(bad).containsExactly("tool_calls.arguments(invalid JSON)");
            }
        }

        @Test
        void conformance05_consecutiveToolResultsBecomeOneUserMessage() {
            ObjectNode out = render(req(List.of(), List.of(
                    user(new Part.Text("Weather in Paris and Rome?")),
                    assistant(new Part.ToolCall("toolu_1", "get_weather", "{\"location\":\"Paris\"}"),
                            new Part.ToolCall("toolu_2", "get_weather", "{\"location\":\"Rome\"}")),
                    user(new Part.ToolResult("toolu_1", List.of(new Part.Text("18C")), false, null)),
                    user(new Part.ToolResult("toolu_2", List.of(new Part.Text("24C")), false, null)))));
            JsonNode messages = out.get("messages");
            assertThat(messages).hasSize(3);
            assertThat(messages.get(2)).isEqualTo(json("""
                    {"role":"user","content":[
                      {"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
                      {"type":"tool_result","tool_use_id":"toolu_2","content":"24C"}]}"""));
        }

        @Test
        void conformance05_toolResultsComeBeforeTextInMergedUserMessage() {
            ObjectNode out = render(req(List.of(), List.of(
                    user(new Part.Text("Weather?")),
                    assistant(new Part.ToolCall("toolu_1", "get_weather", "{\"location\":\"Paris\"}")),
                    user(new Part.ToolResult("toolu_1", List.of(new Part.Text("18C")), false, null)),
                    user(new Part.Text("And tomorrow?"), new Part.ToolResult("toolu_9", List.of(), true, null)))));
            assertThat(out.at("/messages/2/content")).isEqualTo(json("""
                    [{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
                     {"type":"tool_result","tool_use_id":"toolu_9","is_error":true},
                     {"type":"text","text":"And tomorrow?"}]"""));
        }

        @Test
        void toolResultWithImagesAndCacheControlUsesBlocks() {
            ObjectNode out = render(req(List.of(), List.of(user(new Part.ToolResult("toolu_1", List.of(
                    new Part.Text("chart:"), new Part.Image(null, "image/png", "AAAA", null, null)),
                    false, json("{\"type\":\"ephemeral\"}"))))));
            assertThat(out.at("/messages/0/content/0")).isEqualTo(json("""
                    {"type":"tool_result","tool_use_id":"toolu_1",
                     "content":[{"type":"text","text":"chart:"},
                                {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}],
                     "cache_control":{"type":"ephemeral"}}"""));
        }

        @Test
        void conformance09_toolResultTextIsDataNotSchema() {
            String data = "{\"$ref\":\"#/defs/x\",\"additionalProperties\":false}";
            ObjectNode out = render(req(List.of(), List.of(user(new Part.ToolResult("t", List.of(new Part.Text(data)), false, null)))));
            assertThat(out.at("/messages/0/content/0/content").asText()).isEqualTo(data);
        }

        @Test
        void conformance25_emptyMessagesAreNotSentAndNeighboursMerge() {
            ObjectNode out = render(req(List.of(), List.of(user(new Part.Text("a")), assistant(new Part.Text(" ")),
                    user(new Part.Text("b")))));
            assertThat(out.get("messages")).isEqualTo(json("""
                    [{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]"""));
        }
    }

    // -- render: thinking and reasoning --------------------------------------------------------------

    @Nested
    class Thinking {
        static final String SIGNATURE = "EoQDCkYICxgCKkD/7LGRV3nhFx7eDr0a8CqN9Q7VPNpcIwqMFQzx+/=";
        static final String THOUGHT = "Let me think.\n\n  x + 5 = 12 ✓ \"quoted\" \\ end ";

        @Test
        void conformance10_thinkingAndRedactedThinkingRoundTripByteIdentical() throws Exception {
            ObjectNode out = render(req(List.of(), List.of(user(new Part.Text("Weather?")),
                    assistant(new Part.Thinking(THOUGHT, SIGNATURE), new Part.RedactedThinking("EmwKAhgBEgy3va3pzix/LafPsn4a"),
                            new Part.ToolCall("toolu_1", "get_weather", "{\"location\":\"Paris\"}")),
                    user(new Part.ToolResult("toolu_1", List.of(new Part.Text("18C")), false, null)))));
            JsonNode content = out.at("/messages/1/content");
            assertThat(content.get(0).get("type").asText()).isEqualTo("thinking");
            assertThat(content.get(0).get("thinking").asText()).isEqualTo(THOUGHT);
            assertThat(content.get(0).get("signature").asText()).isEqualTo(SIGNATURE);
            assertThat(content.get(1)).isEqualTo(json("{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgBEgy3va3pzix/LafPsn4a\"}"));
            // and survive serialization: the wire text decodes to the same strings
            JsonNode wire = M.readTree(M.writeValueAsString(out));
            assertThat(wire.at("/messages/1/content/0/signature").asText()).isEqualTo(SIGNATURE);
            assertThat(wire.at("/messages/1/content/0/thinking").asText()).isEqualTo(THOUGHT);
        }

        @Test
        void conformance10_parsedThinkingRendersBackUnchanged() {
            JsonNode body = fixture("messages_extended_thinking.json");
            ChatResponse resp = AnthropicCodec.parseResponse(body);
            ObjectNode out = render(req(List.of(), List.of(user(new Part.Text("x + 5 = 12?")),
                    new Message(Role.ASSISTANT, resp.content()), user(new Part.Text("thanks")))));
            assertThat(out.at("/messages/1/content")).isEqualTo(body.get("content"));
        }

        @Test
        void unsignedThinkingIsDroppedVisibly() {
            Dropped dropped = new Dropped();
            ObjectNode out = AnthropicCodec.renderRequest(req(List.of(), List.of(user(new Part.Text("q")),
                    assistant(new Part.Thinking("deepseek reasoning", null), new Part.Text("a")))), dropped);
            assertThat(out.at("/messages/1/content")).isEqualTo(json("[{\"type\":\"text\",\"text\":\"a\"}]"));
            assertThat(dropped.fields()).containsExactly("reasoning_content(unsigned)");
        }

        @Test
        void conformance14_effortMapsToBudget() {
            Map<String, Integer> expected = new LinkedHashMap<>();
            expected.put("minimal", 1024);
            expected.put("low", 1024);
            expected.put("medium", 4096);
            expected.put("high", 16384);
            for (var e : expected.entrySet()) {
                ObjectNode out = render(new Req().sampling(maxTokens(64000)).reasoning(new Reasoning(e.getKey(), null)).build());
                assertThat(out.get("thinking")).as(e.getKey())
                        .isEqualTo(json("{\"type\":\"enabled\",\"budget_tokens\":" + e.getValue() + "}"));
                assertThat(out.get("max_tokens").asInt()).isEqualTo(64000);
            }
            assertThat(render(new Req().reasoning(new Reasoning("none", null)).build()).has("thinking")).isFalse();
        }

        @Test
        void conformance14_explicitBudgetWinsOverEffort() {
            ObjectNode out = render(new Req().sampling(maxTokens(20000)).reasoning(new Reasoning("low", 8000)).build());
            assertThat(out.at("/thinking/budget_tokens").asInt()).isEqualTo(8000);
            // below Anthropic's minimum -> raised to 1024
            out = render(new Req().sampling(maxTokens(20000)).reasoning(new Reasoning(null, 100)).build());
            assertThat(out.at("/thinking/budget_tokens").asInt()).isEqualTo(1024);
        }

        @Test
        void budgetNotBelowMaxTokensRaisesMaxTokens() {
            // default max_tokens 4096 with medium (4096): budget must be < max_tokens
            ObjectNode out = render(new Req().reasoning(new Reasoning("medium", null)).build());
            assertThat(out.at("/thinking/budget_tokens").asInt()).isEqualTo(4096);
            assertThat(out.get("max_tokens").asInt()).isEqualTo(4096 + AnthropicCodec.DEFAULT_MAX_TOKENS);
            out = render(new Req().sampling(maxTokens(1000)).reasoning(new Reasoning("high", null)).build());
            assertThat(out.get("max_tokens").asInt()).isEqualTo(16384 + 4096);
            assertThat(out.get("max_tokens").asInt()).isGreaterThan(out.at("/thinking/budget_tokens").asInt());
        }
    }

    // -- render: parameters and drops ----------------------------------------------------------------

    @Nested
    class Parameters {
        @Test
        void samplingMapsAndUnsupportedAreDropped() {
            Dropped dropped = new Dropped();
            ObjectNode out = AnthropicCodec.renderRequest(new Req().sampling(new Sampling(0.5, 0.9, 40, 42L, 100,
                    List.of("3", "END"), 0.1, 0.2)).build(), dropped);
            assertThat(out.get("temperature").asDouble()).isEqualTo(0.5);
            assertThat(out.get("top_p").asDouble()).isEqualTo(0.9);
            assertThat(out.get("top_k").asInt()).isEqualTo(40);
            assertThat(out.get("max_tokens").asInt()).isEqualTo(100);
            assertThat(out.get("stop_sequences")).isEqualTo(json("[\"3\",\"END\"]"));
            assertThat(out.has("seed")).isFalse();
            assertThat(out.has("presence_penalty")).isFalse();
            assertThat(dropped.fields()).containsExactly("seed", "presence_penalty", "frequency_penalty");
        }

        @Test
        void conformance27_jsonSchemaMapsToOutputConfigFormat() {
            JsonNode schema = json("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"],\"additionalProperties\":false}");
            Dropped dropped = new Dropped();
            ObjectNode out = AnthropicCodec.renderRequest(new Req().responseFormat(
                    new ChatRequest.ResponseFormat("json_schema", "answer", schema, true)).build(), dropped);
            assertThat(out.get("output_config")).isEqualTo(M.createObjectNode().set("format",
                    M.createObjectNode().put("type", "json_schema").set("schema", schema)));
            assertThat(dropped.isEmpty()).isTrue();
        }

        @Test
        void conformance27_jsonObjectCannotBeExpressedAndIsDropped() {
            Dropped dropped = new Dropped();
            ObjectNode out = AnthropicCodec.renderRequest(new Req().responseFormat(
                    new ChatRequest.ResponseFormat("json_object", null, null, null)).build(), dropped);
            assertThat(out.has("output_config")).isFalse();
            assertThat(dropped.fields()).containsExactly("response_format");
        }

        @Test
        void conformance29_extrasAreDroppedExceptUserWhichBecomesMetadata() {
            Map<String, JsonNode> extras = new LinkedHashMap<>();
            extras.put("logprobs", json("true"));
            extras.put("user", json("\"user-42\""));
            extras.put("service_tier", json("\"auto\""));
            extras.put("logit_bias", json("null"));
            Dropped dropped = new Dropped();
            ObjectNode out = AnthropicCodec.renderRequest(new Req().extras(extras).build(), dropped);
            assertThat(out.get("metadata")).isEqualTo(json("{\"user_id\":\"user-42\"}"));
            assertThat(out.has("logprobs")).isFalse();
            assertThat(out.has("service_tier")).isFalse();
            assertThat(out.has("user")).isFalse();
            assertThat(dropped.fields()).containsExactly("logprobs", "service_tier");
        }

        @Test
        void metadataUserIdWinsAndOtherMetadataIsDropped() {
            Map<String, JsonNode> extras = new LinkedHashMap<>();
            extras.put("metadata", json("{\"user_id\":\"u-1\",\"trace\":\"abc\"}"));
            extras.put("user", json("\"u-2\""));
            Dropped dropped = new Dropped();
            ObjectNode out = AnthropicCodec.renderRequest(new Req().extras(extras).build(), dropped);
            assertThat(out.get("metadata")).isEqualTo(json("{\"user_id\":\"u-1\"}"));
            assertThat(dropped.fields()).containsExactly("metadata");
        }

        @Test
        void cleanRequestDropsNothing() {
            Dropped dropped = new Dropped();
            AnthropicCodec.renderRequest(new Req().tools(List.of(WEATHER)).toolChoice(new ToolChoice.Auto())
                    .sampling(new Sampling(0.7, null, null, null, 256, List.of(), null, null)).build(), dropped);
            assertThat(dropped.isEmpty()).isTrue();
        }
    }

    // -- parse -----------------------------------------------------------------------------------------

    @Nested
    class Parse {
        @Test
        void fixtureMessages() {
            ChatResponse r = AnthropicCodec.parseResponse(fixture("messages.json"));
            assertThat(r.id()).isEqualTo("msg_013LBDy1nvGiRgxiRAWseYRS");
            assertThat(r.model()).isEqualTo("claude-sonnet-4-20250514");
            assertThat(r.content()).containsExactly(new Part.Text("Hello World"));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.rawFinishReason()).isEqualTo("end_turn");
            // no cache counts in this body: not reported (-1), and they add nothing to the prompt
            assertThat(r.usage()).isEqualTo(new Usage(14, 5, 19, -1, -1, -1));
        }

        @Test
        void fixtureExtendedThinking() {
            JsonNode body = fixture("messages_extended_thinking.json");
            ChatResponse r = AnthropicCodec.parseResponse(body);
            assertThat(r.id()).isEqualTo("msg_01MHEipmYGTxtwNoLd4876Ug");
            assertThat(r.content()).hasSize(2);
            Part.Thinking th = (Part.Thinking) r.content().get(0);
            assertThat(th.text()).isEqualTo(body.at("/content/0/thinking").asText()).startsWith("I need to solve for x");
            assertThat(th.signature()).isEqualTo(body.at("/content/0/signature").asText()).startsWith("EoQDCkYICxgCKkD/")
                    .endsWith("IVspRgB");
            assertThat(r.content().get(1)).isEqualTo(new Part.Text(body.at("/content/1/text").asText()));
            assertThat(((Part.Text) r.content().get(1)).text()).startsWith("To solve for x").endsWith("x = 7.");
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.rawFinishReason()).isEqualTo("end_turn");
            assertThat(r.usage()).isEqualTo(new Usage(53, 211, 264, 0, -1, 0));
        }

        @Test
        void fixtureMultiTurn() {
            ChatResponse r = AnthropicCodec.parseResponse(fixture("messages_multi_turn.json"));
            assertThat(r.id()).isEqualTo("msg_01B3jbiKZLmG7XyMkgNMLirX");
            assertThat(r.content()).containsExactly(new Part.Text("16"));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.usage()).isEqualTo(new Usage(28, 5, 33, 0, -1, 0));
        }

        @Test
        void fixtureMultimodal() {
            ChatResponse r = AnthropicCodec.parseResponse(fixture("messages_multimodal.json"));
            assertThat(r.id()).isEqualTo("msg_01EhF3inwGP9NXuBMrwkUWy1");
            assertThat(r.content()).hasSize(1);
            assertThat(((Part.Text) r.content().get(0)).text())
                    .startsWith("In this Google logo, I can see four main colors:\n\n1. **Blue**")
                    .endsWith("across their logo and branding materials.");
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.usage()).isEqualTo(new Usage(159, 100, 259, 0, -1, 0));
        }

        @Test
        void fixtureWithParamsStopSequence() {
            ChatResponse r = AnthropicCodec.parseResponse(fixture("messages_with_params.json"));
            assertThat(r.content()).containsExactly(new Part.Text("1, 2, "));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.rawFinishReason()).isEqualTo("stop_sequence");
            assertThat(r.usage()).isEqualTo(new Usage(25, 8, 33, 0, -1, 0));
        }

        @Test
        void fixtureWithTools() {
            ChatResponse r = AnthropicCodec.parseResponse(fixture("messages_with_tools.json"));
            assertThat(r.id()).isEqualTo("msg_01LEocKDcwMbVwu5WfQD4F9e");
            assertThat(r.content()).containsExactly(
                    new Part.Text("I'll check the current weather in Paris for you."),
                    new Part.ToolCall("toolu_01Dq95J3WcnLmvSvBpAuaXwi", "get_weather", "{\"location\":\"Paris\"}"));
            assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(r.rawFinishReason()).isEqualTo("tool_use");
            assertThat(r.usage()).isEqualTo(new Usage(380, 65, 445, 0, -1, 0));
        }

        @Test
        void conformance23_cacheTokensAreAddedToPrompt() {
            ChatResponse r = AnthropicCodec.parseResponse(json("""
                    {"id":"m","model":"c","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn",
                     "usage":{"input_tokens":10,"cache_read_input_tokens":1000,"cache_creation_input_tokens":200,"output_tokens":7}}"""));
            assertThat(r.usage()).isEqualTo(new Usage(1210, 7, 1217, 1000, -1, 200));
        }

        @Test
        void conformance16_stopReasons() {
            Map<String, FinishReason> expected = new LinkedHashMap<>();
            expected.put("end_turn", FinishReason.STOP);
            expected.put("stop_sequence", FinishReason.STOP);
            expected.put("max_tokens", FinishReason.LENGTH);
            expected.put("tool_use", FinishReason.TOOL_CALLS);
            expected.put("refusal", FinishReason.STOP);
            expected.put("pause_turn", FinishReason.STOP);
            expected.put("model_context_window_exceeded", FinishReason.LENGTH);
            for (var e : expected.entrySet()) {
                ChatResponse r = AnthropicCodec.parseResponse(json(
                        "{\"id\":\"m\",\"model\":\"c\",\"content\":[],\"stop_reason\":\"" + e.getKey() + "\"}"));
                assertThat(r.finishReason()).as(e.getKey()).isEqualTo(e.getValue());
                assertThat(r.rawFinishReason()).as(e.getKey()).isEqualTo(e.getKey());
            }
            // An unknown reason is an error, not a clean stop (issue 4).
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> AnthropicCodec.parseResponse(json(
                            "{\"id\":\"m\",\"model\":\"c\",\"content\":[],\"stop_reason\":\"some_future_reason\"}")))
                    .isInstanceOf(dev.skiff.dialect.ir.UnknownFinishReasonException.class)
                    .hasMessageContaining("some_future_reason");
        }

        @Test
        void redactedThinkingAndUnknownBlocksAndMissingUsage() {
            ChatResponse r = AnthropicCodec.parseResponse(json("""
                    {"id":"m","model":"c","stop_reason":"end_turn","content":[
                      {"type":"redacted_thinking","data":"EmwKAhgB"},
                      {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
                      {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},
                      {"type":"tool_use","id":"toolu_1","name":"now","input":{}},
                      {"noType":true}]}"""));
            assertThat(r.content()).containsExactly(new Part.RedactedThinking("EmwKAhgB"),
                    new Part.ToolCall("toolu_1", "now", "{}"));
            assertThat(r.usage()).isEqualTo(Usage.NONE);
        }
    }

    // -- errors ----------------------------------------------------------------------------------------

    @Nested
    class Errors {
        @Test
        void conformance32_anthropicErrorBody() {
            var e = AnthropicCodec.parseError(404, """
                    {"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}""");
            assertThat(e).isEqualTo(new AnthropicCodec.ErrorInfo("not_found_error", "model: claude-nope"));
            e = AnthropicCodec.parseError(529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
            assertThat(e).isEqualTo(new AnthropicCodec.ErrorInfo("overloaded_error", "Overloaded"));
        }

        @Test
        void conformance32_nonJsonBodyKeepsRawText() {
            String html = "<html><body>502 Bad Gateway</body></html>";
            assertThat(AnthropicCodec.parseError(502, html)).isEqualTo(new AnthropicCodec.ErrorInfo("api_error", html));
            assertThat(AnthropicCodec.parseError(429, "slow down")).isEqualTo(new AnthropicCodec.ErrorInfo("rate_limit_error", "slow down"));
        }

        @Test
        void otherShapesAreTolerated() {
            assertThat(AnthropicCodec.parseError(403, "{\"message\":\"Forbidden\"}"))
                    .isEqualTo(new AnthropicCodec.ErrorInfo("permission_error", "Forbidden"));
            assertThat(AnthropicCodec.parseError(400, "{\"error\":\"bad\"}"))
                    .isEqualTo(new AnthropicCodec.ErrorInfo("invalid_request_error", "bad"));
            assertThat(AnthropicCodec.parseError(500, "[1,2]")).isEqualTo(new AnthropicCodec.ErrorInfo("api_error", "[1,2]"));
            assertThat(AnthropicCodec.parseError(500, "").message()).contains("500");
            assertThat(AnthropicCodec.parseError(500, null).type()).isEqualTo("api_error");
        }
    }
}
