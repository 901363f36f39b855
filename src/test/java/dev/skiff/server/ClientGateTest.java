package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.RawClient;
import dev.skiff.testing.TestGateway;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a client can send before Skiff does any work for it: keys checked on the head, bodies bounded. */
class ClientGateTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static long usedDirectMemory() {
        return ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric().usedDirectMemory();
    }

    @Test
    void anUnauthenticatedBodyIsNeverInvitedNorRead() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", "sesame")) {
            // The client asks leave to send 10 MB: it gets 401 at once, never 100 Continue, and the connection ends.
            try (RawClient c = new RawClient(gw.skiff.port())) {
                c.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                        + "content-length: 10000000\r\nexpect: 100-continue\r\nx-request-id: req-refused-1\r\n\r\n");
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(401);
                JsonNode error = JSON.readTree(r.body()).get("error");
                assertThat(error.get("code").asText()).isEqualTo("invalid_api_key");
                assertThat(r.header("connection")).isEqualTo("close");
                assertThat(c.awaitClosed(2_000)).isTrue();
            }
            // Anthropic's shape on /v1/messages, for a wrong key, the body already on its way.
            try (RawClient c = new RawClient(gw.skiff.port())) {
                c.send("POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: wrong\r\ncontent-length: 1000000\r\n\r\n{\"model\":");
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(401);
                JsonNode body = JSON.readTree(r.body());
                assertThat(body.get("type").asText()).isEqualTo("error");
                assertThat(body.at("/error/type").asText()).isEqualTo("authentication_error");
                assertThat(c.awaitClosed(2_000)).isTrue();
            }
            // Passthrough routes are gated the same way.
            try (RawClient c = new RawClient(gw.skiff.port())) {
                c.send("PUT /p/openai/files HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nexpect: 100-continue\r\n\r\n");
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(401);
                assertThat(c.awaitClosed(2_000)).isTrue();
            }
            // The refusal has its usage-log line, with its status.
            assertThat(gw.usageLine("req-refused-1")).contains("\"status\":401").contains("\"endpoint\":\"chat\"");
        }
    }

    @Test
    void halfSentBodiesOfUnauthenticatedClientsAreNotGathered() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", "sesame")) {
            long before = usedDirectMemory();
            byte[] megabyte = new byte[1 << 20];
            java.util.Arrays.fill(megabyte, (byte) 'a');
            List<RawClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 16; i++) {
                    RawClient c = new RawClient(gw.skiff.port());
                    clients.add(c);
                    c.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n");
                    try {
                        c.send(megabyte); // may fail once Skiff has closed: that is the point
                    } catch (java.io.IOException closed) {
                        // refused already
                    }
                }
                // Gathering would hold 16 MB; refusing holds nothing beyond a read buffer or two.
                assertThat(usedDirectMemory() - before).isLessThan(4L << 20);
                for (RawClient c : clients) assertThat(c.awaitClosed(2_000)).isTrue();
            } finally {
                for (RawClient c : clients) c.close();
            }
        }
    }

    @Test
    void anAuthenticatedClientIsInvitedToSendItsBody() throws Exception {
        try (MockUpstream up = new MockUpstream().models("gpt-4o-mini")) {
            up.on("/v1/chat/completions", (req, reply) -> reply.json(200, RoutingAndAuthTest.completion("fine")));
            try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", "sesame", "OPENAI_API_KEY", "k",
                    "OPENAI_BASE_URL", up.baseUrl()).awaitListings();
                 RawClient c = new RawClient(gw.skiff.port())) {
                String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";
                c.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sesame\r\ncontent-type: application/json\r\n"
                        + "content-length: " + body.length() + "\r\nexpect: 100-continue\r\n\r\n");
                assertThat(c.read().status()).isEqualTo(100);
                c.send(body);
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).contains("fine");
            }
        }
    }

    @Test
    void anOversizeBodyIsRefusedOnItsHeadInTheEndpointsShape() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MAX_BODY_BYTES", "1000")) {
            try (RawClient c = new RawClient(gw.skiff.port())) {
                c.send("POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\nexpect: 100-continue\r\n\r\n");
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(413);
                JsonNode body = JSON.readTree(r.body());
                assertThat(body.get("type").asText()).isEqualTo("error");
                assertThat(body.at("/error/type").asText()).isEqualTo("request_too_large");
                assertThat(c.awaitClosed(2_000)).isTrue();
            }
            // A chunked body says nothing up front: refused once it passes the limit, in the same shape.
            try (RawClient c = new RawClient(gw.skiff.port())) {
                String chunk = "x".repeat(600);
                c.send("POST /v1/messages HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                        + Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n"
                        + Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n");
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(413);
                assertThat(JSON.readTree(r.body()).at("/error/type").asText()).isEqualTo("request_too_large");
            }
            // OpenAI's envelope elsewhere.
            try (RawClient c = new RawClient(gw.skiff.port())) {
                c.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n");
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(413);
                assertThat(JSON.readTree(r.body()).at("/error/code").asText()).isEqualTo("request_too_large");
            }
            // A body sent to no endpoint at all is not gathered either.
            try (RawClient c = new RawClient(gw.skiff.port())) {
                c.send("POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 900\r\n\r\n");
                assertThat(c.read().status()).isEqualTo(404);
                assertThat(c.awaitClosed(2_000)).isTrue();
            }
        }
    }

    @Test
    void headProbesAnswerWithoutABody() throws Exception {
        try (TestGateway gw = TestGateway.start();
             RawClient c = new RawClient(gw.skiff.port())) {
            c.send("HEAD /health HTTP/1.1\r\nhost: x\r\n\r\nHEAD /ready HTTP/1.1\r\nhost: x\r\n\r\nGET /health HTTP/1.1\r\nhost: x\r\n\r\n");
            RawClient.Response health = c.read(true);
            assertThat(health.status()).isEqualTo(200);
            RawClient.Response ready = c.read(true);
            assertThat(ready.status()).isIn(200, 503);
            // Had either carried a body, it would be read here as the next status line.
            RawClient.Response get = c.read();
            assertThat(get.status()).isEqualTo(200);
            assertThat(get.body()).contains("\"ok\"");
        }
    }

    @Test
    void anHttp10ClientGetsAStreamWithoutChunks() throws Exception {
        try (MockUpstream up = new MockUpstream().models("gpt-4o-mini")) {
            up.on("/v1/chat/completions", (req, reply) -> {
                reply.startStream();
                reply.chunk("data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n");
                reply.chunk("data: [DONE]\n\n");
            });
            try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl()).awaitListings();
                 RawClient c = new RawClient(gw.skiff.port())) {
                String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}";
                c.send("POST /v1/chat/completions HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: " + body.length()
                        + "\r\n\r\n" + body);
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.chunked()).isFalse();
                assertThat(r.header("transfer-encoding")).isNull();
                // Close-delimited: the body is everything up to the end of the connection, events intact.
                assertThat(r.body()).contains("\"content\":\"hi\"").endsWith("data: [DONE]\n\n");
            }
        }
    }

    @Test
    void aPipeliningClientThatDoesNotReadIsNotBufferedWithoutBound() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_IO_THREADS", "1");
             RawClient c = new RawClient(gw.skiff.port(), 30_000)) {
            byte[] one = "GET /health HTTP/1.1\r\nhost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
            int n = 200_000;
            long before = usedDirectMemory();
            Thread writer = Thread.ofPlatform().start(() -> {
                byte[] batch = new byte[one.length * 1000];
                for (int i = 0; i < 1000; i++) System.arraycopy(one, 0, batch, i * one.length, one.length);
                try {
                    for (int i = 0; i < n / 1000; i++) c.send(batch);
                } catch (java.io.IOException e) {
                    // the test fails on the count below
                }
            });
            // Not reading: Skiff must stop reading too, once its socket to us is full.
            writer.join(3_000);
            long held = usedDirectMemory() - before;
            assertThat(held).as("bytes held while the client does not read").isLessThan(8L << 20);
            assertThat(writer.isAlive()).as("the writer is held back by TCP, not absorbed").isTrue();
            // Reading again, every answer arrives, in order.
            for (int i = 0; i < n; i++) {
                RawClient.Response r = c.read();
                if (r.status() != 200) throw new AssertionError("response " + i + ": " + r.statusLine());
            }
            writer.join(10_000);
            assertThat(writer.isAlive()).isFalse();
        }
    }

    @Test
    void everyRequestIsLoggedWithItsStatusButHealthProbesAreNot() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", "sesame", "SKIFF_MAX_BODY_BYTES", "1000")) {
            String key = "authorization: Bearer sesame\r\n";
            String[][] requests = {
                {"req-401", "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}", "401", "messages"},
                {"req-404", "GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n", "404", "unknown"},
                {"req-400", "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n" + key + "content-length: 8\r\n\r\nnot json", "400", "chat"},
                {"req-405", "GET /v1/embeddings HTTP/1.1\r\nhost: x\r\n" + key + "\r\n", "405", "embeddings"},
                {"req-413", "POST /v1/responses HTTP/1.1\r\nhost: x\r\n" + key + "content-length: 5000\r\n\r\n", "413", "responses"},
                {"req-413c", "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n" + key + "transfer-encoding: chunked\r\n\r\n"
                        + "7d0\r\n" + "x".repeat(2000) + "\r\n", "413", "chat"},
                {"req-p404", "GET /p/nobody/models HTTP/1.1\r\nhost: x\r\n" + key + "\r\n", "404", "passthrough"},
                {"req-health", "GET /health HTTP/1.1\r\nhost: x\r\n\r\n", "200", null},
            };
            for (String[] r : requests) {
                try (RawClient c = new RawClient(gw.skiff.port())) {
                    String head = r[1].replaceFirst("\r\n", "\r\nx-request-id: " + r[0] + "\r\n");
                    c.send(head);
                    assertThat(c.read().status()).as(r[0]).isEqualTo(Integer.parseInt(r[2]));
                }
            }
            for (String[] r : requests) {
                if (r[3] == null) continue;
                assertThat(gw.usageLine(r[0])).as(r[0]).contains("\"status\":" + r[2]).contains("\"endpoint\":\"" + r[3] + "\"");
            }
            assertThat(java.nio.file.Files.readString(gw.usageLog)).doesNotContain("req-health");
        }
    }
}
