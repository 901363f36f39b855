package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.RawUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** OpenAI embeddings through Skiff to Bedrock's InvokeModel (a mock serving Titan and Cohere answers), on real sockets. */
class BedrockEmbeddingsEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TITAN = "amazon.titan-embed-text-v2:0";
    static final String TITAN_V1 = "amazon.titan-embed-text-v1";
    static final String COHERE = "cohere.embed-english-v3";
    static final String COHERE_V4 = "us.cohere.embed-v4:0";
    static final String CHAT = BedrockAdapterEndToEndTest.MODEL;
    /** The JDK server reports the decoded path; on the wire the ':' is %3A. */
    static final String TITAN_INVOKE = "/model/" + TITAN + "/invoke";
    static final String COHERE_INVOKE = "/model/" + COHERE + "/invoke";

    MockUpstream mock;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        mock = new MockUpstream();
        gw = start();
    }

    TestGateway start(String... more) throws Exception {
        List<String> env = new ArrayList<>(List.of("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", "secret", "AWS_REGION", "us-east-1",
                "BEDROCK_BASE_URL", BedrockAdapterEndToEndTest.base(mock),
                "BEDROCK_MODELS", String.join(",", TITAN, TITAN_V1, COHERE, COHERE_V4, CHAT)));
        env.addAll(List.of(more));
        return TestGateway.start(env.toArray(String[]::new)).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        mock.close();
    }

    /** A Titan answer whose vector tells which text it embeds: [length, first char code, 0.5]. */
    static String titanAnswer(String text, int tokens) {
        String v = "[" + text.length() + ".0," + (int) text.charAt(0) + ".0,0.5]";
        return "{\"embedding\":" + v + ",\"inputTextTokenCount\":" + tokens + ",\"embeddingsByType\":{\"float\":" + v + "}}";
    }

    static String inputText(MockUpstream.Received r) throws Exception {
        return JSON.readTree(r.body()).get("inputText").asText();
    }

    @Test
    void titanSingleInputIsSignedAndTranslated() throws Exception {
        mock.on(TITAN_INVOKE, (req, reply) -> reply.json(200, titanAnswer(inputText(req), 5)));
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":\"hello\",\"dimensions\":256}",
                "X-Request-ID", "emb-1");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode out = JSON.readTree(r.body());
        assertThat(out.get("object").asText()).isEqualTo("list");
        assertThat(out.get("model").asText()).isEqualTo(TITAN);
        assertThat(out.at("/data/0/object").asText()).isEqualTo("embedding");
        assertThat(out.at("/data/0/index").asInt()).isZero();
        assertThat(out.at("/data/0/embedding").toString()).isEqualTo("[5.0,104.0,0.5]");
        assertThat(out.at("/usage/prompt_tokens").asInt()).isEqualTo(5);
        assertThat(out.at("/usage/total_tokens").asInt()).isEqualTo(5);
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("bedrock");
        assertThat(r.headers().firstValue("x-skiff-dropped-fields")).isEmpty();

        MockUpstream.Received sent = mock.take(TITAN_INVOKE);
        assertSigned(sent, "emb-1");
        assertThat(JSON.readTree(sent.body())).isEqualTo(JSON.readTree("{\"inputText\":\"hello\",\"dimensions\":256,\"normalize\":true}"));

        JsonNode usage = JSON.readTree(gw.usageLine("emb-1"));
        assertThat(usage.get("endpoint").asText()).isEqualTo("embeddings");
        assertThat(usage.get("provider").asText()).isEqualTo("bedrock");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(usage.get("status").asInt()).isEqualTo(200);
    }

    static void assertSigned(MockUpstream.Received sent, String requestId) {
        String amzDate = sent.header("X-Amz-Date");
        assertThat(amzDate).matches("\\d{8}T\\d{6}Z");
        assertThat(sent.header("Authorization"))
                .startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + amzDate.substring(0, 8) + "/us-east-1/bedrock/aws4_request, SignedHeaders=");
        assertThat(sent.header("X-Amz-Content-Sha256")).isEqualTo(SigV4Signer.sha256Hex(sent.body().getBytes(StandardCharsets.UTF_8)));
        assertThat(sent.header("x-request-id")).isEqualTo(requestId);
        assertThat(sent.header("Accept")).isEqualTo("application/json");
        assertThat(sent.header("Content-Type")).isEqualTo("application/json");
    }

    @Test
    void apiKeyIsSentAsBearerOnEveryCall() throws Exception {
        try (TestGateway keyed = TestGateway.start("BEDROCK_API_KEY", "ABSKbedrockkey", "BEDROCK_BASE_URL", BedrockAdapterEndToEndTest.base(mock),
                "BEDROCK_MODELS", TITAN).awaitListings()) {
            mock.on(TITAN_INVOKE, (req, reply) -> reply.json(200, titanAnswer(inputText(req), 1)));
            HttpResponse<String> r = keyed.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":[\"a\",\"b\"]}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            for (int i = 0; i < 2; i++) {
                MockUpstream.Received sent = mock.take(TITAN_INVOKE);
                assertThat(sent.header("Authorization")).isEqualTo("Bearer ABSKbedrockkey");
                assertThat(sent.header("X-Amz-Date")).isNull();
            }
        }
    }

    @Test
    void titanBatchIsOneSignedCallPerInputAnsweredInInputOrder() throws Exception {
        CountDownLatch othersAnswered = new CountDownLatch(2);
        mock.on(TITAN_INVOKE, (req, reply) -> {
            String text = inputText(req);
            if (text.equals("alpha")) othersAnswered.await(3, TimeUnit.SECONDS); // the first input is answered last
            reply.json(200, titanAnswer(text, text.length()));
            othersAnswered.countDown();
        });
        HttpResponse<String> r = gw.post("/v1/embeddings",
                "{\"model\":\"" + TITAN + "\",\"input\":[\"alpha\",\"be\",\"gam\"],\"user\":\"u-42\"}", "X-Request-ID", "emb-3");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode data = JSON.readTree(r.body()).get("data");
        assertThat(data).hasSize(3);
        for (int i = 0; i < 3; i++) assertThat(data.get(i).get("index").asInt()).isEqualTo(i);
        assertThat(data.get(0).get("embedding").get(1).asInt()).isEqualTo('a');
        assertThat(data.get(1).get("embedding").get(1).asInt()).isEqualTo('b');
        assertThat(data.get(2).get("embedding").get(1).asInt()).isEqualTo('g');
        assertThat(JSON.readTree(r.body()).at("/usage/prompt_tokens").asInt()).isEqualTo(5 + 2 + 3);
        assertThat(r.headers().firstValue("x-skiff-dropped-fields")).hasValue("user");

        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            MockUpstream.Received sent = mock.take(TITAN_INVOKE);
            assertSigned(sent, "emb-3");
            texts.add(inputText(sent));
        }
        assertThat(texts).containsExactlyInAnyOrder("alpha", "be", "gam");
        JsonNode usage = JSON.readTree(gw.usageLine("emb-3"));
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(10);
        assertThat(usage.get("dropped_fields").asText()).isEqualTo("user");
    }

    @Test
    void titanBatchWithOneFailedCallReturnsThatFailure() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch slowStarted = new CountDownLatch(1);
        mock.on(TITAN_INVOKE, (req, reply) -> {
            calls.incrementAndGet();
            String text = inputText(req);
            switch (text) {
                case "bad" -> {
                    slowStarted.await(3, TimeUnit.SECONDS);
                    reply.json(400, "{\"message\":\"Malformed input request: expected maxLength: 50000, actual: 50001, please reformat your input and try again.\"}");
                }
                case "slow" -> {
                    slowStarted.countDown();
                    Thread.sleep(3_000); // cancelled long before
                    reply.json(200, titanAnswer(text, 1));
                }
                default -> reply.json(200, titanAnswer(text, 1));
            }
        });
        long t0 = System.nanoTime();
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":[\"ok\",\"bad\",\"slow\"]}",
                "X-Request-ID", "emb-fail");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(2_000);
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("message").asText()).startsWith("Malformed input request: expected maxLength: 50000");
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("code").asText()).isEqualTo("ValidationException");
        JsonNode usage = JSON.readTree(gw.usageLine("emb-fail"));
        assertThat(usage.get("status").asInt()).isEqualTo(400);
        assertThat(usage.has("prompt_tokens")).isFalse();

        // The gateway and its connections are fine afterwards.
        mock.on(TITAN_INVOKE, (req, reply) -> reply.json(200, titanAnswer(inputText(req), 2)));
        HttpResponse<String> again = gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":[\"x\",\"y\"]}");
        assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
        assertThat(calls.get()).isEqualTo(3);
    }

    @Test
    void bedrockErrorsInUppercaseMessageAndThrottlingKeepTheirStatus() throws Exception {
        mock.on(TITAN_INVOKE, (req, reply) -> {
            reply.header("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/");
            reply.json(429, "{\"Message\":\"Too many requests, please wait before trying again.\"}");
        });
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":\"x\"}");
        assertThat(r.statusCode()).isEqualTo(429);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("message").asText()).isEqualTo("Too many requests, please wait before trying again.");
        assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
    }

    @Test
    void cohereBatchIsOneCallWithUsageNotReported() throws Exception {
        mock.on(COHERE_INVOKE, (req, reply) -> reply.json(200, """
                {"id":"6a8c1b0e-1d6e-4a55-9d61-1f3b2c9d7e10","response_type":"embeddings_by_type",
                 "texts":["one","two","three"],"embeddings":{"float":[[0.1,0.2],[0.3,0.4],[0.5,0.6]]}}"""));
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"" + COHERE + "\",\"input\":[\"one\",\"two\",\"three\"],"
                + "\"dimensions\":512,\"encoding_format\":\"float\"}", "X-Request-ID", "emb-co");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode out = JSON.readTree(r.body());
        assertThat(out.get("data")).hasSize(3);
        assertThat(out.at("/data/2/index").asInt()).isEqualTo(2);
        assertThat(out.at("/data/2/embedding").toString()).isEqualTo("[0.5,0.6]");
        assertThat(out.get("model").asText()).isEqualTo(COHERE);
        assertThat(r.headers().firstValue("x-skiff-dropped-fields")).hasValue("dimensions"); // v3 has one output size

        MockUpstream.Received sent = mock.take(COHERE_INVOKE);
        assertSigned(sent, "emb-co");
        assertThat(JSON.readTree(sent.body())).isEqualTo(JSON.readTree(
                "{\"texts\":[\"one\",\"two\",\"three\"],\"input_type\":\"search_document\",\"embedding_types\":[\"float\"],\"truncate\":\"NONE\"}"));

        JsonNode usage = JSON.readTree(gw.usageLine("emb-co"));
        assertThat(usage.get("status").asInt()).isEqualTo(200);
        assertThat(usage.has("prompt_tokens")).as("not reported, not zero").isFalse();
    }

    @Test
    void cohereV4ThroughAnInferenceProfileTakesOutputDimensionAndSplitsAt96() throws Exception {
        String invoke = "/model/" + COHERE_V4 + "/invoke";
        mock.on(invoke, (req, reply) -> {
            JsonNode texts = JSON.readTree(req.body()).get("texts");
            StringBuilder vectors = new StringBuilder();
            for (JsonNode t : texts) {
                if (!vectors.isEmpty()) vectors.append(',');
                vectors.append('[').append(t.asText().substring(1)).append(".0]");
            }
            reply.json(200, "{\"id\":\"x\",\"response_type\":\"embeddings_by_type\",\"embeddings\":{\"float\":[" + vectors + "]}}");
        });
        List<String> inputs = new ArrayList<>();
        for (int i = 0; i < 100; i++) inputs.add("t" + i);
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"" + COHERE_V4 + "\",\"input\":" + JSON.writeValueAsString(inputs)
                + ",\"dimensions\":256,\"input_type\":\"search_query\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode data = JSON.readTree(r.body()).get("data");
        assertThat(data).hasSize(100);
        for (int i = 0; i < 100; i++) assertThat(data.get(i).at("/embedding/0").asInt()).isEqualTo(i);

        List<Integer> sizes = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            JsonNode body = JSON.readTree(mock.take(invoke).body());
            sizes.add(body.get("texts").size());
            assertThat(body.get("output_dimension").asInt()).isEqualTo(256);
            assertThat(body.get("input_type").asText()).isEqualTo("search_query");
        }
        assertThat(sizes).containsExactlyInAnyOrder(96, 4);
    }

    @Test
    void base64DecodesToTheSameFloats() throws Exception {
        mock.on(TITAN_INVOKE, (req, reply) -> reply.json(200,
                "{\"embedding\":[0.0123,-0.98765,0.5],\"inputTextTokenCount\":1,\"embeddingsByType\":{\"float\":[0.0123,-0.98765,0.5]}}"));
        String req = "{\"model\":\"" + TITAN + "\",\"input\":[\"a\",\"b\"]";
        JsonNode floats = JSON.readTree(gw.post("/v1/embeddings", req + "}").body());
        JsonNode b64 = JSON.readTree(gw.post("/v1/embeddings", req + ",\"encoding_format\":\"base64\"}").body());
        for (int i = 0; i < 2; i++) {
            ByteBuffer raw = ByteBuffer.wrap(Base64.getDecoder().decode(b64.at("/data/" + i + "/embedding").asText())).order(ByteOrder.LITTLE_ENDIAN);
            JsonNode expected = floats.at("/data/" + i + "/embedding");
            assertThat(raw.remaining()).isEqualTo(expected.size() * 4);
            for (JsonNode v : expected) assertThat(raw.getFloat()).isEqualTo(v.floatValue());
        }
    }

    @Test
    void refusalsNeverReachBedrock() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        mock.on(TITAN_INVOKE, (req, reply) -> {
            calls.incrementAndGet();
            reply.json(200, titanAnswer("x", 1));
        });
        assertRefused(gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":\"x\",\"dimensions\":300}"),
                "dimensions", "256, 512 or 1024");
        assertRefused(gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":[[1,2,3]]}"), "input", "not token ids");
        assertRefused(gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":\"x\",\"encoding_format\":\"binary\"}"),
                "encoding_format", "float or base64");
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 65; i++) many.add("x");
        assertRefused(gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":" + JSON.writeValueAsString(many) + "}"),
                "input", "at most 64 inputs");
        assertRefused(gw.post("/v1/embeddings", "{\"model\":\"" + CHAT + "\",\"input\":\"x\"}"), "model", "not an embedding model");
        assertRefused(gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":\"x\",\"stream\":true}"), "stream", "does not stream");
        assertThat(calls.get()).isZero();
    }

    static void assertRefused(HttpResponse<String> r, String param, String message) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("message").asText()).contains(message);
        assertThat(error.get("param").asText()).isEqualTo(param);
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
    }

    @Test
    void titanV1SendsOnlyTheTextAndDropsDimensionsVisibly() throws Exception {
        String invoke = "/model/" + TITAN_V1 + "/invoke";
        mock.on(invoke, (req, reply) -> reply.json(200, "{\"embedding\":[0.25],\"inputTextTokenCount\":2}"));
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"" + TITAN_V1 + "\",\"input\":\"x\",\"dimensions\":256}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-dropped-fields")).hasValue("dimensions");
        assertThat(JSON.readTree(mock.take(invoke).body())).isEqualTo(JSON.readTree("{\"inputText\":\"x\"}"));
    }

    @Test
    void aHangingCallTimesOutTheWholeBatch() throws Exception {
        gw.close();
        gw = start("SKIFF_FIRST_BYTE_TIMEOUT", "400ms");
        mock.on(TITAN_INVOKE, (req, reply) -> {
            if (inputText(req).equals("hang")) Thread.sleep(3_000);
            reply.json(200, titanAnswer(inputText(req), 1));
        });
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"" + TITAN + "\",\"input\":[\"a\",\"hang\",\"b\"]}");
        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(JSON.readTree(r.body()).at("/error/code").asText()).isEqualTo("upstream_timeout");
    }

    @Test
    void aClientThatLeavesCancelsEveryCall() throws Exception {
        CountDownLatch allArrived = new CountDownLatch(3);
        CountDownLatch allClosed = new CountDownLatch(3);
        try (RawUpstream silent = new RawUpstream((socket, head, in, out) -> {
            allArrived.countDown();
            if (silent(socket, in)) allClosed.countDown(); // never answers; waits for Skiff to hang up
        })) {
            gw.close();
            gw = TestGateway.start("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", "secret", "AWS_REGION", "us-east-1",
                    "BEDROCK_BASE_URL", silent.baseUrl().replace("/v1", ""), "BEDROCK_MODELS", TITAN).awaitListings();
            try (var socket = new java.net.Socket("127.0.0.1", gw.skiff.port())) {
                String body = "{\"model\":\"" + TITAN + "\",\"input\":[\"a\",\"b\",\"c\"]}";
                socket.getOutputStream().write(("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-Request-ID: emb-gone\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
                assertThat(allArrived.await(3, TimeUnit.SECONDS)).isTrue();
            } // the client hangs up while all three calls are in flight
            assertThat(allClosed.await(3, TimeUnit.SECONDS)).as("every upstream connection closed").isTrue();
            assertThat(JSON.readTree(gw.usageLine("emb-gone")).get("status").asInt()).isEqualTo(499);
        }
    }

    /** Whether the peer closed the connection within five seconds. */
    static boolean silent(java.net.Socket socket, java.io.InputStream in) throws Exception {
        socket.setSoTimeout(5_000);
        try {
            return in.read() == -1;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        }
    }
}
