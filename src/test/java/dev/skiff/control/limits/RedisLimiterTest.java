package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.store.TestDatabases;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** Against the real Redis of this machine (db 15), each test under its own key prefix. */
class RedisLimiterTest extends LimiterContract {
    final String prefix = "skiff-test-" + UUID.randomUUID() + ":";

    @Override
    Limiter create(LongSupplier clock) {
        RedisLimiter r = new RedisLimiter(TestDatabases.redisUrl(), prefix, Duration.ofSeconds(2), 600_000, clock);
        awaitConnected(r);
        return r;
    }

    static void awaitConnected(RedisLimiter r) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!r.connected()) {
            if (System.nanoTime() > deadline) throw new AssertionError("no connection to Redis at " + TestDatabases.redisUrl());
            Thread.onSpinWait();
        }
    }

    @Test
    void twoLimitersOnOneRedisShareTheirCounters() {
        Charge c = charge("shared", Metric.REQUESTS, "hour", 2, 1);
        try (RedisLimiter other = new RedisLimiter(TestDatabases.redisUrl(), prefix, Duration.ofSeconds(2), 600_000, clock::get)) {
            awaitConnected(other);
            assertThat(reserve(c)).isInstanceOf(Decision.Admitted.class);
            assertThat(other.reserve(List.of(c)).toCompletableFuture().join()).isInstanceOf(Decision.Admitted.class);
            assertThat(reserve(c)).isInstanceOf(Decision.Refused.class);
        }
    }

    @Test
    void aReplicaThatDiesMidRequestHoldsItsConcurrencySlotOnlyUntilTheLeaseEnds() {
        Charge c = charge("lease", Metric.CONCURRENT, "none", 1, 1);
        try (RedisLimiter dying = new RedisLimiter(TestDatabases.redisUrl(), prefix, Duration.ofSeconds(2), 30_000, clock::get)) {
            awaitConnected(dying);
            assertThat(dying.reserve(List.of(c)).toCompletableFuture().join()).isInstanceOf(Decision.Admitted.class);
        } // never settled
        assertThat(reserve(c)).isInstanceOf(Decision.Refused.class);
        clock.addAndGet(30_001);
        assertThat(reserve(c)).isInstanceOf(Decision.Admitted.class);
    }

    @Test
    void anUnreachableRedisIsUnavailableAtOnce() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        } // closed: nothing listens there
        try (RedisLimiter down = new RedisLimiter("redis://127.0.0.1:" + port, prefix, Duration.ofSeconds(2), 600_000, clock::get)) {
            Decision d = down.reserve(List.of(charge("x", Metric.REQUESTS, "minute", 5, 1))).toCompletableFuture().join();
            assertThat(d).isInstanceOf(Decision.Unavailable.class);
            assertThat(((Decision.Unavailable) d).reason()).contains("Redis");
        }
    }
}
