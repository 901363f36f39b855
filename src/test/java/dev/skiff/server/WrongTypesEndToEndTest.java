package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A documented request field with a value of the wrong JSON type is refused with a 400 naming it, in
 * the client's dialect, before anything is sent: a translation would otherwise leave it out without
 * a word. Fields Skiff does not know, and nulls, still pass.
 */
class WrongTypesEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String ANTHROPIC_ANSWER = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4\","
            + "\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";
    static final String OPENAI_ANSWER = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}";

    MockUpstream openai;
    MockUpstream anthropic;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, OPENAI_ANSWER));
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, ANTHROPIC_ANSWER));
        gw = TestGateway.start("OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl()).awaitListings();
        openai.clearReceived();
        anthropic.clearReceived();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
    }

    /** A request with {@code field} set to {@code value} (raw JSON) on top of a valid one of the endpoint. */
    static String request(String path, String model, String field, String value) {
        String base = switch (path) {
            case "/v1/responses" -> "{\"model\":\"" + model + "\",\"input\":\"hi\"";
            case "/v1/messages" -> "{\"model\":\"" + model + "\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
            default -> "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        };
        // the field comes last so that it replaces any of the same name in the base (the scan sees the last one too)
        return base + ",\"" + field + "\":" + value + "}";
    }

    @ParameterizedTest(name = "{0} to {1}: {2}={3}")
    @CsvSource(delimiter = '|', value = {
            // chat completions, same dialect and translated
            "/v1/chat/completions | openai/gpt-4o-mini       | temperature    | \"hot\"",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | temperature    | \"hot\"",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | stop           | 5",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | max_tokens     | \"x\"",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | max_tokens     | 10.5",
            "/v1/chat/completions | openai/gpt-4o-mini       | stream         | \"yes\"",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | messages       | {}",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | tools          | {\"a\":1}",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | tool_choice    | 3",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | top_p          | [1]",
            "/v1/chat/completions | anthropic/claude-sonnet-4 | stream_options | \"x\"",
            // Responses
            "/v1/responses        | anthropic/claude-sonnet-4 | max_output_tokens | \"x\"",
            "/v1/responses        | anthropic/claude-sonnet-4 | input          | 5",
            "/v1/responses        | anthropic/claude-sonnet-4 | instructions   | [\"a\"]",
            "/v1/responses        | anthropic/claude-sonnet-4 | stream         | \"yes\"",
            "/v1/responses        | anthropic/claude-sonnet-4 | store          | \"no\"",
            "/v1/responses        | openai/gpt-4o-mini       | temperature    | true",
    })
    void openAiEndpointsRefuseInTheEnvelopeWithTheParam(String path, String model, String field, String value) throws Exception {
        HttpResponse<String> r = gw.post(path, request(path, model, field, value));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("param").asText()).isEqualTo(field);
        assertThat(error.get("message").asText()).startsWith("'" + field + "' must be ");
        assertNothingSent();
    }

    @Test
    void includeUsageOfTheWrongTypeIsNamedWithItsPath() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                request("/v1/chat/completions", "anthropic/claude-sonnet-4", "stream_options", "{\"include_usage\":\"x\"}"));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/param").asText()).isEqualTo("stream_options.include_usage");
        // and on the same dialect, where Skiff would otherwise have rewritten it to true
        r = gw.post("/v1/chat/completions", request("/v1/chat/completions", "openai/gpt-4o-mini", "stream_options", "{\"include_usage\":1}"));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/param").asText()).isEqualTo("stream_options.include_usage");
        assertNothingSent();
    }

    @ParameterizedTest(name = "messages to {0}: {1}={2}")
    @CsvSource(delimiter = '|', value = {
            "anthropic/claude-sonnet-4 | max_tokens     | \"x\"",
            "openai/gpt-4o-mini       | max_tokens     | \"x\"",
            "openai/gpt-4o-mini       | messages       | {}",
            "openai/gpt-4o-mini       | system         | 5",
            "openai/gpt-4o-mini       | temperature    | \"hot\"",
            "openai/gpt-4o-mini       | stop_sequences | \"END\"",
            "openai/gpt-4o-mini       | tool_choice    | \"auto\"",
            "openai/gpt-4o-mini       | stream         | \"yes\"",
    })
    void messagesRefusesInAnthropicsShape(String model, String field, String value) throws Exception {
        HttpResponse<String> r = gw.post("/v1/messages", request("/v1/messages", model, field, value));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("type").asText()).isEqualTo("error");
        assertThat(body.at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(body.at("/error/message").asText()).startsWith("'" + field + "' must be ");
        assertNothingSent();
    }

    @Test
    void unknownFieldsNullsAndWholeNumbersWithAFractionPass() throws Exception {
        String chat = "{\"model\":\"anthropic/claude-sonnet-4\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"temperature\":null,\"max_tokens\":100.0,\"x_vendor_option\":\"anything\",\"stop\":[\"END\"],\"stream_options\":null}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", chat);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(JSON.readTree(anthropic.take("/v1/messages").body()).get("max_tokens").asInt()).isEqualTo(100);

        String messages = "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"system\":[{\"type\":\"text\",\"text\":\"be brief\"}],\"some_new_option\":5}";
        assertThat(gw.post("/v1/messages", messages).statusCode()).isEqualTo(200);

        // a field one API documents is unknown to another: Messages takes a 'stop' of any type
        String native_ = "{\"model\":\"anthropic/claude-sonnet-4\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"stop\":5,\"user\":7}";
        assertThat(gw.post("/v1/messages", native_).statusCode()).isEqualTo(200);
    }

    void assertNothingSent() throws Exception {
        // a request that goes through afterwards is the first either provider sees
        assertThat(gw.post("/v1/chat/completions", request("/v1/chat/completions", "openai/gpt-4o-mini", "n", "1")).statusCode())
                .isEqualTo(200);
        assertThat(openai.receivedSoFar()).singleElement().satisfies(r -> assertThat(r.body()).contains("\"n\":1"));
        assertThat(anthropic.receivedSoFar()).isEmpty();
    }
}
