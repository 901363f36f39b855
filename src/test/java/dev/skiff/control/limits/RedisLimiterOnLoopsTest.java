package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.store.TestDatabases;
import io.lettuce.core.resource.Transports;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Redis limiter on event loops it shares with the server (as Skiff runs it): the whole limiter
 * contract holds, and a request's command is answered on the loop that sent it.
 */
class RedisLimiterOnLoopsTest extends LimiterContract {
    final String prefix = "skiff-test-" + UUID.randomUUID() + ":";
    // Lettuce chose its transport for this JVM already (epoll unless told otherwise): loops of the same kind.
    final Class<? extends Channel> channelClass = Transports.socketChannelClass();
    final EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2,
            channelClass == EpollSocketChannel.class ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());

    @Override
    Limiter create(LongSupplier clock) {
        RedisLimiter r = new RedisLimiter(TestDatabases.redisUrl(), prefix, Duration.ofSeconds(2), 600_000, clock, loops, channelClass);
        awaitOnEveryLoop(r);
        return r;
    }

    @AfterEach
    void stopLoops() {
        if (limiter != null) limiter.close(); // before its loops, as Skiff.close does
        limiter = null;
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    static void awaitOnEveryLoop(RedisLimiter r) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (r.placement()[1] < 2) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("connections on " + r.placement()[1] + " of 2 loops (" + r.placement()[0] + " open)");
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void oneConnectionPerLoopAndEachRequestIsAnsweredOnItsOwnLoop() throws Exception {
        RedisLimiter r = (RedisLimiter) limiter();
        assertThat(r.placement()).containsExactly(2, 2);
        Charge c = charge("loop", Metric.REQUESTS, "hour", 1000, 1);
        List<CompletableFuture<Boolean>> sameThread = new ArrayList<>();
        for (EventExecutor loop : loops) {
            for (int i = 0; i < 20; i++) {
                CompletableFuture<Boolean> answeredHere = new CompletableFuture<>();
                loop.execute(() -> r.reserve(List.of(c)).whenComplete((d, e) -> {
                    if (e != null) answeredHere.completeExceptionally(e);
                    else answeredHere.complete(d instanceof Decision.Admitted && loop.inEventLoop());
                }));
                sameThread.add(answeredHere);
            }
        }
        for (CompletableFuture<Boolean> f : sameThread) assertThat(f.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void aReservationMadeOnAnotherLoopRightAfterASettlementWasSentCountsIt() throws Exception {
        RedisLimiter r = (RedisLimiter) limiter();
        List<EventExecutor> two = new ArrayList<>();
        loops.forEach(two::add);
        for (int round = 0; round < 50; round++) {
            Charge c = charge("order-" + round, Metric.TOKENS, "day", 1000, 600);
            Decision first = reserve(c);
            assertThat(first).isInstanceOf(Decision.Admitted.class);
            // Settled at 100 and, without waiting for Redis's answer, 600 more asked, both from one loop (each
            // loop in turn): it fits only if Redis applied the settlement first. Sent from a loop that is not
            // the settlement's connection's, the settlement waits there for a turn while this loop's own
            // connection would send the reservation at once.
            CompletableFuture<Decision> next = new CompletableFuture<>();
            two.get(round % 2).execute(() -> {
                r.settle(((Decision.Admitted) first).ticket(), 100, -1);
                r.reserve(List.of(c)).whenComplete((d, e) -> {
                    if (e != null) next.completeExceptionally(e);
                    else next.complete(d);
                });
            });
            assertThat(next.get(5, TimeUnit.SECONDS)).as("round %d", round).isInstanceOf(Decision.Admitted.class);
        }
    }
}
