package dev.skiff.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.skiff.admin.AdminException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UsageQueryTest {
    static final long NOW = 1_765_000_000_000L;

    static UsageQuery parse(String... pairs) {
        Map<String, List<String>> params = new java.util.HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) params.computeIfAbsent(pairs[i], k -> new java.util.ArrayList<>()).add(pairs[i + 1]);
        return UsageResource.parse(params, null, NOW);
    }

    @Test
    void defaultsToTheLastThirtyDaysInOneTotal() {
        UsageQuery q = parse();
        assertThat(q.toMs()).isEqualTo(NOW + 1);
        assertThat(q.toMs() - q.fromMs()).isEqualTo(30L * 86_400_000L);
        assertThat(q.groupBy()).isEqualTo(UsageQuery.GroupBy.NONE);
    }

    @Test
    void timesAreDatesIsoTimesOrEpochMilliseconds() {
        UsageQuery q = parse("from", "2026-12-01", "to", "2026-12-02T12:00:00Z", "group_by", "path", "depth", "2", "path", "/acme/");
        assertThat(q.fromMs()).isEqualTo(java.time.Instant.parse("2026-12-01T00:00:00Z").toEpochMilli());
        assertThat(q.toMs()).isEqualTo(java.time.Instant.parse("2026-12-02T12:00:00Z").toEpochMilli());
        assertThat(q.path()).isEqualTo("/acme");
        assertThat(parse("from", "1000", "to", "2000").fromMs()).isEqualTo(1000);
    }

    @Test
    void badParametersAreRefusedNamingThem() {
        assertThatThrownBy(() -> parse("group_by", "color")).isInstanceOf(AdminException.class).hasMessageContaining("group_by");
        assertThatThrownBy(() -> parse("form", "2026-12-01")).hasMessageContaining("form");
        assertThatThrownBy(() -> parse("from", "yesterday")).hasMessageContaining("from");
        assertThatThrownBy(() -> parse("from", "2026-12-02", "to", "2026-12-01")).hasMessageContaining("after");
        assertThatThrownBy(() -> parse("from", "2020-01-01", "to", "2026-01-01")).hasMessageContaining("367");
        assertThatThrownBy(() -> parse("depth", "2")).hasMessageContaining("group_by=path");
        assertThatThrownBy(() -> parse("group_by", "path", "depth", "x")).hasMessageContaining("depth");
        assertThatThrownBy(() -> parse("path", "/a/../b")).hasMessageContaining("..");
        assertThatThrownBy(() -> parse("path", "acme")).hasMessageContaining("'/'");
        assertThatThrownBy(() -> parse("format", "xml")).hasMessageContaining("csv");
        assertThatThrownBy(() -> parse("key", "a", "key", "b")).hasMessageContaining("more than once");
    }

    @Test
    void selfServiceIsHeldToTheOwnKey() {
        assertThat(UsageResource.parse(Map.of(), "key_1", NOW).keyId()).isEqualTo("key_1");
        assertThat(UsageResource.parse(Map.of("key", List.of("key_1")), "key_1", NOW).keyId()).isEqualTo("key_1");
        assertThatThrownBy(() -> UsageResource.parse(Map.of("key", List.of("key_2")), "key_1", NOW))
                .isInstanceOfSatisfying(AdminException.class, e -> assertThat(e.status()).isEqualTo(403));
    }

    @Test
    void pathsRollUpToADepth() {
        assertThat(UsageQuery.truncate("/acme/support/bot", 1)).isEqualTo("/acme");
        assertThat(UsageQuery.truncate("/acme/support/bot", 2)).isEqualTo("/acme/support");
        assertThat(UsageQuery.truncate("/acme/support/bot", 5)).isEqualTo("/acme/support/bot");
        assertThat(UsageQuery.truncate("/", 1)).isEqualTo("/");
        assertThat(UsageQuery.truncate(null, 1)).isNull();
    }

    @Test
    void csvCellsAreQuotedAndFormulasDefused() {
        UsageQuery q = new UsageQuery(0, 1, UsageQuery.GroupBy.END_USER, 0, null, null, null, null, null);
        UsageQuery.Result r = UsageQuery.Result.of(q, List.of(
                new UsageQuery.Totals("=HYPERLINK(\"x\")", 1, 0, 1, 0, 0, 1, 0, 1_000, 0),
                new UsageQuery.Totals("a,b", 1, 1, 0, 0, 0, 0, 0, 0, 1)));
        assertThat(r.csv().lines().skip(1)).containsExactly(
                "\"'=HYPERLINK(\"\"x\"\")\",1,0,1,0,0,1,0,2,0.000001,0",
                "\"a,b\",1,1,0,0,0,0,0,0,0,1");
        assertThat(r.total().requests()).isEqualTo(2);
        assertThat(r.total().unknownCostRequests()).isEqualTo(1);
    }
}
