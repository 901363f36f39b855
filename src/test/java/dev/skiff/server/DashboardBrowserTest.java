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
    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
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
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "sk-up", "OPENAI_BASE_URL", upstream.baseUrl(),
                "SKIFF_AUDIT", "bodies").awaitListings();
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

    /** An Anthropic Messages request as the audit API keeps it: thinking, an image, a tool call and its result, the answer. */
    static final String ANTHROPIC_DOC = """
            {"row":{"request_id":"req-ant","endpoint":"messages","path":"/v1/messages","status":200,"model":"claude-sonnet-4-5","provider":"anthropic",
                    "stream":true,"latency_us":900000},
             "detail":{"attempts":1,"usage":{"input_tokens":900,"output_tokens":40,"total_tokens":940},
              "timing":{"received_at":"2026-12-06T03:00:00Z","upstream_sent_ms":2.5,"upstream_connected_ms":12.0,"first_byte_ms":300.0,
                        "first_token_ms":320.0,"finished_ms":900.0,"events_ms":[320.0,400.0,650.0,900.0]},
              "client":{"request":{"method":"POST","url":"/v1/messages","headers":{"authorization":"[redacted]"},
                "body":{"size":1,"truncated":false,"json":{"model":"claude-sonnet-4-5","system":"Be brief.","messages":[
                  {"role":"user","content":[{"type":"text","text":"What is in this picture, and the weather in Paris?"},
                    {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}}]},
                  {"role":"assistant","content":[{"type":"thinking","thinking":"The user wants the weather.","signature":"sig"},
                    {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18 C, cloudy"}]}]}}},
               "response":{"status":200,"headers":{},"body":{"size":1,"truncated":false,"text":"event: message_start...","events":4,
                 "assembled":{"content":[{"type":"text","text":"A red dot; Paris is 18 C and cloudy."}],"stop_reason":"end_turn"}}}},
              "provider":{"request":{"method":"POST","url":"https://api.anthropic.com/v1/messages","headers":{"x-api-key":"[redacted]"},
                "body":{"size":1,"truncated":false,"json":{"model":"claude-sonnet-4-5"}}},
                "response":{"status":200,"headers":{},"body":{"size":1,"truncated":false,"text":"event: message_start..."}}}}}""";

    /** A Responses API request: reasoning, a function call and its output, then the answer. */
    static final String RESPONSES_DOC = """
            {"row":{"request_id":"req-resp","endpoint":"responses","path":"/v1/responses","status":200,"model":"gpt-5"},
             "detail":{"usage":{},"client":{"request":{"method":"POST","url":"/v1/responses","body":{"size":1,"truncated":false,"json":{
                 "instructions":"Use tools.","input":[{"role":"user","content":[{"type":"input_text","text":"Weather?"}]},
                   {"type":"reasoning","summary":[{"type":"summary_text","text":"Need the tool."}]},
                   {"type":"function_call","call_id":"call_9","name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"},
                   {"type":"function_call_output","call_id":"call_9","output":"-3 C"}]}}},
               "response":{"status":200,"body":{"size":1,"truncated":false,"json":{"output":[{"type":"message","role":"assistant",
                 "content":[{"type":"output_text","text":"It is -3 C in Oslo."}]}]}}}},"provider":null}}""";

    @Test
    void everyDialectIsDrawnAsTurnsWithToolCallsLinkedToTheirResults() throws Exception {
        logIn();
        browser.eval("window.__doc = " + ANTHROPIC_DOC + "; document.getElementById('main').replaceChildren(drawRequest(__doc.row, __doc.detail)); true");
        assertThat(browser.eval("[...document.querySelectorAll('li.turn')].map(t => t.dataset.role).join(',')").asText())
                .isEqualTo("system,user,assistant,user,assistant");
        assertThat(browser.eval("document.querySelectorAll('figure.image img[src^=\"data:image/png\"]').length").asInt()).isEqualTo(1);
        assertThat(browser.eval("document.querySelector('.part.thinking').innerText").asText()).contains("Thinking (signed)", "The user wants the weather.");
        assertLinked("toolu_1", "get_weather");
        assertThat(browser.eval("document.querySelector('li.turn.answer').innerText").asText()).contains("Paris is 18 C", "end_turn");
        assertThat(browser.eval("document.querySelectorAll('svg.timing rect').length").asInt()).isEqualTo(5);
        assertThat(browser.eval("document.querySelectorAll('svg.timing line.tick').length").asInt()).isEqualTo(4);
        assertThat(browser.eval("document.querySelector('.sides').innerText").asText()).contains("Anthropic Messages", "https://api.anthropic.com/v1/messages");
        browser.screenshot(Path.of("target", "dashboard-drawn-anthropic.png")); // evidence for a reviewer

        browser.eval("window.__doc = " + RESPONSES_DOC + "; document.getElementById('main').replaceChildren(drawRequest(__doc.row, __doc.detail)); true");
        assertThat(browser.eval("[...document.querySelectorAll('li.turn')].map(t => t.dataset.role).join(',')").asText())
                .isEqualTo("system,user,assistant,tool,assistant");
        assertLinked("call_9", "get_weather");
        assertThat(browser.eval("document.querySelector('.part.tool-call pre.args').innerText").asText()).contains("\"city\": \"Oslo\"");
        assertThat(browser.consoleErrors()).isEmpty();
    }

    /** The call's "its result" link leads to the result of the same id, and back. */
    void assertLinked(String callId, String name) throws Exception {
        JsonNode link = browser.eval("""
                (() => {
                  const call = document.querySelector('.tool-call[data-call-id="%1$s"]');
                  const result = document.querySelector('.tool-result[data-call-id="%1$s"]');
                  const there = document.getElementById(call.querySelector('a.result-link').dataset.target);
                  const back = document.getElementById(result.querySelector('a.call-link').dataset.target);
                  return {there: there === result, back: back === call, call: call.innerText, result: result.innerText};
                })()""".formatted(callId));
        assertThat(link.get("there").asBoolean()).as("the call links to its result").isTrue();
        assertThat(link.get("back").asBoolean()).as("the result links back to its call").isTrue();
        assertThat(link.get("call").asText()).contains(name);
        assertThat(link.get("result").asText()).contains("result of", name);
    }
    static final String WEATHER_CALL = """
            {"id":"c-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,
            "tool_calls":[{"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},"finish_reason":"tool_calls"}],
            "usage":{"prompt_tokens":40,"completion_tokens":12,"total_tokens":52}}""";

    static String chunk(String json) {
        return "data: " + json + "\n\n";
    }

    /** The provider of a tool loop: a call to get_weather first, then, given its result, a streamed answer. */
    void toolLoopProvider() {
        upstream.on("/v1/chat/completions", (req, reply) -> {
            if (!req.body().contains("\"role\":\"tool\"")) {
                reply.json(200, WEATHER_CALL);
                return;
            }
            reply.startStream();
            for (String piece : new String[] {"It is ", "18 C in Paris."}) {
                reply.chunk(chunk("{\"id\":\"c-2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + piece + "\"},\"finish_reason\":null}]}"));
                Thread.sleep(20);
            }
            reply.chunk(chunk("{\"id\":\"c-2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":70,\"completion_tokens\":8,\"total_tokens\":78}}"));
            reply.chunk("data: [DONE]\n\n");
        });
    }

    @Test
    void aToolLoopIsListedAndDrawnTurnByTurnWithItsCallLinkedToItsResult() throws Exception {
        toolLoopProvider();
        String system = "{\"role\":\"system\",\"content\":\"You answer weather questions.\"}";
        String user = "{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}";
        String tools = ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";
        var first = gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[" + system + "," + user + "]" + tools + "}",
                "Authorization", "Bearer " + MASTER, "X-Request-ID", "loop-turn-1", "X-End-User", "alice");
        assertThat(first.statusCode()).isEqualTo(200);
        JsonNode call = JSON.readTree(first.body()).path("choices").path(0).path("message");
        // A moment between the two turns (records keep their receipt time in milliseconds), for the time filter.
        Thread.sleep(5);
        String between = java.time.Instant.ofEpochMilli(System.currentTimeMillis()).toString();
        Thread.sleep(5);
        String second = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[" + system + "," + user + "," + call
                + ",{\"role\":\"tool\",\"tool_call_id\":\"call_w1\",\"content\":\"18 C, cloudy\"}]" + tools + "}";
        assertThat(gw.post("/v1/chat/completions", second, "Authorization", "Bearer " + MASTER, "X-Request-ID", "loop-turn-2",
                "X-End-User", "alice").body()).contains("18 C in Paris.");

        logIn(); // the list is the first view
        browser.waitFor("document.querySelector('#requests tr[data-request-id=\"loop-turn-2\"]') || (document.getElementById('refresh').click(), false)", WAIT);
        assertThat(browser.eval("[...document.querySelectorAll('#requests tr.row')].map(r => r.dataset.requestId).join(',')").asText())
                .as("newest first, the dashboard's own calls hidden").isEqualTo("loop-turn-2,loop-turn-1");
        assertThat(browser.eval("document.querySelector('#requests tr[data-request-id=\"loop-turn-2\"]').innerText").asText())
                .contains("200", "chat", "gpt-4o-mini", "openai", "alice", "70 / 8");

        // A filter narrows the list (kept in the address).
        browser.navigate(gw.url("/ui#/requests?end_user=bob"));
        browser.waitFor("document.getElementById('main').dataset.ready === 'true' && document.querySelector('#requests tr.empty')", WAIT);
        browser.navigate(gw.url("/ui#/requests?end_user=alice&status=2xx"));
        browser.waitFor("document.getElementById('main').dataset.ready === 'true' && document.querySelectorAll('#requests tr.row').length === 2", WAIT);
        // The time range, typed into the form: from the moment between the turns only the second is listed, up to it only the first.
        browser.eval("{ const f = document.getElementById('filters'); f.elements.from.value = '" + between + "'; f.requestSubmit(); } true");
        browser.waitFor("location.hash.includes('from=') && document.getElementById('main').dataset.ready === 'true'"
                + " && document.querySelectorAll('#requests tr.row').length === 1", WAIT);
        assertThat(browser.eval("document.querySelector('#requests tr.row').dataset.requestId").asText()).isEqualTo("loop-turn-2");
        assertThat(browser.eval("document.getElementById('filters').elements.from.value").asText()).as("kept in the form").isEqualTo(between);
        browser.eval("{ const f = document.getElementById('filters'); f.elements.from.value = ''; f.elements.to.value = '" + between
                + "'; f.requestSubmit(); } true");
        browser.waitFor("location.hash.includes('to=') && !location.hash.includes('from=') && document.getElementById('main').dataset.ready === 'true'"
                + " && document.querySelectorAll('#requests tr.row').length === 1", WAIT);
        assertThat(browser.eval("document.querySelector('#requests tr.row').dataset.requestId").asText()).isEqualTo("loop-turn-1");
        // A range that is not one is said, not shown as an empty list.
        browser.navigate(gw.url("/ui#/requests?from=2026-12-06&to=2026-12-05"));
        browser.waitFor("document.getElementById('main').dataset.ready === 'true' && document.querySelector('#main .notice.error')", WAIT);
        assertThat(browser.eval("document.querySelector('#main .notice.error').innerText").asText()).contains("'to' must be after 'from'");
        browser.navigate(gw.url("/ui#/requests"));
        browser.waitFor("document.getElementById('main').dataset.ready === 'true' && document.querySelectorAll('#requests tr.row').length === 2", WAIT);

        browser.eval("document.querySelector('#requests tr[data-request-id=\"loop-turn-2\"]').click(); true");
        browser.waitFor("document.querySelector('.request-view') && document.getElementById('main').dataset.ready === 'true'", WAIT);
        assertThat(browser.eval("[...document.querySelectorAll('li.turn')].map(t => t.dataset.role + (t.classList.contains('answer') ? '*' : '')).join(',')")
                .asText()).as("each turn, the answer last").isEqualTo("system,user,assistant,tool,assistant*");
        assertThat(browser.eval("document.querySelector('li.turn[data-role=user]').innerText").asText()).contains("What is the weather in Paris?");
        assertLinked("call_w1", "get_weather");
        assertThat(browser.eval("document.querySelector('.tool-result').innerText").asText()).contains("18 C, cloudy");
        assertThat(browser.eval("document.querySelector('li.turn.answer').innerText").asText()).contains("It is 18 C in Paris.", "stop");
        assertThat(browser.eval("document.querySelectorAll('svg.timing rect').length").asInt()).as("timing segments").isGreaterThanOrEqualTo(3);
        assertThat(browser.eval("document.querySelectorAll('svg.timing line.tick').length").asInt()).as("stream events").isGreaterThan(0);
        assertThat(browser.eval("document.querySelector('dl.tokens').innerText").asText()).contains("70", "8");
        assertThat(browser.eval("document.querySelector('.sides').textContent").asText()).contains("OpenAI chat", "/v1/chat/completions", "[redacted]")
                .doesNotContain(MASTER).doesNotContain("sk-up");
        assertThat(browser.consoleErrors()).isEmpty();
    }
}
