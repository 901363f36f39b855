package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import org.junit.jupiter.api.Test;

class BedrockConverseCodecTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0";

    static JsonNode render(String openAi, Dropped dropped) throws Exception {
        return render(openAi, CLAUDE, dropped);
    }

    static JsonNode render(String openAi, String model, Dropped dropped) throws Exception {
        return BedrockConverseCodec.renderRequest(OpenAiChat.parseRequest(JSON.readTree(openAi), model), dropped);
    }

    @Test
    void systemMessagesAndSamplingMapToConverseFields() throws Exception {
        Dropped d = new Dropped();
        JsonNode b = render("""
                {"model":"m","max_tokens":300,"temperature":0.5,"top_p":0.9,"top_k":40,"stop":["END"],"seed":7,
                 "presence_penalty":0.1,"frequency_penalty":0.2,"response_format":{"type":"json_object"},"user":"u1",
                 "messages":[{"role":"system","content":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}]},
                             {"role":"user","content":"hi"},{"role":"system","content":"Also polite."}]}""", d);
        assertThat(b.has("model")).isFalse();
        assertThat(b.at("/system/0/text").asText()).isEqualTo("Be brief.");
        assertThat(b.at("/system/1/cachePoint/type").asText()).isEqualTo("default"); // conformance 30
        assertThat(b.at("/system/2/text").asText()).isEqualTo("Also polite.");
        assertThat(b.at("/messages/0/role").asText()).isEqualTo("user");
        assertThat(b.at("/messages/0/content/0/text").asText()).isEqualTo("hi");
        assertThat(b.at("/inferenceConfig/maxTokens").asInt()).isEqualTo(300);
        assertThat(b.at("/inferenceConfig/temperature").asDouble()).isEqualTo(0.5);
        assertThat(b.at("/inferenceConfig/topP").asDouble()).isEqualTo(0.9);
        assertThat(b.at("/inferenceConfig/stopSequences/0").asText()).isEqualTo("END");
        assertThat(b.at("/additionalModelRequestFields/top_k").asInt()).isEqualTo(40);
        assertThat(d.fields()).contains("seed", "presence_penalty", "frequency_penalty", "response_format", "user");
        assertThat(b.has("toolConfig")).isFalse();
    }

    @Test
    void toolRoundTripMergesResultsIntoOneUserMessageBeforeText() throws Exception {
        Dropped d = new Dropped();
        JsonNode b = render("""
                {"model":"m","messages":[
                  {"role":"user","content":"x + 5 = 12"},
                  {"role":"assistant","content":null,"reasoning_content":"think","reasoning_signature":"sig==",
                   "redacted_reasoning":["b64data"],
                   "tool_calls":[{"id":"t1","type":"function","function":{"name":"calc","arguments":"{\\"e\\":\\"12-5\\",\\"n\\":1.50}"}},
                                 {"id":"t2","type":"function","function":{"name":"calc","arguments":""}}]},
                  {"role":"tool","tool_call_id":"t1","content":"7"},
                  {"role":"tool","tool_call_id":"t2","content":"{\\"$ref\\":\\"x\\"}"},
                  {"role":"user","content":"so?"}],
                 "tools":[{"type":"function","function":{"name":"calc","description":"Calculator",
                   "parameters":{"type":"object","properties":{"e":{"type":"string"}}}},"cache_control":{"type":"ephemeral"}}],
                 "tool_choice":"required"}""", d);
        JsonNode assistant = b.at("/messages/1");
        assertThat(assistant.get("role").asText()).isEqualTo("assistant");
        assertThat(assistant.at("/content/0/reasoningContent/reasoningText/text").asText()).isEqualTo("think");
        assertThat(assistant.at("/content/0/reasoningContent/reasoningText/signature").asText()).isEqualTo("sig==");
        assertThat(assistant.at("/content/1/reasoningContent/redactedContent").asText()).isEqualTo("b64data");
        assertThat(assistant.at("/content/2/toolUse/toolUseId").asText()).isEqualTo("t1");
        assertThat(assistant.at("/content/2/toolUse/input/e").asText()).isEqualTo("12-5");
        assertThat(assistant.at("/content/2/toolUse/input/n").decimalValue().toPlainString()).isEqualTo("1.50"); // digits kept
        assertThat(assistant.at("/content/3/toolUse/input").isObject()).isTrue();
        JsonNode results = b.at("/messages/2");
        assertThat(b.get("messages").size()).isEqualTo(3);
        assertThat(results.get("role").asText()).isEqualTo("user");
        assertThat(results.at("/content/0/toolResult/toolUseId").asText()).isEqualTo("t1");
        assertThat(results.at("/content/0/toolResult/content/0/text").asText()).isEqualTo("7");
        assertThat(results.at("/content/1/toolResult/toolUseId").asText()).isEqualTo("t2");
        assertThat(results.at("/content/1/toolResult/content/0/text").asText()).isEqualTo("{\"$ref\":\"x\"}"); // data stays data
        assertThat(results.at("/content/2/text").asText()).isEqualTo("so?");
        JsonNode tools = b.at("/toolConfig/tools");
        assertThat(tools.at("/0/toolSpec/name").asText()).isEqualTo("calc");
        assertThat(tools.at("/0/toolSpec/description").asText()).isEqualTo("Calculator");
        assertThat(tools.at("/0/toolSpec/inputSchema/json/properties/e/type").asText()).isEqualTo("string");
        assertThat(tools.at("/1/cachePoint/type").asText()).isEqualTo("default");
        assertThat(b.at("/toolConfig/toolChoice/any").isObject()).isTrue();
        assertThat(d.isEmpty()).as(d.toString()).isTrue();
    }

    @Test
    void toolChoices() throws Exception {
        String tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]";
        String hi = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        JsonNode auto = render("{" + hi + "," + tools + ",\"tool_choice\":\"auto\"}", new Dropped());
        assertThat(auto.at("/toolConfig/toolChoice/auto").isObject()).isTrue();
        assertThat(auto.at("/toolConfig/tools/0/toolSpec/inputSchema/json/type").asText()).isEqualTo("object");
        JsonNode named = render("{" + hi + "," + tools + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}", new Dropped());
        assertThat(named.at("/toolConfig/toolChoice/tool/name").asText()).isEqualTo("f");
        JsonNode dflt = render("{" + hi + "," + tools + "}", new Dropped());
        assertThat(dflt.at("/toolConfig/toolChoice").isMissingNode()).isTrue();

        Dropped d = new Dropped();
        JsonNode none = render("{" + hi + "," + tools + ",\"tool_choice\":\"none\",\"parallel_tool_calls\":false}", d);
        assertThat(none.has("toolConfig")).isFalse();
        assertThat(d.fields()).contains("tools(tool_choice none)");

        // With tool blocks in the history Bedrock requires toolConfig: tools stay, "none" is recorded as dropped.
        Dropped d2 = new Dropped();
        JsonNode history = render("""
                {"messages":[{"role":"user","content":"hi"},
                  {"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                  {"role":"tool","tool_call_id":"t1","content":"ok"}],%s,"tool_choice":"none"}""".formatted(tools), d2);
        assertThat(history.at("/toolConfig/tools/0/toolSpec/name").asText()).isEqualTo("f");
        assertThat(history.at("/toolConfig/toolChoice").isMissingNode()).isTrue();
        assertThat(d2.fields()).contains("tool_choice(none)");
    }

    @Test
    void imagesAreInlineOnly() throws Exception {
        JsonNode b = render("""
                {"messages":[{"role":"user","content":[{"type":"text","text":"what?"},
                  {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}}]}]}""", new Dropped());
        assertThat(b.at("/messages/0/content/1/image/format").asText()).isEqualTo("jpeg");
        assertThat(b.at("/messages/0/content/1/image/source/bytes").asText()).isEqualTo("/9j/4AAQ");
        assertThatThrownBy(() -> render("""
                {"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}""",
                new Dropped())).isInstanceOf(BadRequestException.class).hasMessageContaining("inline");
        assertThatThrownBy(() -> render("""
                {"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}]}]}""",
                new Dropped())).isInstanceOf(BadRequestException.class);
    }

    @Test
    void reasoningEffortBecomesThinkingForClaudeOnly() throws Exception {
        JsonNode b = render("{\"reasoning_effort\":\"medium\",\"max_tokens\":1000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", new Dropped());
        assertThat(b.at("/additionalModelRequestFields/thinking/type").asText()).isEqualTo("enabled");
        assertThat(b.at("/additionalModelRequestFields/thinking/budget_tokens").asInt()).isEqualTo(4096);
        assertThat(b.at("/inferenceConfig/maxTokens").asInt()).isEqualTo(4096 + 4096); // raised above the budget
        JsonNode profile = render("{\"reasoning_effort\":\"low\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0", new Dropped());
        assertThat(profile.at("/additionalModelRequestFields/thinking/budget_tokens").asInt()).isEqualTo(1024);
        Dropped d = new Dropped();
        JsonNode nova = render("{\"reasoning_effort\":\"high\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "amazon.nova-pro-v1:0", d);
        assertThat(nova.has("additionalModelRequestFields")).isFalse();
        assertThat(d.fields()).contains("reasoning_effort");
    }

    @Test
    void emptyAssistantContentSendsNoEmptyBlocks() throws Exception {
        JsonNode b = render("""
                {"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":""},{"role":"user","content":"again"}]}""",
                new Dropped());
        assertThat(b.get("messages").size()).isEqualTo(1); // the empty turn vanishes, the user turns merge
        assertThat(b.at("/messages/0/content").size()).isEqualTo(2);
    }

    @Test
    void parsesPlainAnswer() throws Exception {
        ChatResponse r = BedrockConverseCodec.parseResponse(JSON.readTree(BedrockFrames.fixture("converse.json")));
        assertThat(r.content()).containsExactly(new Part.Text("Hello! How can I help you today?"));
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.rawFinishReason()).isEqualTo("end_turn");
        assertThat(r.id()).startsWith("chatcmpl-");
        assertThat(r.usage().promptTokens()).isEqualTo(12);
        assertThat(r.usage().completionTokens()).isEqualTo(11);
        assertThat(r.usage().totalTokens()).isEqualTo(23);
    }

    @Test
    void parsesToolUseWithExactArguments() throws Exception {
        // read as the adapter reads it: floats exact, so arguments keep their digits
        ChatResponse r = BedrockConverseCodec.parseResponse(BedrockConverseCodec.MAPPER.readTree(BedrockFrames.fixture("converse_with_tools.json")));
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        Part.ToolCall call = (Part.ToolCall) r.content().get(1);
        assertThat(call.id()).isEqualTo("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(call.arguments()).isEqualTo("{\"location\":\"Paris\",\"days\":1.50}");
    }

    @Test
    void parsesReasoningAndCacheUsage() throws Exception {
        ChatResponse r = BedrockConverseCodec.parseResponse(JSON.readTree(BedrockFrames.fixture("converse_reasoning_cache.json")));
        assertThat(r.content().get(0)).isEqualTo(new Part.Thinking("I need to solve for x: x = 12 - 5 = 7.",
                "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"));
        assertThat(r.content().get(1)).isEqualTo(new Part.RedactedThinking("RXJhc2VkIHJlYXNvbmluZw=="));
        assertThat(r.content().get(2)).isEqualTo(new Part.Text("x = 7"));
        Usage u = r.usage();
        assertThat(u.promptTokens()).isEqualTo(20 + 1000 + 500);
        assertThat(u.cachedTokens()).isEqualTo(1000);
        assertThat(u.cacheCreationTokens()).isEqualTo(500);
        assertThat(u.totalTokens()).isEqualTo(1570);
        JsonNode openAi = OpenAiChat.renderResponse(r, "m", 1);
        assertThat(openAi.at("/choices/0/message/content").asText()).isEqualTo("x = 7"); // reasoning never leaks
        assertThat(openAi.at("/choices/0/message/reasoning_signature").asText()).startsWith("EqQB");
    }

    @Test
    void finishReasons() {
        assertThat(BedrockConverseCodec.finishReason("end_turn")).isEqualTo(FinishReason.STOP);
        assertThat(BedrockConverseCodec.finishReason("stop_sequence")).isEqualTo(FinishReason.STOP);
        assertThat(BedrockConverseCodec.finishReason("max_tokens")).isEqualTo(FinishReason.LENGTH);
        assertThat(BedrockConverseCodec.finishReason("model_context_window_exceeded")).isEqualTo(FinishReason.LENGTH);
        assertThat(BedrockConverseCodec.finishReason("tool_use")).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(BedrockConverseCodec.finishReason("guardrail_intervened")).isEqualTo(FinishReason.CONTENT_FILTER);
        assertThat(BedrockConverseCodec.finishReason("content_filtered")).isEqualTo(FinishReason.CONTENT_FILTER);
        assertThat(BedrockConverseCodec.finishReason(null)).isEqualTo(FinishReason.STOP);
    }

    @Test
    void errors() {
        var e = BedrockConverseCodec.parseError(400, "{\"message\":\"The provided model identifier is invalid.\"}");
        assertThat(e.message()).isEqualTo("The provided model identifier is invalid.");
        assertThat(e.type()).isEqualTo("ValidationException");
        assertThat(BedrockConverseCodec.parseError(429, "{\"Message\":\"Too many requests\"}").message()).isEqualTo("Too many requests");
        assertThat(BedrockConverseCodec.parseError(403, "{\"__type\":\"com.amazon.coral#UnrecognizedClientException\",\"message\":\"bad\"}").type())
                .isEqualTo("UnrecognizedClientException");
        assertThat(BedrockConverseCodec.parseError(502, "<html>bad gateway</html>").message()).contains("bad gateway");
        assertThat(BedrockConverseCodec.parseError(500, "").message()).contains("500");
    }

    @org.junit.jupiter.api.Test
    void settingsThinkingRefusesAreLeftOutVisibly() throws Exception {
        String body = """
                {"model":"x","reasoning_effort":"high","temperature":0.3,"top_p":0.5,"top_k":4,
                 "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required",
                 "messages":[{"role":"user","content":"hi"}]}""";
        var ir = dev.skiff.dialect.openai.OpenAiChat.parseRequest(dev.skiff.dialect.openai.OpenAiChat.JSON.readTree(body),
                "anthropic.claude-3-7-sonnet-20250219-v1:0");
        var dropped = new dev.skiff.dialect.ir.Dropped();
        var out = BedrockConverseCodec.renderRequest(ir, dropped);
        org.assertj.core.api.Assertions.assertThat(out.at("/additionalModelRequestFields/thinking/type").asText()).isEqualTo("enabled");
        org.assertj.core.api.Assertions.assertThat(out.at("/inferenceConfig/temperature").isMissingNode()).isTrue();
        org.assertj.core.api.Assertions.assertThat(out.at("/inferenceConfig/topP").isMissingNode()).isTrue();
        org.assertj.core.api.Assertions.assertThat(out.at("/additionalModelRequestFields/top_k").isMissingNode()).isTrue();
        org.assertj.core.api.Assertions.assertThat(out.at("/toolConfig/toolChoice/auto").isObject()).isTrue();
        org.assertj.core.api.Assertions.assertThat(dropped.fields()).contains("temperature(with thinking)", "top_k(with thinking)",
                "top_p(with thinking)", "tool_choice(forced, with thinking)");
    }

    @Test
    void claudesReasoningCarriedInACallIdOpensTheToolTurnAgain() throws Exception {
        // conformance 10: a chat client (the AI SDK's openai.chat) echoes the call id Skiff gave it, not the reasoning
        String id = dev.skiff.provider.SignedCallIds.attach("tooluse_1", dev.skiff.provider.SignedCallIds.Origin.BEDROCK,
                java.util.List.of(new Part.Thinking("plan", "c2lnbmF0dXJl")));
        Dropped d = new Dropped();
        JsonNode b = render("""
                {"reasoning_effort":"medium","messages":[{"role":"user","content":"list files"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"%s","type":"function","function":{"name":"Bash","arguments":"{}"}}]},
                  {"role":"tool","tool_call_id":"%s","content":"a.txt"}]}""".formatted(id, id), d);
        assertThat(b.at("/additionalModelRequestFields/thinking/type").asText()).isEqualTo("enabled");
        assertThat(b.at("/messages/1/content/0/reasoningContent/reasoningText")).isEqualTo(JSON.readTree(
                "{\"text\":\"plan\",\"signature\":\"c2lnbmF0dXJl\"}"));
        assertThat(b.at("/messages/1/content/1/toolUse/toolUseId").asText()).as("Bedrock's own id, within its 64 characters").isEqualTo("tooluse_1");
        assertThat(b.at("/messages/2/content/0/toolResult/toolUseId").asText()).isEqualTo("tooluse_1");
        assertThat(d.fields()).noneMatch(f -> f.startsWith("thinking"));
    }

    @Test
    void aToolTurnWithoutClaudesReasoningTurnsThinkingOffVisibly() throws Exception {
        // reasoning that is not Bedrock's (an id from elsewhere, Anthropic's API state) cannot open the turn
        String anthropics = dev.skiff.provider.SignedCallIds.attach("toolu_9", dev.skiff.provider.SignedCallIds.Origin.ANTHROPIC,
                java.util.List.of(new Part.Thinking("plan", "c2lnbmF0dXJl")));
        for (String id : new String[] {"call_from_elsewhere", anthropics}) {
            Dropped d = new Dropped();
            JsonNode b = render("""
                    {"reasoning_effort":"medium","messages":[{"role":"user","content":"list files"},
                      {"role":"assistant","content":null,"tool_calls":[{"id":"%s","type":"function","function":{"name":"Bash","arguments":"{}"}}]},
                      {"role":"tool","tool_call_id":"%s","content":"a.txt"}]}""".formatted(id, id), d);
            assertThat(b.has("additionalModelRequestFields")).as(id).isFalse();
            assertThat(d.fields()).contains(dev.skiff.provider.anthropic.AnthropicCodec.THINKING_OFF);
            assertThat(b.at("/messages/1/content/0/toolUse/toolUseId").asText()).isEqualTo(dev.skiff.provider.SignedCallIds.base(id));
        }
        // a Messages client that echoed the signed block keeps thinking on, the block first
        Dropped d = new Dropped();
        JsonNode b = render("""
                {"reasoning_effort":"medium","messages":[{"role":"user","content":"list files"},
                  {"role":"assistant","content":null,"reasoning_content":"plan","reasoning_signature":"c2ln",
                   "tool_calls":[{"id":"tooluse_1","type":"function","function":{"name":"Bash","arguments":"{}"}}]},
                  {"role":"tool","tool_call_id":"tooluse_1","content":"a.txt"}]}""", d);
        assertThat(b.at("/additionalModelRequestFields/thinking/type").asText()).isEqualTo("enabled");
        assertThat(b.at("/messages/1/content/0/reasoningContent/reasoningText/signature").asText()).isEqualTo("c2ln");
    }
}
