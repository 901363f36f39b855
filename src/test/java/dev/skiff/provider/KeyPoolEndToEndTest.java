package dev.skiff.provider;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Key pools through the real server: a provider that rate-limits (or revoked) one of its keys sees
 * the other keys from then on, on forwarded and translated paths alike.
 */
class KeyPoolEndToEndTest {
    static final String CHAT = """
            {"model":"%s","messages":[{"role":"user","content":"hi"}]}""";
    static final String OK = """
            {"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}""";
    static final String LIMITED = """
            {"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";

    MockUpstream upstream;
    TestGateway gw;

    @AfterEach
    void tearDown() {
        if (gw != null) gw.close();
        if (upstream != null) upstream.close();
    }

    @Test
    void aKeyAnswered429IsRestedAndTrafficMovesToTheOtherKey() throws Exception {
        upstream = new MockUpstream();
        upstream.on("/v1/chat/completions", (req, reply) -> {
            if ("Bearer sk-limited".equals(req.header("authorization"))) {
                reply.header("retry-after", "30");
                reply.json(429, LIMITED);
            } else {
                reply.json(200, OK);
            }
        });
        gw = TestGateway.start("OPENAI_API_KEY", "sk-limited", "OPENAI_API_KEY_2", "sk-fresh", "OPENAI_API_KEY_3", "sk-spare",
                "OPENAI_BASE_URL", upstream.baseUrl()).awaitListings();
        upstream.clearReceived();

        List<Integer> statuses = new ArrayList<>();
        for (int i = 0; i < 9; i++) statuses.add(gw.post("/v1/chat/completions", CHAT.formatted("gpt-4o-mini")).statusCode());

        List<String> keysSent = upstream.receivedSoFar().stream().map(r -> r.header("authorization")).toList();
        assertThat(keysSent).as("the limited key is asked once, then rests for its Retry-After").containsOnlyOnce("Bearer sk-limited");
        assertThat(keysSent.subList(keysSent.indexOf("Bearer sk-limited") + 1, keysSent.size()))
                .as("after its 429, every request goes to the other keys, in turn").containsOnly("Bearer sk-fresh", "Bearer sk-spare")
                .contains("Bearer sk-fresh", "Bearer sk-spare");
        // Skiff does not retry here (retries belong to routing): the one request sent with the limited
        // key gets the provider's 429; every other one succeeds.
        assertThat(statuses).filteredOn(s -> s != 200).containsExactly(429);
        assertThat(statuses.subList(statuses.indexOf(429) + 1, statuses.size())).containsOnly(200);
        assertThat(gw.skiff.toString() + String.join("\n", gw.usageLog.toFile().exists()
                ? java.nio.file.Files.readAllLines(gw.usageLog) : List.of())).doesNotContain("sk-fresh", "sk-limited");
    }

    @Test
    void withRetriesOnTheClientSeesNoErrorTheRateLimitedKeysRequestIsResentAtOnceWithAnother() throws Exception {
        upstream = new MockUpstream();
        upstream.on("/v1/chat/completions", (req, reply) -> {
            if ("Bearer sk-limited".equals(req.header("authorization"))) {
                reply.header("retry-after", "30"); // far longer than any backoff: only another key can serve now
                reply.json(429, LIMITED);
            } else {
                reply.json(200, OK);
            }
        });
        gw = TestGateway.start("OPENAI_API_KEY", "sk-limited", "OPENAI_API_KEY_2", "sk-fresh", "OPENAI_BASE_URL", upstream.baseUrl(),
                "RETRY_MAX_RETRIES", "2").awaitListings();
        upstream.clearReceived();
        List<HttpResponse<String>> answers = new ArrayList<>();
        for (int i = 0; i < 6; i++) answers.add(gw.post("/v1/chat/completions", CHAT.formatted("gpt-4o-mini")));
        assertThat(answers).extracting(HttpResponse::statusCode).containsOnly(200);
        assertThat(answers).extracting(r -> r.headers().firstValue("x-skiff-attempts").orElse("1")).containsOnlyOnce("2");
        List<String> keysSent = upstream.receivedSoFar().stream().map(r -> r.header("authorization")).toList();
        assertThat(keysSent).containsOnlyOnce("Bearer sk-limited").hasSize(7);
    }

    @Test
    void aRevokedAnthropicKeyIsSkippedOnTheTranslatedPath() throws Exception {
        upstream = new MockUpstream().models("claude-sonnet-4-5");
        upstream.on("/v1/messages", (req, reply) -> {
            if ("ant-revoked".equals(req.header("x-api-key"))) {
                reply.json(401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}");
            } else {
                reply.json(200, """
                        {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}""");
            }
        });
        gw = TestGateway.start("ANTHROPIC_API_KEY", "ant-revoked", "ANTHROPIC_API_KEY_2", "ant-good", "ANTHROPIC_BASE_URL", upstream.baseUrl())
                .awaitListings();
        upstream.clearReceived();
        List<Integer> statuses = new ArrayList<>();
        for (int i = 0; i < 6; i++) statuses.add(gw.post("/v1/chat/completions", CHAT.formatted("anthropic/claude-sonnet-4-5")).statusCode());
        List<String> keysSent = upstream.receivedSoFar().stream().map(r -> r.header("x-api-key")).toList();
        assertThat(keysSent).hasSize(6).containsOnlyOnce("ant-revoked");
        assertThat(statuses).filteredOn(s -> s != 200).hasSizeLessThanOrEqualTo(1);
        assertThat(statuses.getLast()).isEqualTo(200);
    }
}
