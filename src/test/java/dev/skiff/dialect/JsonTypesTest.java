package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonTypesTest {
    static RequestScan scan(String json, JsonTypes.Table types) throws BadRequestException {
        ByteBuf b = Unpooled.wrappedBuffer(json.getBytes(StandardCharsets.UTF_8));
        try {
            return RequestScan.of(b, types);
        } finally {
            b.release();
        }
    }

    @Test
    void theRefusalSaysWhatWasExpectedAndWhatCame() {
        assertThatThrownBy(() -> scan("{\"model\":\"m\",\"stop\":5}", JsonTypes.CHAT))
                .hasMessage("'stop' must be a string or an array, not an integer.")
                .satisfies(e -> assertThat(((BadRequestException) e).param()).isEqualTo("stop"));
        assertThatThrownBy(() -> scan("{\"model\":\"m\",\"max_tokens\":1.5}", JsonTypes.CHAT))
                .hasMessage("'max_tokens' must be an integer, not a number with a fraction.");
        assertThatThrownBy(() -> scan("{\"model\":\"m\",\"messages\":{}}", JsonTypes.MESSAGES))
                .hasMessage("'messages' must be an array, not an object.");
        assertThatThrownBy(() -> scan("{\"model\":\"m\",\"stream_options\":[]}", JsonTypes.RESPONSES))
                .hasMessage("'stream_options' must be an object.");
    }

    @Test
    void nullsUnknownFieldsAndIntegralNumbersPass() throws Exception {
        scan("{\"model\":\"m\",\"temperature\":null,\"max_tokens\":64.0,\"x\":{\"temperature\":\"nested is not checked\"}}", JsonTypes.CHAT);
        scan("{\"model\":\"m\",\"dimensions\":256,\"input\":[\"a\"]}", JsonTypes.EMBEDDINGS);
        // without a table (the bare scan) nothing but the scan's own fields is checked
        scan("{\"model\":\"m\",\"temperature\":\"hot\",\"stream_options\":\"x\"}", JsonTypes.NONE);
    }

    @Test
    void eachTableKnowsItsOwnApisFields() {
        assertThat(JsonTypes.CHAT.kindsOf("stop")).isEqualTo(JsonTypes.STRING | JsonTypes.ARRAY);
        assertThat(JsonTypes.MESSAGES.kindsOf("stop")).isZero();
        assertThat(JsonTypes.MESSAGES.kindsOf("stop_sequences")).isEqualTo(JsonTypes.ARRAY);
        assertThat(JsonTypes.RESPONSES.kindsOf("max_tokens")).isZero();
        assertThat(JsonTypes.RESPONSES.kindsOf("max_output_tokens")).isEqualTo(JsonTypes.INTEGER);
    }
}
