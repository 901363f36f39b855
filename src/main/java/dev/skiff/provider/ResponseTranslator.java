package dev.skiff.provider;

import dev.skiff.dialect.Usage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Turns a complete upstream response into what the client's dialect expects, when the provider
 * speaks another one. The same-dialect path has none and forwards bytes.
 */
public interface ResponseTranslator {
    /**
     * @param status the status for the client (the upstream's, unless translation itself failed)
     * @param model  the model the provider's answer named (for traces and the audit log), or null
     */
    record Result(int status, ByteBuf body, Usage usage, String error, String model) {
        /** A result that names no model (errors, token counts, embeddings). */
        public Result(int status, ByteBuf body, Usage usage, String error) {
            this(status, body, usage, error, null);
        }
    }

    /** Consumes {@code body}. */
    Result translate(int status, ByteBuf body, ByteBufAllocator alloc);
}
