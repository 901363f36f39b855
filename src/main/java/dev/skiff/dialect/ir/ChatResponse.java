package dev.skiff.dialect.ir;

import dev.skiff.dialect.Usage;
import java.util.List;

/**
 * A complete (non-streamed) answer in the internal representation.
 *
 * @param finishReason      normalized reason
 * @param rawFinishReason   the provider's own word for it, kept so nothing is flattened away
 */
public record ChatResponse(String id, String model, List<Part> content, FinishReason finishReason, String rawFinishReason,
                           Usage usage) {
    public ChatResponse {
        content = List.copyOf(content);
    }
}
