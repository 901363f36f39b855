package dev.skiff.dialect.responses;

import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;

/**
 * Answers for a client of {@code /v1/responses} served by a translated provider. Every final
 * Responses object, streamed or not, goes to {@code onFinal} once (null: the client said
 * {@code store:false}), for the store behind {@code previous_response_id}.
 */
public record ResponsesEgress(ResponseContext ctx, Stored onFinal) implements Egress {
    /**
     * Takes a final Responses object as the store keeps it: its JSON text without the members that
     * hold the API's defaults ({@link ResponsesApi#expandStored} gives the whole object back), how
     * many characters of the whole object that leaves out, and the ids of its output items (which
     * the store indexes).
     */
    @FunctionalInterface
    public interface Stored {
        void accept(String json, int omitted, List<String> outputIds);
    }

    @Override
    public ClientDialect dialect() {
        return ClientDialect.OPENAI_RESPONSES;
    }

    @Override
    public ByteBuf response(ChatResponse response, ByteBufAllocator alloc) {
        ByteBuf body = alloc.buffer(1536);
        try {
            ResponsesApi.writeResponse(response, ctx, body, onFinal);
            return body;
        } catch (RuntimeException e) {
            body.release();
            throw e;
        }
    }

    @Override
    public ChatStreamWriter stream() {
        return new ResponsesStreamWriter(ctx, onFinal);
    }
}
