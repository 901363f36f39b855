package dev.skiff.dialect;

/**
 * Token usage normalized to OpenAI's names. Counts a provider did not report are -1, so that "not
 * reported" is never confused with zero. {@code cachedTokens} is the part of the prompt read from a
 * cache (a subset of {@code promptTokens}); {@code cacheCreationTokens} is Anthropic's count of
 * prompt tokens written to its cache.
 */
public record Usage(long promptTokens, long completionTokens, long totalTokens, long cachedTokens, long reasoningTokens,
                    long cacheCreationTokens) {
    public static final Usage NONE = new Usage(-1, -1, -1, -1, -1, -1);

    public Usage(long promptTokens, long completionTokens, long totalTokens, long cachedTokens, long reasoningTokens) {
        this(promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, -1);
    }
}
