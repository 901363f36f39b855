package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a client learns of the network behind Skiff when a provider fails: the provider's name and
 * status, in the client's dialect, and the provider's own JSON error; never an address, nor the HTML
 * page of a proxy or load balancer in front of the provider.
 */
class UpstreamDisclosureTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "sk-gateway";
    /** An error page as a load balancer writes one: it names the software and an internal address. */
    static final String PAGE = "<html><head><title>502 Bad Gateway</title></head><body><center>upstream 10.20.30.40:8443 failed"
            + "</center><hr><center>nginx/1.25.3</center></body></html>";

    MockUpstream openai;
    MockUpstream anthropic;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4");
        gw = TestGateway.start("SKIFF_MASTER_KEY", KEY,
                "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
    }

    static final String CHAT_OPENAI = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String CHAT_ANTHROPIC = "{\"model\":\"anthropic/claude-sonnet-4\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String MESSAGES_ANTHROPIC = "{\"model\":\"anthropic/claude-sonnet-4\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String MESSAGES_OPENAI = "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    HttpResponse<String> post(String path, String body, String requestId) throws Exception {
        return gw.post(path, body, "Authorization", "Bearer " + KEY, "X-Request-ID", requestId);
    }

    static void assertNothingOfThePage(String body) {
        assertThat(body).doesNotContain("<html").doesNotContain("10.20.30.40").doesNotContain("nginx");
    }

    @Test
    void anHtmlErrorOnTheSameDialectBecomesAShortOpenAiError() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> {
            reply.header("retry-after", "3");
            reply.send(502, "text/html; charset=utf-8", PAGE);
        });
        HttpResponse<String> r = post("/v1/chat/completions", CHAT_OPENAI, "html-native");
        assertThat(r.statusCode()).isEqualTo(502);
        assertNothingOfThePage(r.body());
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("message").asText()).isEqualTo("openai answered HTTP 502 with a text/html body, not a JSON error.");
        assertThat(error.get("code").asText()).isEqualTo("upstream_error");
        assertThat(error.get("type").asText()).isEqualTo("server_error");
        assertThat(r.headers().firstValue("retry-after")).hasValue("3"); // still the provider's to say
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai");
        // the operator's log keeps what the page said
        JsonNode line = JSON.readTree(gw.usageLine("html-native"));
        assertThat(line.get("status").asInt()).isEqualTo(502);
        assertThat(line.get("error").asText()).contains("10.20.30.40");
    }

    @Test
    void anHtmlErrorOnATranslatedRouteBecomesAShortErrorInTheClientsDialect() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.send(503, "text/html", PAGE));
        openai.on("/v1/chat/completions", (req, reply) -> reply.send(500, "text/plain", "upstream connect error: 10.20.30.40:8443 nginx"));

        HttpResponse<String> chat = post("/v1/chat/completions", CHAT_ANTHROPIC, "html-chat-to-anthropic");
        assertThat(chat.statusCode()).isEqualTo(503);
        assertNothingOfThePage(chat.body());
        assertThat(JSON.readTree(chat.body()).at("/error/message").asText()).contains("anthropic").contains("503");

        HttpResponse<String> messages = post("/v1/messages", MESSAGES_OPENAI, "text-messages-to-openai");
        assertThat(messages.statusCode()).isEqualTo(500);
        assertNothingOfThePage(messages.body());
        JsonNode body = JSON.readTree(messages.body());
        assertThat(body.get("type").asText()).isEqualTo("error");
        assertThat(body.at("/error/type").asText()).isEqualTo("api_error");
        assertThat(body.at("/error/message").asText()).isEqualTo("openai answered HTTP 500 with a text/plain body, not a JSON error.");
    }

    @Test
    void anHtmlErrorOnMessagesToAnthropicIsInAnthropicsShape() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.send(529, "text/html", PAGE));
        HttpResponse<String> r = post("/v1/messages", MESSAGES_ANTHROPIC, "html-messages-native");
        assertThat(r.statusCode()).isEqualTo(529);
        assertNothingOfThePage(r.body());
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.at("/error/type").asText()).isEqualTo("overloaded_error");
        assertThat(body.at("/error/message").asText()).contains("anthropic").contains("529");
    }

    @Test
    void anEmptyErrorBodySaysSo() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> reply.send(404, "text/html", ""));
        HttpResponse<String> r = post("/v1/chat/completions", CHAT_OPENAI, "empty-error");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(r.body()).at("/error/message").asText()).isEqualTo("openai answered HTTP 404 with an empty body.");
    }

    @Test
    void theProvidersJsonErrorsStillPassTranslatedWhereTheRouteTranslates() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.json(400,
                "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"max_tokens: too large\"}}"));
        HttpResponse<String> r = post("/v1/chat/completions", CHAT_ANTHROPIC, "json-error");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/message").asText()).isEqualTo("max_tokens: too large");
    }

    @Test
    void anUnreachableProviderIsNamedNotItsAddress() throws Exception {
        int closedPort;
        try (var s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        gw.close();
        gw = TestGateway.start("SKIFF_MASTER_KEY", KEY, "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", "http://127.0.0.1:" + closedPort + "/v1",
                "ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", "http://127.0.0.1:" + closedPort + "/v1").awaitListings();
        String port = String.valueOf(closedPort);
        HttpResponse<String> chat = post("/v1/chat/completions", CHAT_OPENAI, "unreachable-chat");
        assertThat(chat.statusCode()).isEqualTo(502);
        assertThat(chat.body()).doesNotContain("127.0.0.1").doesNotContain(port);
        assertThat(JSON.readTree(chat.body()).at("/error/message").asText()).isEqualTo("openai is unreachable: the connection was refused");

        HttpResponse<String> messages = post("/v1/messages", MESSAGES_ANTHROPIC, "unreachable-messages");
        assertThat(messages.statusCode()).isEqualTo(502);
        assertThat(messages.body()).doesNotContain("127.0.0.1").doesNotContain(port).contains("anthropic is unreachable");

        HttpResponse<String> passthrough = gw.send("GET", "/p/openai/files", null);
        assertThat(passthrough.statusCode()).isEqualTo(401); // the key is required there too
        passthrough = gw.get("/p/openai/files", "Authorization", "Bearer " + KEY);
        assertThat(passthrough.statusCode()).isEqualTo(502);
        assertThat(passthrough.body()).doesNotContain("127.0.0.1").doesNotContain(port).contains("openai is unreachable");

        // the model listing's failure, shown in /v1/models, says as little
        HttpResponse<String> models = gw.get("/v1/models", "Authorization", "Bearer " + KEY);
        assertThat(models.body()).doesNotContain("127.0.0.1").contains("openai is unreachable");

        // the operator's log has the address
        assertThat(JSON.readTree(gw.usageLine("unreachable-chat")).get("error").asText()).contains(port);
    }

    @Test
    void aModelListingAnsweredWithHtmlShowsOnlyItsStatus() throws Exception {
        MockUpstream broken = new MockUpstream();
        broken.on("/v1/models", (req, reply) -> reply.send(500, "text/html", PAGE));
        try (broken) {
            gw.close();
            gw = TestGateway.start("SKIFF_MASTER_KEY", KEY, "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", broken.baseUrl()).awaitListings();
            HttpResponse<String> models = gw.get("/v1/models", "Authorization", "Bearer " + KEY);
            assertNothingOfThePage(models.body());
            assertThat(JSON.readTree(models.body()).at("/providers/0/error").asText()).isEqualTo("HTTP 500 Internal Server Error");
            HttpResponse<String> unknown = post("/v1/chat/completions", "{\"model\":\"gpt-x\",\"messages\":[]}", "listing-404");
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertNothingOfThePage(unknown.body());
        }
    }
}
