package dev.skiff.control.keys;

import dev.skiff.store.Database;
import java.io.IOException;
import java.sql.SQLException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Managed keys, running: the store, the registry the request path reads, and the refresher that
 * keeps the registry in step with the store every {@link #REFRESH_MILLIS} so that a key revoked (or
 * changed) through another replica is refused here within a second.
 */
public final class Keys implements AutoCloseable {
    public static final long REFRESH_MILLIS = 500;

    private final KeyStore store;
    private final KeyRegistry registry;
    private final ScheduledExecutorService refresher;
    private volatile String lastFailure; // said once when it starts failing, and once when it recovers

    private Keys(KeyStore store, KeyRegistry registry, ScheduledExecutorService refresher) {
        this.store = store;
        this.registry = registry;
        this.refresher = refresher;
    }

    /** Migrates, loads every key (blocking), then refreshes in the background; failing open. */
    public static Keys start(Database db) throws SQLException, IOException {
        return start(db, false);
    }

    /**
     * As {@link #start(Database)}; {@code failClosed} refuses managed keys while the store cannot be
     * read for longer than {@link KeyRegistry#STALE_AFTER_MILLIS}.
     */
    public static Keys start(Database db, boolean failClosed) throws SQLException, IOException {
        KeyStore store = new KeyStore(db);
        KeyRegistry registry = new KeyRegistry();
        registry.failClosed(failClosed);
        registry.refresh(store);
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1,
                r -> Thread.ofPlatform().name("skiff-keys").daemon(true).unstarted(r));
        t.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        Keys keys = new Keys(store, registry, t);
        t.scheduleWithFixedDelay(keys::refresh, REFRESH_MILLIS, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
        return keys;
    }

    private void refresh() {
        try {
            registry.refresh(store);
            if (lastFailure != null) {
                System.err.println("skiff: managed keys are read from the database again");
                lastFailure = null;
            }
        } catch (SQLException | RuntimeException e) {
            // Keys already loaded stay in force; a revocation made elsewhere waits for the database.
            String why = String.valueOf(e.getMessage()).replaceAll("\\s+", " ").strip();
            if (!why.equals(lastFailure)) {
                System.err.println("skiff: managed keys could not be refreshed (changes made on other replicas wait): " + why);
                lastFailure = why;
            }
        }
    }

    public KeyStore store() {
        return store;
    }

    public KeyRegistry registry() {
        return registry;
    }

    public KeysResource resource() {
        return new KeysResource(store, registry);
    }

    @Override
    public void close() {
        refresher.shutdownNow();
    }
}
