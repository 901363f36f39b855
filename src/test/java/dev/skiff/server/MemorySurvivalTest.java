package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Skiff as it is launched (a child JVM with bin/skiff's flags: a 48 MB heap that exits on
 * OutOfMemoryError) against the request shapes that used to make it exit: large translated bodies,
 * alone and together, bodies of many tiny values, a large translated answer, one huge event in a
 * translated stream, inlined images together, deeply nested JSON. Each must get its documented
 * answer, in its dialect, and Skiff must still be there afterwards.
 */
class MemorySurvivalTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    static final int IMAGE_BYTES = 5_000_000 - 4096; // just under SKIFF_IMAGE_FETCH_MAX_BYTES' default

    static MockUpstream anthropic;
    static MockUpstream openai;
    static MockUpstream bedrock;
    static MockUpstream images;
    static Process skiff;
    static Path output;
    static int port;
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        anthropic = new MockUpstream();
        anthropic.on("/v1/messages", (req, reply) -> {
            if (req.body().contains("claude-big-answer")) {
                reply.json(200, anthropicAnswer("w".repeat(4_400_000)));
            } else if (req.body().contains("claude-huge-answer")) {
                reply.json(200, anthropicAnswer("x".repeat(10 << 20)));
            } else if (req.body().contains("claude-huge-event")) {
                reply.startStream();
                reply.chunk("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
                        + "\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
                        + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
                        + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
                reply.chunk("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                        + "\"delta\":{\"type\":\"text_delta\",\"text\":\"");
                byte[] piece = "y".repeat(64 << 10).getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < 256; i++) reply.chunk(piece); // 16 MB in one event
                reply.chunk("\"}}\n\n");
            } else {
                reply.json(200, anthropicAnswer("ok"));
            }
        });
        openai = new MockUpstream();
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,"
                + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}"));
        bedrock = new MockUpstream();
        bedrock.on("/model/" + BEDROCK_MODEL + "/converse", (req, reply) -> reply.json(200,
                "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"a cat\"}]}},\"stopReason\":\"end_turn\","
                        + "\"usage\":{\"inputTokens\":5,\"outputTokens\":2,\"totalTokens\":7}}"));
        images = new MockUpstream();
        byte[] png = new byte[IMAGE_BYTES];
        byte[] magic = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10};
        System.arraycopy(magic, 0, png, 0, magic.length);
        images.on("/big.png", (req, reply) -> {
            reply.header("Content-Type", "image/png");
            reply.raw(200, png);
        });

        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        output = Files.createTempFile("skiff-survival", ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(launcherFlags());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.skiff.Main");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("SKIFF_") || k.endsWith("_API_KEY") || k.endsWith("_BASE_URL") || k.startsWith("AWS_"));
        env.put("PORT", Integer.toString(port));
        env.put("SKIFF_HOST", "127.0.0.1");
        env.put("SKIFF_IO_THREADS", "2");
        env.put("SKIFF_USAGE_LOG", "off");
        env.put("SKIFF_DB", ":memory:");
        env.put("SKIFF_IMAGE_FETCH_PRIVATE", "allow"); // the image server is on loopback
        env.put("ANTHROPIC_API_KEY", "a-key");
        env.put("ANTHROPIC_BASE_URL", anthropic.baseUrl());
        env.put("OPENAI_API_KEY", "o-key");
        env.put("OPENAI_BASE_URL", openai.baseUrl());
        env.put("AWS_ACCESS_KEY_ID", "AKID");
        env.put("AWS_SECRET_ACCESS_KEY", "secret");
        env.put("BEDROCK_BASE_URL", bedrock.baseUrl().substring(0, bedrock.baseUrl().length() - 3));
        env.put("BEDROCK_MODELS", BEDROCK_MODEL);
        skiff = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                if (get("/health").statusCode() == 200) break;
            } catch (IOException e) {
                // not listening yet
            }
            if (!skiff.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("Skiff did not start:\n" + Files.readString(output));
            }
            Thread.sleep(50);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (skiff != null) {
            skiff.destroy();
            skiff.waitFor();
        }
        for (MockUpstream m : new MockUpstream[] {anthropic, openai, bedrock, images}) if (m != null) m.close();
        if (output != null) Files.deleteIfExists(output);
    }

    /**
     * The JVM flags bin/skiff starts Skiff with, read from the script itself so that this test
     * follows any change to them (the defaults of its variables taken).
     */
    static List<String> launcherFlags() throws IOException {
        String script = Files.readString(Path.of("bin", "skiff"));
        Matcher m = Pattern.compile("(?s)\nflags=\\((.*?)\n\\)").matcher(script);
        if (!m.find()) throw new IllegalStateException("bin/skiff has no flags=( ... ) block");
        List<String> flags = new ArrayList<>();
        for (String line : m.group(1).split("\n")) {
            String code = line.replaceAll("\\s#.*$", "").strip();
            if (code.isEmpty() || code.startsWith("#")) continue;
            for (String word : code.split("\\s+")) {
                String flag = word.replaceAll("\\$\\{[A-Z_]+:-([^}]*)}", "$1").replace("\"", "");
                flags.add(flag);
            }
        }
        assertThat(flags).contains("-Xmx48m", "-XX:+ExitOnOutOfMemoryError", "-Xss256k");
        return flags;
    }

    static String anthropicAnswer(String text) {
        return "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[{\"type\":\"text\",\"text\":\""
                + text + "\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";
    }

    static HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static CompletableFuture<HttpResponse<String>> post(String path, String body) {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return http.sendAsync(r, HttpResponse.BodyHandlers.ofString());
    }

    static String chat(String model, String text) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}";
    }

    /** Skiff is alive and answers at once. */
    static void assertAlive() throws Exception {
        assertThat(skiff.isAlive()).as("Skiff is running; its output:\n%s", Files.readString(output)).isTrue();
        assertThat(get("/health").statusCode()).isEqualTo(200);
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    @Test
    void aTranslatedBodyTooLargeToTranslateIsRefusedInItsDialect() throws Exception {
        String big = "a".repeat(9_500_000);
        HttpResponse<String> chat = post("/v1/chat/completions", chat("anthropic/claude-x", big)).get();
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(413);
        assertThat(json(chat).at("/error/code").asText()).isEqualTo("request_too_large");
        assertThat(json(chat).at("/error/message").asText()).contains("translation memory");

        String messages = "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"" + big + "\"}]}";
        HttpResponse<String> anthropicShape = post("/v1/messages", messages).get();
        assertThat(anthropicShape.statusCode()).isEqualTo(413);
        assertThat(json(anthropicShape).get("type").asText()).isEqualTo("error");
        assertThat(json(anthropicShape).at("/error/type").asText()).isEqualTo("request_too_large");
        assertAlive();
    }

    @Test
    void twoLargeTranslatedBodiesAtOnce() throws Exception {
        String big = "b".repeat(8 << 20);
        var first = post("/v1/chat/completions", chat("anthropic/claude-x", big));
        var second = post("/v1/chat/completions", chat("anthropic/claude-x", big));
        assertThat(first.get().statusCode()).isEqualTo(413);
        assertThat(second.get().statusCode()).isEqualTo(413);
        assertAlive();
    }

    @Test
    void translatableBodiesAtOnceAreServedOrToldToRetry() throws Exception {
        // Each fits the translation memory alone, not together: the second waits its turn.
        String body = chat("anthropic/claude-x", "c".repeat(3 << 20));
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 3; i++) all.add(post("/v1/chat/completions", body));
        int served = 0;
        for (var f : all) {
            HttpResponse<String> r = f.get();
            if (r.statusCode() == 200) {
                served++;
                assertThat(json(r).at("/choices/0/message/content").asText()).isEqualTo("ok");
            } else {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
                assertThat(r.headers().firstValue("retry-after")).hasValue("1");
            }
        }
        assertThat(served).isPositive();
        assertAlive();
    }

    @Test
    void bodiesJustWithinTheTranslationMemoryAreServed() throws Exception {
        // The estimate is only worth something if what it admits really fits: one body of each shape
        // close to the limit (~23 MB of translation memory with a 48 MB heap), one after the other.
        List<String> bodies = new ArrayList<>();
        bodies.add(chat("anthropic/claude-x", "d".repeat(4_400_000))); // one long ASCII string
        bodies.add(chat("anthropic/claude-x", "€".repeat(1_460_000))); // 4.4 MB of 3-byte characters
        StringBuilder sb = new StringBuilder("{\"model\":\"anthropic/claude-x\",\"messages\":[");
        for (int i = 0; i < 28_000; i++) sb.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"x\"}");
        bodies.add(sb.append("]}").toString()); // ~170,000 tokens
        for (String body : bodies) {
            HttpResponse<String> r = post("/v1/chat/completions", body).get();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertAlive();
        }
        // Likewise an answer just under the answer limit.
        HttpResponse<String> answer = post("/v1/chat/completions", chat("anthropic/claude-big-answer", "hi")).get();
        assertThat(answer.statusCode()).as(answer.body().length() > 500 ? answer.body().substring(0, 500) : answer.body()).isEqualTo(200);
        assertThat(json(answer).at("/choices/0/message/content").asText()).hasSize(4_400_000);
        assertAlive();
    }

    @Test
    void manyTinyMessagesAreRefusedBeforeTheyBecomeATree() throws Exception {
        StringBuilder sb = new StringBuilder("{\"model\":\"anthropic/claude-x\",\"messages\":[");
        for (int i = 0; i < 200_000; i++) sb.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"x\"}");
        String body = sb.append("]}").toString();
        assertThat(body.length()).isGreaterThan(5_500_000);
        HttpResponse<String> r = post("/v1/chat/completions", body).get();
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r).at("/error/message").asText()).contains("JSON tokens");
        assertAlive();
    }

    @Test
    void aLargeTranslatedAnswerIsA502() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", chat("anthropic/claude-huge-answer", "hi")).get();
        assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
        assertThat(json(r).at("/error/message").asText()).contains("answer is larger than");
        assertAlive();
    }

    @Test
    void aHugeEventInATranslatedStreamEndsItWithAnError() throws Exception {
        String body = "{\"model\":\"anthropic/claude-huge-event\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        HttpResponse<String> r = post("/v1/chat/completions", body).get();
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"error\"").contains("larger than").doesNotContain("[DONE]");
        // The same through the Responses API: its own failure event, and no completion.
        String responses = "{\"model\":\"anthropic/claude-huge-event\",\"stream\":true,\"input\":\"hi\"}";
        HttpResponse<String> rr = post("/v1/responses", responses).get();
        assertThat(rr.statusCode()).isEqualTo(200);
        assertThat(rr.body()).contains("event: response.failed").contains("larger than").doesNotContain("response.completed");
        assertAlive();
    }

    @Test
    void inlinedImagesAtOnceAreServedOrToldToRetry() throws Exception {
        String url = images.baseUrl().replace("/v1", "") + "/big.png";
        String body = "{\"model\":\"" + BEDROCK_MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}}]}]}";
        var first = post("/v1/chat/completions", body);
        var second = post("/v1/chat/completions", body);
        int served = 0;
        for (var f : List.of(first, second)) {
            HttpResponse<String> r = f.get();
            if (r.statusCode() == 200) {
                served++;
            } else {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
                assertThat(r.headers().firstValue("retry-after")).hasValue("1");
            }
        }
        assertThat(served).isPositive();
        assertAlive();
    }

    @Test
    void deeplyNestedMetadataIsA400BeforeTheProviderIsCalled() throws Exception {
        anthropic.clearReceived();
        String deep = "{\"a\":".repeat(600) + "1" + "}".repeat(600);
        String body = "{\"model\":\"anthropic/claude-x\",\"input\":\"hi\",\"metadata\":" + deep + "}";
        HttpResponse<String> r = post("/v1/responses", body).get();
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r).at("/error/message").asText()).contains("64 levels");
        assertAlive();
        Thread.sleep(200);
        assertThat(anthropic.received().stream().filter(x -> x.path().equals("/v1/messages"))).isEmpty();
    }
}
