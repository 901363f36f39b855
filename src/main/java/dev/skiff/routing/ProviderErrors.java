package dev.skiff.routing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Which client errors of a provider say "this target cannot take this request, another may": the
 * prompt is longer than the model's context, or the provider does not know the model. Read from the
 * providers' structured fields where they have them, so that a message that merely mentions a model
 * (a tool that "does not exist for this model") is not taken for one:
 * <ul>
 * <li>OpenAI and the servers that copy its shape: {@code error.code} {@code context_length_exceeded}
 * or {@code model_not_found}; another code is the client's error, whatever its message says.</li>
 * <li>Anthropic (a {@code type} and no {@code code}): {@code error.type} {@code not_found_error};
 * for context length Anthropic has no type of its own, so an {@code invalid_request_error} whose
 * message is its "prompt is too long" or "exceed context limit" (another one's message is matched
 * as text, below).</li>
 * <li>Gemini: {@code error.status} {@code NOT_FOUND}; {@code INVALID_ARGUMENT} whose message is
 * its "input token count ... exceeds the maximum number of tokens".</li>
 * </ul>
 * A body with none of these (no code, or not JSON: Bedrock's {@code {"message":...}}, a proxy's
 * page) falls back to matching phrases in its text, as before any of this existed.
 */
public final class ProviderErrors {
    private ProviderErrors() {}

    /** Error bodies are small; a larger one is not read into a tree (its first bytes are matched as text). */
    private static final int MAX_PARSED = 64 << 10;
    private static final int MAX_MATCHED = 4096;

    /** What the error body of a 400, 404, 413 or 422 says, as far as failing over cares; null when it is the client's error. */
    public static Failure classify(ByteBuf body) {
        JsonNode error = body.readableBytes() <= MAX_PARSED ? errorObject(body) : null;
        if (error != null) {
            Structured s = structured(error);
            if (s.decided()) return s.failure();
            JsonNode message = error.get("message");
            if (message != null && message.isTextual()) return byText(message.asText());
        }
        return byText(body.toString(body.readerIndex(), Math.min(body.readableBytes(), MAX_MATCHED), StandardCharsets.UTF_8));
    }

    /** What the structured fields decided; {@code decided} false when they say nothing (no code given). */
    private record Structured(boolean decided, Failure failure) {
        static final Structured UNDECIDED = new Structured(false, null);

        static Structured of(Failure f) {
            return new Structured(true, f);
        }
    }

    private static Structured structured(JsonNode error) {
        String message = text(error.get("message")).toLowerCase(Locale.ROOT);
        String status = text(error.get("status")); // Gemini's: google.rpc.Code by name
        if (!status.isEmpty()) {
            return switch (status) {
                case "NOT_FOUND" -> Structured.of(Failure.MODEL_NOT_FOUND);
                case "INVALID_ARGUMENT" -> Structured.of(message.contains("input token count")
                        || message.contains("exceeds the maximum number of tokens") ? Failure.CONTEXT_LENGTH : null);
                default -> Structured.of(null);
            };
        }
        JsonNode code = error.get("code");
        if (code != null && code.isTextual()) { // OpenAI's, and the servers that copy its errors
            return Structured.of(switch (code.asText()) {
                case "context_length_exceeded" -> Failure.CONTEXT_LENGTH;
                case "model_not_found" -> Failure.MODEL_NOT_FOUND;
                default -> null;
            });
        }
        if (code == null || code.isNull()) { // Anthropic's errors have a type and no code
            switch (text(error.get("type"))) {
                case "not_found_error" -> {
                    return Structured.of(Failure.MODEL_NOT_FOUND);
                }
                case "invalid_request_error" -> {
                    if (message.startsWith("prompt is too long") || message.contains("exceed context limit")) {
                        return Structured.of(Failure.CONTEXT_LENGTH);
                    }
                    // OpenAI's own errors carry this type too, with a null code: their message is matched below.
                }
                default -> {}
            }
        }
        return Structured.UNDECIDED;
    }

    /** The phrases the providers' messages use, for bodies without a code that says it. */
    static Failure byText(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        if (t.contains("context_length") || t.contains("context length") || t.contains("prompt is too long")
                || t.contains("too many tokens") || t.contains("maximum context") || t.contains("input is too long")
                || t.contains("exceed context limit") || t.contains("exceeds the maximum number of tokens")) {
            return Failure.CONTEXT_LENGTH;
        }
        if (t.contains("model_not_found") || t.contains("not_found_error") && t.contains("model")
                || t.contains("model") && (t.contains("does not exist") || t.contains("not found"))) {
            return Failure.MODEL_NOT_FOUND;
        }
        return null;
    }

    /** The {@code error} object of an error body (Gemini's may come as a one-element array); null when there is none. */
    private static JsonNode errorObject(ByteBuf body) {
        JsonNode tree;
        try (ByteBufInputStream in = new ByteBufInputStream(body.duplicate())) {
            tree = OpenAiChat.JSON.readTree((java.io.InputStream) in);
        } catch (IOException | RuntimeException e) { // not JSON: a proxy's page, say
            return null;
        }
        if (tree != null && tree.isArray() && !tree.isEmpty()) tree = tree.get(0);
        JsonNode error = tree == null ? null : tree.get("error");
        return error != null && error.isObject() ? error : null;
    }

    private static String text(JsonNode n) {
        return n != null && n.isTextual() ? n.asText() : "";
    }
}
