package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Several providers, qualified and bare model names, listings with a provider down, and the master key. */
class RoutingAndAuthTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static String completion(String who) {
        return "{\"id\":\"1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
                + who + "\"},\"finish_reason\":\"stop\"}]}";
    }

    @Test
    void modelsAreRoutedToTheProviderThatServesThem() throws Exception {
        try (MockUpstream a = new MockUpstream().models("gpt-4o-mini", "shared-model");
             MockUpstream b = new MockUpstream().models("llama-3.3-70b", "shared-model")) {
            a.on("/v1/chat/completions", (req, reply) -> reply.json(200, completion("openai")));
            b.on("/v1/chat/completions", (req, reply) -> reply.json(200, completion("groq")));
            try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "ka", "OPENAI_BASE_URL", a.baseUrl(),
                    "GROQ_API_KEY", "kb", "GROQ_BASE_URL", b.baseUrl()).awaitListings()) {
                HttpResponse<String> r1 = gw.post("/v1/chat/completions", "{\"model\":\"llama-3.3-70b\",\"messages\":[]}");
                assertThat(r1.body()).contains("groq");
                assertThat(r1.headers().firstValue("x-skiff-provider")).hasValue("groq");
                assertThat(b.take("/v1/chat/completions").header("Authorization")).isEqualTo("Bearer kb");

                assertThat(gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}").body()).contains("openai");

                HttpResponse<String> ambiguous = gw.post("/v1/chat/completions", "{\"model\":\"shared-model\",\"messages\":[]}");
                assertThat(ambiguous.statusCode()).isEqualTo(400);
                String message = JSON.readTree(ambiguous.body()).at("/error/message").asText();
                assertThat(message).contains("openai/shared-model").contains("groq/shared-model");

                HttpResponse<String> qualified = gw.post("/v1/chat/completions", "{\"model\":\"groq/shared-model\",\"messages\":[]}");
                assertThat(qualified.body()).contains("groq");
                assertThat(JSON.readTree(b.take("/v1/chat/completions").body()).get("model").asText()).isEqualTo("shared-model");
            }
        }
    }

    @Test
    void suffixedInstanceIsItsOwnProvider() throws Exception {
        try (MockUpstream east = new MockUpstream().models("gpt-4o")) {
            east.on("/v1/chat/completions", (req, reply) -> reply.json(200, completion("east")));
            try (TestGateway gw = TestGateway.start("OPENAI_EAST_API_KEY", "ke", "OPENAI_EAST_BASE_URL", east.baseUrl()).awaitListings()) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"openai-east/gpt-4o\",\"messages\":[]}");
                assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai-east");
                assertThat(east.take("/v1/chat/completions").header("Authorization")).isEqualTo("Bearer ke");
            }
        }
    }

    @Test
    void listingIsTheUnionAndReportsProvidersThatAreDown() throws Exception {
        try (MockUpstream up = new MockUpstream().models("gpt-4o-mini", "gpt-4o");
             MockUpstream slow = new MockUpstream()) {
            slow.on("/v1/models", (req, reply) -> Thread.sleep(10_000)); // a listing that never answers in time
            int closedPort;
            try (var s = new java.net.ServerSocket(0)) {
                closedPort = s.getLocalPort();
            }
            try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                    "TOGETHER_API_KEY", "k", "TOGETHER_BASE_URL", slow.baseUrl(), "SKIFF_FIRST_BYTE_TIMEOUT", "1s",
                    "MISTRAL_API_KEY", "k", "MISTRAL_BASE_URL", "http://127.0.0.1:" + closedPort + "/v1",
                    "VLLM_BASE_URL", "http://127.0.0.1:" + closedPort + "/v1", "VLLM_MODELS", "my-local-model")) {
                // The listing answers at once, whatever the providers are doing (one never answers).
                long t0 = System.nanoTime();
                HttpResponse<String> first = gw.get("/v1/models");
                assertThat(first.statusCode()).isEqualTo(200);
                assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(900);
                gw.awaitListings();
                JsonNode list = JSON.readTree(gw.get("/v1/models").body());
                List<String> ids = new ArrayList<>();
                list.get("data").forEach(m -> ids.add(m.get("id").asText()));
                assertThat(ids).containsExactlyInAnyOrder("openai/gpt-4o-mini", "openai/gpt-4o", "vllm/my-local-model");
                List<String> down = new ArrayList<>();
                list.get("providers").forEach(p -> {
                    if (p.get("status").asText().equals("error")) down.add(p.get("name").asText());
                });
                assertThat(down).containsExactlyInAnyOrder("mistral", "vllm", "together");
                // One model, as SDKs retrieve it.
                HttpResponse<String> one = gw.get("/v1/models/openai/gpt-4o");
                assertThat(one.statusCode()).isEqualTo(200);
                assertThat(JSON.readTree(one.body()).get("id").asText()).isEqualTo("openai/gpt-4o");
                assertThat(gw.get("/v1/models/openai%2Fgpt-4o").statusCode()).isEqualTo(200);
                HttpResponse<String> missing = gw.get("/v1/models/openai/gpt-9");
                assertThat(missing.statusCode()).isEqualTo(404);
                assertThat(JSON.readTree(missing.body()).at("/error/code").asText()).isEqualTo("model_not_found");
                // A broken percent-encoding is the client's to fix (it closed the connection unanswered).
                try (dev.skiff.testing.RawClient raw = new dev.skiff.testing.RawClient(gw.skiff.port())) {
                    dev.skiff.testing.RawClient.Response malformed = raw.send("GET /v1/models/openai%zzgpt HTTP/1.1\r\nHost: x\r\n\r\n").read();
                    assertThat(malformed.status()).isEqualTo(400);
                    assertThat(JSON.readTree(malformed.body()).at("/error/message").asText()).contains("percent-encoded");
                }
                // A declared model of a provider whose listing failed is still routable.
                assertThat(gw.post("/v1/chat/completions", "{\"model\":\"my-local-model\",\"messages\":[]}").statusCode()).isEqualTo(502);
            }
        }
    }

    @Test
    void masterKeyIsRequiredWhenSet() throws Exception {
        try (MockUpstream up = new MockUpstream()) {
            up.on("/v1/chat/completions", (req, reply) -> reply.json(200, completion("ok")));
            try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                    "SKIFF_MASTER_KEY", "sk-skiff-secret").awaitListings()) {
                String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";
                HttpResponse<String> missing = gw.post("/v1/chat/completions", body);
                assertThat(missing.statusCode()).isEqualTo(401);
                assertThat(JSON.readTree(missing.body()).at("/error/code").asText()).isEqualTo("invalid_api_key");
                assertThat(gw.post("/v1/chat/completions", body, "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
                assertThat(gw.post("/v1/chat/completions", body, "Authorization", "Bearer sk-skiff-secret-and-more").statusCode()).isEqualTo(401);
                assertThat(gw.get("/v1/models").statusCode()).isEqualTo(401);

                assertThat(gw.post("/v1/chat/completions", body, "Authorization", "Bearer sk-skiff-secret").statusCode()).isEqualTo(200);
                assertThat(gw.post("/v1/chat/completions", body, "x-api-key", "sk-skiff-secret").statusCode()).isEqualTo(200);
                // The client's key never reaches the provider; the provider's key is applied instead.
                MockUpstream.Received sent = up.take("/v1/chat/completions");
                assertThat(sent.header("Authorization")).isEqualTo("Bearer k");
                // Health stays open for probes.
                assertThat(gw.get("/health").statusCode()).isEqualTo(200);
            }
        }
    }
}
