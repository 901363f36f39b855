package dev.skiff.observe.audit;

import dev.skiff.observe.CallObserver;
import dev.skiff.observe.RecordQueue;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.UsageRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The audit log's writer: event loops hand it each finished request (never blocking: a full queue
 * drops the record and counts it; the bodies' heap is bounded apart, see CaptureBudget),
 * and one thread redacts and stores them in batches of up to {@value #MAX_BATCH}, one transaction
 * each. The queue is the usage writer's {@link RecordQueue}: the writer gathers a batch asleep for
 * {@value #GATHER_MILLIS} ms, unseen by producers, so a busy gateway wakes it about once per batch
 * instead of once every request or two (a blocking queue signals a waiting consumer on each offer);
 * every {@value #MAKE_MILLIS} ms of that it turns what has come into rows, so that a record's trail
 * is let go within about that time, its row (a few arrays) waiting for the batch's transaction. It
 * also deletes what is older than the retention, hourly. On close the queue is drained and the last
 * batch stored.
 */
public final class AuditLog implements CallObserver, AutoCloseable {
    static final int GATHER_MILLIS = 100;
    /** How often, while a batch gathers, the records that have come are made rows (and their trails let go). */
    static final int MAKE_MILLIS = 10;
    /** How long an idle writer sleeps before looking at the purge and the drop count again. */
    private static final int IDLE_MILLIS = 200;
    /** Records per transaction at most: a bigger transaction writes each page it touches (the table's last ones, index pages) once for more rows. */
    static final int MAX_BATCH = 2_000;
    /** Records waiting at most: about 32 KB of heap per record (headers, the trail) against the heap's size, within 256 to 8192. */
    static final int CAPACITY = (int) Math.max(256, Math.min(8192, Runtime.getRuntime().maxMemory() / (32 << 10)));
    private static final long PURGE_EVERY_NANOS = TimeUnit.HOURS.toNanos(1);

    private static final String READS = dev.skiff.admin.AdminApi.PREFIX + "audit";

    /** A finished request, and the level it is recorded at (its trail's; the log's then when it has none). */
    private record Entry(UsageRecord record, RequestTrail trail, AuditConfig.Level level) {}

    private final AuditConfig config;
    /** The level now: requests without a trail are recorded while it is not off (see {@link #level(AuditConfig.Level)}). */
    private volatile AuditConfig.Level level;
    private final AuditStore store;
    private final Redactor redactor;
    private final RecordQueue<Entry> queue = new RecordQueue<>(CAPACITY);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final Thread writer;
    private volatile boolean closing;

    public AuditLog(AuditConfig config, AuditStore store) {
        this.config = config;
        this.level = config.level();
        this.store = store;
        this.redactor = new Redactor(config.redact());
        writer = Thread.ofPlatform().name("skiff-audit").daemon(true).unstarted(this::drainLoop);
        writer.start();
    }

    /** The configuration the log was opened with (its level the one it was opened at: see {@link #level()}). */
    public AuditConfig config() {
        return config;
    }

    /** The audit level now. */
    public AuditConfig.Level level() {
        return level;
    }

    /**
     * The audit level from now on (set by AuditSwitch, with the capture level of requests). Requests
     * captured before are recorded at the level they were captured at; while it is off, only those.
     */
    public void level(AuditConfig.Level l) {
        this.level = l;
    }

    public AuditStore store() {
        return store;
    }

    /**
     * What makes the audit records usage rows carry, for the usage writer's thread (one thread: the
     * maker keeps a buffer). Used when usage rows are stored: a request's record (and at bodies level
     * its bodies) is then in the row the usage writer writes anyway, not a row of its own here.
     */
    public dev.skiff.observe.UsageLog.AuditDetails rowDetails() {
        AuditDocument.Writer documents = new AuditDocument.Writer(redactor, config.level());
        return (record, trail) -> {
            try {
                if (trail.auditsBodies()) return documents.withBodiesInUsageRow(record, trail);
                return new dev.skiff.observe.UsageLog.AuditInRow(documents.inUsageRowUtf8(record, trail), null);
            } catch (RuntimeException | StackOverflowError ex) {
                System.err.println("skiff: audit record of " + record.requestId() + " could not be made: " + ex);
                return null;
            }
        };
    }

    /** Records dropped because the writer could not keep up. */
    public long dropped() {
        return dropped.get();
    }

    /** Records stored so far. */
    public long written() {
        return written.get();
    }

    @Override
    public void finished(UsageRecord record, RequestTrail trail) {
        AuditConfig.Level at;
        if (trail == null) {
            at = level; // nothing was captured: recorded (the record alone) while the log is on
            if (at == AuditConfig.Level.OFF) return;
        } else {
            if (trail.inUsageRow()) return; // its usage row carries it (see rowDetails)
            if (!trail.audited()) return; // begun while the log was off (traced only): not recorded; Observers lets it go
            at = trail.auditsBodies() ? AuditConfig.Level.BODIES : AuditConfig.Level.METADATA;
        }
        // Reading the audit log is not written to it: a dashboard polling it would fill it with itself.
        if (trail != null && "GET".equals(trail.method()) && trail.uri() != null && trail.uri().startsWith(READS)) {
            trail.release();
            return;
        }
        if (!queue.offer(new Entry(record, trail, at))) {
            if (trail != null) trail.release();
            dropped.incrementAndGet();
        }
    }

    private void drainLoop() {
        Rows pending = new Rows();
        List<Entry> drained = new ArrayList<>(256);
        AuditDocument.Writer documents = new AuditDocument.Writer(redactor, config.level());
        long purgeAt = System.nanoTime() + TimeUnit.MINUTES.toNanos(1); // not at start: the database opens with the first record
        long reportedDrops = 0;
        while (true) {
            if (queue.isEmpty() && !closing) queue.await(TimeUnit.MILLISECONDS.toNanos(IDLE_MILLIS));
            if (!queue.isEmpty()) {
                // Let a batch gather, asleep (producers do not wake a writer that is not idle), turning
                // what has come into rows every MAKE_MILLIS meanwhile, so trails do not wait the whole time.
                long storeAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GATHER_MILLIS);
                for (long left = storeAt - System.nanoTime(); left > 0 && !closing && pending.size() < MAX_BATCH; left = storeAt - System.nanoTime()) {
                    pause(Math.min(left, TimeUnit.MILLISECONDS.toNanos(MAKE_MILLIS)));
                    make(documents, drained, pending);
                }
                do {
                    make(documents, drained, pending);
                    try {
                        store(pending.rows);
                    } finally {
                        pending.clear();
                    }
                } while (!queue.isEmpty());
            }
            if (System.nanoTime() - purgeAt >= 0) {
                purgeAt = System.nanoTime() + PURGE_EVERY_NANOS;
                purge();
            }
            long drops = dropped.get();
            if (drops > reportedDrops) {
                System.err.println("skiff: audit log dropped " + (drops - reportedDrops) + " records (writer behind); " + drops + " in all");
                reportedDrops = drops;
            }
            if (closing && queue.isEmpty()) break;
        }
        store.close();
    }

    /**
     * Rows made and waiting to be stored, and the capture budget their bodies hold (taken over from
     * their trails: see {@link RequestTrail#handOver}), given back when they are cleared.
     */
    private static final class Rows {
        final List<AuditRow> rows = new ArrayList<>(MAX_BATCH);
        long held;

        int size() {
            return rows.size();
        }

        void clear() {
            rows.clear();
            RequestTrail.giveBack(held);
            held = 0;
        }
    }

    /**
     * Turns what the queue holds (up to a batch in all) into rows: a row is a few arrays (its detail,
     * its bodies), where a trail waiting in the queue is a graph of headers, captures and timings that
     * each young collection copies. The trails are let go as their rows are made.
     */
    private void make(AuditDocument.Writer documents, List<Entry> drained, Rows pending) {
        if (queue.drainTo(drained, MAX_BATCH - pending.size()) == 0) return;
        try {
            for (Entry e : drained) {
                AuditRow row = row(documents, e);
                if (row != null) pending.rows.add(row);
                if (e.trail() != null) pending.held += e.trail().handOver();
            }
        } finally {
            for (Entry e : drained) if (e.trail() != null) e.trail().release();
            drained.clear();
        }
    }

    private void pause(long nanos) {
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0 && !closing; left = deadline - System.nanoTime()) LockSupport.parkNanos(this, left);
    }

    /** The record's row, or null (said) when it cannot be made. */
    private static AuditRow row(AuditDocument.Writer documents, Entry e) {
        try {
            return documents.row(e.record(), e.trail(), e.level());
        } catch (RuntimeException | StackOverflowError ex) {
            System.err.println("skiff: audit record of " + e.record().requestId() + " could not be made: " + ex);
            return null;
        }
    }

    /** One try, then one more a second later; after that the batch is lost (and said): audit rows are not queued without bound. */
    private void store(List<AuditRow> batch) {
        if (batch.isEmpty()) return;
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                written.addAndGet(store.write(batch, r -> r));
                return;
            } catch (Exception e) {
                System.err.println("skiff: audit store " + store.describe() + " failed to write " + batch.size() + " records"
                        + (attempt == 0 ? " (retrying): " : " (lost): ") + e.getMessage());
                if (attempt == 0 && !closing) {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    private void purge() {
        try {
            store.purge(System.currentTimeMillis() - config.retention().toMillis());
        } catch (Exception e) {
            System.err.println("skiff: audit store " + store.describe() + " could not delete old records: " + e.getMessage());
        }
    }

    @Override
    public void close() {
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
