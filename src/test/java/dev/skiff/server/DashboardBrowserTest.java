package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.testing.Chromium;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The dashboard in a real headless Chromium against a real Skiff: logging in with the master key,
 * managing keys, the usage chart. Skipped, saying why, where no Chromium can be had.
 */
class DashboardBrowserTest {
    static final Duration WAIT = Duration.ofSeconds(15);
    static final String MASTER = "mk-dashboard-test";

    MockUpstream upstream;
    TestGateway gw;
    Chromium browser;

    @BeforeEach
    void setUp() throws Exception {
        Path binary = Chromium.find();
        assumeTrue(binary != null, Chromium.MISSING);
        upstream = new MockUpstream();
        upstream.on("/v1/chat/completions", (req, reply) -> reply.json(200, """
                {"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"""));
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "sk-up", "OPENAI_BASE_URL", upstream.baseUrl()).awaitListings();
        browser = Chromium.start(binary);
    }

    @AfterEach
    void tearDown(TestInfo test) throws Exception {
        if (browser != null) {
            try {
                browser.screenshot(Path.of("target", "dashboard-" + test.getTestMethod().orElseThrow().getName() + ".png"));
            } catch (Exception e) {
                // evidence only
            }
            browser.close();
        }
        if (gw != null) gw.close();
        if (upstream != null) upstream.close();
    }

    void logIn() throws Exception {
        browser.navigate(gw.url("/ui"));
        browser.waitFor("document.getElementById('login-key')", WAIT);
        browser.eval("document.getElementById('login-key').value = '" + MASTER + "'; document.getElementById('login').requestSubmit(); true");
        browser.waitFor("!document.getElementById('nav').hidden && document.getElementById('main').dataset.ready === 'true'", WAIT);
    }

    @Test
    void aWrongKeyIsRefusedAndTheMasterKeyLogsInWithACookieScriptsCannotRead() throws Exception {
        browser.navigate(gw.url("/ui"));
        browser.waitFor("document.getElementById('login-key')", WAIT);
        browser.eval("document.getElementById('login-key').value = 'wrong'; document.getElementById('login').requestSubmit(); true");
        browser.waitFor("document.querySelector('#login-status .notice.error')", WAIT);
        assertThat(browser.eval("document.querySelector('#login-status').innerText").asText()).contains("Incorrect API key");
        assertThat(browser.eval("document.getElementById('login-key').value").asText()).as("the key leaves the form once sent").isEmpty();

        browser.eval("document.getElementById('login-key').value = '" + MASTER + "'; document.getElementById('login').requestSubmit(); true");
        browser.waitFor("!document.getElementById('nav').hidden", WAIT);
        assertThat(browser.eval("document.cookie").asText()).as("HttpOnly: page scripts never see the session").doesNotContain("skiff_ui");
        assertThat(browser.consoleErrors()).isEmpty();

        // The session survives a reload, and ends with logout.
        browser.navigate(gw.url("/ui#/keys"));
        browser.waitFor("document.querySelector('table#keys')", WAIT);
        browser.eval("document.getElementById('logout').click(); true");
        browser.waitFor("document.getElementById('login-key')", WAIT);
        browser.navigate(gw.url("/ui#/keys"));
        browser.waitFor("document.getElementById('login-key')", WAIT);
    }

    @Test
    void keysAreCreatedShownOnceAndRevoked() throws Exception {
        logIn();
        browser.navigate(gw.url("/ui#/keys"));
        browser.waitFor("document.getElementById('main').dataset.view === 'keys' && document.getElementById('main').dataset.ready === 'true'", WAIT);
        browser.eval("""
                const f = document.getElementById('new-key');
                f.elements.name.value = 'ci-bot'; f.elements.user_path.value = '/ci'; f.elements.allowed_models.value = 'openai/*';
                f.requestSubmit(); true""");
        browser.waitFor("document.querySelector('#secret .secret-value')", WAIT);
        String secret = browser.eval("document.querySelector('#secret .secret-value').textContent").asText();
        assertThat(secret).startsWith("sk-skiff-");
        String keyId = browser.eval("document.querySelector('#keys tbody tr[data-key-id]').dataset.keyId").asText();
        assertThat(browser.eval("document.querySelector('#keys tbody tr').innerText").asText()).contains("ci-bot", "/ci", "openai/*", "active");

        // The key works; then it is revoked from the page and stops working.
        assertThat(gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "Authorization", "Bearer " + secret).statusCode()).isEqualTo(200);
        browser.eval("window.confirm = () => true; [...document.querySelectorAll('#keys tr[data-key-id=\"" + keyId
                + "\"] button')].find(b => b.textContent === 'Revoke').click(); true");
        browser.waitFor("document.querySelector('#keys tr[data-key-id=\"" + keyId + "\"]').innerText.includes('revoked')", WAIT);
        assertThat(gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "Authorization", "Bearer " + secret).statusCode()).isEqualTo(401);
    }

    @Test
    void usageIsChartedByModel() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertThat(gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                    "Authorization", "Bearer " + MASTER).statusCode()).isEqualTo(200);
        }
        logIn();
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode bars;
        do { // the usage store writes in batches, off the request path
            browser.navigate(gw.url("/ui#/usage?days=7&metric=requests&by=model&t=" + System.nanoTime()));
            browser.waitFor("document.getElementById('main').dataset.view === 'usage' && document.getElementById('main').dataset.ready === 'true'", WAIT);
            bars = browser.eval("[...document.querySelectorAll('figure.chart rect.bar')].map(r => r.dataset.series)");
        } while (bars.isEmpty() && System.nanoTime() < deadline && sleep());
        assertThat(bars.toString()).contains("gpt-4o-mini");
        assertThat(browser.eval("document.querySelector('#usage-groups tbody').innerText").asText()).contains("gpt-4o-mini", "3");
        assertThat(browser.consoleErrors()).isEmpty();
    }

    private static boolean sleep() throws InterruptedException {
        Thread.sleep(200);
        return true;
    }
}
