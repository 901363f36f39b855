package dev.skiff.server;

import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The heap that translation may use at once. A translated request (or answer) is read into Jackson
 * trees and the internal representation, which cost several times its bytes: without admission, a
 * few large bodies at once exhaust a small heap and the JVM exits. Each one reserves its estimated
 * cost here before it is parsed and gives it back once written; what could never fit is refused,
 * what does not fit now waits a little, in order of arrival, and is then refused as busy.
 *
 * <p>Same-dialect and passthrough bodies are forwarded as bytes and never come here. Thread-safe:
 * every event loop shares one budget; a wait is a scheduled task, never a blocked thread.
 */
final class TranslationBudget {
    /**
     * Heap per body byte at the peak of parsing (measured: a 4 MB JSON string needs ~28 MB of heap to
     * be read into a tree: Jackson's char buffers, their joined copy, the final string).
     */
    static final long COST_PER_BYTE = 5;
    /** Heap per JSON token (measured: ~57 bytes per token in the tree, ~10 more in the representation). */
    static final long COST_PER_TOKEN = 100;
    /** How long a request that does not fit now waits for others to finish. */
    static final long DEFAULT_WAIT_MILLIS = 2000;

    private final long capacity;
    private final long waitMillis;
    private long inUse; // guarded by this
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>(); // guarded by this

    TranslationBudget(long capacity) {
        this(capacity, DEFAULT_WAIT_MILLIS);
    }

    TranslationBudget(long capacity, long waitMillis) {
        if (capacity <= 0) throw new IllegalArgumentException("capacity must be positive");
        this.capacity = capacity;
        this.waitMillis = waitMillis;
    }

    /** The default: half of the maximum heap, the rest being Skiff's own live set and the collector's headroom. */
    static long defaultCapacity() {
        return Runtime.getRuntime().maxMemory() / 2;
    }

    static long estimate(long bytes, long tokens) {
        return bytes * COST_PER_BYTE + tokens * COST_PER_TOKEN;
    }

    long capacity() {
        return capacity;
    }

    synchronized long inUse() {
        return inUse;
    }

    /** Whether {@code bytes} could ever be granted, even with nothing else in flight. */
    boolean couldFit(long bytes) {
        return bytes <= capacity;
    }

    /** Memory reserved until released; releasing twice is harmless. */
    final class Reservation implements Runnable {
        private final long bytes;
        private boolean released; // guarded by the budget

        private Reservation(long bytes) {
            this.bytes = bytes;
        }

        long bytes() {
            return bytes;
        }

        void release() {
            List<Waiter> granted;
            synchronized (TranslationBudget.this) {
                if (released) return;
                released = true;
                inUse -= bytes;
                granted = grantWaiting();
            }
            notifyGranted(granted);
        }

        @Override
        public void run() {
            release();
        }
    }

    /** A pending request for memory; cancel it when its requester leaves. */
    final class Waiter implements Runnable {
        private final long bytes;
        private final EventExecutor loop;
        private final Consumer<Reservation> granted;
        private final Runnable timedOut;
        private Reservation reservation; // set when granted
        private boolean done; // granted, timed out or cancelled; guarded by the budget

        private Waiter(long bytes, EventExecutor loop, Consumer<Reservation> granted, Runnable timedOut) {
            this.bytes = bytes;
            this.loop = loop;
            this.granted = granted;
            this.timedOut = timedOut;
        }

        /** Stops waiting (the requester left); a reservation granted already is released. */
        @Override
        public void run() {
            List<Waiter> others;
            Reservation toRelease = null;
            synchronized (TranslationBudget.this) {
                if (done) {
                    toRelease = reservation;
                } else {
                    done = true;
                    waiters.remove(this);
                }
                others = grantWaiting(); // this one may have held others back
            }
            notifyGranted(others);
            if (toRelease != null) toRelease.release();
        }
    }

    /**
     * Reserves {@code bytes} if they fit now, ahead of any waiting request (this is for work already
     * under way, such as an event of a stream); null if they do not.
     */
    Reservation tryReserve(long bytes) {
        synchronized (this) {
            if (inUse + bytes > capacity) return null;
            inUse += bytes;
            return new Reservation(bytes);
        }
    }

    /**
     * Reserves {@code bytes}: {@code granted} runs on {@code loop} with the reservation, at once when
     * it fits (and no one waits before it), else when enough is released; {@code timedOut} runs on
     * {@code loop} instead after the wait. Returns the waiter, to cancel when the requester leaves.
     * The caller checks {@link #couldFit} first: a request larger than the whole budget would wait in vain.
     */
    Waiter acquire(long bytes, EventExecutor loop, Consumer<Reservation> granted, Runnable timedOut) {
        Waiter w = new Waiter(bytes, loop, granted, timedOut);
        synchronized (this) {
            if (waiters.isEmpty() && inUse + bytes <= capacity) {
                inUse += bytes;
                w.done = true;
                w.reservation = new Reservation(bytes);
            } else {
                waiters.add(w);
            }
        }
        if (w.reservation != null) {
            granted.accept(w.reservation); // the caller is on loop already
            return w;
        }
        loop.schedule(() -> timeOut(w), waitMillis, TimeUnit.MILLISECONDS);
        return w;
    }

    private void timeOut(Waiter w) {
        List<Waiter> others;
        synchronized (this) {
            if (w.done) return;
            w.done = true;
            waiters.remove(w);
            others = grantWaiting();
        }
        notifyGranted(others);
        w.timedOut.run();
    }

    /** Grants waiters in order while the first fits. Called holding the lock. */
    private List<Waiter> grantWaiting() {
        List<Waiter> granted = null;
        Waiter w;
        while ((w = waiters.peek()) != null && inUse + w.bytes <= capacity) {
            waiters.poll();
            inUse += w.bytes;
            w.done = true;
            w.reservation = new Reservation(w.bytes);
            if (granted == null) granted = new ArrayList<>(2);
            granted.add(w);
        }
        return granted;
    }

    private static void notifyGranted(List<Waiter> granted) {
        if (granted == null) return;
        for (Waiter w : granted) w.loop.execute(() -> w.granted.accept(w.reservation));
    }
}
