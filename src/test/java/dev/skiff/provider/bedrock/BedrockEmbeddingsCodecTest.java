package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.provider.bedrock.BedrockEmbeddingsCodec.Family;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/** OpenAI embeddings to Bedrock's Titan and Cohere InvokeModel bodies and back, without I/O. */
class BedrockEmbeddingsCodecTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) throws IOException {
        return JSON.readTree(s);
    }

    static BedrockEmbeddingsCodec.Request read(String body, Family family) throws Exception {
        return BedrockEmbeddingsCodec.read(json(body), family);
    }

    @Test
    void familyIsFoundInIdsProfilesAndArns() {
        assertThat(BedrockEmbeddingsCodec.family("amazon.titan-embed-text-v2:0")).isEqualTo(Family.TITAN_V2);
        assertThat(BedrockEmbeddingsCodec.family("amazon.titan-embed-text-v1")).isEqualTo(Family.TITAN_V1);
        assertThat(BedrockEmbeddingsCodec.family("amazon.titan-embed-g1-text-02")).isEqualTo(Family.TITAN_V1);
        assertThat(BedrockEmbeddingsCodec.family("cohere.embed-english-v3")).isEqualTo(Family.COHERE_V3);
        assertThat(BedrockEmbeddingsCodec.family("cohere.embed-multilingual-v3")).isEqualTo(Family.COHERE_V3);
        assertThat(BedrockEmbeddingsCodec.family("cohere.embed-v4:0")).isEqualTo(Family.COHERE_V4);
        assertThat(BedrockEmbeddingsCodec.family("us.cohere.embed-v4:0")).isEqualTo(Family.COHERE_V4);
        assertThat(BedrockEmbeddingsCodec.family("us-gov.amazon.titan-embed-text-v2:0")).isEqualTo(Family.TITAN_V2);
        assertThat(BedrockEmbeddingsCodec.family("arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.cohere.embed-v4:0"))
                .isEqualTo(Family.COHERE_V4);
        assertThat(BedrockEmbeddingsCodec.family("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"))
                .isEqualTo(Family.TITAN_V2);

        assertThat(BedrockEmbeddingsCodec.family("anthropic.claude-3-5-sonnet-20240620-v1:0")).isNull();
        assertThat(BedrockEmbeddingsCodec.family("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123")).isNull();
        assertThat(BedrockEmbeddingsCodec.family("my.custom.cohere.embed-v4")).isNull(); // the name must follow one region prefix at most
    }

    @Test
    void titanV2WritesOneBodyPerInputWithDimensionsAndNormalize() throws Exception {
        var r = read("{\"model\":\"m\",\"input\":[\"a\",\"b\",\"c\"],\"dimensions\":256,\"user\":\"u-1\"}", Family.TITAN_V2);
        List<ObjectNode> bodies = BedrockEmbeddingsCodec.requestBodies(Family.TITAN_V2, r);
        assertThat(bodies).hasSize(3);
        assertThat(bodies.get(1)).isEqualTo(json("{\"inputText\":\"b\",\"dimensions\":256,\"normalize\":true}"));
        assertThat(r.dropped().fields()).containsExactly("user");
        assertThat(r.base64()).isFalse();
    }

    @Test
    void titanV1TakesOnlyTheTextAndDropsDimensionsVisibly() throws Exception {
        var r = read("{\"model\":\"m\",\"input\":\"hello\",\"dimensions\":512,\"encoding_format\":\"base64\"}", Family.TITAN_V1);
        assertThat(BedrockEmbeddingsCodec.requestBodies(Family.TITAN_V1, r)).containsExactly((ObjectNode) json("{\"inputText\":\"hello\"}"));
        assertThat(r.dropped().fields()).containsExactly("dimensions");
        assertThat(r.base64()).isTrue();
    }

    @Test
    void cohereBatchesOf96WithInputTypeAndOutputDimension() throws Exception {
        List<String> inputs = new ArrayList<>();
        for (int i = 0; i < 100; i++) inputs.add("t" + i);
        String body = "{\"model\":\"m\",\"input\":" + JSON.writeValueAsString(inputs) + ",\"dimensions\":1024,\"input_type\":\"search_query\"}";
        var r = read(body, Family.COHERE_V4);
        List<ObjectNode> bodies = BedrockEmbeddingsCodec.requestBodies(Family.COHERE_V4, r);
        assertThat(bodies).hasSize(2);
        assertThat(bodies.get(0).get("texts")).hasSize(96);
        assertThat(bodies.get(1).get("texts")).hasSize(4);
        assertThat(bodies.get(1).at("/texts/0").asText()).isEqualTo("t96");
        assertThat(bodies.get(0).get("input_type").asText()).isEqualTo("search_query");
        assertThat(bodies.get(0).get("embedding_types")).isEqualTo(json("[\"float\"]"));
        assertThat(bodies.get(0).get("truncate").asText()).isEqualTo("NONE");
        assertThat(bodies.get(0).get("output_dimension").asInt()).isEqualTo(1024);
        assertThat(r.dropped().isEmpty()).isTrue();

        var v3 = read("{\"model\":\"m\",\"input\":[\"x\"],\"dimensions\":1024}", Family.COHERE_V3);
        ObjectNode b = BedrockEmbeddingsCodec.requestBodies(Family.COHERE_V3, v3).getFirst();
        assertThat(b.get("input_type").asText()).isEqualTo("search_document");
        assertThat(b.has("output_dimension")).isFalse();
        assertThat(v3.dropped().fields()).containsExactly("dimensions");
    }

    @Test
    void refusals() {
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":[[1,2,3]]}", Family.TITAN_V2))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("not token ids");
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":[1,2,3]}", Family.COHERE_V3))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("not token ids");
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":[]}", Family.TITAN_V2))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("'input' is required");
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":\"x\",\"encoding_format\":\"int8\"}", Family.TITAN_V2))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("float or base64");
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":\"x\",\"dimensions\":300}", Family.TITAN_V2))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("256, 512 or 1024")
                .extracting(e -> ((BadRequestException) e).param()).isEqualTo("dimensions");
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":\"x\",\"dimensions\":100}", Family.COHERE_V4))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("256, 512, 1024 or 1536");
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":\"x\",\"dimensions\":\"big\"}", Family.TITAN_V1))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("positive integer");
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":\"x\",\"input_type\":\"image\"}", Family.COHERE_V3))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("input_type");
        List<String> many = new ArrayList<>();
        for (int i = 0; i <= BedrockEmbeddingsCodec.MAX_TITAN_INPUTS; i++) many.add("x");
        assertThatThrownBy(() -> read("{\"model\":\"m\",\"input\":" + JSON.writeValueAsString(many) + "}", Family.TITAN_V2))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("at most 64 inputs");
    }

    @Test
    void titanAnswersInOrderWithSummedTokens() throws Exception {
        JsonNode answers = json("""
                [{"embedding":[0.5,-0.25],"inputTextTokenCount":3,"embeddingsByType":{"float":[0.5,-0.25]}},
                 {"embedding":[1.0,0.0],"inputTextTokenCount":4}]""");
        var e = BedrockEmbeddingsCodec.parseAnswers(Family.TITAN_V2, answers, 2);
        assertThat(e.inputTokens()).isEqualTo(7);
        ObjectNode out = BedrockEmbeddingsCodec.render(e, "bedrock/titan", false);
        assertThat(out.toString()).isEqualTo(json("""
                {"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]},
                 {"object":"embedding","index":1,"embedding":[1.0,0.0]}],
                 "model":"bedrock/titan","usage":{"prompt_tokens":7,"total_tokens":7}}""").toString());
    }

    @Test
    void cohereAnswersInBothShapesWithoutTokenCounts() throws Exception {
        JsonNode byType = json("[{\"id\":\"x\",\"response_type\":\"embeddings_by_type\",\"texts\":[\"a\",\"b\"],"
                + "\"embeddings\":{\"float\":[[0.1,0.2],[0.3,0.4]]}},{\"embeddings\":[[0.5,0.6]],\"response_type\":\"embeddings_floats\"}]");
        var e = BedrockEmbeddingsCodec.parseAnswers(Family.COHERE_V3, byType, 3);
        assertThat(e.vectors()).hasSize(3);
        assertThat(e.vectors().get(2).get(1).asDouble()).isEqualTo(0.6);
        assertThat(e.inputTokens()).isEqualTo(-1); // not reported, never 0
    }

    @Test
    void answersThatDoNotMatchTheInputsAreErrors() {
        assertThatThrownBy(() -> BedrockEmbeddingsCodec.parseAnswers(Family.COHERE_V3, json("[{\"embeddings\":[[0.1]]}]"), 2))
                .isInstanceOf(IOException.class).hasMessageContaining("1 embeddings for 2 inputs");
        assertThatThrownBy(() -> BedrockEmbeddingsCodec.parseAnswers(Family.TITAN_V2, json("[{\"inputTextTokenCount\":3}]"), 1))
                .isInstanceOf(IOException.class).hasMessageContaining("missing");
        assertThatThrownBy(() -> BedrockEmbeddingsCodec.parseAnswers(Family.TITAN_V2, json("{\"embedding\":[1]}"), 1))
                .isInstanceOf(IOException.class);
    }

    @Test
    void base64IsLittleEndianFloat32() throws Exception {
        String b64 = BedrockEmbeddingsCodec.base64(json("[0.25,-0.5,1.0,3.4028235E38]"));
        byte[] raw = Base64.getDecoder().decode(b64);
        assertThat(raw).hasSize(16);
        // 0.25f is 0x3E800000: little-endian puts the low byte first
        assertThat(raw[0]).isEqualTo((byte) 0x00);
        assertThat(raw[3]).isEqualTo((byte) 0x3E);
        ByteBuffer floats = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(floats.getFloat()).isEqualTo(0.25f);
        assertThat(floats.getFloat()).isEqualTo(-0.5f);
        assertThat(floats.getFloat()).isEqualTo(1.0f);
        assertThat(floats.getFloat()).isEqualTo(Float.MAX_VALUE);
    }
}
