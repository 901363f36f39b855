package dev.skiff.dialect.anthropic;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.anthropic.AnthropicCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AnthropicMessagesResponseTest {
    static final Path FIXTURES = Recorded.dir("anthropic");

    static JsonNode json(String s) {
        try {
            return OpenAiChat.JSON.readTree(s);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static ChatResponse response(List<Part> content, FinishReason reason, String raw, Usage usage) {
        return new ChatResponse("chatcmpl-xyz", "gpt-4o", content, reason, raw, usage);
    }

    static Stream<String> fixtures() throws IOException {
        assertThat(FIXTURES).as("recordings in src/test/resources").isDirectory();
        try (Stream<Path> files = Files.list(FIXTURES)) {
            List<String> names = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("messages") && n.endsWith(".json")).sorted().toList();
            assertThat(names).isNotEmpty();
            return names.stream();
        }
    }

    /**
     * An Anthropic answer, parsed by the provider side and rendered by the client side, is the
     * answer Anthropic gave: content, stop_reason and usage survive (stop_sequence's matched text is
     * the one thing the representation does not keep).
     */
    @ParameterizedTest
    @MethodSource("fixtures")
    void anthropicAnswerRoundTrips(String name) throws IOException {
        JsonNode fixture = OpenAiChat.JSON.readTree(Files.readString(FIXTURES.resolve(name)));
        ObjectNode rendered = AnthropicMessages.renderResponse(AnthropicCodec.parseResponse(fixture), fixture.get("model").asText());

        assertThat(rendered.get("content")).isEqualTo(fixture.get("content"));
        assertThat(rendered.get("stop_reason")).isEqualTo(fixture.get("stop_reason"));
        for (String f : List.of("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")) {
            assertThat(rendered.at("/usage/" + f).asLong()).as(f).isEqualTo(fixture.at("/usage/" + f).asLong(0));
        }
        for (String f : List.of("id", "type", "role", "model")) assertThat(rendered.get(f)).as(f).isEqualTo(fixture.get(f));
        assertThat(rendered.get("stop_sequence").isNull()).isTrue();
    }

    @Test
    @DisplayName("conformance 3: thinking first, then text, then tool_use; each group in its own order")
    void case3_blockOrder() {
        ChatResponse r = response(List.of(
                new Part.Text("I'll check."),
                new Part.ToolCall("call_1", "get_weather", "{\"location\":\"Paris\",\"days\":1.50}"),
                new Part.Thinking("hmm", "sig"),
                new Part.Text(""),
                new Part.RedactedThinking("ENC"),
                new Part.ToolCall("call_2", "get_time", "")), FinishReason.TOOL_CALLS, "tool_calls", Usage.NONE);
        ObjectNode out = AnthropicMessages.renderResponse(r, "my-model");
        assertThat(out.get("content")).isEqualTo(json("""
                [{"type":"thinking","thinking":"hmm","signature":"sig"},
                 {"type":"redacted_thinking","data":"ENC"},
                 {"type":"text","text":"I'll check."},
                 {"type":"tool_use","id":"call_1","name":"get_weather","input":{"location":"Paris","days":1.50}},
                 {"type":"tool_use","id":"call_2","name":"get_time","input":{}}]"""));
        assertThat(out.get("stop_reason").asText()).isEqualTo("tool_use");
        assertThat(out.get("model").asText()).isEqualTo("my-model");
        assertThat(out.get("id").asText()).isEqualTo("msg_chatcmpl-xyz");
        assertThat(out.get("type").asText()).isEqualTo("message");
        assertThat(out.get("role").asText()).isEqualTo("assistant");
        // exact decimals: the written digits survive
        assertThat(OpenAiChat.JSON.valueToTree(out).toString()).contains("\"days\":1.50");
    }

    @Test
    void brokenToolArgumentsAreKeptVisibly_neverACrash() {
        ObjectNode out = AnthropicMessages.renderResponse(response(List.of(
                new Part.ToolCall("c1", "f", "{\"a\":1"),
                new Part.ToolCall("c2", "f", "[1,2]"),
                new Part.ToolCall("c3", "f", "{\"a\":1} trailing")), FinishReason.TOOL_CALLS, null, Usage.NONE), "m");
        assertThat(out.at("/content/0/input")).isEqualTo(json("{\"_invalid_json_arguments\":\"{\\\"a\\\":1\"}"));
        assertThat(out.at("/content/1/input")).isEqualTo(json("{\"_invalid_json_arguments\":\"[1,2]\"}"));
        assertThat(out.at("/content/2/input/_invalid_json_arguments").asText()).isEqualTo("{\"a\":1} trailing");
    }

    @Test
    @DisplayName("conformance 16: stop_reason from the normalized reason, the raw word kept when it is Anthropic's")
    void case16_stopReasons() {
        Map<List<String>, String> cases = Map.ofEntries(
                Map.entry(List.of("STOP", "stop"), "end_turn"),
                Map.entry(List.of("STOP", "STOP"), "end_turn"),
                Map.entry(List.of("STOP", "end_turn"), "end_turn"),
                Map.entry(List.of("STOP", "stop_sequence"), "stop_sequence"),
                Map.entry(List.of("STOP", "pause_turn"), "pause_turn"),
                Map.entry(List.of("STOP", "refusal"), "refusal"),
                Map.entry(List.of("LENGTH", "length"), "max_tokens"),
                Map.entry(List.of("LENGTH", "model_context_window_exceeded"), "model_context_window_exceeded"),
                Map.entry(List.of("TOOL_CALLS", "STOP"), "tool_use"),
                Map.entry(List.of("TOOL_CALLS", "end_turn"), "tool_use"), // the raw word disagrees: the reason wins
                Map.entry(List.of("CONTENT_FILTER", "content_filter"), "refusal"),
                Map.entry(List.of("CONTENT_FILTER", "SAFETY"), "refusal"));
        cases.forEach((in, expected) -> assertThat(AnthropicMessages.stopReason(FinishReason.valueOf(in.get(0)), in.get(1)))
                .as(in.toString()).isEqualTo(expected));
        assertThat(AnthropicMessages.stopReason(FinishReason.STOP, null)).isEqualTo("end_turn");
    }

    @Test
    @DisplayName("conformance 23: input_tokens excludes cache reads and writes; unreported counts are 0")
    void case23_usage() {
        // OpenAI-style: 100 prompt tokens of which 30 cached
        assertThat(AnthropicMessages.usage(new Usage(100, 20, 120, 30, 5)).toString()).isEqualTo(
                "{\"input_tokens\":70,\"output_tokens\":20,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":30}");
        // Anthropic-style, through the normalized form and back
        assertThat(AnthropicMessages.usage(Usage.fromUncachedInput(10, 5, 3, 7)).toString()).isEqualTo(
                "{\"input_tokens\":10,\"output_tokens\":7,\"cache_creation_input_tokens\":3,\"cache_read_input_tokens\":5}");
        assertThat(AnthropicMessages.usage(Usage.NONE).toString()).isEqualTo(
                "{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}");
        // inconsistent counts never go negative
        assertThat(AnthropicMessages.usage(new Usage(5, 1, 6, 10, -1)).get("input_tokens").asLong()).isZero();
    }

    @Test
    void messageIds() {
        assertThat(AnthropicMessages.messageId("msg_01ABC")).isEqualTo("msg_01ABC");
        assertThat(AnthropicMessages.messageId("chatcmpl-9")).isEqualTo("msg_chatcmpl-9");
        String a = AnthropicMessages.messageId(null);
        assertThat(a).matches("msg_[0-9A-Za-z]{22}");
        assertThat(AnthropicMessages.messageId("")).matches("msg_[0-9A-Za-z]{22}").isNotEqualTo(a);
    }

    @Test
    void egressWritesTheMessageAndMakesFreshWriters() throws IOException {
        AnthropicMessagesEgress egress = new AnthropicMessagesEgress("alias");
        assertThat(egress.dialect()).isEqualTo(ClientDialect.ANTHROPIC_MESSAGES);
        ByteBuf body = egress.response(response(List.of(new Part.Text("hi")), FinishReason.STOP, "stop",
                new Usage(3, 1, 4, -1, -1)), UnpooledByteBufAllocator.DEFAULT);
        try {
            JsonNode parsed = OpenAiChat.read(body);
            assertThat(parsed.get("model").asText()).isEqualTo("alias");
            assertThat(parsed.get("content")).isEqualTo(json("[{\"type\":\"text\",\"text\":\"hi\"}]"));
            assertThat(parsed.at("/usage/input_tokens").asLong()).isEqualTo(3);
        } finally {
            body.release();
        }
        assertThat(egress.stream()).isInstanceOf(AnthropicMessagesStreamWriter.class).isNotSameAs(egress.stream());
    }

    // ---- estimateTokens ------------------------------------------------------------------------

    static ChatRequest request(List<Part> system, List<Message> messages, List<ChatRequest.Tool> tools) {
        return new ChatRequest("m", system, messages, tools, null, null, ChatRequest.Sampling.NONE, null, null, false, Map.of());
    }

    @Test
    @DisplayName("conformance 37: the count_tokens estimate counts system, messages and tools, deterministically")
    void case37_estimate() {
        // 16 + 8 bytes of text = 24 bytes -> 6 tokens; 2 messages -> 8 tokens
        ChatRequest plain = request(List.of(new Part.Text("You are helpful.")),
                List.of(new Message(Message.Role.USER, List.of(new Part.Text("Hi there"))),
                        new Message(Message.Role.ASSISTANT, List.of())), List.of());
        assertThat(AnthropicMessages.estimateTokens(plain)).isEqualTo(6 + 8);
        assertThat(AnthropicMessages.estimateTokens(plain)).isEqualTo(AnthropicMessages.estimateTokens(plain));

        ChatRequest withTool = request(plain.system(), plain.messages(), List.of(new ChatRequest.Tool("get_weather",
                "Weather", json("{\"type\":\"object\"}"), null, null)));
        // + 20 per tool; the text grows by 11 + 7 + 17 bytes = 59 in all -> 15 tokens
        assertThat(AnthropicMessages.estimateTokens(withTool)).isEqualTo(15 + 8 + 20);

        ChatRequest withImage = request(List.of(), List.of(new Message(Message.Role.USER, List.of(
                new Part.Image(null, "image/png", "AAAA", null, null),
                new Part.ToolResult("t", List.of(new Part.Text("é".repeat(4))), false, null)))), List.of());
        // one image (1600), 8 UTF-8 bytes -> 2 tokens, one message (4)
        assertThat(AnthropicMessages.estimateTokens(withImage)).isEqualTo(1600 + 2 + 4);
    }
}
