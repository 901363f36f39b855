package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.Lockstep;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.RawUpstream;
import dev.skiff.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code /p/{provider}/...} on the real server and a real socket, in front of scripted providers. */
class PassthroughEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "skiff-master";
    static final String COMPLETION = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[],"
            + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":1}}}";

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    MockUpstream mock;
    MockUpstream east;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        mock = new MockUpstream();
        east = new MockUpstream();
        gw = TestGateway.start("OPENAI_API_KEY", "sk-upstream", "OPENAI_BASE_URL", mock.baseUrl(),
                "OPENAI_EAST_API_KEY", "sk-east", "OPENAI_EAST_BASE_URL", east.baseUrl(),
                "SKIFF_MASTER_KEY", MASTER).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        mock.close();
        east.close();
    }

    HttpResponse<byte[]> send(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gw.url(path))).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void getKeepsThePathRelativeToTheBaseUrlAndTheQuery() throws Exception {
        mock.on("/v1/files", (req, reply) -> {
            reply.header("x-upstream", "yes");
            reply.json(200, "{\"data\":[]}");
        });
        HttpResponse<byte[]> r = send("GET", "/p/openai/files?purpose=batch&limit=2", null,
                "Authorization", "Bearer " + MASTER, "X-Request-ID", "pt-get-1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(text(r)).isEqualTo("{\"data\":[]}");
        assertThat(r.headers().firstValue("x-upstream")).hasValue("yes");
        assertThat(r.headers().firstValue("x-request-id")).hasValue("pt-get-1");
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai");
        MockUpstream.Received up = mock.take("/v1/files");
        assertThat(up.method()).isEqualTo("GET");
        assertThat(up.query()).isEqualTo("purpose=batch&limit=2");
        assertThat(up.header("Authorization")).isEqualTo("Bearer sk-upstream");
        JsonNode line = json(gw.usageLine("pt-get-1"));
        assertThat(line.get("endpoint").asText()).isEqualTo("passthrough");
        assertThat(line.get("provider").asText()).isEqualTo("openai");
        assertThat(line.get("status").asInt()).isEqualTo(200);
    }

    @Test
    void postBodyArrivesAsSentAndJsonUsageIsRecorded() throws Exception {
        mock.on("/v1/chat/completions", (req, reply) -> reply.json(200, COMPLETION));
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"model\":\"gpt-4o-mini\",\"x_extra\":1}";
        HttpResponse<byte[]> r = send("POST", "/p/openai/chat/completions?trace=1", body,
                "x-api-key", MASTER, "Content-Type", "application/json", "X-Request-ID", "pt-post-1", "anthropic-beta", "b1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(text(r)).isEqualTo(COMPLETION);
        MockUpstream.Received up = mock.take("/v1/chat/completions");
        assertThat(up.body()).isEqualTo(body);
        assertThat(up.query()).isEqualTo("trace=1");
        assertThat(up.header("x-api-key")).isNull(); // the client's (gateway) credential stays here
        assertThat(up.header("Authorization")).isEqualTo("Bearer sk-upstream");
        assertThat(up.header("anthropic-beta")).isEqualTo("b1");
        assertThat(up.header("x-request-id")).isEqualTo("pt-post-1");
        JsonNode line = json(gw.usageLine("pt-post-1"));
        assertThat(line.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(line.get("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(line.get("completion_tokens").asInt()).isEqualTo(2);
        assertThat(line.get("cached_tokens").asInt()).isEqualTo(1);
    }

    @Test
    void putAndDeleteGoThroughWithTheirMethod() throws Exception {
        mock.on("/v1/things/7", (req, reply) -> reply.json(200, "{\"method\":\"" + req.method() + "\",\"body\":" + JSON.writeValueAsString(req.body()) + "}"));
        HttpResponse<byte[]> put = send("PUT", "/p/openai/things/7", "{\"a\":1}", "Authorization", "Bearer " + MASTER);
        assertThat(json(text(put)).get("method").asText()).isEqualTo("PUT");
        assertThat(json(text(put)).get("body").asText()).isEqualTo("{\"a\":1}");
        HttpResponse<byte[]> delete = send("DELETE", "/p/openai/things/7", null, "Authorization", "Bearer " + MASTER);
        assertThat(delete.statusCode()).isEqualTo(200);
        assertThat(json(text(delete)).get("method").asText()).isEqualTo("DELETE");
    }

    @Test
    void clientCredentialsAndHopByHopHeadersStayBehind() throws Exception {
        mock.on("/v1/echo", (req, reply) -> reply.json(200, "{}"));
        try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
            String body = "{\"x\":1}";
            write(s, "POST /p/openai/echo HTTP/1.1\r\nHost: skiff.local\r\nAuthorization: Bearer " + MASTER + "\r\n"
                    + "x-api-key: " + MASTER + "\r\napi-key: client-azure\r\nx-goog-api-key: client-gemini\r\n"
                    + "Connection: keep-alive, x-hop\r\nx-hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                    + "Proxy-Authorization: Basic abc\r\nProxy-Foo: 1\r\nx-keep: kept\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            RawResponse r = RawResponse.read(s.getInputStream());
            assertThat(r.status).isEqualTo(200);
        }
        MockUpstream.Received up = mock.take("/v1/echo");
        assertThat(up.header("Authorization")).isEqualTo("Bearer sk-upstream");
        for (String gone : List.of("x-api-key", "api-key", "x-goog-api-key", "x-hop", "Keep-Alive", "TE", "Upgrade",
                "Proxy-Authorization", "Proxy-Foo")) {
            assertThat(up.header(gone)).as(gone).isNull();
        }
        assertThat(up.header("Host")).isEqualTo("127.0.0.1:" + URI.create(mock.baseUrl()).getPort());
        assertThat(up.header("x-keep")).isEqualTo("kept");
        assertThat(up.body()).isEqualTo("{\"x\":1}");
    }

    @Test
    void namedInstanceGetsItsOwnBaseUrlAndKey() throws Exception {
        east.on("/v1/models", (req, reply) -> reply.json(200, "{\"object\":\"list\",\"data\":[{\"id\":\"east-model\"}]}"));
        HttpResponse<byte[]> r = send("GET", "/p/openai-east/models", null, "Authorization", "Bearer " + MASTER);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(text(r)).contains("east-model");
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai-east");
        assertThat(east.take("/v1/models").header("Authorization")).isEqualTo("Bearer sk-east");
    }

    @Test
    void upstreamErrorIsReturnedAsTheProviderSentIt() throws Exception {
        String problem = "{\"type\":\"about:blank\",\"title\":\"Nope\",\"detail\":\"not in OpenAI's envelope\"}\n";
        mock.on("/v1/broken", (req, reply) -> reply.send(422, "application/problem+json", problem));
        HttpResponse<byte[]> r = send("POST", "/p/openai/broken", "{}", "Authorization", "Bearer " + MASTER, "X-Request-ID", "pt-err-1");
        assertThat(r.statusCode()).isEqualTo(422);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/problem+json");
        assertThat(r.body()).isEqualTo(problem.getBytes(StandardCharsets.UTF_8));
        assertThat(json(gw.usageLine("pt-err-1")).get("status").asInt()).isEqualTo(422);
    }

    @Test
    void eventStreamIsRelayedAsItArrivesAndItsUsageRecorded() throws Exception {
        Lockstep lockstep = new Lockstep();
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            reply.chunk("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n");
            lockstep.awaitClient();
            reply.chunk("data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n");
            lockstep.awaitClient();
            reply.chunk("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13}}\n\ndata: [DONE]\n\n");
        });
        String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}";
        HttpRequest req = HttpRequest.newBuilder(URI.create(gw.url("/p/openai/chat/completions"))).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Authorization", "Bearer " + MASTER)
                .header("Content-Type", "application/json").header("X-Request-ID", "pt-sse-1").build();
        HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        List<String> lines = new ArrayList<>();
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data:")) {
                    lines.add(line);
                    lockstep.clientRead();
                }
            }
        }
        assertThat(lines).hasSize(4);
        assertThat(lines.get(3)).isEqualTo("data: [DONE]");
        assertThat(lines.get(2)).contains("\"usage\""); // nothing removed: the client gets the provider's stream
        assertThat(lockstep.stalls()).as("the provider sent each event only once the client had read the one before").isZero();
        JsonNode line = json(gw.usageLine("pt-sse-1"));
        assertThat(line.get("stream").asBoolean()).isTrue();
        assertThat(line.get("prompt_tokens").asInt()).isEqualTo(9);
        assertThat(line.get("total_tokens").asInt()).isEqualTo(13);
        assertThat(line.get("model").asText()).isEqualTo("gpt-4o-mini");
    }

    @Test
    void requestBodyReachesTheProviderBeforeTheClientHasSentItAll() throws Exception {
        CountDownLatch firstHalf = new CountDownLatch(1);
        AtomicReference<String> received = new AtomicReference<>();
        try (RawUpstream raw = new RawUpstream((s, head, in, out) -> {
            // The body comes chunked (the client's was): read it as it arrives.
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                int size = Integer.parseInt(readLine(in).strip(), 16);
                if (size == 0) {
                    readLine(in);
                    break;
                }
                body.write(in.readNBytes(size));
                readLine(in);
                if (body.toString(StandardCharsets.UTF_8).contains("first-half")) firstHalf.countDown();
            }
            received.set(head + "\n" + body.toString(StandardCharsets.UTF_8));
            RawUpstream.write(out, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
        })) {
            gw.close();
            gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", raw.baseUrl());
            try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
                write(s, "POST /p/openai/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "a\r\nfirst-half\r\n");
                assertThat(firstHalf.await(3, TimeUnit.SECONDS)).as("the provider saw the first half before the second was sent").isTrue();
                write(s, "b\r\nsecond-half\r\n0\r\n\r\n");
                RawResponse r = RawResponse.read(s.getInputStream());
                assertThat(r.status).isEqualTo(200);
                assertThat(new String(r.body, StandardCharsets.UTF_8)).isEqualTo("{}");
            }
            assertThat(received.get()).startsWith("POST /v1/uploads HTTP/1.1").endsWith("\nfirst-halfsecond-half");
        }
    }

    @Test
    void fiftyMegabytesPassIntactWithoutBeingGatheredInMemory() throws Exception {
        long size = 50L << 20;
        // The provider reads slowly: a gateway that did not pause reading from the client would hold the body meanwhile.
        var metric = ((io.netty.buffer.ByteBufAllocatorMetricProvider) io.netty.buffer.ByteBufAllocator.DEFAULT).metric();
        long before = metric.usedDirectMemory() + metric.usedHeapMemory();
        java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong(before);
        java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread sampler = Thread.ofPlatform().start(() -> {
            while (sampling.get()) {
                peak.accumulateAndGet(metric.usedDirectMemory() + metric.usedHeapMemory(), Math::max);
                Thread.onSpinWait();
            }
        });
        try (HashingUpstream up = new HashingUpstream(30)) {
            gw.close();
            gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl());
            MessageDigest sent = MessageDigest.getInstance("SHA-256");
            try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
                OutputStream out = s.getOutputStream();
                out.write(("PUT /p/openai/blob HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: " + size
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                byte[] block = new byte[64 << 10];
                for (long written = 0; written < size; written += block.length) {
                    for (int i = 0; i < block.length; i++) block[i] = (byte) ((written + i) * 31 >>> 3);
                    out.write(block);
                    sent.update(block);
                }
                out.flush();
                RawResponse r = RawResponse.read(s.getInputStream());
                assertThat(r.status).isEqualTo(200);
                JsonNode answer = json(new String(r.body, StandardCharsets.UTF_8));
                assertThat(answer.get("bytes").asLong()).isEqualTo(size);
                assertThat(answer.get("sha256").asText()).isEqualTo(HexFormat.of().formatHex(sent.digest()));
            }
        } finally {
            sampling.set(false);
            sampler.join();
        }
        assertThat((peak.get() - before) >> 20).as("MB of buffers the gateway held at most").isLessThan(24);
    }

    /** A /v1 answer names the model as the client asked for it (passthrough answers stay as the provider sent them). */
    static String asAsked(String answer, String clientModel) {
        return answer.replace("\"model\":\"gpt-4o-mini\"", "\"model\":\"" + clientModel + "\"");
    }

    @Test
    void compressedResponseIsForwardedUntouched() throws Exception {
        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(zipped)) {
            z.write(COMPLETION.getBytes(StandardCharsets.UTF_8));
        }
        byte[] gz = zipped.toByteArray();
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.header("Content-Type", "application/json");
            reply.header("Content-Encoding", "gzip");
            reply.raw(200, gz);
        });
        HttpResponse<byte[]> r = send("POST", "/p/openai/chat/completions", "{\"model\":\"gpt-4o-mini\"}",
                "Authorization", "Bearer " + MASTER, "Accept-Encoding", "gzip", "X-Request-ID", "pt-gz-1");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-encoding")).hasValue("gzip");
        assertThat(r.body()).isEqualTo(gz);
        assertThat(mock.take("/v1/chat/completions").header("Accept-Encoding")).isEqualTo("gzip");
        assertThat(json(gw.usageLine("pt-gz-1")).has("prompt_tokens")).as("compressed bodies are not read for usage").isFalse();
        // The same pooled connection decodes again for the translated and same-dialect paths.
        mock.on("/v1/chat/completions", (req, reply) -> reply.json(200, COMPLETION));
        assertThat(gw.post("/v1/chat/completions", "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[]}",
                "Authorization", "Bearer " + MASTER).body()).isEqualTo(asAsked(COMPLETION, "openai/gpt-4o-mini"));
    }

    @Test
    void unknownProviderIs404NamingTheConfiguredOnes() throws Exception {
        HttpResponse<byte[]> r = send("GET", "/p/nope/models", null, "Authorization", "Bearer " + MASTER);
        assertThat(r.statusCode()).isEqualTo(404);
        JsonNode error = json(text(r)).get("error");
        assertThat(error.get("message").asText()).contains("'nope'").contains("openai, openai-east");
        assertThat(error.get("code").asText()).isEqualTo("provider_not_found");
    }

    @Test
    void pathsThatCouldLeaveTheBaseUrlAre400AndNeverReachTheProvider() throws Exception {
        mock.on("/v1/files", (req, reply) -> reply.json(200, "{\"data\":[]}"));
        mock.clearReceived();
        String[] paths = {"/p/openai/..%2fadmin", "/p/openai/%2e%2e/admin", "/p/openai/..;/admin", "/p/openai/files/../../admin",
                "/p/openai//evil.com/x", "/p/openai/..\\admin", "/p/openai/a%5c..%5cb", "/p/openai/%252e%252e/x"};
        try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
            InputStream in = s.getInputStream();
            for (String path : paths) {
                write(s, "GET " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + MASTER + "\r\n\r\n");
                RawResponse r = RawResponse.read(in);
                assertThat(r.status()).as(path).isEqualTo(400);
                JsonNode error = json(new String(r.body(), StandardCharsets.UTF_8)).get("error");
                assertThat(error.get("code").asText()).as(path).isEqualTo("invalid_path");
                assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
                assertThat(error.get("message").asText()).contains("/p/openai");
            }
            // the same connection still serves, and the first request the provider sees is this one
            write(s, "GET /p/openai/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + MASTER + "\r\n\r\n");
            assertThat(RawResponse.read(in).status()).isEqualTo(200);
        }
        MockUpstream.Received first = mock.take();
        while (first.path().endsWith("/models")) first = mock.take(); // a listing refresh may come between
        assertThat(first.rawPath()).isEqualTo("/v1/files");
    }

    @Test
    void theMasterKeyIsRequired() throws Exception {
        HttpResponse<byte[]> missing = send("GET", "/p/openai/models", null);
        assertThat(missing.statusCode()).isEqualTo(401);
        assertThat(json(text(missing)).at("/error/code").asText()).isEqualTo("invalid_api_key");
        HttpResponse<byte[]> wrong = send("POST", "/p/openai/chat/completions", "{}", "Authorization", "Bearer sk-upstream");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(mock.brokenWrites.get()).isZero();
    }

    @Test
    void unreachableProviderIs502InOpenAisEnvelope() throws Exception {
        int closedPort;
        try (var s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        gw.close();
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", "http://127.0.0.1:" + closedPort + "/v1");
        HttpResponse<byte[]> r = send("POST", "/p/openai/chat/completions", "{}", "X-Request-ID", "pt-502");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(json(text(r)).at("/error/code").asText()).isEqualTo("upstream_unreachable");
        assertThat(json(gw.usageLine("pt-502")).get("status").asInt()).isEqualTo(502);
    }

    @Test
    void clientLeavingMidStreamIsRecordedAs499() throws Exception {
        CountDownLatch hold = new CountDownLatch(1);
        mock.on("/v1/chat/completions", (req, reply) -> {
            reply.startStream();
            reply.chunk("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n");
            hold.await(5, TimeUnit.SECONDS);
        });
        try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
            String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true}";
            write(s, "POST /p/openai/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + MASTER + "\r\nX-Request-ID: pt-499\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            byte[] buf = new byte[4096];
            int n = s.getInputStream().read(buf);
            assertThat(new String(buf, 0, n, StandardCharsets.UTF_8)).startsWith("HTTP/1.1 200");
        }
        JsonNode line = json(gw.usageLine("pt-499"));
        hold.countDown();
        assertThat(line.get("status").asInt()).isEqualTo(499);
        assertThat(line.get("model").asText()).isEqualTo("gpt-4o-mini");
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        mock.on("/v1/slow", (req, reply) -> {
            Thread.sleep(200);
            reply.json(200, "{\"n\":\"slow\"}");
        });
        mock.on("/v1/chat/completions", (req, reply) -> reply.json(200, COMPLETION));
        try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
            String chat = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[]}";
            String auth = "Authorization: Bearer " + MASTER + "\r\n";
            write(s, "POST /p/openai/slow HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 2\r\n\r\n{}"
                    + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: "
                    + chat.length() + "\r\n\r\n" + chat
                    + "PUT /p/openai/slow HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 2\r\n\r\n{}");
            InputStream in = s.getInputStream();
            assertThat(new String(RawResponse.read(in).body, StandardCharsets.UTF_8)).isEqualTo("{\"n\":\"slow\"}");
            assertThat(new String(RawResponse.read(in).body, StandardCharsets.UTF_8)).contains("ok");
            assertThat(new String(RawResponse.read(in).body, StandardCharsets.UTF_8)).isEqualTo(asAsked(COMPLETION, "openai/gpt-4o-mini"));
            assertThat(new String(RawResponse.read(in).body, StandardCharsets.UTF_8)).isEqualTo("{\"n\":\"slow\"}");
        }
    }

    // ---- Bedrock with AWS keys: the body is gathered and the request signed ----

    static final String BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    /** The model id as a client puts it in the path: ':' percent-encoded. */
    static final String BEDROCK_MODEL_WIRE = "anthropic.claude-3-5-sonnet-20240620-v1%3A0";
    static final String AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    static final String AWS_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==";
    static final String AWS_REGION = "eu-west-3";
    static final String CONVERSE_ANSWER = "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"Hi\"}]}},"
            + "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":3,\"outputTokens\":1,\"totalTokens\":4}}";

    /** Restarts the gateway with one Bedrock provider on the mock, signing with static AWS keys and a session token. */
    void startBedrock(String... extraEnv) throws Exception {
        gw.close();
        String base = mock.baseUrl().substring(0, mock.baseUrl().length() - "/v1".length());
        List<String> env = new ArrayList<>(List.of("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", AWS_SECRET,
                "AWS_SESSION_TOKEN", AWS_TOKEN, "AWS_REGION", AWS_REGION, "BEDROCK_BASE_URL", base, "BEDROCK_MODELS", BEDROCK_MODEL,
                "SKIFF_MASTER_KEY", MASTER));
        env.addAll(List.of(extraEnv));
        gw = TestGateway.start(env.toArray(String[]::new)).awaitListings();
    }

    @Test
    void bedrockWithAwsKeysIsSignedOverExactlyWhatTheProviderReceives() throws Exception {
        startBedrock();
        mock.on("/model/" + BEDROCK_MODEL + "/converse", (req, reply) -> reply.json(200, CONVERSE_ANSWER));
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}],\"inferenceConfig\":{\"maxTokens\":5}}";
        HttpResponse<byte[]> r = send("POST", "/p/bedrock/model/" + BEDROCK_MODEL_WIRE + "/converse", body,
                "Authorization", "Bearer " + MASTER, "x-api-key", MASTER, "Content-Type", "application/json",
                "X-Request-ID", "pt-br-1", "X-Amz-Date", "19990101T000000Z", "X-Amzn-Bedrock-Trace", "ENABLED", "x-other", "o");
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(text(r)).isEqualTo(CONVERSE_ANSWER);
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("bedrock");

        MockUpstream.Received up = mock.take("/model/" + BEDROCK_MODEL + "/converse");
        assertThat(up.rawPath()).isEqualTo("/model/" + BEDROCK_MODEL_WIRE + "/converse"); // the client's bytes
        assertThat(up.body()).isEqualTo(body);
        assertThat(up.header("Content-Length")).isEqualTo(String.valueOf(body.length()));
        assertThat(up.header("Transfer-Encoding")).isNull();
        assertThat(up.header("x-api-key")).isNull(); // the gateway's key stays here
        assertThat(up.header("Authorization")).startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/").doesNotContain(MASTER);
        assertThat(up.header("X-Amz-Date")).isNotEqualTo("19990101T000000Z"); // the signer's, not the client's
        assertThat(up.header("X-Amz-Security-Token")).isEqualTo(AWS_TOKEN);
        assertThat(up.header("x-other")).isEqualTo("o");
        assertThat(signedHeaders(up)).contains("content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token",
                "x-amzn-bedrock-trace", "x-request-id").doesNotContain("content-length", "x-other");
        assertSignedAsReceived(up, "POST");
        JsonNode line = json(gw.usageLine("pt-br-1"));
        assertThat(line.get("provider").asText()).isEqualTo("bedrock");
        assertThat(line.get("status").asInt()).isEqualTo(200);

        // An inference profile ARN: '/' and ':' inside one segment, %2F and %3A on the wire, each signed encoded once more.
        String arn = "arn:aws:bedrock:eu-west-3:123456789012:inference-profile/eu." + BEDROCK_MODEL;
        String arnWire = "arn%3Aaws%3Abedrock%3Aeu-west-3%3A123456789012%3Ainference-profile%2Feu." + BEDROCK_MODEL_WIRE;
        mock.on("/model/" + arn + "/converse", (req, reply) -> reply.json(200, CONVERSE_ANSWER));
        HttpResponse<byte[]> viaArn = send("POST", "/p/bedrock/model/" + arnWire + "/converse", body,
                "Authorization", "Bearer " + MASTER, "Content-Type", "application/json");
        assertThat(viaArn.statusCode()).isEqualTo(200);
        MockUpstream.Received arnUp = mock.take("/model/" + arn + "/converse");
        assertThat(arnUp.rawPath()).isEqualTo("/model/" + arnWire + "/converse");
        assertSignedAsReceived(arnUp, "POST");
    }

    @Test
    void bedrockGetIsSignedWithTheCanonicalQuery() throws Exception {
        startBedrock();
        mock.on("/async-invoke", (req, reply) -> reply.json(200, "{\"asyncInvokeSummaries\":[]}"));
        HttpResponse<byte[]> r = send("GET", "/p/bedrock/async-invoke?statusEquals=Completed&maxResults=5&nextToken=a%2fb+c%3D&flag",
                null, "Authorization", "Bearer " + MASTER);
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        MockUpstream.Received up = mock.take("/async-invoke");
        assertThat(up.method()).isEqualTo("GET");
        // The query goes in canonical form, the very string that was signed: sorted, SigV4-encoded ('+' was a space).
        assertThat(up.query()).isEqualTo("flag=&maxResults=5&nextToken=a%2Fb%20c%3D&statusEquals=Completed");
        assertThat(up.header("X-Amz-Content-Sha256")).isEqualTo(sha256Hex(new byte[0]));
        assertThat(up.header("Content-Length")).isNull();
        assertSignedAsReceived(up, "GET");
    }

    @Test
    void bedrockBodyOverTheLimitIs413AndTheConnectionCloses() throws Exception {
        startBedrock("SKIFF_MAX_BODY_BYTES", "1000");
        String path = "/model/" + BEDROCK_MODEL + "/converse";
        mock.on(path, (req, reply) -> reply.json(200, CONVERSE_ANSWER));
        String head = "POST /p/bedrock/model/" + BEDROCK_MODEL_WIRE + "/converse HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + MASTER
                + "\r\nContent-Type: application/json\r\n";

        // Declared too large: refused at once, before 100 Continue invites the body.
        try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
            write(s, head + "Content-Length: 5000\r\nExpect: 100-continue\r\nX-Request-ID: pt-br-413a\r\n\r\n");
            InputStream in = s.getInputStream();
            RawResponse r = RawResponse.read(in);
            assertThat(r.status).isEqualTo(413);
            assertThat(r.headers.get("connection")).isEqualToIgnoringCase("close");
            JsonNode error = json(new String(r.body, StandardCharsets.UTF_8)).get("error");
            assertThat(error.get("code").asText()).isEqualTo("request_too_large");
            assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(error.get("message").asText()).contains("1000 bytes");
            s.setSoTimeout(5000);
            assertThat(in.read()).isEqualTo(-1);
        }
        // Chunked, crossing the limit on the way: refused when it does, the rest never read.
        try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
            String piece = "x".repeat(600);
            write(s, head + "Transfer-Encoding: chunked\r\nX-Request-ID: pt-br-413b\r\n\r\n258\r\n" + piece + "\r\n");
            write(s, "258\r\n" + piece + "\r\n");
            InputStream in = s.getInputStream();
            RawResponse r = RawResponse.read(in);
            assertThat(r.status).isEqualTo(413);
            assertThat(json(new String(r.body, StandardCharsets.UTF_8)).at("/error/code").asText()).isEqualTo("request_too_large");
            s.setSoTimeout(5000);
            assertThat(in.read()).isEqualTo(-1);
        }
        // Exactly the limit passes, and is the first request the provider sees.
        String body = "{\"pad\":\"" + "y".repeat(1000 - 10) + "\"}";
        assertThat(body).hasSize(1000);
        HttpResponse<byte[]> ok = send("POST", "/p/bedrock/model/" + BEDROCK_MODEL_WIRE + "/converse", body,
                "Authorization", "Bearer " + MASTER, "Content-Type", "application/json");
        assertThat(ok.statusCode()).isEqualTo(200);
        MockUpstream.Received up = mock.take(path);
        assertThat(up.body()).isEqualTo(body);
        assertSignedAsReceived(up, "POST");
    }

    @Test
    void bedrockClientLeavingMidUploadSendsNothingAndIsRecordedAs499() throws Exception {
        startBedrock();
        String path = "/model/" + BEDROCK_MODEL + "/converse";
        mock.on(path, (req, reply) -> reply.json(200, CONVERSE_ANSWER));
        try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
            write(s, "POST /p/bedrock/model/" + BEDROCK_MODEL_WIRE + "/converse HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + MASTER
                    + "\r\nX-Request-ID: pt-br-499\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"messages\":[");
        }
        assertThat(json(gw.usageLine("pt-br-499")).get("status").asInt()).isEqualTo(499);
        // The provider's first request is the next one: the half body never went.
        HttpResponse<byte[]> next = send("POST", "/p/bedrock/model/" + BEDROCK_MODEL_WIRE + "/converse", "{\"n\":2}",
                "Authorization", "Bearer " + MASTER, "Content-Type", "application/json");
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(mock.take(path).body()).isEqualTo("{\"n\":2}");
    }

    @Test
    void bedrockEventStreamIsRelayedChunkByChunk() throws Exception {
        startBedrock();
        byte[][] frames = {
                dev.skiff.provider.bedrock.EventStreamEncoder.encode(
                        dev.skiff.provider.bedrock.EventStreamEncoder.event("messageStart", "{\"role\":\"assistant\"}")),
                dev.skiff.provider.bedrock.EventStreamEncoder.encode(
                        dev.skiff.provider.bedrock.EventStreamEncoder.event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}")),
                dev.skiff.provider.bedrock.EventStreamEncoder.encode(
                        dev.skiff.provider.bedrock.EventStreamEncoder.event("messageStop", "{\"stopReason\":\"end_turn\"}"))};
        String path = "/model/" + BEDROCK_MODEL + "/converse-stream";
        Lockstep lockstep = new Lockstep();
        mock.on(path, (req, reply) -> {
            reply.startStream("application/vnd.amazon.eventstream");
            for (int i = 0; i < frames.length; i++) {
                if (i > 0) lockstep.awaitClient();
                reply.chunk(frames[i]);
            }
        });
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}]}";
        HttpRequest req = HttpRequest.newBuilder(URI.create(gw.url("/p/bedrock/model/" + BEDROCK_MODEL_WIRE + "/converse-stream")))
                .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Authorization", "Bearer " + MASTER).header("Content-Type", "application/json")
                .header("Accept", "application/vnd.amazon.eventstream").build();
        HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/vnd.amazon.eventstream");
        try (InputStream in = r.body()) {
            for (byte[] frame : frames) {
                assertThat(in.readNBytes(frame.length)).isEqualTo(frame); // the provider's bytes, as they were
                lockstep.clientRead();
            }
            assertThat(in.read()).isEqualTo(-1);
        }
        assertThat(lockstep.stalls()).as("the provider sent each frame only once the client had read the one before").isZero();
        MockUpstream.Received up = mock.take(path);
        assertThat(up.header("Accept")).isEqualTo("application/vnd.amazon.eventstream");
        assertSignedAsReceived(up, "POST");
    }

    @Test
    void bedrockWithAnApiKeyStillStreamsTheBodyUnsigned() throws Exception {
        gw.close();
        String base = mock.baseUrl().substring(0, mock.baseUrl().length() - "/v1".length());
        gw = TestGateway.start("BEDROCK_API_KEY", "bedrock-key", "BEDROCK_BASE_URL", base, "BEDROCK_MODELS", BEDROCK_MODEL,
                "SKIFF_MASTER_KEY", MASTER, "SKIFF_MAX_BODY_BYTES", "100").awaitListings();
        String path = "/model/" + BEDROCK_MODEL + "/converse";
        mock.on(path, (req, reply) -> reply.json(200, CONVERSE_ANSWER));
        String body = "{\"pad\":\"" + "z".repeat(500) + "\"}"; // over the limit: passthrough bodies are not gathered here
        HttpResponse<byte[]> r = send("POST", "/p/bedrock/model/" + BEDROCK_MODEL_WIRE + "/converse", body,
                "Authorization", "Bearer " + MASTER, "Content-Type", "application/json");
        assertThat(r.statusCode()).isEqualTo(200);
        MockUpstream.Received up = mock.take(path);
        assertThat(up.header("Authorization")).isEqualTo("Bearer bedrock-key");
        assertThat(up.header("X-Amz-Date")).isNull();
        assertThat(up.body()).isEqualTo(body);
    }

    // ---- SigV4, recomputed on the provider's side (independently of SigV4Signer) ----

    static List<String> signedHeaders(MockUpstream.Received up) {
        Matcher m = Pattern.compile("SignedHeaders=([^,]+),").matcher(up.header("Authorization"));
        assertThat(m.find()).isTrue();
        return List.of(m.group(1).split(";"));
    }

    /**
     * Recomputes the signature from what arrived (method, wire path, wire query, the signed headers'
     * values, the body) the way AWS does, and checks it is the one in Authorization.
     */
    static void assertSignedAsReceived(MockUpstream.Received up, String method) throws Exception {
        assertThat(up.method()).isEqualTo(method);
        String auth = up.header("Authorization");
        Matcher m = Pattern.compile("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\\d{8})/" + AWS_REGION
                + "/bedrock/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})").matcher(auth);
        assertThat(m.matches()).as(auth).isTrue();
        String amzDate = up.header("X-Amz-Date");
        assertThat(amzDate).startsWith(m.group(1));
        String bodyHash = sha256Hex(up.body().getBytes(StandardCharsets.UTF_8));
        assertThat(up.header("X-Amz-Content-Sha256")).isEqualTo(bodyHash);

        // Canonical URI: every segment of the wire path URI-encoded once more (all services but S3).
        StringBuilder uri = new StringBuilder();
        String[] segments = up.rawPath().split("/", -1);
        for (int i = 0; i < segments.length; i++) uri.append(i == 0 ? "" : "/").append(awsEncode(segments[i]));
        // Canonical query: names and values decoded, then encoded, sorted.
        List<String> pairs = new ArrayList<>();
        if (up.query() != null && !up.query().isEmpty()) {
            for (String pair : up.query().split("&")) {
                int eq = pair.indexOf('=');
                String name = java.net.URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                pairs.add(awsEncode(name) + "=" + awsEncode(value));
            }
        }
        pairs.sort(null);
        StringBuilder headers = new StringBuilder();
        for (String name : m.group(2).split(";")) {
            List<String> values = new ArrayList<>();
            for (var e : up.headers().entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) for (String v : e.getValue()) values.add(v.strip().replaceAll(" +", " "));
            }
            assertThat(values).as("signed header %s arrived", name).isNotEmpty();
            headers.append(name).append(':').append(String.join(",", values)).append('\n');
        }
        String canonical = method + "\n" + uri + "\n" + String.join("&", pairs) + "\n" + headers + "\n" + m.group(2) + "\n" + bodyHash;
        String scope = m.group(1) + "/" + AWS_REGION + "/bedrock/aws4_request";
        String stringToSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonical.getBytes(StandardCharsets.UTF_8));
        byte[] key = hmac(("AWS4" + AWS_SECRET).getBytes(StandardCharsets.UTF_8), m.group(1));
        key = hmac(key, AWS_REGION);
        key = hmac(key, "bedrock");
        key = hmac(key, "aws4_request");
        assertThat(HexFormat.of().formatHex(hmac(key, stringToSign))).as("signature over\n" + canonical).isEqualTo(m.group(3));
    }

    static String awsEncode(String s) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) out.append(c);
            else out.append('%').append(String.format("%02X", (int) c));
        }
        return out.toString();
    }

    static byte[] hmac(byte[] key, String data) throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    static String sha256Hex(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    // ---- helpers ----

    static void write(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
    }

    static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) != -1 && b != '\n') if (b != '\r') sb.append((char) b);
        if (b == -1 && sb.isEmpty()) throw new IOException("closed");
        return sb.toString();
    }

    /** A response read off a socket: status, headers (lower-case names) and the de-chunked body. */
    record RawResponse(int status, Map<String, String> headers, byte[] body) {
        static RawResponse read(InputStream in) throws IOException {
            String statusLine = readLine(in);
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            Map<String, String> headers = new HashMap<>();
            for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).strip().toLowerCase(), line.substring(colon + 1).strip());
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                for (int size; (size = Integer.parseInt(readLine(in).strip(), 16)) > 0; readLine(in)) body.write(in.readNBytes(size));
                readLine(in);
            } else if (headers.containsKey("content-length")) {
                body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
            }
            return new RawResponse(status, headers, body.toByteArray());
        }
    }

    /** A provider that reads a Content-Length body as it streams in and answers with its size and hash. */
    static final class HashingUpstream implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        final long pauseMillisPerMegabyte;

        HashingUpstream(long pauseMillisPerMegabyte) throws IOException {
            this.pauseMillisPerMegabyte = pauseMillisPerMegabyte;
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> serve(s));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        String baseUrl() {
            return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                while (true) {
                    String requestLine = readLine(in);
                    long length = 0;
                    for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
                        if (line.toLowerCase().startsWith("content-length:")) length = Long.parseLong(line.substring(15).strip());
                    }
                    String answer;
                    if (requestLine.startsWith("GET ")) {
                        answer = "{\"object\":\"list\",\"data\":[]}";
                    } else {
                        MessageDigest d = MessageDigest.getInstance("SHA-256");
                        byte[] buf = new byte[32 << 10];
                        long left = length;
                        long nextPause = length - (1 << 20);
                        while (left > 0) {
                            if (left < nextPause) {
                                Thread.sleep(pauseMillisPerMegabyte);
                                nextPause -= 1 << 20;
                            }
                            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                            if (n < 0) return;
                            d.update(buf, 0, n);
                            left -= n;
                        }
                        answer = "{\"bytes\":" + length + ",\"sha256\":\"" + HexFormat.of().formatHex(d.digest()) + "\"}";
                    }
                    RawUpstream.write(s.getOutputStream(), "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                            + answer.length() + "\r\n\r\n" + answer);
                }
            } catch (Exception e) {
                // the connection ended
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
