package dev.skiff.observe;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A question to the usage store: totals over a time range, optionally narrowed to a key, a user path
 * (its whole subtree: {@code /acme} includes {@code /acme/support/bot}), an end user, a model or a
 * provider, and grouped by one of them or by UTC day. Grouping by path at a depth rolls each path up
 * to its first {@code depth} segments.
 *
 * @param fromMs  start of the range, inclusive (epoch ms)
 * @param toMs    end of the range, exclusive (epoch ms)
 * @param groupBy how rows are grouped
 * @param depth   for {@link GroupBy#PATH}: segments kept (0: the full path)
 */
public record UsageQuery(long fromMs, long toMs, GroupBy groupBy, int depth, String keyId, String path, String endUser, String model,
                         String provider) {
    /** What rows are grouped by; {@code NONE} gives one total. */
    public enum GroupBy {
        NONE, KEY, PATH, END_USER, MODEL, PROVIDER, DAY;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static GroupBy of(String s) {
            for (GroupBy g : values()) if (g.id().equals(s)) return g;
            throw new IllegalArgumentException("group_by must be one of key, path, end_user, model, provider, day (got '" + s + "')");
        }
    }

    /** The longest range one query may cover: a year and a day. */
    public static final long MAX_RANGE_MS = 367L * 86_400_000L;

    public UsageQuery {
        if (toMs <= fromMs) throw new IllegalArgumentException("'to' must be after 'from'");
        if (depth < 0 || depth > 64) throw new IllegalArgumentException("depth must be between 0 and 64");
        if (path != null) path = normalizePath(path);
    }

    /** A path filter as written: starts with '/', no empty, '.' or '..' segments; a trailing '/' is dropped. */
    static String normalizePath(String p) {
        if (p.isEmpty() || p.charAt(0) != '/') throw new IllegalArgumentException("path must start with '/' (got '" + p + "')");
        String s = p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
        if (s.equals("/")) return s;
        for (String seg : s.substring(1).split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) throw new IllegalArgumentException("path '" + p + "' has an empty, '.' or '..' segment");
        }
        return s;
    }

    /**
     * A time as the API takes it: epoch milliseconds, an ISO instant ({@code 2026-12-06T10:00:00Z}) or
     * a UTC date ({@code 2026-12-06}, its midnight).
     */
    public static long parseTime(String s, String name) {
        String v = s.strip();
        try {
            if (v.chars().allMatch(Character::isDigit) && !v.isEmpty() && v.length() <= 15) return Long.parseLong(v);
            if (v.length() == 10) return LocalDate.parse(v).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
            return Instant.parse(v).toEpochMilli();
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new IllegalArgumentException("'" + name + "' must be a date (2026-12-06), an ISO time (2026-12-06T10:00:00Z) or epoch milliseconds (got '" + s + "')");
        }
    }

    /** The first {@code depth} segments of a path ({@code /acme/support/bot} at 1 is {@code /acme}); 0 keeps it whole. */
    static String truncate(String path, int depth) {
        if (path == null || depth == 0) return path;
        int i = 0, seen = 0;
        while (true) {
            int next = path.indexOf('/', i + 1);
            if (next < 0) return path;
            if (++seen == depth) return path.substring(0, next);
            i = next;
        }
    }

    /** One group's totals. {@code costNanos} sums the known costs only; {@code unknownCostRequests} counts the others. */
    public record Totals(String group, long requests, long errors, long inputTokens, long cachedInputTokens, long cacheWriteTokens,
                         long outputTokens, long reasoningTokens, long costNanos, long unknownCostRequests) {
        public long totalTokens() {
            return inputTokens + cachedInputTokens + cacheWriteTokens + outputTokens + reasoningTokens;
        }

        public BigDecimal costUsd() {
            return Pricing.usd(costNanos);
        }

        Totals plus(Totals o, String group) {
            return new Totals(group, requests + o.requests, errors + o.errors, inputTokens + o.inputTokens,
                    cachedInputTokens + o.cachedInputTokens, cacheWriteTokens + o.cacheWriteTokens, outputTokens + o.outputTokens,
                    reasoningTokens + o.reasoningTokens, costNanos + o.costNanos, unknownCostRequests + o.unknownCostRequests);
        }
    }

    /** The groups in order, and their sum. */
    public record Result(UsageQuery query, List<Totals> groups, Totals total) {
        /** Rolls path groups up to the query's depth, merging those that become equal. */
        static Result of(UsageQuery q, List<Totals> rows) {
            List<Totals> groups = rows;
            if (q.groupBy() == GroupBy.PATH && q.depth() > 0) {
                Map<String, Totals> merged = new LinkedHashMap<>();
                for (Totals t : rows) {
                    String g = truncate(t.group(), q.depth());
                    merged.merge(g == null ? "\0null" : g, new Totals(g, t.requests, t.errors, t.inputTokens, t.cachedInputTokens,
                            t.cacheWriteTokens, t.outputTokens, t.reasoningTokens, t.costNanos, t.unknownCostRequests), (a, b) -> a.plus(b, g));
                }
                groups = new ArrayList<>(merged.values());
            }
            Totals total = new Totals(null, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            for (Totals t : groups) total = total.plus(t, null);
            return new Result(q, List.copyOf(groups), total);
        }

        /** CSV with a header row; cost in USD. Cells that a spreadsheet would run as formulas are quoted with a leading '. */
        public String csv() {
            StringBuilder b = new StringBuilder(256 + groups.size() * 96);
            b.append(query.groupBy() == GroupBy.NONE ? "total" : query.groupBy().id())
                    .append(",requests,errors,input_tokens,cached_input_tokens,cache_write_tokens,output_tokens,reasoning_tokens,total_tokens,cost_usd,unknown_cost_requests\r\n");
            for (Totals t : groups) {
                cell(b, t.group());
                b.append(',').append(t.requests).append(',').append(t.errors).append(',').append(t.inputTokens).append(',')
                        .append(t.cachedInputTokens).append(',').append(t.cacheWriteTokens).append(',').append(t.outputTokens).append(',')
                        .append(t.reasoningTokens).append(',').append(t.totalTokens()).append(',').append(t.costUsd().toPlainString())
                        .append(',').append(t.unknownCostRequests).append("\r\n");
            }
            return b.toString();
        }

        private static void cell(StringBuilder b, String v) {
            if (v == null) return;
            String s = v;
            if (!s.isEmpty() && "=+-@\t\r".indexOf(s.charAt(0)) >= 0) s = "'" + s;
            if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0 || !s.equals(v)) {
                b.append('"').append(s.replace("\"", "\"\"")).append('"');
            } else {
                b.append(s);
            }
        }
    }
}
