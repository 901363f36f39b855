package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Watches a same-dialect event stream on its way to the client, event by event: takes the usage out
 * of it and may hide what Skiff itself added upstream.
 */
public interface StreamRelay {
    /** Takes ownership of one whole SSE event; returns what to send (usually the same buffer), or null to drop it. */
    ByteBuf filter(ByteBuf event, ByteBufAllocator alloc);

    /** Usage seen so far, or {@link Usage#NONE}. */
    Usage usage();
}
