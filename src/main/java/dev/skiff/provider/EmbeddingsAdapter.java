package dev.skiff.provider;

import dev.skiff.dialect.BadRequestException;
import dev.skiff.upstream.MultiExchange;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;
import java.util.Map;

/** OpenAI embeddings for a provider with its own embeddings API; the counterpart of {@link ChatAdapter}. */
public interface EmbeddingsAdapter {
    /** Reads the client's OpenAI embeddings body (not consumed) and writes the provider's request. */
    ChatAdapter.Upstream prepare(ChatAdapter.Call call, ByteBuf openAiBody, ByteBufAllocator alloc) throws BadRequestException;

    /**
     * Several upstream requests for one client request, sent at once; their answers reach
     * {@code responses} together, as described in {@link MultiExchange}: a JSON array of the answer
     * bodies in request order, or the first answer that failed.
     *
     * @param headers extra headers for the client's response (for instance dropped fields)
     */
    record FanOut(List<MultiExchange.Part> requests, ResponseTranslator responses, Map<String, String> headers) {}

    /**
     * For a provider that takes fewer inputs per call than OpenAI's clients send: the requests to
     * fan out, used instead of {@link #prepare}. Null (the default) for a provider that takes the whole
     * batch in one request.
     */
    default FanOut prepareFanOut(ChatAdapter.Call call, ByteBuf openAiBody, ByteBufAllocator alloc) throws BadRequestException {
        return null;
    }
}
