package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.RawUpstream;
import dev.skiff.testing.Sse;
import dev.skiff.testing.TestGateway;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A provider's answer cut short never reaches the client as a success: a body that ends before its
 * Content-Length or last chunk is a 502 in the client's dialect, a stream that ends without its
 * dialect's final event ends with an in-band error, and the usage log records the failure.
 */
class TruncatedRelayTest {
    static final ObjectMapper JSON = new ObjectMapper();

    RawUpstream upstream;
    TestGateway gw;

    @AfterEach
    void tearDown() throws IOException {
        if (gw != null) gw.close();
        if (upstream != null) upstream.close();
    }

    /** One provider of {@code type} ("OPENAI" or "ANTHROPIC") that answers every request with {@code response}, then closes. */
    void start(String type, String response) throws Exception {
        upstream = new RawUpstream((s, head, in, out) -> {
            RawUpstream.write(out, response);
            Thread.sleep(50);
        });
        gw = TestGateway.start(type + "_API_KEY", "k", type + "_BASE_URL", upstream.baseUrl()).awaitListings();
    }

    static String sseHead() {
        return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
    }

    /** Events as chunks, and the terminating chunk: an HTTP response that ends cleanly. */
    static String chunked(String... events) {
        StringBuilder sb = new StringBuilder(sseHead());
        for (String e : events) sb.append(Integer.toHexString(e.length())).append("\r\n").append(e).append("\r\n");
        return sb.append("0\r\n\r\n").toString();
    }

    static final String CHAT = "{\"model\":\"openai/gpt-x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String CHAT_STREAM = "{\"model\":\"openai/gpt-x\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String MESSAGES = "{\"model\":\"anthropic/claude-x\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String MESSAGES_STREAM = "{\"model\":\"anthropic/claude-x\",\"max_tokens\":10,\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String PARTIAL_JSON = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"content\":\"Hel";

    // ---- complete bodies ----

    @Test
    void aBodyShortOfItsContentLengthIs502InOpenAisEnvelope() throws Exception {
        start("OPENAI", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n" + PARTIAL_JSON);
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "short-length");
        assertThat(r.statusCode()).isEqualTo(502);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("upstream_error");
        assertThat(error.get("message").asText()).isEqualTo("openai closed the connection before the response was complete");
        assertThat(r.body()).doesNotContain("Hel");
        JsonNode line = JSON.readTree(gw.usageLine("short-length"));
        assertThat(line.get("status").asInt()).isEqualTo(502);
        assertThat(line.get("error").asText()).contains("before the response was complete");
    }

    @Test
    void aChunkedBodyWithoutItsLastChunkIs502() throws Exception {
        start("OPENAI", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                + Integer.toHexString(PARTIAL_JSON.length()) + "\r\n" + PARTIAL_JSON + "\r\n");
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(r.body()).at("/error/code").asText()).isEqualTo("upstream_error");
    }

    @Test
    void aBodyFramedByTheCloseAloneMustBeWholeJson() throws Exception {
        start("OPENAI", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" + PARTIAL_JSON);
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT, "X-Request-ID", "close-delimited");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(r.body()).at("/error/message").asText()).contains("before the response was complete");
        assertThat(JSON.readTree(gw.usageLine("close-delimited")).get("error").asText()).contains("JSON body ends early");
    }

    @Test
    void aWholeBodyFramedByTheCloseAlonePasses() throws Exception {
        String whole = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[]}";
        start("OPENAI", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" + whole);
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(whole);
    }

    @Test
    void aGarbledChunkIs502NotTheEndOfTheBody() throws Exception {
        start("OPENAI", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                + Integer.toHexString(PARTIAL_JSON.length()) + "\r\n" + PARTIAL_JSON + "\r\nzz\r\nllo\"}}]}\r\n0\r\n\r\n");
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).doesNotContain("Hel");
    }

    @Test
    void aShortBodyOnMessagesIs502InAnthropicsShape() throws Exception {
        start("ANTHROPIC", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 300\r\n\r\n{\"id\":\"msg_1\",\"type\":\"message\",\"content\":[");
        HttpResponse<String> r = gw.post("/v1/messages", MESSAGES);
        assertThat(r.statusCode()).isEqualTo(502);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("type").asText()).isEqualTo("error");
        assertThat(body.at("/error/type").asText()).isEqualTo("api_error");
        assertThat(body.at("/error/message").asText()).contains("anthropic").contains("before the response was complete");
    }

    @Test
    void aShortBodyThroughPassthroughAbortsTheConnectionItsHeadWentOutOn() throws Exception {
        start("OPENAI", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n" + PARTIAL_JSON);
        assertThatThrownBy(() -> gw.post("/p/openai/chat/completions", CHAT, "X-Request-ID", "short-passthrough"))
                .isInstanceOf(IOException.class);
        assertThat(JSON.readTree(gw.usageLine("short-passthrough")).get("error").asText()).contains("before the response was complete");
    }

    // ---- same-dialect streams ----

    static String chatChunk(String text) {
        return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"}}]}\n\n";
    }

    @Test
    void aChatStreamWithoutDoneEndsWithAnInBandError() throws Exception {
        start("OPENAI", chunked(chatChunk("Hel")));
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT_STREAM, "X-Request-ID", "no-done");
        assertThat(r.statusCode()).isEqualTo(200);
        List<Sse.Event> events = Sse.parse(r.body());
        assertThat(events).hasSize(2);
        assertThat(events.getFirst().data().at("/choices/0/delta/content").asText()).isEqualTo("Hel");
        JsonNode error = events.getLast().data().get("error");
        assertThat(error.get("message").asText()).contains("openai").contains("incomplete");
        assertThat(error.get("code").asText()).isEqualTo("upstream_error");
        assertThat(JSON.readTree(gw.usageLine("no-done")).get("error").asText()).contains("incomplete");
    }

    @Test
    void aChatStreamThatBreaksAfterDoneIsWhole() throws Exception {
        String done = "data: [DONE]\n\n";
        start("OPENAI", sseHead() + Integer.toHexString(chatChunk("Hi").length()) + "\r\n" + chatChunk("Hi") + "\r\n"
                + Integer.toHexString(done.length()) + "\r\n" + done + "\r\n"); // no terminating chunk: the connection just closes
        HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT_STREAM, "X-Request-ID", "done-then-close");
        assertThat(r.body()).endsWith("data: [DONE]\n\n").doesNotContain("\"error\"");
        assertThat(JSON.readTree(gw.usageLine("done-then-close")).has("error")).isFalse();
    }

    @Test
    void aResponsesStreamWithoutResponseCompletedEndsWithAnErrorEvent() throws Exception {
        start("OPENAI", chunked("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\","
                        + "\"status\":\"in_progress\",\"error\":null}}\n\n",
                "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}\n\n"));
        HttpResponse<String> r = gw.post("/v1/responses", "{\"model\":\"openai/gpt-x\",\"input\":\"hi\",\"stream\":true}",
                "X-Request-ID", "no-completed");
        List<Sse.Event> events = Sse.parse(r.body());
        assertThat(Sse.names(events)).containsExactly("response.created", "response.output_text.delta", "error");
        assertThat(events.getLast().data().get("code").asText()).isEqualTo("upstream_error");
        assertThat(JSON.readTree(gw.usageLine("no-completed")).get("error").asText()).contains("incomplete");
    }

    @Test
    void aResponsesStreamWithItsFinalEventIsLeftAlone() throws Exception {
        start("OPENAI", chunked("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"error\":null}}\n\n",
                "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\"}}\n\n"));
        HttpResponse<String> r = gw.post("/v1/responses", "{\"model\":\"openai/gpt-x\",\"input\":\"hi\",\"stream\":true}");
        assertThat(Sse.names(Sse.parse(r.body()))).containsExactly("response.created", "response.completed");
    }

    @Test
    void aMessagesStreamWithoutMessageStopEndsWithAnErrorEvent() throws Exception {
        start("ANTHROPIC", chunked("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":"
                        + "{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n"));
        HttpResponse<String> r = gw.post("/v1/messages", MESSAGES_STREAM, "X-Request-ID", "no-stop");
        List<Sse.Event> events = Sse.parse(r.body());
        assertThat(Sse.names(events)).containsExactly("message_start", "content_block_delta", "error");
        assertThat(events.getLast().data().get("type").asText()).isEqualTo("error");
        assertThat(events.getLast().data().at("/error/message").asText()).contains("anthropic");
        JsonNode line = JSON.readTree(gw.usageLine("no-stop"));
        assertThat(line.get("error").asText()).contains("incomplete");
        assertThat(line.get("prompt_tokens").asInt()).isEqualTo(3); // what was seen is still accounted
    }

    // ---- passthrough streams ----

    @Test
    void aPassthroughStreamOfAKnownApiWithoutItsFinalEventEndsWithAnErrorEvent() throws Exception {
        start("ANTHROPIC", chunked("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":"
                + "{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"));
        HttpResponse<String> r = gw.post("/p/anthropic/messages", MESSAGES_STREAM, "X-Request-ID", "pt-no-stop");
        List<Sse.Event> events = Sse.parse(r.body());
        assertThat(Sse.names(events)).containsExactly("message_start", "error");
        assertThat(events.getLast().data().at("/error/type").asText()).isEqualTo("api_error");
        JsonNode line = JSON.readTree(gw.usageLine("pt-no-stop"));
        assertThat(line.get("error").asText()).contains("incomplete");
        assertThat(line.get("prompt_tokens").asInt()).isEqualTo(3);
    }

    @Test
    void aPassthroughChatStreamWithDoneIsRelayedAsItCame() throws Exception {
        String done = "data: [DONE]\n\n";
        start("OPENAI", chunked(chatChunk("Hi"), done));
        HttpResponse<String> r = gw.post("/p/openai/chat/completions", CHAT_STREAM);
        assertThat(r.body()).isEqualTo(chatChunk("Hi") + done);
        // and without it, an OpenAI-shaped error ends it
        upstream.close();
        gw.close();
        start("OPENAI", chunked(chatChunk("Hi")));
        r = gw.post("/p/openai/chat/completions", CHAT_STREAM);
        assertThat(Sse.parse(r.body()).getLast().data().at("/error/code").asText()).isEqualTo("upstream_error");
    }

    @Test
    void aPassthroughStreamOfAnotherApiIsRelayedAsItEnds() throws Exception {
        start("OPENAI", chunked("data: {\"candidates\":[]}\n\n"));
        HttpResponse<String> r = gw.post("/p/openai/models/gemini:streamGenerateContent?alt=sse", "{}");
        assertThat(r.body()).isEqualTo("data: {\"candidates\":[]}\n\n");
    }

    @Test
    void aMessagesStreamTheProviderEndedWithItsOwnErrorGetsNoSecondOneButIsLoggedAsFailed() throws Exception {
        start("ANTHROPIC", chunked("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n",
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"));
        HttpResponse<String> r = gw.post("/v1/messages", MESSAGES_STREAM, "X-Request-ID", "own-error");
        List<Sse.Event> events = Sse.parse(r.body());
        assertThat(Sse.names(events)).containsExactly("message_start", "error");
        assertThat(events.getLast().data().at("/error/message").asText()).isEqualTo("Overloaded");
        assertThat(JSON.readTree(gw.usageLine("own-error")).get("error").asText()).contains("error event");
    }

    // ---- translated streams ----

    @Test
    void aTranslatedStreamWithoutItsFinalEventEndsWithAnErrorToo() throws Exception {
        start("ANTHROPIC", chunked("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":"
                        + "{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n"));
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"anthropic/claude-x\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "X-Request-ID", "t-no-stop");
        List<Sse.Event> events = Sse.parse(r.body());
        assertThat(events.getLast().data().has("error")).as(r.body()).isTrue();
        assertThat(r.body()).doesNotContain("[DONE]");
        assertThat(JSON.readTree(gw.usageLine("t-no-stop")).get("error").asText()).isNotEmpty();
    }

    @Test
    void aTranslatedMessagesStreamFromAChatProviderWithoutFinishEndsWithAnErrorEvent() throws Exception {
        start("OPENAI", chunked(chatChunk("Hel")));
        HttpResponse<String> r = gw.post("/v1/messages",
                "{\"model\":\"openai/gpt-x\",\"max_tokens\":10,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        List<Sse.Event> events = Sse.parse(r.body());
        assertThat(Sse.names(events)).doesNotContain("message_stop").endsWith("error");
    }
}
