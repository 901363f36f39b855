package dev.skiff.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input on a real socket records nothing wrongly: an unknown key is refused and its request is
 * attributed to no key; a key's malformed path or oversized end-user id is refused with 400 and counts
 * for that key at its own path; an admin call without the rights is refused and is not usage at all;
 * and none of it reaches the provider.
 */
class BadInputEndToEndTest {
    static final String MASTER = "master-secret";
    static final String CHAT = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    MockUpstream openai;
    TestGateway gw;
    String keyId;
    String secret;
    final List<String> providerCalls = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        openai.on("/v1/chat/completions", (req, reply) -> {
            providerCalls.add(req.body());
            reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[],"
                    + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}");
        });
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl()).awaitListings();
        HttpResponse<String> r = gw.request("POST", "/admin/v1/keys", "{\"name\":\"bot\",\"user_path\":\"/acme/support\"}",
                "Authorization", "Bearer " + MASTER);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode k = UsageEndToEndTest.json(r.body());
        keyId = k.get("id").asText();
        secret = k.get("secret").asText();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
    }

    record Row(String keyId, String userPath, String endUser, String endpoint, int status) {}

    @Test
    void refusalsAreRecordedForWhomTheyAreAndAdminRefusalsAreNotUsage() throws Exception {
        // An unknown key (well formed, never issued): 401, attributed to nobody.
        HttpResponse<String> unknown = gw.post("/v1/chat/completions", CHAT, "Authorization",
                "Bearer sk-skiff-" + "0".repeat(8) + "_" + "A".repeat(43));
        assertThat(unknown.statusCode()).isEqualTo(401);
        assertThat(UsageEndToEndTest.json(unknown.body()).at("/error/code").asText()).isEqualTo("invalid_api_key");

        // A path that escapes the key's: 400, for the key at its own path.
        HttpResponse<String> escape = gw.post("/v1/chat/completions", CHAT, "Authorization", "Bearer " + secret,
                "X-Skiff-User-Path", "../../other");
        assertThat(escape.statusCode()).isEqualTo(400);
        assertThat(UsageEndToEndTest.json(escape.body()).at("/error/code").asText()).isEqualTo("invalid_identification");
        assertThat(UsageEndToEndTest.json(escape.body()).at("/error/message").asText()).contains("X-Skiff-User-Path");

        // An end-user id longer than 256 characters: 400, for the key, with no end user recorded.
        HttpResponse<String> longUser = gw.post("/v1/messages",
                "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "x-api-key", secret, "anthropic-version", "2023-06-01", "X-End-User", "u".repeat(257));
        assertThat(longUser.statusCode()).isEqualTo(400);
        assertThat(UsageEndToEndTest.json(longUser.body()).at("/type").asText()).as("Anthropic's error shape on /v1/messages").isEqualTo("error");
        assertThat(longUser.body()).contains("257 characters");

        // The admin API with a key that has no admin scope: 403; with an unknown key: 401. Neither is usage.
        HttpResponse<String> notAdmin = gw.request("GET", "/admin/v1/keys", null, "Authorization", "Bearer " + secret);
        assertThat(notAdmin.statusCode()).isEqualTo(403);
        assertThat(UsageEndToEndTest.json(notAdmin.body()).at("/error/code").asText()).isEqualTo("insufficient_permissions");
        HttpResponse<String> adminUnknown = gw.request("DELETE", "/admin/v1/keys/" + keyId, null, "Authorization", "Bearer sk-skiff-nope");
        assertThat(adminUnknown.statusCode()).isEqualTo(401);
        // The master key's own admin calls are not usage either.
        assertThat(gw.request("GET", "/admin/v1/keys", null, "Authorization", "Bearer " + MASTER).statusCode()).isEqualTo(200);

        assertThat(providerCalls).as("no refused request reached the provider").isEmpty();

        // A good request last: once it is stored, everything before it has been through the writer (one queue, in order).
        HttpResponse<String> ok = gw.post("/v1/chat/completions", CHAT, "Authorization", "Bearer " + secret, "X-End-User", "alice");
        assertThat(ok.statusCode()).isEqualTo(200);
        Row good = awaitRow(requestId(ok));

        assertThat(good).isEqualTo(new Row(keyId, "/acme/support", "alice", "chat", 200));
        assertThat(rows(requestId(unknown))).containsExactly(new Row(null, null, null, "chat", 401));
        assertThat(rows(requestId(escape))).containsExactly(new Row(keyId, "/acme/support", null, "chat", 400));
        assertThat(rows(requestId(longUser))).containsExactly(new Row(keyId, "/acme/support", null, "messages", 400));
        assertThat(rows(requestId(notAdmin))).isEmpty();
        assertThat(rows(requestId(adminUnknown))).isEmpty();
        assertThat(count("SELECT COUNT(*) FROM usage_requests WHERE endpoint = 'admin'")).isZero();

        // The key's totals: the good request and its two refusals; nothing of anyone else's.
        HttpResponse<String> own = gw.get("/v1/usage", "Authorization", "Bearer " + secret);
        assertThat(own.statusCode()).as(own.body()).isEqualTo(200);
        JsonNode total = UsageEndToEndTest.json(own.body()).get("total");
        assertThat(total.get("requests").asLong()).isEqualTo(3);
        assertThat(total.get("errors").asLong()).isEqualTo(2);
        assertThat(total.get("input_tokens").asLong()).isEqualTo(3);
        assertThat(count("SELECT COUNT(*) FROM usage_requests WHERE endpoint = 'usage'")).as("GET /v1/usage is not usage").isZero();
    }

    private static String requestId(HttpResponse<?> r) {
        return r.headers().firstValue("x-request-id").orElseThrow();
    }

    private Row awaitRow(String requestId) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            List<Row> found = rows(requestId);
            if (!found.isEmpty()) return found.getFirst();
            Thread.sleep(20);
        }
        throw new AssertionError("request " + requestId + " was never stored");
    }

    private List<Row> rows(String requestId) throws Exception {
        List<Row> out = new ArrayList<>();
        try (Connection c = gw.skiff.usageStore().database().connection();
             PreparedStatement s = c.prepareStatement("SELECT key_id, user_path, end_user, endpoint, status FROM usage_requests WHERE request_id = ?")) {
            s.setString(1, requestId);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) out.add(new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getInt(5)));
            }
        }
        return out;
    }

    private long count(String sql) throws Exception {
        try (Connection c = gw.skiff.usageStore().database().connection(); PreparedStatement s = c.prepareStatement(sql);
             ResultSet rs = s.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
