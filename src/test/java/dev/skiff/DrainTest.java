package dev.skiff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.RawClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** SIGTERM, on a real Skiff process: stop accepting, let requests finish, cut what outlives the drain visibly, exit 0. */
class DrainTest {
    @Test
    void sigtermDrainsThenExitsZero() throws Exception {
        CountDownLatch slowArrived = new CountDownLatch(1);
        try (MockUpstream up = new MockUpstream()) {
            up.on("/v1/chat/completions", (req, reply) -> {
                if (req.body().contains("\"stream\":true")) { // a stream that outlives the drain
                    reply.startStream();
                    reply.chunk("data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n");
                    Thread.sleep(20_000);
                    return;
                }
                slowArrived.countDown(); // an answer that comes within the drain
                Thread.sleep(700);
                reply.json(200, "{\"id\":\"2\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"done\"},\"finish_reason\":\"stop\"}]}");
            });
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path dir = Files.createTempDirectory("skiff-drain");
            ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-Xmx64m",
                    "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"), "dev.skiff.Main");
            pb.environment().keySet().removeIf(k -> k.startsWith("SKIFF_") || k.endsWith("_API_KEY") || k.endsWith("_BASE_URL"));
            pb.environment().putAll(java.util.Map.of("PORT", String.valueOf(port), "SKIFF_HOST", "127.0.0.1", "OPENAI_API_KEY", "k",
                    "OPENAI_BASE_URL", up.baseUrl(), "SKIFF_DRAIN_TIMEOUT", "2s", "SKIFF_USAGE_LOG", "off",
                    "SKIFF_DB", dir.resolve("skiff.db").toString()));
            pb.directory(dir.toFile());
            pb.redirectErrorStream(true);
            Process p = pb.start();
            List<String> output = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch serving = new CountDownLatch(1);
            Thread reader = Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        output.add(line);
                        if (line.contains("serving on")) serving.countDown();
                    }
                } catch (IOException e) {
                    // the process ended
                }
            });
            try {
                assertThat(serving.await(30, TimeUnit.SECONDS)).as("started: %s", output).isTrue();

                RawClient idle = new RawClient(port);
                idle.send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n");
                assertThat(idle.read().status()).isEqualTo(200);

                RawClient streaming = new RawClient(port);
                String streamBody = "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":[]}";
                streaming.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: "
                        + streamBody.length() + "\r\n\r\n" + streamBody);
                CompletableFuture<RawClient.Response> streamed = CompletableFuture.supplyAsync(() -> {
                    try {
                        return streaming.read();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });

                RawClient slow = new RawClient(port);
                String body = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[]}";
                slow.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: "
                        + body.length() + "\r\n\r\n" + body);
                assertThat(slowArrived.await(10, TimeUnit.SECONDS)).isTrue();

                long t0 = System.nanoTime();
                // SIGTERM, through the handle: Process.destroy() would also close our end of its output.
                p.toHandle().destroy();

                // The idle connection is closed at once; no new connection is accepted.
                assertThat(idle.awaitClosed(1_000)).isTrue();
                Thread.sleep(200);
                assertThatThrownBy(() -> new RawClient(port).send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n").read())
                        .isInstanceOf(IOException.class);

                // The request in flight finishes, told that the connection ends with it.
                RawClient.Response answered = slow.read();
                assertThat(answered.status()).isEqualTo(200);
                assertThat(answered.body()).contains("done");
                assertThat(answered.header("connection")).isEqualTo("close");

                // The stream outlives the drain: it is ended at the deadline with an error event it can read.
                RawClient.Response cut = streamed.get(10, TimeUnit.SECONDS);
                assertThat(cut.status()).isEqualTo(200);
                assertThat(cut.body()).contains("\"content\":\"a\"").contains("server_shutting_down");
                long cutAfterMs = (System.nanoTime() - t0) / 1_000_000;
                assertThat(cutAfterMs).isBetween(1_500L, 6_000L);

                assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as("exit status; output: %s", output).isZero();
                reader.join(5_000);
                assertThat(String.join("\n", output)).contains("SIGTERM").contains("stopped");
                for (RawClient c : List.of(idle, streaming, slow)) c.close();
            } finally {
                p.destroyForcibly();
            }
        }
    }
}
