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
import java.net.ServerSocket;
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
}
