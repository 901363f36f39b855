package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicySetTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static LimitPolicy p(String id, String json) throws Exception {
        return PolicyJson.parse(id, JSON.readTree(json));
    }

    static List<String> counters(List<Charge> charges) {
        return charges.stream().map(c -> c.counter() + "=" + c.limit() + "x" + c.amount()).toList();
    }

    @Test
    void noPoliciesCostNothing() {
        assertThat(PolicySet.EMPTY.charges(new PolicySet.Request("key_1", List.of(), "/a", "u"), 10, 10)).isEmpty();
    }

    @Test
    void aRequestCountsInItsKeyItsPathAndEveryPathAboveAndItsEndUser() throws Exception {
        PolicySet set = new PolicySet(List.of(
                p("1", "{\"scope\":\"key\",\"key_id\":\"key_1\",\"metric\":\"requests\",\"window\":\"minute\",\"limit\":60}"),
                p("2", "{\"scope\":\"path\",\"path\":\"/acme\",\"metric\":\"cost\",\"window\":\"month\",\"limit_usd\":100}"),
                p("3", "{\"scope\":\"path\",\"path\":\"/acme/support\",\"metric\":\"tokens\",\"window\":\"day\",\"limit\":100000}"),
                p("4", "{\"scope\":\"path\",\"path\":\"/acme/supportive\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":1}"),
                p("5", "{\"scope\":\"end_user\",\"key_id\":\"key_1\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":100}"),
                p("6", "{\"scope\":\"key\",\"key_id\":\"key_2\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":5}")));
        List<Charge> charges = set.charges(new PolicySet.Request("key_1", List.of(), "/acme/support/bot", "alice"), 700, 1500);
        assertThat(counters(charges)).containsExactlyInAnyOrder(
                "k:key_1|requests|minute=60x1",
                "ek:key_1|alice|requests|day=100x1",
                "p:/acme|cost|month=100000000x1500",
                "p:/acme/support|tokens|day=100000x700");
        // no end user named: the end-user quota does not apply
        assertThat(counters(set.charges(new PolicySet.Request("key_1", List.of(), "/acme", null), 1, 1)))
                .containsExactlyInAnyOrder("k:key_1|requests|minute=60x1", "p:/acme|cost|month=100000000x1");
    }

    @Test
    void aCounterIsNamedByItsScopeMetricAndWindowAsRedisKeysAre() throws Exception {
        // the names are Redis keys shared by replicas of different versions: built in one concatenation
        // now, they must stay what scope id + "|" + metric + "|" + window made
        for (String json : List.of(
                "{\"scope\":\"key\",\"key_id\":\"key_1\",\"metric\":\"tokens\",\"window\":\"rolling:90\",\"limit\":6}",
                "{\"scope\":\"path\",\"path\":\"/acme/a\",\"metric\":\"requests\",\"window\":\"hour\",\"limit\":6}",
                "{\"scope\":\"end_user\",\"key_id\":\"key_1\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":6}",
                "{\"scope\":\"end_user\",\"path\":\"/acme\",\"end_user\":\"vip\",\"metric\":\"cost\",\"window\":\"month\",\"limit_usd\":6}")) {
            LimitPolicy policy = p("x", json);
            String scope = policy.scope() instanceof Scope.EndUser e ? "e" + e.within().id() + "|vip" : policy.scope().id();
            assertThat(PolicySet.counter(policy, policy.scope() instanceof Scope.EndUser ? "vip" : null))
                    .isEqualTo(scope + "|" + policy.metric().wire() + "|" + policy.window().id());
        }
    }

    @Test
    void anOverrideReplacesTheDefaultOfItsMetricAndWindowForThatEndUserOnly() throws Exception {
        PolicySet set = new PolicySet(List.of(
                p("d", "{\"scope\":\"end_user\",\"path\":\"/acme\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":100}"),
                p("dm", "{\"scope\":\"end_user\",\"path\":\"/acme\",\"metric\":\"requests\",\"window\":\"minute\",\"limit\":10}"),
                p("o", "{\"scope\":\"end_user\",\"path\":\"/acme\",\"end_user\":\"vip\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":5000}")));
        assertThat(counters(set.charges(new PolicySet.Request(null, List.of(), "/acme/x", "vip"), 0, 0)))
                .containsExactlyInAnyOrder("ep:/acme|vip|requests|day=5000x1", "ep:/acme|vip|requests|minute=10x1");
        assertThat(counters(set.charges(new PolicySet.Request(null, List.of(), "/acme/x", "bob"), 0, 0)))
                .containsExactlyInAnyOrder("ep:/acme|bob|requests|day=100x1", "ep:/acme|bob|requests|minute=10x1");
    }

    @Test
    void aKeysOwnLimitsComeFromItsJson() throws Exception {
        JsonNode limits = JSON.readTree("{\"rpm\":60,\"concurrent\":2,\"budget_usd\":5,\"budget_period\":\"day\","
                + "\"rules\":[{\"per_end_user\":true,\"metric\":\"requests\",\"window\":\"hour\",\"limit\":10},"
                + "{\"end_user\":\"vip\",\"metric\":\"requests\",\"window\":\"hour\",\"limit\":1000}]}");
        List<LimitPolicy> own = PolicyJson.ofKey("key_9", limits);
        List<Charge> bob = PolicySet.EMPTY.charges(new PolicySet.Request("key_9", own, "/", "bob"), 10, 2000);
        assertThat(counters(bob)).containsExactlyInAnyOrder("k:key_9|requests|minute=60x1", "k:key_9|concurrent|none=2x1",
                "k:key_9|cost|day=5000000x2000", "ek:key_9|bob|requests|hour=10x1");
        List<Charge> vip = PolicySet.EMPTY.charges(new PolicySet.Request("key_9", own, "/", "vip"), 10, 2000);
        assertThat(counters(vip)).contains("ek:key_9|vip|requests|hour=1000x1").doesNotContain("ek:key_9|vip|requests|hour=10x1");
    }

    @Test
    void badPoliciesSayWhatIsWrong() {
        assertThatThrownBy(() -> p("x", "{\"scope\":\"key\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":1}"))
                .hasMessageContaining("key_id");
        assertThatThrownBy(() -> p("x", "{\"scope\":\"path\",\"path\":\"/a\",\"metric\":\"requests\",\"window\":\"fortnight\",\"limit\":1}"))
                .hasMessageContaining("fortnight");
        assertThatThrownBy(() -> p("x", "{\"scope\":\"path\",\"path\":\"/a/../b\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":1}"))
                .hasMessageContaining("..");
        assertThatThrownBy(() -> p("x", "{\"scope\":\"path\",\"path\":\"/a\",\"metric\":\"requests\",\"window\":\"day\",\"limit\":5,\"soft\":6}"))
                .hasMessageContaining("soft");
        assertThatThrownBy(() -> PolicyJson.ofKey("k", JSON.readTree("{\"rpx\":1}"))).hasMessageContaining("limits.rpx");
    }

    @Test
    void policiesRoundTripThroughJson() throws Exception {
        LimitPolicy a = p("a", "{\"scope\":\"end_user\",\"key_id\":\"key_1\",\"end_user\":\"u\",\"metric\":\"cost\",\"window\":\"rolling:3600\",\"limit\":7,\"soft\":5}");
        assertThat(PolicyJson.parse("a", PolicyJson.render(a))).isEqualTo(a);
    }

    @Test
    void eachKindOfLimitHasItsOwnRefusalCode() throws Exception {
        assertThat(p("a", "{\"scope\":\"key\",\"key_id\":\"k\",\"metric\":\"requests\",\"window\":\"minute\",\"limit\":1}").refusalCode())
                .isEqualTo("rate_limit_exceeded");
        assertThat(p("b", "{\"scope\":\"path\",\"path\":\"/a\",\"metric\":\"cost\",\"window\":\"month\",\"limit_usd\":2.5}").refusalCode())
                .isEqualTo("budget_exceeded");
        assertThat(p("c", "{\"scope\":\"end_user\",\"key_id\":\"k\",\"metric\":\"tokens\",\"window\":\"day\",\"limit\":1}").refusalCode())
                .isEqualTo("end_user_quota_exceeded");
        assertThat(p("d", "{\"scope\":\"end_user\",\"key_id\":\"k\",\"metric\":\"concurrent\",\"limit\":1}").refusalCode())
                .isEqualTo("concurrency_limit_exceeded");
        assertThat(p("b", "{\"scope\":\"path\",\"path\":\"/a\",\"metric\":\"cost\",\"window\":\"month\",\"limit_usd\":2.5}").describe())
                .isEqualTo("$2.5 per month (UTC) for user path /a");
    }
}
