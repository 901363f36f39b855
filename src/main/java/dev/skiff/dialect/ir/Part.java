package dev.skiff.dialect.ir;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * One piece of a message in the internal representation every adapter translates through. Each
 * dialect maps its own content shapes onto these and back; what a part cannot carry is reported by
 * the translator as dropped, never lost silently.
 */
public sealed interface Part {
    /** Text; {@code cacheControl} is Anthropic's prompt-caching marker, carried as given. */
    record Text(String text, JsonNode cacheControl) implements Part {
        public Text(String text) {
            this(text, null);
        }
    }

    /**
     * An image, either by URL ({@code url}) or inline ({@code mediaType} + base64 {@code data}).
     * {@code detail} is OpenAI's resolution hint.
     */
    record Image(String url, String mediaType, String data, String detail, JsonNode cacheControl) implements Part {}

    /** A call the assistant makes; {@code arguments} is the JSON text of the arguments, as OpenAI carries it. */
    record ToolCall(String id, String name, String arguments) implements Part {}

    /** The result of a tool call, sent back by the user side. */
    record ToolResult(String callId, List<Part> content, boolean isError, JsonNode cacheControl) implements Part {}

    /** Visible reasoning; the {@code signature} must go back to the provider byte-identical. */
    record Thinking(String text, String signature) implements Part {}

    /** Reasoning the provider encrypted; {@code data} must go back byte-identical. */
    record RedactedThinking(String data) implements Part {}
}
