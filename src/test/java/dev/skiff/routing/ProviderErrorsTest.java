package dev.skiff.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.testing.Recorded;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Contract: the providers' error bodies (src/test/resources/&lt;provider&gt;/error_*.json) and what
 * failing over makes of them. The structured fields decide where a provider has them; the text only
 * where none is given.
 */
class ProviderErrorsTest {
    static Failure classify(String body) {
        return ProviderErrors.classify(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    }

    @ParameterizedTest(name = "{0}/{1}: {2}")
    @CsvSource({
            "openai, error_context_length_exceeded.json, CONTEXT_LENGTH",
            "openai, error_model_not_found.json, MODEL_NOT_FOUND",
            // its message names a model and says "does not exist", but its code says the client erred
            "openai, error_invalid_value.json, ",
            "anthropic, error_prompt_too_long.json, CONTEXT_LENGTH",
            "anthropic, error_exceed_context_limit.json, CONTEXT_LENGTH",
            "anthropic, error_not_found.json, MODEL_NOT_FOUND",
            "anthropic, error_invalid_request.json, ",
            "gemini, error_input_token_count.json, CONTEXT_LENGTH",
            "gemini, error_model_not_found.json, MODEL_NOT_FOUND",
            "gemini, error_invalid_argument.json, ",
            // Bedrock's errors have no code: the text decides
            "bedrock, error_input_too_long.json, CONTEXT_LENGTH",
    })
    void aRecordedErrorIsClassifiedByItsStructuredFields(String provider, String file, Failure expected) {
        assertThat(classify(Recorded.read(provider, file))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            // an OpenAI-compatible server with no code: its message is matched
            "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}|CONTEXT_LENGTH",
            "{\"error\":{\"message\":\"model 'llama9' not found, try pulling it first\",\"type\":\"api_error\",\"param\":null,\"code\":null}}|MODEL_NOT_FOUND",
            // a numeric code (vLLM) says nothing: the text again
            "{\"object\":\"error\",\"message\":\"This model's maximum context length is 4096 tokens.\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}|CONTEXT_LENGTH",
            // not JSON at all (a proxy's page)
            "<html><body>413 Request Entity Too Large: too many tokens</body></html>|CONTEXT_LENGTH",
            "{\"error\":{\"message\":\"Invalid 'temperature': decimal above maximum value.\",\"type\":\"invalid_request_error\",\"param\":\"temperature\",\"code\":null}}|",
            // Gemini's errors in the array a stream's error comes in
            "[{\"error\":{\"code\":404,\"message\":\"Requested entity was not found.\",\"status\":\"NOT_FOUND\"}}]|MODEL_NOT_FOUND",
    })
    void withoutACodeTheTextDecides(String body, Failure expected) {
        assertThat(classify(body)).isEqualTo(expected);
    }
}
