package dev.skiff.provider.anthropic;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.provider.TranslatedResponses;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * OpenAI chat in front of Anthropic's Messages API: the client's request is read into the internal
 * representation and written as a Messages request; the answer comes back the same way.
 */
public final class AnthropicChatAdapter implements ChatAdapter {
    private static final String ANTHROPIC_BETA = "anthropic-beta";

    public static final AnthropicChatAdapter INSTANCE = new AnthropicChatAdapter();

    private AnthropicChatAdapter() {}

    @Override
    public Upstream prepare(Call call, ChatRequest request, ByteBufAllocator alloc) throws BadRequestException {
        Prepared p = prepare(request, alloc);
        HttpRequest head = ChatAdapter.post(call, "/messages", p.body().readableBytes(), call.stream());
        HttpHeaders h = head.headers();
        String beta = call.clientHeaders().get(ANTHROPIC_BETA); // the client's opt-ins travel with its request
        if (beta != null) h.set(ANTHROPIC_BETA, beta);
        return new Upstream(head, p.body(), responses(call.egress()),
                call.stream() ? new AnthropicStreamTranslator(call.egress().stream()) : null, ChatAdapter.droppedHeaders(p.dropped()));
    }

    /** The upstream body, and what translation had to leave out. */
    public record Prepared(ChatRequest request, ByteBuf body, Dropped dropped) {}

    /** Writes the Anthropic request body. */
    public static Prepared prepare(ChatRequest ir, ByteBufAllocator alloc) {
        Dropped dropped = new Dropped();
        ObjectNode body = AnthropicCodec.renderRequest(ir, dropped);
        if (ir.stream()) body.put("stream", true);
        else body.remove("stream");
        return new Prepared(ir, OpenAiChat.write(body, alloc), dropped);
    }

    /** Translates Anthropic's answer (or error) into OpenAI's shape for the client. */
    public static ResponseTranslator responses(Egress egress) {
        return TranslatedResponses.of(egress, AnthropicCodec::parseResponse, (status, text) -> {
            AnthropicCodec.ErrorInfo e = AnthropicCodec.parseError(status, text);
            return new TranslatedResponses.ProviderError(e.type(), e.message());
        });
    }
}
