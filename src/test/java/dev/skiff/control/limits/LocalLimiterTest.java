package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

class LocalLimiterTest extends LimiterContract {
    @Override
    Limiter create(LongSupplier clock) {
        return new LocalLimiter(clock);
    }

    @Test
    void threadsRacingForTheLastRequestsAdmitExactlyTheLimit() throws Exception {
        Charge shared = charge("shared", Metric.REQUESTS, "day", 1000, 1);
        AtomicInteger admitted = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Charge own = charge("own" + t, Metric.REQUESTS, "day", 1_000_000, 1);
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 500; i++) {
                    if (reserve(own, shared) instanceof Decision.Admitted) admitted.incrementAndGet();
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) t.join();
        assertThat(admitted.get()).isEqualTo(1000);
    }

    @Test
    void countersOfWindowsThatEndedAreForgotten() {
        for (int i = 0; i < 2000; i++) reserve(charge("user" + i, Metric.REQUESTS, "minute", 10, 1));
        assertThat(((LocalLimiter) limiter()).size()).isEqualTo(2000);
        clock.addAndGet(120_000);
        for (int i = 0; i < 2000; i++) reserve(charge("later" + (i % 10), Metric.REQUESTS, "minute", 1_000_000, 1));
        assertThat(((LocalLimiter) limiter()).size()).isLessThan(100);
        // what is still counted survives the sweeps
        Decision d = reserve(charge("later0", Metric.REQUESTS, "minute", 1_000_000, 1));
        assertThat(((Decision.Admitted) d).counters().getFirst().used()).isEqualTo(201);
    }

    @Test
    void idleConcurrencyCountersAndEndedWindowsAreForgottenWhileOthersLive() {
        LocalLimiter l = (LocalLimiter) limiter();
        // live daily counters alone: nothing to forget, and no walk over them (the floor is the day's end)
        for (int i = 0; i < 500; i++) reserve(charge("day" + i, Metric.REQUESTS, "day", 10, 1));
        // concurrency counters back to 0 once settled
        for (int i = 0; i < 500; i++) settle(reserve(charge("conc" + i, Metric.CONCURRENT, "none", 5, 1)), 0, 0);
        for (int i = 0; i < 3000; i++) reserve(charge("day0", Metric.REQUESTS, "day", 1_000_000, 1));
        assertThat(l.size()).isEqualTo(500); // the idle concurrency counters went, the days' stay
        // a minute counter made after the walks: forgotten once its minute is over, though the days live on
        reserve(charge("minute", Metric.REQUESTS, "minute", 10, 1));
        clock.addAndGet(120_000);
        for (int i = 0; i < 3000; i++) reserve(charge("day0", Metric.REQUESTS, "day", 1_000_000, 1));
        assertThat(l.size()).isEqualTo(500);
        assertThat(((Decision.Admitted) reserve(charge("day1", Metric.REQUESTS, "day", 10, 1))).counters().getFirst().used()).isEqualTo(2);
    }
}
