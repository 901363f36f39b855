package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Watches a same-dialect event stream on its way to the client, event by event: takes the usage out
 * of it, notes whether the dialect's terminal event went by, and may hide what Skiff itself added
 * upstream.
 */
public interface StreamRelay {
    /** Takes ownership of one whole SSE event; returns what to send (usually the same buffer), or null to drop it. */
    ByteBuf filter(ByteBuf event, ByteBufAllocator alloc);

    /** Usage seen so far, or {@link Usage#NONE}. */
    Usage usage();

    /**
     * Whether the stream's terminal event went by. A stream whose connection ends without it was cut
     * short, however cleanly the HTTP response itself ended.
     */
    boolean complete();

    /** Whether the provider ended the stream with an error of its own (an error event), for the usage log. */
    default boolean endedInError() {
        return false;
    }
}
