package dev.skiff.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponse;

/**
 * Receives one upstream response as it arrives, on the event loop of the client connection. Exactly
 * one of {@link #onEnd()} or {@link #onFailure} ends every exchange that was not cancelled.
 */
public interface ExchangeListener {
    void onHead(HttpResponse head);

    /** A piece of the body; the listener owns it and must release or pass it on. */
    void onContent(ByteBuf content);

    void onEnd();

    /**
     * The upstream connection's current read is done: what {@link #onContent} received since the
     * last call is all that socket read brought. A relaying listener writes each piece without a
     * flush and flushes here, so one upstream read leaves as one write to the client however many
     * HTTP chunks or events it carried. Not called after {@link #onEnd} or {@link #onFailure}.
     */
    default void onReadComplete() {}

    void onFailure(UpstreamFailure failure);

    /**
     * For a streamed request body ({@link UpstreamClient#sendStreamed}): the head is sent and the
     * connection can take body pieces ({@code true}), or its buffer is full and the sender should
     * wait for the next {@code true}. Called again after a retry on a fresh connection.
     */
    default void onSendable(boolean writable) {}

    /** A connection was taken for the request, just before it is written: a new one, or one reused from the pool. */
    default void onConnected(boolean reused) {}
}
