package dev.skiff.provider.anthropic;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.provider.SignedCallIds;
import dev.skiff.provider.TranslatedResponses;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;

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
                call.stream() ? new AnthropicStreamTranslator(call.egress().stream(), carriesReasoningInIds(call.egress())) : null,
                ChatAdapter.droppedHeaders(p.dropped()));
    }

    /**
     * Chat clients get the thinking that precedes tool calls inside the calls' ids too, since many
     * send back ids but not {@code reasoning_content} / {@code reasoning_signature}, and without it
     * the next turn (thinking on) is refused. Messages and Responses clients carry thinking in blocks
     * and reasoning items of their own.
     */
    static boolean carriesReasoningInIds(Egress egress) {
        return egress.dialect() == ClientDialect.OPENAI_CHAT;
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
        TranslatedResponses.Parser parser = !carriesReasoningInIds(egress) ? AnthropicCodec::parseResponse : body -> {
            ChatResponse r = AnthropicCodec.parseResponse(body);
            return new ChatResponse(r.id(), r.model(), SignedCallIds.carryInCallIds(r.content(), SignedCallIds.Origin.ANTHROPIC),
                    r.finishReason(), r.rawFinishReason(), r.usage());
        };
        return TranslatedResponses.of(egress, parser, (status, text) -> {
            AnthropicCodec.ErrorInfo e = AnthropicCodec.parseError(status, text);
            return new TranslatedResponses.ProviderError(e.type(), e.message());
        });
    }
}
