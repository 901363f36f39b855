package dev.skiff.observe.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.config.ProviderType;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.UsageRecord;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Requests counted straight into {@link Metrics} (no gateway): the series each lands in, with the per-label-set cache in the way. */
class MetricsSeriesTest {
    static UsageRecord record(String model, int status, Usage usage, double latencyMs) {
        // a fresh String each time, as a parsed request's model is
        return new UsageRecord(0, "req", "/v1/chat/completions", "openai", ProviderType.OPENAI, model, new String(model),
                false, status, usage, latencyMs, -1, -1, null, null, null, 1);
    }

    static Map<String, Double> scrape(Metrics m) {
        return MetricsEndToEndTest.parse(m.render());
    }

    static String requests(String model, int status) {
        return "skiff_requests_total{provider=\"openai\",model=\"" + model + "\",endpoint=\"/v1/chat/completions\",status=\"" + status + "\"}";
    }

    static String tokens(String model, String cls) {
        return "skiff_tokens_total{provider=\"openai\",model=\"" + model + "\",class=\"" + cls + "\"}";
    }

    @Test
    void interleavedLabelSetsEachKeepTheirOwnCounts() {
        Metrics m = new Metrics(() -> null);
        for (int i = 0; i < 5; i++) {
            m.finished(record("a", 200, Usage.NONE, 10), null);
            m.finished(record("b", 200, Usage.NONE, 10), null);
            m.finished(record("a", 429, Usage.NONE, -1), null);
        }
        Map<String, Double> s = scrape(m);
        assertThat(s.get(requests("a", 200))).isEqualTo(5.0);
        assertThat(s.get(requests("b", 200))).isEqualTo(5.0);
        assertThat(s.get(requests("a", 429))).isEqualTo(5.0);
        assertThat(s.get("skiff_request_duration_seconds_count{provider=\"openai\",model=\"a\",endpoint=\"/v1/chat/completions\"}")).isEqualTo(5.0);
    }

    @Test
    void tokensFirstReportedAfterALabelSetWasSeenAreCounted() {
        Metrics m = new Metrics(() -> null);
        m.finished(record("a", 200, Usage.NONE, -1), null); // no timing, no tokens: the cached entry has neither
        assertThat(scrape(m)).doesNotContainKey(tokens("a", "input"));
        m.finished(record("a", 200, new Usage(7, 3, 10, 0, 0), 5), null);
        m.finished(record("a", 200, new Usage(1, 1, 2, 0, 0), 5), null);
        Map<String, Double> s = scrape(m);
        assertThat(s.get(requests("a", 200))).isEqualTo(3.0);
        assertThat(s.get(tokens("a", "input"))).isEqualTo(8.0);
        assertThat(s.get(tokens("a", "output"))).isEqualTo(4.0);
        assertThat(s.get("skiff_request_duration_seconds_count{provider=\"openai\",model=\"a\",endpoint=\"/v1/chat/completions\"}")).isEqualTo(2.0);
    }

    @Test
    void pastTheSeriesLimitNewModelsAreCountedAsOtherEveryTime() {
        Metrics m = new Metrics(() -> null);
        for (int i = 0; i < Metrics.MAX_SERIES; i++) m.finished(record("m" + i, 200, Usage.NONE, -1), null);
        for (int i = 0; i < 3; i++) {
            m.finished(record("late", 200, new Usage(2, 1, 3, 0, 0), 5), null);
            m.finished(record("m0", 200, Usage.NONE, -1), null); // a series from before the limit keeps its own
        }
        Map<String, Double> s = scrape(m);
        assertThat(s).doesNotContainKey(requests("late", 200));
        assertThat(s.get(requests(Metrics.OTHER, 200))).isEqualTo(3.0);
        assertThat(s.get(tokens(Metrics.OTHER, "input"))).isEqualTo(6.0);
        assertThat(s.get(requests("m0", 200))).isEqualTo(4.0);
    }
}
