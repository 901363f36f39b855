package dev.skiff.dialect.openai;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatRequest.Reasoning;
import dev.skiff.dialect.ir.ChatRequest.ResponseFormat;
import dev.skiff.dialect.ir.ChatRequest.Sampling;
import dev.skiff.dialect.ir.ChatRequest.Tool;
import dev.skiff.dialect.ir.ChatRequest.ToolChoice;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Message.Role;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.ir.UnknownFinishReasonException;
import dev.skiff.dialect.openai.OpenAiChatCodec.MaxTokensField;
import dev.skiff.dialect.openai.OpenAiChatCodec.ReasoningEcho;
import dev.skiff.dialect.openai.OpenAiChatCodec.Target;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The OpenAI chat codec in the provider direction: IR → chat request, chat completion → IR. */
class OpenAiChatCodecTest {
    static final Path FIXTURES = Recorded.dir("openai");

    static JsonNode json(String s) {
        try {
            return OpenAiChat.JSON.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode fixture(String name) {
        Path p = FIXTURES.resolve(name);
        if (!Files.isRegularFile(p)) throw new AssertionError("fixture missing: " + p.toAbsolutePath().normalize());
        try {
            return OpenAiChat.JSON.readTree(Files.readString(p));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final Tool WEATHER = new Tool("get_weather", "Current weather",
            json("{\"type\":\"object\",\"properties\":{\"location\":{\"type\":\"string\"}},\"required\":[\"location\"]}"), null, null);

    /** A request with only what a test sets. */
    static final class Req {
        List<Part> system = List.of();
        List<Message> messages = List.of(user(new Part.Text("hi")));
        List<Tool> tools = List.of();
        ToolChoice toolChoice;
        Boolean parallel;
        Sampling sampling = Sampling.NONE;
        ResponseFormat format;
        Reasoning reasoning;
        boolean stream;
        Map<String, JsonNode> extras = Map.of();

        Req system(Part... v) { system = List.of(v); return this; }
        Req messages(Message... v) { messages = List.of(v); return this; }
        Req tools(Tool... v) { tools = List.of(v); return this; }
        Req toolChoice(ToolChoice v) { toolChoice = v; return this; }
        Req parallel(Boolean v) { parallel = v; return this; }
        Req sampling(Sampling v) { sampling = v; return this; }
        Req format(ResponseFormat v) { format = v; return this; }
        Req reasoning(Reasoning v) { reasoning = v; return this; }
        Req stream() { stream = true; return this; }
        Req extras(Map<String, JsonNode> v) { extras = v; return this; }

        ChatRequest build() {
            return new ChatRequest("gpt-4o-mini", system, messages, tools, toolChoice, parallel, sampling, format, reasoning, stream, extras);
        }
    }

    static Message user(Part... parts) {
        return new Message(Role.USER, List.of(parts));
    }

    static Message assistant(Part... parts) {
        return new Message(Role.ASSISTANT, List.of(parts));
    }

    static ObjectNode render(ChatRequest r, Dropped dropped) {
        return OpenAiChatCodec.renderRequest(r, dropped);
    }

    static ObjectNode render(ChatRequest r, Target t, Dropped dropped) {
        return OpenAiChatCodec.renderRequest(r, t, dropped);
    }

    static Target target(MaxTokensField max, ReasoningEcho echo, ClientDialect dialect) {
        return new Target(max, echo, dialect);
    }

    @Nested
    class RenderRequest {
        @Test
        void plainUserTurnIsAStringContent() {
            Dropped d = new Dropped();
            ObjectNode out = render(new Req().build(), d);
            assertThat(out).isEqualTo(json("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
            assertThat(d.isEmpty()).isTrue();
        }

        @Test
        @DisplayName("conformance 24: each system part is a leading system message; cache_control is reported once")
        void case24_systemPartsLeadInOrder() {
            Dropped d = new Dropped();
            ObjectNode out = render(new Req().system(new Part.Text("Be brief.", json("{\"type\":\"ephemeral\"}")),
                    new Part.Text("Answer in French.", json("{\"type\":\"ephemeral\"}"))).build(), d);
            assertThat(out.get("messages")).isEqualTo(json("""
                    [{"role":"system","content":"Be brief."},{"role":"system","content":"Answer in French."},
                     {"role":"user","content":"hi"}]"""));
            assertThat(d.fields()).containsExactly("cache_control");
        }

        @Test
        @DisplayName("conformance 5: tool results become tool messages before the rest of the user turn")
        void case5_toolResultsBeforeUserText() {
            Dropped d = new Dropped();
            ObjectNode out = render(new Req().messages(
                    user(new Part.Text("Weather in Paris and Rome?")),
                    assistant(new Part.ToolCall("call_1", "get_weather", "{\"location\":\"Paris\"}"),
                            new Part.ToolCall("call_2", "get_weather", "{\"location\":\"Rome\"}")),
                    user(new Part.Text("Also, be quick."), new Part.ToolResult("call_1", List.of(new Part.Text("18C")), false, null),
                            new Part.ToolResult("call_2", List.of(new Part.Text("2"), new Part.Text("4C")), false, null))).build(), d);
            assertThat(out.get("messages")).isEqualTo(json("""
                    [{"role":"user","content":"Weather in Paris and Rome?"},
                     {"role":"assistant","content":null,"tool_calls":[
                       {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"location\\":\\"Paris\\"}"}},
                       {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\\"location\\":\\"Rome\\"}"}}]},
                     {"role":"tool","tool_call_id":"call_1","content":"18C"},
                     {"role":"tool","tool_call_id":"call_2","content":"24C"},
                     {"role":"user","content":"Also, be quick."}]"""));
            assertThat(d.isEmpty()).isTrue();
        }

        @Test
        @DisplayName("conformance 25 / 36: a tool-call-only assistant turn has content null, not empty text")
        void case25_toolCallOnlyTurnHasNullContent() {
            ObjectNode out = render(new Req().messages(user(new Part.Text("x")),
                    assistant(new Part.ToolCall("c", "f", "{}"))).build(), new Dropped());
            JsonNode a = out.at("/messages/1");
            assertThat(a.has("content")).isTrue();
            assertThat(a.get("content").isNull()).isTrue();
            // and a turn with text keeps it
            out = render(new Req().messages(assistant(new Part.Text("Let me look."), new Part.ToolCall("c", "f", "{}"))).build(), new Dropped());
            assertThat(out.at("/messages/0/content").asText()).isEqualTo("Let me look.");
        }

        @Test
        void emptyTurnsAreNotSent() {
            ObjectNode out = render(new Req().messages(user(), assistant(), user(new Part.Text("hi"))).build(), new Dropped());
            assertThat(out.get("messages")).isEqualTo(json("[{\"role\":\"user\",\"content\":\"hi\"}]"));
        }

        @Test
        @DisplayName("conformance 26: inline images are data URLs, URL images stay URLs, detail is kept")
        void case26_images() {
            ObjectNode out = render(new Req().messages(user(new Part.Text("What is this?"),
                    new Part.Image(null, "image/png", "iVBORw0KGgo=", null, null),
                    new Part.Image("https://example.com/a.jpg", null, null, "low", null))).build(), new Dropped());
            assertThat(out.at("/messages/0/content")).isEqualTo(json("""
                    [{"type":"text","text":"What is this?"},
                     {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
                     {"type":"image_url","image_url":{"url":"https://example.com/a.jpg","detail":"low"}}]"""));
        }

        @Test
        void imagesInToolResultsAndErrorFlagsAreDroppedVisibly() {
            Dropped d = new Dropped();
            ObjectNode out = render(new Req().messages(user(new Part.ToolResult("c", List.of(new Part.Text("see image"),
                    new Part.Image(null, "image/png", "AAAA", null, null)), true, null))).build(), d);
            assertThat(out.get("messages")).isEqualTo(json("[{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"see image\"}]"));
            assertThat(d.fields()).containsExactly("tool_result(image)", "tool_result.is_error");
        }

        @Test
        @DisplayName("conformance 12: reasoning goes back as reasoning_content only to targets that take it")
        void case12_reasoningEcho() {
            ChatRequest r = new Req().messages(user(new Part.Text("q")),
                    assistant(new Part.Thinking("Let me think.", "sig-1"), new Part.RedactedThinking("enc"),
                            new Part.Text("A.")), user(new Part.Text("q2"))).build();

            Dropped none = new Dropped();
            JsonNode a = render(r, target(MaxTokensField.MAX_TOKENS, ReasoningEcho.NONE, ClientDialect.ANTHROPIC_MESSAGES), none).at("/messages/1");
            assertThat(a).isEqualTo(json("{\"role\":\"assistant\",\"content\":\"A.\"}"));
            assertThat(none.fields()).containsExactly("reasoning_content", "reasoning_signature", "redacted_reasoning");

            Dropped text = new Dropped();
            a = render(r, target(MaxTokensField.MAX_TOKENS, ReasoningEcho.TEXT, ClientDialect.ANTHROPIC_MESSAGES), text).at("/messages/1");
            assertThat(a).isEqualTo(json("{\"role\":\"assistant\",\"content\":\"A.\",\"reasoning_content\":\"Let me think.\"}"));
            assertThat(text.fields()).containsExactly("reasoning_signature", "redacted_reasoning");

            Dropped full = new Dropped();
            a = render(r, full).at("/messages/1");
            assertThat(a).isEqualTo(json("""
                    {"role":"assistant","content":"A.","reasoning_content":"Let me think.","reasoning_signature":"sig-1",
                     "redacted_reasoning":["enc"]}"""));
            assertThat(full.isEmpty()).isTrue();
        }

        @Test
        void deepSeekToolTurnKeepsItsReasoning() {
            ChatRequest r = new Req().messages(user(new Part.Text("q")),
                    assistant(new Part.Thinking("Need the weather.", null), new Part.ToolCall("c1", "get_weather", "{}"))).build();
            JsonNode a = render(r, target(MaxTokensField.MAX_TOKENS, ReasoningEcho.TEXT, ClientDialect.ANTHROPIC_MESSAGES), new Dropped())
                    .at("/messages/1");
            assertThat(a.get("content").isNull()).isTrue();
            assertThat(a.get("reasoning_content").asText()).isEqualTo("Need the weather.");
            assertThat(a.at("/tool_calls/0/id").asText()).isEqualTo("c1");
        }

        @Test
        @DisplayName("conformance 7: tools, each tool_choice form, parallel_tool_calls")
        void case7_toolsAndChoice() {
            Tool strict = new Tool("lookup", null, null, true, json("{\"type\":\"ephemeral\"}"));
            Dropped d = new Dropped();
            ObjectNode out = render(new Req().tools(WEATHER, strict).toolChoice(new ToolChoice.Named("lookup")).parallel(false).build(), d);
            assertThat(out.get("tools")).isEqualTo(json("""
                    [{"type":"function","function":{"name":"get_weather","description":"Current weather",
                      "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}},
                     {"type":"function","function":{"name":"lookup","strict":true}}]"""));
            assertThat(out.get("tool_choice")).isEqualTo(json("{\"type\":\"function\",\"function\":{\"name\":\"lookup\"}}"));
            assertThat(out.get("parallel_tool_calls").asBoolean()).isFalse();
            assertThat(d.fields()).containsExactly("cache_control");

            assertThat(render(new Req().tools(WEATHER).toolChoice(new ToolChoice.Auto()).build(), new Dropped()).get("tool_choice").asText()).isEqualTo("auto");
            assertThat(render(new Req().tools(WEATHER).toolChoice(new ToolChoice.None()).build(), new Dropped()).get("tool_choice").asText()).isEqualTo("none");
            assertThat(render(new Req().tools(WEATHER).toolChoice(new ToolChoice.Required()).build(), new Dropped()).get("tool_choice").asText())
                    .isEqualTo("required");
        }

        @Test
        void toolChoiceWithoutToolsIsNotSent() {
            ObjectNode out = render(new Req().toolChoice(new ToolChoice.Required()).parallel(true).build(), new Dropped());
            assertThat(out.has("tools")).isFalse();
            assertThat(out.has("tool_choice")).isFalse();
            assertThat(out.has("parallel_tool_calls")).isFalse();
        }

        @Test
        @DisplayName("conformance 28: the output limit is max_completion_tokens or max_tokens, by target")
        void case28_maxTokensNaming() {
            ChatRequest r = new Req().sampling(new Sampling(null, null, null, null, 300, List.of(), null, null)).build();
            ObjectNode openai = render(r, target(MaxTokensField.MAX_COMPLETION_TOKENS, ReasoningEcho.NONE, ClientDialect.ANTHROPIC_MESSAGES), new Dropped());
            assertThat(openai.get("max_completion_tokens").asInt()).isEqualTo(300);
            assertThat(openai.has("max_tokens")).isFalse();
            ObjectNode groq = render(r, target(MaxTokensField.MAX_TOKENS, ReasoningEcho.NONE, ClientDialect.ANTHROPIC_MESSAGES), new Dropped());
            assertThat(groq.get("max_tokens").asInt()).isEqualTo(300);
            assertThat(groq.has("max_completion_tokens")).isFalse();
        }

        @Test
        void samplingFieldsAndTopKDropped() {
            Dropped d = new Dropped();
            ObjectNode out = render(new Req().sampling(new Sampling(0.2, 0.9, 40, 7L, null, List.of("END", "\n\n"), 0.5, -0.5)).build(), d);
            assertThat(out.get("temperature").asDouble()).isEqualTo(0.2);
            assertThat(out.get("top_p").asDouble()).isEqualTo(0.9);
            assertThat(out.get("seed").asLong()).isEqualTo(7L);
            assertThat(out.get("stop")).isEqualTo(json("[\"END\",\"\\n\\n\"]"));
            assertThat(out.get("presence_penalty").asDouble()).isEqualTo(0.5);
            assertThat(out.get("frequency_penalty").asDouble()).isEqualTo(-0.5);
            assertThat(out.has("top_k")).isFalse();
            assertThat(d.fields()).containsExactly("top_k");
        }

        @Test
        @DisplayName("conformance 27: structured output as response_format")
        void case27_structuredOutput() {
            JsonNode schema = json("{\"type\":\"object\",\"properties\":{\"colors\":{\"type\":\"array\"}}}");
            ObjectNode out = render(new Req().format(new ResponseFormat("json_schema", "colors", schema, true)).build(), new Dropped());
            assertThat(out.get("response_format")).isEqualTo(json("""
                    {"type":"json_schema","json_schema":{"name":"colors","schema":{"type":"object","properties":{"colors":{"type":"array"}}},
                     "strict":true}}"""));
            // another dialect's schema may come without a name, which OpenAI requires
            out = render(new Req().format(new ResponseFormat("json_schema", null, schema, null)).build(), new Dropped());
            assertThat(out.at("/response_format/json_schema/name").asText()).isEqualTo("response");
            out = render(new Req().format(new ResponseFormat("json_object", null, null, null)).build(), new Dropped());
            assertThat(out.get("response_format")).isEqualTo(json("{\"type\":\"json_object\"}"));
        }

        @Test
        @DisplayName("conformance 14: an effort goes as is; a budget alone maps to the nearest effort")
        void case14_budgetToEffort() {
            assertThat(effort(new Reasoning("minimal", null))).isEqualTo("minimal");
            assertThat(effort(new Reasoning("high", 1000))).isEqualTo("high"); // the effort wins
            assertThat(effort(new Reasoning(null, 1))).isEqualTo("low");
            assertThat(effort(new Reasoning(null, 1024))).isEqualTo("low");
            assertThat(effort(new Reasoning(null, 1025))).isEqualTo("medium");
            assertThat(effort(new Reasoning(null, 8192))).isEqualTo("medium");
            assertThat(effort(new Reasoning(null, 8193))).isEqualTo("high");
            assertThat(effort(new Reasoning(null, 32000))).isEqualTo("high");
            assertThat(render(new Req().reasoning(new Reasoning(null, 0)).build(), new Dropped()).has("reasoning_effort")).isFalse();
            assertThat(render(new Req().build(), new Dropped()).has("reasoning_effort")).isFalse();
        }

        private String effort(Reasoning r) {
            return render(new Req().reasoning(r).build(), new Dropped()).get("reasoning_effort").asText();
        }

        @Test
        @DisplayName("conformance 20: a stream always asks for usage")
        void case20_streamAsksForUsage() {
            ObjectNode out = render(new Req().stream().build(), new Dropped());
            assertThat(out.get("stream").asBoolean()).isTrue();
            assertThat(out.at("/stream_options/include_usage").asBoolean()).isTrue();
        }

        @Test
        @DisplayName("conformance 29: a chat client's extras are forwarded, another dialect's dropped visibly")
        void case29_extrasByDialect() {
            Map<String, JsonNode> extras = new LinkedHashMap<>();
            extras.put("user", json("\"u-1\""));
            extras.put("logit_bias", json("{\"50256\":-100}"));
            extras.put("metadata", json("{\"user_id\":\"abc\"}"));

            Dropped chat = new Dropped();
            ObjectNode out = render(new Req().extras(extras).build(), chat);
            assertThat(out.get("user").asText()).isEqualTo("u-1");
            assertThat(out.get("logit_bias")).isEqualTo(json("{\"50256\":-100}"));
            assertThat(out.get("metadata")).isEqualTo(json("{\"user_id\":\"abc\"}"));
            assertThat(chat.isEmpty()).isTrue();

            Dropped responses = new Dropped();
            out = render(new Req().extras(extras).build(), target(MaxTokensField.MAX_TOKENS, ReasoningEcho.NONE, ClientDialect.OPENAI_RESPONSES), responses);
            assertThat(out.get("user").asText()).isEqualTo("u-1");
            assertThat(out.has("logit_bias")).isFalse();
            assertThat(out.get("metadata")).isEqualTo(json("{\"user_id\":\"abc\"}"));
            assertThat(responses.fields()).containsExactly("logit_bias");

            Map<String, JsonNode> anthropic = new LinkedHashMap<>();
            anthropic.put("metadata", json("{\"user_id\":\"abc\"}"));
            anthropic.put("container", json("\"c-1\""));
            Dropped dropped = new Dropped();
            out = render(new Req().extras(anthropic).build(), target(MaxTokensField.MAX_TOKENS, ReasoningEcho.NONE, ClientDialect.ANTHROPIC_MESSAGES), dropped);
            assertThat(out.get("user").asText()).isEqualTo("abc");
            assertThat(out.has("metadata")).isFalse();
            assertThat(out.has("container")).isFalse();
            assertThat(dropped.fields()).containsExactly("container");
        }

        @Test
        void numbersInSchemasAndArgumentsKeepTheirDigits() {
            Tool t = new Tool("price", null, json("{\"type\":\"number\",\"multipleOf\":0.10}"), null, null);
            ObjectNode out = render(new Req().tools(t).messages(assistant(new Part.ToolCall("c", "price", "{\"amount\":1.50}"))).build(), new Dropped());
            assertThat(out.at("/tools/0/function/parameters").toString()).contains("0.10");
            assertThat(out.at("/messages/0/tool_calls/0/function/arguments").asText()).isEqualTo("{\"amount\":1.50}");
        }
    }

    @Nested
    class ParseResponse {
        static Stream<String> fixtures() throws IOException {
            try (Stream<Path> files = Files.list(FIXTURES)) {
                return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("chat_") && n.endsWith(".json")).sorted().toList().stream();
            }
        }

        @ParameterizedTest
        @MethodSource("fixtures")
        void everyRecordedCompletionParses(String name) {
            JsonNode body = fixture(name);
            ChatResponse r = OpenAiChatCodec.parseResponse(body);
            assertThat(r.id()).isEqualTo(body.get("id").asText());
            assertThat(r.model()).isEqualTo(body.get("model").asText());
            assertThat(r.rawFinishReason()).isEqualTo(body.at("/choices/0/finish_reason").asText());
            assertThat(r.usage().promptTokens()).isEqualTo(body.at("/usage/prompt_tokens").asLong());
            assertThat(r.usage().completionTokens()).isEqualTo(body.at("/usage/completion_tokens").asLong());
            assertThat(r.usage().totalTokens()).isEqualTo(body.at("/usage/total_tokens").asLong());
            assertThat(r.usage().cachedTokens()).isEqualTo(body.at("/usage/prompt_tokens_details/cached_tokens").asLong());
            assertThat(r.usage().reasoningTokens()).isEqualTo(body.at("/usage/completion_tokens_details/reasoning_tokens").asLong());
            JsonNode content = body.at("/choices/0/message/content");
            if (content.isTextual()) assertThat(r.content()).contains(new Part.Text(content.asText()));
        }

        @Test
        void plainCompletion() {
            ChatResponse r = OpenAiChatCodec.parseResponse(fixture("chat_completion.json"));
            assertThat(r.content()).containsExactly(new Part.Text("Hello, World!"));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.usage()).isEqualTo(new Usage(17, 4, 21, 0, 0));
        }

        @Test
        void toolCallCompletion() {
            ChatResponse r = OpenAiChatCodec.parseResponse(fixture("chat_with_tools.json"));
            assertThat(r.content()).containsExactly(new Part.ToolCall("call_X8zi23yeE70r4qiZ2lhIuRNK", "get_weather", "{\"location\":\"Paris\"}"));
            assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(r.rawFinishReason()).isEqualTo("tool_calls");
        }

        @Test
        @DisplayName("conformance 23: reasoning tokens of the recorded o3-mini answer are kept, exact")
        void case23_reasoningFixtureUsage() {
            ChatResponse r = OpenAiChatCodec.parseResponse(fixture("chat_completion_reasoning.json"));
            assertThat(r.usage()).isEqualTo(new Usage(13, 85, 98, 0, 64));
            assertThat(r.content()).containsExactly(new Part.Text("2 + 2 equals 4.")); // OpenAI shows no reasoning text
        }

        @Test
        @DisplayName("conformance 12: reasoning_content (DeepSeek) and reasoning (Groq) become thinking, first")
        void case12_reasoningFieldsBecomeThinking() {
            ChatResponse deepseek = OpenAiChatCodec.parseResponse(json("""
                    {"id":"x","model":"deepseek-reasoner","choices":[{"index":0,"message":{"role":"assistant",
                     "content":"4","reasoning_content":"2+2 is 4."},"finish_reason":"stop"}],
                     "usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"prompt_cache_hit_tokens":8,
                              "completion_tokens_details":{"reasoning_tokens":15}}}"""));
            assertThat(deepseek.content()).containsExactly(new Part.Thinking("2+2 is 4.", null), new Part.Text("4"));
            assertThat(deepseek.usage()).isEqualTo(new Usage(10, 20, 30, 8, 15));

            ChatResponse groq = OpenAiChatCodec.parseResponse(json("""
                    {"id":"y","model":"qwen","choices":[{"index":0,"message":{"role":"assistant","content":"4",
                     "reasoning":"Simple sum."},"finish_reason":"stop"}]}"""));
            assertThat(groq.content()).containsExactly(new Part.Thinking("Simple sum.", null), new Part.Text("4"));
            assertThat(groq.usage()).isEqualTo(Usage.NONE);
        }

        @Test
        void aSkiffUpstreamsSignedReasoningComesBackWhole() {
            ChatResponse r = OpenAiChatCodec.parseResponse(json("""
                    {"id":"z","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok",
                     "reasoning_content":"hmm","reasoning_signature":"sig","redacted_reasoning":["enc"]},"finish_reason":"stop"}]}"""));
            assertThat(r.content()).containsExactly(new Part.Thinking("hmm", "sig"), new Part.RedactedThinking("enc"), new Part.Text("ok"));
        }

        @Test
        void refusalIsText() {
            ChatResponse r = OpenAiChatCodec.parseResponse(json("""
                    {"id":"r","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,
                     "refusal":"I can't help with that."},"finish_reason":"stop"}]}"""));
            assertThat(r.content()).containsExactly(new Part.Text("I can't help with that."));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        }

        @Test
        void finishReasons() {
            assertThat(OpenAiChatCodec.finishReason("length", false)).isEqualTo(FinishReason.LENGTH);
            assertThat(OpenAiChatCodec.finishReason("model_length", false)).isEqualTo(FinishReason.LENGTH);
            assertThat(OpenAiChatCodec.finishReason("content_filter", false)).isEqualTo(FinishReason.CONTENT_FILTER);
            assertThat(OpenAiChatCodec.finishReason("function_call", false)).isEqualTo(FinishReason.TOOL_CALLS);
            // some servers say stop after tool calls: the calls decide
            assertThat(OpenAiChatCodec.finishReason("stop", true)).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(OpenAiChatCodec.finishReason(null, false)).isEqualTo(FinishReason.STOP);
            assertThatThrownBy(() -> OpenAiChatCodec.finishReason("insufficient_system_resource", false))
                    .isInstanceOf(UnknownFinishReasonException.class).hasMessageContaining("insufficient_system_resource");
        }

        @Test
        void toolCallsWithoutIdsOrWithObjectArgumentsStillParse() {
            ChatResponse r = OpenAiChatCodec.parseResponse(json("""
                    {"id":"o","model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"",
                     "tool_calls":[{"function":{"name":"get_weather","arguments":{"location":"Paris"}}}]},"finish_reason":"stop"}]}"""));
            assertThat(r.content()).containsExactly(new Part.ToolCall("call_0", "get_weather", "{\"location\":\"Paris\"}"));
            assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(r.rawFinishReason()).isEqualTo("stop");
        }

        @Test
        void anAnswerWithoutChoicesOrWithAnErrorIsRefused() {
            assertThatThrownBy(() -> OpenAiChatCodec.parseResponse(json("{\"id\":\"x\",\"choices\":[]}")))
                    .hasMessageContaining("no choices");
            assertThatThrownBy(() -> OpenAiChatCodec.parseResponse(json("{\"error\":{\"message\":\"overloaded\"}}")))
                    .hasMessageContaining("overloaded");
        }
    }
}
