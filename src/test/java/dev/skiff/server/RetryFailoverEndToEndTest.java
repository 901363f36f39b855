package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Retries of one target and failover to the next, end to end: what the client gets, the headers
 * that say what happened, and the attempts the usage record lists.
 */
class RetryFailoverEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String OK = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";
    static final String ANTHROPIC_OK = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\","
            + "\"content\":[{\"type\":\"text\",\"text\":\"from claude\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}";
    static final String CHAT = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String BUSY = "{\"error\":{\"message\":\"busy\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";

    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closing.reversed()) c.close();
    }

    <T extends AutoCloseable> T closing(T c) {
        closing.add(c);
        return c;
    }

    /** An upstream whose chat answers fail with {@code status} the first {@code failures} times, then succeed. */
    MockUpstream failing(int failures, int status, String... headers) throws Exception {
        AtomicInteger calls = new AtomicInteger();
        return closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) -> {
            if (calls.incrementAndGet() <= failures) {
                for (int i = 0; i < headers.length; i += 2) reply.header(headers[i], headers[i + 1]);
                reply.json(status, BUSY);
            } else {
                reply.json(200, OK);
            }
        });
    }

    @Test
    void a503IsRetriedUntilItSucceedsAndTheAttemptsAreSaid() throws Exception {
        MockUpstream up = failing(2, 503);
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                "RETRY_MAX_RETRIES", "3", "RETRY_INITIAL_BACKOFF", "5ms", "RETRY_MAX_BACKOFF", "20ms")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "retried-503");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("3");
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai");
        assertThat(r.headers().firstValue("x-skiff-model")).hasValue("gpt-4o-mini");
        JsonNode line = JSON.readTree(gw.usageLine("retried-503"));
        assertThat(line.get("attempts").asInt()).isEqualTo(3);
        JsonNode log = line.get("attempt_log");
        assertThat(log).hasSize(3);
        assertThat(log.get(0).get("status").asInt()).isEqualTo(503);
        assertThat(log.get(0).get("error").asText()).isEqualTo("status");
        assertThat(log.get(2).get("status").asInt()).isEqualTo(200);
        assertThat(log.get(2).has("error")).isFalse();
    }

    @Test
    void retriesStopAtTheConfiguredNumberAndTheLastErrorGoesToTheClient() throws Exception {
        MockUpstream up = failing(10, 502);
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                "RETRY_MAX_RETRIES", "2", "RETRY_INITIAL_BACKOFF", "5ms")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "gave-up");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("3");
        assertThat(up.received().stream().filter(x -> x.path().equals("/v1/chat/completions")).count()).isEqualTo(3);
        assertThat(JSON.readTree(gw.usageLine("gave-up")).get("attempt_log")).hasSize(3);
    }

    @Test
    void aClientErrorIsNotRetried() throws Exception {
        MockUpstream up = failing(10, 400);
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                "RETRY_MAX_RETRIES", "3", "RETRY_INITIAL_BACKOFF", "5ms")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("1");
    }

    @Test
    void withoutRoutingConfiguredA503GoesStraightToTheClient() throws Exception {
        MockUpstream up = failing(1, 503);
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl())).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "no-routing");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("1");
        assertThat(JSON.readTree(gw.usageLine("no-routing")).has("attempt_log")).isFalse();
    }

    @Test
    void aRoutedRequestAnsweredAtOnceSaysOneAttemptAndListsNone() throws Exception {
        MockUpstream first = failing(0, 200);
        MockUpstream second = failing(0, 200);
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", first.baseUrl(),
                "OPENAI_B_API_KEY", "k", "OPENAI_B_BASE_URL", second.baseUrl(), "OPENAI_B_MODELS", "gpt-4o-mini",
                "FAILOVER_RULES_JSON", "{\"openai/gpt-4o-mini\":[\"openai-b/gpt-4o-mini\"]}", "RETRY_MAX_RETRIES", "2")).awaitListings();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "at-once-" + i);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("1");
            assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai");
            JsonNode line = JSON.readTree(gw.usageLine("at-once-" + i));
            assertThat(line.has("attempt_log")).as("one attempt: the count says it all").isFalse();
        }
        assertThat(second.received().stream().filter(x -> x.path().equals("/v1/chat/completions"))).isEmpty();
    }

    @Test
    void aRetryAfterLongerThanTheMaximumBackoffFailsOverInstead() throws Exception {
        MockUpstream first = failing(10, 429, "retry-after", "120");
        MockUpstream second = failing(0, 200);
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", first.baseUrl(),
                "OPENAI_B_API_KEY", "k", "OPENAI_B_BASE_URL", second.baseUrl(),
                "RETRY_MAX_RETRIES", "3", "RETRY_MAX_BACKOFF", "2s",
                "FAILOVER_RULES_JSON", "{\"openai/gpt-4o-mini\":[\"openai-b/gpt-4o-mini\"]}")).awaitListings();
        long start = System.nanoTime();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "failed-over-429");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai-b");
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("2");
        assertThat(System.nanoTime() - start).isLessThan(2_000_000_000L); // it did not wait the two minutes asked
    }

    @Test
    void aShortRetryAfterIsHonoured() throws Exception {
        MockUpstream up = failing(1, 429, "retry-after-ms", "300");
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                "RETRY_MAX_RETRIES", "1", "RETRY_INITIAL_BACKOFF", "1ms", "RETRY_MAX_BACKOFF", "1s")).awaitListings();
        long start = System.nanoTime();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(300_000_000L);
    }

    @Test
    void anOpenAiRequestFailsOverToAnthropicTranslated() throws Exception {
        MockUpstream openai = failing(10, 500);
        MockUpstream anthropic = closing(new MockUpstream()).on("/v1/messages", (req, reply) -> reply.json(200, ANTHROPIC_OK));
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "FAILOVER_RULES_JSON", "{\"openai/gpt-4o-mini\":[\"anthropic/claude-x\"]}")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "cross-dialect");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("object").asText()).isEqualTo("chat.completion");
        assertThat(body.at("/choices/0/message/content").asText()).isEqualTo("from claude");
        assertThat(body.get("model").asText()).isEqualTo("openai/gpt-4o-mini"); // the model the client asked for
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("anthropic");
        assertThat(r.headers().firstValue("x-skiff-model")).hasValue("claude-x");
        JsonNode log = JSON.readTree(gw.usageLine("cross-dialect")).get("attempt_log");
        assertThat(log.get(0).get("provider").asText()).isEqualTo("openai");
        assertThat(log.get(1).get("provider").asText()).isEqualTo("anthropic");
    }

    @Test
    void aContextLengthErrorFailsOverButIsNotRetried() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        MockUpstream small = closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) -> {
            calls.incrementAndGet();
            reply.json(400, "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens.\",\"type\":\"invalid_request_error\","
                    + "\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}");
        });
        MockUpstream large = failing(0, 200);
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", small.baseUrl(),
                "OPENAI_BIG_API_KEY", "k", "OPENAI_BIG_BASE_URL", large.baseUrl(), "RETRY_MAX_RETRIES", "3",
                "FAILOVER_RULES_JSON", "{\"openai/gpt-4o-mini\":[\"openai-big/gpt-4o-mini\"]}")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "context");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(calls.get()).isEqualTo(1);
        assertThat(JSON.readTree(gw.usageLine("context")).at("/attempt_log/0/error").asText()).isEqualTo("context_length");
    }

    @Test
    void aStreamFailsOverWhenItsFirstTokenIsLate() throws Exception {
        MockUpstream slow = closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            Thread.sleep(3000);
        });
        MockUpstream fast = closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"fast\"}}]}\n\n");
            reply.chunk("data: [DONE]\n\n");
        });
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", slow.baseUrl(),
                "OPENAI_FAST_API_KEY", "k", "OPENAI_FAST_BASE_URL", fast.baseUrl(), "FAILOVER_FIRST_TOKEN_TIMEOUT", "300ms",
                "FAILOVER_RULES_JSON", "{\"openai/gpt-4o-mini\":[\"openai-fast/gpt-4o-mini\"]}")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "X-Request-ID", "ttft");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("fast").contains("[DONE]");
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai-fast");
        assertThat(JSON.readTree(gw.usageLine("ttft")).at("/attempt_log/0/error").asText()).isEqualTo("first_token_timeout");
    }

    @Test
    void aStreamIsNeverRetriedOnceItsFirstByteReachedTheClient() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        MockUpstream up = closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) -> {
            calls.incrementAndGet();
            reply.startStream();
            reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"part\"}}]}\n\n");
            throw new java.io.IOException("cut"); // the connection breaks mid-stream
        });
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                "RETRY_MAX_RETRIES", "3", "RETRY_INITIAL_BACKOFF", "5ms")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("part").contains("error");
        assertThat(calls.get()).isEqualTo(1);
    }

    @Test
    void passthroughRetriesABodilessGetButNeverAPost() throws Exception {
        AtomicInteger gets = new AtomicInteger(), posts = new AtomicInteger();
        MockUpstream up = closing(new MockUpstream()).on("/v1/files", (req, reply) -> {
            if (req.method().equals("GET") && gets.incrementAndGet() == 1 || req.method().equals("POST") && posts.incrementAndGet() > 0) {
                reply.header("retry-after-ms", "10");
                reply.json(503, BUSY);
            } else {
                reply.json(200, "{\"object\":\"list\",\"data\":[]}");
            }
        });
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                "RETRY_MAX_RETRIES", "2", "RETRY_INITIAL_BACKOFF", "5ms")).awaitListings();
        HttpResponse<String> get = gw.get("/p/openai/files", "X-Request-ID", "pt-get");
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.headers().firstValue("x-skiff-attempts")).hasValue("2");
        assertThat(JSON.readTree(gw.usageLine("pt-get")).get("attempt_log")).hasSize(2);
        HttpResponse<String> post = gw.post("/p/openai/files", "{}");
        assertThat(post.statusCode()).isEqualTo(503);
        assertThat(posts.get()).isEqualTo(1);
    }

    @Test
    void anAnthropicStreamFailsOverToOpenAiAndStaysInAnthropicsEvents() throws Exception {
        MockUpstream anthropic = closing(new MockUpstream()).on("/v1/messages", (req, reply) ->
                reply.json(529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"));
        MockUpstream openai = closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) -> streamChat(reply, "from openai", ""));
        TestGateway gw = closing(TestGateway.start("ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", openai.baseUrl(),
                "FAILOVER_RULES_JSON", "{\"anthropic/claude-x\":[\"openai/gpt-4o-mini\"]}")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/messages", "{\"model\":\"anthropic/claude-x\",\"max_tokens\":20,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "anthropic-version", "2023-06-01");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("event: message_start").contains("from openai").contains("event: message_stop");
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai");
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("2");
    }

    @Test
    void retriesEndAtTheRequestsDeadline() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        MockUpstream up = closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) -> {
            calls.incrementAndGet();
            Thread.sleep(5000); // never answers in time
        });
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                "SKIFF_FIRST_BYTE_TIMEOUT", "400ms", "SKIFF_TOTAL_TIMEOUT", "1s",
                "RETRY_MAX_RETRIES", "20", "RETRY_INITIAL_BACKOFF", "1ms", "RETRY_MAX_BACKOFF", "5ms")).awaitListings();
        long start = System.nanoTime();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "deadline");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(JSON.readTree(r.body()).at("/error/code").asText()).isEqualTo("upstream_timeout");
        assertThat(millis).as("20 retries of 400 ms would take 8 s").isLessThan(4000);
        assertThat(calls.get()).isBetween(2, 4);
        JsonNode line = JSON.readTree(gw.usageLine("deadline"));
        assertThat(line.get("attempt_log")).hasSize(line.get("attempts").asInt());
    }

    /** An Anthropic answer saying {@code text}. */
    static String anthropicText(String text) {
        return ANTHROPIC_OK.replace("from claude", text);
    }

    static final String OVERLOADED = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";

    @Test
    void aFollowUpToAStoredConversationFailsOverWithItsHistory() throws Exception {
        AtomicInteger anthropicCalls = new AtomicInteger();
        MockUpstream anthropic = closing(new MockUpstream()).on("/v1/messages", (req, reply) -> {
            if (anthropicCalls.incrementAndGet() == 1) reply.json(200, anthropicText("Paris."));
            else reply.json(529, OVERLOADED); // overloaded from the second turn on
        });
        MockUpstream openai = failing(0, 200);
        TestGateway gw = closing(TestGateway.start("ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", openai.baseUrl(),
                "FAILOVER_RULES_JSON", "{\"anthropic/claude-x\":[\"openai/gpt-4o-mini\"]}")).awaitListings();
        HttpResponse<String> first = gw.post("/v1/responses", "{\"model\":\"anthropic/claude-x\",\"input\":\"Capital of France?\"}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        String id = JSON.readTree(first.body()).get("id").asText();

        HttpResponse<String> second = gw.post("/v1/responses", "{\"model\":\"anthropic/claude-x\",\"input\":\"And Germany?\","
                + "\"previous_response_id\":\"" + id + "\"}", "X-Request-ID", "follow-up-failover");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(second.headers().firstValue("x-skiff-provider")).hasValue("openai");
        assertThat(second.headers().firstValue("x-skiff-attempts")).hasValue("2");
        assertThat(anthropicCalls.get()).isEqualTo(2);
        JsonNode answer = JSON.readTree(second.body());
        assertThat(answer.get("previous_response_id").asText()).isEqualTo(id);
        assertThat(answer.at("/output/0/content/0/text").asText()).isEqualTo("hi");
        // The second target got the conversation so far, translated for it: turn one, its answer, turn two.
        JsonNode sent = JSON.readTree(openai.take("/v1/chat/completions").body());
        assertThat(sent.get("model").asText()).isEqualTo("gpt-4o-mini");
        JsonNode messages = sent.get("messages");
        assertThat(messages).hasSize(3);
        assertThat(messages.get(0).toString()).contains("Capital of France?");
        assertThat(messages.get(1).get("role").asText()).isEqualTo("assistant");
        assertThat(messages.get(1).toString()).contains("Paris.");
        assertThat(messages.get(2).toString()).contains("And Germany?");
        JsonNode log = JSON.readTree(gw.usageLine("follow-up-failover")).get("attempt_log");
        assertThat(log.get(0).get("provider").asText()).isEqualTo("anthropic");
        assertThat(log.get(0).get("status").asInt()).isEqualTo(529);
        assertThat(log.get(1).get("provider").asText()).isEqualTo("openai");

        // The answer the second target gave was stored: the conversation goes on from it.
        String secondId = answer.get("id").asText();
        HttpResponse<String> third = gw.post("/v1/responses", "{\"model\":\"anthropic/claude-x\",\"input\":\"And Spain?\","
                + "\"previous_response_id\":\"" + secondId + "\"}");
        assertThat(third.statusCode()).as(third.body()).isEqualTo(200);
        assertThat(JSON.readTree(openai.take("/v1/chat/completions").body()).get("messages")).hasSize(5);
    }

    @Test
    void aStreamedFollowUpFailsOverBeforeItsFirstEvent() throws Exception {
        AtomicInteger anthropicCalls = new AtomicInteger();
        MockUpstream anthropic = closing(new MockUpstream()).on("/v1/messages", (req, reply) -> {
            if (anthropicCalls.incrementAndGet() == 1) reply.json(200, anthropicText("Paris."));
            else reply.json(529, OVERLOADED);
        });
        MockUpstream openai = closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) ->
                streamChat(reply, "Berlin.", ",\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}"));
        TestGateway gw = closing(TestGateway.start("ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", openai.baseUrl(),
                "FAILOVER_RULES_JSON", "{\"anthropic/claude-x\":[\"openai/gpt-4o-mini\"]}")).awaitListings();
        HttpResponse<String> first = gw.post("/v1/responses", "{\"model\":\"anthropic/claude-x\",\"input\":\"Capital of France?\"}");
        String id = JSON.readTree(first.body()).get("id").asText();
        HttpResponse<String> second = gw.post("/v1/responses", "{\"model\":\"anthropic/claude-x\",\"input\":\"And Germany?\",\"stream\":true,"
                + "\"previous_response_id\":\"" + id + "\"}");
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(second.headers().firstValue("x-skiff-provider")).hasValue("openai");
        assertThat(second.body()).contains("event: response.created").contains("Berlin.").contains("event: response.completed")
                .doesNotContain("Overloaded");
        assertThat(JSON.readTree(openai.take("/v1/chat/completions").body()).get("messages")).hasSize(3);
    }

    @Test
    void aFollowUpToAProvidersOwnResponseIsRetriedThereButNeverFailedOverElsewhere() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        MockUpstream openai = closing(new MockUpstream()).on("/v1/responses", (req, reply) -> {
            int n = calls.incrementAndGet();
            if (n == 1) reply.json(503, BUSY); // retried
            else if (n == 2) reply.json(200, "{\"id\":\"resp_2\",\"object\":\"response\",\"status\":\"completed\",\"output\":[]}");
            else reply.json(500, BUSY); // would fail over, but only OpenAI knows resp_openai_1
        });
        AtomicInteger anthropicCalls = new AtomicInteger();
        MockUpstream anthropic = closing(new MockUpstream()).on("/v1/messages", (req, reply) -> {
            anthropicCalls.incrementAndGet();
            reply.json(200, ANTHROPIC_OK);
        });
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "RETRY_MAX_RETRIES", "1", "RETRY_INITIAL_BACKOFF", "5ms",
                "FAILOVER_RULES_JSON", "{\"openai/gpt-4o-mini\":[\"anthropic/claude-x\"]}")).awaitListings();
        String followUp = "{\"model\":\"openai/gpt-4o-mini\",\"input\":\"more\",\"previous_response_id\":\"resp_openai_1\"}";
        HttpResponse<String> retried = gw.post("/v1/responses", followUp);
        assertThat(retried.statusCode()).as(retried.body()).isEqualTo(200);
        assertThat(retried.headers().firstValue("x-skiff-attempts")).hasValue("2");
        assertThat(JSON.readTree(openai.take("/v1/responses").body()).get("previous_response_id").asText()).isEqualTo("resp_openai_1");
        assertThat(JSON.readTree(openai.take("/v1/responses").body()).get("previous_response_id").asText()).isEqualTo("resp_openai_1");

        HttpResponse<String> failed = gw.post("/v1/responses", followUp);
        assertThat(failed.statusCode()).isEqualTo(500);
        assertThat(anthropicCalls.get()).isZero();
    }

    @Test
    void messagesWithFoldedSystemTurnsFailOverFoldedAgain() throws Exception {
        MockUpstream first = closing(new MockUpstream()).on("/v1/messages", (req, reply) -> reply.json(529, OVERLOADED));
        MockUpstream second = closing(new MockUpstream()).on("/v1/messages", (req, reply) -> reply.json(200, ANTHROPIC_OK));
        TestGateway gw = closing(TestGateway.start("ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", first.baseUrl(),
                "ANTHROPIC_B_API_KEY", "k", "ANTHROPIC_B_BASE_URL", second.baseUrl(),
                "FAILOVER_RULES_JSON", "{\"anthropic/claude-x\":[\"anthropic-b/claude-y\"]}")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/messages", "{\"model\":\"anthropic/claude-x\",\"max_tokens\":20,\"system\":\"Be brief.\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"system\",\"content\":\"Answer in French.\"},"
                + "{\"role\":\"user\",\"content\":\"again\"}]}", "anthropic-version", "2023-06-01", "X-Request-ID", "folded");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("anthropic-b");
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("2");
        assertThat(r.headers().firstValue("x-skiff-dropped-fields")).isPresent(); // the move is still said
        for (MockUpstream up : List.of(first, second)) {
            JsonNode sent = JSON.readTree(up.take("/v1/messages").body());
            assertThat(sent.get("model").asText()).isEqualTo(up == first ? "claude-x" : "claude-y");
            assertThat(sent.get("system").toString()).contains("Be brief.").contains("Answer in French.");
            assertThat(sent.get("messages").toString()).doesNotContain("\"system\"");
        }
        assertThat(JSON.readTree(gw.usageLine("folded")).get("attempt_log")).hasSize(2);
    }

    @Test
    void anthropicsContextLimitErrorFailsOverByItsType() throws Exception {
        MockUpstream small = closing(new MockUpstream()).on("/v1/messages", (req, reply) ->
                reply.json(400, dev.skiff.testing.Recorded.read("anthropic", "error_exceed_context_limit.json")));
        MockUpstream large = closing(new MockUpstream()).on("/v1/messages", (req, reply) -> reply.json(200, ANTHROPIC_OK));
        TestGateway gw = closing(TestGateway.start("ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", small.baseUrl(),
                "ANTHROPIC_B_API_KEY", "k", "ANTHROPIC_B_BASE_URL", large.baseUrl(), "RETRY_MAX_RETRIES", "2",
                "FAILOVER_RULES_JSON", "{\"anthropic/claude-x\":[\"anthropic-b/claude-y\"]}")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/messages", "{\"model\":\"anthropic/claude-x\",\"max_tokens\":32000,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "anthropic-version", "2023-06-01", "X-Request-ID", "context-limit");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("anthropic-b");
        assertThat(small.receivedSoFar()).hasSize(1); // not retried on the same target
        assertThat(JSON.readTree(gw.usageLine("context-limit")).at("/attempt_log/0/error").asText()).isEqualTo("context_length");
    }

    @Test
    void aClientErrorWhoseMessageMentionsAModelIsNotFailedOver() throws Exception {
        MockUpstream first = closing(new MockUpstream()).on("/v1/chat/completions", (req, reply) ->
                reply.json(400, dev.skiff.testing.Recorded.read("openai", "error_invalid_value.json")));
        MockUpstream second = failing(0, 200);
        TestGateway gw = closing(TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", first.baseUrl(),
                "OPENAI_B_API_KEY", "k", "OPENAI_B_BASE_URL", second.baseUrl(),
                "FAILOVER_RULES_JSON", "{\"openai/gpt-4o-mini\":[\"openai-b/gpt-4o-mini\"]}")).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/code").asText()).isEqualTo("invalid_value");
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("1");
        assertThat(second.receivedSoFar()).isEmpty();
    }

    /** An OpenAI chat stream of one text delta, a stop, {@code usage} (a member to add to the last chunk, or "") and [DONE]. */
    private static void streamChat(MockUpstream.Reply reply, String text, String usage) throws java.io.IOException {
        String head = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,";
        reply.startStream();
        reply.chunk(head + "\"delta\":{\"role\":\"assistant\",\"content\":\"" + text + "\"},\"finish_reason\":null}]}\n\n");
        reply.chunk(head + "\"delta\":{},\"finish_reason\":\"stop\"}]" + usage + "}\n\n");
        reply.chunk("data: [DONE]\n\n");
    }
}
