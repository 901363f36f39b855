package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.store.TestDatabases;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;

/**
 * A client sends its next request as soon as it has read an answer, here to another replica: that
 * request's reservation must find the answered one settled. Replica A reaches Redis through a relay
 * that holds every command back {@value #DELAY_MS} ms, so A's settlement lands that long after it is
 * sent; replica B reaches Redis directly. A money budget of $0.015 with requests that reserve $0.01
 * and cost $0.005: the second request fits only once the first is settled. Were the answer written
 * before the settlement was applied, B would refuse it every time.
 */
class SettledBeforeAnswerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "sk-settle";
    static final long DELAY_MS = 400;
    static final String ANSWER = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"budget-model\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":500,\"total_tokens\":520}}";

    @Test
    void aCompleteAnswerReachesTheClientOnlyOnceItsSettlementIsInRedis() throws Exception {
        followUpOnTheOtherReplicaIsAdmitted(false);
    }

    @Test
    void theEndOfAStreamReachesTheClientOnlyOnceItsSettlementIsInRedis() throws Exception {
        followUpOnTheOtherReplicaIsAdmitted(true);
    }

    @Test
    void theTerminalEventOfAStreamStillOpenReachesTheClientOnlyOnceItsSettlementIsInRedis() throws Exception {
        followUpOnTheOtherReplicaIsAdmitted(true, true);
    }

    void followUpOnTheOtherReplicaIsAdmitted(boolean stream) throws Exception {
        followUpOnTheOtherReplicaIsAdmitted(stream, false);
    }

    /**
     * @param open the provider keeps its response open after the stream's terminal event until the
     *             follow-up was answered: the client reads [DONE] before the provider's body ends
     */
    void followUpOnTheOtherReplicaIsAdmitted(boolean stream, boolean open) throws Exception {
        java.util.concurrent.CountDownLatch upstreamMayEnd = new java.util.concurrent.CountDownLatch(1);
        String prefix = "skiff-test-" + UUID.randomUUID() + ":";
        Path prices = Files.createTempFile("prices", ".yaml");
        Files.writeString(prices, "providers:\n  openai:\n    budget-model: {input: 0, output: 10.00}\n");
        URI redis = URI.create(TestDatabases.redisUrl());
        try (MockUpstream up = new MockUpstream().models("budget-model");
             SlowRelay relay = new SlowRelay(redis.getHost(), redis.getPort(), DELAY_MS)) {
            up.on("/v1/chat/completions", (req, reply) -> {
                if (!stream) {
                    reply.json(200, ANSWER);
                    return;
                }
                reply.startStream();
                reply.chunk(ReplicaLimitsTest.STREAM);
                if (open) upstreamMayEnd.await(20, java.util.concurrent.TimeUnit.SECONDS);
            });
            String slowRedis = redis.getScheme() + "://" + redis.getHost() + ":" + relay.port() + redis.getPath();
            try (TestGateway a = TestGateway.start(env(up, prices, prefix, slowRedis));
                 TestGateway b = TestGateway.start(env(up, prices, prefix, TestDatabases.redisUrl()))) {
                for (TestGateway gw : List.of(a, b)) {
                    RedisLimiter limiter = (RedisLimiter) gw.skiff.limits().limiter();
                    for (long deadline = System.nanoTime() + 20_000_000_000L; !limiter.connected() && System.nanoTime() < deadline; ) Thread.sleep(20);
                    assertThat(limiter.connected()).isTrue();
                    gw.skiff.limits().policies(new PolicySet(List.of(PolicyJson.parse("pol_settle",
                            JSON.readTree("{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"cost\",\"window\":\"month\",\"limit_usd\":0.015}")))));
                }
                String body = "{\"model\":\"budget-model\",\"max_tokens\":1000" + (stream ? ",\"stream\":true" : "")
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

                java.io.BufferedReader openStream = null;
                if (open) {
                    HttpResponse<InputStream> first = a.postStreaming("/v1/chat/completions", body, "Authorization", "Bearer " + KEY);
                    assertThat(first.statusCode()).isEqualTo(200);
                    assertThat(first.headers().firstValue("x-skiff-budget-remaining-usd")).hasValue("0.005000"); // $0.01 reserved
                    openStream = new java.io.BufferedReader(new java.io.InputStreamReader(first.body(), java.nio.charset.StandardCharsets.UTF_8));
                    String line;
                    do line = openStream.readLine(); while (line != null && !line.equals("data: [DONE]"));
                    assertThat(line).isEqualTo("data: [DONE]");
                } else {
                    HttpResponse<String> first = chat(a, body);
                    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
                    if (stream) assertThat(first.body()).contains("[DONE]");
                    assertThat(first.headers().firstValue("x-skiff-budget-remaining-usd")).hasValue("0.005000"); // $0.01 reserved
                }
                // At once, on the other replica: $0.005 used once the first is settled, $0.01 before.
                HttpResponse<String> second = chat(b, body);
                upstreamMayEnd.countDown();
                if (openStream != null) {
                    try (java.io.BufferedReader r = openStream) {
                        while (r.readLine() != null) {
                            // the rest of the first answer: its end
                        }
                    }
                }
                assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
                assertThat(second.headers().firstValue("x-skiff-budget-remaining-usd")).hasValue("0.000000");
                // Both settled at $0.005: $0.005 is left, less than a request reserves.
                HttpResponse<String> third = chat(a, body);
                assertThat(third.statusCode()).as(third.body()).isEqualTo(429);
                assertThat(third.headers().firstValue("x-skiff-budget-remaining-usd")).hasValue("0.005000");
            }
        } finally {
            Files.deleteIfExists(prices);
        }
    }

    static String[] env(MockUpstream up, Path prices, String prefix, String redisUrl) {
        return new String[] {"SKIFF_MASTER_KEY", KEY, "OPENAI_API_KEY", "sk-up", "OPENAI_BASE_URL", up.baseUrl(),
                "SKIFF_PRICING_FILE", prices.toString(), "SKIFF_REDIS_URL", redisUrl, "SKIFF_REDIS_PREFIX", prefix};
    }

    static HttpResponse<String> chat(TestGateway gw, String body) throws Exception {
        return gw.post("/v1/chat/completions", body, "Authorization", "Bearer " + KEY);
    }

    /**
     * A TCP relay to Redis that forwards what its clients send {@code delayMs} late, in order, and
     * Redis's answers at once: every command of a replica behind it lands that much later.
     */
    static final class SlowRelay implements AutoCloseable {
        private record Piece(long dueNanos, byte[] bytes) {}

        private final ServerSocket server;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private final String host;
        private final int port;
        private final long delayMs;

        SlowRelay(String host, int port, long delayMs) throws IOException {
            this.host = host;
            this.port = port;
            this.delayMs = delayMs;
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(this::accept);
        }

        int port() {
            return server.getLocalPort();
        }

        private void accept() {
            try {
                while (true) {
                    Socket client = server.accept();
                    Socket redis = new Socket(host, port);
                    sockets.add(client);
                    sockets.add(redis);
                    LinkedBlockingQueue<Piece> pieces = new LinkedBlockingQueue<>();
                    Thread.ofVirtual().start(() -> read(client, pieces));
                    Thread.ofVirtual().start(() -> forwardLate(pieces, redis));
                    Thread.ofVirtual().start(() -> copy(redis, client));
                }
            } catch (IOException closed) {
                // the relay is closed
            }
        }

        private void read(Socket from, LinkedBlockingQueue<Piece> pieces) {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) pieces.add(new Piece(System.nanoTime() + delayMs * 1_000_000, Arrays.copyOf(buf, n)));
            } catch (IOException closed) {
                // the connection ended
            }
            pieces.add(new Piece(0, null));
        }

        private void forwardLate(LinkedBlockingQueue<Piece> pieces, Socket to) {
            try (OutputStream out = to.getOutputStream()) {
                for (Piece p; (p = pieces.take()).bytes() != null; ) {
                    long wait = p.dueNanos() - System.nanoTime();
                    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    out.write(p.bytes());
                    out.flush();
                }
            } catch (IOException | InterruptedException closed) {
                // the connection ended
            }
        }

        private static void copy(Socket from, Socket to) {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException closed) {
                // the connection ended
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) s.close();
        }
    }
}
