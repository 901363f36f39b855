package dev.skiff.observe.metrics;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.util.List;

/** The JVM's figures from its management beans; a class of its own so that a runtime without java.management fails only here. */
final class JvmMetrics {
    private JvmMetrics() {}

    static void write(Exposition e) {
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        e.family("jvm_memory_used_bytes", "gauge", "Memory used, by area.");
        e.sample("jvm_memory_used_bytes", mem.getHeapMemoryUsage().getUsed(), "area", "heap");
        e.sample("jvm_memory_used_bytes", mem.getNonHeapMemoryUsage().getUsed(), "area", "nonheap");
        e.family("jvm_memory_committed_bytes", "gauge", "Memory committed, by area.");
        e.sample("jvm_memory_committed_bytes", mem.getHeapMemoryUsage().getCommitted(), "area", "heap");
        e.sample("jvm_memory_committed_bytes", mem.getNonHeapMemoryUsage().getCommitted(), "area", "nonheap");
        e.family("jvm_memory_max_bytes", "gauge", "Most memory the area may use (-1: no limit).");
        e.sample("jvm_memory_max_bytes", mem.getHeapMemoryUsage().getMax(), "area", "heap");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        e.family("jvm_threads_current", "gauge", "Live threads.");
        e.sample("jvm_threads_current", threads.getThreadCount());
        e.family("jvm_threads_daemon", "gauge", "Live daemon threads.");
        e.sample("jvm_threads_daemon", threads.getDaemonThreadCount());
        List<GarbageCollectorMXBean> gcs = ManagementFactory.getGarbageCollectorMXBeans();
        e.family("jvm_gc_collection_seconds_count", "counter", "Collections, by collector.");
        for (GarbageCollectorMXBean gc : gcs) e.sample("jvm_gc_collection_seconds_count", Math.max(gc.getCollectionCount(), 0), "gc", gc.getName());
        e.family("jvm_gc_collection_seconds_sum", "counter", "Time spent collecting, by collector.");
        for (GarbageCollectorMXBean gc : gcs) e.sample("jvm_gc_collection_seconds_sum", Math.max(gc.getCollectionTime(), 0) / 1000.0, "gc", gc.getName());
        List<BufferPoolMXBean> pools = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class);
        e.family("jvm_buffer_pool_used_bytes", "gauge", "Buffer memory used, by pool (direct, mapped).");
        for (BufferPoolMXBean b : pools) e.sample("jvm_buffer_pool_used_bytes", b.getMemoryUsed(), "pool", b.getName());
        e.family("jvm_buffer_pool_capacity_bytes", "gauge", "Buffer capacity, by pool.");
        for (BufferPoolMXBean b : pools) e.sample("jvm_buffer_pool_capacity_bytes", b.getTotalCapacity(), "pool", b.getName());
        e.family("process_uptime_seconds", "gauge", "Time since the JVM started.");
        e.sample("process_uptime_seconds", ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0);
        e.family("process_cpu_seconds_total", "counter", "CPU time the process used.");
        try {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                e.sample("process_cpu_seconds_total", os.getProcessCpuTime() / 1e9);
            }
        } catch (LinkageError noJdkManagement) {
            // jdk.management is not in this runtime: no CPU figure
        }
    }
}
