package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.concurrent.DefaultEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TranslationBudgetTest {
    private final EventExecutor loop = new DefaultEventExecutor();
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final List<TranslationBudget.Reservation> held = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    /** Acquires on the loop, as the gateway does, recording what happens. */
    private TranslationBudget.Waiter acquire(TranslationBudget budget, String name, long bytes) throws Exception {
        return loop.submit(() -> budget.acquire(bytes, loop, r -> {
            events.add(name + " granted");
            held.add(r);
        }, () -> events.add(name + " timed out"))).get();
    }

    private void awaitEvents(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (events.size() < n && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(events).hasSizeGreaterThanOrEqualTo(n);
    }

    @Test
    void whatFitsIsGrantedAtOnceAndReleasingGivesItBack() throws Exception {
        TranslationBudget budget = new TranslationBudget(100);
        acquire(budget, "a", 60);
        acquire(budget, "b", 40);
        assertThat(events).containsExactly("a granted", "b granted");
        assertThat(budget.inUse()).isEqualTo(100);
        held.get(0).release();
        held.get(0).release(); // twice is harmless
        assertThat(budget.inUse()).isEqualTo(40);
        held.get(1).release();
        assertThat(budget.inUse()).isZero();
    }

    @Test
    void whatNeverFitsIsToldApart() {
        TranslationBudget budget = new TranslationBudget(100);
        assertThat(budget.couldFit(100)).isTrue();
        assertThat(budget.couldFit(101)).isFalse();
    }

    @Test
    void aWaiterIsGrantedInOrderWhenMemoryIsReleased() throws Exception {
        TranslationBudget budget = new TranslationBudget(100, 5_000);
        acquire(budget, "a", 80);
        acquire(budget, "b", 50);
        acquire(budget, "c", 10); // fits, but waits behind b: first come, first served
        assertThat(events).containsExactly("a granted");
        held.get(0).release();
        awaitEvents(3);
        assertThat(events).containsExactly("a granted", "b granted", "c granted");
        assertThat(budget.inUse()).isEqualTo(60);
    }

    @Test
    void aWaiterGivesUpAfterTheWaitWithoutBlockingItsLoop() throws Exception {
        TranslationBudget budget = new TranslationBudget(100, 200);
        acquire(budget, "a", 100);
        long start = System.nanoTime();
        acquire(budget, "b", 1);
        // The loop stays free while b waits: a task submitted now runs long before the wait ends.
        long ranAfter = loop.submit(() -> System.nanoTime() - start).get();
        assertThat(TimeUnit.NANOSECONDS.toMillis(ranAfter)).isLessThan(150);
        awaitEvents(2);
        assertThat(events).containsExactly("a granted", "b timed out");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(190);
        held.get(0).release();
        assertThat(budget.inUse()).isZero();
    }

    @Test
    void aCancelledWaiterNoLongerHoldsOthersBack() throws Exception {
        TranslationBudget budget = new TranslationBudget(100, 5_000);
        acquire(budget, "a", 50);
        TranslationBudget.Waiter big = acquire(budget, "big", 100);
        acquire(budget, "small", 20); // would fit now, but waits behind big
        assertThat(events).containsExactly("a granted");
        big.run(); // its client left
        awaitEvents(2);
        assertThat(events).containsExactly("a granted", "small granted");
        assertThat(budget.inUse()).isEqualTo(70);
    }

    @Test
    void cancellingAfterTheGrantReleasesTheReservation() throws Exception {
        TranslationBudget budget = new TranslationBudget(100);
        TranslationBudget.Waiter w = acquire(budget, "a", 30);
        assertThat(budget.inUse()).isEqualTo(30);
        w.run();
        assertThat(budget.inUse()).isZero();
    }

    @Test
    void workUnderWayTakesWhatIsFreeNowWithoutWaiting() throws Exception {
        TranslationBudget budget = new TranslationBudget(100, 5_000);
        acquire(budget, "a", 70);
        acquire(budget, "b", 50); // waits
        TranslationBudget.Reservation event = budget.tryReserve(30);
        assertThat(event).as("fits now, ahead of the waiting request").isNotNull();
        assertThat(budget.tryReserve(1)).as("nothing is left").isNull();
        event.release();
        assertThat(budget.inUse()).isEqualTo(70);
    }
}
