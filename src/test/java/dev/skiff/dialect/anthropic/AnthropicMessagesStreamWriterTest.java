package dev.skiff.dialect.anthropic;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.anthropic.AnthropicStreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class AnthropicMessagesStreamWriterTest {
    static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    static final ObjectReader STRICT = OpenAiChat.JSON.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static final String MODEL = "claude-via-skiff";

    /** One server-sent event: its {@code event:} name and its parsed {@code data:} JSON. */
    record Event(String type, JsonNode data) {
        int index() {
            return data.path("index").asInt(-1);
        }
    }

    /** Collects what the writer returns, releasing each buffer, as the server would after writing it. */
    static final class Wire {
        final AnthropicMessagesStreamWriter writer = new AnthropicMessagesStreamWriter(MODEL);
        final StringBuilder text = new StringBuilder();

        Wire call(Function<AnthropicMessagesStreamWriter, ByteBuf> f) {
            ByteBuf b = f.apply(writer);
            if (b != null) {
                assertThat(b.isReadable()).as("a writer never returns an empty buffer").isTrue();
                text.append(b.toString(StandardCharsets.UTF_8));
                assertThat(b.release()).isTrue();
            }
            return this;
        }

        List<Event> events() {
            return parse(text.toString());
        }
    }

    /**
     * A strict little SSE parser: events are separated by a blank line, each has exactly an
     * {@code event:} line then a {@code data:} line with one JSON value whose type names the event.
     */
    static List<Event> parse(String sse) {
        assertThat(sse).endsWith("\n\n");
        List<Event> events = new ArrayList<>();
        for (String block : sse.substring(0, sse.length() - 2).split("\n\n", -1)) {
            String[] lines = block.split("\n", -1);
            assertThat(lines).as("event block %s", block).hasSize(2);
            assertThat(lines[0]).startsWith("event: ");
            assertThat(lines[1]).startsWith("data: ");
            String type = lines[0].substring("event: ".length());
            JsonNode data;
            try {
                data = STRICT.readTree(lines[1].substring("data: ".length()));
            } catch (IOException e) {
                throw new AssertionError("invalid JSON in " + block, e);
            }
            assertThat(data.path("type").asText()).as("data.type of %s", block).isEqualTo(type);
            events.add(new Event(type, data));
        }
        return events;
    }

    /**
     * The grammar of a Messages stream: message_start first; blocks numbered 0, 1, 2... that open,
     * take deltas of their own kind and close before the next opens; message_delta then message_stop
     * last (or an error, after which nothing comes). Returns the blocks as assembled.
     */
    static List<JsonNode> assertWellFormed(List<Event> events) {
        assertThat(events).isNotEmpty();
        assertThat(events.getFirst().type()).isEqualTo("message_start");
        boolean errored = events.getLast().type().equals("error");
        if (!errored) {
            assertThat(events.get(events.size() - 2).type()).isEqualTo("message_delta");
            assertThat(events.getLast().type()).isEqualTo("message_stop");
        }
        List<JsonNode> blocks = new ArrayList<>();
        com.fasterxml.jackson.databind.node.ObjectNode open = null;
        StringBuilder json = null;
        for (Event e : events.subList(1, events.size() - (errored ? 1 : 2))) {
            switch (e.type()) {
                case "content_block_start" -> {
                    assertThat(open).as("a block opened while another is open: %s", e.data()).isNull();
                    assertThat(e.index()).isEqualTo(blocks.size());
                    open = e.data().get("content_block").deepCopy();
                    json = new StringBuilder();
                }
                case "content_block_delta" -> {
                    assertThat(open).as("delta outside a block").isNotNull();
                    assertThat(e.index()).isEqualTo(blocks.size());
                    JsonNode d = e.data().get("delta");
                    String blockType = open.get("type").asText();
                    switch (d.get("type").asText()) {
                        case "text_delta" -> {
                            assertThat(blockType).isEqualTo("text");
                            open.put("text", open.get("text").asText() + d.get("text").asText());
                        }
                        case "thinking_delta" -> {
                            assertThat(blockType).isEqualTo("thinking");
                            open.put("thinking", open.get("thinking").asText() + d.get("thinking").asText());
                        }
                        case "signature_delta" -> {
                            assertThat(blockType).isEqualTo("thinking");
                            open.put("signature", d.get("signature").asText());
                        }
                        case "input_json_delta" -> {
                            assertThat(blockType).isEqualTo("tool_use");
                            json.append(d.get("partial_json").asText());
                        }
                        default -> throw new AssertionError("unknown delta " + d);
                    }
                }
                case "content_block_stop" -> {
                    assertThat(open).as("stop without a block").isNotNull();
                    assertThat(e.index()).isEqualTo(blocks.size());
                    if (open.get("type").asText().equals("tool_use")) {
                        assertThat(open.get("input")).isEqualTo(OpenAiChat.JSON.createObjectNode());
                        try {
                            open.set("input", json.isEmpty() ? OpenAiChat.JSON.createObjectNode() : STRICT.readTree(json.toString()));
                        } catch (IOException ex) {
                            throw new AssertionError("tool arguments are not JSON: " + json, ex);
                        }
                    }
                    blocks.add(open);
                    open = null;
                }
                case "ping" -> { }
                default -> throw new AssertionError("unexpected event in the middle: " + e);
            }
        }
        if (!errored) assertThat(open).as("a block left open at message_delta").isNull();
        return blocks;
    }

    static JsonNode json(String s) {
        try {
            return OpenAiChat.JSON.readTree(s);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static List<Event> withoutPings(List<Event> events) {
        return events.stream().filter(e -> !e.type().equals("ping")).toList();
    }

    static List<String> types(List<Event> events) {
        return events.stream().map(Event::type).toList();
    }

    // ---- sequences ---------------------------------------------------------------------------

    @Test
    void textOnly_exactEventSequence() {
        Wire w = new Wire()
                .call(x -> x.start(ALLOC, "msg_abc", Usage.fromUncachedInput(10, 0, 0, -1)))
                .call(x -> x.text(ALLOC, "Hello"))
                .call(x -> x.text(ALLOC, " World"))
                .call(x -> x.finish(ALLOC, FinishReason.STOP, "stop", Usage.fromUncachedInput(10, 0, 0, 5)));
        assertThat(w.text.toString()).isEqualTo("""
                event: message_start
                data: {"type":"message_start","message":{"id":"msg_abc","type":"message","role":"assistant","model":"claude-via-skiff","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}

                event: content_block_start
                data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

                event: content_block_delta
                data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

                event: content_block_delta
                data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" World"}}

                event: content_block_stop
                data: {"type":"content_block_stop","index":0}

                event: message_delta
                data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}

                event: message_stop
                data: {"type":"message_stop"}

                """);
        assertThat(assertWellFormed(w.events())).containsExactly(json("{\"type\":\"text\",\"text\":\"Hello World\"}"));
    }

    @Test
    void thinkingWithSignatureThenText() {
        Wire w = new Wire()
                .call(x -> x.start(ALLOC, "msg_t", Usage.NONE))
                .call(x -> x.thinking(ALLOC, "Let me "))
                .call(x -> x.thinking(ALLOC, "think."))
                .call(x -> x.thinkingSignature(ALLOC, "EqQBsig=="))
                .call(x -> x.text(ALLOC, "Answer"))
                .call(x -> x.finish(ALLOC, FinishReason.STOP, "end_turn", Usage.NONE));
        List<Event> events = w.events();
        assertThat(types(events)).containsExactly("message_start",
                "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop");
        // Anthropic's own shape of an opening thinking block.
        assertThat(events.get(1).data().get("content_block")).isEqualTo(json("{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}"));
        assertThat(events.get(4).data().get("delta")).isEqualTo(json("{\"type\":\"signature_delta\",\"signature\":\"EqQBsig==\"}"));
        assertThat(assertWellFormed(events)).containsExactly(
                json("{\"type\":\"thinking\",\"thinking\":\"Let me think.\",\"signature\":\"EqQBsig==\"}"),
                json("{\"type\":\"text\",\"text\":\"Answer\"}"));
    }

    @Test
    void signatureWithoutOpenThinking_getsAThinkingBlockOfItsOwn() {
        Wire w = new Wire()
                .call(x -> x.text(ALLOC, "before"))
                .call(x -> x.thinkingSignature(ALLOC, "sig-only"))
                .call(x -> x.thinking(ALLOC, "after the signature"))
                .call(x -> x.finish(ALLOC, FinishReason.STOP, null, Usage.NONE));
        assertThat(assertWellFormed(w.events())).containsExactly(
                json("{\"type\":\"text\",\"text\":\"before\"}"),
                json("{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"sig-only\"}"),
                // thinking after a signature is new reasoning: a new block, not an addition to a signed one
                json("{\"type\":\"thinking\",\"thinking\":\"after the signature\",\"signature\":\"\"}"));
    }

    @Test
    void redactedThinkingIsOneWholeBlock() {
        Wire w = new Wire()
                .call(x -> x.redactedThinking(ALLOC, "ENCRYPTED"))
                .call(x -> x.text(ALLOC, "hi"))
                .call(x -> x.finish(ALLOC, FinishReason.STOP, null, Usage.NONE));
        List<Event> events = w.events();
        assertThat(types(events).subList(1, 3)).containsExactly("content_block_start", "content_block_stop");
        assertThat(events.get(1).data().get("content_block")).isEqualTo(json("{\"type\":\"redacted_thinking\",\"data\":\"ENCRYPTED\"}"));
        assertThat(assertWellFormed(events)).hasSize(2);
    }

    @Test
    @DisplayName("conformance 3: text block first, then one tool_use block per call, stop_reason tool_use")
    void case3_textThenTwoToolCalls() {
        Wire w = new Wire()
                .call(x -> x.start(ALLOC, "chatcmpl-1", Usage.fromUncachedInput(50, 0, 0, -1)))
                .call(x -> x.text(ALLOC, "Checking both."))
                .call(x -> x.toolCall(ALLOC, 0, "call_a", "get_weather", ""))
                .call(x -> x.toolArguments(ALLOC, 0, "{\"location\":"))
                .call(x -> x.toolArguments(ALLOC, 0, "\"Paris\"}"))
                .call(x -> x.toolCall(ALLOC, 1, "call_b", "get_weather", "{\"location\":\"Rome\"}"))
                .call(x -> x.finish(ALLOC, FinishReason.TOOL_CALLS, "tool_calls", Usage.fromUncachedInput(50, 0, 0, 30)));
        List<Event> events = w.events();
        assertThat(events.getFirst().data().at("/message/id").asText()).isEqualTo("msg_chatcmpl-1");
        List<JsonNode> blocks = assertWellFormed(events);
        assertThat(blocks).containsExactly(
                json("{\"type\":\"text\",\"text\":\"Checking both.\"}"),
                json("{\"type\":\"tool_use\",\"id\":\"call_a\",\"name\":\"get_weather\",\"input\":{\"location\":\"Paris\"}}"),
                json("{\"type\":\"tool_use\",\"id\":\"call_b\",\"name\":\"get_weather\",\"input\":{\"location\":\"Rome\"}}"));
        // The first call's fragments stream live, as they come.
        assertThat(events.stream().filter(e -> e.index() == 1 && e.type().equals("content_block_delta"))
                .map(e -> e.data().at("/delta/partial_json").asText())).containsExactly("{\"location\":", "\"Paris\"}");
        assertThat(events.get(events.size() - 2).data().at("/delta/stop_reason").asText()).isEqualTo("tool_use");
    }

    @Test
    @DisplayName("conformance 1, 3: interleaved argument fragments of calls 0 and 1 are all kept, blocks never overlap")
    void case1_interleavedToolArguments() {
        Wire w = new Wire()
                .call(x -> x.start(ALLOC, null, Usage.NONE))
                .call(x -> x.toolCall(ALLOC, 0, "call_0", "alpha", ""))
                .call(x -> x.toolCall(ALLOC, 1, "call_1", "beta", ""))
                .call(x -> x.toolArguments(ALLOC, 0, "{\"a\":"))
                .call(x -> x.toolArguments(ALLOC, 1, "{\"b\":[1,"))
                .call(x -> x.toolArguments(ALLOC, 0, "1.50}"))
                .call(x -> x.keepAlive(ALLOC))
                .call(x -> x.toolArguments(ALLOC, 1, "2]}"))
                .call(x -> x.finish(ALLOC, FinishReason.TOOL_CALLS, null, Usage.NONE));
        List<Event> events = w.events();
        List<JsonNode> blocks = assertWellFormed(events);
        assertThat(blocks).containsExactly(
                json("{\"type\":\"tool_use\",\"id\":\"call_0\",\"name\":\"alpha\",\"input\":{\"a\":1.50}}"),
                json("{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"beta\",\"input\":{\"b\":[1,2]}}"));
        assertThat(w.text.toString()).contains("\"partial_json\":\"1.50}\"").contains("\"partial_json\":\"{\\\"b\\\":[1,2]}\"");
        assertThat(events.getFirst().data().at("/message/id").asText()).matches("msg_[0-9A-Za-z]{22}");
    }

    @Test
    void contentAfterToolCallsIsWrittenAfterThem_notLostAndNotOverlapping() {
        Wire w = new Wire()
                .call(x -> x.toolCall(ALLOC, 0, "call_0", "alpha", "{\"a\":"))
                .call(x -> x.text(ALLOC, "late "))
                .call(x -> x.text(ALLOC, "text"))
                .call(x -> x.toolArguments(ALLOC, 0, "1}"))
                .call(x -> x.finish(ALLOC, FinishReason.TOOL_CALLS, null, Usage.NONE));
        assertThat(assertWellFormed(w.events())).containsExactly(
                json("{\"type\":\"tool_use\",\"id\":\"call_0\",\"name\":\"alpha\",\"input\":{\"a\":1}}"),
                json("{\"type\":\"text\",\"text\":\"late text\"}"));
    }

    @Test
    @DisplayName("conformance 21: message_start carries the input known at the start, message_delta the real final numbers")
    void case21_usageAtStartAndFinish() {
        // Normalized usage: prompt 100 of which 40 read from cache and 10 written to it.
        Usage atStart = new Usage(100, -1, -1, 40, -1, 10);
        Usage atEnd = new Usage(100, 33, 133, 40, -1, 10);
        Wire w = new Wire()
                .call(x -> x.start(ALLOC, "msg_u", atStart))
                .call(x -> x.text(ALLOC, "x"))
                .call(x -> x.finish(ALLOC, FinishReason.STOP, null, atEnd));
        List<Event> events = w.events();
        assertThat(events.getFirst().data().at("/message/usage")).isEqualTo(json(
                "{\"input_tokens\":50,\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":40,\"output_tokens\":0}"));
        assertThat(events.get(events.size() - 2).data().get("usage")).isEqualTo(json(
                "{\"input_tokens\":50,\"output_tokens\":33,\"cache_read_input_tokens\":40,\"cache_creation_input_tokens\":10}"));
    }

    @Test
    void finalUsageWithoutInput_keepsWhatTheStartSaid() {
        Wire w = new Wire()
                .call(x -> x.start(ALLOC, "msg_u", Usage.fromUncachedInput(12, -1, -1, -1)))
                .call(x -> x.finish(ALLOC, FinishReason.LENGTH, null, new Usage(-1, 7, -1, -1, -1)));
        List<Event> events = w.events();
        assertThat(events.get(events.size() - 2).data()).isEqualTo(json("""
                {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},
                 "usage":{"input_tokens":12,"output_tokens":7,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}"""));
    }

    @Test
    void finishWithoutStart_startsFirst() {
        Wire w = new Wire().call(x -> x.finish(ALLOC, FinishReason.STOP, null, Usage.NONE));
        assertThat(types(w.events())).containsExactly("message_start", "message_delta", "message_stop");
        assertThat(w.events().getFirst().data().at("/message/model").asText()).isEqualTo(MODEL);
        // and nothing after the end
        assertThat(w.writer.text(ALLOC, "late")).isNull();
        assertThat(w.writer.finish(ALLOC, FinishReason.STOP, null, Usage.NONE)).isNull();
    }

    @Test
    @DisplayName("conformance 33: an error after the start is Anthropic's error event, and nothing follows")
    void case33_errorAfterStart() {
        Wire w = new Wire()
                .call(x -> x.start(ALLOC, "msg_e", Usage.NONE))
                .call(x -> x.text(ALLOC, "partial"))
                .call(x -> x.error(ALLOC, "Overloaded", "overloaded_error"));
        List<Event> events = w.events();
        assertThat(types(events)).containsExactly("message_start", "content_block_start", "content_block_delta", "error");
        assertThat(events.getLast().data()).isEqualTo(json("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"));
        assertWellFormed(events);
        assertThat(w.writer.text(ALLOC, "more")).isNull();
        assertThat(w.writer.finish(ALLOC, FinishReason.STOP, null, Usage.NONE)).isNull();
        assertThat(w.writer.keepAlive(ALLOC)).isNull();
    }

    @Test
    void errorCodesBecomeAnthropicErrorTypes() {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("rate_limit_error", "rate_limit_error");
        expected.put("invalid_request_error", "invalid_request_error");
        expected.put("rate_limit_exceeded", "rate_limit_error");
        expected.put("RESOURCE_EXHAUSTED", "rate_limit_error");
        expected.put("ThrottlingException", "rate_limit_error");
        expected.put("UNAVAILABLE", "overloaded_error");
        expected.put("serviceUnavailableException", "overloaded_error");
        expected.put("ModelTimeoutException", "timeout_error");
        expected.put("context_length_exceeded", "invalid_request_error");
        expected.put("upstream_incomplete_stream", "api_error");
        expected.put("upstream_invalid_response", "api_error");
        expected.put("INTERNAL", "api_error");
        expected.put(null, "api_error");
        expected.forEach((code, type) -> assertThat(AnthropicMessagesStreamWriter.errorType(code)).as(code).isEqualTo(type));
    }

    @Test
    void keepAliveIsAnthropicsPing() {
        ByteBuf b = new AnthropicMessagesStreamWriter(MODEL).keepAlive(ALLOC);
        assertThat(b.toString(StandardCharsets.UTF_8)).isEqualTo("event: ping\ndata: {\"type\": \"ping\"}\n\n");
        b.release();
    }

    @Test
    void emptyDeltasSendNothing() {
        AnthropicMessagesStreamWriter writer = new AnthropicMessagesStreamWriter(MODEL);
        ByteBuf start = writer.start(ALLOC, "msg_1", Usage.NONE);
        start.release();
        assertThat(writer.start(ALLOC, "msg_2", Usage.NONE)).as("start is once").isNull();
        assertThat(writer.text(ALLOC, "")).isNull();
        assertThat(writer.thinking(ALLOC, "")).isNull();
        ByteBuf call = writer.toolCall(ALLOC, 0, "c", "n", "");
        call.release();
        assertThat(writer.toolArguments(ALLOC, 0, "")).isNull();
        assertThat(writer.toolCall(ALLOC, 1, "d", "n", "{}")).as("held until the first call's block closes").isNull();
    }

    // ---- through the Anthropic provider translator -------------------------------------------

    /**
     * A recorded Anthropic stream, read by the provider side's translator and written by this writer,
     * comes out as the same events: /v1/messages in front of Anthropic changes nothing a client reads.
     */
    @Test
    void recordedAnthropicStreamRoundTrips() throws IOException {
        Path fixture = Recorded.path("anthropic", "messages_stream.txt");
        assertThat(fixture).as("recordings in src/test/resources").isRegularFile();
        String recorded = Files.readString(fixture);

        AnthropicMessagesStreamWriter writer = new AnthropicMessagesStreamWriter("claude-sonnet-4-20250514");
        AnthropicStreamTranslator translator = new AnthropicStreamTranslator(writer);
        StringBuilder out = new StringBuilder();
        ByteBuf piece = translator.onContent(Unpooled.copiedBuffer(recorded, StandardCharsets.UTF_8), ALLOC);
        if (piece != null) {
            out.append(piece.toString(StandardCharsets.UTF_8));
            piece.release();
        }
        assertThat(translator.onEnd(ALLOC)).isNull();

        // A ping may come out earlier than recorded: a block opens with its first text, not before.
        List<Event> mine = withoutPings(parse(out.toString()));
        List<Event> theirs = withoutPings(parse(recorded.strip() + "\n\n"));
        assertThat(out.toString()).contains("event: ping\ndata: {\"type\": \"ping\"}\n\n");
        assertThat(types(mine)).isEqualTo(types(theirs));
        for (int i = 1; i < mine.size(); i++) {
            assertThat(mine.get(i).data()).as("event %d", i).isEqualTo(theirs.get(i).data());
        }
        JsonNode myMessage = mine.getFirst().data().get("message");
        JsonNode theirMessage = theirs.getFirst().data().get("message");
        for (String f : List.of("id", "type", "role", "model", "content", "stop_reason", "stop_sequence")) {
            assertThat(myMessage.get(f)).as(f).isEqualTo(theirMessage.get(f));
        }
        for (String f : List.of("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")) {
            assertThat(myMessage.at("/usage/" + f)).as(f).isEqualTo(theirMessage.at("/usage/" + f));
        }
    }
}
