package dev.skiff.dialect;

import dev.skiff.dialect.ir.ChatResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The client's side of a translated exchange: how an answer in the internal representation goes back
 * in the dialect the client spoke. The gateway makes one per request from the client's request;
 * provider adapters use it without knowing which dialect it is, so no translator exists per pair of
 * dialects.
 */
public interface Egress {
    ClientDialect dialect();

    /** A complete (non-streamed) answer, as the body of a 200 response. */
    ByteBuf response(ChatResponse response, ByteBufAllocator alloc);

    /** A fresh writer for a streamed answer. */
    ChatStreamWriter stream();
}
