package dev.skiff.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.skiff.config.ProviderConfig;
import dev.skiff.config.ProviderType;
import dev.skiff.config.RoutingConfig;
import dev.skiff.provider.Provider;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How plans order targets: strategies, fallbacks, the breaker's ejections. */
class RoutingPlanTest {
    static Provider provider(String name) {
        return new Provider(new ProviderConfig(name, ProviderType.OPENAI, URI.create("https://api.example.com/v1"), "k", List.of(), null));
    }

    final Provider a = provider("a"), b = provider("b"), c = provider("c");
    final ModelCatalog catalog = new ModelCatalog(List.of(a, b, c), line -> {});

    Routing routing(RoutingConfig.Strategy strategy, Map<String, List<String>> fallbacks) {
        RoutingConfig d = RoutingConfig.defaults();
        var smart = new RoutingConfig.VirtualModel("smart", strategy, List.of(new RoutingConfig.WeightedTarget("a/m", 1),
                new RoutingConfig.WeightedTarget("b/m", 1), new RoutingConfig.WeightedTarget("c/m", 1)));
        return new Routing(new RoutingConfig(d.retry(), d.failover(), new RoutingConfig.Breaker(true, 1, 1, Duration.ofHours(1)), fallbacks,
                Map.of("smart", smart), List.of(), "X-Session-Id"), catalog, null);
    }

    static List<String> names(Plan p) {
        return p.routes().stream().map(r -> r.provider().name()).toList();
    }

    @Test
    void leastBusyStartsWithTheTargetWithFewestInFlight() throws Exception {
        Routing r = routing(RoutingConfig.Strategy.LEAST_BUSY, Map.of());
        r.target(new Route(a, "m")).started();
        r.target(new Route(a, "m")).started();
        r.target(new Route(b, "m")).started();
        assertThat(names(r.plan("smart", null))).containsExactly("c", "b", "a");
    }

    @Test
    void failoverKeepsTheOrderGivenAndEjectsOpenTargets() throws Exception {
        Routing r = routing(RoutingConfig.Strategy.FAILOVER, Map.of());
        assertThat(names(r.plan("smart", null))).containsExactly("a", "b", "c");
        TargetState ta = r.target(new Route(a, "m"));
        ta.started();
        ta.ended(System.nanoTime(), 1, Failure.STATUS, r.breaker()); // threshold 1: open
        assertThat(names(r.plan("smart", null))).containsExactly("b", "c");
    }

    @Test
    void fallbacksFollowTheModelAndEveryOpenTargetIsA503() throws Exception {
        Routing r = routing(RoutingConfig.Strategy.FAILOVER, Map.of("a/m", List.of("b/m2", "c/m3")));
        assertThat(r.plan("a/m", null).routes()).containsExactly(new Route(a, "m"), new Route(b, "m2"), new Route(c, "m3"));
        assertThat(r.plan("b/m", null).routes()).containsExactly(new Route(b, "m"));
        for (Route x : List.of(new Route(a, "m"), new Route(b, "m2"), new Route(c, "m3"))) {
            r.target(x).started();
            r.target(x).ended(System.nanoTime(), 1, Failure.TIMEOUT, r.breaker());
        }
        assertThatThrownBy(() -> r.plan("a/m", null)).isInstanceOf(RouteException.class)
                .satisfies(e -> assertThat(((RouteException) e).code()).isEqualTo("circuit_open"));
    }

    @Test
    void withoutRetriesAPlanOfOneTargetNeverRetries() throws Exception {
        Routing r = routing(RoutingConfig.Strategy.FAILOVER, Map.of());
        assertThat(r.plan("b/m", null).canRetry()).isFalse();
        assertThat(r.plan("smart", null).canRetry()).isTrue();
        assertThat(r.plan("smart", "session-7").first()).isEqualTo(r.plan("smart", "session-7").first());
    }
}
