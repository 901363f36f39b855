package dev.skiff.upstream;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The deadline timer of one upstream connection, shared by the exchanges it carries one after the
 * other. A timer per exchange was a schedule and a cancel on the event loop for every request; this
 * one stays armed across exchanges and is only ever pulled in: an exchange that needs it by a
 * deadline later than the one it is armed for leaves it be, and when it fires it has the exchange on
 * the connection then check its own deadlines ({@link Exchange#check}), which re-arms it for the next
 * one. Under steady traffic it fires about once per timeout period, not once per request. It fires
 * for nobody while the connection is idle, and is cancelled when the connection closes.
 * Event loop of the connection only.
 */
final class ConnectionTimer implements Runnable {
    private final EventLoop loop;
    private final UpstreamClient.UpstreamHandler handler;
    private ScheduledFuture<?> future;
    private long deadline = Long.MAX_VALUE; // when it fires (System.nanoTime), MAX_VALUE when not armed

    ConnectionTimer(EventLoop loop, UpstreamClient.UpstreamHandler handler) {
        this.loop = loop;
        this.handler = handler;
    }

    /** Makes sure it fires no later than {@code by} (System.nanoTime). */
    void checkBy(long by) {
        if (by >= deadline) return;
        if (future != null) future.cancel(false);
        long delay = Math.max(by - System.nanoTime(), Exchange.MIN_DELAY_NANOS);
        deadline = System.nanoTime() + delay;
        future = loop.schedule(this, delay, TimeUnit.NANOSECONDS);
    }

    /** The connection closed: nothing is left to check. */
    void cancel() {
        if (future != null) future.cancel(false);
        future = null;
        deadline = Long.MAX_VALUE;
    }

    @Override
    public void run() {
        future = null;
        deadline = Long.MAX_VALUE;
        Exchange e = handler.current;
        if (e != null) e.check();
    }
}
