package dev.skiff.dialect;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Usage in every shape the providers send it, read from the recorded payloads where there are some. */
class UsageScanTest {
    private static final Path FIXTURES = Recorded.ROOT;

    private static String fixture(String name) throws IOException {
        Path p = FIXTURES.resolve(name);
        if (!Files.exists(p)) throw new AssertionError("fixture missing: " + p.toAbsolutePath() + "");
        return Files.readString(p);
    }

    private static Usage of(String json) {
        ByteBuf b = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
        try {
            return UsageScan.of(b);
        } finally {
            b.release();
        }
    }

    /** Runs a recorded stream through the splitter and the accumulator, in pieces of {@code piece} bytes. */
    private static Usage ofStream(String sse, int piece) {
        SseSplitter splitter = new SseSplitter(ByteBufAllocator.DEFAULT);
        UsageScan.Accumulator acc = new UsageScan.Accumulator();
        byte[] bytes = sse.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i += piece) {
            splitter.feed(Unpooled.copiedBuffer(bytes, i, Math.min(piece, bytes.length - i)), event -> {
                acc.event(event);
                event.release();
            });
        }
        splitter.release();
        return acc.usage();
    }

    @Test
    void openAiChatCompletion() throws IOException {
        assertThat(of(fixture("openai/chat_completion.json"))).isEqualTo(new Usage(17, 4, 21, 0, 0));
        assertThat(of(fixture("openai/chat_completion_reasoning.json"))).isEqualTo(new Usage(13, 85, 98, 0, 64));
    }

    @Test
    void openAiResponses() throws IOException {
        assertThat(of(fixture("openai/responses.json"))).isEqualTo(new Usage(17, 5, 22, 0, 0));
    }

    @Test
    void openAiResponsesStreamTakesTheCompletedEventsUsage() throws IOException {
        // response.created and response.in_progress carry "usage":null; response.completed the counts.
        assertThat(ofStream(fixture("openai/responses_stream.txt"), 97)).isEqualTo(new Usage(17, 5, 22, 0, 0));
    }

    @Test
    void openAiChatStreamWithAndWithoutAUsageChunk() throws IOException {
        String recorded = fixture("openai/chat_completion_stream.txt");
        assertThat(ofStream(recorded, 64)).isEqualTo(Usage.NONE);
        String done = "data: [DONE]";
        String withUsage = recorded.replace(done, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13,\"prompt_tokens_details\":{\"cached_tokens\":2}}}\n\n" + done);
        assertThat(ofStream(withUsage, 64)).isEqualTo(new Usage(9, 4, 13, 2, -1));
    }

    @Test
    void anthropicMessage() throws IOException {
        assertThat(of(fixture("anthropic/messages.json"))).isEqualTo(new Usage(14, 5, 19, -1, -1));
        // With cache fields: input excludes cache reads and writes, OpenAI's prompt includes them.
        assertThat(of("{\"type\":\"message\",\"content\":[],\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":100,"
                + "\"cache_creation_input_tokens\":20,\"output_tokens\":7}}")).isEqualTo(Usage.fromUncachedInput(10, 100, 20, 7));
        assertThat(of(fixture("anthropic/messages_extended_thinking.json"))).isEqualTo(Usage.fromUncachedInput(53, 0, 0, 211));
    }

    @Test
    void anthropicStreamMergesStartAndDeltaWithoutDoubleCounting() throws IOException {
        // message_start: input 10, output 3 (so far); message_delta: output 5 (final).
        assertThat(ofStream(fixture("anthropic/messages_stream.txt"), 50)).isEqualTo(Usage.fromUncachedInput(10, 0, 0, 5));
        // A message_delta that reports only the output keeps the input (and cache reads) of message_start.
        String sse = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":4,"
                + "\"cache_read_input_tokens\":30,\"output_tokens\":1}}}\n\n"
                + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"the usage is\"}}\n\n"
                + "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":12}}\n\n";
        assertThat(ofStream(sse, 1000)).isEqualTo(Usage.fromUncachedInput(4, 30, -1, 12));
    }

    @Test
    void gemini() {
        String body = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}],\"usageMetadata\":{\"promptTokenCount\":8,"
                + "\"candidatesTokenCount\":3,\"totalTokenCount\":21,\"cachedContentTokenCount\":2,\"thoughtsTokenCount\":10}}";
        assertThat(of(body)).isEqualTo(new Usage(8, 13, 21, 2, 10));
        // A stream: every chunk carries running totals, the last one wins.
        String sse = "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":8,\"totalTokenCount\":8}}\r\n\r\n"
                + "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":5,\"totalTokenCount\":13}}\r\n\r\n";
        assertThat(ofStream(sse, 7)).isEqualTo(new Usage(8, 5, 13, -1, -1));
    }

    @Test
    void bedrockConverse() {
        assertThat(of("{\"output\":{},\"usage\":{\"inputTokens\":5,\"outputTokens\":2,\"totalTokens\":7,\"cacheReadInputTokens\":3}}"))
                .isEqualTo(Usage.fromUncachedInput(5, 3, -1, 2));
    }

    @Test
    void nothingToFind() {
        assertThat(of("{\"id\":\"x\",\"choices\":[]}")).isEqualTo(Usage.NONE);
        assertThat(of("{\"usage\":null}")).isEqualTo(Usage.NONE);
        assertThat(of("{\"text\":\"the usage was high\"}")).isEqualTo(Usage.NONE);
        assertThat(of("not json, about usage")).isEqualTo(Usage.NONE);
        assertThat(of("{\"usage\":{\"prompt_tokens\":")).isEqualTo(Usage.NONE); // cut short
        // "usage" deeper than the known places is someone else's member.
        assertThat(of("{\"data\":{\"usage\":{\"prompt_tokens\":3}}}")).isEqualTo(Usage.NONE);
    }

    @Test
    void onlyAUsageMemberWithAnObjectValueIsParsedFor() {
        assertThat(mayReport("{\"usage\":null,\"choices\":[]}")).isFalse();
        assertThat(mayReport("{\"text\":\"the \\\"usage\\\": {1}\"}")).as("the word inside text").isFalse();
        assertThat(mayReport("{\"usage\" : {\"prompt_tokens\":1}}")).isTrue();
        assertThat(mayReport("{\"response\":{\"usage\":null,\"x\":1},\"usageMetadata\":{\"promptTokenCount\":2}}")).isTrue();
        assertThat(mayReport("{\"usages\":{\"a\":1}}")).as("another member").isFalse();
        assertThat(of("{\"usage\":null,\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}}").completionTokens()).isEqualTo(4);
    }

    private static boolean mayReport(String json) {
        ByteBuf b = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
        return UsageScan.mayReport(b, b.readerIndex(), b.writerIndex());
    }
}
