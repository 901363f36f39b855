package dev.skiff.provider;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Reading an event's data, as every SSE-speaking provider's translator does. */
class SseStreamTranslatorTest {
    static ByteBuf event(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    }

    @Test
    void theModelIsReadWhereEachDialectNamesIt() {
        assertThat(SseStreamTranslator.modelOf(SseStreamTranslator.data(event("data: {\"model\":\"gpt-4o-2024-08-06\",\"choices\":[]}\n\n"))))
                .isEqualTo("gpt-4o-2024-08-06");
        assertThat(SseStreamTranslator.modelOf(SseStreamTranslator.data(event(
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-sonnet-4-5-20250929\"}}\n\n"))))
                .isEqualTo("claude-sonnet-4-5-20250929");
        assertThat(SseStreamTranslator.modelOf(SseStreamTranslator.data(event(
                "data: {\"type\":\"response.created\",\"response\":{\"model\":\"gpt-5-2025-08-07\"}}\n\n")))).isEqualTo("gpt-5-2025-08-07");
        assertThat(SseStreamTranslator.modelOf(SseStreamTranslator.data(event("data: {\"candidates\":[],\"modelVersion\":\"gemini-2.5-flash\"}\n\n"))))
                .isEqualTo("gemini-2.5-flash");
        assertThat(SseStreamTranslator.modelOf(SseStreamTranslator.data(event("data: {\"type\":\"content_block_delta\",\"delta\":{}}\n\n")))).isNull();
    }

    @Test
    void singleDataLineWithOrWithoutSpaceAndCrLf() {
        assertThat(SseStreamTranslator.data(event("event: x\ndata: {\"a\":1}\n\n")).get("a").asInt()).isEqualTo(1);
        assertThat(SseStreamTranslator.data(event("data:{\"a\":2}\r\n\r\n")).get("a").asInt()).isEqualTo(2);
    }

    @Test
    void severalDataLinesAreOneValueJoinedByNewlines() {
        assertThat(SseStreamTranslator.data(event("data: {\"a\":\ndata: [1,\ndata: 2]}\n\n")).get("a").get(1).asInt()).isEqualTo(2);
    }

    @Test
    void commentsKeepAlivesAndNonJsonHaveNoData() {
        assertThat(SseStreamTranslator.data(event(": ping\n\n"))).isNull();
        assertThat(SseStreamTranslator.data(event("\n"))).isNull();
        assertThat(SseStreamTranslator.data(event("data: [DONE\n\n"))).isNull();
    }

    @Test
    void theDoneTerminatorIsRecognizedOnlyWhole() {
        assertThat(SseStreamTranslator.isDone(event("data: [DONE]\n\n"))).isTrue();
        assertThat(SseStreamTranslator.isDone(event("data:[DONE]\r\n\r\n"))).isTrue();
        assertThat(SseStreamTranslator.isDone(event("data: [DONE\n\n"))).isFalse();
        assertThat(SseStreamTranslator.isDone(event("data: [DONE]x\n\n"))).isFalse();
        assertThat(SseStreamTranslator.isDone(event(": [DONE]\n\n"))).isFalse();
    }

    @Test
    void aLoneDoneTerminatorIsKnownWithoutParsing() {
        assertThat(SseStreamTranslator.onlyDone(event("data: [DONE]\n\n"))).isTrue();
        assertThat(SseStreamTranslator.onlyDone(event("event: x\r\ndata:[DONE]\r\n\r\n"))).isTrue();
        assertThat(SseStreamTranslator.onlyDone(event("data: [DONE]x\n\n"))).isFalse();
        assertThat(SseStreamTranslator.onlyDone(event(": [DONE]\n\n"))).isFalse();
        // with another data line the joined value decides, as it did before
        assertThat(SseStreamTranslator.onlyDone(event("data: 1\ndata: [DONE]\n\n"))).isFalse();
        assertThat(SseStreamTranslator.onlyDone(event("data: {\"a\":1}\n\n"))).isFalse();
    }
}
