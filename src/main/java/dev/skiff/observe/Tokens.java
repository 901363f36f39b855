package dev.skiff.observe;

import dev.skiff.dialect.Usage;

/**
 * A request's tokens split into the classes providers price apart. The classes do not overlap, so
 * they add up: {@code input + cachedInput + cacheWrite} is the whole prompt, {@code output +
 * reasoning} the whole completion. ({@link Usage} follows OpenAI, whose prompt count includes cache
 * reads and writes and whose completion count includes reasoning.) Counts a provider did not report
 * are 0 here; {@link #reported} says whether it reported any.
 */
public record Tokens(long input, long cachedInput, long cacheWrite, long output, long reasoning, boolean reported) {
    public static final Tokens NONE = new Tokens(0, 0, 0, 0, 0, false);

    public static Tokens of(Usage u) {
        if (u == null || u.promptTokens() < 0 && u.completionTokens() < 0 && u.totalTokens() < 0) return NONE;
        long cached = Math.max(u.cachedTokens(), 0);
        long write = Math.max(u.cacheCreationTokens(), 0);
        long prompt = Math.max(u.promptTokens(), 0);
        long reasoning = Math.max(u.reasoningTokens(), 0);
        long completion = Math.max(u.completionTokens(), 0);
        if (u.promptTokens() < 0 && u.completionTokens() < 0) {
            // Only a total was reported (some embeddings answers): it is all input.
            prompt = Math.max(u.totalTokens(), 0);
        }
        return new Tokens(Math.max(prompt - cached - write, 0), Math.min(cached, prompt), Math.min(write, Math.max(prompt - cached, 0)),
                Math.max(completion - reasoning, 0), Math.min(reasoning, completion), true);
    }

    public long total() {
        return input + cachedInput + cacheWrite + output + reasoning;
    }
}
