package dev.skiff.control.limits;

import dev.skiff.config.ProviderType;
import dev.skiff.dialect.Usage;

/**
 * What a call costs, in micro-dollars, for money budgets: estimated before the call from the tokens
 * it may use, then from the usage the provider reported. -1 when the model's price is unknown; such
 * calls are not counted against money budgets (and say so once in the log).
 */
public interface CostModel {
    long estimateMicros(ProviderType provider, String model, long inputTokens, long outputTokens);

    long costMicros(ProviderType provider, String model, Usage usage);

    /** No prices known. */
    CostModel UNKNOWN = new CostModel() {
        @Override
        public long estimateMicros(ProviderType provider, String model, long inputTokens, long outputTokens) {
            return -1;
        }

        @Override
        public long costMicros(ProviderType provider, String model, Usage usage) {
            return -1;
        }
    };
}
