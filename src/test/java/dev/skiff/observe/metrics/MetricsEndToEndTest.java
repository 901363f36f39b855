package dev.skiff.observe.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Known traffic through Skiff, then /metrics scraped: the counts, token sums, costs and histograms match what was sent. */
class MetricsEndToEndTest {
    static final String MASTER = "master-secret";

    MockUpstream openai;
    TestGateway gw;

    @AfterEach
    void tearDown() {
        if (gw != null) gw.close();
        if (openai != null) openai.close();
    }

    /** The samples of a scrape: the series as written (name and labels) to its value. */
    static Map<String, Double> parse(String text) {
        Map<String, Double> out = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) continue;
            int space = line.lastIndexOf(' ');
            out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1).replace("+Inf", "Infinity")));
        }
        return out;
    }

    static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void scrapedCountsAndTokenSumsMatchTheTrafficSent() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        openai.on("/v1/chat/completions", (req, reply) -> {
            if (req.body().contains("\"stream\":true")) {
                reply.startStream();
                reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
                reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],"
                        + "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"total_tokens\":120}}\n\n");
                reply.chunk("data: [DONE]\n\n");
                return;
            }
            reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                    + "\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":200,\"total_tokens\":1200,"
                    + "\"prompt_tokens_details\":{\"cached_tokens\":400}}}");
        });
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "DEEPSEEK_API_KEY", "sk-ds", "DEEPSEEK_BASE_URL", "http://127.0.0.1:" + closedPort()).awaitListings();
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        for (int i = 0; i < 2; i++) {
            assertThat(gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER).statusCode()).isEqualTo(200);
        }
        HttpResponse<InputStream> s = gw.postStreaming("/v1/chat/completions", chat.replace("{\"model\"", "{\"stream\":true,\"model\""),
                "Authorization", "Bearer " + MASTER);
        try (InputStream in = s.body()) {
            in.readAllBytes();
        }
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
        // a provider that cannot be reached: an upstream error of kind unreachable
        assertThat(gw.post("/v1/chat/completions", chat.replace("gpt-4o-mini", "deepseek/deepseek-chat"), "Authorization", "Bearer " + MASTER)
                .statusCode()).isEqualTo(502);

        assertThat(gw.get("/metrics").statusCode()).isEqualTo(401);
        HttpResponse<String> scrape = gw.get("/metrics", "Authorization", "Bearer " + MASTER);
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("content-type").orElse("")).startsWith("text/plain; version=0.0.4");
        Map<String, Double> m = parse(scrape.body());
        assertThat(m.get("skiff_requests_total{provider=\"openai\",model=\"gpt-4o-mini\",endpoint=\"chat\",status=\"200\"}")).isEqualTo(3.0);
        assertThat(m.get("skiff_requests_total{provider=\"\",model=\"\",endpoint=\"chat\",status=\"401\"}")).isEqualTo(1.0);
        assertThat(m.get("skiff_requests_total{provider=\"deepseek\",model=\"deepseek-chat\",endpoint=\"chat\",status=\"502\"}")).isEqualTo(1.0);
        assertThat(m.get("skiff_upstream_errors_total{provider=\"deepseek\",kind=\"unreachable\"}")).isEqualTo(1.0);
        // tokens by class: 2 x (600 input + 400 cached + 200 output) + (100 input + 20 output)
        assertThat(m.get("skiff_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",class=\"input\"}")).isEqualTo(1300.0);
        assertThat(m.get("skiff_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",class=\"cached_input\"}")).isEqualTo(800.0);
        assertThat(m.get("skiff_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",class=\"output\"}")).isEqualTo(420.0);
        // gpt-4o-mini: 0.15 $/M input, 0.075 cached, 0.60 output
        assertThat(m.get("skiff_cost_usd_total{provider=\"openai\",model=\"gpt-4o-mini\",class=\"input\"}")).isCloseTo(1300 * 0.15e-6, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(m.get("skiff_cost_usd_total{provider=\"openai\",model=\"gpt-4o-mini\",class=\"output\"}")).isCloseTo(420 * 0.60e-6, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(m.get("skiff_request_duration_seconds_count{provider=\"openai\",model=\"gpt-4o-mini\",endpoint=\"chat\"}")).isEqualTo(3.0);
        assertThat(m.get("skiff_request_duration_seconds_bucket{provider=\"openai\",model=\"gpt-4o-mini\",endpoint=\"chat\",le=\"+Inf\"}")).isEqualTo(3.0);
        assertThat(m.get("skiff_time_to_first_token_seconds_count{provider=\"openai\",model=\"gpt-4o-mini\",endpoint=\"chat\"}")).isEqualTo(1.0);
        assertThat(m.get("skiff_requests_in_flight")).isEqualTo(0.0);
        assertThat(m.get("skiff_upstream_connections_opened_total{provider=\"openai\"}")).isGreaterThanOrEqualTo(1.0);
        assertThat(m.get("jvm_memory_used_bytes{area=\"heap\"}")).isGreaterThan(0.0);
        assertThat(m.get("jvm_threads_current")).isGreaterThan(0.0);
        assertThat(scrape.body()).contains("# TYPE skiff_request_duration_seconds histogram").contains("jvm_gc_collection_seconds_count{gc=");
    }

    @Test
    void retriesFailoversAndBreakerStateFollowAFailingFirstTarget() throws Exception {
        String ok = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";
        openai = new MockUpstream().models("gpt-4o-mini");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(503, "{\"error\":{\"message\":\"busy\",\"type\":\"server_error\"}}"));
        try (MockUpstream second = new MockUpstream().models("gpt-4o-mini")) {
            second.on("/v1/chat/completions", (req, reply) -> reply.json(200, ok));
            gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", openai.baseUrl(),
                    "OPENAI_B_API_KEY", "k", "OPENAI_B_BASE_URL", second.baseUrl(),
                    "RETRY_MAX_RETRIES", "1", "RETRY_INITIAL_BACKOFF", "1ms",
                    "CIRCUIT_BREAKER_FAILURE_THRESHOLD", "2", "CIRCUIT_BREAKER_TIMEOUT", "60s",
                    "FAILOVER_RULES_JSON", "{\"openai/gpt-4o-mini\":[\"openai-b/gpt-4o-mini\"]}").awaitListings();
            String chat = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
            // The first request: openai fails, is retried once, fails again (its circuit opens at 2), openai-b answers.
            HttpResponse<String> first = gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER);
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("x-skiff-attempts")).hasValue("3");
            // The next two skip the open target: no retry, no failover.
            for (int i = 0; i < 2; i++) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + MASTER);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("1");
            }
            assertThat(openai.received().stream().filter(x -> x.path().equals("/v1/chat/completions")).count()).isEqualTo(2);

            Map<String, Double> m = parse(gw.get("/metrics", "Authorization", "Bearer " + MASTER).body());
            assertThat(m.get("skiff_upstream_retries_total{provider=\"openai\",model=\"gpt-4o-mini\"}")).isEqualTo(1.0);
            assertThat(m.get("skiff_failovers_total{from=\"openai/gpt-4o-mini\",to=\"openai-b/gpt-4o-mini\"}")).isEqualTo(1.0);
            assertThat(m.get("skiff_circuit_breaker_state{target=\"openai/gpt-4o-mini\"}")).isEqualTo(1.0);
            assertThat(m.get("skiff_circuit_breaker_state{target=\"openai-b/gpt-4o-mini\"}")).isEqualTo(0.0);
            assertThat(m.get("skiff_requests_total{provider=\"openai-b\",model=\"gpt-4o-mini\",endpoint=\"chat\",status=\"200\"}")).isEqualTo(3.0);
            assertThat(m.keySet()).noneMatch(k -> k.startsWith("skiff_upstream_retries_total{provider=\"openai-b\""));
        }
    }

    @Test
    void loopbackScrapersNeedNoKeyWhenOpenedAndMetricsCanBeTurnedOff() throws Exception {
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "SKIFF_METRICS_OPEN", "loopback");
        HttpResponse<String> r = gw.get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("skiff_requests_in_flight 0");
        assertThat(gw.request("POST", "/metrics", "{}").statusCode()).isIn(404, 405);
        gw.close();
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "SKIFF_METRICS", "off");
        assertThat(gw.get("/metrics", "Authorization", "Bearer " + MASTER).statusCode()).isEqualTo(404);
    }
}
