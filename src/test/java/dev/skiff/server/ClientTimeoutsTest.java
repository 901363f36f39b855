package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.RawClient;
import dev.skiff.testing.TestGateway;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Header, body and keep-alive timeouts, the connection cap: no client holds a connection for free. */
class ClientTimeoutsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aHeadThatNeverCompletesIsCut() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_HEADER_TIMEOUT", "500ms", "SKIFF_KEEPALIVE_TIMEOUT", "10s")) {
            // Silent from the start.
            try (RawClient c = new RawClient(gw.skiff.port())) {
                long t0 = System.nanoTime();
                assertThat(c.awaitClosed(3_000)).isTrue();
                assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(300L, 2_000L);
            }
            // Trickling a byte at a time, never finishing the head: cut all the same.
            try (RawClient c = new RawClient(gw.skiff.port())) {
                long t0 = System.nanoTime();
                boolean cut = false;
                for (char ch : "GET /health HTTP/1.1\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".toCharArray()) {
                    try {
                        c.send(String.valueOf(ch));
                    } catch (java.io.IOException e) {
                        cut = true;
                        break;
                    }
                    Thread.sleep(50);
                }
                assertThat(cut || c.awaitClosed(1_000)).isTrue();
                assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2_500L);
            }
        }
    }

    @Test
    void aStalledBodyGets408InTheEndpointsShape() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_HEADER_TIMEOUT", "500ms")) {
            try (RawClient c = new RawClient(gw.skiff.port())) {
                c.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"model\":");
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(408);
                assertThat(JSON.readTree(r.body()).at("/error/code").asText()).isEqualTo("request_timeout");
                assertThat(c.awaitClosed(1_000)).isTrue();
            }
            try (RawClient c = new RawClient(gw.skiff.port())) {
                c.send("POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"model\":");
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(408);
                JsonNode body = JSON.readTree(r.body());
                assertThat(body.get("type").asText()).isEqualTo("error");
                assertThat(body.at("/error/message").asText()).contains("SKIFF_HEADER_TIMEOUT");
            }
        }
    }

    @Test
    void anIdleKeptAliveConnectionIsClosedAfterTheKeepAliveTimeout() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_HEADER_TIMEOUT", "5s", "SKIFF_KEEPALIVE_TIMEOUT", "800ms");
             RawClient c = new RawClient(gw.skiff.port())) {
            c.send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(200);
            Thread.sleep(300);
            c.send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n"); // within the timeout: still served
            assertThat(c.read().status()).isEqualTo(200);
            long t0 = System.nanoTime();
            assertThat(c.awaitClosed(3_000)).isTrue();
            assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(500L, 2_500L);
        }
    }

    @Test
    void noTimeoutCutsARequestBeingServed() throws Exception {
        try (MockUpstream up = new MockUpstream().models("gpt-4o-mini")) {
            up.on("/v1/chat/completions", (req, reply) -> {
                Thread.sleep(800); // longer than both timeouts before the first byte ...
                reply.startStream();
                reply.chunk("data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n");
                Thread.sleep(800); // ... and between two events
                reply.chunk("data: [DONE]\n\n");
            });
            try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl(),
                    "SKIFF_HEADER_TIMEOUT", "300ms", "SKIFF_KEEPALIVE_TIMEOUT", "300ms").awaitListings();
                 RawClient c = new RawClient(gw.skiff.port())) {
                String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}";
                c.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: "
                        + body.length() + "\r\n\r\n" + body);
                RawClient.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).endsWith("data: [DONE]\n\n");
            }
        }
    }

    @Test
    void connectionsOverTheCapAreClosedAtOnce() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MAX_CONNECTIONS", "3")) {
            List<RawClient> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    RawClient c = new RawClient(gw.skiff.port());
                    held.add(c);
                    c.send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n");
                    assertThat(c.read().status()).isEqualTo(200);
                }
                try (RawClient over = new RawClient(gw.skiff.port())) {
                    assertThat(over.awaitClosed(1_000)).as("the fourth connection is closed").isTrue();
                }
                // The three served are untouched.
                held.get(0).send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n");
                assertThat(held.get(0).read().status()).isEqualTo(200);
                // One leaves: a new one is served.
                held.remove(2).close();
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (gw.skiff.connections() > 2 && System.nanoTime() < deadline) Thread.sleep(10);
                try (RawClient next = new RawClient(gw.skiff.port())) {
                    next.send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n");
                    assertThat(next.read().status()).isEqualTo(200);
                }
            } finally {
                for (RawClient c : held) c.close();
            }
        }
    }
}
