package dev.skiff.provider;

import dev.skiff.dialect.Usage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Rewrites a provider's stream into the client's dialect (through a
 * {@link dev.skiff.dialect.ChatStreamWriter}) as it arrives, so that nothing waits for the end. The translator owns the provider's framing (SSE,
 * AWS event stream, ...). Lives on one event loop; no synchronization.
 */
public interface StreamTranslator {
    /** Takes ownership of a piece of the upstream body; returns the bytes for the client, or null for none yet. */
    ByteBuf onContent(ByteBuf content, ByteBufAllocator alloc);

    /**
     * The upstream stream ended. Returns the closing bytes for the client: the terminator when the
     * provider finished properly, otherwise an in-band error (a stream cut short is never passed off
     * as a clean finish). Null when there is nothing to add.
     */
    ByteBuf onEnd(ByteBufAllocator alloc);

    /**
     * The exchange failed after the stream started (timeout, connection lost): the in-band error in
     * the client's dialect, written by the stream's own writer so it fits what was sent before.
     */
    ByteBuf onFailure(ByteBufAllocator alloc, String message, String code);

    /** Heap for parsing one event: reserves it and returns its release, or null when none is free now. */
    @FunctionalInterface
    interface EventMemory {
        Runnable tryReserve(ByteBuf event);

        /** No accounting (tests, tools). */
        EventMemory UNACCOUNTED = event -> () -> {};
    }

    /**
     * Events up to this size are parsed without a reservation: their trees are small, and at most one
     * per event loop exists at a time. Larger ones reserve first, and fail the stream if they cannot.
     */
    int RESERVE_ABOVE = 16 << 10;

    /**
     * The largest single event (SSE event, AWS event-stream message) the translator gathers and
     * parses, a larger one failing the stream; and where events above {@link #RESERVE_ABOVE} reserve
     * the heap their tree takes. Set before the first content.
     */
    void limitEvents(int maxBytes, EventMemory memory);

    /** Releases what the translator holds when the exchange is abandoned. */
    default void release() {}

    Usage usage();

    /**
     * Whether what this translator returned so far holds the client's terminal event: the finish
     * (with its usage), or an in-band error. Nothing after it is part of the answer; the call settles
     * its limits before that event reaches the client.
     */
    default boolean ended() {
        return false;
    }

    /** An error message when the stream failed in-band (provider error event, or cut short); else null. */
    String error();

    /** The model the provider's events named (for traces and the audit log), or null when none did yet. */
    default String model() {
        return null;
    }
}
