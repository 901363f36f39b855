package dev.skiff.observe.metrics;

import dev.skiff.config.ProviderType;
import dev.skiff.observe.CallObserver;
import dev.skiff.observe.Pricing;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.Tokens;
import dev.skiff.observe.UsageRecord;
import dev.skiff.routing.Attempt;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * Prometheus metrics of every request, kept in this process: counted on the event loop as each
 * request ends (a map lookup and a few LongAdder increments, no lock, no allocation beyond the
 * lookup key) and written as text when {@code /metrics} is scraped. A small own implementation rather
 * than a client library: the whole of it is a few hundred lines, loads nothing at start-up, and the
 * hot path is the same LongAdders a library would use.
 *
 * <p>Costs are not counted per request: tokens are, by provider, model and class, and the cost is
 * their product with the model's price when scraped (prices are linear in tokens). Label sets are
 * bounded: past {@value #MAX_SERIES} series per family, further models are counted as {@code _other}.
 */
public final class Metrics implements CallObserver {
    static final int MAX_SERIES = 5_000;
    static final String OTHER = "_other";
    private static final double[] LATENCY = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
    private static final double[] TTFT = {0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60};
    private static final String[] CLASSES = {"input", "cached_input", "cache_write", "output", "reasoning"};

    private record RequestKey(String provider, String model, String endpoint, int status) {}

    private record CallKey(String provider, String model, String endpoint) {}

    private record TokenKey(String provider, ProviderType type, String model) {}

    private record ErrorKey(String provider, String kind) {}

    private record TargetKey(String provider, String model) {}

    private record FailoverKey(String from, String to) {}

    private record Timing(Histogram latency, Histogram ttft) {}

    private record Gauge(String name, String help, DoubleSupplier value) {}

    private record Labeled(String name, String help, String label, Supplier<Map<String, ? extends Number>> values) {}

    private final Map<RequestKey, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<CallKey, Timing> timings = new ConcurrentHashMap<>();
    private final Map<TokenKey, LongAdder[]> tokens = new ConcurrentHashMap<>();
    private final Map<ErrorKey, LongAdder> upstreamErrors = new ConcurrentHashMap<>();
    private final Map<TargetKey, LongAdder> retries = new ConcurrentHashMap<>();
    private final Map<FailoverKey, LongAdder> failovers = new ConcurrentHashMap<>();
    private final List<Gauge> gauges = new ArrayList<>();
    private final List<Labeled> labeled = new ArrayList<>();
    private final Supplier<Pricing> pricing;
    private volatile Pricing loadedPricing;

    /**
     * Links the keys' record methods (hashCode, equals), which the JVM does at their first call with
     * method handles made at run time: start-up's warm-up calls this, so that the first request does not.
     */
    public static void warmUp() {
        Object[] keys = {new RequestKey("", "", "", 0), new CallKey("", "", ""), new TokenKey("", null, ""), new ErrorKey("", ""),
                new TargetKey("", ""), new FailoverKey("", "")};
        for (Object k : keys) {
            if (k.hashCode() != k.hashCode() || !k.equals(k)) throw new AssertionError(k);
        }
    }

    /** @param pricing what prices the tokens (called at the first scrape: the shipped catalog takes tens of ms to read) */
    public Metrics(Supplier<Pricing> pricing) {
        this.pricing = pricing;
    }

    /** A gauge read at each scrape (in-flight requests, connections, queue drops...). Register before traffic. */
    public synchronized void gauge(String name, String help, DoubleSupplier value) {
        gauges.add(new Gauge(name, help, value));
    }

    /** A family of one label whose samples are read at each scrape (a counter when its name ends in _total). */
    public synchronized void family(String name, String help, String label, Supplier<Map<String, ? extends Number>> values) {
        labeled.add(new Labeled(name, help, label, values));
    }

    /**
     * The series one request's labels resolved to, for the next requests of the same labels (most
     * requests repeat a few label sets): they skip the maps' lookups, and their keys' hashing. Fields
     * are final, so an entry may be shared between threads through a plain array; since no series is
     * ever removed, a label set resolves to the same series every time (past {@value #MAX_SERIES}, to
     * {@code _other} every time). A series not yet needed when the entry was made (a request's first
     * timing or tokens) is null, and looked up as before.
     */
    private record Series(String provider, String model, String endpoint, int status, ProviderType type, String counted,
                          LongAdder count, Timing timing, LongAdder[] tokens) {
        boolean matches(UsageRecord r) {
            return status == r.status() && type == r.providerType() && java.util.Objects.equals(model, r.model())
                    && java.util.Objects.equals(provider, r.provider()) && java.util.Objects.equals(endpoint, r.endpoint());
        }
    }

    /** Entries by a hash of the model and status: a bounded cache, replaced on a miss. */
    private final Series[] recent = new Series[16];

    @Override
    public void finished(UsageRecord r, RequestTrail trail) {
        String model = r.model();
        int slot = ((model == null ? 0 : model.hashCode()) * 31 + r.status()) & (recent.length - 1);
        Series s = recent[slot];
        boolean timed = r.latencyMs() >= 0 && r.provider() != null;
        Tokens tk = Tokens.of(r.usage());
        boolean tokened = tk.reported() && r.provider() != null;
        if (s == null || !s.matches(r) || timed && s.timing == null || tokened && s.tokens == null) {
            recent[slot] = s = resolve(r, s != null && s.matches(r) ? s : null, timed, tokened);
        }
        s.count.increment();
        if (timed) {
            Timing t = s.timing;
            t.latency.observe(r.latencyMs() / 1000);
            if (r.stream() && r.ttftMs() >= 0 && r.status() / 100 == 2) t.ttft.observe(r.ttftMs() / 1000);
        }
        if (tokened) {
            LongAdder[] a = s.tokens;
            add(a[0], tk.input());
            add(a[1], tk.cachedInput());
            add(a[2], tk.cacheWrite());
            add(a[3], tk.output());
            add(a[4], tk.reasoning());
        }
        if (r.attemptLog() != null && r.attemptLog().size() > 1) attempts(r.attemptLog());
    }

    /** Looks up (making them where missing) the series of {@code r}'s labels; {@code known}: those found before for them, or null. */
    private Series resolve(UsageRecord r, Series known, boolean timed, boolean tokened) {
        String model = r.model();
        LongAdder count;
        String counted;
        if (known != null) {
            count = known.count;
            counted = known.counted;
        } else {
            RequestKey rk = new RequestKey(r.provider(), model, r.endpoint(), r.status());
            count = requests.get(rk);
            counted = model;
            if (count == null) {
                if (requests.size() >= MAX_SERIES) rk = new RequestKey(r.provider(), counted = OTHER, r.endpoint(), r.status());
                count = requests.computeIfAbsent(rk, k -> new LongAdder());
            }
        }
        Timing t = known != null ? known.timing : null;
        if (t == null && timed) {
            CallKey k = new CallKey(r.provider(), counted, r.endpoint());
            t = timings.get(k);
            if (t == null) {
                if (timings.size() >= MAX_SERIES) k = new CallKey(r.provider(), OTHER, r.endpoint());
                t = timings.computeIfAbsent(k, x -> new Timing(new Histogram(LATENCY), new Histogram(TTFT)));
            }
        }
        LongAdder[] a = known != null ? known.tokens : null;
        if (a == null && tokened) {
            TokenKey k = new TokenKey(r.provider(), r.providerType(), counted);
            a = tokens.get(k);
            if (a == null) {
                if (tokens.size() >= MAX_SERIES) k = new TokenKey(r.provider(), r.providerType(), OTHER);
                a = tokens.computeIfAbsent(k, x -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()});
            }
        }
        return new Series(r.provider(), model, r.endpoint(), r.status(), r.providerType(), counted, count, t, a);
    }

    /**
     * Retries and failovers from a request's attempt log (only requests routing could send more than
     * once have one): an attempt to the same target as the one before it is a retry of that target,
     * to another target a failover from the one to the other. Targets are configured, so the label
     * sets stay small.
     */
    private void attempts(List<Attempt> log) {
        Attempt was = log.getFirst();
        for (int i = 1; i < log.size(); i++) {
            Attempt a = log.get(i);
            if (a.provider().equals(was.provider()) && a.model().equals(was.model())) {
                retries.computeIfAbsent(new TargetKey(a.provider(), a.model()), k -> new LongAdder()).increment();
            } else {
                failovers.computeIfAbsent(new FailoverKey(was.provider() + "/" + was.model(), a.provider() + "/" + a.model()),
                        k -> new LongAdder()).increment();
            }
            was = a;
        }
    }

    private static void add(LongAdder a, long v) {
        if (v > 0) a.add(v);
    }

    @Override
    public void upstreamFailed(String provider, String kind) {
        if (provider == null) return;
        upstreamErrors.computeIfAbsent(new ErrorKey(provider, kind), k -> new LongAdder()).increment();
    }

    /** The exposition text of everything counted so far, and the JVM's figures. */
    public String render() {
        Exposition e = new Exposition();
        e.family("skiff_requests_total", "counter", "Requests answered, by provider, model, endpoint and status (refusals included).");
        for (var en : sorted(requests).entrySet()) {
            RequestKey k = en.getKey();
            e.sample("skiff_requests_total", en.getValue().sum(), "provider", k.provider, "model", k.model, "endpoint", k.endpoint,
                    "status", Integer.toString(k.status));
        }
        e.family("skiff_request_duration_seconds", "histogram", "Time from a call's start to its last byte, for requests that reached a provider.");
        for (var en : sorted(timings).entrySet()) {
            CallKey k = en.getKey();
            e.histogram("skiff_request_duration_seconds", en.getValue().latency, "provider", k.provider, "model", k.model, "endpoint", k.endpoint);
        }
        e.family("skiff_time_to_first_token_seconds", "histogram", "Time from a streamed call's start to its first event, for successful streams.");
        for (var en : sorted(timings).entrySet()) {
            CallKey k = en.getKey();
            if (en.getValue().ttft.sumMicros.sum() == 0 && count(en.getValue().ttft) == 0) continue;
            e.histogram("skiff_time_to_first_token_seconds", en.getValue().ttft, "provider", k.provider, "model", k.model, "endpoint", k.endpoint);
        }
        e.family("skiff_tokens_total", "counter", "Tokens by provider, model and class (input, cached_input, cache_write, output, reasoning; they do not overlap).");
        for (var en : sorted(tokens).entrySet()) {
            TokenKey k = en.getKey();
            for (int i = 0; i < CLASSES.length; i++) {
                e.sample("skiff_tokens_total", en.getValue()[i].sum(), "provider", k.provider, "model", k.model, "class", CLASSES[i]);
            }
        }
        e.family("skiff_cost_usd_total", "counter", "Cost in US dollars by provider, model and token class, from the price catalog; models without a price are left out.");
        Pricing p = pricing();
        for (var en : sorted(tokens).entrySet()) {
            TokenKey k = en.getKey();
            Pricing.Price price = p == null || k.model.equals(OTHER) ? null : p.find(k.type, k.model);
            if (price == null) continue;
            long[] picos = {price.input(), price.cachedInput(), price.cacheWrite(), price.output(), price.reasoning()};
            for (int i = 0; i < CLASSES.length; i++) {
                e.sample("skiff_cost_usd_total", en.getValue()[i].sum() * (double) picos[i] / 1e12, "provider", k.provider, "model", k.model,
                        "class", CLASSES[i]);
            }
        }
        e.family("skiff_upstream_errors_total", "counter", "Upstream calls that failed, by provider and kind (timeout, unreachable, broken).");
        for (var en : sorted(upstreamErrors).entrySet()) {
            e.sample("skiff_upstream_errors_total", en.getValue().sum(), "provider", en.getKey().provider, "kind", en.getKey().kind);
        }
        e.family("skiff_upstream_retries_total", "counter", "Attempts sent again to the same target after it failed, by provider and model.");
        for (var en : sorted(retries).entrySet()) {
            e.sample("skiff_upstream_retries_total", en.getValue().sum(), "provider", en.getKey().provider, "model", en.getKey().model);
        }
        e.family("skiff_failovers_total", "counter", "Attempts sent to the next target after one failed, by the target left (from) and the one tried (to).");
        for (var en : sorted(failovers).entrySet()) {
            e.sample("skiff_failovers_total", en.getValue().sum(), "from", en.getKey().from, "to", en.getKey().to);
        }
        List<Gauge> gs;
        List<Labeled> ls;
        synchronized (this) {
            gs = List.copyOf(gauges);
            ls = List.copyOf(labeled);
        }
        for (Gauge g : gs) {
            e.family(g.name, g.name.endsWith("_total") ? "counter" : "gauge", g.help);
            e.sample(g.name, g.value.getAsDouble());
        }
        for (Labeled l : ls) {
            e.family(l.name, l.name.endsWith("_total") ? "counter" : "gauge", l.help);
            for (var en : new TreeMap<>(l.values.get()).entrySet()) e.sample(l.name, en.getValue().doubleValue(), l.label, en.getKey());
        }
        jvm(e);
        return e.toString();
    }

    private static long count(Histogram h) {
        long n = 0;
        for (LongAdder a : h.counts) n += a.sum();
        return n;
    }

    private Pricing pricing() {
        Pricing p = loadedPricing;
        if (p == null) {
            try {
                p = pricing.get();
            } catch (RuntimeException ex) {
                return null;
            }
            loadedPricing = p;
        }
        return p;
    }

    /** Sorted by the key's text, so that scrapes list series in a stable order. */
    private static <K, V> Map<String, Map.Entry<K, V>> sortedEntries(Map<K, V> m) {
        Map<String, Map.Entry<K, V>> out = new TreeMap<>();
        for (Map.Entry<K, V> en : m.entrySet()) out.put(en.getKey().toString(), en);
        return out;
    }

    private static <K, V> Map<K, V> sorted(Map<K, V> m) {
        Map<K, V> out = new java.util.LinkedHashMap<>();
        for (Map.Entry<K, V> en : sortedEntries(m).values()) out.put(en.getKey(), en.getValue());
        return out;
    }

    /**
     * The JVM's figures from its management beans; a runtime without {@code java.management} (a
     * trimmed jlink image) gets the heap figures the Runtime knows.
     */
    private static void jvm(Exposition e) {
        try {
            JvmMetrics.write(e);
        } catch (LinkageError missing) {
            Runtime rt = Runtime.getRuntime();
            e.family("jvm_memory_used_bytes", "gauge", "Memory used, by area.");
            e.sample("jvm_memory_used_bytes", rt.totalMemory() - rt.freeMemory(), "area", "heap");
            e.family("jvm_memory_max_bytes", "gauge", "Most memory the area may use (-1: no limit).");
            e.sample("jvm_memory_max_bytes", rt.maxMemory(), "area", "heap");
        }
        e.family("skiff_netty_direct_memory_used_bytes", "gauge", "Direct memory Netty's allocator holds (pooled buffers included).");
        e.sample("skiff_netty_direct_memory_used_bytes", io.netty.util.internal.PlatformDependent.usedDirectMemory());
    }
}
