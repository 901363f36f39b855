package dev.skiff.control.keys;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** /admin/v1/keys on a real socket, and the keys it makes used on /v1. */
class KeysAdminEndToEndTest {
    static final String MASTER = "master-secret";

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return OpenAiChat.JSON.readTree(r.body());
    }

    static HttpResponse<String> admin(TestGateway gw, String method, String path, String body, String key) throws Exception {
        return gw.request(method, path, body, "Authorization", "Bearer " + key);
    }

    /** Creates a key with the master key; returns the answer (with its secret). */
    static JsonNode create(TestGateway gw, String body) throws Exception {
        HttpResponse<String> r = admin(gw, "POST", "/admin/v1/keys", body, MASTER);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json(r);
    }

    @Test
    void createShowsTheSecretOnceListPatchAndRevoke() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER)) {
            JsonNode created = create(gw, "{\"name\":\"support bot\",\"user_path\":\"acme//support/\",\"allowed_models\":[\"anthropic/*\"],"
                    + "\"labels\":{\"team\":\"support\"},\"limits\":{\"rpm\":10}}");
            String secret = created.get("secret").asText();
            String id = created.get("id").asText();
            assertThat(secret).startsWith("sk-skiff-");
            assertThat(created.get("user_path").asText()).isEqualTo("/acme/support");
            assertThat(created.get("status").asText()).isEqualTo("active");
            assertThat(created.get("limits").get("rpm").asInt()).isEqualTo(10);

            HttpResponse<String> list = admin(gw, "GET", "/admin/v1/keys", null, MASTER);
            assertThat(list.statusCode()).isEqualTo(200);
            assertThat(list.body()).doesNotContain(secret).doesNotContain("\"secret\"").contains(id);
            assertThat(json(list).get("data")).hasSize(1);
            HttpResponse<String> one = admin(gw, "GET", "/admin/v1/keys/" + id, null, MASTER);
            assertThat(one.body()).doesNotContain(secret).doesNotContain("hash");
            assertThat(json(one).get("prefix").asText()).isEqualTo(created.get("prefix").asText());

            HttpResponse<String> patched = admin(gw, "PATCH", "/admin/v1/keys/" + id, "{\"name\":\"renamed\",\"expires_at\":\"2099-01-01T00:00:00Z\"}",
                    MASTER);
            assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
            assertThat(json(patched).get("name").asText()).isEqualTo("renamed");
            assertThat(json(patched).get("expires_at").asLong()).isEqualTo(4070908800L);
            assertThat(json(patched).get("user_path").asText()).isEqualTo("/acme/support"); // untouched fields stay

            HttpResponse<String> bad = admin(gw, "PATCH", "/admin/v1/keys/" + id, "{\"user_path\":\"/a/../b\"}", MASTER);
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(json(bad).at("/error/param").asText()).isEqualTo("user_path");
            assertThat(admin(gw, "POST", "/admin/v1/keys", "{\"scopes\":[\"root\"]}", MASTER).statusCode()).isEqualTo(400);
            assertThat(admin(gw, "POST", "/admin/v1/keys", "{\"nmae\":\"typo\"}", MASTER).body()).contains("nmae");
            assertThat(admin(gw, "POST", "/admin/v1/keys", "[1]", MASTER).statusCode()).isEqualTo(400);
            assertThat(admin(gw, "GET", "/admin/v1/keys/key_nope", null, MASTER).statusCode()).isEqualTo(404);
            assertThat(admin(gw, "PUT", "/admin/v1/keys/" + id, "{}", MASTER).statusCode()).isEqualTo(405);

            HttpResponse<String> rotated = admin(gw, "POST", "/admin/v1/keys/" + id + "/rotate", null, MASTER);
            assertThat(rotated.statusCode()).as(rotated.body()).isEqualTo(200);
            String newSecret = json(rotated).get("secret").asText();
            assertThat(newSecret).startsWith("sk-skiff-").isNotEqualTo(secret);
            assertThat(json(rotated).get("id").asText()).isEqualTo(id);
            HttpResponse<String> old = gw.post("/v1/chat/completions", "{\"model\":\"x\",\"messages\":[]}", "Authorization", "Bearer " + secret);
            assertThat(old.statusCode()).isEqualTo(401);
            assertThat(gw.post("/v1/chat/completions", "{\"model\":\"x\",\"messages\":[]}", "Authorization", "Bearer " + newSecret)
                    .statusCode()).isNotEqualTo(401); // past authentication (no provider serves x)
            secret = newSecret;

            HttpResponse<String> revoked = admin(gw, "DELETE", "/admin/v1/keys/" + id, null, MASTER);
            assertThat(revoked.statusCode()).isEqualTo(200);
            assertThat(json(revoked).get("status").asText()).isEqualTo("revoked");
            assertThat(json(revoked).get("revoked_at").isNumber()).isTrue();
            HttpResponse<String> refused = gw.post("/v1/chat/completions", "{\"model\":\"x\",\"messages\":[]}", "Authorization", "Bearer " + secret);
            assertThat(refused.statusCode()).isEqualTo(401);
            assertThat(json(refused).at("/error/message").asText()).contains("revoked");
            assertThat(admin(gw, "POST", "/admin/v1/keys/" + id + "/rotate", null, MASTER).statusCode()).isEqualTo(409);
        }
    }

    @Test
    void adminNeedsTheMasterKeyOrAnAdminScopedKey() throws Exception {
        try (MockUpstream up = new MockUpstream().models("gpt-4o")) {
            up.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"1\",\"object\":\"chat.completion\",\"choices\":[]}"));
            try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl())) {
                String plain = create(gw, "{\"name\":\"plain\"}").get("secret").asText();
                String adminKey = create(gw, "{\"name\":\"ops\",\"scopes\":[\"admin\"]}").get("secret").asText();

                HttpResponse<String> none = gw.request("GET", "/admin/v1/keys", null);
                assertThat(none.statusCode()).isEqualTo(401);
                HttpResponse<String> notAdmin = admin(gw, "POST", "/admin/v1/keys", "{\"name\":\"escalate\",\"scopes\":[\"admin\"]}", plain);
                assertThat(notAdmin.statusCode()).isEqualTo(403);
                assertThat(json(notAdmin).at("/error/code").asText()).isEqualTo("insufficient_permissions");
                assertThat(json(notAdmin).at("/error/type").asText()).isEqualTo("permission_error");
                assertThat(json(admin(gw, "GET", "/admin/v1/keys", null, MASTER)).get("data")).hasSize(2); // nothing was made

                HttpResponse<String> byAdminKey = gw.request("GET", "/admin/v1/keys", null, "x-api-key", adminKey);
                assertThat(byAdminKey.statusCode()).isEqualTo(200);

                // The plain key works where it is meant to.
                HttpResponse<String> chat = gw.post("/v1/chat/completions", "{\"model\":\"openai/gpt-4o\",\"messages\":[]}",
                        "Authorization", "Bearer " + plain);
                assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
                assertThat(up.take("/v1/chat/completions").header("Authorization")).isEqualTo("Bearer k");
            }
        }
    }

    @Test
    void openApiDescribesEveryPathAndOperation() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER)) {
            JsonNode doc = json(admin(gw, "GET", "/admin/v1/openapi.json", null, MASTER));
            assertThat(doc.get("openapi").asText()).startsWith("3.1");
            JsonNode paths = doc.get("paths");
            assertThat(paths.has("/admin/v1/keys")).isTrue();
            assertThat(paths.get("/admin/v1/keys").has("get")).isTrue();
            assertThat(paths.get("/admin/v1/keys").has("post")).isTrue();
            for (String m : new String[] {"get", "patch", "delete"}) assertThat(paths.get("/admin/v1/keys/{id}").has(m)).isTrue();
            assertThat(paths.get("/admin/v1/keys/{id}/rotate").has("post")).isTrue();
            // Every $ref resolves.
            for (String ref : refs(doc, new java.util.ArrayList<>())) {
                assertThat(doc.at(ref.substring(1)).isMissingNode()).as(ref).isFalse();
            }
        }
    }

    private static java.util.List<String> refs(JsonNode n, java.util.List<String> out) {
        if (n.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("$ref")) out.add(e.getValue().asText());
                else refs(e.getValue(), out);
            }
        } else if (n.isArray()) {
            n.forEach(c -> refs(c, out));
        }
        return out;
    }
}
