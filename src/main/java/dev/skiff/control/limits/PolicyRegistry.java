package dev.skiff.control.limits;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Keeps {@link Limits}' snapshot in step with the store: every {@value #REFRESH_MILLIS} ms it reads
 * the policies changed since its last look (with an overlap, for late commits and skewed clocks) and,
 * when any did, swaps in a new {@link PolicySet}. Changes made through this replica's admin API are
 * applied at once. Warnings are written to the store from a thread of their own, never the request path.
 */
public final class PolicyRegistry implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(PolicyRegistry.class.getName());
    public static final long REFRESH_MILLIS = 500;
    static final long OVERLAP_MILLIS = 10_000;

    private final LimitStore store;
    private final Limits limits;
    private final Map<String, LimitStore.Row> rows = new HashMap<>(); // guarded by this
    private long seenUpTo; // guarded by this
    private boolean loaded;
    private final ScheduledThreadPoolExecutor refresher;
    private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("skiff-limit-warnings").daemon(true).unstarted(r));
    private volatile String lastFailure;

    private PolicyRegistry(LimitStore store, Limits limits) {
        this.store = store;
        this.limits = limits;
        this.refresher = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().name("skiff-limits").daemon(true).unstarted(r));
        refresher.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /** Loads every policy (blocking), then refreshes in the background and persists warnings. */
    public static PolicyRegistry start(LimitStore store, Limits limits) throws SQLException {
        PolicyRegistry r = new PolicyRegistry(store, limits);
        r.refresh();
        r.refresher.scheduleWithFixedDelay(r::refreshQuietly, REFRESH_MILLIS, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
        limits.warnings().onWarning(w -> r.writer.execute(() -> {
            try {
                store.addWarning(w);
            } catch (SQLException | RuntimeException e) {
                LOG.warning("skiff: a limit warning could not be stored (it is logged and listed by this replica): " + e.getMessage());
            }
        }));
        return r;
    }

    public LimitStore store() {
        return store;
    }

    public Limits limits() {
        return limits;
    }

    void refresh() throws SQLException {
        long since;
        synchronized (this) {
            since = loaded ? Math.max(0, seenUpTo - OVERLAP_MILLIS) : 0;
        }
        apply(store.changedSince(since));
        loaded = true;
    }

    private void refreshQuietly() {
        try {
            refresh();
            if (lastFailure != null) {
                LOG.info("skiff: limit policies are read from the database again");
                lastFailure = null;
            }
        } catch (SQLException | RuntimeException e) {
            // The policies loaded stay in force; changes made on other replicas wait for the database.
            String why = String.valueOf(e.getMessage());
            if (!why.equals(lastFailure)) {
                LOG.warning("skiff: limit policies could not be refreshed (changes made on other replicas wait): " + why);
                lastFailure = why;
            }
        }
    }

    /** Takes in rows newer than those held (a tombstone removes); rebuilds the snapshot if anything changed. */
    public synchronized void apply(List<LimitStore.Row> changed) {
        boolean any = false;
        for (LimitStore.Row row : changed) {
            LimitStore.Row old = rows.get(row.id());
            if (row.updatedAt() > seenUpTo) seenUpTo = row.updatedAt();
            if (old != null && (old.updatedAt() > row.updatedAt() || old.equals(row))) continue;
            if (old == null && row.policy() == null) continue;
            if (row.policy() == null) rows.remove(row.id());
            else rows.put(row.id(), row);
            any = true;
        }
        if (!any) return;
        List<LimitPolicy> all = new ArrayList<>(rows.size());
        for (LimitStore.Row r : rows.values()) all.add(r.policy());
        limits.policies(new PolicySet(all));
    }

    @Override
    public void close() {
        refresher.shutdownNow();
        writer.shutdown();
        try {
            writer.awaitTermination(2, TimeUnit.SECONDS); // warnings already crossed are written before exit
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
