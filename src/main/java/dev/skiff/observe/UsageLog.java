package dev.skiff.observe;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.skiff.dialect.Json;
import dev.skiff.dialect.Usage;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Writes one structured (JSON) line per request, off the request path: event loops only enqueue, a
 * single writer thread drains in batches. On shutdown the queue is drained before the process exits,
 * so an accepted request is recorded even when the process stops right after it.
 */
public final class UsageLog implements AutoCloseable {
    private static final int CAPACITY = 65_536;

    private final BlockingQueue<UsageRecord> queue;
    private final OutputStream out;
    private final Thread writer;
    private volatile boolean closing;
    private long dropped;

    private UsageLog(OutputStream out) {
        this.out = out;
        this.queue = out == null ? null : new ArrayBlockingQueue<>(CAPACITY);
        if (out != null) {
            writer = Thread.ofPlatform().name("skiff-usage-log").daemon(true).unstarted(this::drainLoop);
            writer.start();
        } else {
            writer = null;
        }
    }

    /** {@code stdout}, {@code off}, or a file to append to. */
    public static UsageLog open(String target) throws IOException {
        return switch (target) {
            case "off" -> new UsageLog(null);
            case "stdout" -> new UsageLog(new PrintStream(new FileOutputStream(java.io.FileDescriptor.out), false));
            default -> new UsageLog(new FileOutputStream(target, true));
        };
    }

    /** Never blocks: when the writer cannot keep up the record is counted as dropped instead. */
    public void record(UsageRecord r) {
        if (queue == null) return;
        if (!queue.offer(r)) {
            synchronized (this) {
                dropped++;
            }
        }
    }

    private void drainLoop() {
        List<UsageRecord> batch = new ArrayList<>(1024);
        try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
            g.setRootValueSeparator(null);
            while (!closing || !queue.isEmpty()) {
                UsageRecord first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) continue;
                batch.add(first);
                queue.drainTo(batch, 4095);
                for (UsageRecord r : batch) write(g, r);
                batch.clear();
                g.flush();
            }
            long lost;
            synchronized (this) {
                lost = dropped;
            }
            if (lost > 0) System.err.println("skiff: usage log dropped " + lost + " records (writer too slow)");
        } catch (IOException e) {
            System.err.println("skiff: usage log failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void write(JsonGenerator g, UsageRecord r) throws IOException {
        g.writeStartObject();
        g.writeStringField("event", "request");
        g.writeNumberField("ts", r.timestampMs());
        g.writeStringField("request_id", r.requestId());
        g.writeStringField("endpoint", r.endpoint());
        g.writeStringField("provider", r.provider());
        g.writeStringField("model", r.model());
        // A passthrough request may name no model at all (null).
        if (r.requestedModel() != null && !r.requestedModel().equals(r.model())) g.writeStringField("requested_model", r.requestedModel());
        g.writeBooleanField("stream", r.stream());
        g.writeNumberField("status", r.status());
        Usage u = r.usage();
        if (u.promptTokens() >= 0) g.writeNumberField("prompt_tokens", u.promptTokens());
        if (u.completionTokens() >= 0) g.writeNumberField("completion_tokens", u.completionTokens());
        if (u.totalTokens() >= 0) g.writeNumberField("total_tokens", u.totalTokens());
        if (u.cachedTokens() >= 0) g.writeNumberField("cached_tokens", u.cachedTokens());
        if (u.reasoningTokens() >= 0) g.writeNumberField("reasoning_tokens", u.reasoningTokens());
        // A response Skiff wrote at once, with no call behind it, has no latency worth the field (-1).
        if (r.latencyMs() >= 0) g.writeNumberField("latency_ms", Math.round(r.latencyMs() * 1000) / 1000.0);
        if (r.ttfbMs() >= 0) g.writeNumberField("ttfb_ms", Math.round(r.ttfbMs() * 1000) / 1000.0);
        if (r.error() != null) g.writeStringField("error", r.error());
        if (r.droppedFields() != null) g.writeStringField("dropped_fields", r.droppedFields());
        g.writeEndObject();
        g.writeRaw('\n');
    }

    /** Drains what is queued and stops the writer; waits up to five seconds. */
    @Override
    public void close() {
        if (writer == null) return;
        closing = true;
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
