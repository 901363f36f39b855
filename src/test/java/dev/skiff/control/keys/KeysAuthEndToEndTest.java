package dev.skiff.control.keys;

import static dev.skiff.control.keys.KeysAdminEndToEndTest.MASTER;
import static dev.skiff.control.keys.KeysAdminEndToEndTest.admin;
import static dev.skiff.control.keys.KeysAdminEndToEndTest.create;
import static dev.skiff.control.keys.KeysAdminEndToEndTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Managed keys on the request path: accepted, refused (revoked, expired, unknown), limited to their models, scoped in what they store. */
class KeysAuthEndToEndTest {
    static final String CHAT = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String MESSAGES = "{\"model\":\"claude-sonnet-4\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String ANTHROPIC_ANSWER = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4\","
            + "\"content\":[{\"type\":\"text\",\"text\":\"hello\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
            + "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";

    MockUpstream openai, anthropic;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o", "gpt-4o-mini");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200,
                "{\"id\":\"1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\",\"choices\":[]}"));
        anthropic = new MockUpstream().models("claude-sonnet-4");
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, ANTHROPIC_ANSWER));
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "sk-oa", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
    }

    private HttpResponse<String> chat(String key) throws Exception {
        return gw.post("/v1/chat/completions", CHAT, "Authorization", "Bearer " + key);
    }

    private HttpResponse<String> messages(String key) throws Exception {
        return gw.post("/v1/messages", MESSAGES, "x-api-key", key, "anthropic-version", "2023-06-01");
    }

    @Test
    void aManagedKeyWorksOnBothDialectsAndIsRefusedOnceRevoked() throws Exception {
        JsonNode key = create(gw, "{\"name\":\"app\"}");
        String secret = key.get("secret").asText();
        assertThat(chat(secret).statusCode()).isEqualTo(200);
        HttpResponse<String> m = messages(secret);
        assertThat(m.statusCode()).as(m.body()).isEqualTo(200);
        assertThat(anthropic.take("/v1/messages").header("x-api-key")).isEqualTo("sk-ant"); // the provider's key, never the client's

        assertThat(admin(gw, "DELETE", "/admin/v1/keys/" + key.get("id").asText(), null, MASTER).statusCode()).isEqualTo(200);
        HttpResponse<String> refusedChat = chat(secret);
        assertThat(refusedChat.statusCode()).isEqualTo(401);
        assertThat(json(refusedChat).at("/error/code").asText()).isEqualTo("invalid_api_key");
        assertThat(json(refusedChat).at("/error/message").asText()).contains("revoked");
        HttpResponse<String> refusedMessages = messages(secret);
        assertThat(refusedMessages.statusCode()).isEqualTo(401);
        JsonNode anthropicShape = json(refusedMessages);
        assertThat(anthropicShape.get("type").asText()).isEqualTo("error");
        assertThat(anthropicShape.at("/error/type").asText()).isEqualTo("authentication_error");
        assertThat(anthropicShape.at("/error/message").asText()).contains("revoked");
    }

    @Test
    void expiredAndUnknownKeysAreRefusedSayingWhy() throws Exception {
        String expired = create(gw, "{\"expires_at\":\"2001-01-01T00:00:00Z\"}").get("secret").asText();
        HttpResponse<String> r = messages(expired);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(json(r).at("/error/message").asText()).contains("expired at 2001-01-01T00:00:00Z");

        HttpResponse<String> unknown = chat("sk-skiff-" + "A".repeat(43));
        assertThat(unknown.statusCode()).isEqualTo(401);
        assertThat(json(unknown).at("/error/message").asText()).isEqualTo("Incorrect API key provided.");
        assertThat(openai.receivedSoFar()).noneMatch(q -> q.path().equals("/v1/chat/completions"));
    }

    @Test
    void modelSelectorsLimitWhatAKeyReachesAndSees() throws Exception {
        String secret = create(gw, "{\"allowed_models\":[\"anthropic/*\",\"gpt-4o-mini\"]}").get("secret").asText();
        HttpResponse<String> refused = chat(secret);
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(json(refused).at("/error/code").asText()).isEqualTo("model_not_allowed");
        assertThat(json(refused).at("/error/message").asText()).contains("gpt-4o").contains("anthropic/*");
        assertThat(gw.post("/v1/chat/completions", CHAT.replace("gpt-4o", "gpt-4o-mini"), "Authorization", "Bearer " + secret).statusCode())
                .isEqualTo(200);
        assertThat(messages(secret).statusCode()).isEqualTo(200);

        String onlyGpt = create(gw, "{\"allowed_models\":[\"openai/gpt-4o\"]}").get("secret").asText();
        HttpResponse<String> refusedMessages = messages(onlyGpt);
        assertThat(refusedMessages.statusCode()).isEqualTo(403);
        assertThat(json(refusedMessages).get("type").asText()).isEqualTo("error"); // Anthropic's shape on /v1/messages
        assertThat(json(refusedMessages).at("/error/type").asText()).isEqualTo("permission_error");

        JsonNode listing = json(gw.get("/v1/models", "Authorization", "Bearer " + secret));
        assertThat(listing.get("data").findValuesAsText("id")).containsExactlyInAnyOrder("anthropic/claude-sonnet-4", "openai/gpt-4o-mini");
        assertThat(json(gw.get("/v1/models", "Authorization", "Bearer " + MASTER)).get("data")).hasSize(3);
        assertThat(gw.get("/v1/models/openai/gpt-4o", "Authorization", "Bearer " + secret).statusCode()).isEqualTo(404);
        assertThat(gw.get("/v1/models/openai/gpt-4o-mini", "Authorization", "Bearer " + secret).statusCode()).isEqualTo(200);

        // Passthrough cannot see the model: a key limited within a provider is refused there.
        HttpResponse<String> passthrough = gw.post("/p/openai/chat/completions", CHAT, "Authorization", "Bearer " + secret);
        assertThat(passthrough.statusCode()).isEqualTo(403);
        assertThat(json(passthrough).at("/error/code").asText()).isEqualTo("model_not_allowed");
        String wholeProvider = create(gw, "{\"allowed_models\":[\"openai/*\"]}").get("secret").asText();
        assertThat(gw.post("/p/openai/chat/completions", CHAT, "Authorization", "Bearer " + wholeProvider).statusCode()).isEqualTo(200);
    }

    @Test
    void aKeyCannotReadAnotherKeysStoredResponse() throws Exception {
        String a = create(gw, "{\"name\":\"a\"}").get("secret").asText();
        String b = create(gw, "{\"name\":\"b\"}").get("secret").asText();
        HttpResponse<String> made = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":\"hi\"}", "Authorization", "Bearer " + a);
        assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
        String id = json(made).get("id").asText();
        assertThat(gw.get("/v1/responses/" + id, "Authorization", "Bearer " + a).statusCode()).isEqualTo(200);
        HttpResponse<String> other = gw.get("/v1/responses/" + id, "Authorization", "Bearer " + b);
        assertThat(other.statusCode()).isEqualTo(404);
        assertThat(gw.get("/v1/responses/" + id, "Authorization", "Bearer " + MASTER).statusCode()).isEqualTo(404);
        HttpResponse<String> followUp = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":\"more\",\"previous_response_id\":\""
                + id + "\"}", "Authorization", "Bearer " + b);
        assertThat(followUp.statusCode()).isEqualTo(400);
    }
}
