package dev.skiff.observe;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap all captured bodies may hold at once, in flight and waiting for the audit writer: an
 * eighth of the maximum heap (6 MB at the default 48 MB). Skiff's heap is small by design (bodies
 * live in direct buffers), so the audit log must never be what fills it: a capture that finds the
 * budget spent stops growing and its body is marked truncated, instead of the process running out
 * of memory. Reserved as a capture's array grows; released once its record is written (or dropped).
 */
final class CaptureBudget {
    static final long LIMIT = Math.max(1 << 20, Runtime.getRuntime().maxMemory() / 8);
    private static final AtomicLong HELD = new AtomicLong();

    private CaptureBudget() {}

    static boolean tryReserve(long bytes) {
        if (HELD.addAndGet(bytes) <= LIMIT) return true;
        HELD.addAndGet(-bytes);
        return false;
    }

    static void release(long bytes) {
        if (bytes > 0) HELD.addAndGet(-bytes);
    }

    /** Bytes held now (for tests and metrics). */
    static long held() {
        return HELD.get();
    }
}
