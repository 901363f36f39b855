package dev.skiff.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.OpenAiErrors;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;

/** What an admin call answers: a status, a content type and the body's bytes. */
public record AdminReply(int status, String contentType, byte[] body) {
    public static final String JSON = "application/json";
    public static final String CSV = "text/csv; charset=utf-8";

    public static AdminReply json(int status, JsonNode body) {
        try {
            return new AdminReply(status, JSON, OpenAiChat.JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static AdminReply ok(JsonNode body) {
        return json(200, body);
    }

    public static AdminReply csv(String text) {
        return new AdminReply(200, CSV, text.getBytes(StandardCharsets.UTF_8));
    }

    /** An error in the OpenAI envelope, as every Skiff error outside {@code /v1/messages} is written. */
    public static AdminReply error(int status, String message, String code, String param) {
        var buf = OpenAiErrors.envelope(UnpooledByteBufAllocator.DEFAULT, message, OpenAiErrors.typeFor(status), param, code);
        try {
            return new AdminReply(status, JSON, ByteBufUtil.getBytes(buf));
        } finally {
            buf.release();
        }
    }

    public static AdminReply error(AdminException e) {
        return error(e.status(), e.getMessage(), e.code(), e.param());
    }
}
