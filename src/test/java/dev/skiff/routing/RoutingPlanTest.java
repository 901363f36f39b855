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

    @Test
    void aModelsFallbackListIsResolvedOnceAndStillLeavesOutOpenTargets() throws Exception {
        Routing r = routing(RoutingConfig.Strategy.FAILOVER, Map.of("a/m", List.of("b/m2")));
        List<Route> first = r.plan("a/m", null).routes();
        assertThat(first).containsExactly(new Route(a, "m"), new Route(b, "m2"));
        assertThat(r.plan("a/m", null).routes()).as("the same list, not resolved and copied again").isSameAs(first);
        TargetState tb = r.target(new Route(b, "m2"));
        tb.started();
        tb.ended(System.nanoTime(), 1, Failure.STATUS, r.breaker()); // threshold 1: open
        assertThat(r.plan("a/m", null).routes()).containsExactly(new Route(a, "m"));
    }

    @Test
    void aSuccessResetsTheFailuresInARowAndEverySuccessIsCounted() {
        Routing r = new Routing(new RoutingConfig(RoutingConfig.defaults().retry(), RoutingConfig.defaults().failover(),
                new RoutingConfig.Breaker(true, 3, 1, Duration.ofHours(1)), Map.of(), Map.of(), List.of(), "X-Session-Id"), catalog, null);
        TargetState t = r.target(new Route(a, "m"));
        assertThat(r.target(new Route(a, "m"))).isSameAs(t);
        for (Failure f : List.of(Failure.STATUS, Failure.STATUS)) end(r, t, f);
        end(r, t, null); // the success after failures takes the slow path and resets the count
        for (Failure f : List.of(Failure.STATUS, Failure.STATUS)) end(r, t, f);
        assertThat(t.circuit()).isEqualTo(TargetState.Circuit.CLOSED);
        end(r, t, null);
        end(r, t, null); // the fast path: closed, nothing to reset
        end(r, t, Failure.STATUS);
        assertThat(t.snapshot(r.breaker()).consecutiveFailures()).isEqualTo(1);
        end(r, t, Failure.STATUS);
        end(r, t, Failure.STATUS);
        TargetState.Snapshot s = t.snapshot(r.breaker());
        assertThat(s.circuit()).isEqualTo(TargetState.Circuit.OPEN);
        assertThat(s.successes()).isEqualTo(3);
        assertThat(s.failures()).isEqualTo(7);
        assertThat(s.inFlight()).isZero();
        assertThat(t.tryAcquire(System.nanoTime(), r.breaker())).isFalse();
    }

    private static void end(Routing r, TargetState t, Failure f) {
        t.started();
        t.ended(System.nanoTime(), 1_000_000, f, r.breaker());
    }
}
