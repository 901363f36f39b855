package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What every limiter must do, on a clock the test moves by hand. */
abstract class LimiterContract {
    /** 2026-03-10 12:00:00 UTC, a minute boundary. */
    static final long T0 = 1_773_144_000_000L;

    final AtomicLong clock = new AtomicLong(T0);
    Limiter limiter;

    abstract Limiter create(LongSupplier clock);

    /**
     * Made once, even when the first calls race: the racing-threads tests call this from eight threads
     * at once, and an unguarded lazy start gave a thread a limiter of its own for its first request (a
     * 1001st admission, seen once in a full run).
     */
    synchronized Limiter limiter() {
        if (limiter == null) limiter = create(clock::get);
        return limiter;
    }

    @AfterEach
    void closeLimiter() {
        if (limiter != null) limiter.close();
    }

    static LimitPolicy policy(String id, Metric metric, String window, long limit) {
        return new LimitPolicy(id, new Scope.Key("k1"), metric, Window.parse(window), limit, -1);
    }

    static Charge charge(String counter, Metric metric, String window, long limit, long amount) {
        return new Charge(counter, policy(counter, metric, window, limit), amount);
    }

    Decision reserve(Charge... charges) {
        return limiter().reserve(List.of(charges)).toCompletableFuture().join();
    }

    void settle(Decision d, long tokens, long cost) {
        limiter().settle(((Decision.Admitted) d).ticket(), tokens, cost).toCompletableFuture().join();
    }

    @Test
    void aCalendarMinuteAdmitsItsLimitThenRefusesUntilTheNextMinute() {
        Charge c = charge("a", Metric.REQUESTS, "minute", 3, 1);
        clock.set(T0 + 20_000);
        for (int i = 0; i < 3; i++) {
            Decision d = reserve(c);
            assertThat(d).isInstanceOf(Decision.Admitted.class);
            Counter counter = ((Decision.Admitted) d).counters().getFirst();
            assertThat(counter.used()).isEqualTo(i + 1);
            assertThat(counter.remaining()).isEqualTo(2 - i);
            assertThat(counter.resetAtMs()).isEqualTo(T0 + 60_000);
        }
        Decision refused = reserve(c);
        assertThat(refused).isInstanceOf(Decision.Refused.class);
        assertThat(((Decision.Refused) refused).retryAfterMs()).isEqualTo(40_000);
        assertThat(((Decision.Refused) refused).refused().used()).isEqualTo(3);
        clock.set(T0 + 60_000);
        assertThat(reserve(c)).isInstanceOf(Decision.Admitted.class);
    }

    @Test
    void aMonthRunsFromTheFirstOfTheMonthUtc() {
        Charge c = charge("m", Metric.REQUESTS, "month", 1, 1);
        assertThat(reserve(c)).isInstanceOf(Decision.Admitted.class);
        Decision refused = reserve(c);
        // 2026-04-01T00:00Z is 21 days and 12 hours after T0
        assertThat(((Decision.Refused) refused).retryAfterMs()).isEqualTo((21L * 24 + 12) * 3_600_000L);
        clock.set(T0 + (21L * 24 + 12) * 3_600_000L);
        assertThat(reserve(c)).isInstanceOf(Decision.Admitted.class);
    }

    @Test
    void aRequestIsCountedOnEveryCounterOrOnNone() {
        Charge wide = charge("wide", Metric.REQUESTS, "day", 5, 1);
        Charge narrow = charge("narrow", Metric.REQUESTS, "day", 1, 1);
        assertThat(reserve(wide, narrow)).isInstanceOf(Decision.Admitted.class);
        Decision refused = reserve(wide, narrow);
        assertThat(refused).isInstanceOf(Decision.Refused.class);
        assertThat(((Decision.Refused) refused).refused().charge().counter()).isEqualTo("narrow");
        // the refused request took nothing from the wide counter: four more fit there
        for (int i = 0; i < 4; i++) assertThat(reserve(wide)).isInstanceOf(Decision.Admitted.class);
        assertThat(reserve(wide)).isInstanceOf(Decision.Refused.class);
    }

    @Test
    void aRollingWindowForgetsBucketsOnceOlderThanTheWindow() {
        Charge c = charge("r", Metric.REQUESTS, "rolling:60", 2, 1);
        assertThat(reserve(c)).isInstanceOf(Decision.Admitted.class);
        clock.set(T0 + 30_000);
        assertThat(reserve(c)).isInstanceOf(Decision.Admitted.class);
        clock.set(T0 + 45_500);
        Decision refused = reserve(c);
        assertThat(refused).isInstanceOf(Decision.Refused.class);
        // the first request's bucket (T0 .. T0+1s) leaves the window at T0+60s
        assertThat(((Decision.Refused) refused).retryAfterMs()).isEqualTo(60_000 - 45_500);
        clock.set(T0 + 59_999);
        assertThat(reserve(c)).isInstanceOf(Decision.Refused.class);
        clock.set(T0 + 60_000);
        assertThat(reserve(c)).isInstanceOf(Decision.Admitted.class);
        clock.set(T0 + 89_999);
        assertThat(reserve(c)).isInstanceOf(Decision.Refused.class);
    }

    @Test
    void settlingReplacesTheEstimateWithTheRealAmount() {
        Charge tokens = charge("t", Metric.TOKENS, "day", 1000, 600);
        Decision first = reserve(tokens);
        assertThat(reserve(tokens)).isInstanceOf(Decision.Refused.class); // 600 + 600 > 1000
        settle(first, 100, -1);
        Decision second = reserve(tokens.withAmount(800));
        assertThat(second).isInstanceOf(Decision.Admitted.class);
        assertThat(((Decision.Admitted) second).counters().getFirst().used()).isEqualTo(900);
        settle(second, -1, -1); // usage unknown: the estimate stays
        Decision third = reserve(tokens.withAmount(101));
        assertThat(third).isInstanceOf(Decision.Refused.class);
        assertThat(((Decision.Refused) third).refused().used()).isEqualTo(900);
        assertThat(reserve(tokens.withAmount(100))).isInstanceOf(Decision.Admitted.class);
    }

    @Test
    void settlingMayGoPastTheLimitAndThenNothingMoreIsAdmitted() {
        Charge cost = charge("c", Metric.COST, "day", 1_000_000, 200_000);
        Decision d = reserve(cost);
        settle(d, -1, 1_500_000);
        Decision refused = reserve(cost.withAmount(0));
        assertThat(refused).isInstanceOf(Decision.Refused.class);
        assertThat(((Decision.Refused) refused).refused().used()).isEqualTo(1_500_000);
    }

    @Test
    void aSettlementAfterItsPeriodEndedLeavesTheNewPeriodAlone() {
        Charge tokens = charge("p", Metric.TOKENS, "minute", 1000, 500);
        Decision d = reserve(tokens);
        clock.set(T0 + 61_000);
        settle(d, 900, -1);
        Decision next = reserve(tokens.withAmount(1000));
        assertThat(next).isInstanceOf(Decision.Admitted.class);
        assertThat(((Decision.Admitted) next).counters().getFirst().used()).isEqualTo(1000);
    }

    @Test
    void aSettlementInARollingWindowCorrectsTheBucketItWasCountedIn() {
        Charge tokens = charge("rt", Metric.TOKENS, "rolling:60", 1000, 700);
        Decision d = reserve(tokens);
        clock.set(T0 + 10_000);
        settle(d, 200, -1);
        assertThat(((Decision.Admitted) reserve(tokens.withAmount(800))).counters().getFirst().used()).isEqualTo(1000);
        clock.set(T0 + 60_000); // the first bucket (200) left the window
        Decision later = reserve(tokens.withAmount(200));
        assertThat(later).isInstanceOf(Decision.Admitted.class);
        assertThat(((Decision.Admitted) later).counters().getFirst().used()).isEqualTo(1000);
    }

    @Test
    void concurrencyIsGivenBackWhenTheCallEnds() {
        Charge c = charge("k", Metric.CONCURRENT, "none", 2, 1);
        Charge day = charge("kd", Metric.REQUESTS, "day", 100, 1);
        Decision a = reserve(c, day);
        Decision b = reserve(c, day);
        assertThat(a).isInstanceOf(Decision.Admitted.class);
        assertThat(b).isInstanceOf(Decision.Admitted.class);
        Decision refused = reserve(c, day);
        assertThat(refused).isInstanceOf(Decision.Refused.class);
        assertThat(((Decision.Refused) refused).refused().charge().policy().refusalCode()).isEqualTo("concurrency_limit_exceeded");
        settle(a, -1, -1);
        Decision c2 = reserve(c, day);
        assertThat(c2).isInstanceOf(Decision.Admitted.class);
        assertThat(((Decision.Admitted) c2).counters().get(1).used()).isEqualTo(3); // requests are not given back
    }

    @Test
    void anAmountLargerThanTheLimitNeverFits() {
        Charge c = charge("big", Metric.TOKENS, "rolling:60", 100, 101);
        Decision d = reserve(c);
        assertThat(d).isInstanceOf(Decision.Refused.class);
        assertThat(((Decision.Refused) d).retryAfterMs()).isEqualTo(60_000);
    }

    @Test
    void noChargesAdmitsAtOnce() {
        assertThat(reserve()).isSameAs(Decision.NONE);
    }
}
