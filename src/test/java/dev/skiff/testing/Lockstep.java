package dev.skiff.testing;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Proves that a relay passes each piece of a stream on as it arrives, without timing anything: the
 * upstream sends its next piece only after the client has read the one before. A relay that held a
 * piece back (until the next one, or the end) would leave the upstream waiting until it gives up,
 * and {@link #stalls()} counts each such wait. On a loaded machine this stays exact where a test
 * measuring gaps between arrivals does not.
 */
public final class Lockstep {
    private static final long PATIENCE_SECONDS = 10;
    private final Semaphore seen = new Semaphore(0);
    private final AtomicInteger stalls = new AtomicInteger();

    /** Upstream side, between two pieces: waits until the client has read the piece sent last. */
    public void awaitClient() throws InterruptedException {
        if (!seen.tryAcquire(PATIENCE_SECONDS, TimeUnit.SECONDS)) stalls.incrementAndGet();
    }

    /** Client side: once for each piece read. */
    public void clientRead() {
        seen.release();
    }

    /** How many times the upstream waited in vain: 0 when every piece was relayed as it came. */
    public int stalls() {
        return stalls.get();
    }
}
