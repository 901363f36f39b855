package dev.skiff.store;

import dev.skiff.control.MasterKeyAuth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Stored Responses API answers in the embedded SQLite database. Event loops never touch the
 * database: saves are queued and written in batches (group commit: one transaction for whatever
 * queued up while the previous one was being written), and reads complete a future, all on one store
 * thread. Because that thread also runs the reads, a read always sees every save queued before it, so
 * a follow-up sent right after an answer finds it.
 *
 * <p>A save's future completes once its transaction has committed: the gateway holds the end of a
 * stored answer until then, so an answer a client has received is on disk (in SQLite's write-ahead
 * log, written but not fsynced: it survives the process being killed, not the machine losing power).
 *
 * <p>Each response keeps only its own input items and output, with a link to the response it
 * continues; a conversation is rebuilt by walking the links. A response is one row (its output inside
 * it, its input beside it), and a small table of item ids says which response holds each item: an
 * {@code item_reference} is an index lookup, and a request that refers to earlier items is stored
 * with its references, not with copies of what they name, so a client that sends its whole
 * conversation as references each turn (the AI SDK with store on) does not store the conversation
 * again at every turn. Responses are scoped to their owner (the
 * key that made them): another owner's lookup finds nothing. A response can be named for
 * {@code ttl} after it was made; its rows are deleted once its whole conversation (every response
 * linked to it) is older than that, so a live conversation never loses its beginning.
 */
public final class ResponseStore implements AutoCloseable {
    /** The owner of what requests authenticated with the master key store. */
    public static final String MASTER = MasterKeyAuth.MASTER;
    /** The newest schema this code writes; see {@link #migrate}. */
    static final int SCHEMA_VERSION = 7;
    /** Schema migrations after 3, as files: {@code db/sqlite/responses/NNN_what.sql}, listed in its {@code index}. */
    private static final String MIGRATIONS = "db/sqlite/responses/";
    /** Longest chain of responses rebuilt for a follow-up. */
    public static final int MAX_CHAIN = 5000;
    /** Most characters of stored JSON a rebuilt conversation may take (it is held on the heap while translated). */
    public static final long MAX_CHAIN_CHARS = 16L << 20;
    private static final int SWEEP_CHUNK = 500;

    private final String target;
    private final long ttlSeconds;
    private final ScheduledThreadPoolExecutor thread;
    private final List<Pending> pending = new ArrayList<>();
    private boolean flushScheduled;
    /**
     * How long a save may wait for others to share its commit, when saves come faster than that. A
     * commit costs about as much again as the rows it writes (its pages written to the write-ahead
     * log, the file locks), and each committed batch wakes the event loops whose answers it held: at
     * thousands of saves a second, commits that each took one or two saves cost most of the store's
     * CPU. A save coming within this time of the last commit's start waits for the rest of it, or
     * until as many saves as the store {@linkplain #expected expects} have queued, whichever is
     * sooner; that bounds what it adds to an answer. Reads never wait: they write what is queued first.
     */
    static final long LINGER_NANOS = 1_000_000;
    private volatile long lastFlush = System.nanoTime() - LINGER_NANOS;
    /**
     * How many saves a batch is expected to hold (under {@link #pending}'s lock): the size of the
     * last one. A batch that reaches it is written at once instead of at the linger's end, so the
     * batch stays as large and the answers it holds wait less: under a steady load, the answers of
     * one commit come back as the next batch's saves at about the same time, and once they are all
     * in, waiting longer only leaves the event loops idle (bench's Responses via chat, fresh JVMs side
     * by side, two runs: req/s +16% and +35%, p50 -18% and -33%, the store thread's CPU per response
     * the same, all threads' -1% and -8%; bench/results/2026-12-07-1735-linger.md). A linger of 0
     * (each flush at once, batching what came during the last) was as fast but cost the store thread
     * ~30% more per response, its batches of ~3. A batch that is written at the linger's end sets the expectation to what it held; every
     * {@value #PROBE_EVERY}th batch written early expects one save more, so that the expectation can
     * grow back when the load does (a probe that finds no more waits the linger, as every batch did
     * before).
     */
    private int expected = 1;
    static final int PROBE_EVERY = 8;
    /** Batches written early, on reaching {@link #expected} (under {@link #pending}'s lock). */
    private long earlyFlushes;
    /** Whether the queued batch has been handed to the store's thread early (under {@link #pending}'s lock). */
    private boolean early;
    /**
     * Counts flushes (under {@link #pending}'s lock): a scheduled flush made for an earlier batch
     * (the linger's, when the batch was written early or by a read) finds it moved on and does nothing.
     */
    private long epoch;
    /** The linger's flush of the queued batch, when one is scheduled (under {@link #pending}'s lock; see {@link #lingering}). */
    private ScheduledFuture<?> lingering;
    private Connection db;
    private PreparedStatement itemsFromJson, count, conversationOf, touchConversation; // prepared once: a batch is often one response
    /**
     * A batch's commit, and the start of the next transaction, as statements prepared once: the
     * driver's {@code commit()} prepares, runs and finalizes {@code commit;} and then {@code begin;}
     * at every call, two statements compiled per batch for nothing. What they leave is the same: the
     * connection inside a deferred transaction, as the driver's non-auto-commit mode expects.
     */
    private PreparedStatement commitBatch, beginNext;
    /**
     * A batch's responses, in multi-row statements (of 8, 4, 2 and 1 rows, each prepared once): one
     * statement per row cost its own step through SQLite and the driver, about as much again as
     * binding the row. OR REPLACE, here and for the item ids, for the (never seen) case of an id
     * saved twice.
     */
    private static final MultiRowInsert<Save> ROWS = new MultiRowInsert<>("INSERT OR REPLACE INTO responses "
            + "(id, owner, conversation, previous_id, created_at, provider, model, response, input_items, chars, omitted) VALUES ", 11, 8);

    /** A response to save and the conversation it belongs to. */
    private record Save(StoredResponse response, String conversation) {}
    /** The item ids of a batch, in as few statements as their count allows. */
    private static final MultiRowInsert<ItemId> ITEM_IDS = new MultiRowInsert<>(
            "INSERT OR IGNORE INTO item_ids (item_id, response_id, output) VALUES ", 3, 32);

    private record ItemId(String itemId, String responseId, boolean output) {}

    private record Pending(StoredResponse response, CompletableFuture<Void> committed) {}

    /**
     * What a lookup found.
     */
    public sealed interface Found {
        /** The response and, oldest first, those it continues; {@code legacyHistory} precedes them all (see {@link #migrate}). */
        record Chain(String legacyHistory, List<StoredResponse> links) implements Found {
            public StoredResponse last() {
                return links.getLast();
            }
        }

        /** No such response for this owner. */
        record Absent() implements Found {}

        /** The response is older than the time responses are kept. */
        record Expired(Duration ttl) implements Found {}

        /** The response exists but the conversation it ends cannot be rebuilt. */
        record Broken(String reason) implements Found {}
    }

    /**
     * @param target a file path, or {@code :memory:} for a database that lives as long as the process
     * @param ttl    how long a response can be named after it was made
     */
    public ResponseStore(String target, Duration ttl) {
        this.target = target;
        this.ttlSeconds = Math.max(1, ttl.toSeconds());
        this.thread = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().name("skiff-store").daemon(true).unstarted(r));
        thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        thread.setRemoveOnCancelPolicy(true); // a linger's flush no longer needed leaves the queue (see lingering)
    }

    /**
     * Starts deleting expired responses: a minute after start-up (responses that expired while Skiff
     * was stopped), then every {@code sweepEvery}. The database is opened by the first stored answer
     * or that first sweep, whichever comes first, not at start-up: loading SQLite's native library
     * takes about as long as the rest of start-up, and opening it even in the background, right after
     * the port is bound, measurably delayed the first requests (and put SQLite's classes into the
     * AOT cache, which every start then loads).
     */
    public void start(Duration sweepEvery) {
        long every = Math.max(1000, sweepEvery.toMillis());
        thread.scheduleWithFixedDelay(this::sweepQuietly, Math.min(every, 60_000), every, TimeUnit.MILLISECONDS);
    }

    /** How long a response can be named after it was made. */
    public Duration ttl() {
        return Duration.ofSeconds(ttlSeconds);
    }

    /** Queues a save; never blocks the caller. The future completes once the save has committed. */
    public CompletableFuture<Void> save(StoredResponse r) {
        CompletableFuture<Void> committed = new CompletableFuture<>();
        boolean first, now;
        long e;
        synchronized (pending) {
            pending.add(new Pending(r, committed));
            first = !flushScheduled;
            flushScheduled = true;
            now = !early && pending.size() >= expected;
            if (now) early = true;
            e = epoch;
            if (!first && !now) return committed;
        }
        if (now) { // the batch has what was expected: written now, not at the linger's end
            thread.execute(() -> scheduledFlush(e));
            return committed;
        }
        long wait = LINGER_NANOS - (System.nanoTime() - lastFlush);
        if (wait <= 0) thread.execute(() -> scheduledFlush(e));
        else lingering(thread.schedule(() -> scheduledFlush(e), wait, TimeUnit.NANOSECONDS), e);
        return committed;
    }

    /**
     * Keeps {@code f}, the linger's flush of the batch of epoch {@code e}, so that the flush that takes
     * that batch sooner (the batch reached its expected size, or a read came) takes it off the queue:
     * left there, it woke this thread once per batch to do nothing (about every other wake-up under
     * the bench's load).
     */
    private void lingering(ScheduledFuture<?> f, long e) {
        synchronized (pending) {
            if (e == epoch) {
                lingering = f;
                return;
            }
        }
        f.cancel(false); // its batch has been taken already
    }

    /** The response alone (no walk), if {@code owner} may read it and it has not expired. */
    public CompletableFuture<Found> find(String id, String owner) {
        return call(() -> {
            Object head = head(id, owner);
            return head instanceof Row row ? new Found.Chain(null, List.of(row.response())) : (Found) head;
        });
    }

    /**
     * The conversation that {@code id} ends: the response and every one it continues, oldest first,
     * for a follow-up naming it. Only {@code id} itself must be unexpired; those it continues are kept
     * as long as it is.
     */
    public CompletableFuture<Found> conversation(String id, String owner) {
        return call(() -> {
            Object head = head(id, owner);
            if (!(head instanceof Row row)) return (Found) head;
            List<StoredResponse> links = new ArrayList<>();
            StoredResponse at = row.response();
            String missing = row.missingReference();
            long chars = 0;
            String legacy = null;
            PreparedStatement q = statement(SELECT + " WHERE id = ?");
            {
                while (true) {
                    if (missing != null) {
                        return new Found.Broken("response '" + at.id() + "' refers to item '" + missing
                                + "', which is no longer stored (its response was deleted)");
                    }
                    links.add(at);
                    chars += at.response().length() + at.inputItems().length();
                    if (at.previousId() == null) {
                        legacy = legacyHistory(at.id());
                        break;
                    }
                    if (links.size() >= MAX_CHAIN) {
                        return new Found.Broken("the conversation is longer than " + MAX_CHAIN + " responses, more than Skiff rebuilds");
                    }
                    if (chars > MAX_CHAIN_CHARS) {
                        return new Found.Broken("the conversation is larger than " + (MAX_CHAIN_CHARS >> 20)
                                + " MB of stored JSON, more than Skiff rebuilds");
                    }
                    q.setString(1, at.previousId());
                    StoredResponse previous = null;
                    try (ResultSet rs = q.executeQuery()) {
                        if (rs.next()) {
                            previous = row(rs);
                            missing = rs.getString(9);
                        }
                    }
                    if (previous == null || !visible(previous.owner(), owner)) {
                        return new Found.Broken("it continues response '" + at.previousId() + "', which is no longer stored (it was deleted)");
                    }
                    at = previous;
                }
            }
            Collections.reverse(links);
            return new Found.Chain(legacy, List.copyOf(links));
        });
    }

    /**
     * Items of {@code owner}'s stored responses by their ids (output items, and the input items Skiff
     * gave ids), as JSON text; ids not found are absent from the map. For the Responses API's
     * {@code item_reference} inputs: one index lookup per id.
     */
    public CompletableFuture<java.util.Map<String, String>> findItems(java.util.Collection<String> ids, String owner) {
        return call(() -> {
            flush();
            java.util.Map<String, String> found = new java.util.HashMap<>();
            PreparedStatement q = statement(FIND_ITEM);
            for (String id : ids) {
                if (found.containsKey(id)) continue;
                q.setString(1, id);
                bindOwner(q, 2, owner);
                try (ResultSet rs = q.executeQuery()) {
                    String item = rs.next() ? rs.getString(1) : null;
                    if (item != null) found.put(id, item);
                }
            }
            return found;
        });
    }

    /** The query {@link #findItems} runs, for tests that check it is an index lookup. */
    static String explainItemLookup(Connection c) throws SQLException {
        StringBuilder plan = new StringBuilder();
        try (PreparedStatement q = c.prepareStatement("EXPLAIN QUERY PLAN " + FIND_ITEM.replace("?1", "'x'").replace("?2", "NULL").replace("?3", "NULL"));
             ResultSet rs = q.executeQuery()) {
            while (rs.next()) plan.append(rs.getString(4)).append('\n');
        }
        return plan.toString();
    }

    private static final String CHARS = "chars + coalesce(length(history), 0)";

    /**
     * The characters a stored response takes ({@code conversation}: together with every response it
     * continues), so that a reader can reserve memory for it before loading it; -1 when {@code owner}
     * has no such response.
     */
    public CompletableFuture<Long> size(String id, String owner, boolean conversation) {
        return call(() -> {
            flush();
            String sql = conversation
                    ? "WITH RECURSIVE chain(previous_id, chars, depth) AS (SELECT previous_id, " + CHARS + ", 1 FROM responses"
                            + " WHERE id = ? AND " + VISIBLE + " UNION ALL SELECT r.previous_id, r.chars"
                            + " + coalesce(length(r.history), 0), c.depth + 1 FROM responses r"
                            + " JOIN chain c ON r.id = c.previous_id WHERE c.depth < " + MAX_CHAIN + ")"
                            + " SELECT count(*), coalesce(sum(chars), 0) FROM chain"
                    : "SELECT count(*), coalesce(sum(" + CHARS + "), 0) FROM responses WHERE id = ? AND " + VISIBLE;
            try (PreparedStatement q = db().prepareStatement(sql)) {
                q.setString(1, id);
                bindOwner(q, 2, owner);
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    return rs.getLong(1) == 0 ? -1L : rs.getLong(2);
                }
            }
        });
    }

    /** Completes with whether there was such a response that {@code owner} may delete. */
    public CompletableFuture<Boolean> delete(String id, String owner) {
        return call(() -> {
            try (PreparedStatement q = db().prepareStatement("SELECT 1 FROM responses WHERE id = ? AND " + VISIBLE)) {
                q.setString(1, id);
                bindOwner(q, 2, owner);
                try (ResultSet rs = q.executeQuery()) {
                    if (!rs.next()) return false;
                }
            }
            try {
                deleteResponse(id);
                db.commit();
            } catch (SQLException e) {
                db.rollback();
                throw e;
            }
            return true;
        });
    }

    /** Deletes the conversations whose newest response has expired; completes with how many responses went. */
    public CompletableFuture<Integer> sweep() {
        return call(this::sweepNow);
    }

    // ---- on the store thread ----------------------------------------------------------------

    /**
     * The item a reference names (%1$s: its id), among what the owner of response {@code r} may read:
     * the item as the response holding it has it (an original output before a copy sent back as
     * input), or null when no response holding it is left. Items whose ids Skiff made for a response
     * (the gateway's {@code ResponsesApi.itemId}: a prefix, the response id's digits, then more) are
     * found in the response they name, and have no entry in {@code item_ids}; every other id does.
     */
    private static final String RESOLVED = "coalesce(" + madeFor("%1$s", 1, "xr.owner IS r.owner OR (xr.owner IS NULL AND (r.owner IS NULL OR r.owner = '"
            + MASTER + "'))") + ", (SELECT k.value FROM item_ids x JOIN responses xr ON xr.id = x.response_id,"
            + " json_each(CASE x.output WHEN 1 THEN json_extract(xr.response, '$.output') ELSE xr.input_items END) k"
            + " WHERE x.item_id = %1$s AND (xr.owner IS r.owner OR (xr.owner IS NULL AND (r.owner IS NULL OR r.owner = '" + MASTER + "')))"
            + " AND k.type = 'object' AND json_extract(k.value, '$.id') = x.item_id"
            + " AND json_extract(k.value, '$.type') IS NOT 'item_reference' ORDER BY x.output DESC LIMIT 1), "
            + madeFor("%1$s", 0, "xr.owner IS r.owner OR (xr.owner IS NULL AND (r.owner IS NULL OR r.owner = '" + MASTER + "'))") + ")";

    /**
     * The item {@code id} (an SQL expression) in the output ({@code output} 1) or input items of the
     * response its id names when Skiff made it, if {@code visible} (over {@code xr}, that response).
     */
    private static String madeFor(String id, int output, String visible) {
        return "(SELECT k.value FROM responses xr, json_each(" + (output == 1 ? "json_extract(xr.response, '$.output')" : "xr.input_items")
                + ") k WHERE xr.id = 'resp_' || substr(" + id + ", instr(" + id + ", '_') + 1, " + MADE_DIGITS + ") AND (" + visible + ")"
                + " AND k.type = 'object' AND json_extract(k.value, '$.id') = " + id
                + " AND json_extract(k.value, '$.type') IS NOT 'item_reference' LIMIT 1)";
    }

    /** The digits of a response id Skiff makes ({@code resp_}, then 12 of time and 32 random). */
    private static final int MADE_DIGITS = 44;

    private static final String RESOLVED_J = RESOLVED.formatted("json_extract(j.value, '$.id')");
    private static final String IS_REFERENCE = "json_extract(j.value, '$.type') = 'item_reference'";
    /** Whether input items (%1$s) hold a reference at all: most do not, and are read back as they are. */
    private static final String HAS_REFERENCES = "instr(%1$s, '\"item_reference\"') > 0";

    /**
     * A response as the client received it, its input items in order with references resolved, and
     * the first reference that no longer resolves (else null).
     */
    private static final String SELECT = "SELECT r.id, r.owner, r.created_at, r.provider, r.model, r.response,"
            + " CASE WHEN " + HAS_REFERENCES.formatted("r.input_items") + " THEN (SELECT json_group_array(json(CASE WHEN " + IS_REFERENCE
            + " THEN coalesce(" + RESOLVED_J + ", j.value) ELSE j.value END) ORDER BY j.key) FROM json_each(r.input_items) j)"
            + " ELSE r.input_items END,"
            + " r.previous_id,"
            + " CASE WHEN " + HAS_REFERENCES.formatted("r.input_items") + " THEN (SELECT json_extract(j.value, '$.id') FROM json_each(r.input_items) j"
            + " WHERE " + IS_REFERENCE + " AND " + RESOLVED_J + " IS NULL LIMIT 1) END,"
            + " coalesce(r.omitted, 0)"
            + " FROM responses r";

    /** An item by id (?1), among what an owner (?2, ?3: see {@link #VISIBLE}) may read; found as {@link #RESOLVED} finds it. */
    private static final String FIND_ITEM = "SELECT coalesce(" + madeFor("?1", 1, "xr.owner IS ?2 OR (xr.owner IS NULL AND ?3)")
            + ", (SELECT k.value FROM item_ids x JOIN responses r ON r.id = x.response_id,"
            + " json_each(CASE x.output WHEN 1 THEN json_extract(r.response, '$.output') ELSE r.input_items END) k"
            + " WHERE x.item_id = ?1 AND (r.owner IS ?2 OR (r.owner IS NULL AND ?3))"
            + " AND k.type = 'object' AND json_extract(k.value, '$.id') = x.item_id"
            + " AND json_extract(k.value, '$.type') IS NOT 'item_reference' ORDER BY x.output DESC LIMIT 1), "
            + madeFor("?1", 0, "xr.owner IS ?2 OR (xr.owner IS NULL AND ?3)") + ")";

    /**
     * Rows made before owners existed (schema 1) have none: the master key, or open serving, may read
     * them, so upgrading Skiff hides nothing from their makers; a tenant key never sees them.
     */
    private static final String VISIBLE = "(owner IS ? OR (owner IS NULL AND ?))";

    private static void bindOwner(PreparedStatement s, int at, String owner) throws SQLException {
        s.setString(at, owner);
        s.setBoolean(at + 1, owner == null || owner.equals(MASTER));
    }

    /** {@link #VISIBLE}, for a row already read. */
    private static boolean visible(String rowOwner, String owner) {
        if (rowOwner == null) return owner == null || owner.equals(MASTER);
        return rowOwner.equals(owner);
    }

    /** A response read, and the first reference in its input that no longer resolves (else null). */
    private record Row(StoredResponse response, String missingReference) {}

    /** The {@link Row} of {@code id}, or the {@link Found} that says why there is none. */
    private Object head(String id, String owner) throws SQLException, IOException {
        flush();
        PreparedStatement q = statement(SELECT + " WHERE id = ? AND " + VISIBLE);
        {
            q.setString(1, id);
            bindOwner(q, 2, owner);
            try (ResultSet rs = q.executeQuery()) {
                if (!rs.next()) return new Found.Absent();
                StoredResponse r = row(rs);
                if (r.createdAt() < nowSeconds() - ttlSeconds) return new Found.Expired(Duration.ofSeconds(ttlSeconds));
                return new Row(r, rs.getString(9));
            }
        }
    }

    private String legacyHistory(String id) throws SQLException, IOException {
        try (PreparedStatement q = db().prepareStatement("SELECT history FROM responses WHERE id = ?")) {
            q.setString(1, id);
            try (ResultSet rs = q.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private final java.util.Map<String, PreparedStatement> statements = new java.util.HashMap<>();

    /**
     * A statement prepared once for the life of the connection: a read's own work is a few tens of
     * microseconds, and preparing {@link #SELECT} again each time took several times that.
     */
    private PreparedStatement statement(String sql) throws SQLException, IOException {
        PreparedStatement p = statements.get(sql);
        if (p == null) {
            p = db().prepareStatement(sql);
            statements.put(sql, p);
        }
        return p;
    }

    private static StoredResponse row(ResultSet rs) throws SQLException {
        return new StoredResponse(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4), rs.getString(5), rs.getString(6),
                rs.getString(7), rs.getString(8), null, null, rs.getInt(10));
    }

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    private interface Work<T> {
        T run() throws SQLException, IOException;
    }

    private <T> CompletableFuture<T> call(Work<T> work) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return work.run();
            } catch (SQLException | IOException e) {
                throw new StoreException(e);
            }
        }, thread);
    }

    /** Writes what is queued; says whether there was anything (a failure is reported, and counts as something). */
    private boolean flushQuietly(boolean scheduled) {
        try {
            return flush(scheduled);
        } catch (SQLException | IOException | StoreException e) {
            System.err.println("skiff: could not save responses to " + target + ": " + e.getMessage());
            return true;
        }
    }

    /**
     * The flush {@link #save} schedules. While saves keep coming, this thread schedules the next one
     * itself, a linger after this one began, so that a save finds one scheduled and wakes nobody:
     * the wake-up of this thread, a futex call on the event loop of the first save of each batch,
     * was 1.7% of the event loops' CPU in a profile of the bench's Responses load. A flush that finds
     * nothing queued schedules no other; the next save does, as after any quiet spell. {@code e} is
     * the {@link #epoch} it was made for.
     */
    private void scheduledFlush(long e) {
        synchronized (pending) {
            if (e != epoch) return; // a flush since (a read's, or one started early) took its batch
        }
        if (!flushQuietly(true)) return;
        long next;
        synchronized (pending) {
            if (flushScheduled || thread.isShutdown()) return;
            flushScheduled = true;
            next = epoch;
        }
        try {
            lingering(thread.schedule(() -> scheduledFlush(next), Math.max(0, LINGER_NANOS - (System.nanoTime() - lastFlush)), TimeUnit.NANOSECONDS), next);
        } catch (java.util.concurrent.RejectedExecutionException closing) { // closing: close() writes what is queued
            synchronized (pending) {
                flushScheduled = false;
            }
        }
    }

    /** Writes what is queued in one transaction; says whether there was anything. */
    private boolean flush() throws SQLException, IOException {
        return flush(false);
    }

    /**
     * As {@link #flush()}; {@code scheduled} for the flushes a save set off, whose batch sizes set
     * what the next batch is {@link #expected} to hold (a read's flush takes the queue as it finds it).
     */
    private boolean flush(boolean scheduled) throws SQLException, IOException {
        List<Pending> batch;
        ScheduledFuture<?> stale;
        synchronized (pending) {
            flushScheduled = false;
            if (pending.isEmpty()) return false;
            batch = new ArrayList<>(pending);
            pending.clear();
            epoch++;
            stale = lingering;
            lingering = null;
            if (scheduled) expected = early && ++earlyFlushes % PROBE_EVERY == 0 ? batch.size() + 1 : batch.size();
            early = false;
        }
        lastFlush = System.nanoTime();
        if (stale != null) stale.cancel(false); // (when it is the flush running now, cancelling it changes nothing)
        try {
            Connection c = db();
            if (itemsFromJson == null) {
                itemsFromJson = c.prepareStatement(ITEMS_FROM_JSON);
                count = c.prepareStatement(COUNT_CHARS + " WHERE id = ?1");
                conversationOf = c.prepareStatement("SELECT conversation FROM responses WHERE id = ?");
                touchConversation = c.prepareStatement("INSERT INTO conversations (id, last_used) "
                        + "SELECT conversation, created_at FROM responses WHERE id = ? AND TRUE "
                        + "ON CONFLICT (id) DO UPDATE SET last_used = max(last_used, excluded.last_used)");
                commitBatch = c.prepareStatement("COMMIT");
                beginNext = c.prepareStatement("BEGIN");
            }
            List<ItemId> itemIds = new ArrayList<>();
            try {
                // The batch's rows go in a few multi-row statements (see ROWS). A response's
                // conversation is the one of the response it continues, found before the insert:
                // in the batch itself for one continuing a response saved alongside it, else in the
                // table; a start (or one whose previous response is gone) is its own.
                java.util.Map<String, String> conversations = new java.util.HashMap<>();
                List<Save> rows = new ArrayList<>(batch.size());
                for (Pending p : batch) {
                    StoredResponse r = p.response();
                    String conversation = r.previousId() == null ? null : conversations.get(r.previousId());
                    if (conversation == null && r.previousId() != null) {
                        conversationOf.setString(1, r.previousId());
                        try (ResultSet rs = conversationOf.executeQuery()) {
                            if (rs.next()) conversation = rs.getString(1);
                        }
                    }
                    if (conversation == null) conversation = r.id();
                    conversations.put(r.id(), conversation);
                    rows.add(new Save(r, conversation));
                    if (r.inputIds() == null || r.outputIds() == null) {
                        itemsFromJson.setString(1, r.id());
                        itemsFromJson.setString(2, r.inputItems());
                        itemsFromJson.setString(3, r.response());
                        itemsFromJson.executeUpdate();
                    } else {
                        for (String id : r.inputIds()) itemIds.add(new ItemId(id, r.id(), false));
                        for (String id : r.outputIds()) itemIds.add(new ItemId(id, r.id(), true));
                    }
                }
                ROWS.insert(c, rows, (s, at, row) -> {
                    StoredResponse r = row.response();
                    s.setString(at, r.id());
                    s.setString(at + 1, r.owner());
                    s.setString(at + 2, row.conversation());
                    s.setString(at + 3, r.previousId());
                    s.setLong(at + 4, r.createdAt());
                    s.setString(at + 5, r.provider());
                    s.setString(at + 6, r.model());
                    s.setString(at + 7, r.response());
                    s.setString(at + 8, r.inputItems());
                    // Read back, the response and its inputs take what they take now, the members the
                    // row leaves out, and what their references name (counted below, once the items
                    // they may name are in).
                    s.setLong(at + 9, r.response().length() + r.omitted() + r.inputItems().length());
                    if (r.whole()) s.setNull(at + 10, java.sql.Types.INTEGER);
                    else s.setInt(at + 10, r.omitted());
                });
                // A conversation's row says when it was last continued; one that was never
                // continued is its first response alone, whose time is its own.
                for (Pending p : batch) {
                    if (p.response().previousId() != null) {
                        touchConversation.setString(1, p.response().id());
                        touchConversation.executeUpdate();
                    }
                }
                if (!itemIds.isEmpty()) {
                    ITEM_IDS.insert(c, itemIds, (s, at, row) -> {
                        s.setString(at, row.itemId());
                        s.setString(at + 1, row.responseId());
                        s.setInt(at + 2, row.output() ? 1 : 0);
                    });
                }
                for (Pending p : batch) {
                    if (p.response().inputItems().contains("\"item_reference\"")) {
                        count.setString(1, p.response().id());
                        count.executeUpdate();
                    }
                }
                commitBatch.executeUpdate();
                beginNext.executeUpdate();
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | IOException | RuntimeException e) {
            Handoff.batch(() -> batch.forEach(p -> p.committed().completeExceptionally(e)));
            throw e;
        }
        // Answers held for this commit resume with one wake-up per event loop (see Handoff).
        Handoff.batch(() -> batch.forEach(p -> p.committed().complete(null)));
        return true;
    }

    /**
     * The item ids of a response (?1) read from its input items (?2) and response (?3), for a save
     * whose caller did not list them. A reference keeps the id of what it names: it is not that item.
     */
    private static final String ITEMS_FROM_JSON = "INSERT OR IGNORE INTO item_ids (item_id, response_id, output) "
            + "SELECT json_extract(j.value, '$.id'), ?1, 0 FROM json_each(?2) j WHERE j.type = 'object' AND NOT " + IS_REFERENCE
            + " AND json_extract(j.value, '$.id') IS NOT NULL UNION ALL "
            + "SELECT json_extract(j.value, '$.id'), ?1, 1 FROM json_each(?3, '$.output') j WHERE j.type = 'object'"
            + " AND json_extract(j.value, '$.id') IS NOT NULL";

    /**
     * What a response with references takes once read back (its own text, its items, and the items
     * its references name), so that a reader can reserve memory for it before loading it.
     */
    private static final String COUNT_CHARS = "UPDATE responses AS r SET chars = length(r.response) + coalesce(r.omitted, 0) + 2 + (SELECT coalesce(sum(length("
            + "CASE WHEN " + IS_REFERENCE + " THEN coalesce(" + RESOLVED_J + ", j.value) ELSE j.value END) + 1), 0) FROM json_each(r.input_items) j)";

    /** The ids of a response's items as its row has them (?1: its id), for deleting them with it. */
    private static final String DELETE_ITEM_IDS = "DELETE FROM item_ids WHERE response_id = ?1 AND item_id IN ("
            + "SELECT json_extract(j.value, '$.id') FROM responses r, json_each(r.input_items) j WHERE r.id = ?1 AND json_valid(r.input_items)"
            + " UNION ALL SELECT json_extract(j.value, '$.id') FROM responses r,"
            + " json_each(CASE WHEN json_valid(r.response) THEN r.response ELSE '{}' END, '$.output') j WHERE r.id = ?1)";

    /** Deletes a response and the ids of its items; the caller commits. */
    private void deleteResponse(String id) throws SQLException, IOException {
        PreparedStatement items = statement(DELETE_ITEM_IDS);
        items.setString(1, id);
        items.executeUpdate();
        PreparedStatement row = statement("DELETE FROM responses WHERE id = ?");
        row.setString(1, id);
        row.executeUpdate();
    }

    private void sweepQuietly() {
        try {
            sweepNow();
        } catch (SQLException | IOException | StoreException e) {
            System.err.println("skiff: could not delete expired responses from " + target + ": " + e.getMessage());
        }
    }

    /**
     * A chunk at a time, each its own transaction, so that saves waiting behind a large sweep wait for
     * one chunk at most: the rest of the sweep is queued behind them.
     */
    private int sweepNow() throws SQLException, IOException {
        flush();
        Connection c = db();
        long before = nowSeconds() - ttlSeconds;
        // Conversations that were continued have a row saying when they last were; a conversation
        // never continued is its first response alone, as old as that response (and has no row).
        List<String> expired = ids("SELECT id FROM conversations WHERE last_used < ?1 ORDER BY last_used LIMIT ?2", before, SWEEP_CHUNK, null);
        // Starts whose ids are in time order (see ORDERED_ID) are found by a range of the table's key
        // up to the first id of the cutoff's millisecond; those of other ids by their index (schema 6).
        String firstKept = "resp_" + String.format("%012x", before * 1000);
        if (expired.size() < SWEEP_CHUNK) {
            expired.addAll(ids(SWEEP_ORDERED, before, SWEEP_CHUNK - expired.size(), firstKept));
        }
        if (expired.size() < SWEEP_CHUNK) {
            expired.addAll(ids(SWEEP_UNORDERED, before, SWEEP_CHUNK - expired.size(), null));
        }
        if (expired.isEmpty()) return 0;
        int deleted = 0;
        try {
            PreparedStatement members = statement("SELECT id FROM responses WHERE conversation = ?1 AND previous_id IS NOT NULL "
                    + "UNION ALL SELECT id FROM responses WHERE id = ?1 AND previous_id IS NULL");
            PreparedStatement dc = statement("DELETE FROM conversations WHERE id = ?");
            for (String conversation : expired) {
                List<String> ids = new ArrayList<>();
                members.setString(1, conversation);
                try (ResultSet rs = members.executeQuery()) {
                    while (rs.next()) ids.add(rs.getString(1));
                }
                for (String id : ids) deleteResponse(id);
                deleted += ids.size();
                dc.setString(1, conversation);
                dc.executeUpdate();
            }
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        }
        if (expired.size() == SWEEP_CHUNK) thread.execute(this::sweepQuietly);
        return deleted;
    }

    /**
     * What ids Skiff makes for responses look like ({@code resp_}, 12 hex digits of the time in ms, 32
     * random: 49 characters), as the sweep's query and the index of other starts (schema 6) say it.
     */
    private static final String ORDERED_ID = "length(id) = 49";
    /** Not {@link #ORDERED_ID}, spelled as the index of those starts has it (SQLite uses a partial index for the same terms). */
    private static final String UNORDERED_ID = "length(id) <> 49";

    /** The plans of the sweep's queries of starts, for a test that checks neither reads the whole table. */
    static String explainSweep(Connection c) throws SQLException {
        StringBuilder plan = new StringBuilder();
        for (String sql : List.of(SWEEP_ORDERED, SWEEP_UNORDERED)) {
            try (PreparedStatement q = c.prepareStatement("EXPLAIN QUERY PLAN " + sql.replace("?1", "0").replace("?2", "10").replace("?3", "'resp_1'"));
                 ResultSet rs = q.executeQuery()) {
                while (rs.next()) plan.append(rs.getString(4)).append('\n');
            }
        }
        return plan.toString();
    }

    /** Conversations never continued, started before ?1, whose ids are in time order (below ?3); at most ?2. */
    private static final String SWEEP_ORDERED = "SELECT id FROM responses r WHERE id > 'resp_' AND id < ?3 AND " + ORDERED_ID
            + " AND previous_id IS NULL AND created_at < ?1 AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = r.conversation)"
            + " ORDER BY id LIMIT ?2";
    /** The same for the other ids, by the index of their starts. */
    private static final String SWEEP_UNORDERED = "SELECT id FROM responses r WHERE previous_id IS NULL AND " + UNORDERED_ID
            + " AND created_at < ?1 AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = r.conversation) ORDER BY created_at LIMIT ?2";

    /** The first column of a query's rows, given a time (?1), a row limit (?2) and, if not null, an id (?3). */
    private List<String> ids(String sql, long time, int limit, String id) throws SQLException, IOException {
        List<String> out = new ArrayList<>();
        PreparedStatement q = statement(sql);
        q.setLong(1, time);
        q.setInt(2, limit);
        if (id != null) q.setString(3, id);
        try (ResultSet rs = q.executeQuery()) {
            while (rs.next()) out.add(rs.getString(1));
        }
        return out;
    }

    private Connection db() throws SQLException, IOException {
        if (db != null) return db;
        if (!target.equals(":memory:")) {
            Path parent = Path.of(target).toAbsolutePath().getParent();
            try {
                if (parent != null) Files.createDirectories(parent);
            } catch (IOException e) {
                // The exceptions of java.nio name the path alone, which says nothing of what went wrong.
                throw new IOException("cannot create the folder " + parent + " (" + e.getClass().getSimpleName() + ")", e);
            }
        }
        // The driver directly: DriverManager would load every JDBC driver on the class path (pgjdbc).
        Connection c = org.sqlite.JDBC.createConnection("jdbc:sqlite:" + target, SqliteConnection.settings());
        try {
            try (Statement s = c.createStatement()) {
                // WAL: readers in other processes (backups, the dashboard) never block this writer.
                if (!target.equals(":memory:")) s.execute("PRAGMA journal_mode=WAL");
                // A commit reaches the WAL file (the OS's cache) before a save's future completes, which
                // is what a process crash cannot undo; FULL would also fsync every commit, for the
                // machine losing power, at the cost of a disk flush per batch.
                s.execute("PRAGMA synchronous=NORMAL");
                // Writes are appends and reads are by key: a small page cache serves both, and the
                // default (2 MB) would sit in the gateway's resident memory for nothing.
                s.execute("PRAGMA cache_size=-512");
            }
            c.setAutoCommit(false);
            migrate(c);
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
        db = c;
        return c;
    }

    /**
     * Brings the schema to {@link #SCHEMA_VERSION}, in one transaction.
     *
     * <p>Schema 1 (no version table) kept in each row the whole conversation before it
     * ({@code history}), so the rows of a long conversation grew with its square. Schema 2 keeps each
     * response's own items with a link to the one it continues, an owner, and the conversation it
     * belongs to for expiry. Rows of schema 1 are copied as they are: each becomes the start of its own
     * conversation, its {@code history} kept and read before its input when a follow-up continues it.
     * Schema 3 moves every input and output item into {@code response_items}, one row each, indexed
     * by item id, with references kept as references; a response row keeps the rest of the response
     * and what it takes read back ({@code chars}). Rows of schema 2 are split in place. Later schemas
     * are files ({@link #MIGRATIONS}): schema 4 puts the items back into their response's row and
     * keeps only their ids apart (see its file for why); schema 5 keys the table by the response id
     * (no index of ids beside it) and marks rows that leave the response's default members out; schema
     * 6 finds starts of conversations by a range of ids; schema 7 makes the table a rowid table again,
     * with an index of ids, so that saves append rows instead of splitting the key's leaves.
     */
    static void migrate(Connection c) throws SQLException {
        int version;
        try (Statement s = c.createStatement()) {
            if (tableExists(c, "schema_version")) {
                try (ResultSet rs = s.executeQuery("SELECT max(version) FROM schema_version")) {
                    version = rs.next() ? rs.getInt(1) : 0;
                }
            } else {
                version = tableExists(c, "responses") ? 1 : 0;
            }
            if (version == SCHEMA_VERSION) return;
            if (version > SCHEMA_VERSION) {
                throw new StoreException(new SQLException("the database was written by a newer Skiff (schema " + version
                        + "); this one reads schema " + SCHEMA_VERSION + " and older"));
            }
            String v2 = "CREATE TABLE %s (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT, "
                    + "created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL, "
                    + "history TEXT)";
            String v3 = "CREATE TABLE %s (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT, "
                    + "created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, chars INTEGER NOT NULL, "
                    + "history TEXT)";
            try {
                if (version == 0) {
                    s.execute(v3.formatted("responses"));
                    s.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, last_used INTEGER NOT NULL)");
                    s.execute("CREATE INDEX conversations_by_last_used ON conversations (last_used)");
                } else if (version < 3) {
                    if (version == 1) {
                        s.execute(v2.formatted("responses_v2"));
                        s.execute("INSERT INTO responses_v2 (id, owner, conversation, previous_id, created_at, provider, model, response, "
                                + "input_items, history) SELECT id, NULL, id, NULL, created_at, provider, model, response, input_items, "
                                + "NULLIF(history, '[]') FROM responses");
                        s.execute("DROP TABLE responses");
                        s.execute("ALTER TABLE responses_v2 RENAME TO responses");
                        s.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, last_used INTEGER NOT NULL)");
                        s.execute("INSERT INTO conversations (id, last_used) SELECT conversation, max(created_at) FROM responses "
                                + "GROUP BY conversation");
                        s.execute("CREATE INDEX conversations_by_last_used ON conversations (last_used)");
                    }
                    // 2 -> 3: items out of the rows into their own table; a row whose JSON does not
                    // parse keeps it whole (it was served as it is, and still is).
                    s.execute(RESPONSE_ITEMS);
                    s.execute(INSERT_ITEMS + INPUT_ROWS.formatted("r.id", "responses r, json_each(r.input_items)")
                            + " AND json_valid(r.input_items)");
                    s.execute(INSERT_ITEMS + OUTPUT_ROWS.formatted("r.id", "responses r, json_each(r.response, '$.output')")
                            + " AND json_valid(r.response)");
                    s.execute(v3.formatted("responses_v3"));
                    s.execute("INSERT INTO responses_v3 (id, owner, conversation, previous_id, created_at, provider, model, response, "
                            + "chars, history) SELECT id, owner, conversation, previous_id, created_at, provider, model, "
                            + "CASE WHEN json_valid(response) THEN json_set(response, '$.output', json('[]')) ELSE response END, 0, "
                            + "history FROM responses");
                    s.execute("DROP TABLE responses");
                    s.execute("ALTER TABLE responses_v3 RENAME TO responses");
                    s.execute(V3_COUNT_CHARS);
                }
                if (version == 0) s.execute(RESPONSE_ITEMS);
                if (version < 3) {
                    s.execute("CREATE INDEX responses_by_conversation ON responses (conversation)");
                    s.execute("CREATE INDEX response_items_by_item ON response_items (item_id) WHERE item_id IS NOT NULL");
                }
                // Schema 3 on: the files of db/sqlite/responses, each bringing the version its name starts with.
                for (String file : Database.index(MIGRATIONS)) {
                    if (Database.version(MIGRATIONS, file) <= Math.max(version, 3)) continue;
                    for (String sql : Database.statements(Database.read(MIGRATIONS + file))) s.execute(sql);
                }
                s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
                s.execute("DELETE FROM schema_version");
                s.execute("INSERT INTO schema_version (version) VALUES (" + SCHEMA_VERSION + ")");
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                throw e;
            } catch (IOException e) {
                c.rollback();
                throw new SQLException("the response store's migrations could not be read: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Schema 3's items (see {@link #migrate}): the input items of a response (%1$s its id, %2$s a
     * json_each of them), one row each. A reference keeps the id it names in {@code reference}, and
     * no {@code item_id}: it is not the item.
     */
    private static final String INSERT_ITEMS = "INSERT INTO response_items (response_id, output, position, item_id, reference, item) ";
    private static final String INPUT_ROWS = "SELECT %1$s, 0, j.key, CASE WHEN json_extract(j.value, '$.type') = 'item_reference' THEN NULL "
            + "ELSE json_extract(j.value, '$.id') END, CASE WHEN json_extract(j.value, '$.type') = 'item_reference' "
            + "THEN json_extract(j.value, '$.id') END, j.value FROM %2$s j WHERE j.type = 'object'";
    /** Schema 3's output items of a response (%1$s its id, %2$s a json_each of its output), one row each. */
    private static final String OUTPUT_ROWS = "SELECT %1$s, 1, j.key, json_extract(j.value, '$.id'), NULL, j.value FROM %2$s j WHERE j.type = 'object'";
    /** What a response of schema 3 takes once read back: its own text, its items, and the items its references name. */
    private static final String V3_COUNT_CHARS = "UPDATE responses AS r SET chars = length(r.response) + 2 + (SELECT coalesce(sum(length("
            + "CASE WHEN i.reference IS NULL THEN i.item ELSE coalesce(" + "(SELECT x.item FROM response_items x WHERE x.item_id = i.reference "
            + "ORDER BY x.output DESC LIMIT 1), i.item) END) + 1), 0) FROM response_items i WHERE i.response_id = r.id)";

    /** Schema 3's items table, one row per item of a stored response: {@code output} 0 for its input, 1 for its output, in order. */
    private static final String RESPONSE_ITEMS = "CREATE TABLE response_items (response_id TEXT NOT NULL, output INTEGER NOT NULL, "
            + "position INTEGER NOT NULL, item_id TEXT, reference TEXT, item TEXT NOT NULL, PRIMARY KEY (response_id, output, position)) "
            + "WITHOUT ROWID";

    private static boolean tableExists(Connection c, String name) throws SQLException {
        try (PreparedStatement q = c.prepareStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")) {
            q.setString(1, name);
            try (ResultSet rs = q.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** How many tasks wait on the store's thread once what runs there now is done: flushes the linger scheduled (for tests). */
    CompletableFuture<Integer> queuedTasks() {
        return CompletableFuture.supplyAsync(() -> thread.getQueue().size(), thread);
    }

    /** Batches written early, on reaching the expected size (for tests). */
    long earlyFlushes() {
        synchronized (pending) {
            return earlyFlushes;
        }
    }

    /** Writes what is queued, then closes the database. */
    @Override
    public void close() {
        thread.execute(() -> {
            flushQuietly(false);
            try {
                if (db != null) db.close();
            } catch (SQLException e) {
                System.err.println("skiff: closing " + target + ": " + e.getMessage());
            }
        });
        thread.shutdown();
        try {
            if (!thread.awaitTermination(10, TimeUnit.SECONDS)) System.err.println("skiff: the response store did not finish writing");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A database failure, reported to the client as a server error. */
    public static final class StoreException extends RuntimeException {
        StoreException(Exception cause) {
            super(cause.getMessage(), cause);
        }
    }
}
