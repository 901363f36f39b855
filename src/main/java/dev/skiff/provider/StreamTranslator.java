package dev.skiff.provider;

import dev.skiff.dialect.Usage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Rewrites a provider's event stream into the client's dialect, one upstream event at a time, so
 * that what arrives is relayed at once. Lives on one event loop; no synchronization.
 */
public interface StreamTranslator {
    /** Takes ownership of one whole upstream event; returns the bytes for the client, or null for none. */
    ByteBuf onEvent(ByteBuf event, ByteBufAllocator alloc);

    /**
     * The upstream stream ended. Returns the closing bytes for the client: the terminator when the
     * provider finished properly, otherwise an in-band error (a stream cut short is never passed off
     * as a clean finish). Null when there is nothing to add.
     */
    ByteBuf onEnd(ByteBufAllocator alloc);

    Usage usage();

    /** An error message when the stream failed in-band (provider error event, or cut short); else null. */
    String error();
}
