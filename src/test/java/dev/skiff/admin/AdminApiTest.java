package dev.skiff.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.control.Caller;
import dev.skiff.dialect.openai.OpenAiChat;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AdminApiTest {
    /** Echoes what it was given, and refuses on demand. */
    static final class Echo implements AdminResource {
        @Override
        public String name() {
            return "echo";
        }

        @Override
        public AdminReply handle(AdminRequest r) {
            if (r.segments().contains("refuse")) throw AdminException.badRequest("refused as asked", "segments");
            if (r.segments().contains("boom")) throw new IllegalStateException("kaboom");
            if (r.segments().contains("csv")) return AdminReply.csv("a,b\n1,2\n");
            ObjectNode out = OpenAiChat.JSON.createObjectNode().put("method", r.method()).put("owner", r.caller().owner())
                    .put("q", r.param("q", "none"));
            out.putPOJO("segments", r.segments());
            if (r.body() != null) out.set("body", r.body());
            return AdminReply.ok(out);
        }

        @Override
        public ObjectNode openApi() {
            ObjectNode f = OpenAiChat.JSON.createObjectNode();
            f.putObject("paths").putObject("/admin/v1/echo").putObject("get").put("summary", "echo");
            f.putObject("components").putObject("schemas").putObject("Echo").put("type", "object");
            return f;
        }
    }

    static JsonNode json(AdminReply r) throws Exception {
        return OpenAiChat.JSON.readTree(r.body());
    }

    @Test
    void dispatchesByResourceWithDecodedSegmentsQueryAndBody() throws Exception {
        try (AdminApi api = new AdminApi()) {
            api.register(new Echo());
            AdminReply r = api.handle("POST", "/admin/v1/echo/a%2Fb/c?q=x%20y", "{\"k\":1}".getBytes(StandardCharsets.UTF_8), Caller.MASTER);
            assertThat(r.status()).isEqualTo(200);
            JsonNode j = json(r);
            assertThat(j.get("segments").toString()).isEqualTo("[\"a/b\",\"c\"]");
            assertThat(j.get("q").asText()).isEqualTo("x y");
            assertThat(j.at("/body/k").asInt()).isEqualTo(1);
            assertThat(j.get("owner").asText()).isEqualTo("master");
        }
    }

    @Test
    void errorsComeInTheOpenAiEnvelope() throws Exception {
        try (AdminApi api = new AdminApi()) {
            api.register(new Echo());
            AdminReply unknown = api.handle("GET", "/admin/v1/nope", null, Caller.MASTER);
            assertThat(unknown.status()).isEqualTo(404);
            assertThat(json(unknown).at("/error/message").asText()).contains("nope").contains("echo");
            AdminReply badJson = api.handle("POST", "/admin/v1/echo", "{not json".getBytes(StandardCharsets.UTF_8), Caller.MASTER);
            assertThat(badJson.status()).isEqualTo(400);
            assertThat(json(badJson).at("/error/type").asText()).isEqualTo("invalid_request_error");
            AdminReply refused = api.handle("GET", "/admin/v1/echo/refuse", null, Caller.MASTER);
            assertThat(json(refused).at("/error/param").asText()).isEqualTo("segments");
            AdminReply boom = api.handle("GET", "/admin/v1/echo/boom", null, Caller.MASTER);
            assertThat(boom.status()).isEqualTo(500);
            assertThat(json(boom).at("/error/message").asText()).contains("kaboom");
            assertThat(api.handle("GET", "/admin/v1/echo/%zz", null, Caller.MASTER).status()).isEqualTo(400);
            assertThat(api.handle("POST", "/admin/v1/openapi.json", null, Caller.MASTER).status()).isEqualTo(405);
            assertThat(new String(api.handle("GET", "/admin/v1/echo/csv", null, Caller.MASTER).body(), StandardCharsets.UTF_8))
                    .isEqualTo("a,b\n1,2\n");
        }
    }

    @Test
    void openApiMergesEveryResourcesFragment() throws Exception {
        try (AdminApi api = new AdminApi()) {
            api.register(new Echo());
            JsonNode doc = json(api.handle("GET", "/admin/v1/openapi.json", null, Caller.MASTER));
            assertThat(doc.get("openapi").asText()).startsWith("3.");
            assertThat(doc.at("/paths/~1admin~1v1~1echo/get/summary").asText()).isEqualTo("echo");
            assertThat(doc.at("/paths/~1admin~1v1~1openapi.json").isObject()).isTrue();
            assertThat(doc.at("/components/schemas/Echo").isObject()).isTrue();
            assertThat(doc.at("/components/schemas/Error").isObject()).isTrue();
        }
    }
}
