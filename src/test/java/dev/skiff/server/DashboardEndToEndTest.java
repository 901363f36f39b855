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

/** The dashboard's routes and its login, over plain HTTP: what a browser gets, and what it cannot do. */
class DashboardEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "mk-ui";
    static final String UI = "x-skiff-ui";

    MockUpstream upstream;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        upstream = new MockUpstream();
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "sk-up", "OPENAI_BASE_URL", upstream.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        upstream.close();
    }

    /** Logs in with {@code key}; returns the cookie pair ({@code skiff_ui=...}). */
    String login(String key) throws Exception {
        HttpResponse<String> r = gw.post("/ui/login", "", UI, "1", "Authorization", "Bearer " + key);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String setCookie = r.headers().firstValue("set-cookie").orElseThrow();
        return setCookie.substring(0, setCookie.indexOf(';'));
    }

    @Test
    void thePageIsServedWithAPolicyThatAllowsOnlySkiffsOwnScripts() throws Exception {
        HttpResponse<String> page = gw.get("/ui");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type").orElse("")).startsWith("text/html");
        assertThat(page.headers().firstValue("content-security-policy").orElse("")).contains("script-src 'self'", "frame-ancestors 'none'")
                .doesNotContain("unsafe-inline");
        assertThat(page.headers().firstValue("x-content-type-options")).hasValue("nosniff");
        assertThat(page.body()).contains("/ui/app.js");
        assertThat(gw.get("/ui/").body()).isEqualTo(page.body());
        assertThat(gw.get("/ui/app.js").headers().firstValue("content-type").orElse("")).startsWith("text/javascript");
        assertThat(gw.get("/ui/nothing.js").statusCode()).isEqualTo(404);
        assertThat(gw.get("/ui/..%2fpom.xml").statusCode()).isEqualTo(404);
        assertThat(gw.get("/ui/sub/app.js").statusCode()).isEqualTo(404);
        assertThat(gw.request("DELETE", "/ui/app.js", null).statusCode()).isEqualTo(405);
    }

    @Test
    void theCookieHoldsASessionTokenNeverTheKeyAndOpensOnlyTheAdminApiWithTheDashboardsHeader() throws Exception {
        assertThat(gw.post("/ui/login", "", "Authorization", "Bearer " + MASTER).statusCode())
                .as("without the dashboard's header (a cross-site form)").isEqualTo(403);
        assertThat(gw.post("/ui/login", "", UI, "1", "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
        assertThat(gw.post("/ui/login", "", UI, "1").statusCode()).isEqualTo(401);

        HttpResponse<String> r = gw.post("/ui/login", "", UI, "1", "Authorization", "Bearer " + MASTER);
        String setCookie = r.headers().firstValue("set-cookie").orElseThrow();
        assertThat(setCookie).startsWith("skiff_ui=").contains("HttpOnly", "SameSite=Strict", "Path=/").doesNotContain(MASTER)
                .doesNotContain("Secure");
        assertThat(gw.post("/ui/login", "", UI, "1", "Authorization", "Bearer " + MASTER, "X-Forwarded-Proto", "https")
                .headers().firstValue("set-cookie").orElseThrow()).contains("; Secure");
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));

        assertThat(gw.get("/admin/v1/keys", "Cookie", cookie, UI, "1").statusCode()).isEqualTo(200);
        assertThat(gw.get("/admin/v1/keys", "Cookie", cookie).statusCode()).as("the cookie alone").isEqualTo(401);
        assertThat(gw.get("/admin/v1/keys", "Cookie", "skiff_ui=forged", UI, "1").statusCode()).isEqualTo(401);
        assertThat(gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}", "Cookie", cookie, UI, "1").statusCode())
                .as("a session is for the admin API, never for /v1").isEqualTo(401);
        JsonNode session = JSON.readTree(gw.get("/ui/session", "Cookie", cookie).body());
        assertThat(session.get("authenticated").asBoolean()).isTrue();
        assertThat(JSON.readTree(gw.get("/ui/session").body()).get("authenticated").asBoolean()).isFalse();

        HttpResponse<String> out = gw.post("/ui/logout", "", "Cookie", cookie, UI, "1");
        assertThat(out.headers().firstValue("set-cookie").orElseThrow()).contains("Max-Age=0");
        assertThat(gw.get("/admin/v1/keys", "Cookie", cookie, UI, "1").statusCode()).as("ended by logout").isEqualTo(401);
    }

    @Test
    void aManagedKeyNeedsTheAdminScopeAndItsSessionEndsWhenItIsRevoked() throws Exception {
        JsonNode plain = JSON.readTree(gw.post("/admin/v1/keys", "{\"name\":\"app\"}", "Authorization", "Bearer " + MASTER).body());
        assertThat(gw.post("/ui/login", "", UI, "1", "Authorization", "Bearer " + plain.get("secret").asText()).statusCode()).isEqualTo(403);

        JsonNode admin = JSON.readTree(gw.post("/admin/v1/keys", "{\"name\":\"ops\",\"scopes\":[\"admin\"]}", "Authorization", "Bearer " + MASTER).body());
        String cookie = login(admin.get("secret").asText());
        assertThat(gw.get("/admin/v1/keys", "Cookie", cookie, UI, "1").statusCode()).isEqualTo(200);
        assertThat(gw.request("DELETE", "/admin/v1/keys/" + admin.get("id").asText(), null, "Authorization", "Bearer " + MASTER).statusCode())
                .isEqualTo(200);
        assertThat(gw.get("/admin/v1/keys", "Cookie", cookie, UI, "1").statusCode()).as("its key was revoked").isEqualTo(401);
    }
}
