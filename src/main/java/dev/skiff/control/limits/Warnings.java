package dev.skiff.control.limits;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Soft thresholds crossed: each is logged and handed to a listener (the store keeps them for the admin API).
 * A threshold is crossed by exactly one reservation or settlement, the one that took the counter
 * from below it to at or above it, so each crossing is reported once even across replicas (the
 * counter moved atomically); a listener may persist them (the store does, for every replica's list).
 */
public final class Warnings {
    private static final Logger LOG = Logger.getLogger(Warnings.class.getName());

    /** @param counter the counter that crossed; @param used what it holds now */
    public record Warning(long atMs, String policyId, String counter, String metric, String window, long soft, long limit, long used,
                          String description) {
        public ObjectNode json() {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.put("at", Instant.ofEpochMilli(atMs).toString());
            o.put("policy_id", policyId);
            o.put("counter", counter);
            o.put("metric", metric);
            o.put("window", window);
            o.put("soft", soft);
            o.put("limit", limit);
            o.put("used", used);
            o.put("description", description);
            return o;
        }
    }

    private volatile Consumer<Warning> listener = w -> {};

    public void onWarning(Consumer<Warning> l) {
        listener = l;
    }

    /** Checks the counters a reservation or settlement left, given what each was moved by. */
    void check(List<Counter> counters, java.util.function.ToLongFunction<Counter> movedBy, long nowMs) {
        for (Counter c : counters) {
            long soft = c.charge().policy().soft();
            if (soft < 0) continue;
            long before = c.used() - movedBy.applyAsLong(c);
            if (before < soft && c.used() >= soft) report(new Warning(nowMs, c.charge().policy().id(), c.charge().counter(),
                    c.charge().metric().wire(), c.charge().window().id(), soft, c.charge().limit(), c.used(),
                    "soft threshold " + soft + " of " + c.charge().policy().describe() + " reached (" + c.used() + " used)"));
        }
    }

    void report(Warning w) {
        LOG.warning("skiff: limit warning: " + w.counter() + ": " + w.description());
        listener.accept(w);
    }
}
