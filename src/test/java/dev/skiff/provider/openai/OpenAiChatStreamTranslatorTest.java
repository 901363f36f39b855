package dev.skiff.provider.openai;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.openai.OpenAiChatStreamWriter;
import dev.skiff.provider.StreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** OpenAI chat-completion streams read into writer calls. */
class OpenAiChatStreamTranslatorTest {
    static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    static String fixture(String name) throws IOException {
        Path p = Recorded.path("openai", name);
        if (!Files.isRegularFile(p)) throw new AssertionError("fixture missing: " + p.toAbsolutePath().normalize());
        return Files.readString(p);
    }

    /** Each JSON as one SSE event, then {@code [DONE]}. */
    static String sse(String... events) {
        StringBuilder b = new StringBuilder();
        for (String e : events) b.append("data: ").append(e).append("\n\n");
        return b.toString();
    }

    static String chunk(String delta, String finish) {
        return "{\"id\":\"c-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":" + delta
                + ",\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}";
    }

    static final String DONE = "[DONE]";

    /**
     * Feeds {@code body} in pieces of {@code split} bytes (0: whole) and ends the stream; returns what
     * the client received. Checks that every input buffer was released.
     */
    static String run(StreamTranslator t, String body, int split) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        int step = split <= 0 ? Math.max(bytes.length, 1) : split;
        StringBuilder out = new StringBuilder();
        List<ByteBuf> inputs = new ArrayList<>();
        for (int i = 0; i < bytes.length; i += step) {
            ByteBuf in = ALLOC.buffer().writeBytes(bytes, i, Math.min(step, bytes.length - i));
            inputs.add(in);
            take(out, t.onContent(in, ALLOC));
        }
        take(out, t.onEnd(ALLOC));
        assertThat(inputs).allSatisfy(b -> assertThat(b.refCnt()).isZero());
        return out.toString();
    }

    private static void take(StringBuilder out, ByteBuf b) {
        if (b == null) return;
        out.append(b.toString(StandardCharsets.UTF_8));
        b.release();
    }

    static List<String> calls(String body, int split) {
        RecordingWriter w = new RecordingWriter();
        run(new OpenAiChatStreamTranslator(w), body, split);
        return w.calls;
    }

    @ParameterizedTest(name = "split every {0} bytes")
    @ValueSource(ints = {1, 7, 0})
    void recordedStreamGivesTheSameCallsHoweverItIsCut(int split) throws IOException {
        List<String> calls = calls(fixture("chat_completion_stream.txt"), split);
        assertThat(calls).containsExactly("start chatcmpl-D0q8CZXN1uEzngZGkU7FuV92lnXWq", "text Hello", "text ,", "text  World",
                "text !", "finish STOP stop " + Usage.NONE);
    }

    @Test
    void recordedStreamThroughTheOpenAiWriterKeepsTextAndFinish() throws IOException {
        String out = run(new OpenAiChatStreamTranslator(new OpenAiChatStreamWriter("gpt-4o-mini", false)),
                fixture("chat_completion_stream.txt"), 5);
        Replayed r = Replayed.of(out);
        assertThat(r.content.toString()).isEqualTo("Hello, World!");
        assertThat(r.finishReasons).containsExactly("stop");
        assertThat(r.done).isTrue();
        assertThat(r.firstRole).isEqualTo("assistant");
    }

    @Test
    @DisplayName("conformance 1: interleaved tool calls, sparse indices, id-less and empty deltas")
    void case1_interleavedToolCalls() {
        String body = sse(
                chunk("{\"role\":\"assistant\",\"content\":null}", null),
                chunk("{\"tool_calls\":[{\"index\":3,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}", null),
                chunk("{\"tool_calls\":[{\"index\":7,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\"\"}}]}", null),
                chunk("{\"tool_calls\":[{\"index\":3,\"id\":null,\"function\":{\"arguments\":\"{\\\"location\\\"\"}}]}", null),
                chunk("{}", null),
                chunk("{\"tool_calls\":[{\"index\":7,\"function\":{\"arguments\":\":\\\"CET\\\"}\"}}]}", null),
                chunk("{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"\"}}]}", null),
                chunk("{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\":\\\"Paris\\\"}\"}}]}", null),
                chunk("{}", "tool_calls"),
                DONE);
        for (int split : new int[] {1, 7, 0}) {
            assertThat(calls(body, split)).containsExactly("start c-1",
                    "toolCall 0 call_a get_weather ",
                    "toolCall 1 call_b get_time {\"tz\"",
                    "toolArguments 0 {\"location\"",
                    "toolArguments 1 :\"CET\"}",
                    "toolArguments 0 :\"Paris\"}",
                    "finish TOOL_CALLS tool_calls " + Usage.NONE);
        }

        // the same through the OpenAI writer: both calls whole, renumbered from 0
        Replayed r = Replayed.of(run(new OpenAiChatStreamTranslator(new OpenAiChatStreamWriter("m", false)), body, 3));
        assertThat(r.toolArguments).containsExactly(Map.entry(0, "{\"location\":\"Paris\"}"), Map.entry(1, "{\"tz\":\"CET\"}"));
        assertThat(r.toolIds).containsExactly(Map.entry(0, "call_a"), Map.entry(1, "call_b"));
        assertThat(r.finishReasons).containsExactly("tool_calls");
    }

    @Test
    void aCallWhoseFirstDeltaHasNoIdOrNameIsHeldUntilItsNameComes() {
        List<String> calls = calls(sse(
                chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]}", null),
                chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"1}\"}}]}", null),
                chunk("{}", "tool_calls"), DONE), 0);
        assertThat(calls).hasSize(3);
        assertThat(calls.get(1)).startsWith("toolCall 0 call_").endsWith(" f {\"a\":1}");
        assertThat(calls.get(2)).isEqualTo("finish TOOL_CALLS tool_calls " + Usage.NONE);
    }

    @Test
    void callsWithoutIndexStartOnTheirIdAndContinueTheLast() {
        List<String> calls = calls(sse(
                chunk("{\"tool_calls\":[{\"id\":\"x1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}", null),
                chunk("{\"tool_calls\":[{\"function\":{\"arguments\":\"}\"}}]}", null),
                chunk("{\"tool_calls\":[{\"id\":\"x2\",\"function\":{\"name\":\"g\",\"arguments\":{\"k\":true}}}]}", null),
                chunk("{}", "stop"), DONE), 0);
        assertThat(calls).containsExactly("start c-1", "toolCall 0 x1 f {", "toolArguments 0 }", "toolCall 1 x2 g {\"k\":true}",
                "finish TOOL_CALLS stop " + Usage.NONE);
    }

    @Test
    @DisplayName("conformance 20: the usage chunk after the finish reaches finish()")
    void case20_usageChunk() {
        String usage = "{\"id\":\"c-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":4},\"completion_tokens_details\":{\"reasoning_tokens\":1}}}";
        RecordingWriter w = new RecordingWriter();
        OpenAiChatStreamTranslator t = new OpenAiChatStreamTranslator(w);
        run(t, sse(chunk("{\"content\":\"Hi\"}", null), chunk("{}", "stop"), usage, DONE), 0);
        Usage expected = new Usage(9, 3, 12, 4, 1);
        assertThat(w.calls).containsExactly("start c-1", "text Hi", "finish STOP stop " + expected);
        assertThat(t.usage()).isEqualTo(expected);
        assertThat(t.error()).isNull();

        // through the OpenAI writer, for a client that asked for usage
        Replayed r = Replayed.of(run(new OpenAiChatStreamTranslator(new OpenAiChatStreamWriter("m", true)),
                sse(chunk("{\"content\":\"Hi\"}", null), chunk("{}", "stop"), usage, DONE), 0));
        assertThat(r.usage.get("prompt_tokens").asInt()).isEqualTo(9);
        assertThat(r.usage.at("/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void groqUsageUnderXGroq() {
        RecordingWriter w = new RecordingWriter();
        OpenAiChatStreamTranslator t = new OpenAiChatStreamTranslator(w);
        run(t, sse(chunk("{\"content\":\"Hi\"}", null),
                "{\"id\":\"c-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                        + "\"x_groq\":{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}}", DONE), 0);
        assertThat(t.usage()).isEqualTo(new Usage(5, 2, 7, -1, -1));
    }

    @Test
    @DisplayName("conformance 12: reasoning_content and reasoning deltas are thinking")
    void case12_reasoningDeltas() {
        List<String> calls = calls(sse(chunk("{\"role\":\"assistant\",\"reasoning_content\":\"Let me\"}", null),
                chunk("{\"reasoning\":\" think.\"}", null), chunk("{\"content\":\"4\"}", null), chunk("{}", "stop"), DONE), 0);
        assertThat(calls).containsExactly("start c-1", "thinking Let me", "thinking  think.", "text 4", "finish STOP stop " + Usage.NONE);
    }

    @Test
    @DisplayName("conformance 18: a stream cut before finish_reason ends with an error")
    void case18_cutBeforeFinish() {
        RecordingWriter w = new RecordingWriter();
        OpenAiChatStreamTranslator t = new OpenAiChatStreamTranslator(w);
        run(t, sse(chunk("{\"content\":\"Hel\"}", null)), 4);
        assertThat(w.calls).containsExactly("start c-1", "text Hel", "error upstream_incomplete_stream the provider's stream ended before finish_reason");
        assertThat(t.error()).isEqualTo("the provider's stream ended before finish_reason");
    }

    @Test
    @DisplayName("conformance 18: [DONE] without a finish_reason is no clean finish either")
    void case18_doneWithoutFinish() {
        List<String> calls = calls(sse(chunk("{\"content\":\"Hel\"}", null), DONE), 0);
        assertThat(calls).containsExactly("start c-1", "text Hel", "error upstream_incomplete_stream the provider's stream ended before finish_reason");
    }

    @Test
    void aFinishWithoutDoneFinishesAtTheEnd() {
        List<String> calls = calls(sse(chunk("{\"content\":\"Hi\"}", null), chunk("{}", "length")), 0);
        assertThat(calls).containsExactly("start c-1", "text Hi", "finish LENGTH length " + Usage.NONE);
    }

    @Test
    void aLastEventWithoutItsBlankLineStillCounts() {
        List<String> calls = calls("data: " + chunk("{\"content\":\"Hi\"}", "stop") + "\n\ndata: [DONE]", 0);
        assertThat(calls).containsExactly("start c-1", "text Hi", "finish STOP stop " + Usage.NONE);
    }

    @Test
    @DisplayName("conformance 33: an in-band error is passed on, and nothing after it")
    void case33_inBandError() {
        RecordingWriter w = new RecordingWriter();
        OpenAiChatStreamTranslator t = new OpenAiChatStreamTranslator(w);
        run(t, sse(chunk("{\"content\":\"Hi\"}", null), "{\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"code\":\"overloaded\"}}",
                chunk("{\"content\":\"more\"}", "stop"), DONE), 0);
        assertThat(w.calls).containsExactly("start c-1", "text Hi", "error overloaded Overloaded");
        assertThat(t.error()).isEqualTo("Overloaded");
    }

    @Test
    void anUnknownFinishReasonIsAnError() {
        RecordingWriter w = new RecordingWriter();
        OpenAiChatStreamTranslator t = new OpenAiChatStreamTranslator(w);
        run(t, sse(chunk("{\"content\":\"Hi\"}", "insufficient_system_resource"), DONE), 0);
        assertThat(w.calls).hasSize(3);
        assertThat(w.calls.get(2)).startsWith("error upstream_unknown_finish_reason").contains("insufficient_system_resource");
        assertThat(t.error()).isNotNull();
    }

    @Test
    @DisplayName("conformance 4: comments keep the client's stream alive")
    void case4_commentsAreKeepAlives() {
        List<String> calls = calls(": OPENROUTER PROCESSING\n\n" + sse(chunk("{\"content\":\"Hi\"}", "stop"), DONE), 0);
        assertThat(calls).containsExactly("keepAlive", "start c-1", "text Hi", "finish STOP stop " + Usage.NONE);
    }

    @Test
    void anAbandonedStreamReleasesWhatItHolds() {
        OpenAiChatStreamTranslator t = new OpenAiChatStreamTranslator(new RecordingWriter());
        ByteBuf in = ALLOC.buffer().writeBytes("data: {\"id\":\"c\",\"choi".getBytes(StandardCharsets.UTF_8));
        assertThat(t.onContent(in, ALLOC)).isNull();
        t.release();
        assertThat(in.refCnt()).isZero();
    }

    /** What an OpenAI chat client makes of a stream. */
    static final class Replayed {
        final StringBuilder content = new StringBuilder();
        final List<String> finishReasons = new ArrayList<>();
        final Map<Integer, String> toolIds = new HashMap<>();
        final Map<Integer, String> toolArguments = new HashMap<>();
        String firstRole;
        JsonNode usage;
        boolean done;

        static Replayed of(String stream) {
            Replayed r = new Replayed();
            for (String event : stream.split("\n\n")) {
                if (!event.startsWith("data: ")) continue;
                String data = event.substring(6);
                assertThat(r.done).as("nothing after [DONE]").isFalse();
                if (data.equals("[DONE]")) {
                    r.done = true;
                    continue;
                }
                JsonNode c = parse(data);
                if (c.hasNonNull("usage")) r.usage = c.get("usage");
                for (JsonNode choice : c.path("choices")) {
                    JsonNode d = choice.path("delta");
                    if (r.firstRole == null) r.firstRole = d.path("role").asText(null);
                    if (d.hasNonNull("content")) r.content.append(d.get("content").asText());
                    for (JsonNode tc : d.path("tool_calls")) {
                        int i = tc.get("index").asInt();
                        if (tc.hasNonNull("id")) r.toolIds.put(i, tc.get("id").asText());
                        r.toolArguments.merge(i, tc.path("function").path("arguments").asText(""), String::concat);
                    }
                    if (choice.hasNonNull("finish_reason")) r.finishReasons.add(choice.get("finish_reason").asText());
                }
            }
            return r;
        }

        private static JsonNode parse(String s) {
            try {
                return OpenAiChat.JSON.readTree(s);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + s, e);
            }
        }
    }
}
