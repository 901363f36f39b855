package dev.skiff.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.config.ProviderConfig;
import dev.skiff.config.ProviderType;
import dev.skiff.config.Timeouts;
import dev.skiff.provider.Provider;
import dev.skiff.server.Transport;
import dev.skiff.testing.MockUpstream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Several requests presented as one response, against a real socket: order, first failure wins,
 * cancellation, the in-flight window, and that every buffer is released on every path.
 */
class MultiExchangeTest {
    /** Remembers every buffer it hands out, so that a test can check none is left unreleased. */
    static final class CountingAllocator extends AbstractByteBufAllocator {
        final ConcurrentLinkedQueue<ByteBuf> handedOut = new ConcurrentLinkedQueue<>();

        CountingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
            handedOut.add(b);
            return b;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return newHeapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public CompositeByteBuf compositeBuffer(int maxNumComponents) {
            CompositeByteBuf b = new CompositeByteBuf(this, false, maxNumComponents);
            handedOut.add(b);
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        void assertAllReleased() {
            for (ByteBuf b : handedOut) assertThat(b.refCnt()).as("buffer released: " + b).isZero();
        }
    }

    /** What the listener saw; releases the body it is given, as ProxyCall does. */
    static final class Recorder implements ExchangeListener {
        final CompletableFuture<String> outcome = new CompletableFuture<>();
        int status;
        final StringBuilder body = new StringBuilder();

        @Override
        public void onHead(HttpResponse head) {
            status = head.status().code();
        }

        @Override
        public void onContent(ByteBuf content) {
            body.append(content.toString(StandardCharsets.UTF_8));
            content.release();
        }

        @Override
        public void onEnd() {
            outcome.complete(status + " " + body);
        }

        @Override
        public void onFailure(UpstreamFailure failure) {
            outcome.complete("failure " + failure.kind() + ": " + failure.message());
        }
    }

    MockUpstream mock;
    EventLoopGroup group;
    EventLoop loop;
    CountingAllocator alloc;
    Provider provider;
    UpstreamClient client;

    @BeforeEach
    void setUp() throws Exception {
        mock = new MockUpstream();
        group = Transport.of("nio").newGroup(1);
        loop = group.next();
        alloc = new CountingAllocator();
        start(Timeouts.defaults());
    }

    void start(Timeouts timeouts) {
        provider = new Provider(new ProviderConfig("mock", ProviderType.OPENAI, URI.create(mock.baseUrl()), null, List.of(), null, Map.of()));
        client = new UpstreamClient(Transport.of("nio"), timeouts, ProxySettings.NONE, null, List.of(provider));
    }

    @AfterEach
    void tearDown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        mock.close();
    }

    List<MultiExchange.Part> parts(String... items) {
        List<MultiExchange.Part> out = new ArrayList<>();
        for (String item : items) {
            HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/item");
            byte[] b = item.getBytes(StandardCharsets.UTF_8);
            provider.applyHeaders(head.headers());
            head.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, b.length);
            out.add(new MultiExchange.Part(head, alloc.buffer(b.length).writeBytes(b)));
        }
        return out;
    }

    MultiExchange send(List<MultiExchange.Part> parts, Recorder r) throws Exception {
        return CompletableFuture.supplyAsync(() -> MultiExchange.send(client, provider, loop, alloc, parts, r), loop).get();
    }

    @Test
    void answersAreJoinedInRequestOrderWhateverOrderTheyArrive() throws Exception {
        mock.on("/v1/item", (req, reply) -> {
            if (req.body().equals("a")) Thread.sleep(300); // the first answers last
            reply.json(200, "{\"item\":\"" + req.body() + "\"}");
        });
        Recorder r = new Recorder();
        send(parts("a", "b", "c"), r);
        assertThat(r.outcome.get(5, TimeUnit.SECONDS)).isEqualTo("200 [{\"item\":\"a\"},{\"item\":\"b\"},{\"item\":\"c\"}]");
        alloc.assertAllReleased();
    }

    @Test
    void firstFailureWinsAndTheOthersAreCancelled() throws Exception {
        CountDownLatch slowStarted = new CountDownLatch(1);
        mock.on("/v1/item", (req, reply) -> {
            switch (req.body()) {
                case "bad" -> {
                    slowStarted.await(2, TimeUnit.SECONDS);
                    reply.header("retry-after", "3");
                    reply.json(429, "{\"message\":\"Too many requests, please wait before trying again.\"}");
                }
                case "slow" -> {
                    slowStarted.countDown();
                    Thread.sleep(2_000);
                    reply.json(200, "{}");
                }
                default -> reply.json(200, "{}");
            }
        });
        Recorder r = new Recorder();
        long t0 = System.nanoTime();
        send(parts("ok", "bad", "slow"), r);
        assertThat(r.outcome.get(5, TimeUnit.SECONDS)).isEqualTo("429 {\"message\":\"Too many requests, please wait before trying again.\"}");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(1_500)); // did not wait for "slow"
        alloc.assertAllReleased();
    }

    @Test
    void aFailureFreesTheRequestsNotSentYetAndTheAnswersGathered() throws Exception {
        CountDownLatch othersAnswered = new CountDownLatch(MultiExchange.MAX_IN_FLIGHT - 1);
        mock.on("/v1/item", (req, reply) -> {
            if (req.body().equals("0")) {
                othersAnswered.await(3, TimeUnit.SECONDS); // answers already gathered must be freed too
                reply.json(500, "{\"Message\":\"boom\"}");
                return;
            }
            reply.json(200, "{\"n\":" + req.body() + "}");
            othersAnswered.countDown();
            Thread.sleep(1_000); // keeps the window from moving on quickly
        });
        String[] items = new String[MultiExchange.MAX_IN_FLIGHT + 4];
        for (int i = 0; i < items.length; i++) items[i] = String.valueOf(i);
        Recorder r = new Recorder();
        send(parts(items), r);
        assertThat(r.outcome.get(5, TimeUnit.SECONDS)).isEqualTo("500 {\"Message\":\"boom\"}");
        alloc.assertAllReleased();
    }

    @Test
    void aTransportFailureEndsTheWholeAsThatFailure() throws Exception {
        mock.close(); // nothing listens: every request fails to connect
        Recorder r = new Recorder();
        send(parts("a", "b"), r);
        assertThat(r.outcome.get(5, TimeUnit.SECONDS)).startsWith("failure UNREACHABLE");
        alloc.assertAllReleased();
    }

    @Test
    void theTotalTimeoutBoundsTheWhole() throws Exception {
        start(new Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofMillis(400)));
        mock.on("/v1/item", (req, reply) -> {
            Thread.sleep(2_000);
            reply.json(200, "{}");
        });
        Recorder r = new Recorder();
        send(parts("a", "b"), r);
        assertThat(r.outcome.get(5, TimeUnit.SECONDS)).startsWith("failure TIMEOUT").contains("total timeout");
        alloc.assertAllReleased();
    }

    @Test
    void cancelStopsEveryRequestAndFreesEverything() throws Exception {
        AtomicInteger arrived = new AtomicInteger();
        CountDownLatch bothArrived = new CountDownLatch(2);
        mock.on("/v1/item", (req, reply) -> {
            arrived.incrementAndGet();
            bothArrived.countDown();
            Thread.sleep(1_000);
            reply.json(200, "{\"late\":true}");
        });
        Recorder r = new Recorder();
        MultiExchange m = send(parts("a", "b"), r);
        assertThat(bothArrived.await(3, TimeUnit.SECONDS)).isTrue();
        CompletableFuture.runAsync(m::cancel, loop).get();
        Thread.sleep(1_300); // the answers would have come by now
        assertThat(r.outcome).isNotDone(); // a cancelled call reports nothing
        assertThat(CompletableFuture.supplyAsync(m::isDone, loop).get()).isTrue();
        alloc.assertAllReleased();
    }

    @Test
    void atMostSixteenAreInFlight() throws Exception {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        mock.on("/v1/item", (req, reply) -> {
            peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            Thread.sleep(50);
            inFlight.decrementAndGet();
            reply.json(200, req.body());
        });
        String[] items = new String[40];
        for (int i = 0; i < items.length; i++) items[i] = String.valueOf(i);
        Recorder r = new Recorder();
        send(parts(items), r);
        assertThat(r.outcome.get(10, TimeUnit.SECONDS)).isEqualTo("200 [" + String.join(",", items) + "]");
        assertThat(peak.get()).isBetween(2, MultiExchange.MAX_IN_FLIGHT);
        alloc.assertAllReleased();
    }
}
