package dev.skiff.provider.gemini;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** OpenAI embeddings through Gemini's batchEmbedContents. */
class GeminiEmbeddingsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String ANSWER = "{\"embeddings\":[{\"values\":[0.25,-0.5,1.0]},{\"values\":[0.125,0.0,-1.0]}]}";

    @Test
    void batchInputsDimensionsAndBothEncodings() throws Exception {
        try (MockUpstream gemini = new MockUpstream()) {
            gemini.on("/v1/models", (req, reply) -> reply.json(200, "{\"models\":[{\"name\":\"models/gemini-embedding-001\"}]}"));
            gemini.on("/v1/models/gemini-embedding-001:batchEmbedContents", (req, reply) -> reply.json(200, ANSWER));
            try (TestGateway gw = TestGateway.start("GEMINI_API_KEY", "g-key", "GEMINI_BASE_URL", gemini.baseUrl()).awaitListings()) {
                HttpResponse<String> r = gw.post("/v1/embeddings",
                        "{\"model\":\"gemini-embedding-001\",\"input\":[\"one\",\"two\"],\"dimensions\":3}");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                JsonNode out = JSON.readTree(r.body());
                assertThat(out.get("object").asText()).isEqualTo("list");
                assertThat(out.at("/data/1/index").asInt()).isEqualTo(1);
                assertThat(out.at("/data/0/embedding/1").asDouble()).isEqualTo(-0.5);
                assertThat(out.get("model").asText()).isEqualTo("gemini-embedding-001");

                MockUpstream.Received sent = gemini.take("/v1/models/gemini-embedding-001:batchEmbedContents");
                assertThat(sent.header("x-goog-api-key")).isEqualTo("g-key");
                JsonNode body = JSON.readTree(sent.body());
                assertThat(body.get("requests")).hasSize(2);
                assertThat(body.at("/requests/1/content/parts/0/text").asText()).isEqualTo("two");
                assertThat(body.at("/requests/0/model").asText()).isEqualTo("models/gemini-embedding-001");
                assertThat(body.at("/requests/0/outputDimensionality").asInt()).isEqualTo(3);

                HttpResponse<String> b64 = gw.post("/v1/embeddings",
                        "{\"model\":\"gemini-embedding-001\",\"input\":\"one\",\"encoding_format\":\"base64\"}");
                byte[] raw = Base64.getDecoder().decode(JSON.readTree(b64.body()).at("/data/0/embedding").asText());
                ByteBuffer floats = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
                assertThat(floats.getFloat()).isEqualTo(0.25f);
                assertThat(floats.getFloat()).isEqualTo(-0.5f);

                HttpResponse<String> bad = gw.post("/v1/embeddings", "{\"model\":\"gemini-embedding-001\",\"input\":[[1,2,3]]}");
                assertThat(bad.statusCode()).isEqualTo(400);
            }
        }
    }
}
