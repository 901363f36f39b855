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

    /**
     * From counts whose input excludes cache reads and writes (Anthropic, Bedrock), whereas OpenAI's
     * prompt tokens include both (conformance 23). Unreported counts are -1 and add nothing.
     */
    public static Usage fromUncachedInput(long input, long cacheRead, long cacheWrite, long output) {
        long prompt = input < 0 && cacheRead < 0 && cacheWrite < 0 ? -1 : Math.max(input, 0) + Math.max(cacheRead, 0) + Math.max(cacheWrite, 0);
        long total = prompt < 0 || output < 0 ? -1 : prompt + output;
        return new Usage(prompt, output, total, cacheRead, -1, cacheWrite);
    }

    public Usage(long promptTokens, long completionTokens, long totalTokens, long cachedTokens, long reasoningTokens) {
        this(promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, -1);
    }
}
