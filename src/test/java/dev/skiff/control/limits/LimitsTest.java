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
            l.settle(a.ticket(), ProviderType.OPENAI, "m", usage, providerCalled, status);
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
}
