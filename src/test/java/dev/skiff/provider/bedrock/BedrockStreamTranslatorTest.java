package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.dialect.openai.OpenAiChatStreamWriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BedrockStreamTranslatorTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Buffers are unpooled; releaseFreesPartialFrame checks that held bytes are released. */
    final ByteBufAllocator alloc = new UnpooledByteBufAllocator(false, true);

    /** Feeds the body in pieces of {@code step} bytes and returns everything the client would get. */
    String run(BedrockStreamTranslator t, byte[] body, int step) {
        StringBuilder out = new StringBuilder();
        List<ByteBuf> fed = new ArrayList<>();
        for (int i = 0; i < body.length; i += step) {
            ByteBuf chunk = alloc.buffer();
            chunk.writeBytes(body, i, Math.min(step, body.length - i));
            fed.add(chunk);
            append(out, t.onContent(chunk, alloc));
        }
        append(out, t.onEnd(alloc));
        for (ByteBuf chunk : fed) assertThat(chunk.refCnt()).as("every chunk fed is released").isZero();
        return out.toString();
    }

    static void append(StringBuilder out, ByteBuf b) {
        if (b == null) return;
        out.append(b.toString(StandardCharsets.UTF_8));
        b.release();
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
    void textStreamBecomesChunksWhateverTheCuts() throws Exception {
        for (int step : new int[] {1, 7, 64, 100_000}) {
            BedrockStreamTranslator t = new BedrockStreamTranslator(new OpenAiChatStreamWriter("claude", false));
            List<JsonNode> ev = events(run(t, BedrockFrames.textStream(), step));
            assertThat(ev.getFirst().at("/choices/0/delta/role").asText()).isEqualTo("assistant");
            StringBuilder text = new StringBuilder();
            for (JsonNode e : ev) if (e != null) text.append(e.at("/choices/0/delta/content").asText(""));
            assertThat(text.toString()).isEqualTo("Hello World");
            JsonNode finish = ev.get(ev.size() - 2);
            assertThat(finish.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
            assertThat(finish.get("model").asText()).isEqualTo("claude");
            assertThat(ev.getLast()).isNull(); // [DONE]
            long finishes = ev.stream().filter(e -> e != null && e.at("/choices/0/finish_reason").isTextual()).count();
            assertThat(finishes).isEqualTo(1); // only the final chunk carries finish_reason
            assertThat(t.error()).isNull();
            assertThat(t.usage().promptTokens()).isEqualTo(10);
            assertThat(t.usage().completionTokens()).isEqualTo(5);
        }
    }

    @Test
    void toolCallsAndUsageChunk() throws Exception {
        BedrockStreamTranslator t = new BedrockStreamTranslator(new OpenAiChatStreamWriter("claude", true));
        List<JsonNode> ev = events(run(t, BedrockFrames.toolStream(), 13));
        JsonNode first = null;
        StringBuilder args = new StringBuilder();
        for (JsonNode e : ev) {
            if (e == null) continue;
            JsonNode call = e.at("/choices/0/delta/tool_calls/0");
            if (call.isMissingNode()) continue;
            if (first == null) first = call;
            else assertThat(call.has("id")).isFalse();
            assertThat(call.get("index").asInt()).isZero();
            args.append(call.at("/function/arguments").asText());
        }
        assertThat(first.get("id").asText()).isEqualTo("tooluse_abc");
        assertThat(first.get("type").asText()).isEqualTo("function");
        assertThat(first.at("/function/name").asText()).isEqualTo("get_weather");
        assertThat(first.at("/function/arguments").asText()).isEmpty();
        assertThat(JSON.readTree(args.toString()).get("location").asText()).isEqualTo("Paris");
        JsonNode finish = ev.get(ev.size() - 3);
        assertThat(finish.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode usage = ev.get(ev.size() - 2);
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.at("/usage/prompt_tokens").asInt()).isEqualTo(150); // 100 + 50 read from the cache
        assertThat(usage.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(50);
        assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(20);
        assertThat(ev.getLast()).isNull();
    }

    @Test
    void reasoningDeltas() throws Exception {
        byte[] body = BedrockFrames.events(
                "messageStart", "{\"role\":\"assistant\"}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"Let me think.\"}}}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"signature\":\"sig123\"}}}",
                "contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"reasoningContent\":{\"redactedContent\":\"AAEC\"}}}",
                "contentBlockDelta", "{\"contentBlockIndex\":2,\"delta\":{\"text\":\"7\"}}",
                "messageStop", "{\"stopReason\":\"end_turn\"}",
                "metadata", "{\"usage\":{\"inputTokens\":1,\"outputTokens\":2,\"totalTokens\":3},\"metrics\":{\"latencyMs\":1}}");
        String out = run(new BedrockStreamTranslator(new OpenAiChatStreamWriter("m", false)), body, 50);
        List<JsonNode> ev = events(out);
        assertThat(ev.get(1).at("/choices/0/delta/reasoning_content").asText()).isEqualTo("Let me think.");
        assertThat(ev.get(2).at("/choices/0/delta/reasoning_signature").asText()).isEqualTo("sig123");
        assertThat(ev.get(3).at("/choices/0/delta/redacted_reasoning/0").asText()).isEqualTo("AAEC");
        assertThat(ev.get(4).at("/choices/0/delta/content").asText()).isEqualTo("7");
        assertThat(ev.get(4).at("/choices/0/delta/reasoning_content").isMissingNode()).isTrue();
    }

    @Test
    void exceptionFrameBecomesInBandError() throws Exception {
        byte[] body = BedrockFrames.concat(
                BedrockFrames.events("messageStart", "{\"role\":\"assistant\"}",
                        "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hel\"}}"),
                EventStreamEncoder.encode(EventStreamEncoder.exception("throttlingException", "{\"message\":\"Too many tokens, please wait.\"}")));
        BedrockStreamTranslator t = new BedrockStreamTranslator(new OpenAiChatStreamWriter("m", false));
        String out = run(t, body, 1000);
        List<JsonNode> ev = events(out);
        JsonNode err = ev.getLast();
        assertThat(err.at("/error/message").asText()).isEqualTo("Too many tokens, please wait.");
        assertThat(err.at("/error/code").asText()).isEqualTo("throttlingException");
        assertThat(out).doesNotContain("[DONE]").doesNotContain("finish_reason\":\"stop");
        assertThat(t.error()).contains("Too many tokens");
    }

    @Test
    void streamCutBeforeMessageStopEndsWithError() throws Exception {
        byte[] full = BedrockFrames.textStream();
        byte[] cut = BedrockFrames.events("messageStart", "{\"role\":\"assistant\"}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hello\"}}");
        BedrockStreamTranslator t = new BedrockStreamTranslator(new OpenAiChatStreamWriter("m", false));
        String out = run(t, cut, 5);
        assertThat(out).doesNotContain("[DONE]").doesNotContain("finish_reason\":\"stop");
        assertThat(events(out).getLast().at("/error/code").asText()).isEqualTo("upstream_incomplete_stream");
        assertThat(t.error()).contains("messageStop");

        // cut in the middle of a frame
        byte[] half = java.util.Arrays.copyOf(full, full.length / 2);
        BedrockStreamTranslator t2 = new BedrockStreamTranslator(new OpenAiChatStreamWriter("m", false));
        String out2 = run(t2, half, 9);
        assertThat(events(out2).getLast().has("error")).isTrue();
    }

    @Test
    void messageStopWithoutMetadataStillFinishes() throws Exception {
        byte[] body = BedrockFrames.events("messageStart", "{\"role\":\"assistant\"}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}",
                "messageStop", "{\"stopReason\":\"max_tokens\"}");
        BedrockStreamTranslator t = new BedrockStreamTranslator(new OpenAiChatStreamWriter("m", true));
        List<JsonNode> ev = events(run(t, body, 1000));
        assertThat(ev.get(ev.size() - 3).at("/choices/0/finish_reason").asText()).isEqualTo("length");
        assertThat(ev.getLast()).isNull();
        assertThat(t.error()).isNull();
    }

    @Test
    void corruptFramingIsAnErrorNotACrash() throws Exception {
        byte[] body = BedrockFrames.textStream();
        body[body.length / 3] ^= 0x55; // breaks a CRC
        BedrockStreamTranslator t = new BedrockStreamTranslator(new OpenAiChatStreamWriter("m", false));
        String out = run(t, body, 10);
        assertThat(events(out).getLast().at("/error/code").asText()).isEqualTo("upstream_invalid_response");
        assertThat(out).doesNotContain("[DONE]");
        assertThat(t.error()).isNotNull();
    }

    @Test
    void releaseFreesPartialFrame() {
        byte[] body = BedrockFrames.textStream();
        BedrockStreamTranslator t = new BedrockStreamTranslator(new OpenAiChatStreamWriter("m", false));
        ByteBuf chunk = alloc.buffer().writeBytes(body, 0, 20);
        ByteBuf out = t.onContent(chunk, alloc);
        if (out != null) out.release();
        t.release();
        assertThat(chunk.refCnt()).isZero();
    }

    @Test
    void chatClientsGetClaudesReasoningInTheCallIdAfterIt() throws Exception {
        byte[] body = BedrockFrames.events(
                "messageStart", "{\"role\":\"assistant\"}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"pl\"}}}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"an\"}}}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"signature\":\"c2ln\"}}}",
                "contentBlockStop", "{\"contentBlockIndex\":0}",
                "contentBlockStart", "{\"contentBlockIndex\":1,\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_1\",\"name\":\"Bash\"}}}",
                "contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"{}\"}}}",
                "contentBlockStop", "{\"contentBlockIndex\":1}",
                "messageStop", "{\"stopReason\":\"tool_use\"}");
        for (boolean carry : new boolean[] {true, false}) {
            String out = run(new BedrockStreamTranslator(new OpenAiChatStreamWriter("claude", false), carry), body, 13);
            String id = null;
            for (JsonNode e : events(out)) {
                if (e != null && e.at("/choices/0/delta/tool_calls/0/id").isTextual()) id = e.at("/choices/0/delta/tool_calls/0/id").asText();
            }
            if (!carry) {
                assertThat(id).isEqualTo("tooluse_1");
                continue;
            }
            dev.skiff.provider.SignedCallIds.Split split = dev.skiff.provider.SignedCallIds.split(id);
            assertThat(split.base()).isEqualTo("tooluse_1");
            assertThat(split.origin()).isEqualTo(dev.skiff.provider.SignedCallIds.Origin.BEDROCK);
            assertThat(split.reasoning()).containsExactly(new dev.skiff.dialect.ir.Part.Thinking("plan", "c2ln"));
        }
    }
}
