package dev.skiff;

import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Ids;
import dev.skiff.dialect.RequestScan;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * First uses that cost tens of milliseconds each, made on a thread of their own while start-up goes
 * on, so that neither start-up's main thread nor the first request waits for them. Each one only
 * initialises classes and JDK caches: nothing here is state Skiff reads.
 */
final class WarmUp {
    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final byte[] CHAT = """
            {"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},\
            "max_tokens":1,"user":"u"}""".getBytes(StandardCharsets.UTF_8);

    private WarmUp() {}

    /**
     * Starts the warm-up once per process (Main calls it first thing; Skiff.start again, for embedders);
     * returns whether this call started it.
     */
    static boolean start() {
        if (!STARTED.compareAndSet(false, true)) return false;
        Thread.ofPlatform().name("skiff-warm").daemon(true).start(WarmUp::run);
        return true;
    }

    static void run() {
        // java.util.logging's set-up looks for a logging back-end through every jar of the class path
        // (20-25 ms at start-up): the first Logger, Skiff's or Netty's, would otherwise pay it on the main thread.
        java.util.logging.Logger.getLogger(WarmUp.class.getName());
        // The request-id generator loads the security providers and seeds itself (15-35 ms).
        Ids.warmUp();
        // Jackson's parser classes initialise BigInteger and BigDecimal constants (~20 ms): the first
        // request's body scan paid it on an event loop.
        try {
            RequestScan.of(Unpooled.wrappedBuffer(CHAT));
        } catch (BadRequestException e) {
            throw new IllegalStateException("the warm-up's own request does not scan", e);
        }
        // A record's hashCode and equals are linked at their first call (method handles spun at run
        // time, not kept in the AOT cache): the first request's metrics keys paid ~8 ms for it.
        dev.skiff.observe.metrics.Metrics.warmUp();
    }
}
