package dev.skiff.observe.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * A Prometheus histogram of seconds with fixed bounds: one LongAdder per bucket (not cumulative;
 * summed when written), and the sum kept in microseconds so that it is a LongAdder too. Recording
 * takes no lock.
 */
final class Histogram {
    final double[] bounds;
    final LongAdder[] counts;
    final LongAdder sumMicros = new LongAdder();

    Histogram(double[] bounds) {
        this.bounds = bounds;
        this.counts = new LongAdder[bounds.length + 1];
        for (int i = 0; i < counts.length; i++) counts[i] = new LongAdder();
    }

    void observe(double seconds) {
        int i = 0;
        while (i < bounds.length && seconds > bounds[i]) i++;
        counts[i].increment();
        sumMicros.add(Math.round(seconds * 1e6));
    }
}
