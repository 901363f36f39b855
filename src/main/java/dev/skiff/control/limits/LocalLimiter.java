package dev.skiff.control.limits;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Counters in this process: exact for one Skiff, not shared between replicas (set SKIFF_REDIS_URL
 * for that). Counters live in a concurrent map; a request's counters are locked together through a
 * fixed set of striped locks, taken in index order so two requests never wait on each other in a
 * cycle. The critical section is a few additions, so it runs on the event loop and completes at once.
 */
public final class LocalLimiter implements Limiter {
    private static final int STRIPES = 64;

    private final ReentrantLock[] locks = new ReentrantLock[STRIPES];
    private final ConcurrentHashMap<String, Cell> cells = new ConcurrentHashMap<>();
    private final LongSupplier clock;
    /**
     * No counter's window ends before this (epoch ms), as far as the last full walk of the cells and
     * the cells made since say: until then a sweep would find nothing to forget, and none runs. A
     * hint, read on every reservation and written rarely (a walk's end, a new cell, a concurrency
     * counter back to 0), never a cause of a wrong count: an expired period is reset when it is read.
     */
    private final AtomicLong sweepFloor = new AtomicLong(Long.MAX_VALUE);
    /** The earliest end of the cells made since the walk under way began (they may lie behind its iterator). */
    private final AtomicLong madeFloor = new AtomicLong(Long.MAX_VALUE);

    public LocalLimiter() {
        this(System::currentTimeMillis);
    }

    /** @param clock epoch milliseconds; tests move it by hand */
    public LocalLimiter(LongSupplier clock) {
        this.clock = clock;
        for (int i = 0; i < STRIPES; i++) locks[i] = new ReentrantLock();
    }

    /** The state of one counter; guarded by its stripe's lock. */
    private static final class Cell {
        long periodStart = Long.MIN_VALUE; // calendar: the period value counts
        long value; // calendar and concurrency
        long[] bucketIds; // rolling: which bucket each slot holds
        long[] bucketValues;
        long expiresAtMs = Long.MAX_VALUE;
        boolean inFlight; // a concurrency counter: kept while anything is in flight
    }

    @Override
    public CompletionStage<Decision> reserve(List<Charge> charges) {
        return CompletableFuture.completedFuture(reserveNow(charges));
    }

    /** {@link #reserve}, synchronously. */
    public Decision reserveNow(List<Charge> charges) {
        if (charges.isEmpty()) return Decision.NONE;
        long now = clock.getAsLong();
        // A sweep one reservation in 64 on average, chosen per thread (a counter shared by the event
        // loops moved its cache line between cores on every request), and only once some counter may
        // have ended: with every window still running (1,000 end users' daily quotas) a sweep only
        // walked live cells, 0.2-0.3 us a request (async-profiler).
        if (now >= sweepFloor.get() && ThreadLocalRandom.current().nextInt(64) == 0) sweep(now);
        return charges.size() == 1 ? reserveOne(charges, now) : reserveMany(charges, now);
    }

    /**
     * The common case (one quota, one budget): no arrays, no sort. Local tickets carry no id: nothing
     * here names a request (a shared counter of tickets moved its cache line between the event loops'
     * cores on every request, like the sweep's trigger before it).
     */
    private Decision reserveOne(List<Charge> charges, long now) {
        Charge c = charges.get(0);
        ReentrantLock lock = locks[stripe(c.counter())];
        lock.lock();
        try {
            Cell cell = cell(c, now);
            long used = current(cell, c.window(), now);
            long resetAt = resetAt(cell, c.window(), now);
            if (!Limiter.fits(used, c.amount(), c.limit())) {
                Counter refused = new Counter(c, used, resetAt);
                return new Decision.Refused(refused, retryAfter(cell, c, used, now), List.of(refused));
            }
            add(cell, c.window(), now, c.amount());
            return new Decision.Admitted(new Ticket(LOCAL_TICKET, charges, now), List.of(new Counter(c, used + c.amount(), resetAt)));
        } finally {
            lock.unlock();
        }
    }

    private static final String LOCAL_TICKET = "";

    private Decision reserveMany(List<Charge> charges, long now) {
        int[] stripes = stripes(charges);
        for (int s : stripes) locks[s].lock();
        try {
            Cell[] cs = new Cell[charges.size()];
            long[] used = new long[charges.size()];
            for (int i = 0; i < cs.length; i++) {
                Charge c = charges.get(i);
                cs[i] = cell(c, now);
                used[i] = current(cs[i], c.window(), now);
            }
            for (int i = 0; i < cs.length; i++) {
                Charge c = charges.get(i);
                if (!Limiter.fits(used[i], c.amount(), c.limit())) {
                    List<Counter> counters = new ArrayList<>(cs.length);
                    for (int j = 0; j < cs.length; j++) counters.add(new Counter(charges.get(j), used[j], resetAt(charges.get(j).window(), now)));
                    return new Decision.Refused(counters.get(i), retryAfter(cs[i], c, used[i], now), counters);
                }
            }
            List<Counter> counters = new ArrayList<>(cs.length);
            for (int i = 0; i < cs.length; i++) {
                Charge c = charges.get(i);
                add(cs[i], c.window(), now, c.amount());
                counters.add(new Counter(c, used[i] + c.amount(), resetAt(cs[i], c.window(), now)));
            }
            return new Decision.Admitted(new Ticket(LOCAL_TICKET, charges, now), counters);
        } finally {
            for (int i = stripes.length - 1; i >= 0; i--) locks[stripes[i]].unlock();
        }
    }

    /** The charge's cell, made when it has none; under the counter's lock. */
    private Cell cell(Charge c, long now) {
        // get first: computeIfAbsent locks the map's bin whenever the cell is not its first
        // node, and it was 0.8% of the event loops' samples with 1,000 end users' counters.
        Cell cell = cells.get(c.counter());
        if (cell != null) return cell;
        cell = cells.computeIfAbsent(c.counter(), k -> new Cell());
        // A new counter ends with its window: the sweeps resume by then. (A concurrency counter
        // lowers the floor once it is back to 0, in settle.)
        if (!(c.window() instanceof Window.None)) {
            long ends = resetAt(c.window(), now);
            lower(madeFloor, ends); // first: a walk ending meanwhile reads it after the floor (see sweep)
            lower(sweepFloor, ends);
        }
        return cell;
    }

    @Override
    public CompletionStage<List<Counter>> settle(Ticket ticket, long tokens, long costMicros) {
        List<Charge> charges = ticket.charges();
        if (charges.isEmpty()) return CompletableFuture.completedFuture(List.of());
        long now = clock.getAsLong();
        int[] stripes = stripes(charges);
        List<Counter> after = new ArrayList<>(charges.size());
        for (int s : stripes) locks[s].lock();
        try {
            for (Charge c : charges) {
                Cell cell = cells.get(c.counter());
                if (cell == null) continue;
                if (c.metric() == Metric.CONCURRENT) {
                    cell.value = Math.max(0, cell.value - c.amount());
                    if (cell.value == 0) { // an idle counter, which a sweep forgets
                        lower(madeFloor, now);
                        lower(sweepFloor, now);
                    }
                    continue;
                }
                long delta = Limiter.delta(c, tokens, costMicros);
                if (delta == 0) continue;
                switch (c.window()) {
                    case Window.Calendar cal -> {
                        if (cell.periodStart == cal.start(ticket.reservedAtMs())) cell.value += delta; // else its period is over
                    }
                    case Window.Rolling r -> {
                        long b = r.bucket(ticket.reservedAtMs());
                        int slot = (int) Math.floorMod(b, r.buckets());
                        if (cell.bucketIds != null && cell.bucketIds[slot] == b) cell.bucketValues[slot] += delta;
                    }
                    case Window.None n -> {
                    }
                }
                after.add(new Counter(c, current(cell, c.window(), now), resetAt(c.window(), now)));
            }
        } finally {
            for (int i = stripes.length - 1; i >= 0; i--) locks[stripes[i]].unlock();
        }
        return CompletableFuture.completedFuture(after);
    }

    private int[] stripes(List<Charge> charges) {
        if (charges.size() == 1) return new int[] {stripe(charges.get(0).counter())}; // the common case: nothing to sort
        int[] s = new int[charges.size()];
        for (int i = 0; i < s.length; i++) s[i] = stripe(charges.get(i).counter());
        Arrays.sort(s);
        int n = 0;
        for (int i = 0; i < s.length; i++) if (i == 0 || s[i] != s[i - 1]) s[n++] = s[i];
        return n == s.length ? s : Arrays.copyOf(s, n);
    }

    /**
     * What the counter holds now, dropping what its window no longer covers. instanceof, not a
     * pattern switch: the switch's bootstrap dispatch is not free on the request path.
     */
    private static long current(Cell cell, Window w, long now) {
        if (w instanceof Window.Calendar cal) {
            // Within the period still: one comparison, no calendar arithmetic.
            if (cell.periodStart != Long.MIN_VALUE && now >= cell.periodStart && now < cell.expiresAtMs) return cell.value;
            long start = cal.start(now);
            if (cell.periodStart != start) {
                cell.periodStart = start;
                cell.value = 0;
                cell.expiresAtMs = cal.end(now);
            }
            return cell.value;
        }
        if (w instanceof Window.Rolling r) {
            int n = r.buckets();
            if (cell.bucketIds == null) {
                cell.bucketIds = new long[n];
                Arrays.fill(cell.bucketIds, Long.MIN_VALUE);
                cell.bucketValues = new long[n];
            }
            long b = r.bucket(now), sum = 0;
            for (int i = 0; i < n; i++) {
                if (cell.bucketIds[i] > b - n) sum += cell.bucketValues[i];
            }
            cell.expiresAtMs = (b + n + 1) * r.bucketMillis();
            return sum;
        }
        cell.inFlight = true;
        return cell.value;
    }

    private static void add(Cell cell, Window w, long now, long amount) {
        if (w instanceof Window.Rolling r) {
            long b = r.bucket(now);
            int slot = (int) Math.floorMod(b, r.buckets());
            if (cell.bucketIds[slot] != b) {
                cell.bucketIds[slot] = b;
                cell.bucketValues[slot] = 0;
            }
            cell.bucketValues[slot] += amount;
        } else {
            cell.value += amount;
        }
    }

    static long resetAt(Window w, long now) {
        if (w instanceof Window.Calendar cal) return cal.end(now);
        if (w instanceof Window.Rolling r) return (r.bucket(now) + r.buckets()) * r.bucketMillis();
        return 0;
    }

    /** {@link #resetAt}, from a cell {@link #current} has just brought up to date: a calendar period's end is the cell's. */
    private static long resetAt(Cell cell, Window w, long now) {
        return w instanceof Window.Calendar ? cell.expiresAtMs : resetAt(w, now);
    }

    /** How long until {@code c} could fit: the period's end, or when enough of the oldest buckets have dropped out. */
    private static long retryAfter(Cell cell, Charge c, long used, long now) {
        return switch (c.window()) {
            case Window.Calendar cal -> cal.end(now) - now;
            case Window.Rolling r -> {
                long b = r.bucket(now);
                int n = r.buckets();
                long left = used;
                for (long oldest = b - n + 1; oldest <= b; oldest++) {
                    int slot = (int) Math.floorMod(oldest, n);
                    if (cell.bucketIds[slot] == oldest) left -= cell.bucketValues[slot];
                    if (Limiter.fits(left, c.amount(), c.limit())) yield (oldest + n) * r.bucketMillis() - now;
                }
                yield r.seconds() * 1000; // larger than the limit itself: it will not fit in any window
            }
            case Window.None n -> 1000;
        };
    }

    /**
     * Forgets counters whose window is over, so that a million one-off end users do not stay in
     * memory: a few hundred cells per call, resuming where the last call stopped, so that no request
     * pays for a walk over them all. One walker at a time (another reservation skips its turn). A
     * walk that went over every cell raises the floor to the earliest end it saw, or of a cell made
     * meanwhile: no sweep runs again before then.
     */
    private void sweep(long now) {
        if (!sweepLock.tryLock()) return;
        try {
            java.util.Iterator<java.util.Map.Entry<String, Cell>> it = sweeper;
            if (it == null || !it.hasNext()) {
                // madeFloor first: a cell made before it was reset is in the map before the walk
                // begins, so the walk sees it; one made after lowers it again.
                madeFloor.set(Long.MAX_VALUE);
                walkFloor = Long.MAX_VALUE;
                it = cells.entrySet().iterator();
            }
            long floor = walkFloor;
            for (int i = 0; i < 256 && it.hasNext(); i++) {
                var e = it.next();
                // A look without the lock first: most cells are live (a day's quota of an end user who
                // comes back), and locking each of them cost a request about 0.25 us (perf, 1,000
                // end users). A stale look only puts a cell off to the next walk; removal is decided below.
                Cell seen = e.getValue();
                long ends = seen.expiresAtMs;
                if (ends >= now && !(seen.inFlight && seen.value == 0)) {
                    if (ends < floor) floor = ends; // a stale look sees an earlier end: the floor only errs early
                    continue;
                }
                ReentrantLock lock = locks[stripe(e.getKey())];
                lock.lock(); // under the counter's lock: a request that found the cell adds to it, or finds it gone
                try {
                    Cell c = e.getValue();
                    if (c.expiresAtMs < now || c.inFlight && c.value == 0) cells.remove(e.getKey(), c);
                    else if (c.expiresAtMs < floor) floor = c.expiresAtMs;
                } finally {
                    lock.unlock();
                }
            }
            walkFloor = floor;
            sweeper = it;
            if (!it.hasNext()) {
                // The walk is over. A cell made while it went may lie behind it: madeFloor holds their
                // earliest end. A new cell lowers madeFloor, then the floor; so if the floor moved
                // between the read and the swap, the swap fails and madeFloor is read again.
                for (;;) {
                    long seenFloor = sweepFloor.get();
                    if (sweepFloor.compareAndSet(seenFloor, Math.min(floor, madeFloor.get()))) break;
                }
            }
        } finally {
            sweepLock.unlock();
        }
    }

    private final ReentrantLock sweepLock = new ReentrantLock();
    private java.util.Iterator<java.util.Map.Entry<String, Cell>> sweeper; // guarded by sweepLock
    private long walkFloor = Long.MAX_VALUE; // the earliest end the walk under way saw; guarded by sweepLock

    /** Lowers {@code floor} to {@code value} unless it is lower already. */
    private static void lower(AtomicLong floor, long value) {
        for (long f = floor.get(); value < f; f = floor.get()) {
            if (floor.compareAndSet(f, value)) return;
        }
    }

    private static int stripe(String counter) {
        return (counter.hashCode() & 0x7fffffff) % STRIPES;
    }

    /** How many counters are held (tests). */
    int size() {
        return cells.size();
    }

    @Override
    public void close() {
        cells.clear();
    }
}
