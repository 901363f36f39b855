package dev.skiff.routing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Virtual models and their strategies, session affinity, the provider priority for bare names, and
 * circuit breakers as the admin API shows them, end to end against mock providers.
 */
class RoutingEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "sk-master-routing";

    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closing.reversed()) c.close();
    }

    static String ok(String model) {
        return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"" + model + "\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,"
                + "\"completion_tokens\":1,\"total_tokens\":2}}";
    }

    /** A provider that answers chat with {@code status} (200: a completion), counting its calls; lists {@code models}. */
    MockUpstream provider(int status, AtomicInteger calls, String... models) throws Exception {
        MockUpstream m = new MockUpstream().models(models.length == 0 ? new String[] {"gpt-4o-mini"} : models);
        closing.add(m);
        return m.on("/v1/chat/completions", (req, reply) -> {
            calls.incrementAndGet();
            if (status == 200) reply.json(200, ok(JSON.readTree(req.body()).get("model").asText()));
            else reply.json(status, "{\"error\":{\"message\":\"down\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
        });
    }

    TestGateway gateway(String yaml, String... env) throws Exception {
        Path dir = Files.createTempDirectory("skiff-routing");
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, yaml);
        String[] all = java.util.Arrays.copyOf(env, env.length + 4);
        all[env.length] = "SKIFF_CONFIG";
        all[env.length + 1] = file.toString();
        all[env.length + 2] = "SKIFF_MASTER_KEY";
        all[env.length + 3] = MASTER;
        TestGateway gw = TestGateway.start(all).awaitListings();
        closing.add(gw);
        return gw;
    }

    /** A gateway over two providers, openai and openai-b, answering chat with these statuses and counting their calls. */
    TestGateway twoProviders(String yaml, int statusA, AtomicInteger a, int statusB, AtomicInteger b) throws Exception {
        MockUpstream pa = provider(statusA, a), pb = provider(statusB, b);
        return gateway(yaml, "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", pa.baseUrl(), "OPENAI_B_API_KEY", "k", "OPENAI_B_BASE_URL", pb.baseUrl());
    }

    static String chat(String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    }

    HttpResponse<String> post(TestGateway gw, String model, String... headers) throws Exception {
        String[] all = java.util.Arrays.copyOf(headers, headers.length + 2);
        all[headers.length] = "Authorization";
        all[headers.length + 1] = "Bearer " + MASTER;
        return gw.post("/v1/chat/completions", chat(model), all);
    }

    @Test
    void aVirtualModelSpreadsByWeightAndAnswersInItsOwnName() throws Exception {
        AtomicInteger a = new AtomicInteger(), b = new AtomicInteger();
        TestGateway gw = twoProviders("""
                routing:
                  virtual_models:
                    smart:
                      strategy: round_robin
                      targets:
                        - model: openai/gpt-4o-mini
                          weight: 3
                        - model: openai-b/gpt-4o-mini
                          weight: 1
                """, 200, a, 200, b);
        Map<String, Integer> byProvider = new HashMap<>();
        for (int i = 0; i < 8; i++) {
            HttpResponse<String> r = post(gw, "smart");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).get("model").asText()).isEqualTo("smart");
            byProvider.merge(r.headers().firstValue("x-skiff-provider").orElseThrow(), 1, Integer::sum);
        }
        assertThat(byProvider).containsEntry("openai", 6).containsEntry("openai-b", 2);
        JsonNode listing = JSON.readTree(gw.get("/v1/models", "Authorization", "Bearer " + MASTER).body());
        assertThat(listing.findValuesAsText("id")).contains("smart");
    }

    @Test
    void aSessionStaysOnOneTarget() throws Exception {
        AtomicInteger a = new AtomicInteger(), b = new AtomicInteger();
        TestGateway gw = twoProviders("""
                routing:
                  virtual_models:
                    smart:
                      strategy: round_robin
                      targets: [openai/gpt-4o-mini, openai-b/gpt-4o-mini]
                """, 200, a, 200, b);
        for (String session : List.of("s-1", "s-2", "s-3")) {
            String first = post(gw, "smart", "X-Session-Id", session).headers().firstValue("x-skiff-provider").orElseThrow();
            for (int i = 0; i < 4; i++) {
                assertThat(post(gw, "smart", "X-Session-Id", session).headers().firstValue("x-skiff-provider")).hasValue(first);
            }
        }
    }

    @Test
    void cheapestPicksTheLowerPricedModel() throws Exception {
        AtomicInteger a = new AtomicInteger();
        MockUpstream pa = provider(200, a, "gpt-4o", "gpt-4o-mini");
        TestGateway gw = gateway("""
                routing:
                  virtual_models:
                    thrifty:
                      strategy: cheapest
                      targets: [openai/gpt-4o, openai/gpt-4o-mini]
                """, "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", pa.baseUrl());
        HttpResponse<String> r = post(gw, "thrifty");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-model")).hasValue("gpt-4o-mini");
    }

    @Test
    void leastLatencyMovesToTheFasterTarget() throws Exception {
        MockUpstream slow = new MockUpstream().on("/v1/chat/completions", (req, reply) -> {
            Thread.sleep(150);
            reply.json(200, ok("gpt-4o-mini"));
        });
        closing.add(slow);
        MockUpstream fast = provider(200, new AtomicInteger());
        TestGateway gw = gateway("""
                routing:
                  virtual_models:
                    quick:
                      strategy: least_latency
                      targets: [openai/gpt-4o-mini, openai-fast/gpt-4o-mini]
                """, "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", slow.baseUrl(), "OPENAI_FAST_API_KEY", "k", "OPENAI_FAST_BASE_URL", fast.baseUrl());
        // The first requests learn each target's latency (an unknown target is tried first).
        for (int i = 0; i < 2; i++) post(gw, "quick");
        for (int i = 0; i < 3; i++) assertThat(post(gw, "quick").headers().firstValue("x-skiff-provider")).hasValue("openai-fast");
    }

    @Test
    void aBareNameSeveralProvidersServeFollowsThePriorityAndFailsOverAlongIt() throws Exception {
        AtomicInteger a = new AtomicInteger(), b = new AtomicInteger();
        MockUpstream pa = provider(200, a), pb = provider(500, b);
        String[] env = {"OPENAI_API_KEY", "k", "OPENAI_BASE_URL", pa.baseUrl(), "OPENAI_B_API_KEY", "k", "OPENAI_B_BASE_URL", pb.baseUrl()};
        TestGateway plain = gateway("{}\n", env);
        assertThat(post(plain, "gpt-4o-mini").statusCode()).isEqualTo(400); // ambiguous without a priority
        TestGateway gw = gateway("routing:\n  provider_priority: [openai-b, openai]\n", env);
        HttpResponse<String> r = post(gw, "gpt-4o-mini");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai");
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("2");
        assertThat(b.get()).isEqualTo(1);
    }

    @Test
    void aFailingTargetIsEjectedThenProbedAndTheAdminApiShowsIt() throws Exception {
        AtomicInteger a = new AtomicInteger(), b = new AtomicInteger();
        TestGateway gw = twoProviders("""
                routing:
                  fallbacks:
                    openai/gpt-4o-mini: [openai-b/gpt-4o-mini]
                  circuit_breaker:
                    failure_threshold: 2
                    success_threshold: 1
                    timeout: 400ms
                """, 500, a, 200, b);
        for (int i = 0; i < 2; i++) assertThat(post(gw, "openai/gpt-4o-mini").statusCode()).isEqualTo(200);
        assertThat(a.get()).isEqualTo(2);
        HttpResponse<String> r = post(gw, "openai/gpt-4o-mini");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-attempts")).hasValue("1"); // the open target was not called
        assertThat(a.get()).isEqualTo(2);
        JsonNode targets = JSON.readTree(gw.request("GET", "/admin/v1/routing/targets", null, "Authorization", "Bearer " + MASTER).body());
        Map<String, String> circuits = new HashMap<>();
        for (JsonNode t : targets.get("data")) circuits.put(t.get("target").asText(), t.get("circuit").asText());
        assertThat(circuits).containsEntry("openai/gpt-4o-mini", "open").containsEntry("openai-b/gpt-4o-mini", "closed");
        Thread.sleep(500); // the cool-down passes: one probe goes through
        assertThat(post(gw, "openai/gpt-4o-mini").statusCode()).isEqualTo(200);
        assertThat(a.get()).isEqualTo(3);
        JsonNode config = JSON.readTree(gw.request("GET", "/admin/v1/routing", null, "Authorization", "Bearer " + MASTER).body());
        assertThat(config.at("/circuit_breaker/failure_threshold").asInt()).isEqualTo(2);
        // The admin API's description says the breaker state is this replica's own.
        JsonNode openApi = JSON.readTree(gw.request("GET", "/admin/v1/openapi.json", null, "Authorization", "Bearer " + MASTER).body());
        assertThat(openApi.at("/paths/~1admin~1v1~1routing~1targets/get/description").asText()).contains("per replica")
                .contains("not shared across replicas");
    }

    @Test
    void everyTargetOpenIsA503InTheClientsDialect() throws Exception {
        AtomicInteger a = new AtomicInteger();
        MockUpstream pa = provider(503, a);
        TestGateway gw = gateway("""
                routing:
                  retry:
                    max_retries: 1
                    initial_backoff: 1ms
                  circuit_breaker:
                    failure_threshold: 2
                    timeout: 60s
                """, "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", pa.baseUrl());
        assertThat(post(gw, "openai/gpt-4o-mini").statusCode()).isEqualTo(503); // tried twice: the circuit opens
        HttpResponse<String> r = post(gw, "openai/gpt-4o-mini");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(JSON.readTree(r.body()).at("/error/code").asText()).isEqualTo("circuit_open");
        assertThat(a.get()).isEqualTo(2);
    }
}
