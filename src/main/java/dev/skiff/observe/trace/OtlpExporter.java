package dev.skiff.observe.trace;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Exports spans over OTLP/HTTP (protobuf or JSON) in batches, from a thread of its own: event loops
 * only offer finished spans to a bounded queue (a full one drops and counts them), and the thread
 * sends a batch when {@code maxBatch} spans wait or {@code delayMs} has passed. A small own exporter
 * rather than the OpenTelemetry SDK: the SDK's jars and its start-up (autoconfiguration, a dozen
 * classes of providers and processors) would cost more than all of Skiff's tracing does, for the one
 * export path needed here. Uses the JDK's HttpURLConnection (java.base: nothing to add to the
 * distribution's runtime). An export that fails is said once a minute at most and its spans dropped.
 */
public final class OtlpExporter implements AutoCloseable {
    private final TraceConfig config;
    private final BlockingQueue<Span> queue;
    private final Thread thread;
    private final AtomicLong exported = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile boolean closing;
    private long lastComplaint;

    public OtlpExporter(TraceConfig config) {
        this.config = config;
        this.queue = new ArrayBlockingQueue<>(config.maxQueue());
        this.thread = Thread.ofPlatform().name("skiff-otlp").daemon(true).unstarted(this::loop);
        thread.start();
    }

    /** Never blocks. */
    void export(List<Span> spans) {
        for (Span s : spans) if (!queue.offer(s)) dropped.incrementAndGet();
    }

    public long exported() {
        return exported.get();
    }

    public long dropped() {
        return dropped.get();
    }

    public long failed() {
        return failed.get();
    }

    private void loop() {
        List<Span> batch = new ArrayList<>(config.maxBatch());
        while (true) {
            try {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.delayMs());
                while (batch.size() < config.maxBatch() && !closing) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) break;
                    Span s = queue.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
                    if (s != null) {
                        batch.add(s);
                        queue.drainTo(batch, config.maxBatch() - batch.size());
                    }
                }
                if (closing) queue.drainTo(batch);
                for (int from = 0; from < batch.size(); from += config.maxBatch()) {
                    send(batch.subList(from, Math.min(batch.size(), from + config.maxBatch())));
                }
                batch.clear();
                if (closing && queue.isEmpty()) return;
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void send(List<Span> spans) {
        if (spans.isEmpty()) return;
        try {
            byte[] body = config.json() ? OtlpEncoding.json(config, spans) : OtlpEncoding.protobuf(config, spans);
            HttpURLConnection c = (HttpURLConnection) config.endpoint().toURL().openConnection();
            c.setRequestMethod("POST");
            c.setDoOutput(true);
            c.setConnectTimeout(config.timeoutMs());
            c.setReadTimeout(config.timeoutMs());
            c.setRequestProperty("Content-Type", config.json() ? "application/json" : "application/x-protobuf");
            for (Map.Entry<String, String> h : config.headers().entrySet()) c.setRequestProperty(h.getKey(), h.getValue());
            c.setFixedLengthStreamingMode(body.length);
            try (OutputStream out = c.getOutputStream()) {
                out.write(body);
            }
            int status = c.getResponseCode();
            drain(status >= 400 ? c.getErrorStream() : c.getInputStream());
            if (status / 100 != 2) throw new IOException("HTTP " + status);
            exported.addAndGet(spans.size());
        } catch (IOException | RuntimeException e) {
            failed.addAndGet(spans.size());
            long now = System.nanoTime();
            if (lastComplaint == 0 || now - lastComplaint > TimeUnit.MINUTES.toNanos(1)) {
                lastComplaint = now;
                System.err.println("skiff: OTLP export to " + config.endpoint() + " failed (" + spans.size() + " spans dropped): " + e.getMessage());
            }
        }
    }

    /** Reads the answer out, so that the connection can be kept alive for the next export. */
    private static void drain(InputStream in) throws IOException {
        if (in == null) return;
        try (in) {
            in.transferTo(new ByteArrayOutputStream());
        }
    }

    /** Exports what waits, then stops; waits up to the export timeout. */
    @Override
    public void close() {
        closing = true;
        try {
            thread.join(config.timeoutMs() + 1000L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
