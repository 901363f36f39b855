package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.testing.RawClient;
import dev.skiff.testing.RawUpstream;
import dev.skiff.testing.TestGateway;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A stream's events leave Skiff as the provider's reads brought them: what one upstream read carried
 * goes to the client as one HTTP chunk (one write), not a chunk and a flush per event, and the bytes
 * the client reads are the same. The provider here sends its whole stream, twelve HTTP chunks, in one
 * socket write; loopback may still hand it over in two reads, so the test asks for far fewer chunks
 * than events rather than exactly one.
 */
class StreamCoalescingTest {
    RawUpstream upstream;
    TestGateway gw;

    @AfterEach
    void tearDown() throws IOException {
        if (gw != null) gw.close();
        if (upstream != null) upstream.close();
    }

    static List<String> chatEvents() {
        List<String> events = new ArrayList<>();
        events.add("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
        for (int i = 0; i < 9; i++) {
            events.add("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w" + i + " \"}}]}\n\n");
        }
        events.add("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
        events.add("data: [DONE]\n\n");
        return events;
    }

    void start(String type, String events) throws Exception {
        upstream = new RawUpstream((s, head, in, out) -> {
            RawUpstream.write(out, events);
            Thread.sleep(50);
        });
        gw = TestGateway.start(type + "_API_KEY", "k", type + "_BASE_URL", upstream.baseUrl()).awaitListings();
    }

    static String chunked(List<String> events) {
        StringBuilder sb = new StringBuilder("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n");
        for (String e : events) sb.append(Integer.toHexString(e.length())).append("\r\n").append(e).append("\r\n");
        return sb.append("0\r\n\r\n").toString();
    }

    RawClient.Response post(String path, String body) throws IOException {
        try (RawClient c = new RawClient(gw.skiff.port())) {
            c.send("POST " + path + " HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: " + body.length()
                    + "\r\nconnection: close\r\n\r\n" + body);
            return c.read();
        }
    }

    @Test
    void aRelayedStreamLeavesInAsFewChunksAsItsReads() throws Exception {
        List<String> events = chatEvents();
        start("OPENAI", chunked(events));
        RawClient.Response r = post("/v1/chat/completions",
                "{\"model\":\"openai/gpt-x\",\"stream\":true,\"stream_options\":{\"include_usage\":false},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.chunked()).isTrue();
        // the client's model name in place of the provider's, every other byte as sent
        assertThat(r.body()).isEqualTo(String.join("", events).replace("\"model\":\"gpt-x\"", "\"model\":\"openai/gpt-x\""));
        assertThat(r.chunks()).as("HTTP chunks for %d events", events.size()).isLessThanOrEqualTo(3);
    }

    @Test
    void aTranslatedStreamLeavesInAsFewChunksAsItsReads() throws Exception {
        List<String> events = chatEvents();
        start("OPENAI", chunked(events));
        RawClient.Response r = post("/v1/messages",
                "{\"model\":\"openai/gpt-x\",\"max_tokens\":10,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).startsWith("event: message_start").contains("w8 ").contains("event: message_stop");
        assertThat(r.chunks()).isLessThanOrEqualTo(3);
    }

    @Test
    void aPassthroughStreamLeavesInAsFewChunksAsItsReads() throws Exception {
        List<String> events = chatEvents();
        start("OPENAI", chunked(events));
        RawClient.Response r = post("/p/openai/chat/completions",
                "{\"model\":\"gpt-x\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(String.join("", events)); // passthrough changes nothing
        assertThat(r.chunks()).isLessThanOrEqualTo(3);
    }
}
