package dev.skiff.dialect;

/**
 * Token usage normalized to OpenAI's names. Counts a provider did not report are -1, so that "not
 * reported" is never confused with zero.
 */
public record Usage(long promptTokens, long completionTokens, long totalTokens, long cachedTokens, long reasoningTokens) {
    public static final Usage NONE = new Usage(-1, -1, -1, -1, -1);
}
