package dev.skiff.provider;

import dev.skiff.dialect.BadRequestException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** OpenAI embeddings for a provider with its own embeddings API; the counterpart of {@link ChatAdapter}. */
public interface EmbeddingsAdapter {
    /** Reads the client's OpenAI embeddings body (not consumed) and writes the provider's request. */
    ChatAdapter.Upstream prepare(ChatAdapter.Call call, ByteBuf openAiBody, ByteBufAllocator alloc) throws BadRequestException;
}
