package dev.skiff.control.limits;

import dev.skiff.config.ProviderType;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.Pricing;
import dev.skiff.observe.Tokens;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Money budgets priced by the usage code's {@link Pricing} catalog, so that what a budget counts is
 * what usage reports. A user's price file is loaded at start-up; the shipped catalog is read on a
 * background thread the first time a money budget needs it (it costs a few hundred ms of YAML on a
 * cold JVM), and until then calls are not counted against money budgets (said once in the log).
 * Costs are rounded up to whole micro-dollars.
 */
public final class PricedCosts implements CostModel {
    private volatile Pricing pricing;
    private final AtomicBoolean loading = new AtomicBoolean();

    /** @param pricing the catalog with the user's file applied, or null to load the shipped one when first needed */
    public PricedCosts(Pricing pricing) {
        this.pricing = pricing;
    }

    private Pricing pricing() {
        Pricing p = pricing;
        if (p == null && loading.compareAndSet(false, true)) {
            Thread.ofPlatform().name("skiff-limits-prices").daemon(true).start(() -> pricing = Pricing.shipped());
        }
        return p;
    }

    @Override
    public long estimateMicros(ProviderType provider, String model, long inputTokens, long outputTokens) {
        return micros(provider, model, new Tokens(Math.max(0, inputTokens), 0, 0, Math.max(0, outputTokens), 0, true));
    }

    @Override
    public long costMicros(ProviderType provider, String model, Usage usage) {
        Tokens t = Tokens.of(usage);
        return t.reported() ? micros(provider, model, t) : -1;
    }

    private long micros(ProviderType provider, String model, Tokens t) {
        Pricing p = pricing();
        if (p == null) return -1;
        Long nanos = p.costNanos(provider, model, t);
        return nanos == null ? -1 : (nanos + 999) / 1000;
    }
}
