package dev.skiff.observe.audit;

import dev.skiff.observe.Observers;
import dev.skiff.observe.UsageLog;
import dev.skiff.observe.UsageStore;
import java.io.IOException;

/**
 * The audit level while Skiff runs: the configured one ({@code SKIFF_AUDIT}) at start, changed with
 * {@code PUT /admin/v1/audit/settings} (see {@link AuditResource}) without a restart, e.g. bodies on to
 * look into a problem, then off again. A change holds until the process ends: it is not written back
 * to any configuration, and the next start takes {@code SKIFF_AUDIT} again.
 *
 * <p>The audit log (its writer thread; its store, whose database opens with the first record or
 * query) is made when the level is first not off, and kept from then on: turned off, it records
 * nothing new but the requests already captured, and its records can still be read. Each request is
 * captured at the level it began with (its trail keeps it), so a change never leaves a request half
 * captured. On the request path the level costs what it did: {@link Observers#begin} reads one field.
 */
public final class AuditSwitch implements AutoCloseable {
    /** Makes the audit store (it opens its database when first used). */
    @FunctionalInterface
    public interface StoreOpener {
        AuditStore open() throws IOException;
    }

    private final AuditConfig start;
    private final Observers observers;
    private final UsageLog usageLog;
    private final UsageStore usageStore;
    private final StoreOpener opener;
    private volatile AuditLog log; // null until the level is first not off
    private volatile AuditConfig current;
    private boolean bodiesPagesChecked; // guarded by this

    /**
     * @param usageStore where usage rows are stored (null: nowhere); with it, audit records ride in the
     *                   usage rows (see {@link UsageLog#auditInRows(UsageLog.AuditDetails, boolean)})
     */
    public AuditSwitch(AuditConfig start, Observers observers, UsageStore usageStore, StoreOpener opener) {
        this.start = start;
        this.observers = observers;
        this.usageLog = observers.usageLog();
        this.usageStore = usageStore;
        this.opener = opener;
        this.current = start.withLevel(AuditConfig.Level.OFF);
    }

    /** The configured start: the level {@code start} names, set now. */
    public AuditSwitch begin() throws IOException {
        set(start.level());
        return this;
    }

    /** The configuration now (its level the one requests are captured at). */
    public AuditConfig config() {
        return current;
    }

    /** The level the process started with ({@code SKIFF_AUDIT}). */
    public AuditConfig.Level startLevel() {
        return start.level();
    }

    /** The audit log, or null when the level has not been other than off since start. */
    public AuditLog log() {
        return log;
    }

    /** Records the audit log dropped (0 while there is none). */
    public long dropped() {
        AuditLog l = log;
        return l == null ? 0 : l.dropped();
    }

    /**
     * Requests that begin from now on are captured at {@code level}; returns the level before. Opens the
     * audit log when it is first needed (a failure leaves the level as it was).
     */
    public synchronized AuditConfig.Level set(AuditConfig.Level level) throws IOException {
        AuditConfig.Level before = current.level();
        AuditConfig next = start.withLevel(level);
        AuditLog l = log;
        if (level != AuditConfig.Level.OFF && l == null) {
            l = new AuditLog(next, opener.open());
            if (usageStore != null) usageLog.auditInRows(l.rowDetails(), bodiesInRows(level));
            observers.add(l);
            log = l;
        } else if (usageStore != null && level == AuditConfig.Level.BODIES && !bodiesPagesChecked) {
            usageLog.auditBodiesInRows(bodiesInRows(level));
        }
        if (l != null) l.level(level); // before capture starts at it: a request captured now finds the log at it
        observers.audit(next);
        current = next;
        return before;
    }

    /**
     * Whether records of bodies level ride in usage rows: the usage file's pages take them (asked when
     * the level is first bodies; a usage file is made with such pages whatever the level then, so only a
     * file an older Skiff made says no: see {@link UsageStore#pagesForAuditBodies}).
     */
    private boolean bodiesInRows(AuditConfig.Level level) {
        if (level != AuditConfig.Level.BODIES) return false;
        bodiesPagesChecked = true;
        return usageStore.pagesForAuditBodies();
    }

    @Override
    public void close() {
        AuditLog l = log;
        if (l != null) l.close();
    }
}
