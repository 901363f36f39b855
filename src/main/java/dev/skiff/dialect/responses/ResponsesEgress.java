package dev.skiff.dialect.responses;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.function.BiConsumer;

/**
 * Answers for a client of {@code /v1/responses} served by a translated provider. Every final
 * Responses object, streamed or not, goes to {@code onFinal} once, for the store behind
 * {@code previous_response_id}: with its JSON text when that was written already (a complete
 * answer, whose body it is), else with null.
 */
public record ResponsesEgress(ResponseContext ctx, BiConsumer<ObjectNode, String> onFinal) implements Egress {
    @Override
    public ClientDialect dialect() {
        return ClientDialect.OPENAI_RESPONSES;
    }

    @Override
    public ByteBuf response(ChatResponse response, ByteBufAllocator alloc) {
        ObjectNode rendered = ResponsesApi.renderResponse(response, ctx);
        ByteBuf body = OpenAiChat.write(rendered, alloc);
        // The store gets the body's own text: decoding it costs a fraction of writing the tree again.
        onFinal.accept(rendered, body.toString(StandardCharsets.UTF_8));
        return body;
    }

    @Override
    public ChatStreamWriter stream() {
        return new ResponsesStreamWriter(ctx, onFinal);
    }
}
