package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * A client that reads slowly holds the provider back (Skiff stops reading upstream while the client
 * is not taking bytes). That silence is the client's, not the provider's: it must not run the idle
 * timeout, cut the stream, and blame the provider.
 */
class SlowReaderTest {
    static final int EVENTS = 64 * 312; // sent 64 to a chunk

    @Test
    void aClientThatPausesLongerThanTheIdleTimeoutGetsTheWholeStream() throws Exception {
        String content = "z".repeat(900);
        String event = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
        try (MockUpstream mock = new MockUpstream()) {
            mock.on("/v1/chat/completions", (req, reply) -> {
                reply.startStream();
                String batch = event.repeat(64);
                for (int i = 0; i < EVENTS / 64; i++) reply.chunk(batch); // ~20 MB, as fast as Skiff takes it
                reply.chunk("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\","
                        + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
            });
            try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", mock.baseUrl(), "SKIFF_IDLE_TIMEOUT", "2s").awaitListings();
                 Socket client = new Socket()) {
                client.setReceiveBufferSize(16 << 10); // so that back-pressure reaches the provider quickly
                client.connect(new InetSocketAddress("127.0.0.1", gw.skiff.port()), 5000);
                client.setSoTimeout(20_000);
                byte[] body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                        .getBytes(StandardCharsets.UTF_8);
                OutputStream out = client.getOutputStream();
                out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                InputStream in = client.getInputStream();
                ByteArrayOutputStream received = new ByteArrayOutputStream();
                received.write(in.readNBytes(4096));
                // Two and a half idle timeouts' worth of not reading. (The timeout is not shorter so that a
                // loaded machine's stall of the provider's thread is not taken for its silence.)
                Thread.sleep(5000);
                in.transferTo(received);
                String text = received.toString(StandardCharsets.UTF_8);
                assertThat(text).startsWith("HTTP/1.1 200");
                assertThat(text).doesNotContain("idle timeout").doesNotContain("\"error\"");
                assertThat(text).contains("\"finish_reason\":\"stop\"").contains("data: [DONE]");
                // Every event arrived (chunked framing aside, each carries the content once).
                int count = 0;
                for (int i = text.indexOf(content); i >= 0; i = text.indexOf(content, i + content.length())) count++;
                assertThat(count).isEqualTo(EVENTS);
            }
        }
    }
}
