package dev.skiff.control.limits;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Counters in Redis, shared by every replica: one script ({@code reserve.lua}) checks and increments
 * all of a request's counters in one round trip, atomically (Redis runs a script alone); another
 * settles. Lettuce's asynchronous API: nothing waits; results complete on the request's own event loop
 * when Skiff's loops are shared (see {@link RedisConnections}), else on Lettuce's threads.
 *
 * <p>Keys are {@code <prefix>lim:<counter>} (rolling windows, a hash of buckets; concurrency, a
 * sorted set of leases) or {@code <prefix>lim:<counter>:<period start>} (calendar windows), each
 * with an expiry, so Redis forgets what no window covers any more. Time is the replicas' clock
 * (keep them in NTP sync): a skew moves a window's edge by as much, never the count. One Redis, not
 * Cluster: a request's counters are one script's keys.
 *
 * <p>While Redis cannot be reached commands fail at once (never queued), as {@link Decision.Unavailable};
 * a connection that fails at start-up is tried again every second.
 */
public final class RedisLimiter implements Limiter {
    private static final Logger LOG = Logger.getLogger(RedisLimiter.class.getName());
    private static final String RESERVE = resource("reserve.lua");
    private static final String SETTLE = resource("settle.lua");

    private final RedisConnections connections;
    private final String prefix;
    private final long leaseMillis;
    private final LongSupplier clock;
    private final String instance = Long.toHexString(Double.doubleToLongBits(Math.random()) ^ System.nanoTime());
    private final AtomicLong tickets = new AtomicLong();
    /**
     * Settlements sent and not answered yet. They all go on one connection, and while any is on its
     * way every reservation follows it there: Redis runs one connection's commands in order, so a
     * reservation made after a settlement was sent counts it (a client's next request, say, sees its
     * last one's real cost). With none on the way, all are applied, and any connection will do.
     */
    private final java.util.concurrent.atomic.AtomicInteger settling = new java.util.concurrent.atomic.AtomicInteger();
    private final String reserveSha, settleSha;

    /**
     * @param leaseMillis  how long a request may count as in flight at most: a replica that dies
     *                     mid-request cannot hold its concurrency slots longer (the longest exchange, and some)
     * @param loops        Skiff's event loops, for Lettuce to run on (see {@link RedisConnections}); null: its own threads
     * @param channelClass the socket channel class of those loops
     */
    public RedisLimiter(String url, String prefix, Duration commandTimeout, long leaseMillis, LongSupplier clock,
                        EventLoopGroup loops, Class<? extends Channel> channelClass) {
        this.prefix = prefix;
        this.leaseMillis = leaseMillis;
        this.clock = clock;
        this.reserveSha = sha1(RESERVE);
        this.settleSha = sha1(SETTLE);
        this.connections = new RedisConnections(url, commandTimeout, loops, channelClass);
    }

    public RedisLimiter(String url, String prefix, Duration commandTimeout, long leaseMillis, LongSupplier clock) {
        this(url, prefix, commandTimeout, leaseMillis, clock, null, null);
    }

    public RedisLimiter(String url, String prefix) {
        this(url, prefix, Duration.ofSeconds(2), Duration.ofMinutes(11).toMillis(), System::currentTimeMillis);
    }

    /** Whether a connection is open now. */
    public boolean connected() {
        return connections.connected();
    }

    /** Connections open, and how many of Skiff's loops they are on. */
    int[] placement() {
        return connections.placement();
    }

    @Override
    public CompletionStage<Decision> reserve(List<Charge> charges) {
        if (charges.isEmpty()) return CompletableFuture.completedFuture(Decision.NONE);
        StatefulRedisConnection<String, String> c = settling.get() > 0 ? connections.first() : connections.current();
        if (c == null) return CompletableFuture.completedFuture(new Decision.Unavailable("Redis cannot be reached: " + connections.lastConnectError()));
        long now = clock.getAsLong();
        String id = instance + ":" + tickets.incrementAndGet();
        String[] keys = new String[charges.size()];
        String[] args = new String[2 + 5 * keys.length];
        args[0] = Long.toString(now);
        args[1] = id;
        for (int i = 0; i < keys.length; i++) {
            Charge ch = charges.get(i);
            keys[i] = key(ch, now);
            int b = 2 + 5 * i;
            args[b + 1] = Long.toString(ch.limit());
            args[b + 2] = Long.toString(ch.amount());
            switch (ch.window()) {
                case Window.Calendar cal -> {
                    args[b] = "c";
                    args[b + 3] = Long.toString(cal.end(now));
                    args[b + 4] = "0";
                }
                case Window.Rolling r -> {
                    args[b] = "r";
                    args[b + 3] = Long.toString(r.bucketMillis());
                    args[b + 4] = Integer.toString(r.buckets());
                }
                case Window.None n -> {
                    args[b] = "k";
                    args[b + 3] = Long.toString(leaseMillis);
                    args[b + 4] = "0";
                }
            }
        }
        return eval(connections, c, reserveSha, RESERVE, keys, args).handle((result, error) -> {
            if (error != null) return new Decision.Unavailable("Redis did not answer: " + describe(error));
            List<?> out = (List<?>) result;
            List<Counter> counters = new ArrayList<>(keys.length);
            for (int i = 0; i < keys.length; i++) {
                Charge ch = charges.get(i);
                counters.add(new Counter(ch, ((Number) out.get(3 + i)).longValue(), LocalLimiter.resetAt(ch.window(), now)));
            }
            if (((Number) out.get(0)).longValue() == 1) return new Decision.Admitted(new Ticket(id, charges, now), counters);
            int refused = (int) ((Number) out.get(1)).longValue() - 1;
            return new Decision.Refused(counters.get(refused), Math.max(0, ((Number) out.get(2)).longValue()), counters);
        });
    }

    @Override
    public CompletionStage<List<Counter>> settle(Ticket ticket, long tokens, long costMicros) {
        List<Charge> charges = ticket.charges();
        List<String> keys = new ArrayList<>(charges.size());
        List<String> args = new ArrayList<>(1 + 3 * charges.size());
        List<Charge> settled = new ArrayList<>(charges.size());
        args.add(ticket.id());
        for (Charge ch : charges) {
            long delta = Limiter.delta(ch, tokens, costMicros);
            if (ch.metric() != Metric.CONCURRENT && delta == 0) continue; // nothing to move
            keys.add(key(ch, ticket.reservedAtMs()));
            settled.add(ch);
            switch (ch.window()) {
                case Window.Calendar cal -> args.addAll(List.of("c", Long.toString(delta), "0"));
                case Window.Rolling r -> args.addAll(List.of("r", Long.toString(delta), Long.toString(r.bucket(ticket.reservedAtMs()))));
                case Window.None n -> args.addAll(List.of("k", "0", "0"));
            }
        }
        if (keys.isEmpty()) return CompletableFuture.completedFuture(List.of());
        StatefulRedisConnection<String, String> c = connections.first();
        if (c == null) {
            LOG.warning("skiff: a limit settlement was lost: Redis cannot be reached (" + connections.lastConnectError() + ")");
            return CompletableFuture.completedFuture(List.of());
        }
        long now = clock.getAsLong();
        settling.incrementAndGet();
        CompletableFuture<Object> sent = eval(connections, c, settleSha, SETTLE, keys.toArray(String[]::new), args.toArray(String[]::new));
        sent.whenComplete((r, e) -> settling.decrementAndGet());
        return sent.handle((result, error) -> {
            if (error != null) {
                // In-flight leases end by themselves; a lost token or cost correction leaves the estimate counted.
                LOG.log(Level.WARNING, "skiff: a limit settlement failed; its estimate stays counted: " + describe(error));
                return List.of();
            }
            List<?> out = (List<?>) result;
            List<Counter> after = new ArrayList<>(settled.size());
            for (int i = 0; i < settled.size(); i++) {
                long v = ((Number) out.get(i)).longValue();
                if (v >= 0) after.add(new Counter(settled.get(i), v, LocalLimiter.resetAt(settled.get(i).window(), now)));
            }
            return after;
        });
    }

    /** EVALSHA, and EVAL when Redis does not have the script (restarted, flushed): it keeps it from then on. */
    private static CompletableFuture<Object> eval(RedisConnections connections, StatefulRedisConnection<String, String> c, String sha,
                                                  String script, String[] keys, String[] args) {
        CompletableFuture<Object> done = new CompletableFuture<>();
        c.async().<Object>evalsha(sha, ScriptOutputType.MULTI, keys, args).whenComplete((r, e) -> {
            if (e == null) {
                done.complete(r);
            } else if (e instanceof RedisNoScriptException || e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT")) {
                c.async().<Object>eval(script, ScriptOutputType.MULTI, keys, args).whenComplete((r2, e2) -> {
                    if (e2 != null) done.completeExceptionally(e2);
                    else done.complete(r2);
                });
                connections.sent(c);
            } else {
                done.completeExceptionally(e);
            }
        });
        connections.sent(c);
        return done;
    }

    private String key(Charge ch, long at) {
        String k = prefix + "lim:" + ch.counter();
        return ch.window() instanceof Window.Calendar cal ? k + ":" + cal.start(at) : k;
    }

    private static String describe(Throwable t) {
        return RedisConnections.describe(t);
    }

    private static String resource(String name) {
        try (InputStream in = RedisLimiter.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha1(String script) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        connections.close();
    }
}
