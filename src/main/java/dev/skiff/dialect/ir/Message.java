package dev.skiff.dialect.ir;

import java.util.List;

/**
 * A turn of the conversation. Tool results are {@link Part.ToolResult} parts of a {@link Role#USER}
 * message, which is where Anthropic, Gemini and Bedrock want them; the OpenAI codec maps each
 * {@code role:"tool"} message to and from such a part.
 *
 * <p>{@link Role#SYSTEM} is a system message in the middle of the conversation (Claude Code sends
 * them; chat clients may). System text before the first turn is {@link ChatRequest#system()}
 * instead. Targets without a place for it in the conversation fold it into their system
 * instruction with {@link SystemTurns#fold}, and say so.
 */
public record Message(Role role, List<Part> parts) {
    public enum Role { USER, ASSISTANT, SYSTEM }

    public Message {
        parts = List.copyOf(parts);
    }
}
