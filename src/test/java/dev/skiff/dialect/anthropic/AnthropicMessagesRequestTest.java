package dev.skiff.dialect.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.anthropic.AnthropicCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AnthropicMessagesRequestTest {
    static final String UPSTREAM = "upstream-model";

    static JsonNode json(String s) {
        try {
            return OpenAiChat.JSON.readTree(s);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static ChatRequest parse(String body, Dropped dropped) throws BadRequestException {
        ByteBuf buf = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        try {
            int before = buf.readerIndex();
            ChatRequest r = AnthropicMessages.parseRequest(buf, UPSTREAM, dropped);
            assertThat(buf.readerIndex()).as("the body is not consumed").isEqualTo(before);
            return r;
        } finally {
            buf.release();
        }
    }

    static ChatRequest parse(String body) throws BadRequestException {
        Dropped dropped = new Dropped();
        ChatRequest r = parse(body, dropped);
        assertThat(dropped.fields()).as("nothing dropped").isEmpty();
        return r;
    }

    static BadRequestException rejected(String body) {
        try {
            parse(body, new Dropped());
        } catch (BadRequestException e) {
            return e;
        }
        throw new AssertionError("accepted: " + body);
    }

    // ---- request shapes of Claude Code ---------------------------------------------------------

    /** The shape Claude Code sends: cached system blocks and tools, thinking, a tool loop, metadata, stream. */
    static final String CLAUDE_CODE = """
            {"model":"claude-sonnet-4-5-20250929","max_tokens":32000,"stream":true,"temperature":1,
             "metadata":{"user_id":"user_0a1b_account__session_42"},
             "system":[
               {"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude.","cache_control":{"type":"ephemeral"}},
               {"type":"text","text":"Use the tools available to you.","cache_control":{"type":"ephemeral"}}],
             "thinking":{"type":"enabled","budget_tokens":31999},
             "tools":[
               {"name":"Bash","description":"Runs a shell command","input_schema":{"type":"object","properties":{"command":{"type":"string"},"timeout":{"type":"number"}},"required":["command"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}},
               {"name":"Read","description":"Reads a file","input_schema":{"type":"object","properties":{"file_path":{"type":"string"}},"required":["file_path"]},"cache_control":{"type":"ephemeral"}}],
             "messages":[
               {"role":"user","content":[
                 {"type":"text","text":"<system-reminder>context</system-reminder>"},
                 {"type":"text","text":"list the files","cache_control":{"type":"ephemeral"}}]},
               {"role":"assistant","content":[
                 {"type":"thinking","thinking":"I should run ls.","signature":"EqQBCkYIBxgCKkBsig=="},
                 {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"},
                 {"type":"text","text":"Listing them."},
                 {"type":"tool_use","id":"toolu_01A","name":"Bash","input":{"command":"ls -la","timeout":120000.50}}]},
               {"role":"user","content":[
                 {"type":"tool_result","tool_use_id":"toolu_01A","content":[{"type":"text","text":"a.txt\\nb.txt"}],"is_error":false,"cache_control":{"type":"ephemeral"}}]}]}""";

    @Test
    void claudeCodeRequest() throws BadRequestException {
        ChatRequest r = parse(CLAUDE_CODE);
        JsonNode ephemeral = json("{\"type\":\"ephemeral\"}");

        assertThat(r.model()).isEqualTo(UPSTREAM);
        assertThat(r.stream()).isTrue();
        assertThat(r.system()).containsExactly(
                new Part.Text("You are Claude Code, Anthropic's official CLI for Claude.", ephemeral),
                new Part.Text("Use the tools available to you.", ephemeral));
        assertThat(r.reasoning()).isEqualTo(new ChatRequest.Reasoning(null, 31999));
        assertThat(r.sampling().maxTokens()).isEqualTo(32000);
        assertThat(r.sampling().temperature()).isEqualTo(1.0);

        assertThat(r.tools()).hasSize(2);
        assertThat(r.tools().get(0).name()).isEqualTo("Bash");
        assertThat(r.tools().get(0).parameters().get("additionalProperties").asBoolean(true)).isFalse();
        assertThat(r.tools().get(0).cacheControl()).isNull();
        assertThat(r.tools().get(1).cacheControl()).isEqualTo(ephemeral);
        assertThat(r.toolChoice()).isNull();
        assertThat(r.parallelToolCalls()).isNull();

        assertThat(r.messages()).extracting(Message::role).containsExactly(Message.Role.USER, Message.Role.ASSISTANT, Message.Role.USER);
        assertThat(r.messages().get(0).parts()).containsExactly(
                new Part.Text("<system-reminder>context</system-reminder>"), new Part.Text("list the files", ephemeral));
        assertThat(r.messages().get(1).parts()).containsExactly(
                new Part.Thinking("I should run ls.", "EqQBCkYIBxgCKkBsig=="),
                new Part.RedactedThinking("EmwKAhgBEgy3va3pzix/LafPsn4a"),
                new Part.Text("Listing them."),
                // compact JSON, and the number keeps its written digits
                new Part.ToolCall("toolu_01A", "Bash", "{\"command\":\"ls -la\",\"timeout\":120000.50}"));
        assertThat(r.messages().get(2).parts()).containsExactly(
                new Part.ToolResult("toolu_01A", List.of(new Part.Text("a.txt\nb.txt")), false, ephemeral));

        assertThat(r.extras()).containsOnlyKeys("metadata");
        assertThat(r.extras().get("metadata")).isEqualTo(json("{\"user_id\":\"user_0a1b_account__session_42\"}"));
    }

    @Test
    void stringContentAndStringSystem() throws BadRequestException {
        ChatRequest r = parse("""
                {"model":"x","max_tokens":10,"system":"Be brief.","messages":[
                  {"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"42","is_error":true}]}]}""");
        assertThat(r.system()).containsExactly(new Part.Text("Be brief."));
        assertThat(r.messages()).containsExactly(
                new Message(Message.Role.USER, List.of(new Part.Text("Hi"))),
                new Message(Message.Role.ASSISTANT, List.of(new Part.Text("Hello"))),
                new Message(Message.Role.USER, List.of(new Part.ToolResult("t1", List.of(new Part.Text("42")), true, null))));
        assertThat(r.stream()).isFalse();
        assertThat(r.reasoning()).isNull();
        assertThat(r.extras()).isEmpty();
    }

    @Test
    void imagesByDataAndByUrl_alsoInToolResults() throws BadRequestException {
        ChatRequest r = parse("""
                {"model":"x","max_tokens":10,"messages":[{"role":"user","content":[
                  {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0K"},"cache_control":{"type":"ephemeral"}},
                  {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}},
                  {"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"shot"},
                     {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}}]}]}]}""");
        assertThat(r.messages().getFirst().parts()).containsExactly(
                new Part.Image(null, "image/png", "iVBORw0K", null, json("{\"type\":\"ephemeral\"}")),
                new Part.Image("https://example.com/cat.jpg", null, null, null, null),
                new Part.ToolResult("t", List.of(new Part.Text("shot"), new Part.Image(null, "image/jpeg", "/9j/", null, null)), false, null));
    }

    @Test
    @DisplayName("conformance 7: tool_choice auto / any / tool / none and disable_parallel_tool_use")
    void case7_toolChoice() throws BadRequestException {
        String tools = "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}]";
        assertThat(parse("{\"max_tokens\":5,\"messages\":[]," + tools + ",\"tool_choice\":{\"type\":\"auto\"}}").toolChoice())
                .isEqualTo(new ChatRequest.ToolChoice.Auto());
        assertThat(parse("{\"max_tokens\":5,\"messages\":[]," + tools + ",\"tool_choice\":{\"type\":\"any\"}}").toolChoice())
                .isEqualTo(new ChatRequest.ToolChoice.Required());
        assertThat(parse("{\"max_tokens\":5,\"messages\":[]," + tools + ",\"tool_choice\":{\"type\":\"none\"}}").toolChoice())
                .isEqualTo(new ChatRequest.ToolChoice.None());
        ChatRequest named = parse("{\"max_tokens\":5,\"messages\":[]," + tools
                + ",\"tool_choice\":{\"type\":\"tool\",\"name\":\"f\",\"disable_parallel_tool_use\":true}}");
        assertThat(named.toolChoice()).isEqualTo(new ChatRequest.ToolChoice.Named("f"));
        assertThat(named.parallelToolCalls()).isFalse();
        assertThat(parse("{\"max_tokens\":5,\"messages\":[]," + tools
                + ",\"tool_choice\":{\"type\":\"auto\",\"disable_parallel_tool_use\":false}}").parallelToolCalls()).isNull();
    }

    @Test
    void sampling() throws BadRequestException {
        ChatRequest r = parse("""
                {"max_tokens":64,"temperature":0.2,"top_p":0.9,"top_k":40,"stop_sequences":["3","END"],"messages":[]}""");
        assertThat(r.sampling()).isEqualTo(new ChatRequest.Sampling(0.2, 0.9, 40, null, 64, List.of("3", "END"), null, null));
    }

    @Test
    @DisplayName("conformance 14: thinking enabled, adaptive (with effort) and disabled")
    void case14_thinking() throws BadRequestException {
        assertThat(parse("{\"max_tokens\":5,\"messages\":[],\"thinking\":{\"type\":\"adaptive\"}}").reasoning())
                .isEqualTo(new ChatRequest.Reasoning("high", null));
        ChatRequest adaptiveMax = parse("{\"max_tokens\":5,\"messages\":[],\"thinking\":{\"type\":\"adaptive\"},\"output_config\":{\"effort\":\"max\"}}");
        assertThat(adaptiveMax.reasoning()).isEqualTo(new ChatRequest.Reasoning("xhigh", null));
        assertThat(adaptiveMax.extras()).as("effort was read, so output_config is not an extra").isEmpty();
        assertThat(parse("{\"max_tokens\":5,\"messages\":[],\"thinking\":{\"type\":\"adaptive\"},\"output_config\":{\"effort\":\"low\"}}")
                .reasoning()).isEqualTo(new ChatRequest.Reasoning("low", null));
        assertThat(parse("{\"max_tokens\":5,\"messages\":[],\"thinking\":{\"type\":\"disabled\"}}").reasoning()).isNull();

        ChatRequest effortOnly = parse("{\"max_tokens\":5,\"messages\":[],\"output_config\":{\"effort\":\"medium\"}}");
        assertThat(effortOnly.reasoning()).isNull();
        assertThat(effortOnly.extras().get("output_config")).isEqualTo(json("{\"effort\":\"medium\"}"));

        ChatRequest future = parse("{\"max_tokens\":5,\"messages\":[],\"thinking\":{\"type\":\"someday\"}}");
        assertThat(future.reasoning()).isNull();
        assertThat(future.extras().get("thinking")).isEqualTo(json("{\"type\":\"someday\"}"));
    }

    @Test
    @DisplayName("conformance 27: structured output from output_config.format and the beta's output_format")
    void case27_structuredOutput() throws BadRequestException {
        String schema = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"],\"additionalProperties\":false}";
        ChatRequest ga = parse("{\"max_tokens\":5,\"messages\":[],\"output_config\":{\"format\":{\"type\":\"json_schema\",\"schema\":" + schema + "}}}");
        assertThat(ga.responseFormat()).isEqualTo(new ChatRequest.ResponseFormat("json_schema", "response", json(schema), null));
        assertThat(ga.extras()).isEmpty();
        ChatRequest beta = parse("{\"max_tokens\":5,\"messages\":[],\"output_format\":{\"type\":\"json_schema\",\"schema\":" + schema + "}}");
        assertThat(beta.responseFormat()).isEqualTo(ga.responseFormat());
    }

    @Test
    @DisplayName("conformance 29: unknown top-level fields are kept as extras")
    void case29_extras() throws BadRequestException {
        ChatRequest r = parse("""
                {"model":"x","max_tokens":5,"messages":[],"service_tier":"auto","context_management":{"edits":[]},
                 "metadata":{"user_id":"u1"},"output_config":{"effort":"low","future":1}}""");
        assertThat(r.extras()).containsOnlyKeys("service_tier", "context_management", "metadata", "output_config");
        assertThat(r.extras().get("service_tier").asText()).isEqualTo("auto");
        assertThat(r.extras().get("output_config")).isEqualTo(json("{\"effort\":\"low\",\"future\":1}"));
    }

    @Test
    @DisplayName("conformance 29: what the representation cannot carry is reported dropped, never silently lost")
    void case29_drops() throws BadRequestException {
        Dropped dropped = new Dropped();
        ChatRequest r = parse("""
                {"max_tokens":5,
                 "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3},
                          {"type":"custom","name":"f","input_schema":{"type":"object"}},
                          {"type":"bash_20250124","name":"bash"}],
                 "messages":[
                  {"role":"user","content":[
                    {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBER"}},
                    {"type":"image","source":{"type":"file","file_id":"file_1"}},
                    {"type":"text","text":"summarize"}]},
                  {"role":"assistant","content":[
                    {"type":"text","text":"ok","citations":[{"type":"char_location"}]},
                    {"type":"tool_use","id":"t","name":"f","input":{},"cache_control":{"type":"ephemeral"}}]},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[
                    {"type":"search_result","source":"s","title":"t","content":[]},{"type":"text","text":"r"}]}]}]}""", dropped);
        assertThat(dropped.fields()).containsExactly(
                "messages[0].content[0] (document)",
                "messages[0].content[1] (image source file)",
                "messages[1].content[0].citations",
                "messages[1].content[1].cache_control",
                "messages[2].content[0].content[0] (search_result)",
                "tools[0] (web_search_20250305)",
                "tools[2] (bash_20250124)");
        assertThat(r.tools()).extracting(ChatRequest.Tool::name).containsExactly("f");
        assertThat(r.messages().get(0).parts()).containsExactly(new Part.Text("summarize"));
        assertThat(r.messages().get(2).parts()).containsExactly(new Part.ToolResult("t", List.of(new Part.Text("r")), false, null));
    }

    // ---- invalid requests ----------------------------------------------------------------------

    @Test
    @DisplayName("conformance 24: a system message in the conversation stays a system turn in place; the beta's own members are named")
    void case24_midConversationSystemTurn() throws BadRequestException {
        Dropped dropped = new Dropped();
        ChatRequest r = parse("""
                {"max_tokens":5,"system":"You are Claude Code.","messages":[{"role":"user","content":"a"},
                 {"role":"system","content":[{"type":"text","text":"Plan mode.","cache_control":{"type":"ephemeral"}}],"clear_at":"next_turn"},
                 {"role":"user","content":"b"}]}""", dropped);
        assertThat(r.system()).containsExactly(new Part.Text("You are Claude Code."));
        assertThat(r.messages()).extracting(Message::role).containsExactly(Message.Role.USER, Message.Role.SYSTEM, Message.Role.USER);
        assertThat(r.messages().get(1).parts()).containsExactly(new Part.Text("Plan mode.", json("{\"type\":\"ephemeral\"}")));
        assertThat(dropped.fields()).containsExactly("messages[1].clear_at");
    }

    @Test
    void invalidRequestsAreRefusedWithTheParameter() {
        assertThat(rejected("{\"messages\":[]}").param()).isEqualTo("max_tokens");
        assertThat(rejected("{\"messages\":[]}").getMessage()).contains("max_tokens");
        assertThat(rejected("{\"max_tokens\":\"many\",\"messages\":[]}").param()).isEqualTo("max_tokens");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":{}}").param()).isEqualTo("messages");
        assertThat(rejected("{\"max_tokens\":5}").param()).isEqualTo("messages");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}").param()).isEqualTo("messages[0].role");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image\"}]}]}").param())
                .isEqualTo("messages[0].content[0].type"); // a system message holds text only
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"x\"}]}]}").param())
                .isEqualTo("messages[0].content[0].type");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[\"x\"]}]}").param())
                .isEqualTo("messages[0].content[0]");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\"}]}").param()).isEqualTo("messages[0].content");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}").param())
                .isEqualTo("messages[0].content[0].text");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\"}]}]}")
                .param()).isEqualTo("messages[0].content[0].type");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}]}]}")
                .param()).isEqualTo("messages[0].content[0].type");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"name\":\"f\"}]}]}")
                .param()).isEqualTo("messages[0].content[0].id");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[],\"tool_choice\":{\"type\":\"required\"}}").param()).isEqualTo("tool_choice.type");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[],\"tool_choice\":{\"type\":\"tool\"}}").param()).isEqualTo("tool_choice.name");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[],\"tools\":[{\"name\":\"f\"}]}").param()).isEqualTo("tools[0].input_schema");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[],\"system\":[{\"type\":\"image\"}]}").param()).isEqualTo("system[0].type");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[],\"thinking\":{\"type\":\"enabled\"}}").param()).isEqualTo("thinking.budget_tokens");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[],\"temperature\":\"hot\"}").param()).isEqualTo("temperature");
        assertThat(rejected("{\"max_tokens\":5,\"messages\":[],\"stop_sequences\":\"3\"}").param()).isEqualTo("stop_sequences");
        assertThat(rejected("{\"max_tokens\":5,").param()).isNull();
        assertThat(rejected("[]").param()).isNull();
    }

    // ---- /v1/messages -> IR -> Anthropic ---------------------------------------------------------

    /**
     * Requests of the shapes behind the recorded Anthropic answers (plain, multi-turn, multimodal,
     * parameters, tools, extended thinking) and Claude Code's, plus one with a forced tool choice.
     */
    static Stream<Arguments> anthropicRequests() {
        return Stream.of(
                Arguments.of("messages", """
                        {"model":"claude-sonnet-4-20250514","max_tokens":1024,"messages":[{"role":"user","content":"Say Hello World"}]}"""),
                Arguments.of("messages_multi_turn", """
                        {"model":"claude-sonnet-4-20250514","max_tokens":1024,"system":"You are a calculator.","messages":[
                          {"role":"user","content":"What is 2+2?"},{"role":"assistant","content":"4"},
                          {"role":"user","content":"Now square it."}]}"""),
                Arguments.of("messages_multimodal", """
                        {"model":"claude-sonnet-4-20250514","max_tokens":1024,"messages":[{"role":"user","content":[
                          {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
                          {"type":"image","source":{"type":"url","url":"https://example.com/logo.png"}},
                          {"type":"text","text":"What colors are in this logo?"}]}]}"""),
                Arguments.of("messages_with_params", """
                        {"model":"claude-sonnet-4-20250514","max_tokens":50,"temperature":0.5,"top_p":0.9,"top_k":10,
                         "stop_sequences":["3"],"metadata":{"user_id":"u-1"},
                         "messages":[{"role":"user","content":"Count from 1 to 5 separated by commas."}]}"""),
                Arguments.of("messages_with_tools", """
                        {"model":"claude-sonnet-4-20250514","max_tokens":1024,
                         "tools":[{"name":"get_weather","description":"Get the current weather","input_schema":{"type":"object",
                           "properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}}],
                         "tool_choice":{"type":"tool","name":"get_weather","disable_parallel_tool_use":true},
                         "messages":[{"role":"user","content":"What's the weather in Paris?"},
                           {"role":"assistant","content":[{"type":"text","text":"I'll check."},
                             {"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"location":"Paris","lat":48.8566,"n":1.50}}]},
                           {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"18°C","is_error":true},
                             {"type":"text","text":"And tomorrow?"}]}]}"""),
                Arguments.of("messages_extended_thinking", """
                        {"model":"claude-sonnet-4-20250514","max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000},
                         "tool_choice":{"type":"auto"},"tools":[{"name":"calc","input_schema":{"type":"object"}}],
                         "messages":[{"role":"user","content":"Solve x + 5 = 12"},
                           {"role":"assistant","content":[{"type":"thinking","thinking":"x = 7","signature":"EoQDsig"},
                             {"type":"redacted_thinking","data":"ENCRYPTED"},{"type":"text","text":"x = 7"}]},
                           {"role":"user","content":"Check it."}]}"""),
                Arguments.of("claude_code", CLAUDE_CODE));
    }

    /**
     * /v1/messages -> IR -> Anthropic loses nothing that matters: system, messages, tools,
     * tool_choice, thinking, cache_control, max_tokens, sampling, metadata and stream come out as they
     * went in (up to equivalent spellings: string content is a text block, is_error:false is absent).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("anthropicRequests")
    void anthropicToIrToAnthropicIsLossless(String name, String body) throws BadRequestException {
        Dropped dropped = new Dropped();
        ObjectNode in = (ObjectNode) json(body);
        ObjectNode out = AnthropicCodec.renderRequest(parse(body, dropped), dropped);
        assertThat(dropped.fields()).isEmpty();

        assertThat(out.get("model").asText()).isEqualTo(UPSTREAM);
        for (String f : List.of("system", "messages", "tools", "tool_choice", "thinking", "max_tokens", "stop_sequences", "metadata", "stream")) {
            assertThat(normalized(out.get(f))).as(f).isEqualTo(normalized(in.get(f)));
        }
        for (String f : List.of("temperature", "top_p", "top_k")) {
            if (in.has(f)) assertThat(out.get(f).decimalValue()).as(f).isEqualByComparingTo(in.get(f).decimalValue());
            else assertThat(out.has(f)).as(f).isFalse();
        }
    }

    /** Equivalent spellings made one: string content or system as text blocks, default is_error left out. */
    static JsonNode normalized(JsonNode n) {
        if (n == null) return null;
        JsonNode copy = n.deepCopy();
        if (copy.isTextual()) return textBlocks(copy.asText()); // system
        if (copy.isArray()) {
            for (JsonNode m : copy) {
                if (m instanceof ObjectNode msg && msg.has("role")) {
                    if (msg.get("content").isTextual()) msg.set("content", textBlocks(msg.get("content").asText()));
                    for (JsonNode b : msg.get("content")) {
                        if (b instanceof ObjectNode block && "tool_result".equals(block.path("type").asText())) {
                            if (block.path("content").isTextual()) block.set("content", textBlocks(block.get("content").asText()));
                            if (!block.path("is_error").asBoolean(false)) block.remove("is_error");
                        }
                    }
                }
            }
        }
        return copy;
    }

    static ArrayNode textBlocks(String text) {
        ArrayNode a = OpenAiChat.JSON.createArrayNode();
        a.addObject().put("type", "text").put("text", text);
        return a;
    }
}
