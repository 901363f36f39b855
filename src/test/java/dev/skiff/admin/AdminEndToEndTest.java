package dev.skiff.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The admin API on a real socket: authentication on the head, dispatch off the event loop, replies in order. */
class AdminEndToEndTest {
    @Test
    void masterKeyReachesResourcesAndOthersAreRefused() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", "master-secret")) {
            gw.skiff.admin().register(new AdminApiTest.Echo());
            HttpResponse<String> ok = gw.request("POST", "/admin/v1/echo/x?q=1", "{\"a\":true}", "Authorization", "Bearer master-secret");
            assertThat(ok.statusCode()).isEqualTo(200);
            JsonNode j = OpenAiChat.JSON.readTree(ok.body());
            assertThat(j.at("/body/a").asBoolean()).isTrue();
            assertThat(j.get("segments").toString()).isEqualTo("[\"x\"]");
            assertThat(ok.headers().firstValue("x-request-id")).isPresent();

            HttpResponse<String> none = gw.request("POST", "/admin/v1/echo", "{}");
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(OpenAiChat.JSON.readTree(none.body()).at("/error/code").asText()).isEqualTo("invalid_api_key");
            HttpResponse<String> wrong = gw.request("GET", "/admin/v1/echo", null, "x-api-key", "nope");
            assertThat(wrong.statusCode()).isEqualTo(401);

            HttpResponse<String> doc = gw.request("GET", "/admin/v1/openapi.json", null, "x-api-key", "master-secret");
            assertThat(doc.statusCode()).isEqualTo(200);
            assertThat(OpenAiChat.JSON.readTree(doc.body()).at("/paths/~1admin~1v1~1echo").isObject()).isTrue();
            HttpResponse<String> missing = gw.request("GET", "/admin/v1/none", null, "x-api-key", "master-secret");
            assertThat(missing.statusCode()).isEqualTo(404);
            assertThat(OpenAiChat.JSON.readTree(missing.body()).at("/error/code").asText()).isEqualTo("unknown_url");
        }
    }
}
