package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** OpenAI chat clients in front of a Bedrock Converse upstream (a mock serving Converse answers and event streams). */
class BedrockAdapterEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    /** The JDK server reports the decoded path: the wire path is /model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse. */
    static final String CONVERSE = "/model/" + MODEL + "/converse";
    static final String CONVERSE_STREAM = "/model/" + MODEL + "/converse-stream";

    MockUpstream mock;
    TestGateway gw;

    static String base(MockUpstream mock) {
        String url = mock.baseUrl();
        return url.substring(0, url.length() - "/v1".length());
    }

    @BeforeEach
    void setUp() throws Exception {
        mock = new MockUpstream();
        gw = TestGateway.start("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", "secret", "AWS_REGION", "us-east-1",
                "BEDROCK_BASE_URL", base(mock), "BEDROCK_MODELS", MODEL).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        mock.close();
    }

    static List<JsonNode> events(String body) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (!block.startsWith("data: ")) continue;
            String data = block.substring(6);
            out.add(data.equals("[DONE]") ? null : JSON.readTree(data));
        }
        return out;
    }

    @Test
    void plainAnswerIsSignedAndTranslated() throws Exception {
        mock.on(CONVERSE, (req, reply) -> reply.json(200, BedrockFrames.fixture("converse.json")));
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"" + MODEL + "\",\"max_tokens\":100,\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hello\"}]}",
                "X-Request-ID", "br-1");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode out = JSON.readTree(r.body());
        assertThat(out.get("object").asText()).isEqualTo("chat.completion");
        assertThat(out.get("model").asText()).isEqualTo(MODEL);
        assertThat(out.at("/choices/0/message/content").asText()).isEqualTo("Hello! How can I help you today?");
        assertThat(out.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(out.at("/usage/prompt_tokens").asInt()).isEqualTo(12);
        assertThat(out.at("/usage/completion_tokens").asInt()).isEqualTo(11);
        assertThat(r.headers().firstValue("x-skiff-dropped-fields")).isEmpty();

        MockUpstream.Received sent = mock.take(CONVERSE);
        String amzDate = sent.header("X-Amz-Date");
        assertThat(amzDate).matches("\\d{8}T\\d{6}Z");
        assertThat(sent.header("Authorization"))
                .startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + amzDate.substring(0, 8) + "/us-east-1/bedrock/aws4_request, SignedHeaders=")
                .contains("x-request-id");
        assertThat(sent.header("X-Amz-Content-Sha256")).isEqualTo(SigV4Signer.sha256Hex(sent.body().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertThat(sent.header("x-request-id")).isEqualTo("br-1");
        assertThat(sent.header("Accept")).isEqualTo("application/json");
        JsonNode body = JSON.readTree(sent.body());
        assertThat(body.at("/system/0/text").asText()).isEqualTo("Be brief.");
        assertThat(body.at("/messages/0/content/0/text").asText()).isEqualTo("Hello");
        assertThat(body.at("/inferenceConfig/maxTokens").asInt()).isEqualTo(100);

        JsonNode usage = JSON.readTree(gw.usageLine("br-1"));
        assertThat(usage.get("provider").asText()).isEqualTo("bedrock");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(12);
    }

    @Test
    void toolCallAnswerAndDroppedFields() throws Exception {
        mock.on(CONVERSE, (req, reply) -> reply.json(200, BedrockFrames.fixture("converse_with_tools.json")));
        HttpResponse<String> r = gw.post("/v1/chat/completions", """
                {"model":"%s","seed":3,"messages":[{"role":"user","content":"Weather in Paris?"}],
                 "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather",
                   "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}],
                 "tool_choice":"auto"}""".formatted(MODEL));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choice = JSON.readTree(r.body()).at("/choices/0");
        assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode call = choice.at("/message/tool_calls/0");
        assertThat(call.get("id").asText()).isEqualTo("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
        assertThat(call.at("/function/name").asText()).isEqualTo("get_weather");
        assertThat(JSON.readTree(call.at("/function/arguments").asText()).get("location").asText()).isEqualTo("Paris");
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains("seed");
        JsonNode sent = JSON.readTree(mock.take(CONVERSE).body());
        assertThat(sent.at("/toolConfig/tools/0/toolSpec/inputSchema/json/required/0").asText()).isEqualTo("location");
        assertThat(sent.at("/toolConfig/toolChoice/auto").isObject()).isTrue();
        assertThat(sent.has("seed")).isFalse();
    }

    @Test
    void streamBecomesChatChunks() throws Exception {
        mock.on(CONVERSE_STREAM, (req, reply) -> {
            reply.header("Content-Type", "application/vnd.amazon.eventstream");
            reply.raw(200, BedrockFrames.textStream());
        });
        String req = "{\"model\":\"" + MODEL + "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", req, "X-Request-ID", "br-s1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        List<JsonNode> ev = events(r.body());
        assertThat(ev.getFirst().at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        for (JsonNode e : ev) if (e != null) text.append(e.at("/choices/0/delta/content").asText(""));
        assertThat(text.toString()).isEqualTo("Hello World");
        assertThat(ev.get(ev.size() - 2).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(ev.getLast()).isNull();
        assertThat(r.body()).doesNotContain("\"usage\"");
        JsonNode usage = JSON.readTree(gw.usageLine("br-s1"));
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(10);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(5);
        MockUpstream.Received sent = mock.take(CONVERSE_STREAM);
        assertThat(sent.header("Accept")).isEqualTo("application/vnd.amazon.eventstream");
        assertThat(JSON.readTree(sent.body()).has("stream")).isFalse();

        String withUsage = req.replace("\"stream\":true", "\"stream\":true,\"stream_options\":{\"include_usage\":true}");
        List<JsonNode> ev2 = events(gw.post("/v1/chat/completions", withUsage).body());
        JsonNode usageChunk = ev2.get(ev2.size() - 2);
        assertThat(usageChunk.get("choices")).isEmpty();
        assertThat(usageChunk.at("/usage/total_tokens").asInt()).isEqualTo(15);
    }

    @Test
    void streamedToolCall() throws Exception {
        mock.on(CONVERSE_STREAM, (req, reply) -> {
            reply.header("Content-Type", "application/vnd.amazon.eventstream");
            reply.raw(200, BedrockFrames.toolStream());
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"stream\":true,"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        List<JsonNode> ev = events(r.body());
        StringBuilder args = new StringBuilder();
        for (JsonNode e : ev) if (e != null) args.append(e.at("/choices/0/delta/tool_calls/0/function/arguments").asText(""));
        assertThat(JSON.readTree(args.toString()).get("location").asText()).isEqualTo("Paris");
        assertThat(ev.get(ev.size() - 2).at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
    }

    @Test
    void streamWithoutMessageStopEndsWithAnError() throws Exception {
        mock.on(CONVERSE_STREAM, (req, reply) -> {
            reply.header("Content-Type", "application/vnd.amazon.eventstream");
            reply.raw(200, BedrockFrames.events("messageStart", "{\"role\":\"assistant\"}",
                    "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hel\"}}"));
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.body()).doesNotContain("[DONE]");
        assertThat(events(r.body()).getLast().has("error")).isTrue();
    }

    @Test
    void streamExceptionIsInBand() throws Exception {
        mock.on(CONVERSE_STREAM, (req, reply) -> {
            reply.header("Content-Type", "application/vnd.amazon.eventstream");
            reply.raw(200, BedrockFrames.concat(BedrockFrames.events("messageStart", "{\"role\":\"assistant\"}"),
                    EventStreamEncoder.encode(EventStreamEncoder.exception("modelStreamErrorException", "{\"message\":\"model failed\"}"))));
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        JsonNode err = events(r.body()).getLast();
        assertThat(err.at("/error/message").asText()).isEqualTo("model failed");
        assertThat(err.at("/error/code").asText()).isEqualTo("modelStreamErrorException");
    }

    @Test
    void errorsKeepStatusAndMessage() throws Exception {
        mock.on(CONVERSE, (req, reply) -> {
            reply.header("x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/");
            reply.header("retry-after", "2");
            reply.json(429, "{\"message\":\"Too many requests, please wait before trying again.\"}");
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(429);
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertThat(e.get("message").asText()).isEqualTo("Too many requests, please wait before trying again.");
        assertThat(e.get("code").asText()).isEqualTo("ThrottlingException");
        assertThat(e.has("type") && e.has("param")).isTrue();

        mock.on(CONVERSE, (req, reply) -> reply.json(400, "{\"message\":\"The provided model identifier is invalid.\"}"));
        HttpResponse<String> bad = gw.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).at("/error/message").asText()).isEqualTo("The provided model identifier is invalid.");

        mock.on(CONVERSE_STREAM, (req, reply) -> reply.json(403, "{\"message\":\"The security token included in the request is invalid.\"}"));
        HttpResponse<String> denied = gw.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(denied.body()).at("/error/message").asText()).contains("security token");
    }

    @Test
    void imageUrlThatCannotBeFetchedIsRefusedClearly() throws Exception {
        // Bedrock takes image bytes only; Skiff fetches URLs (ImageUrlInliningTest), but never from an
        // internal address by default, and says so. No request reaches Bedrock.
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://127.0.0.1:9/cat.png\"}}]}]}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/code").asText()).isEqualTo("invalid_image_url");
    }

    @Test
    void apiKeyIsSentAsBearerWithoutSignature() throws Exception {
        try (TestGateway keyed = TestGateway.start("BEDROCK_API_KEY", "ABSKbedrockkey", "BEDROCK_BASE_URL", base(mock),
                "BEDROCK_MODELS", MODEL).awaitListings()) {
            mock.on(CONVERSE, (req, reply) -> reply.json(200, BedrockFrames.fixture("converse.json")));
            HttpResponse<String> r = keyed.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            MockUpstream.Received sent = mock.take(CONVERSE);
            assertThat(sent.header("Authorization")).isEqualTo("Bearer ABSKbedrockkey");
            assertThat(sent.header("X-Amz-Date")).isNull();
        }
    }
}
