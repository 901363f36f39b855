package dev.skiff.observe.metrics;

import java.util.Locale;

/**
 * Writes the Prometheus text exposition format (version 0.0.4): a HELP and TYPE line per family,
 * then its samples, label values escaped.
 */
final class Exposition {
    private final StringBuilder b = new StringBuilder(16 << 10);

    Exposition family(String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        return this;
    }

    /** One sample; {@code labels} are name, value pairs (null values are written empty). */
    Exposition sample(String name, double value, String... labels) {
        b.append(name);
        if (labels.length > 0) {
            b.append('{');
            for (int i = 0; i + 1 < labels.length; i += 2) {
                if (i > 0) b.append(',');
                b.append(labels[i]).append("=\"");
                escape(labels[i + 1] == null ? "" : labels[i + 1]);
                b.append('"');
            }
            b.append('}');
        }
        b.append(' ').append(number(value)).append('\n');
        return this;
    }

    private void escape(String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '"' -> b.append("\\\"");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
    }

    static String number(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "+Inf" : "-Inf";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return String.format(Locale.ROOT, "%s", v);
    }

    /** A histogram's buckets (cumulative), sum and count. */
    Exposition histogram(String name, Histogram h, String... labels) {
        long cumulative = 0;
        String[] withLe = java.util.Arrays.copyOf(labels, labels.length + 2);
        withLe[labels.length] = "le";
        for (int i = 0; i < h.counts.length; i++) {
            cumulative += h.counts[i].sum();
            withLe[labels.length + 1] = i < h.bounds.length ? number(h.bounds[i]) : "+Inf";
            sample(name + "_bucket", cumulative, withLe);
        }
        sample(name + "_sum", h.sumMicros.sum() / 1e6, labels);
        sample(name + "_count", cumulative, labels);
        return this;
    }

    @Override
    public String toString() {
        return b.toString();
    }
}
