package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.control.keys.PostgresSchema;
import dev.skiff.store.TestDatabases;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The acceptance test: two Skiff replicas sharing the real PostgreSQL (own schema) and Redis
 * (own key prefix); limits set through one replica's admin API hold exactly across both.
 */
class ReplicaLimitsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "sk-master-replicas";
    static final String ANSWER = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}";

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    static String[] env(PostgresSchema schema, String prefix, MockUpstream up, String... extra) {
        List<String> e = new ArrayList<>(List.of("SKIFF_MASTER_KEY", MASTER, "SKIFF_DATABASE_URL", schema.url(),
                "SKIFF_REDIS_URL", TestDatabases.redisUrl(), "SKIFF_REDIS_PREFIX", prefix,
                "OPENAI_API_KEY", "sk-up", "OPENAI_BASE_URL", up.baseUrl(), "SKIFF_IO_THREADS", "2"));
        e.addAll(List.of(extra));
        return e.toArray(String[]::new);
    }

    static JsonNode admin(TestGateway gw, String method, String path, String body) throws Exception {
        HttpResponse<String> r = gw.request(method, path, body, "Authorization", "Bearer " + MASTER);
        assertThat(r.statusCode()).as(r.body()).isBetween(200, 201);
        return JSON.readTree(r.body());
    }

    CompletableFuture<HttpResponse<String>> send(TestGateway gw, String body, String secret, String endUser) {
        HttpRequest r = HttpRequest.newBuilder(URI.create(gw.url("/v1/chat/completions"))).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + secret).header("X-End-User", endUser).build();
        return http.sendAsync(r, HttpResponse.BodyHandlers.ofString());
    }

    /** Waits until {@code gw} applies the policy: a probe end user's answer carries the quota headers. */
    void awaitPolicy(TestGateway gw, String body, String secret, String header) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = send(gw, body, secret, "probe-" + UUID.randomUUID()).join();
            if (r.statusCode() == 200 && r.headers().firstValue(header).isPresent()) return;
            Thread.sleep(50);
        }
        throw new AssertionError("the policy never reached the replica on port " + gw.skiff.port());
    }

    @Test
    void anEndUserQuotaOf100RequestsAdmitsExactly100Of400ConcurrentRequestsSpreadOverTwoReplicas() throws Exception {
        String prefix = "skiff-test-" + UUID.randomUUID() + ":";
        try (PostgresSchema schema = new PostgresSchema(); MockUpstream up = new MockUpstream().models("gpt-4o-mini")) {
            up.on("/v1/chat/completions", (req, reply) -> {
                Thread.sleep(20); // keeps requests in flight together
                reply.json(200, ANSWER);
            });
            try (TestGateway a = TestGateway.start(env(schema, prefix, up)).awaitListings();
                 TestGateway b = TestGateway.start(env(schema, prefix, up)).awaitListings()) {
                JsonNode key = admin(a, "POST", "/admin/v1/keys", "{\"name\":\"app\"}");
                String secret = key.get("secret").asText();
                admin(a, "POST", "/admin/v1/limits", "{\"scope\":\"end_user\",\"key_id\":\"" + key.get("id").asText()
                        + "\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":100}");
                String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
                awaitPolicy(b, body, secret, "x-ratelimit-limit-requests");

                List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
                for (int i = 0; i < 400; i++) all.add(send(i % 2 == 0 ? a : b, body, secret, "alice"));
                Map<Integer, Integer> byStatus = new TreeMap<>();
                Map<String, Integer> codes = new TreeMap<>();
                for (var f : all) {
                    HttpResponse<String> r = f.join();
                    byStatus.merge(r.statusCode(), 1, Integer::sum);
                    if (r.statusCode() == 429) {
                        codes.merge(JSON.readTree(r.body()).path("error").path("code").asText(), 1, Integer::sum);
                        assertThat(r.headers().firstValue("retry-after")).isPresent();
                    }
                }
                assertThat(byStatus).isEqualTo(Map.of(200, 100, 429, 300));
                assertThat(codes).isEqualTo(Map.of("end_user_quota_exceeded", 300));
                // another end user of the same key has a quota of its own
                assertThat(send(b, body, secret, "bob").join().statusCode()).isEqualTo(200);
            }
        }
    }

    static final String STREAM = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"budget-model\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
            + "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"budget-model\",\"choices\":[{\"index\":0,"
            + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
            + "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"budget-model\",\"choices\":[],"
            + "\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":500,\"total_tokens\":520}}\n\n"
            + "data: [DONE]\n\n";

    /**
     * A money budget of $1 per end user, streaming requests that reserve $0.01 each (1000 output tokens at
     * $10 per million) and really cost $0.005 (500 tokens): of 400 concurrent requests over both replicas
     * exactly 100 are admitted (all held by the provider until every request was decided, so that no
     * settlement frees budget in between); settled with the real usage, the half left admits exactly 99
     * more one after another (each reserving $0.01 and settling $0.005, until less than $0.01 is left).
     */
    @Test
    void aMoneyBudgetAdmitsExactlyWhatItAllowsOfConcurrentStreamsAndIsSettledWithTheirRealCost() throws Exception {
        String prefix = "skiff-test-" + UUID.randomUUID() + ":";
        Path prices = Files.createTempFile("prices", ".yaml");
        Files.writeString(prices, "providers:\n  openai:\n    budget-model: {input: 0, output: 10.00}\n");
        AtomicBoolean hold = new AtomicBoolean();
        AtomicInteger arrived = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        try (PostgresSchema schema = new PostgresSchema(); MockUpstream up = new MockUpstream().models("budget-model")) {
            up.on("/v1/chat/completions", (req, reply) -> {
                if (hold.get()) {
                    arrived.incrementAndGet();
                    release.await(60, TimeUnit.SECONDS);
                }
                reply.startStream();
                reply.chunk(STREAM);
            });
            String[] env = env(schema, prefix, up, "SKIFF_PRICING_FILE", prices.toString());
            try (TestGateway a = TestGateway.start(env).awaitListings(); TestGateway b = TestGateway.start(env).awaitListings()) {
                JsonNode key = admin(a, "POST", "/admin/v1/keys", "{\"name\":\"app\"}");
                String secret = key.get("secret").asText();
                admin(a, "POST", "/admin/v1/limits", "{\"scope\":\"end_user\",\"key_id\":\"" + key.get("id").asText()
                        + "\",\"metric\":\"cost\",\"window\":\"month\",\"limit_usd\":1}");
                String body = "{\"model\":\"budget-model\",\"stream\":true,\"max_tokens\":1000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
                awaitPolicy(b, body, secret, "x-skiff-budget-remaining-usd");

                hold.set(true);
                AtomicInteger refused = new AtomicInteger();
                List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
                for (int i = 0; i < 400; i++) {
                    all.add(send(i % 2 == 0 ? a : b, body, secret, "carol").whenComplete((r, e) -> {
                        if (r != null && r.statusCode() == 429) refused.incrementAndGet();
                    }));
                }
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (refused.get() + arrived.get() < 400 && System.nanoTime() < deadline) Thread.sleep(10);
                assertThat(arrived.get()).isEqualTo(100);
                release.countDown();
                Map<Integer, Integer> byStatus = new TreeMap<>();
                for (var f : all) {
                    HttpResponse<String> r = f.join();
                    byStatus.merge(r.statusCode(), 1, Integer::sum);
                    if (r.statusCode() == 200) assertThat(r.body()).contains("[DONE]");
                    else assertThat(JSON.readTree(r.body()).path("error").path("code").asText()).isEqualTo("end_user_quota_exceeded");
                }
                assertThat(byStatus).isEqualTo(Map.of(200, 100, 429, 300));

                hold.set(false);
                int more = 0;
                while (more < 200) { // one replica: its settlement reaches Redis before its next reservation
                    HttpResponse<String> r = send(a, body, secret, "carol").join();
                    if (r.statusCode() != 200) {
                        assertThat(r.statusCode()).isEqualTo(429);
                        assertThat(r.headers().firstValue("x-skiff-budget-remaining-usd")).hasValue("0.005000");
                        break;
                    }
                    more++;
                }
                assertThat(more).isEqualTo(99);
            }
        } finally {
            Files.deleteIfExists(prices);
        }
    }
}
