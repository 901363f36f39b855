package dev.skiff.dialect.ir;

import java.util.List;

/**
 * A turn of the conversation. Tool results are {@link Part.ToolResult} parts of a {@link Role#USER}
 * message, which is where Anthropic, Gemini and Bedrock want them; the OpenAI codec maps each
 * {@code role:"tool"} message to and from such a part.
 */
public record Message(Role role, List<Part> parts) {
    public enum Role { USER, ASSISTANT }

    public Message {
        parts = List.copyOf(parts);
    }
}
