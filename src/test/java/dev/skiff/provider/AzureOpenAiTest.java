package dev.skiff.provider;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** Azure OpenAI: the same wire format, at deployment URLs with an api-version and an api-key header. */
class AzureOpenAiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String COMPLETION = "{\"id\":\"1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}";

    @Test
    void chatGoesToTheDeploymentUrlWithApiKeyAndVersion() throws Exception {
        try (MockUpstream azure = new MockUpstream()) {
            azure.on("/openai/deployments/my-gpt4o/chat/completions", (req, reply) -> reply.json(200, COMPLETION));
            String resource = azure.baseUrl().replace("/v1", "");
            try (TestGateway gw = TestGateway.start("AZURE_API_KEY", "az-key", "AZURE_BASE_URL", resource,
                    "AZURE_MODELS", "my-gpt4o").awaitListings()) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"my-gpt4o\",\"messages\":[]}", "X-Request-ID", "az-1");
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo(COMPLETION.replace("\"gpt-4o\"", "\"my-gpt4o\"")); // the deployment the client named
                MockUpstream.Received sent = azure.take("/openai/deployments/my-gpt4o/chat/completions");
                assertThat(sent.query()).isEqualTo("api-version=2024-10-21");
                assertThat(sent.header("api-key")).isEqualTo("az-key");
                assertThat(sent.header("Authorization")).isNull();
                assertThat(JSON.readTree(gw.usageLine("az-1")).get("provider").asText()).isEqualTo("azure");
                // The declared deployments are the listing; Azure's own model list is not asked for.
                assertThat(JSON.readTree(gw.get("/v1/models").body()).at("/data/0/id").asText()).isEqualTo("azure/my-gpt4o");
            }
        }
    }

    @Test
    void azureNeedsItsResourceEndpoint() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.skiff.config.ConfigLoader.load(
                        java.util.Map.of("AZURE_API_KEY", "k"), java.nio.file.Path.of(".")))
                .isInstanceOf(dev.skiff.config.ConfigException.class)
                .hasMessageContaining("AZURE_BASE_URL");
    }

    @Test
    void versionAndEmbeddingsAndStreamsFollowTheSameRules() throws Exception {
        try (MockUpstream azure = new MockUpstream()) {
            azure.on("/openai/deployments/emb/embeddings", (req, reply) -> reply.json(200,
                    "{\"object\":\"list\",\"data\":[],\"model\":\"emb\",\"usage\":{\"prompt_tokens\":1,\"total_tokens\":1}}"));
            azure.on("/openai/deployments/gpt/chat/completions", (req, reply) -> {
                reply.startStream();
                reply.chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n");
                reply.chunk("data: [DONE]\n\n");
            });
            // The resource endpoint may be given with its /openai path too.
            String resource = azure.baseUrl().replace("/v1", "/openai");
            try (TestGateway gw = TestGateway.start("AZURE_EU_API_KEY", "k", "AZURE_EU_BASE_URL", resource,
                    "AZURE_EU_API_VERSION", "2025-04-01-preview")) {
                assertThat(gw.post("/v1/embeddings", "{\"model\":\"azure-eu/emb\",\"input\":\"a\"}").statusCode()).isEqualTo(200);
                assertThat(azure.take("/openai/deployments/emb/embeddings").query()).isEqualTo("api-version=2025-04-01-preview");
                HttpResponse<String> s = gw.post("/v1/chat/completions", "{\"model\":\"azure-eu/gpt\",\"stream\":true,\"messages\":[]}");
                assertThat(s.body()).isEqualTo("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n");
            }
        }
    }
}
