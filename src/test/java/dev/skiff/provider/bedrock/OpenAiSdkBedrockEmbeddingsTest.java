package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.errors.BadRequestException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.Sdk;
import dev.skiff.testing.TestGateway;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The official openai-java SDK asking Skiff for embeddings, with a Bedrock upstream (mocked Titan and Cohere). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiSdkBedrockEmbeddingsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TITAN = BedrockEmbeddingsEndToEndTest.TITAN;
    private static final String COHERE = BedrockEmbeddingsEndToEndTest.COHERE;
    private MockUpstream mock;
    private TestGateway gw;
    private OpenAIClient client;

    @BeforeAll
    void start() throws Exception {
        mock = new MockUpstream();
        gw = TestGateway.start("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", "secret", "AWS_REGION", "us-east-1",
                "BEDROCK_BASE_URL", BedrockAdapterEndToEndTest.base(mock), "BEDROCK_MODELS", TITAN + "," + COHERE).awaitListings();
        client = Sdk.client(gw);
        mock.on(BedrockEmbeddingsEndToEndTest.TITAN_INVOKE, (req, reply) -> {
            String text = JSON.readTree(req.body()).get("inputText").asText();
            reply.json(200, "{\"embedding\":[" + text.length() + ".0,0.125,-0.75],\"inputTextTokenCount\":" + text.length() + "}");
        });
        mock.on(BedrockEmbeddingsEndToEndTest.COHERE_INVOKE, (req, reply) -> reply.json(200,
                "{\"id\":\"x\",\"response_type\":\"embeddings_by_type\",\"embeddings\":{\"float\":[[0.5,0.25],[-0.5,1.0]]}}"));
    }

    @AfterAll
    void stop() {
        client.close();
        gw.close();
        mock.close();
    }

    private CreateEmbeddingResponse titan(EmbeddingCreateParams.EncodingFormat format) {
        EmbeddingCreateParams.Builder b = EmbeddingCreateParams.builder().model(TITAN).inputOfArrayOfStrings(List.of("one", "three")).dimensions(256);
        if (format != null) b.encodingFormat(format);
        return client.embeddings().create(b.build());
    }

    @Test
    void titanBatchInEveryEncoding() {
        for (EmbeddingCreateParams.EncodingFormat format : new EmbeddingCreateParams.EncodingFormat[] {
                null, EmbeddingCreateParams.EncodingFormat.FLOAT, EmbeddingCreateParams.EncodingFormat.BASE64}) {
            CreateEmbeddingResponse r = titan(format);
            assertThat(r.data()).hasSize(2);
            assertThat(r.data().get(0).index()).isZero();
            assertThat(r.data().get(0).embedding()).as("format " + format).containsExactly(3.0f, 0.125f, -0.75f);
            assertThat(r.data().get(1).embedding()).as("format " + format).containsExactly(5.0f, 0.125f, -0.75f);
            assertThat(r.model()).isEqualTo(TITAN);
            assertThat(r.usage().promptTokens()).isEqualTo(8);
            assertThat(r.usage().totalTokens()).isEqualTo(8);
        }
    }

    @Test
    void cohereBatch() {
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(COHERE)
                .inputOfArrayOfStrings(List.of("a", "b")).build());
        assertThat(r.data()).hasSize(2);
        assertThat(r.data().get(1).embedding()).containsExactly(-0.5f, 1.0f);
    }

    @Test
    void refusedDimensionsSurfaceAsTheSdksBadRequest() {
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model(TITAN).input("x").dimensions(300).build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessageContaining("256, 512 or 1024");
    }
}
