package dev.skiff.provider.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.provider.TranslatedResponses;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.util.Map;

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
        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, call.provider().path("/messages", call.upstreamModel()));
        HttpHeaders h = head.headers();
        call.provider().applyHeaders(h);
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, p.body().readableBytes())
                .set(HttpHeaderNames.ACCEPT, call.stream() ? HttpHeaderValues.TEXT_EVENT_STREAM : HttpHeaderValues.APPLICATION_JSON)
                .set("x-request-id", call.requestId());
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
