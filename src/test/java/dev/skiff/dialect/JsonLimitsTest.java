package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonLimitsTest {
    private static ByteBuf json(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    private static String nested(int depth) {
        return "{\"a\":".repeat(depth - 1) + "{}" + "}".repeat(depth - 1);
    }

    @Test
    void countsEveryToken() throws Exception {
        // { "model" "m" "messages" [ { "role" "user" } ] } = 11
        assertThat(JsonLimits.count(json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}"), "x")).isEqualTo(11);
    }

    @Test
    void sixtyFourLevelsAreReadAndSixtyFiveRefused() throws Exception {
        assertThat(JsonLimits.count(json(nested(64)), "The body")).isEqualTo(64 + 63 + 64); // openings, names, closings
        assertThatThrownBy(() -> JsonLimits.countRequest(json(nested(65))))
                .isInstanceOf(BadRequestException.class)
                .hasMessageContaining("more than 64 levels deep");
    }

    @Test
    void tooManyTokensAreRefusedBeforeAnyTreeIsBuilt() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < 400_000; i++) sb.append(i == 0 ? "1" : ",1");
        sb.append(']'); // 400,000 values + 2 brackets
        assertThatThrownBy(() -> JsonLimits.countRequest(json(sb.toString())))
                .isInstanceOf(BadRequestException.class)
                .hasMessageContaining("more than 400000 JSON tokens");
    }

    @Test
    void malformedJsonIsCountedUpToItsError() throws Exception {
        assertThat(JsonLimits.count(json("{\"a\":[1,2,"), "x")).isEqualTo(5);
    }

    @Test
    void theTreeReaderAppliesTheSameDepthLimit() throws Exception {
        assertThat(OpenAiChat.read(json(nested(64))).isObject()).isTrue();
        assertThatThrownBy(() -> OpenAiChat.read(json(nested(500))))
                .isInstanceOf(com.fasterxml.jackson.core.exc.StreamConstraintsException.class);
    }

    /** Jackson's own token count, for comparison with the scan. */
    private static long tokenizerCount(String s) throws Exception {
        long n = 0;
        try (var p = new com.fasterxml.jackson.core.JsonFactory().createParser(s)) {
            while (p.nextToken() != null) n++;
        }
        return n;
    }

    @Test
    void theScanCountsAsTheTokenizerDoesOnEveryKindOfBuffer() throws Exception {
        String tricky = "{\"a\\\"[{\":\"x}]\\\\\",\"n\":-1.5e3,\"t\":true,\"f\":false,\"z\":null,"
                + "\"arr\":[ 1 , 2\t,\r\n3,[],{}],\"u\":\"caf\u00e9 \\u00e9 {[\"}";
        StringBuilder big = new StringBuilder("{\"messages\":[");
        for (int i = 0; i < 400; i++) big.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"say \\\"hi\\\" [").append(i).append("]\",\"n\":").append(i).append('}');
        big.append("]}");
        for (String doc : new String[] {tricky, big.toString(), "[1,2,3]", "\"just a string\"", "42", "{}"}) {
            byte[] bytes = doc.getBytes(StandardCharsets.UTF_8);
            ByteBuf direct = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
            ByteBuf composite = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(bytes, 0, bytes.length / 3),
                    Unpooled.directBuffer().writeBytes(bytes, bytes.length / 3, bytes.length - bytes.length / 3));
            try {
                long expected = tokenizerCount(doc);
                assertThat(JsonLimits.count(json(doc), "x")).as(doc).isEqualTo(expected);
                assertThat(JsonLimits.count(direct, "x")).as(doc).isEqualTo(expected);
                assertThat(JsonLimits.count(composite, "x")).as(doc).isEqualTo(expected);
            } finally {
                direct.release();
                composite.release();
            }
        }
    }

    @Test
    void limitsAreFoundInBuffersWithoutAnArray() {
        ByteBuf deep = Unpooled.directBuffer().writeBytes(nested(65).getBytes(StandardCharsets.UTF_8));
        try {
            assertThatThrownBy(() -> JsonLimits.count(deep, "The body")).hasMessageContaining("more than 64 levels deep");
        } finally {
            deep.release();
        }
    }

    @Test
    void bracketsInsideStringsDoNotNest() throws Exception {
        String doc = "{\"a\":\"" + "[".repeat(100) + "\"}";
        assertThat(JsonLimits.count(json(doc), "x")).isEqualTo(4);
    }

    @Test
    void aLimitPastAMalformedPartIsNotReported() throws Exception {
        // the tokenizer stops at the name without its colon, long before the depth would exceed: counted, not refused
        assertThat(JsonLimits.count(json("{\"a\" 1, \"b\":" + nested(70) + "}"), "x")).isEqualTo(1);
    }
}
