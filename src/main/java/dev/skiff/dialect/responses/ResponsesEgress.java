package dev.skiff.dialect.responses;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.function.Consumer;

/**
 * Answers for a client of {@code /v1/responses} served by a translated provider. Every final
 * Responses object, streamed or not, goes to {@code onFinal} once, for the store behind
 * {@code previous_response_id}.
 */
public record ResponsesEgress(ResponseContext ctx, Consumer<ObjectNode> onFinal) implements Egress {
    @Override
    public ClientDialect dialect() {
        return ClientDialect.OPENAI_RESPONSES;
    }

    @Override
    public ByteBuf response(ChatResponse response, ByteBufAllocator alloc) {
        ObjectNode rendered = ResponsesApi.renderResponse(response, ctx);
        onFinal.accept(rendered);
        return OpenAiChat.write(rendered, alloc);
    }

    @Override
    public ChatStreamWriter stream() {
        return new ResponsesStreamWriter(ctx, onFinal);
    }
}
