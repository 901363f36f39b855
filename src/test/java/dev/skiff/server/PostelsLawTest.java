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

/**
 * Be liberal in what you accept (conformance 29): fields Skiff does not know survive to the upstream
 * where the target dialect has a place for them, and back to the client on same-dialect paths;
 * where the target has no place, the drop is visible. (The same-dialect cases of /v1/messages and
 * /v1/responses are in MessagesEndToEndTest and ResponsesEndToEndTest.)
 */
class PostelsLawTest {
    static final ObjectMapper JSON = new ObjectMapper();

    MockUpstream openai;
    MockUpstream vllm;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        vllm = new MockUpstream().models("qwen-local");
        gw = TestGateway.start("OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "VLLM_BASE_URL", vllm.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        vllm.close();
    }

    static final String CHAT_ANSWER = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\",\"annotations\":[],\"audio_v9\":{\"x\":1}},"
            + "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4},"
            + "\"service_tier\":\"default\",\"new_top_level\":true}";

    @Test
    void chatToAnOpenAiCompatibleProviderKeepsUnknownFieldsBothWays() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, CHAT_ANSWER));
        String request = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"future_message_field\":1}],"
                + "\"prediction\":{\"type\":\"content\",\"content\":\"x\"},\"brand_new_param\":[1,2,3]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", request);
        assertThat(r.statusCode()).isEqualTo(200);
        // every byte as the provider sent it but the model, which names what the client asked for
        assertThat(r.body()).isEqualTo(CHAT_ANSWER.replace("\"model\":\"m\"", "\"model\":\"gpt-4o-mini\""));
        assertThat(openai.take("/v1/chat/completions").body()).isEqualTo(request);
    }

    @Test
    void chatStreamChunksKeepTheirUnknownFields() throws Exception {
        String chunk = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"system_fingerprint\":\"fp\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\",\"future_delta_field\":7},\"finish_reason\":null}],\"obfuscation\":\"abc\"}\n\n";
        openai.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            reply.chunk(chunk);
            reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],"
                    + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\n");
            reply.chunk("data: [DONE]\n\n");
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.body()).startsWith(chunk.replace("\"model\":\"m\"", "\"model\":\"gpt-4o-mini\""));
    }

    @Test
    void responsesToAChatProviderCarriesTheFieldsChatHasAndNamesTheOthers() throws Exception {
        vllm.on("/v1/chat/completions", (req, reply) -> reply.json(200, CHAT_ANSWER));
        HttpResponse<String> r = gw.post("/v1/responses", "{\"model\":\"qwen-local\",\"input\":\"hi\",\"user\":\"u-7\","
                + "\"service_tier\":\"flex\",\"frobnicate\":true,\"store\":false}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode chat = JSON.readTree(vllm.take("/v1/chat/completions").body());
        assertThat(chat.get("user").asText()).isEqualTo("u-7");
        assertThat(chat.get("service_tier").asText()).isEqualTo("flex");
        assertThat(chat.has("frobnicate")).isFalse();
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains("frobnicate");
    }

    @Test
    void messagesToAChatProviderCarriesTheUserAndNamesWhatItCannotCarry() throws Exception {
        vllm.on("/v1/chat/completions", (req, reply) -> reply.json(200, CHAT_ANSWER));
        HttpResponse<String> r = gw.post("/v1/messages", "{\"model\":\"qwen-local\",\"max_tokens\":20,"
                + "\"metadata\":{\"user_id\":\"u-9\"},\"container\":\"c-1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode chat = JSON.readTree(vllm.take("/v1/chat/completions").body());
        assertThat(chat.get("user").asText()).isEqualTo("u-9");
        assertThat(chat.has("container")).isFalse();
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains("container");
    }
}
