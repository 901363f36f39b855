package dev.skiff.upstream;

import io.netty.channel.Channel;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Idle keep-alive connections to one provider, kept per event loop: a connection is only ever used
 * by the loop it was opened on, so no lock is taken and no task hops threads.
 */
final class ConnectionPool {
    /** Connections idle longer than this are closed rather than reused: servers drop them around 60 s. */
    private static final long MAX_IDLE_NANOS = TimeUnit.SECONDS.toNanos(50);
    private static final int MAX_IDLE_PER_LOOP = 512;

    private record Idle(Channel channel, long since) {}

    // figures for /metrics, counted without a lock: connections opened, requests sent on a reused one, idle now
    final java.util.concurrent.atomic.LongAdder opened = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder reused = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder idleNow = new java.util.concurrent.atomic.LongAdder();

    private final FastThreadLocal<ArrayDeque<Idle>> idle = new FastThreadLocal<>() {
        @Override
        protected ArrayDeque<Idle> initialValue() {
            return new ArrayDeque<>();
        }
    };

    /** An open idle connection of the calling loop, most recently used first; null when none. */
    Channel poll() {
        ArrayDeque<Idle> q = idle.get();
        long now = System.nanoTime();
        Idle i;
        while ((i = q.pollLast()) != null) {
            idleNow.decrement();
            if (i.channel.isActive() && now - i.since < MAX_IDLE_NANOS) {
                reused.increment();
                return i.channel;
            }
            i.channel.close();
        }
        return null;
    }

    /** Returns a connection whose last exchange completed cleanly. Called on the channel's loop. */
    void offer(Channel ch) {
        ArrayDeque<Idle> q = idle.get();
        if (q.size() >= MAX_IDLE_PER_LOOP || !ch.isActive()) {
            ch.close();
            return;
        }
        q.addLast(new Idle(ch, System.nanoTime()));
        idleNow.increment();
    }

    /** Forgets a connection that closed while idle. */
    void remove(Channel ch) {
        if (idle.get().removeIf(i -> i.channel == ch)) idleNow.decrement();
    }
}
