package dev.skiff.config;

import java.time.Duration;

/**
 * Limits on one upstream exchange. {@code firstByte} runs from the request being written to the
 * response head; {@code idle} is the longest silence between two body chunks; {@code total} bounds
 * the whole exchange, streams included.
 */
public record Timeouts(Duration connect, Duration firstByte, Duration idle, Duration total) {
    public static Timeouts defaults() {
        return new Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(120), Duration.ofSeconds(120), Duration.ofMinutes(10));
    }
}
