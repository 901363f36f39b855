package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.config.ProviderType;
import dev.skiff.dialect.Usage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a call's end settles what it reserved, whatever way it ended. */
class LimitsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Limits.Call CALL = new Limits.Call(ProviderType.OPENAI, "m", 400, 1000, true); // 100 + 1000 tokens

    Limits limits() throws Exception {
        Limits l = new Limits(new LocalLimiter(), true, CostModel.UNKNOWN);
        l.policies(new PolicySet(List.of(PolicyJson.parse("t", JSON.readTree(
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"tokens\",\"window\":\"day\",\"limit\":1000000}")))));
        return l;
    }

    /** Reserves one call, ends it so, and says what the counter holds after. */
    long after(Usage usage, boolean providerCalled, int status) throws Exception {
        try (Limits l = limits()) {
            Decision.Admitted a = (Decision.Admitted) l.reserve(l.charges(null, null, "/", null, CALL)).join();
            assertThat(a.counters().getFirst().used()).isEqualTo(1100);
            l.settle(a.ticket(), CALL, usage, providerCalled, status);
            Decision.Admitted probe = (Decision.Admitted) l.reserve(List.of(a.ticket().charges().getFirst().withAmount(0))).join();
            return probe.counters().getFirst().used();
        }
    }

    @Test
    void aCallEndsCountingWhatItUsed() throws Exception {
        assertThat(after(new Usage(30, 20, 50, -1, -1), true, 200)).isEqualTo(50);
        assertThat(after(Usage.NONE, true, 200)).isEqualTo(1100); // answered without usage: the estimate stays
        assertThat(after(Usage.NONE, false, 400)).isZero(); // refused before any provider
        assertThat(after(Usage.NONE, true, 502)).isZero(); // the provider failed before answering
        assertThat(after(Usage.NONE, true, 499)).isEqualTo(1100); // cut short: it may have run
        assertThat(after(new Usage(30, 20, 50, -1, -1), true, 499)).isEqualTo(1100); // reported less than it may bill
        assertThat(after(new Usage(300, 2000, 2300, -1, -1), true, 499)).isEqualTo(2300);
    }

    @Test
    void nothingConfiguredIsIdle() throws Exception {
        try (Limits l = new Limits(new LocalLimiter(), true, CostModel.UNKNOWN)) {
            assertThat(l.idle(null)).isTrue();
            assertThat(l.idle(JSON.readTree("{\"rpm\":5}"))).isFalse();
            assertThat(l.charges("k", JSON.readTree("{\"rpm\":5}"), "/", null, CALL)).hasSize(1);
        }
    }

    /** $1 per million output tokens for "cheap", $100 for "dear"; nothing for input. */
    static final CostModel PRICES = new CostModel() {
        @Override
        public long estimateMicros(ProviderType provider, String model, long inputTokens, long outputTokens) {
            return switch (model) {
                case "cheap" -> outputTokens;
                case "dear" -> outputTokens * 100;
                default -> -1;
            };
        }

        @Override
        public long costMicros(ProviderType provider, String model, Usage usage) {
            return estimateMicros(provider, model, usage.promptTokens(), usage.completionTokens());
        }
    };

    /** Reserves a call to "cheap" that may fail over to "dear", settles it as answered by {@code answered}; the budget used after. */
    long costAfter(String answered, Usage usage, int status, long[] reserved) throws Exception {
        try (Limits l = new Limits(new LocalLimiter(), true, PRICES)) {
            l.policies(new PolicySet(List.of(PolicyJson.parse("b", JSON.readTree(
                    "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"cost\",\"window\":\"day\",\"limit_usd\":10}")))));
            Limits.Call call = new Limits.Call(ProviderType.OPENAI, "cheap", 400, 1000, true,
                    List.of(new Limits.Target(ProviderType.ANTHROPIC, "dear"), new Limits.Target(ProviderType.OPENAI, "unpriced")));
            Decision.Admitted a = (Decision.Admitted) l.reserve(l.charges(null, null, "/", null, call)).join();
            reserved[0] = a.counters().getFirst().used();
            l.settle(a.ticket(), call.at(new Limits.Target(ProviderType.ANTHROPIC, answered)), usage, true, status);
            Decision.Admitted probe = (Decision.Admitted) l.reserve(List.of(a.ticket().charges().getFirst().withAmount(0))).join();
            return probe.counters().getFirst().used();
        }
    }

    @Test
    void aMoneyBudgetReservesForTheDearestTargetAndSettlesAtThePriceOfTheOneThatAnswered() throws Exception {
        long[] reserved = new long[1];
        // 1000 output tokens: $0.001 at "cheap", $0.1 at "dear" (the unpriced target is left out of the estimate)
        assertThat(costAfter("dear", new Usage(10, 500, 510, -1, -1), 200, reserved)).isEqualTo(50_000);
        assertThat(reserved[0]).isEqualTo(100_000);
        assertThat(costAfter("cheap", new Usage(10, 500, 510, -1, -1), 200, reserved)).isEqualTo(500);
        // usage never reported (a stream cut short): the answering target's estimate, not the dearest one's
        assertThat(costAfter("cheap", Usage.NONE, 499, reserved)).isEqualTo(1_000);
        assertThat(costAfter("dear", Usage.NONE, 200, reserved)).isEqualTo(100_000);
    }
}
