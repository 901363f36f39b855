package dev.skiff.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** User-path and end-user headers on a real socket: refused when malformed, never sent to the provider. */
class IdentificationEndToEndTest {
    static final String CHAT = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String MESSAGES = "{\"model\":\"claude-sonnet-4\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    @Test
    void headersAreCheckedAndStrippedOnEveryWay() throws Exception {
        try (MockUpstream openai = new MockUpstream().models("gpt-4o");
             MockUpstream anthropic = new MockUpstream().models("claude-sonnet-4")) {
            openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"1\",\"object\":\"chat.completion\",\"choices\":[]}"));
            anthropic.on("/v1/messages", (req, reply) -> reply.json(200, "{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\","
                    + "\"model\":\"claude-sonnet-4\",\"content\":[],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}"));
            try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", openai.baseUrl(), "ANTHROPIC_API_KEY", "a",
                    "ANTHROPIC_BASE_URL", anthropic.baseUrl(), "SKIFF_END_USER_HEADER", "X-Customer").awaitListings()) {
                String[] ids = {"X-Skiff-User-Path", "/team/bot", "X-GoModel-User-Path", "/x", "X-Customer", "c-1"};
                // forwarded as it came (same dialect), translated (OpenAI chat to Anthropic), and passthrough
                assertThat(gw.post("/v1/chat/completions", CHAT, ids).statusCode()).isEqualTo(200);
                assertThat(gw.post("/v1/chat/completions", CHAT.replace("gpt-4o", "claude-sonnet-4"), ids).statusCode()).isEqualTo(200);
                assertThat(gw.post("/p/openai/chat/completions", CHAT, ids).statusCode()).isEqualTo(200);
                for (MockUpstream.Received r : openai.receivedSoFar()) {
                    if (!r.path().contains("chat")) continue;
                    assertThat(r.headers().keySet()).noneMatch(h -> h.equalsIgnoreCase("x-skiff-user-path")
                            || h.equalsIgnoreCase("x-gomodel-user-path") || h.equalsIgnoreCase("x-customer"));
                }
                MockUpstream.Received translated = anthropic.take("/v1/messages");
                assertThat(translated.headers().keySet()).noneMatch(h -> h.toLowerCase().startsWith("x-skiff-user") || h.equalsIgnoreCase("x-customer"));
                assertThat(openai.receivedSoFar().stream().filter(r -> r.path().contains("chat")).count()).isEqualTo(2);

                HttpResponse<String> escape = gw.post("/v1/messages", MESSAGES, "X-Skiff-User-Path", "/a/../../root", "anthropic-version", "2023-06-01");
                assertThat(escape.statusCode()).isEqualTo(400);
                JsonNode e = OpenAiChat.JSON.readTree(escape.body());
                assertThat(e.get("type").asText()).isEqualTo("error"); // Anthropic's shape
                assertThat(e.at("/error/message").asText()).contains("X-Skiff-User-Path").contains("'..'");

                HttpResponse<String> longHeader = gw.post("/v1/chat/completions", CHAT, "X-Customer", "u".repeat(257));
                assertThat(longHeader.statusCode()).isEqualTo(400);
                assertThat(OpenAiChat.JSON.readTree(longHeader.body()).at("/error/message").asText()).contains("at most 256");

                HttpResponse<String> longBody = gw.post("/v1/chat/completions", CHAT.replace("{\"model\"", "{\"user\":\"" + "u".repeat(300)
                        + "\",\"model\""));
                assertThat(longBody.statusCode()).isEqualTo(400);
                assertThat(OpenAiChat.JSON.readTree(longBody.body()).at("/error/param").asText()).isEqualTo("user");
                // A header end user wins over the body's, so an over-long body id is not looked at then.
                assertThat(gw.post("/v1/chat/completions", CHAT.replace("{\"model\"", "{\"user\":\"" + "u".repeat(300) + "\",\"model\""),
                        "X-Customer", "c-2").statusCode()).isEqualTo(200);
                HttpResponse<String> longMetadata = gw.post("/v1/messages", MESSAGES.replace("{\"model\"", "{\"metadata\":{\"user_id\":\""
                        + "m".repeat(300) + "\"},\"model\""), "anthropic-version", "2023-06-01");
                assertThat(longMetadata.statusCode()).isEqualTo(400);
                assertThat(OpenAiChat.JSON.readTree(longMetadata.body()).get("type").asText()).isEqualTo("error");
            }
        }
    }
}
