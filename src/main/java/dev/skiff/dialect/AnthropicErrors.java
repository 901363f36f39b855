package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Anthropic's error shape: {@code {"type":"error","error":{"type","message"}}}. */
public final class AnthropicErrors {
    private AnthropicErrors() {}

    public static ByteBuf body(ByteBufAllocator alloc, String type, String message) {
        return Json.write(alloc, g -> {
            g.writeStartObject();
            g.writeStringField("type", "error");
            g.writeObjectFieldStart("error");
            g.writeStringField("type", type);
            g.writeStringField("message", message);
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** The error {@code type} Anthropic uses for a status. */
    public static String typeFor(int status) {
        return switch (status) {
            case 400, 405, 422 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 529, 503 -> "overloaded_error";
            case 504 -> "timeout_error";
            default -> status >= 500 ? "api_error" : "invalid_request_error";
        };
    }
}
