package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The audit level changed on a real socket without a restart (PUT /admin/v1/audit/settings): off at
 * start, turned on (a request then has its record, with bodies at bodies level), turned off (a request
 * then has none); refusals in the OpenAI error envelope.
 */
class AuditToggleEndToEndTest {
    static final String MASTER = "master-secret";

    MockUpstream openai;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}"));
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "sk-up", "OPENAI_BASE_URL", openai.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
    }

    HttpResponse<String> settings(String method, String body, String... auth) throws Exception {
        return gw.request(method, "/admin/v1/audit/settings", body, auth.length == 0 ? new String[] {"Authorization", "Bearer " + MASTER} : auth);
    }

    JsonNode level(String level) throws Exception {
        HttpResponse<String> r = settings("PUT", "{\"level\":\"" + level + "\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return OpenAiChat.JSON.readTree(r.body());
    }

    /** A chat request on a kept-alive connection of the test client; its request id. */
    String chat() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}",
                "Authorization", "Bearer " + MASTER);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return r.headers().firstValue("x-request-id").orElseThrow();
    }

    /** The record of a request once stored, or null when none came within a few seconds. */
    JsonNode record(String requestId, int tries) throws Exception {
        for (int i = 0; i < tries; i++) {
            HttpResponse<String> r = gw.request("GET", "/admin/v1/audit/" + requestId, null, "Authorization", "Bearer " + MASTER);
            if (r.statusCode() == 200) return OpenAiChat.JSON.readTree(r.body());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(404);
            Thread.sleep(50);
        }
        return null;
    }

    /** Waits (a few seconds at most) until the usage row of a request is stored. */
    void awaitUsageRow(String requestId) throws Exception {
        for (int i = 0; i < 100; i++) {
            try (java.sql.Connection c = gw.skiff.usageStore().database().connection();
                    java.sql.PreparedStatement s = c.prepareStatement("SELECT 1 FROM usage_requests WHERE request_id = ?")) {
                s.setString(1, requestId);
                try (java.sql.ResultSet rs = s.executeQuery()) {
                    if (rs.next()) return;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no usage row of " + requestId);
    }

    /** Whether the usage row of a request carries its client request's body (the usage file, read directly). */
    boolean bodiesInUsageRow(String requestId) throws Exception {
        try (java.sql.Connection c = gw.skiff.usageStore().database().connection();
                java.sql.PreparedStatement s = c.prepareStatement("SELECT request_body IS NOT NULL FROM usage_requests WHERE request_id = ?")) {
            s.setString(1, requestId);
            try (java.sql.ResultSet rs = s.executeQuery()) {
                assertThat(rs.next()).as("a usage row of " + requestId).isTrue();
                return rs.getBoolean(1);
            }
        }
    }

    @Test
    void turnedOnARequestHasItsRecordTurnedOffNone() throws Exception {
        HttpResponse<String> start = settings("GET", null);
        assertThat(start.statusCode()).as(start.body()).isEqualTo(200);
        JsonNode s = OpenAiChat.JSON.readTree(start.body());
        assertThat(s.get("object").asText()).isEqualTo("audit.settings");
        assertThat(s.get("level").asText()).isEqualTo("off");
        assertThat(s.get("start_level").asText()).isEqualTo("off");
        assertThat(s.get("persisted").asBoolean(true)).isFalse();
        assertThat(s.get("store").isNull()).as("not opened while off").isTrue();
        HttpResponse<String> list = gw.request("GET", "/admin/v1/audit", null, "Authorization", "Bearer " + MASTER);
        assertThat(list.statusCode()).as("no log to read yet").isEqualTo(404);
        assertThat(OpenAiChat.JSON.readTree(list.body()).at("/error/message").asText()).contains("audit/settings");
        String before = chat(); // off: on this connection before the audit tap was ever needed
        awaitUsageRow(before); // the usage file made while off

        JsonNode on = level("bodies");
        assertThat(on.get("level").asText()).isEqualTo("bodies");
        assertThat(on.get("previous_level").asText()).isEqualTo("off");
        assertThat(on.get("note").asText()).contains("not saved");
        String audited = chat();
        JsonNode a = record(audited, 100);
        assertThat(a).as("a record of the request made while on").isNotNull();
        assertThat(a.get("level").asText()).isEqualTo("bodies");
        assertThat(a.at("/client/request/body/json/messages/0/content").asText()).isEqualTo("hello");
        assertThat(a.at("/client/response/body/json/choices/0/message/content").asText()).as("the response, through the tap added on the way")
                .isEqualTo("Hi");
        assertThat(record(before, 1)).as("none of the one before").isNull();
        // The usage file was made while the level was off (the request before): its pages take rows
        // with bodies all the same, so the record and its bodies ride in the request's usage row.
        assertThat(bodiesInUsageRow(audited)).as("bodies in the usage row").isTrue();
        assertThat(bodiesInUsageRow(before)).as("none while off").isFalse();

        JsonNode meta = level("metadata");
        assertThat(meta.get("previous_level").asText()).isEqualTo("bodies");
        String metadata = chat();
        JsonNode m = record(metadata, 100);
        assertThat(m.get("level").asText()).isEqualTo("metadata");
        assertThat(m.at("/client/request/body").isNull()).isTrue();

        JsonNode off = level("off");
        assertThat(off.get("level").asText()).isEqualTo("off");
        String unaudited = chat();
        String unaudited2 = chat(); // the tap is out of the connection's way now; nothing is captured either
        // Turned on again, a request's record is stored after any of the two would have been.
        level("metadata");
        String after = chat();
        assertThat(record(after, 100)).isNotNull();
        assertThat(record(unaudited, 1)).as("no record while off").isNull();
        assertThat(record(unaudited2, 1)).isNull();
        JsonNode listed = OpenAiChat.JSON.readTree(gw.request("GET", "/admin/v1/audit?endpoint=chat", null, "Authorization", "Bearer " + MASTER).body());
        assertThat(listed.get("level").asText()).isEqualTo("metadata");
        assertThat(listed.get("data")).hasSize(3);
    }

    @Test
    void badLevelsAndCallersAreRefused() throws Exception {
        HttpResponse<String> bad = settings("PUT", "{\"level\":\"verbose\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        JsonNode e = OpenAiChat.JSON.readTree(bad.body());
        assertThat(e.at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.at("/error/param").asText()).isEqualTo("level");
        assertThat(e.at("/error/message").asText()).contains("off, metadata or bodies");
        assertThat(settings("PUT", "{\"level\":3}").statusCode()).isEqualTo(400);
        assertThat(settings("PUT", "{\"level\":\"\"}").statusCode()).isEqualTo(400);
        assertThat(settings("PATCH", "{\"level\":\"bodies\",\"max_body\":10}").statusCode()).isEqualTo(400);
        assertThat(settings("PUT", null).statusCode()).isEqualTo(400);
        assertThat(settings("DELETE", null).statusCode()).isEqualTo(405);

        HttpResponse<String> none = gw.request("PUT", "/admin/v1/audit/settings", "{\"level\":\"bodies\"}");
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(OpenAiChat.JSON.readTree(none.body()).at("/error/code").asText()).isEqualTo("invalid_api_key");
        HttpResponse<String> made = gw.request("POST", "/admin/v1/keys", "{\"name\":\"plain\"}", "Authorization", "Bearer " + MASTER);
        assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
        String plain = OpenAiChat.JSON.readTree(made.body()).get("secret").asText();
        HttpResponse<String> notAdmin = settings("PUT", "{\"level\":\"bodies\"}", "Authorization", "Bearer " + plain);
        assertThat(notAdmin.statusCode()).isEqualTo(403);
        assertThat(OpenAiChat.JSON.readTree(notAdmin.body()).at("/error/type").asText()).isEqualTo("permission_error");

        JsonNode still = OpenAiChat.JSON.readTree(settings("GET", null).body());
        assertThat(still.get("level").asText()).as("nothing refused changed it").isEqualTo("off");
        assertThat(gw.skiff.auditLog()).isNull();
        JsonNode doc = OpenAiChat.JSON.readTree(gw.request("GET", "/admin/v1/openapi.json", null, "Authorization", "Bearer " + MASTER).body());
        assertThat(doc.at("/paths/~1admin~1v1~1audit~1settings/put").isObject()).isTrue();
    }
}
