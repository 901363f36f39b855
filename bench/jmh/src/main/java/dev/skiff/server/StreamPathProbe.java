package dev.skiff.server;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.function.IntSupplier;

/**
 * {@link StreamPathBench}'s operations timed by the thread's CPU time rather than the clock, so that
 * a loaded machine's scheduling (a busy two-core VM) does not count: batches after a warm-up, the
 * median and least CPU ns per operation printed. {@code java -cp ... dev.skiff.server.StreamPathProbe [batches]}.
 */
public final class StreamPathProbe {
    public static void main(String[] args) {
        int batches = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        StreamPathBench b = new StreamPathBench();
        b.setUp();
        run("gatherStream", b::gatherStream, 20_000, batches);
        run("streamHead", b::streamHead, 200_000, batches);
        run("metricsFinished", () -> { b.metricsFinished(); return 0; }, 1_000_000, batches);
    }

    static int sink;

    private static void run(String name, IntSupplier op, int perBatch, int batches) {
        ThreadMXBean t = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < perBatch * 10; i++) sink += op.getAsInt(); // warm-up: C2
        double[] ns = new double[batches];
        for (int k = 0; k < batches; k++) {
            long c0 = t.getCurrentThreadCpuTime();
            for (int i = 0; i < perBatch; i++) sink += op.getAsInt();
            ns[k] = (t.getCurrentThreadCpuTime() - c0) / (double) perBatch;
        }
        Arrays.sort(ns);
        System.out.printf("%-16s cpu ns/op median %.1f min %.1f%n", name, ns[batches / 2], ns[0]);
    }
}
