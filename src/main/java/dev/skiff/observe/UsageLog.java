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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Records every request, off the request path: event loops only offer a record to one bounded,
 * lock-free queue ({@link RecordQueue}: never blocking; a full queue counts the record as dropped),
 * and a single writer thread drains it in batches. The writer wakes once per batch, not per record:
 * the first record after an idle spell wakes it, then it sleeps {@value #GATHER_MILLIS} ms while the
 * batch gathers (records offered meanwhile wake nobody), and takes everything queued. For each batch
 * it prices the records ({@link Pricing}), writes one JSON line per request to the usage log, and
 * hands the rows to the {@link UsageStore} in one transaction: the database sees a few transactions
 * a second, not one per request. Between batches it deletes rows older than the store's retention.
 *
 * <p>On shutdown the queue is drained and the last batch stored before the process exits, so an
 * accepted request is recorded even when the process stops right after it. A crash loses what was
 * not yet written: the batch being gathered, at most about {@value #GATHER_MILLIS} ms of requests.
 * A store that fails keeps its rows and is retried every second; beyond {@value #MAX_UNSTORED}
 * waiting rows the oldest are dropped and counted.
 */
public final class UsageLog implements AutoCloseable {
    private static final int CAPACITY = 65_536;
    static final int GATHER_MILLIS = 50;
    /** How often, while a batch gathers and audit records ride in rows, what has come is made rows (see {@link #drainLoop}). */
    static final int MAKE_MILLIS = 10;
    /** How long an idle writer sleeps before looking at failed writes and old rows again. */
    static final int IDLE_MILLIS = 200;
    static final int MAX_BATCH = 2_000;
    static final int MAX_UNSTORED = 200_000;

    /** Waiting records: a {@link UsageRecord}, or an {@link Audited} one whose row also carries its audit record. */
    private final RecordQueue<Object> queue;
    private final OutputStream out;
    private Pricing pricing; // null until the writer's first batch loads the shipped catalog (kept off start-up)
    private final UsageStore store;
    private final Thread writer;
    private volatile boolean closing;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong unstoredLost = new AtomicLong();
    private volatile AuditDetails auditDetails; // null unless the audit log keeps records in usage rows
    private volatile boolean auditBodiesInRows; // records of bodies level too (the usage file's pages take them)

    /**
     * Makes the audit record a usage row carries, on the usage writer's thread, from the request's
     * record and its trail (let go once the record is made); null when none can be made.
     */
    @FunctionalInterface
    public interface AuditDetails {
        AuditInRow detail(UsageRecord record, RequestTrail trail);
    }

    /**
     * An audit record as a usage row keeps it: its JSON, and at bodies level the bodies' bytes (in the
     * slots of {@link UsageRow#auditBodies}; null when none are kept).
     */
    public record AuditInRow(byte[] utf8, byte[][] bodies) {
        /** The record's JSON as text. */
        public String json() {
            return new String(utf8, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** A record whose row carries its audit record, made from {@code trail} by the writer. */
    private record Audited(UsageRecord record, RequestTrail trail) {}

    private UsageLog(OutputStream out, Pricing pricing, UsageStore store) {
        this.out = out;
        this.pricing = pricing;
        this.store = store;
        boolean any = out != null || store != null;
        this.queue = any ? new RecordQueue<>(CAPACITY) : null;
        if (any) {
            writer = Thread.ofPlatform().name("skiff-usage-log").daemon(true).unstarted(this::drainLoop);
            writer.start();
        } else {
            writer = null;
        }
    }

    /** {@code stdout}, {@code off}, or a file to append to; priced with the shipped catalog, stored nowhere. */
    public static UsageLog open(String target) throws IOException {
        return open(target, null, null);
    }

    /**
     * @param target  {@code stdout}, {@code off}, or a file to append the JSON lines to
     * @param pricing what prices each record; null loads the shipped catalog when the first record
     *                arrives, on the writer thread (parsing it costs tens of milliseconds, kept off start-up)
     * @param store   where rows are stored (null: nowhere); closed by {@link #close()}
     */
    public static UsageLog open(String target, Pricing pricing, UsageStore store) throws IOException {
        return switch (target) {
            case "off" -> new UsageLog(null, pricing, store);
            case "stdout" -> new UsageLog(new PrintStream(new FileOutputStream(java.io.FileDescriptor.out), false), pricing, store);
            default -> new UsageLog(new FileOutputStream(target, true), pricing, store);
        };
    }

    /**
     * Never blocks nor takes a lock: when the writer cannot keep up the record is counted as dropped
     * instead. Wakes the writer only when it is idle (see {@link RecordQueue}).
     */
    public void record(UsageRecord r) {
        if (queue == null) return;
        if (!queue.offer(r)) dropped.incrementAndGet();
    }

    /**
     * The audit log keeps its records in the usage rows from now on, those of bodies level too: one row
     * per request written instead of two. Only with a store.
     */
    public void auditInRows(AuditDetails details) {
        auditInRows(details, true);
    }

    /**
     * As {@link #auditInRows(AuditDetails)}; records of bodies level only when {@code bodiesToo} (else they
     * go to the audit log's own table). Set when the audit log is first turned on (at start-up or later).
     */
    public void auditInRows(AuditDetails details, boolean bodiesToo) {
        if (store == null) throw new IllegalStateException("audit records in usage rows need the usage store");
        this.auditBodiesInRows = bodiesToo;
        this.auditDetails = details;
    }

    /** Records of bodies level go in usage rows too from now on (when the usage file's pages came to take them). */
    public void auditBodiesInRows(boolean v) {
        this.auditBodiesInRows = v;
    }

    /** {@link #auditsInRow(UsageRecord)} for a request captured as {@code trail} (whose level it was captured at decides). */
    public boolean auditsInRow(UsageRecord r, RequestTrail trail) {
        if (trail.auditsBodies() && !auditBodiesInRows) return false;
        return auditsInRow(r);
    }

    /**
     * Whether {@code r}'s audit record goes in its usage row ({@link #record(UsageRecord, RequestTrail)}):
     * the audit log keeps them there, the record is {@link #stored}, and it can be found again without an
     * index by request id, which would cost every row (measured: 2.3 µs a row): its id is one Skiff made,
     * which says when it was made, and the request ended within {@link #AUDIT_FIND_WINDOW_MS} of it, so
     * the usage rows' time index narrows the search to that span. Others (ids clients sent, longer
     * requests) go to the audit log's own table, which indexes request ids.
     */
    public boolean auditsInRow(UsageRecord r) {
        if (auditDetails == null || !stored(r)) return false;
        long made = madeAt(r.requestId());
        return made >= 0 && r.timestampMs() >= made && r.timestampMs() - made <= AUDIT_FIND_WINDOW_MS;
    }

    /** How long after its request id was made a request may end and still have its audit record in its usage row. */
    public static final long AUDIT_FIND_WINDOW_MS = 60_000;

    /** When a request id Skiff made was made (epoch ms), or -1 for an id it did not make. */
    public static long madeAt(String requestId) {
        return dev.skiff.dialect.Ids.orderedCompactMillis(requestId, "req_");
    }

    /**
     * As {@link #record(UsageRecord)}, and the row carries the audit record the writer makes from
     * {@code trail} (which it then releases; so does a full queue). For records {@link #auditsInRow} takes only.
     */
    public void record(UsageRecord r, RequestTrail trail) {
        if (!queue.offer(new Audited(r, trail))) {
            trail.release();
            dropped.incrementAndGet();
        }
    }

    /** Records dropped so far because the queue was full. */
    public long dropped() {
        return dropped.get();
    }

    /** The store rows go to, or null. */
    public UsageStore store() {
        return store;
    }

    private void drainLoop() {
        List<Object> batch = new ArrayList<>(1024);
        List<UsageRow> unstored = new ArrayList<>();
        JsonGenerator g = null;
        long retryAt = 0;
        long reportedDrops = 0, reportedAt = 0;
        try {
            if (out != null) {
                g = Json.FACTORY.createGenerator(out);
                g.setRootValueSeparator(null);
            }
            while (true) {
                if (queue.isEmpty() && !closing) queue.await(TimeUnit.MILLISECONDS.toNanos(IDLE_MILLIS));
                if (!queue.isEmpty()) {
                    // Let a batch gather, asleep: producers do not wake a writer that is not idle. While audit
                    // records ride in rows, what has come is made rows every MAKE_MILLIS meanwhile: a trail
                    // waiting in the queue is a graph of headers and captures that each young collection
                    // copies, its row a few arrays (measured on the audit writer: 4 us of GC a request at
                    // bodies level with trails waiting 100 ms, 0.5 with rows made every 10).
                    long storeAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GATHER_MILLIS);
                    for (long left = storeAt - System.nanoTime(); left > 0 && !closing; left = storeAt - System.nanoTime()) {
                        pause(auditDetails == null ? left : Math.min(left, TimeUnit.MILLISECONDS.toNanos(MAKE_MILLIS)));
                        if (auditDetails != null && queue.drainTo(batch, MAX_BATCH) > 0) g = rows(batch, unstored, g);
                    }
                    while (queue.drainTo(batch, MAX_BATCH) > 0) g = rows(batch, unstored, g);
                    if (g != null) g = flushOrStop(g);
                }
                if (!unstored.isEmpty() && System.nanoTime() - retryAt >= 0) {
                    if (store(unstored)) {
                        let(unstored);
                    } else {
                        retryAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                        if (unstored.size() > MAX_UNSTORED) {
                            int over = unstored.size() - MAX_UNSTORED;
                            let(unstored.subList(0, over));
                            unstoredLost.addAndGet(over);
                        }
                    }
                }
                if (store != null && !closing) store.sweepExpired(System.currentTimeMillis());
                long drops = dropped.get();
                if (drops > reportedDrops && System.nanoTime() - reportedAt > TimeUnit.SECONDS.toNanos(10)) {
                    System.err.println("skiff: usage recording dropped " + (drops - reportedDrops)
                            + " requests (queue full: the writer cannot keep up); " + drops + " in all");
                    reportedDrops = drops;
                    reportedAt = System.nanoTime();
                }
                if (closing && queue.isEmpty()) break;
            }
            if (!unstored.isEmpty() && !store(unstored)) unstoredLost.addAndGet(unstored.size());
            let(unstored);
            if (g != null) g.close();
        } catch (IOException e) {
            System.err.println("skiff: usage log failed: " + e.getMessage());
        }
        long lost = dropped.get() - reportedDrops;
        if (lost > 0) System.err.println("skiff: usage recording dropped " + lost + " requests (writer too slow)");
        if (unstoredLost.get() > 0) System.err.println("skiff: usage store lost " + unstoredLost.get() + " rows it could not write");
        if (store != null) store.close();
    }

    /**
     * Turns the records of {@code batch} into rows (priced, their audit records made): each written to
     * the usage log {@code g} (the generator returned: null once the log cannot be written), those
     * stored added to {@code unstored}. Empties {@code batch}.
     */
    private JsonGenerator rows(List<Object> batch, List<UsageRow> unstored, JsonGenerator g) {
        if (pricing == null) pricing = Pricing.shipped();
        for (Object o : batch) {
            UsageRecord r = o instanceof Audited a ? a.record() : (UsageRecord) o;
            UsageRow row = UsageRow.of(r, pricing);
            if (o instanceof Audited a) row = audit(row, a);
            if (g != null) g = writeOrStop(g, row);
            if (store != null && stored(r)) unstored.add(row);
        }
        batch.clear();
        return g;
    }

    /**
     * Whether a record goes to the store: the model traffic usage is about. Admin calls and a key's
     * own {@code GET /v1/usage} are the platform's bookkeeping, not usage of a model: they keep their
     * line in the usage log, but neither count as requests in the totals nor appear in a key's usage.
     */
    static boolean stored(UsageRecord r) {
        String e = r.endpoint();
        return !e.equals(ADMIN_ENDPOINT) && !e.equals(USAGE_ENDPOINT);
    }

    static final String ADMIN_ENDPOINT = "admin";
    static final String USAGE_ENDPOINT = "usage";

    /**
     * {@code row} carrying the audit record of {@code a} (none when it cannot be made: said by the
     * maker), its trail let go. The bodies' share of the capture budget stays held by the row until it
     * is stored or dropped ({@link #let}), so the heap that rows waiting for the store hold stays bounded.
     */
    private UsageRow audit(UsageRow row, Audited a) {
        AuditInRow made = null;
        try {
            made = auditDetails.detail(a.record(), a.trail());
        } finally {
            if (made == null || made.bodies() == null) a.trail().release();
        }
        if (made == null) return row;
        if (made.bodies() == null) return row.withAudit(made.utf8(), null, 0);
        return row.withAudit(made.utf8(), made.bodies(), a.trail().handOver());
    }

    /** Clears {@code rows} (stored, or given up), giving back the capture budget their bodies held. */
    private static void let(List<UsageRow> rows) {
        long held = 0;
        for (UsageRow r : rows) held += r.auditHeld();
        if (held > 0) RequestTrail.giveBack(held);
        rows.clear();
    }

    /** Sleeps {@code nanos} (less if closing): the queue fills meanwhile without waking anyone. */
    private void pause(long nanos) {
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0 && !closing; left = deadline - System.nanoTime()) LockSupport.parkNanos(this, left);
    }

    private boolean store(List<UsageRow> rows) {
        try {
            store.write(rows);
            return true;
        } catch (Exception e) {
            System.err.println("skiff: usage store " + store.describe() + " failed to write " + rows.size() + " rows (kept, retried): " + e.getMessage());
            return false;
        }
    }

    /** Writes a line; a log that cannot be written stops logging (the store goes on). */
    private static JsonGenerator writeOrStop(JsonGenerator g, UsageRow row) {
        try {
            write(g, row);
            return g;
        } catch (IOException e) {
            System.err.println("skiff: usage log failed: " + e.getMessage());
            return null;
        }
    }

    private static JsonGenerator flushOrStop(JsonGenerator g) {
        try {
            g.flush();
            return g;
        } catch (IOException e) {
            System.err.println("skiff: usage log failed: " + e.getMessage());
            return null;
        }
    }

    private static void write(JsonGenerator g, UsageRow row) throws IOException {
        UsageRecord r = row.record();
        g.writeStartObject();
        g.writeStringField("event", "request");
        g.writeNumberField("ts", r.timestampMs());
        g.writeStringField("request_id", r.requestId());
        g.writeStringField("endpoint", r.endpoint());
        g.writeStringField("provider", r.provider());
        g.writeStringField("model", r.model());
        // A passthrough request may name no model at all (null).
        if (r.requestedModel() != null && !r.requestedModel().equals(r.model())) g.writeStringField("requested_model", r.requestedModel());
        if (r.keyId() != null) g.writeStringField("key_id", r.keyId());
        if (r.userPath() != null) g.writeStringField("user_path", r.userPath());
        if (r.endUser() != null) g.writeStringField("end_user", r.endUser());
        g.writeBooleanField("stream", r.stream());
        g.writeNumberField("status", r.status());
        Usage u = r.usage();
        if (u.promptTokens() >= 0) g.writeNumberField("prompt_tokens", u.promptTokens());
        if (u.completionTokens() >= 0) g.writeNumberField("completion_tokens", u.completionTokens());
        if (u.totalTokens() >= 0) g.writeNumberField("total_tokens", u.totalTokens());
        if (u.cachedTokens() >= 0) g.writeNumberField("cached_tokens", u.cachedTokens());
        if (u.cacheCreationTokens() >= 0) g.writeNumberField("cache_write_tokens", u.cacheCreationTokens());
        if (u.reasoningTokens() >= 0) g.writeNumberField("reasoning_tokens", u.reasoningTokens());
        // Unknown (a model the catalog does not price, usage not reported) is written as null, never 0.
        g.writeFieldName("cost_usd");
        if (row.costNanos() == null) g.writeNull();
        else g.writeNumber(Pricing.usd(row.costNanos()).toPlainString());
        // A response Skiff wrote at once, with no call behind it, has no latency worth the field (-1).
        if (r.latencyMs() >= 0) g.writeNumberField("latency_ms", Math.round(r.latencyMs() * 1000) / 1000.0);
        if (r.ttfbMs() >= 0) g.writeNumberField("ttfb_ms", Math.round(r.ttfbMs() * 1000) / 1000.0);
        if (r.ttftMs() >= 0) g.writeNumberField("ttft_ms", Math.round(r.ttftMs() * 1000) / 1000.0);
        if (r.error() != null) g.writeStringField("error", r.error());
        if (r.droppedFields() != null) g.writeStringField("dropped_fields", r.droppedFields());
        if (r.attemptLog() != null) {
            g.writeNumberField("attempts", r.attempts());
            g.writeArrayFieldStart("attempt_log");
            for (dev.skiff.routing.Attempt a : r.attemptLog()) {
                g.writeStartObject();
                g.writeStringField("provider", a.provider());
                g.writeStringField("model", a.model());
                g.writeNumberField("status", a.status());
                if (a.error() != null) g.writeStringField("error", a.error());
                g.writeNumberField("duration_ms", Math.round(a.durationMs() * 1000) / 1000.0);
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        g.writeEndObject();
        g.writeRaw('\n');
    }

    /** Drains what is queued, stores the last batch and stops the writer (closing the store); waits up to ten seconds. */
    @Override
    public void close() {
        if (writer == null) return;
        closing = true;
        queue.wake();
        LockSupport.unpark(writer); // out of a gathering pause
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
