package dev.skiff.upstream;

import io.netty.channel.EventLoop;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Name resolution that never blocks an event loop: answers come from a cache, and a miss is looked up
 * on a virtual thread. An expired entry is still used while a fresh lookup runs beside it, so a
 * request never waits on DNS for a host it has reached before. The JDK resolver does the lookup, so
 * /etc/hosts, resolv.conf and the JDK's own settings apply as usual.
 */
final class HostResolver {
    private static final long TTL_NANOS = TimeUnit.SECONDS.toNanos(30);

    private static final class Entry {
        volatile InetAddress address;
        volatile long resolvedAt;
        volatile boolean refreshing;
    }

    private final ConcurrentHashMap<String, Entry> cache = new ConcurrentHashMap<>();

    /** Lookups are rare (once per host per TTL); a small pool of daemon threads is plenty. */
    private static final ExecutorService LOOKUPS = new ThreadPoolExecutor(0, 4, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), r -> Thread.ofPlatform().name("skiff-dns").daemon(true).unstarted(r));

    /** Calls {@code then} on {@code loop} (maybe at once) with the address, or with the error. */
    void resolve(String host, EventLoop loop, BiConsumer<InetAddress, Throwable> then) {
        InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host);
        if (literal != null) { // an address already: nothing to look up
            then.accept(literal, null);
            return;
        }
        Entry e = cache.get(host);
        if (e != null) {
            if (System.nanoTime() - e.resolvedAt > TTL_NANOS && !e.refreshing) {
                e.refreshing = true;
                LOOKUPS.execute(() -> refresh(host, e));
            }
            then.accept(e.address, null);
            return;
        }
        LOOKUPS.execute(() -> {
            try {
                Entry fresh = new Entry();
                fresh.address = InetAddress.getByName(host);
                fresh.resolvedAt = System.nanoTime();
                cache.put(host, fresh);
                loop.execute(() -> then.accept(fresh.address, null));
            } catch (UnknownHostException ex) {
                loop.execute(() -> then.accept(null, ex));
            }
        });
    }

    private static void refresh(String host, Entry e) {
        try {
            e.address = InetAddress.getByName(host);
            e.resolvedAt = System.nanoTime();
        } catch (UnknownHostException ignored) {
            // keep the last good answer; the next expiry tries again
        } finally {
            e.refreshing = false;
        }
    }
}
