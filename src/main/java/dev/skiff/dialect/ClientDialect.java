package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * The API a client spoke, which decides the shape of every error it gets: OpenAI's envelope on the
 * OpenAI endpoints, Anthropic's on {@code /v1/messages} (conformance 32, 33).
 */
public enum ClientDialect {
    OPENAI_CHAT, OPENAI_RESPONSES, ANTHROPIC_MESSAGES;

    /** The body of an error response. {@code code} may be null; Anthropic's shape has no place for it or {@code param}. */
    public ByteBuf errorBody(ByteBufAllocator alloc, int status, String message, String param, String code) {
        if (this == ANTHROPIC_MESSAGES) return AnthropicErrors.body(alloc, AnthropicErrors.typeFor(status), message);
        return OpenAiErrors.envelope(alloc, message, OpenAiErrors.typeFor(status), param, code);
    }

    /** An in-band error event for a stream that already started, outside any writer's state (relayed streams). */
    public ByteBuf streamError(ByteBufAllocator alloc, String message, String code) {
        ByteBuf out = alloc.buffer(256);
        switch (this) {
            case OPENAI_CHAT -> {
                out.writeCharSequence("data: ", StandardCharsets.US_ASCII);
                ByteBuf e = OpenAiErrors.envelope(alloc, message, "server_error", null, code);
                out.writeBytes(e);
                e.release();
            }
            case OPENAI_RESPONSES -> {
                out.writeCharSequence("event: error\ndata: ", StandardCharsets.US_ASCII);
                ByteBuf e = Json.write(alloc, g -> {
                    g.writeStartObject();
                    g.writeStringField("type", "error");
                    g.writeStringField("code", code);
                    g.writeStringField("message", message);
                    g.writeNullField("param");
                    g.writeEndObject();
                });
                out.writeBytes(e);
                e.release();
            }
            case ANTHROPIC_MESSAGES -> {
                out.writeCharSequence("event: error\ndata: ", StandardCharsets.US_ASCII);
                ByteBuf e = AnthropicErrors.body(alloc, "api_error", message);
                out.writeBytes(e);
                e.release();
            }
        }
        out.writeCharSequence("\n\n", StandardCharsets.US_ASCII);
        return out;
    }
}
