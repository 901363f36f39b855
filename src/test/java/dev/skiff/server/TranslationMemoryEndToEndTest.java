package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The translation memory end to end: waiting, the busy answer, release, and limits on what providers send back. */
class TranslationMemoryEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    static final String CONVERSE = "/model/" + MODEL + "/converse";
    static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 1, 2, 3, 4};

    MockUpstream bedrock;
    MockUpstream images;

    @BeforeEach
    void setUp() throws Exception {
        bedrock = new MockUpstream();
        bedrock.on(CONVERSE, (req, reply) -> reply.json(200, "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"ok\"}]}},"
                + "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":5,\"outputTokens\":2,\"totalTokens\":7}}"));
        images = new MockUpstream();
        images.on("/slow.png", (req, reply) -> {
            Thread.sleep(3500); // longer than a request waits for memory
            reply.header("Content-Type", "image/png");
            reply.raw(200, PNG);
        });
    }

    @AfterEach
    void tearDown() {
        bedrock.close();
        images.close();
    }

    TestGateway gateway(String... extra) throws Exception {
        String base = bedrock.baseUrl().substring(0, bedrock.baseUrl().length() - 3);
        String[] env = {"AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "secret", "BEDROCK_BASE_URL", base, "BEDROCK_MODELS", MODEL,
                "SKIFF_IMAGE_FETCH_PRIVATE", "allow"};
        String[] all = new String[env.length + extra.length];
        System.arraycopy(env, 0, all, 0, env.length);
        System.arraycopy(extra, 0, all, env.length, extra.length);
        return TestGateway.start(all).awaitListings();
    }

    static String chat(String text) {
        return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}";
    }

    @Test
    void aRequestThatFindsTheMemoryTakenWaitsThenIsBusyAndTheMemoryComesBack() throws Exception {
        try (TestGateway gw = gateway("SKIFF_TRANSLATION_MEMORY", "1MB")) {
            // An image to inline reserves what is left of the memory while it is fetched (slowly).
            String url = images.baseUrl().replace("/v1", "") + "/slow.png";
            String withImage = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what?\"},"
                    + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}}]}]}";
            CompletableFuture<HttpResponse<String>> holder = CompletableFuture.supplyAsync(() -> {
                try {
                    return gw.post("/v1/chat/completions", withImage);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(500); // the image request holds the memory now
            long start = System.nanoTime();
            HttpResponse<String> busy = gw.post("/v1/chat/completions", chat("hello"), "X-Request-ID", "busy-1");
            long waitedMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(busy.statusCode()).as(busy.body()).isEqualTo(503);
            assertThat(busy.headers().firstValue("retry-after")).hasValue("1");
            JsonNode error = JSON.readTree(busy.body()).get("error");
            assertThat(error.get("code").asText()).isEqualTo("overloaded");
            assertThat(error.get("message").asText()).contains("try again");
            assertThat(waitedMillis).as("it waited for memory first").isBetween(1500L, 3400L);
            assertThat(gw.usageLine("busy-1")).contains("\"status\":503");

            assertThat(holder.get().statusCode()).as(holder.get().body()).isEqualTo(200);
            // The image request gave its memory back: the next one goes through at once.
            HttpResponse<String> after = gw.post("/v1/chat/completions", chat("hello again"));
            assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
        }
    }

    @Test
    void aRequestLargerThanTheWholeMemoryIs413AndOneThatFitsIsServed() throws Exception {
        try (TestGateway gw = gateway("SKIFF_TRANSLATION_MEMORY", "1MB")) {
            HttpResponse<String> tooLarge = gw.post("/v1/chat/completions", chat("t".repeat(300_000))); // ~1.5 MB estimated
            assertThat(tooLarge.statusCode()).isEqualTo(413);
            JsonNode error = JSON.readTree(tooLarge.body()).get("error");
            assertThat(error.get("code").asText()).isEqualTo("request_too_large");
            assertThat(error.get("message").asText()).contains("translation memory (1 MB");
            assertThat(bedrock.received()).noneMatch(r -> r.path().equals(CONVERSE));

            HttpResponse<String> fits = gw.post("/v1/chat/completions", chat("t".repeat(100_000))); // ~0.5 MB
            assertThat(fits.statusCode()).as(fits.body()).isEqualTo(200);
        }
    }

    @Test
    void aProviderAnswerNestedTooDeeplyIsA502() throws Exception {
        String deep = "{\"a\":".repeat(100) + "1" + "}".repeat(100);
        bedrock.on(CONVERSE, (req, reply) -> reply.json(200, "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"toolUse\":"
                + "{\"toolUseId\":\"t1\",\"name\":\"f\",\"input\":" + deep + "}}]}},\"stopReason\":\"tool_use\","
                + "\"usage\":{\"inputTokens\":5,\"outputTokens\":2,\"totalTokens\":7}}"));
        try (TestGateway gw = gateway()) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", chat("call f"), "X-Request-ID", "deep-answer");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
            assertThat(JSON.readTree(r.body()).at("/error/message").asText()).contains("The provider's answer nests").contains("64 levels");
            assertThat(gw.usageLine("deep-answer")).contains("\"status\":502");
        }
    }

    @Test
    void aConversationGrownTooLargeForTheMemoryIs413OnItsNextTurn() throws Exception {
        try (TestGateway gw = gateway("SKIFF_TRANSLATION_MEMORY", "1MB")) {
            // One turn of 120 kB fits (~0.6 MB estimated); read back as history it costs more per
            // character (it is parsed again, and grows with every turn): ~1.2 MB, over the memory.
            String first = "{\"model\":\"" + MODEL + "\",\"input\":\"" + "h".repeat(120_000) + "\"}";
            HttpResponse<String> turn1 = gw.post("/v1/responses", first);
            assertThat(turn1.statusCode()).as(turn1.body()).isEqualTo(200);
            String id = JSON.readTree(turn1.body()).get("id").asText();

            HttpResponse<String> turn2 = gw.post("/v1/responses", "{\"model\":\"" + MODEL + "\",\"previous_response_id\":\"" + id
                    + "\",\"input\":\"and then?\"}", "X-Request-ID", "turn-2");
            assertThat(turn2.statusCode()).as(turn2.body()).isEqualTo(413);
            JsonNode error = JSON.readTree(turn2.body()).get("error");
            assertThat(error.get("code").asText()).isEqualTo("request_too_large");
            assertThat(error.get("param").asText()).isEqualTo("previous_response_id");
            assertThat(error.get("message").asText()).contains("conversation so far");
            assertThat(gw.usageLine("turn-2")).contains("\"status\":413");

            // Reading it back reserves memory too: whole, it fits (~3 B per stored character); as
            // input items, which are parsed into trees (~10 B per character), it does not.
            HttpResponse<String> read = gw.get("/v1/responses/" + id);
            assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
            assertThat(JSON.readTree(read.body()).get("id").asText()).isEqualTo(id);
            HttpResponse<String> items = gw.get("/v1/responses/" + id + "/input_items");
            assertThat(items.statusCode()).as(items.body()).isEqualTo(413);
            assertThat(JSON.readTree(items.body()).at("/error/message").asText()).contains("translation memory");
        }
        try (TestGateway gw = gateway("SKIFF_TRANSLATION_MEMORY", "4MB")) {
            // With room for it, the same conversation goes on.
            String first = "{\"model\":\"" + MODEL + "\",\"input\":\"" + "h".repeat(120_000) + "\"}";
            String id = JSON.readTree(gw.post("/v1/responses", first).body()).get("id").asText();
            HttpResponse<String> turn2 = gw.post("/v1/responses", "{\"model\":\"" + MODEL + "\",\"previous_response_id\":\"" + id
                    + "\",\"input\":\"and then?\"}");
            assertThat(turn2.statusCode()).as(turn2.body()).isEqualTo(200);
        }
    }

    @Test
    void aClientThatLeavesGivesItsMemoryBack() throws Exception {
        try (TestGateway gw = gateway("SKIFF_TRANSLATION_MEMORY", "1MB")) {
            String url = images.baseUrl().replace("/v1", "") + "/slow.png";
            byte[] withImage = ("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                    + "\"image_url\":{\"url\":\"" + url + "\"}}]}]}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            try (java.net.Socket leaver = new java.net.Socket("127.0.0.1", gw.skiff.port())) {
                leaver.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "X-Request-ID: leaver\r\nContent-Length: " + withImage.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                leaver.getOutputStream().write(withImage);
                leaver.getOutputStream().flush();
                Thread.sleep(300); // its image is being fetched: it holds the memory
            } // and it leaves
            long start = System.nanoTime();
            HttpResponse<String> next = gw.post("/v1/chat/completions", chat("hello"));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
            assertThat(millis).as("served without waiting out the image fetch").isLessThan(1500);
            assertThat(gw.usageLine("leaver")).contains("\"status\":499");
        }
    }

    @Test
    void aLargeStreamEventFindingTheMemoryTakenEndsItsStreamWithAnError() throws Exception {
        String text = "e".repeat(40_000); // one 40 kB event (the cap is 64 kB here): ~0.2 MB to parse
        try (MockUpstream anthropic = new MockUpstream()) {
            anthropic.on("/v1/messages", (req, reply) -> {
                reply.startStream();
                reply.chunk("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
                        + "\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
                        + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
                        + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
                Thread.sleep(1500); // the stream is under way, its request's memory given back
                reply.chunk("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                        + "\"delta\":{\"type\":\"text_delta\",\"text\":\"" + text + "\"}}\n\n"
                        + "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
                        + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
                        + "\"usage\":{\"output_tokens\":5}}\n\n"
                        + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
            });
            try (TestGateway gw = gateway("SKIFF_TRANSLATION_MEMORY", "1MB", "ANTHROPIC_API_KEY", "a", "ANTHROPIC_BASE_URL", anthropic.baseUrl())) {
                String stream = "{\"model\":\"anthropic/claude-x\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
                HttpResponse<String> free = gw.post("/v1/chat/completions", stream);
                assertThat(free.statusCode()).isEqualTo(200);
                assertThat(free.body()).contains(text).contains("[DONE]").doesNotContain("\"error\"");

                String url = images.baseUrl().replace("/v1", "") + "/slow.png";
                String withImage = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                        + "\"image_url\":{\"url\":\"" + url + "\"}}]}]}";
                CompletableFuture<HttpResponse<String>> starving = CompletableFuture.supplyAsync(() -> {
                    try {
                        return gw.post("/v1/chat/completions", stream);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                Thread.sleep(300); // the stream has started; now the image request takes all the memory
                CompletableFuture<HttpResponse<String>> holder = CompletableFuture.supplyAsync(() -> {
                    try {
                        return gw.post("/v1/chat/completions", withImage);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                HttpResponse<String> starved = starving.get();
                assertThat(starved.statusCode()).isEqualTo(200);
                assertThat(starved.body()).contains("\"error\"").contains("no translation memory free").doesNotContain("[DONE]");
                assertThat(holder.get().statusCode()).isEqualTo(200);
            }
        }
    }
}
