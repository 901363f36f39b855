package dev.skiff.routing;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.admin.AdminException;
import dev.skiff.admin.AdminReply;
import dev.skiff.admin.AdminRequest;
import dev.skiff.admin.AdminResource;
import dev.skiff.config.RoutingConfig;
import java.util.Locale;

/**
 * {@code GET /admin/v1/routing}: the routing configuration in effect (virtual models, fallbacks,
 * retry and breaker settings); {@code GET /admin/v1/routing/targets}: every target this replica has
 * called, with its circuit (closed, open, half_open), consecutive failures, requests in flight and
 * average latency. That state lives in this replica's memory and is not shared with other replicas;
 * the description in the OpenAPI document says so, for operators who see one replica's answer.
 */
public final class RoutingResource implements AdminResource {
    private final Routing routing;

    public RoutingResource(Routing routing) {
        this.routing = routing;
    }

    @Override
    public String name() {
        return "routing";
    }

    @Override
    public AdminReply handle(AdminRequest r) {
        if (!r.method().equals("GET")) throw new AdminException(405, "Use GET on /admin/v1/routing.", "method_not_allowed", null);
        if (r.segments().isEmpty()) return AdminReply.ok(config());
        if (r.segments().size() == 1 && r.segments().getFirst().equals("targets")) return AdminReply.ok(targets());
        throw AdminException.notFound("Unknown path: /admin/v1/routing/" + String.join("/", r.segments()) + ".");
    }

    private ObjectNode targets() {
        ArrayNode data = JsonNodeFactory.instance.arrayNode();
        for (TargetState.Snapshot s : routing.snapshot()) {
            ObjectNode o = data.addObject();
            o.put("target", s.target());
            o.put("circuit", s.circuit().name().toLowerCase(Locale.ROOT));
            o.put("consecutive_failures", s.consecutiveFailures());
            if (s.openedAtMs() > 0) o.put("opened_at", s.openedAtMs());
            if (s.retryAtMs() > 0) o.put("probe_after", s.retryAtMs());
            o.put("in_flight", s.inFlight());
            if (s.latencyMs() >= 0) o.put("latency_ms", Math.round(s.latencyMs() * 10) / 10.0);
            o.put("successes", s.successes());
            o.put("failures", s.failures());
        }
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("object", "list");
        o.set("data", data);
        return o;
    }

    private ObjectNode config() {
        RoutingConfig c = routing.config();
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        ObjectNode retry = o.putObject("retry");
        retry.put("max_retries", c.retry().maxRetries()).put("initial_backoff_ms", c.retry().initialBackoff().toMillis())
                .put("max_backoff_ms", c.retry().maxBackoff().toMillis()).put("backoff_factor", c.retry().factor());
        c.retry().statuses().stream().sorted().forEach(retry.putArray("on_statuses")::add);
        ObjectNode failover = o.putObject("failover");
        failover.put("enabled", c.failover().enabled()).put("max_attempts", c.failover().maxAttempts());
        if (c.failover().firstTokenTimeout() != null) failover.put("first_token_timeout_ms", c.failover().firstTokenTimeout().toMillis());
        ObjectNode breaker = o.putObject("circuit_breaker");
        breaker.put("enabled", c.breaker().enabled()).put("failure_threshold", c.breaker().failureThreshold())
                .put("success_threshold", c.breaker().successThreshold()).put("timeout_ms", c.breaker().timeout().toMillis());
        ObjectNode fallbacks = o.putObject("fallbacks");
        c.fallbacks().forEach((model, targets) -> targets.forEach(fallbacks.putArray(model)::add));
        ObjectNode virtual = o.putObject("virtual_models");
        c.virtualModels().forEach((name, v) -> {
            ObjectNode vo = virtual.putObject(name);
            vo.put("strategy", v.strategy().id());
            ArrayNode ts = vo.putArray("targets");
            v.targets().forEach(t -> ts.addObject().put("model", t.model()).put("weight", t.weight()));
        });
        c.providerPriority().forEach(o.putArray("provider_priority")::add);
        o.put("session_header", c.sessionHeader());
        return o;
    }

    @Override
    public ObjectNode openApi() {
        ObjectNode doc = JsonNodeFactory.instance.objectNode();
        ObjectNode paths = doc.putObject("paths");
        paths.putObject("/admin/v1/routing").putObject("get").put("summary", "The routing configuration in effect");
        paths.putObject("/admin/v1/routing/targets").putObject("get")
                .put("summary", "Every target called so far: circuit state, consecutive failures, in flight, average latency")
                .put("description", "Circuit breaker state is per replica: each replica keeps its own, from the requests it sent, "
                        + "and it is not shared across replicas. This answer is the state of the replica that served it; with "
                        + "several replicas, ask each one.");
        return doc;
    }
}
