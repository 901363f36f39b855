package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.control.limits.LimitPolicy;
import dev.skiff.control.limits.PolicyJson;
import dev.skiff.control.limits.PolicySet;
import dev.skiff.store.TestDatabases;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.InputStream;
import java.net.ServerSocket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admit stage on a real socket: 429 in the client's dialect, Retry-After, and the remaining quota in headers. */
class LimitsEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "sk-gateway";
    static final String CHAT_ANSWER = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}";
    static final String MESSAGES_ANSWER = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4\","
            + "\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
            + "\"usage\":{\"input_tokens\":5,\"output_tokens\":2}}";

    final List<AutoCloseable> open = new ArrayList<>();
    MockUpstream openai, anthropic;

    TestGateway start(String... extra) throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, CHAT_ANSWER));
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, MESSAGES_ANSWER));
        open.add(openai);
        open.add(anthropic);
        List<String> env = new ArrayList<>(List.of("SKIFF_MASTER_KEY", KEY, "OPENAI_API_KEY", "sk-o", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-a", "ANTHROPIC_BASE_URL", anthropic.baseUrl()));
        env.addAll(List.of(extra));
        TestGateway gw = TestGateway.start(env.toArray(String[]::new)).awaitListings();
        open.addFirst(gw);
        return gw;
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) c.close();
    }

    static PolicySet policies(String... json) throws Exception {
        List<LimitPolicy> list = new ArrayList<>();
        for (int i = 0; i < json.length; i++) list.add(PolicyJson.parse("pol_" + i, JSON.readTree(json[i])));
        return new PolicySet(list);
    }

    HttpResponse<String> chat(TestGateway gw) throws Exception {
        return gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "Authorization", "Bearer " + KEY);
    }

    HttpResponse<String> messages(TestGateway gw) throws Exception {
        return gw.post("/v1/messages", "{\"model\":\"claude-sonnet-4\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "x-api-key", KEY, "anthropic-version", "2023-06-01");
    }

    @Test
    void overTheLimitIs429InTheOpenAiEnvelopeWithRetryAfterAndTheQuotaLeftOnEveryAnswer() throws Exception {
        TestGateway gw = start();
        gw.skiff.limits().policies(policies(
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":2}",
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"tokens\",\"window\":\"minute\",\"limit\":100000}"));
        HttpResponse<String> first = chat(gw);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(first.headers().firstValue("x-ratelimit-limit-requests")).hasValue("2");
        assertThat(first.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("1");
        assertThat(first.headers().firstValue("x-ratelimit-reset-requests").orElseThrow()).matches("\\d+s");
        assertThat(first.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("100000");
        assertThat(Long.parseLong(first.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow())).isLessThan(100000);
        assertThat(chat(gw).headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");

        HttpResponse<String> refused = chat(gw);
        assertThat(refused.statusCode()).isEqualTo(429);
        JsonNode error = JSON.readTree(refused.body()).get("error");
        assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
        assertThat(error.get("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(error.get("message").asText()).contains("2 requests per day");
        long retryAfter = Long.parseLong(refused.headers().firstValue("retry-after").orElseThrow());
        assertThat(retryAfter).isBetween(1L, 86_400L);
        assertThat(refused.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
        assertThat(openai.received().stream().filter(r -> r.path().endsWith("/chat/completions")).count()).isEqualTo(2);
        assertThat(gw.usageLine(refused.headers().firstValue("x-request-id").orElseThrow())).contains("\"status\":429");
    }

    @Test
    void overTheLimitIs429InAnthropicsShapeOnMessages() throws Exception {
        TestGateway gw = start();
        gw.skiff.limits().policies(policies("{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"rolling:60\",\"limit\":1}"));
        assertThat(messages(gw).statusCode()).isEqualTo(200);
        HttpResponse<String> refused = messages(gw);
        assertThat(refused.statusCode()).isEqualTo(429);
        JsonNode body = JSON.readTree(refused.body());
        assertThat(body.get("type").asText()).isEqualTo("error");
        assertThat(body.get("error").get("type").asText()).isEqualTo("rate_limit_error");
        assertThat(body.get("error").get("message").asText()).contains("1 requests per 60 s (rolling)");
        assertThat(refused.headers().firstValue("retry-after")).isPresent();
        assertThat(refused.headers().firstValue("anthropic-ratelimit-requests-limit")).hasValue("1");
        assertThat(refused.headers().firstValue("anthropic-ratelimit-requests-remaining")).hasValue("0");
        assertThat(refused.headers().firstValue("anthropic-ratelimit-requests-reset").orElseThrow()).matches("\\d{4}-\\d{2}-\\d{2}T.*Z");
    }

    @Test
    void withRedisTheSameRefusalComesBackFromTheSharedCounters() throws Exception {
        TestGateway gw = start("SKIFF_REDIS_URL", TestDatabases.redisUrl(), "SKIFF_REDIS_PREFIX", "skiff-test-" + UUID.randomUUID() + ":");
        gw.skiff.limits().policies(policies("{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"hour\",\"limit\":1}"));
        awaitRedis(gw);
        assertThat(chat(gw).statusCode()).isEqualTo(200);
        HttpResponse<String> refused = chat(gw);
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(JSON.readTree(refused.body()).get("error").get("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(messages(gw).statusCode()).isEqualTo(429);
    }

    @Test
    void redisDownAndFailingClosedRefusesWith503SayingWhy() throws Exception {
        TestGateway gw = start("SKIFF_REDIS_URL", "redis://127.0.0.1:" + closedPort(), "SKIFF_LIMITS_FAILURE", "closed");
        gw.skiff.limits().policies(policies("{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"hour\",\"limit\":100}"));
        HttpResponse<String> r = chat(gw);
        assertThat(r.statusCode()).isEqualTo(503);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("limits_unavailable");
        assertThat(error.get("message").asText()).contains("Redis").contains("SKIFF_LIMITS_FAILURE=closed");
        HttpResponse<String> m = messages(gw);
        assertThat(m.statusCode()).isEqualTo(503);
        assertThat(JSON.readTree(m.body()).get("error").get("type").asText()).isEqualTo("overloaded_error");
        assertThat(openai.received().stream().filter(q -> q.path().endsWith("/chat/completions")).count()).isZero();
    }

    @Test
    void redisDownAndFailingOpenAdmits() throws Exception {
        TestGateway gw = start("SKIFF_REDIS_URL", "redis://127.0.0.1:" + closedPort(), "SKIFF_LIMITS_FAILURE", "open");
        gw.skiff.limits().policies(policies("{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"hour\",\"limit\":1}"));
        for (int i = 0; i < 3; i++) assertThat(chat(gw).statusCode()).isEqualTo(200);
    }

    @Test
    void noPoliciesNoHeaders() throws Exception {
        TestGateway gw = start();
        HttpResponse<String> r = chat(gw);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-ratelimit-limit-requests")).isEmpty();
    }

    static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void awaitRedis(TestGateway gw) throws InterruptedException {
        var limiter = (dev.skiff.control.limits.RedisLimiter) gw.skiff.limits().limiter();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!limiter.connected() && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(limiter.connected()).isTrue();
    }

    HttpResponse<String> admin(TestGateway gw, String method, String path, String body) throws Exception {
        return gw.request(method, path, body, "Authorization", "Bearer " + KEY);
    }

    @Test
    void policiesAreManagedThroughTheAdminApi() throws Exception {
        TestGateway gw = start();
        HttpResponse<String> bad = admin(gw, "POST", "/admin/v1/limits", "{\"scope\":\"path\",\"path\":\"/a/../b\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":1}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).get("error").get("message").asText()).contains("..");
        assertThat(admin(gw, "POST", "/admin/v1/limits", "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"fortnight\",\"limit\":1}").statusCode()).isEqualTo(400);
        assertThat(admin(gw, "POST", "/admin/v1/limits", "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":1,\"colour\":\"red\"}").statusCode()).isEqualTo(400);

        HttpResponse<String> created = admin(gw, "POST", "/admin/v1/limits",
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":1}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String id = JSON.readTree(created.body()).get("id").asText();
        assertThat(chat(gw).statusCode()).isEqualTo(200); // applied on this replica at once
        assertThat(chat(gw).statusCode()).isEqualTo(429);

        HttpResponse<String> list = admin(gw, "GET", "/admin/v1/limits?path=/", null);
        assertThat(JSON.readTree(list.body()).get("data")).hasSize(1);
        assertThat(JSON.readTree(admin(gw, "GET", "/admin/v1/limits?key_id=key_x", null).body()).get("data")).isEmpty();

        HttpResponse<String> raised = admin(gw, "PUT", "/admin/v1/limits/" + id,
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":3}");
        assertThat(raised.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(raised.body()).get("limit").asLong()).isEqualTo(3);
        assertThat(chat(gw).statusCode()).isEqualTo(200); // the same counter, a higher limit

        assertThat(admin(gw, "DELETE", "/admin/v1/limits/" + id, null).statusCode()).isEqualTo(200);
        assertThat(admin(gw, "GET", "/admin/v1/limits/" + id, null).statusCode()).isEqualTo(404);
        for (int i = 0; i < 3; i++) assertThat(chat(gw).statusCode()).isEqualTo(200);
    }

    @Test
    void aSoftThresholdIsListedAsAWarningOnce() throws Exception {
        TestGateway gw = start();
        HttpResponse<String> created = admin(gw, "POST", "/admin/v1/limits",
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":5,\"soft\":2}");
        String id = JSON.readTree(created.body()).get("id").asText();
        for (int i = 0; i < 4; i++) assertThat(chat(gw).statusCode()).isEqualTo(200);
        JsonNode warnings = null;
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            warnings = JSON.readTree(admin(gw, "GET", "/admin/v1/warnings?policy_id=" + id, null).body()).get("data");
            if (!warnings.isEmpty()) break;
            Thread.sleep(20);
        }
        assertThat(warnings).hasSize(1);
        assertThat(warnings.get(0).get("used").asLong()).isEqualTo(2);
        assertThat(warnings.get(0).get("soft").asLong()).isEqualTo(2);
    }

    @Test
    void aCancelledStreamGivesBackItsConcurrencyAndKeepsItsEstimatedTokens() throws Exception {
        TestGateway gw = start();
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch end = new CountDownLatch(1);
        openai.on("/v1/chat/completions", (req, reply) -> {
            if (calls.incrementAndGet() == 1) {
                reply.startStream();
                reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
                end.await(20, TimeUnit.SECONDS); // until the test is over: the client leaves first
                return;
            }
            reply.json(200, CHAT_ANSWER);
        });
        gw.skiff.limits().policies(policies(
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"concurrent\",\"limit\":1}",
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"tokens\",\"window\":\"day\",\"limit\":100000}"));
        try {
            HttpResponse<InputStream> stream = gw.postStreaming("/v1/chat/completions",
                    "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"max_tokens\":1000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                    "Authorization", "Bearer " + KEY);
            assertThat(stream.statusCode()).isEqualTo(200);
            long streamLeft = Long.parseLong(stream.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow());
            assertThat(streamLeft).isLessThanOrEqualTo(100000 - 1000);
            assertThat(stream.body().read(new byte[10])).isPositive();

            HttpResponse<String> busy = chat(gw);
            assertThat(busy.statusCode()).isEqualTo(429);
            assertThat(JSON.readTree(busy.body()).get("error").get("code").asText()).isEqualTo("concurrency_limit_exceeded");

            stream.body().close(); // the client leaves mid-stream
            HttpResponse<String> after = null;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (System.nanoTime() < deadline) {
                after = chat(gw);
                if (after.statusCode() == 200) break;
                Thread.sleep(20);
            }
            assertThat(after.statusCode()).isEqualTo(200);
            // the cancelled stream's usage was never reported: its estimate stays counted
            long left = Long.parseLong(after.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow());
            assertThat(left).isLessThan(streamLeft);
        } finally {
            end.countDown();
        }
    }

    @Test
    void passthroughCannotCountItsRequestsSoItIsRefusedWhereLimitsApply() throws Exception {
        TestGateway gw = start();
        String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        assertThat(gw.post("/p/openai/chat/completions", body, "Authorization", "Bearer " + KEY).statusCode()).isEqualTo(200);
        gw.skiff.limits().policies(policies("{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":100}"));
        HttpResponse<String> r = gw.post("/p/openai/chat/completions", body, "Authorization", "Bearer " + KEY);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(r.body()).get("error").get("code").asText()).isEqualTo("passthrough_limited");
    }

    @Test
    void aManagedKeysOwnLimitsCountItsRequestsAndItsEndUsers() throws Exception {
        awaitRoomInThisMinute(); // rpm counts a calendar minute: one ending mid-test would forget the first three
        TestGateway gw = start();
        HttpResponse<String> refused = admin(gw, "POST", "/admin/v1/keys", "{\"name\":\"bad\",\"limits\":{\"rpx\":1}}");
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("limits.rpx");
        HttpResponse<String> made = admin(gw, "POST", "/admin/v1/keys", "{\"name\":\"app\",\"limits\":{\"rpm\":3,"
                + "\"rules\":[{\"per_end_user\":true,\"metric\":\"requests\",\"window\":\"day\",\"limit\":1}]}}");
        assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
        String secret = JSON.readTree(made.body()).get("secret").asText();
        String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        assertThat(gw.post("/v1/chat/completions", body, "Authorization", "Bearer " + secret, "X-End-User", "ann").statusCode()).isEqualTo(200);
        HttpResponse<String> again = gw.post("/v1/chat/completions", body, "Authorization", "Bearer " + secret, "X-End-User", "ann");
        assertThat(again.statusCode()).isEqualTo(429);
        assertThat(JSON.readTree(again.body()).get("error").get("code").asText()).isEqualTo("end_user_quota_exceeded");
        assertThat(gw.post("/v1/chat/completions", body, "Authorization", "Bearer " + secret, "X-End-User", "ben").statusCode()).isEqualTo(200);
        assertThat(gw.post("/v1/chat/completions", body, "Authorization", "Bearer " + secret).statusCode()).isEqualTo(200);
        HttpResponse<String> rpm = gw.post("/v1/chat/completions", body, "Authorization", "Bearer " + secret);
        assertThat(rpm.statusCode()).isEqualTo(429);
        assertThat(JSON.readTree(rpm.body()).get("error").get("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(JSON.readTree(rpm.body()).get("error").get("message").asText()).contains("3 requests per minute");
    }

    /**
     * Waits, if need be, until at least 20 seconds of the current UTC minute are left, so that a test
     * counting requests per calendar minute finishes inside one minute however slow the machine is.
     */
    static void awaitRoomInThisMinute() throws InterruptedException {
        long intoMinuteMs = System.currentTimeMillis() % 60_000;
        if (intoMinuteMs > 40_000) Thread.sleep(60_000 - intoMinuteMs + 50);
    }

    /**
     * A money budget with a failover from a cheap model to a dear one ($1 and $100 per million output
     * tokens): the reservation is the dear target's estimate, and the call that the dear target
     * answered is settled at its price, not at the cheap one's it was first sent to.
     */
    @Test
    void aFailedOverCallReservesForTheDearestTargetAndIsSettledAtThePriceOfTheOneThatAnswered() throws Exception {
        java.nio.file.Path prices = java.nio.file.Files.createTempFile("prices", ".yaml");
        java.nio.file.Files.writeString(prices, "providers:\n  openai:\n    cheap-model: {input: 0, output: 1.00}\n"
                + "  anthropic:\n    dear-model: {input: 0, output: 100.00}\n");
        try {
            TestGateway gw = start("SKIFF_PRICING_FILE", prices.toString(),
                    "FAILOVER_RULES_JSON", "{\"openai/cheap-model\":[\"anthropic/dear-model\"]}");
            openai.on("/v1/chat/completions", (req, reply) ->
                    reply.json(503, "{\"error\":{\"message\":\"busy\",\"type\":\"server_error\",\"param\":null,\"code\":null}}"));
            anthropic.on("/v1/messages", (req, reply) -> reply.json(200, MESSAGES_ANSWER.replace("\"output_tokens\":2", "\"output_tokens\":1000")));
            gw.skiff.limits().policies(policies("{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"cost\",\"window\":\"day\",\"limit_usd\":1}"));
            HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"openai/cheap-model\",\"max_tokens\":2000,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "Authorization", "Bearer " + KEY);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("anthropic");
            // 2000 output tokens reserved at the dear target's $100 per million: $0.2 of the $1
            assertThat(r.headers().firstValue("x-skiff-budget-remaining-usd")).hasValue("0.800000");
            // settled: 1000 tokens at $100 per million, $0.1 (at the cheap model's price it would be $0.001)
            dev.skiff.control.limits.Limits limits = gw.skiff.limits();
            dev.skiff.control.limits.Charge charge = limits.charges(null, null, "/", null,
                    new dev.skiff.control.limits.Limits.Call(dev.skiff.config.ProviderType.OPENAI, "cheap-model", 0, 0, true)).getFirst();
            long used = -1;
            for (long deadline = System.nanoTime() + 3_000_000_000L; System.nanoTime() < deadline; Thread.sleep(20)) {
                var probe = (dev.skiff.control.limits.Decision.Admitted) limits.reserve(List.of(charge.withAmount(0))).join();
                used = probe.counters().getFirst().used();
                if (used != 200_000) break; // the reservation was settled
            }
            assertThat(used).isEqualTo(100_000);
        } finally {
            java.nio.file.Files.deleteIfExists(prices);
        }
    }
}
