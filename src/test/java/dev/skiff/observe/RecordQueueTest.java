package dev.skiff.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecordQueueTest {
    @Test
    void refusesBeyondItsCapacityAndDrainsInOrder() {
        RecordQueue<Integer> q = new RecordQueue<>(3);
        assertThat(q.offer(1)).isTrue();
        assertThat(q.offer(2)).isTrue();
        assertThat(q.offer(3)).isTrue();
        assertThat(q.offer(4)).as("full").isFalse();
        List<Integer> out = new ArrayList<>();
        assertThat(q.drainTo(out, 2)).isEqualTo(2);
        assertThat(q.offer(5)).as("room again after a drain").isTrue();
        assertThat(q.drainTo(out, 10)).isEqualTo(2);
        assertThat(out).containsExactly(1, 2, 3, 5);
        assertThat(q.isEmpty()).isTrue();
    }

    @Test
    void aSleepingConsumerIsWokenByTheFirstOffer() throws Exception {
        RecordQueue<String> q = new RecordQueue<>(10);
        List<String> got = new ArrayList<>();
        Thread consumer = Thread.ofPlatform().start(() -> {
            q.await(60_000_000_000L); // a minute: only an offer ends it early
            q.drainTo(got, 10);
        });
        while (consumer.getState() != Thread.State.TIMED_WAITING) Thread.onSpinWait();
        q.offer("first");
        consumer.join(30_000);
        assertThat(consumer.isAlive()).as("woken by the offer, not by its minute running out").isFalse();
        assertThat(got).containsExactly("first");
    }

    @Test
    void anItemOfferedBeforeTheConsumerSleepsIsNotMissed() {
        RecordQueue<String> q = new RecordQueue<>(10);
        q.offer("early");
        q.await(60_000_000_000L); // returns at once: something is queued
        assertThat(q.isEmpty()).isFalse();
    }
}
