package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.Lockstep;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.RawUpstream;
import dev.skiff.testing.TestGateway;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The real server on a real socket in front of a scripted provider: the behaviours the gateway promises. */
class GatewayEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String COMPLETION = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":1},"
            + "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}";

    MockUpstream mock;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        mock = new MockUpstream();
        mock.on("/v1/chat/completions", (req, reply) -> reply.json(200, COMPLETION));
        gw = TestGateway.start("OPENAI_API_KEY", "sk-upstream", "OPENAI_BASE_URL", mock.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        mock.close();
    }

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    static String chunk(String content) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"}}]}\n\n";
    }

    @Test
    void nonStreamingChatIsForwardedAndAnswered() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "my-id-1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(COMPLETION);
        assertThat(r.headers().firstValue("x-request-id")).hasValue("my-id-1");
        MockUpstream.Received up = mock.take("/v1/chat/completions");
        assertThat(up.body()).isEqualTo(CHAT); // no translation needed: the bytes go as they came
        assertThat(up.header("Authorization")).isEqualTo("Bearer sk-upstream");
        JsonNode usage = json(gw.usageLine("my-id-1"));
        assertThat(usage.get("provider").asText()).isEqualTo("openai");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(2);
        assertThat(usage.get("cached_tokens").asInt()).isEqualTo(1);
        assertThat(usage.get("status").asInt()).isEqualTo(200);
    }

    @Test
    void everyResponseCarriesARequestId() throws Exception {
        assertThat(gw.get("/health").headers().firstValue("x-request-id")).isPresent();
        assertThat(gw.get("/nope").headers().firstValue("x-request-id")).isPresent();
        assertThat(gw.post("/v1/chat/completions", "{").headers().firstValue("x-request-id")).isPresent();
    }

    @Test
    void qualifiedModelIsRewrittenForTheProvider() throws Exception {
        String body = "{\"model\":\"openai/some-unlisted-model\",\"messages\":[]}";
        assertThat(gw.post("/v1/chat/completions", body, "X-Request-ID", "qualified-1").statusCode()).isEqualTo(200);
        assertThat(json(mock.take("/v1/chat/completions").body()).get("model").asText()).isEqualTo("some-unlisted-model");
        JsonNode usage = json(gw.usageLine("qualified-1"));
        assertThat(usage.get("model").asText()).isEqualTo("some-unlisted-model");
        assertThat(usage.get("requested_model").asText()).isEqualTo("openai/some-unlisted-model");
    }

    @Test
    void streamChunksReachTheClientAsTheyArrive() throws Exception {
        Lockstep lockstep = new Lockstep();
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            reply.chunk(chunk("a"));
            lockstep.awaitClient();
            reply.chunk(chunk("b"));
            lockstep.awaitClient();
            reply.chunk("data: [DONE]\n\n");
        });
        HttpResponse<InputStream> r = gw.postStreaming("/v1/chat/completions", CHAT.replace("{\"model\"", "{\"stream\":true,\"model\""));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        List<String> data = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data:")) {
                    data.add(line);
                    lockstep.clientRead();
                }
            }
        }
        assertThat(data).hasSize(3);
        assertThat(data.get(0)).contains("\"a\"");
        assertThat(data.get(1)).contains("\"b\"");
        assertThat(data.get(2)).isEqualTo("data: [DONE]");
        assertThat(lockstep.stalls()).as("the provider sent each chunk only once the client had read the one before").isZero();
    }

    @Test
    void streamUsageIsCapturedAndHiddenWhenTheClientDidNotAsk() throws Exception {
        mock.on("/v1/chat/completions", (req, reply) -> {
            boolean usage = json(req.body()).path("stream_options").path("include_usage").asBoolean(false);
            reply.startStream();
            String extra = usage ? ",\"usage\":null" : "";
            reply.chunk("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]" + extra + "}\n\n");
            if (usage) reply.chunk("data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13}}\n\n");
            reply.chunk("data: [DONE]\n\n");
        });
        String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", body, "X-Request-ID", "no-usage");
        assertThat(r.body()).isEqualTo("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n");
        assertThat(json(mock.take("/v1/chat/completions").body()).at("/stream_options/include_usage").asBoolean()).isTrue();
        assertThat(json(gw.usageLine("no-usage")).get("total_tokens").asInt()).isEqualTo(13);

        String asked = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}";
        HttpResponse<String> r2 = gw.post("/v1/chat/completions", asked, "X-Request-ID", "with-usage");
        assertThat(r2.body()).contains("\"usage\":null").contains("\"prompt_tokens\":9");
        assertThat(mock.take("/v1/chat/completions").body()).isEqualTo(asked);
        assertThat(json(gw.usageLine("with-usage")).get("prompt_tokens").asInt()).isEqualTo(9);
    }

    @Test
    void streamOptionsWithoutIncludeUsageGetsItAdded() throws Exception {
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            reply.chunk("data: [DONE]\n\n");
        });
        gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{},\"messages\":[]}");
        assertThat(json(mock.take("/v1/chat/completions").body()).at("/stream_options/include_usage").asBoolean()).isTrue();
        gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":false,\"x\":1},\"messages\":[]}");
        JsonNode sent = json(mock.take("/v1/chat/completions").body());
        assertThat(sent.at("/stream_options/include_usage").asBoolean()).isTrue();
        assertThat(sent.at("/stream_options/x").asInt()).isEqualTo(1);
    }

    // ---- errors -------------------------------------------------------------------------------

    static void assertOpenAiError(HttpResponse<String> r, int status, String code) throws Exception {
        assertThat(r.statusCode()).isEqualTo(status);
        JsonNode e = json(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.has("type") && e.has("param") && e.has("code")).isTrue();
        if (code != null) assertThat(e.get("code").asText()).isEqualTo(code);
    }

    @Test
    void malformedJsonIs400() throws Exception {
        assertOpenAiError(gw.post("/v1/chat/completions", "{\"model\": \"gpt-4o-mini\", "), 400, null);
        assertOpenAiError(gw.post("/v1/chat/completions", "[1,2]"), 400, null);
        assertOpenAiError(gw.post("/v1/chat/completions", ""), 400, null);
    }

    @Test
    void missingModelIs400NamingTheParam() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"messages\":[]}");
        assertOpenAiError(r, 400, null);
        assertThat(json(r.body()).at("/error/param").asText()).isEqualTo("model");
    }

    @Test
    void unknownModelIs404() throws Exception {
        assertOpenAiError(gw.post("/v1/chat/completions", "{\"model\":\"gpt-9\",\"messages\":[]}"), 404, "model_not_found");
    }

    @Test
    void wrongMethodIs405AndUnknownPathIs404() throws Exception {
        HttpResponse<String> r = gw.get("/v1/chat/completions");
        assertOpenAiError(r, 405, null);
        assertThat(r.headers().firstValue("allow")).hasValue("POST");
        assertOpenAiError(gw.get("/v1/nothing-here"), 404, null);
        assertOpenAiError(gw.send("DELETE", "/v1/models", null), 405, null);
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        gw.close();
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", mock.baseUrl(), "SKIFF_MAX_BODY_BYTES", "1k");
        String big = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(2000) + "\"}]}";
        assertOpenAiError(gw.post("/v1/chat/completions", big), 413, null);
    }

    @Test
    void upstreamErrorsKeepStatusMessageAndRateLimitHeaders() throws Exception {
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.header("x-ratelimit-remaining-requests", "0");
            reply.header("retry-after", "7");
            reply.json(429, "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}");
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
        assertOpenAiError(r, 429, "rate_limit_exceeded");
        assertThat(json(r.body()).at("/error/message").asText()).isEqualTo("Rate limit reached");
        assertThat(r.headers().firstValue("retry-after")).hasValue("7");
        assertThat(r.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");

        mock.on("/v1/chat/completions", (req, reply) -> reply.send(503, "text/html", "<html>Service Unavailable</html>"));
        HttpResponse<String> r2 = gw.post("/v1/chat/completions", CHAT);
        assertOpenAiError(r2, 503, "upstream_error");
        // An HTML page is not passed on (see UpstreamDisclosureTest): the status and the provider are.
        assertThat(json(r2.body()).at("/error/message").asText()).contains("openai").contains("503").doesNotContain("<html>");
    }

    @Test
    void unreachableUpstreamIs502() throws Exception {
        gw.close();
        int closedPort;
        try (var s = new java.net.ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", "http://127.0.0.1:" + closedPort + "/v1");
        assertOpenAiError(gw.post("/v1/chat/completions", "{\"model\":\"openai/x\",\"messages\":[]}"), 502, "upstream_unreachable");
    }

    @Test
    void upstreamFirstByteTimeoutIs504() throws Exception {
        try (RawUpstream silent = new RawUpstream((s, head, in, out) -> {
            Thread.sleep(5_000);
        })) {
            gw.close();
            gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", silent.baseUrl(), "SKIFF_FIRST_BYTE_TIMEOUT", "300ms");
            long t0 = System.nanoTime();
            assertOpenAiError(gw.post("/v1/chat/completions", "{\"model\":\"openai/x\",\"messages\":[]}"), 504, "upstream_timeout");
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3_000);
        }
    }

    @Test
    void firstByteTimeoutHoldsOnAReusedConnection() throws Exception {
        // The connection's timer was armed by the exchanges before: it must still catch this one's deadline.
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        mock.on("/v1/chat/completions", (req, reply) -> {
            if (calls.incrementAndGet() == 4) Thread.sleep(5_000);
            reply.json(200, COMPLETION);
        });
        gw.close();
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", mock.baseUrl(), "SKIFF_FIRST_BYTE_TIMEOUT", "400ms");
        String body = "{\"model\":\"openai/x\",\"messages\":[]}";
        assertThat(gw.post("/v1/chat/completions", body).statusCode()).isEqualTo(200);
        Thread.sleep(600); // the first exchange's deadline passes with the connection idle in the pool
        assertThat(gw.post("/v1/chat/completions", body).statusCode()).isEqualTo(200);
        Thread.sleep(200);
        assertThat(gw.post("/v1/chat/completions", body).statusCode()).isEqualTo(200);
        long t0 = System.nanoTime();
        assertOpenAiError(gw.post("/v1/chat/completions", body), 504, "upstream_timeout");
        long took = (System.nanoTime() - t0) / 1_000_000;
        assertThat(took).isGreaterThanOrEqualTo(350).isLessThan(3_000);
    }

    @Test
    void conformance33_idleTimeoutMidStreamEndsWithAnInBandError() throws Exception {
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            reply.chunk(chunk("a"));
            Thread.sleep(3_000);
        });
        gw.close();
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", mock.baseUrl(), "SKIFF_IDLE_TIMEOUT", "300ms");
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"openai/x\",\"stream\":true,\"messages\":[]}");
        assertThat(r.statusCode()).isEqualTo(200);
        String[] events = r.body().split("\n\n");
        assertThat(events[0]).contains("\"content\":\"a\"");
        assertThat(json(events[events.length - 1].substring("data: ".length())).at("/error/code").asText()).isEqualTo("upstream_timeout");
    }

    @Test
    void totalTimeoutBoundsTheWholeExchange() throws Exception {
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            for (int i = 0; i < 40; i++) {
                reply.chunk(chunk("t"));
                Thread.sleep(50);
            }
        });
        gw.close();
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", mock.baseUrl(), "SKIFF_TOTAL_TIMEOUT", "500ms");
        long t0 = System.nanoTime();
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"openai/x\",\"stream\":true,\"messages\":[]}");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1_500);
        assertThat(r.body()).contains("total timeout").contains("upstream_timeout");
    }

    @Test
    void upstreamBreakingOffMidStreamIsReportedInBand() throws Exception {
        try (RawUpstream breaking = new RawUpstream((s, head, in, out) -> {
            String event = chunk("a");
            RawUpstream.write(out, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                    + Integer.toHexString(event.length()) + "\r\n" + event + "\r\n");
            Thread.sleep(100);
            s.close(); // gone before the terminating chunk
        })) {
            gw.close();
            gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", breaking.baseUrl());
            HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"openai/x\",\"stream\":true,\"messages\":[]}");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).startsWith(chunk("a"));
            assertThat(r.body()).contains("\"error\"").contains("closed the connection");
        }
    }

    @Test
    void clientDisconnectMidStreamClosesTheUpstreamConnection() throws Exception {
        var upstreamClosed = new java.util.concurrent.CountDownLatch(1);
        try (RawUpstream slow = new RawUpstream((s, head, in, out) -> {
            String event = chunk("a");
            RawUpstream.write(out, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                    + Integer.toHexString(event.length()) + "\r\n" + event + "\r\n");
            s.setSoTimeout(5_000);
            if (in.read() == -1) upstreamClosed.countDown();
        })) {
            gw.close();
            gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", slow.baseUrl());
            try (var socket = new java.net.Socket("127.0.0.1", gw.skiff.port())) {
                String body = "{\"model\":\"openai/x\",\"stream\":true,\"messages\":[]}";
                socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                        + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
                byte[] buf = new byte[4096];
                int n = socket.getInputStream().read(buf);
                assertThat(new String(buf, 0, n, StandardCharsets.UTF_8)).startsWith("HTTP/1.1 200");
            } // the client hangs up mid-stream
            assertThat(upstreamClosed.await(3, java.util.concurrent.TimeUnit.SECONDS)).as("upstream connection released").isTrue();
        }
    }

    @Test
    void staleKeepAliveConnectionIsRetriedOnce() throws Exception {
        String ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + COMPLETION.length() + "\r\n\r\n" + COMPLETION;
        try (RawUpstream closing = new RawUpstream((s, head, in, out) -> {
            RawUpstream.write(out, ok); // advertises keep-alive, then hangs up as an idle server would
            Thread.sleep(50);
        })) {
            gw.close();
            gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", closing.baseUrl(), "SKIFF_IO_THREADS", "1");
            assertThat(gw.post("/v1/chat/completions", "{\"model\":\"openai/x\",\"messages\":[]}").statusCode()).isEqualTo(200);
            Thread.sleep(300); // the server has closed the pooled connection by now
            HttpResponse<String> second = gw.post("/v1/chat/completions", "{\"model\":\"openai/x\",\"messages\":[]}");
            assertThat(second.statusCode()).isEqualTo(200);
            assertThat(second.body()).isEqualTo(COMPLETION.replace("\"model\":\"gpt-4o-mini\"", "\"model\":\"openai/x\""));
        }
    }

    @Test
    void twoHundredConcurrentStreams() throws Exception {
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            for (int i = 0; i < 5; i++) {
                reply.chunk(chunk("p" + i));
                Thread.sleep(20);
            }
            reply.chunk("data: [DONE]\n\n");
        });
        String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}";
        List<java.util.concurrent.Future<String>> results = new ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 200; i++) results.add(pool.submit(() -> gw.post("/v1/chat/completions", body).body()));
            String expected = chunk("p0") + chunk("p1") + chunk("p2") + chunk("p3") + chunk("p4") + "data: [DONE]\n\n";
            for (var f : results) assertThat(f.get(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(expected);
        }
    }

    @Test
    void embeddingsAreForwarded() throws Exception {
        String out = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.1,0.2]}],\"model\":\"text-embedding-3-small\","
                + "\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}";
        mock.on("/v1/embeddings", (req, reply) -> reply.json(200, out));
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"openai/text-embedding-3-small\",\"input\":\"hi\"}", "X-Request-ID", "emb-1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(out.replace("\"text-embedding-3-small\"", "\"openai/text-embedding-3-small\""));
        assertThat(json(mock.take("/v1/embeddings").body()).get("model").asText()).isEqualTo("text-embedding-3-small");
        assertThat(json(gw.usageLine("emb-1")).get("prompt_tokens").asInt()).isEqualTo(2);
    }

    @Test
    void conformance34_compressedUpstreamBodiesAreDecodedBeforeTheClientSeesThem() throws Exception {
        mock.on("/v1/chat/completions", (req, reply) -> {
            var bytes = new java.io.ByteArrayOutputStream();
            try (var gz = new java.util.zip.GZIPOutputStream(bytes)) {
                gz.write(COMPLETION.getBytes(StandardCharsets.UTF_8));
            }
            reply.header("Content-Encoding", "gzip");
            reply.header("Content-Type", "application/json");
            reply.raw(200, bytes.toByteArray());
        });
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "gz-1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-encoding")).isEmpty();
        assertThat(r.body()).isEqualTo(COMPLETION);
        assertThat(json(gw.usageLine("gz-1")).get("total_tokens").asInt()).isEqualTo(7);
    }

    @Test
    void conformance38_aModelListThatIsABareArrayIsRead() throws Exception {
        try (MockUpstream bare = new MockUpstream()) {
            bare.on("/v1/models", (req, reply) -> reply.json(200, "[{\"id\":\"qwen2.5\",\"object\":\"model\"}]"));
            try (TestGateway g2 = TestGateway.start("VLLM_BASE_URL", bare.baseUrl()).awaitListings()) {
                assertThat(g2.get("/v1/models").body()).contains("\"vllm/qwen2.5\"");
            }
        }
    }

    @Test
    void conformance12_reasoningContentOfCompatibleProvidersPassesUntouched() throws Exception {
        String answer = "{\"id\":\"r\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                + "\"content\":\"42\",\"reasoning_content\":\"Let me think: 6 x 7.\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9,\"total_tokens\":12,\"completion_tokens_details\":{\"reasoning_tokens\":6}}}";
        mock.on("/v1/chat/completions", (req, reply) -> reply.json(200, answer));
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "reason-1");
        assertThat(r.body()).isEqualTo(answer);
        assertThat(json(gw.usageLine("reason-1")).get("reasoning_tokens").asInt()).isEqualTo(6);
    }

    @Test
    void healthAndReady() throws Exception {
        assertThat(gw.get("/health").statusCode()).isEqualTo(200);
        HttpResponse<String> ready = gw.get("/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).contains("ready");
    }
}
