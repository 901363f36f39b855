package dev.skiff.observe;

import dev.skiff.config.ProviderType;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * What a model's tokens cost, per provider type: the catalog shipped in the jar
 * ({@code dev/skiff/pricing.yaml}), with a user's file ({@code SKIFF_PRICING_FILE}) adding or
 * replacing entries. Prices are kept as integers, picodollars per token (which is micro-dollars per
 * million tokens), and costs come out in nanodollars, so sums over millions of requests do not drift
 * the way doubles would.
 *
 * <p>A model is looked up by its name as the provider was asked for it, then with a dated snapshot
 * suffix taken off ({@code gpt-4o-2024-08-06}, {@code claude-3-5-haiku-20241022}), then without the
 * prefixes providers put before a vendor's model ({@code openai/gpt-4o} on OpenRouter,
 * {@code us.anthropic.claude-...-v1:0} and inference-profile ARNs on Bedrock). A model found nowhere
 * has no price: its cost is unknown (null), never 0. Local servers cost nothing, whatever they serve.
 */
public final class Pricing {
    /** One model's prices, picodollars per token of each class. */
    public record Price(long input, long cachedInput, long cacheWrite, long output, long reasoning) {
        public static final Price FREE = new Price(0, 0, 0, 0, 0);

        /** Picodollars for these tokens. */
        long picos(Tokens t) {
            return Math.addExact(Math.addExact(Math.multiplyExact(t.input(), input), Math.multiplyExact(t.cachedInput(), cachedInput)),
                    Math.addExact(Math.multiplyExact(t.cacheWrite(), cacheWrite),
                            Math.addExact(Math.multiplyExact(t.output(), output), Math.multiplyExact(t.reasoning(), reasoning))));
        }
    }

    private static final String SHIPPED = "dev/skiff/pricing.yaml";
    private static final Pattern DATE_SUFFIX = Pattern.compile("(-\\d{4}-\\d{2}-\\d{2}|-\\d{8}|@\\d{8}|-\\d{3,4}|-latest)$");
    private static final Pattern BEDROCK_VERSION = Pattern.compile("(-v\\d+(:\\d+)?|:\\d+)$");
    private static final Pattern BEDROCK_REGION = Pattern.compile("^(us|eu|apac|global|us-gov|jp|au|ca)\\.");
    private static final Pattern BEDROCK_VENDOR = Pattern.compile("^(anthropic|amazon|meta|mistral|cohere|ai21|deepseek|openai|qwen|writer)\\.");
    /** OpenRouter's vendor prefixes, for models whose price is the vendor's own. */
    private static final Map<String, ProviderType> VENDORS = Map.of("openai", ProviderType.OPENAI, "anthropic", ProviderType.ANTHROPIC,
            "google", ProviderType.GEMINI, "x-ai", ProviderType.XAI, "deepseek", ProviderType.DEEPSEEK, "mistralai", ProviderType.MISTRAL);

    private final Map<ProviderType, Map<String, Price>> tables;
    private final Set<ProviderType> free;
    private final Map<ProviderType, ProviderType> sameAs; // a type priced exactly as another (Azure as OpenAI)
    private final Map<ProviderType, List<ProviderType>> also; // tables consulted after a type's own (Claude on Bedrock)
    private final String checked;
    /**
     * Lookups already made (model names repeat), per provider type (by ordinal): name to its price, or
     * NO_PRICE. A repeated model costs one hash lookup on the name the record already holds, no key
     * built. Each map is bounded by clearing.
     */
    @SuppressWarnings("unchecked")
    private final java.util.concurrent.ConcurrentHashMap<String, Price>[] found = new java.util.concurrent.ConcurrentHashMap[ProviderType.values().length];
    private static final Price NO_PRICE = new Price(-1, -1, -1, -1, -1);
    private static final int MAX_REMEMBERED = 10_000;

    private Pricing(Map<ProviderType, Map<String, Price>> tables, Set<ProviderType> free, Map<ProviderType, ProviderType> sameAs,
                    Map<ProviderType, List<ProviderType>> also, String checked) {
        this.tables = tables;
        this.free = free;
        this.sameAs = sameAs;
        this.also = also;
        this.checked = checked;
        for (int i = 0; i < found.length; i++) found[i] = new java.util.concurrent.ConcurrentHashMap<>();
    }

    /** The shipped catalog, with {@code overrideFile} (may be null) applied on top. */
    public static Pricing load(String overrideFile) throws IOException {
        Pricing p = shipped();
        if (overrideFile == null) return p;
        try {
            return p.with(Files.readString(Path.of(overrideFile), StandardCharsets.UTF_8), overrideFile);
        } catch (IllegalArgumentException e) {
            throw new IOException(overrideFile + ": " + e.getMessage(), e);
        }
    }

    /** The catalog shipped in the jar. */
    public static Pricing shipped() {
        try (InputStream in = Pricing.class.getClassLoader().getResourceAsStream(SHIPPED)) {
            if (in == null) throw new IllegalStateException("missing resource " + SHIPPED);
            Pricing empty = new Pricing(new EnumMap<>(ProviderType.class), EnumSet.noneOf(ProviderType.class),
                    new EnumMap<>(ProviderType.class), new EnumMap<>(ProviderType.class), null);
            return empty.with(new String(in.readAllBytes(), StandardCharsets.UTF_8), SHIPPED);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + SHIPPED, e);
        }
    }

    /** When the shipped prices were last checked against the providers' pages. */
    public String checked() {
        return checked;
    }

    /**
     * A copy with the entries of {@code yaml} added, replacing those of the same provider and model.
     *
     * @throws IllegalArgumentException naming what is wrong in the document
     */
    Pricing with(String yaml, String label) {
        Object root = new Load(LoadSettings.builder().setLabel(label).build()).loadFromString(yaml);
        if (root == null) return this;
        if (!(root instanceof Map<?, ?> doc)) throw new IllegalArgumentException("expected a mapping with 'providers'");
        Map<ProviderType, Map<String, Price>> t = new EnumMap<>(ProviderType.class);
        tables.forEach((k, v) -> t.put(k, new HashMap<>(v)));
        Set<ProviderType> f = free.isEmpty() ? EnumSet.noneOf(ProviderType.class) : EnumSet.copyOf(free);
        Map<ProviderType, ProviderType> same = new EnumMap<>(ProviderType.class);
        same.putAll(sameAs);
        Map<ProviderType, List<ProviderType>> more = new EnumMap<>(ProviderType.class);
        more.putAll(also);
        String date = doc.get("checked") == null ? checked : String.valueOf(doc.get("checked"));
        for (Map.Entry<?, ?> e : doc.entrySet()) {
            String key = String.valueOf(e.getKey());
            switch (key) {
                case "checked", "notes" -> {}
                case "free" -> {
                    if (!(e.getValue() instanceof List<?> names)) throw new IllegalArgumentException("'free' must be a list of provider types");
                    for (Object n : names) f.add(type(String.valueOf(n)));
                }
                case "same_as" -> {
                    if (!(e.getValue() instanceof Map<?, ?> m)) throw new IllegalArgumentException("'same_as' must map a provider type to another");
                    m.forEach((a, b) -> same.put(type(String.valueOf(a)), type(String.valueOf(b))));
                }
                case "also" -> {
                    if (!(e.getValue() instanceof Map<?, ?> m)) throw new IllegalArgumentException("'also' must map a provider type to a list of others");
                    m.forEach((a, b) -> {
                        if (!(b instanceof List<?> l)) throw new IllegalArgumentException("also." + a + " must be a list of provider types");
                        more.put(type(String.valueOf(a)), l.stream().map(x -> type(String.valueOf(x))).toList());
                    });
                }
                case "providers" -> {
                    if (!(e.getValue() instanceof Map<?, ?> providers)) throw new IllegalArgumentException("'providers' must be a mapping");
                    for (Map.Entry<?, ?> pe : providers.entrySet()) {
                        ProviderType type = type(String.valueOf(pe.getKey()));
                        if (pe.getValue() == null) continue;
                        if (!(pe.getValue() instanceof Map<?, ?> models)) {
                            throw new IllegalArgumentException("providers." + pe.getKey() + " must map model names to prices");
                        }
                        Map<String, Price> table = t.computeIfAbsent(type, k -> new HashMap<>());
                        for (Map.Entry<?, ?> me : models.entrySet()) {
                            String model = String.valueOf(me.getKey()).toLowerCase(Locale.ROOT);
                            table.put(model, price(me.getValue(), "providers." + pe.getKey() + "." + me.getKey()));
                        }
                    }
                }
                default -> throw new IllegalArgumentException("unknown key '" + key + "' (expected checked, notes, free, same_as, also, providers)");
            }
        }
        return new Pricing(t, f, same, more, date);
    }

    private static ProviderType type(String id) {
        return ProviderType.fromId(id.strip().toLowerCase(Locale.ROOT))
                .orElseThrow(() -> new IllegalArgumentException("'" + id + "' is not a provider type"));
    }

    private static Price price(Object v, String where) {
        if (!(v instanceof Map<?, ?> m)) throw new IllegalArgumentException(where + " must be a mapping of prices (input, output, ...)");
        for (Object k : m.keySet()) {
            if (!Set.of("input", "cached_input", "cache_write", "output", "reasoning").contains(String.valueOf(k))) {
                throw new IllegalArgumentException(where + ": unknown price '" + k + "' (input, cached_input, cache_write, output, reasoning)");
            }
        }
        if (!m.containsKey("input") || !m.containsKey("output")) throw new IllegalArgumentException(where + " needs at least input and output");
        long input = picos(m.get("input"), where + ".input");
        long output = picos(m.get("output"), where + ".output");
        // A provider that names no cached price bills cache reads as input (it has no cache discount).
        long cached = m.containsKey("cached_input") ? picos(m.get("cached_input"), where + ".cached_input") : input;
        long write = m.containsKey("cache_write") ? picos(m.get("cache_write"), where + ".cache_write") : input;
        long reasoning = m.containsKey("reasoning") ? picos(m.get("reasoning"), where + ".reasoning") : output;
        return new Price(input, cached, write, output, reasoning);
    }

    /** USD per million tokens to picodollars per token: exact for any decimal written in the file. */
    static long picos(Object v, String where) {
        BigDecimal usdPerMillion;
        try {
            usdPerMillion = v instanceof Number n ? new BigDecimal(n.toString()) : new BigDecimal(String.valueOf(v).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": '" + v + "' is not a price in USD per million tokens");
        }
        if (usdPerMillion.signum() < 0) throw new IllegalArgumentException(where + ": a price cannot be negative");
        BigDecimal p = usdPerMillion.movePointRight(6);
        if (p.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException(where + ": " + v + " has more precision than a millionth of a dollar per million tokens");
        }
        return p.longValueExact();
    }

    /** The price of {@code model} at a provider of {@code type}, or null when the catalog does not know it. */
    public Price find(ProviderType type, String model) {
        if (type == null) return null;
        if (model == null) return search(type, null);
        java.util.concurrent.ConcurrentHashMap<String, Price> known = found[type.ordinal()];
        Price p = known.get(model);
        if (p == null) {
            p = search(type, model);
            if (known.size() >= MAX_REMEMBERED) known.clear(); // a client inventing model names cannot grow it
            known.put(model, p == null ? NO_PRICE : p);
        }
        return p == NO_PRICE ? null : p;
    }

    private Price search(ProviderType type, String model) {
        if (free.contains(type)) return Price.FREE;
        if (model == null || model.isEmpty()) return null;
        ProviderType tableType = sameAs.getOrDefault(type, type);
        List<String> names = candidates(model);
        Price p = lookUp(tableType, names);
        if (p != null) return p;
        List<ProviderType> others = also.getOrDefault(tableType, List.of());
        if (tableType == ProviderType.OPENROUTER) {
            // OpenRouter names a vendor's model vendor/model: only that vendor's table may price it.
            String m = model.strip().toLowerCase(Locale.ROOT);
            int slash = m.indexOf('/');
            ProviderType vendor = slash > 0 ? VENDORS.get(m.substring(0, slash)) : null;
            return vendor != null && others.contains(vendor) ? lookUp(vendor, names) : null;
        }
        for (ProviderType other : others) {
            p = lookUp(other, names);
            if (p != null) return p;
        }
        return null;
    }

    private Price lookUp(ProviderType type, List<String> names) {
        Map<String, Price> table = tables.getOrDefault(type, Map.of());
        for (String n : names) {
            Price p = table.get(n);
            if (p != null) return p;
        }
        return null;
    }

    /**
     * Cost in nanodollars (rounded half up) of {@code tokens} of {@code model}, or null when unknown:
     * the model has no price, or the provider reported no usage for an answer it gave.
     */
    public Long costNanos(ProviderType type, String model, Tokens tokens) {
        return costNanos(find(type, model), tokens);
    }

    /** As {@link #costNanos(ProviderType, String, Tokens)} with the price found already (null: unknown). */
    static Long costNanos(Price p, Tokens tokens) {
        if (p == null) return null;
        if (p == Price.FREE) return 0L;
        try {
            long picos = p.picos(tokens);
            return Math.addExact(picos, 500) / 1000;
        } catch (ArithmeticException e) {
            return null; // beyond any real request; not worth a wrong number
        }
    }

    /** The names to look {@code model} up by, most exact first. */
    static List<String> candidates(String model) {
        Set<String> out = new LinkedHashSet<>();
        String m = model.strip().toLowerCase(Locale.ROOT);
        out.add(m);
        out.add(DATE_SUFFIX.matcher(m).replaceFirst(""));
        String p = m;
        if (p.startsWith("arn:")) p = p.substring(p.lastIndexOf('/') + 1); // an inference-profile or model ARN
        int slash = p.indexOf('/');
        if (slash >= 0) p = p.substring(slash + 1); // vendor/model (OpenRouter), models/name (Gemini)
        p = BEDROCK_REGION.matcher(p).replaceFirst("");
        p = BEDROCK_VENDOR.matcher(p).replaceFirst("");
        p = BEDROCK_VERSION.matcher(p).replaceFirst("");
        out.add(p);
        out.add(DATE_SUFFIX.matcher(p).replaceFirst(""));
        // OpenRouter writes versions with dots (claude-sonnet-4.5) where Anthropic writes dashes.
        List<String> dashed = new ArrayList<>();
        for (String s : out) if (s.indexOf('.') >= 0) dashed.add(s.replace('.', '-'));
        out.addAll(dashed);
        return List.copyOf(out);
    }

    /** Dollars of a nanodollar amount, for display, without trailing zeros or an exponent. */
    public static BigDecimal usd(long nanos) {
        BigDecimal d = BigDecimal.valueOf(nanos, 9).stripTrailingZeros();
        return d.scale() < 0 ? d.setScale(0, RoundingMode.UNNECESSARY) : d;
    }
}
