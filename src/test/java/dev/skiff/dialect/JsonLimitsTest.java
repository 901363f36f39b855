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
}
