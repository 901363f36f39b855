package dev.skiff.control.limits;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.EventLoopGroupProvider;
import io.lettuce.core.resource.Transports;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The limiter's connections to Redis. Given Skiff's event loops, Lettuce runs on them and keeps one
 * connection per loop, so a request's EVALSHA is written, and its answer read and handled, on the
 * request's own thread: no hand-off to a Lettuce thread and back, which on a 2-core machine cost
 * more than the command itself. Without loops (tests, or a transport Lettuce does not use), one
 * connection on Lettuce's own threads.
 *
 * <p>Which loop a connection landed on is learnt from where its first answer arrives (Netty picks
 * the loop); a connection that lands on a loop that already has one is closed and made again. A
 * reconnection may land elsewhere; it is learnt again. Any open connection serves any thread:
 * pinning saves work, correctness never depends on it. Commands whose order matters across threads
 * go on {@link #first()}.
 *
 * <p>On a loop of its own, a connection does not flush each command as it is written: the commands a
 * loop sends while it handles one batch of I/O (the requests of several clients read at once) leave
 * in one write when the batch is done ({@link #sent}), and Redis answers them in one write too.
 * Commands sent from another thread are flushed at once.
 */
final class RedisConnections implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(RedisConnections.class.getName());

    /** A connection and the event loop its channel runs on (null: not one of ours, or not known yet). */
    private static final class Link {
        final EventExecutor loop;
        final StatefulRedisConnection<String, String> connection;
        private boolean flushing; // a flush is queued on the loop (loop-confined)
        private final Runnable flush;

        Link(EventExecutor loop, StatefulRedisConnection<String, String> connection) {
            this.loop = loop;
            this.connection = connection;
            this.flush = () -> {
                flushing = false;
                connection.flushCommands();
            };
        }

        EventExecutor loop() {
            return loop;
        }
    }

    private final RedisClient client;
    private final ClientResources ownResources; // made here to share the loops; shut down here
    private final RedisURI uri;
    private final List<EventExecutor> loops; // empty when Lettuce has threads of its own
    private final EventLoopGroup group; // the shared loops, or null
    private final ScheduledExecutorService retry = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "skiff-redis-connect");
        t.setDaemon(true);
        return t;
    });
    private volatile Link[] links = new Link[0];
    private volatile String lastConnectError = "not connected yet";
    private volatile boolean closed;
    private int misplaced; // connections that landed on an already served loop (connect thread only)

    /**
     * @param group        Skiff's event loops, or null
     * @param channelClass the socket channel class those loops serve; Lettuce shares them only when it
     *                     uses the same transport (its choice of epoll is made once per process)
     */
    RedisConnections(String url, Duration commandTimeout, EventLoopGroup group, Class<? extends Channel> channelClass) {
        this.uri = RedisURI.create(url);
        boolean share = group != null && Transports.socketChannelClass() == channelClass;
        if (group != null && !share) {
            LOG.info("skiff: Redis runs on Lettuce's threads: Lettuce uses " + Transports.socketChannelClass().getSimpleName()
                    + ", Skiff's loops " + channelClass.getSimpleName());
        }
        List<EventExecutor> ls = new ArrayList<>();
        if (share) group.forEach(ls::add);
        this.loops = List.copyOf(ls);
        this.group = share ? group : null;
        this.ownResources = share ? ClientResources.builder().eventLoopGroupProvider(new Shared(group)).build() : null;
        this.client = share ? RedisClient.create(ownResources) : RedisClient.create();
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                // While disconnected a command fails at once: the request is decided by failOpen, not held.
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
                .build());
        client.addListener(new RedisConnectionStateListener() {
            @Override
            public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
                relearn(connection);
            }
        });
        connect();
    }

    /** The connection for the calling thread: its own loop's when it has one, else any open one; null when none. */
    StatefulRedisConnection<String, String> current() {
        Link[] ls = links;
        StatefulRedisConnection<String, String> any = null;
        for (Link l : ls) {
            if (l.loop != null && l.loop.inEventLoop() && l.connection.isOpen()) return l.connection;
            if (any == null && l.connection.isOpen()) any = l.connection;
        }
        return any != null ? any : ls.length > 0 ? ls[0].connection : null;
    }

    /**
     * Commands were written on {@code c}: they leave now, or, on the connection's own loop, with the
     * others this loop writes before it next waits for I/O (one task queued per batch).
     */
    void sent(StatefulRedisConnection<String, String> c) {
        for (Link l : links) {
            if (l.connection != c) continue;
            if (l.loop == null || !l.loop.inEventLoop()) break;
            if (!l.flushing) {
                l.flushing = true;
                l.loop.execute(l.flush);
            }
            return;
        }
        c.flushCommands();
    }

    /** The same connection for every thread while it is open (see RedisLimiter's settlements); null when none. */
    StatefulRedisConnection<String, String> first() {
        Link[] ls = links;
        for (Link l : ls) if (l.connection.isOpen()) return l.connection;
        return ls.length > 0 ? ls[0].connection : null;
    }

    boolean connected() {
        for (Link l : links) if (l.connection.isOpen()) return true;
        return false;
    }

    String lastConnectError() {
        return lastConnectError;
    }

    /** How many connections are open, and on how many distinct loops of Skiff's (for tests). */
    int[] placement() {
        Link[] ls = links;
        return new int[] {ls.length, (int) Arrays.stream(ls).map(Link::loop).filter(l -> l != null).distinct().count()};
    }

    private void connect() {
        if (closed) return;
        client.connectAsync(StringCodec.UTF8, uri).whenComplete((c, error) -> {
            if (error != null) {
                lastConnectError = describe(error);
                if (!closed) retry.schedule(this::connect, 1, TimeUnit.SECONDS);
                return;
            }
            if (closed) {
                c.closeAsync();
                return;
            }
            // The first answer arrives on the connection's loop: that is where it lives.
            afterPing(c, loop -> place(c, loop));
        });
    }

    /** Keeps a new connection, or (loop already served) drops it and tries again, a few times at most. */
    private void place(StatefulRedisConnection<String, String> c, EventExecutor loop) {
        if (closed) {
            c.closeAsync();
            return;
        }
        boolean served = loop != null && Arrays.stream(links).anyMatch(l -> l.loop == loop);
        if (served && misplaced < 4 * loops.size()) {
            misplaced++;
            c.closeAsync();
        } else {
            c.setAutoFlushCommands(false); // flushed by sent()
            Link[] ls = Arrays.copyOf(links, links.length + 1);
            ls[ls.length - 1] = new Link(loop, c);
            links = ls;
        }
        long servedLoops = Arrays.stream(links).map(Link::loop).filter(l -> l != null).distinct().count();
        if (links.length < Math.max(1, loops.size()) && servedLoops < loops.size() && misplaced < 4 * loops.size()) connect();
    }

    /** A reconnected channel may be on another loop now. */
    private void relearn(RedisChannelHandler<?, ?> handler) {
        if (loops.isEmpty() || closed) return;
        for (Link l : links) {
            if (l.connection == handler) {
                afterPing(l.connection, loop -> {
                    Link[] ls = links.clone();
                    for (int i = 0; i < ls.length; i++) if (ls[i].connection == handler) ls[i] = new Link(loop, ls[i].connection);
                    links = ls;
                });
                l.connection.flushCommands(); // commands on kept connections are not flushed as written (see sent)
                return;
            }
        }
    }

    /**
     * Sends a PING and gives {@code then}, on the connect thread, the loop its answer arrived on (null:
     * not one of Skiff's). The callback is attached before the command is sent, so it runs where the
     * answer completes it. Attached after (as {@code async().ping().whenComplete}), it ran on the
     * sending thread whenever the answer beat the attachment, and the connection was kept as on no
     * loop: two connections, one of them unplaced, and a loop left without one.
     */
    private void afterPing(StatefulRedisConnection<String, String> c, java.util.function.Consumer<EventExecutor> then) {
        AsyncCommand<String, String, String> ping = new AsyncCommand<>(new Command<>(CommandType.PING, new StatusOutput<>(StringCodec.UTF8)));
        ping.whenComplete((pong, e) -> {
            EventExecutor loop = loopOfCallingThread();
            if (!closed) retry.execute(() -> then.accept(loop));
        });
        c.dispatch(ping);
    }

    private EventExecutor loopOfCallingThread() {
        for (EventExecutor e : loops) if (e.inEventLoop()) return e;
        return null;
    }

    static String describe(Throwable t) {
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    }

    /**
     * Closes the connections. On shared loops that Skiff has already shut down, nothing is waited
     * for: the channels went with their loops.
     */
    @Override
    public void close() {
        closed = true;
        retry.shutdownNow();
        // The client's shutdown closes its connections.
        if (ownResources != null) {
            var done = client.shutdownAsync(0, 2, TimeUnit.SECONDS);
            if (!group.isShuttingDown()) { // loops still running: let the channels close on them
                try {
                    done.get(2, TimeUnit.SECONDS);
                } catch (Exception e) {
                    if (e instanceof InterruptedException) Thread.currentThread().interrupt();
                }
            }
            ownResources.shutdown(0, 2, TimeUnit.SECONDS);
        } else {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }

    /** Hands Lettuce Skiff's loops; Skiff shuts them down, so Lettuce's release and shutdown do nothing. */
    private record Shared(EventLoopGroup group) implements EventLoopGroupProvider {
        @Override
        @SuppressWarnings("unchecked")
        public <T extends EventLoopGroup> T allocate(Class<T> type) {
            if (!type.isInstance(group)) throw new IllegalStateException("Lettuce asked for " + type + ", Skiff's loops are " + group.getClass());
            return (T) group;
        }

        @Override
        public int threadPoolSize() {
            int n = 0;
            for (EventExecutor ignored : group) n++;
            return n;
        }

        @Override
        public Future<Boolean> release(EventExecutorGroup eventLoopGroup, long quietPeriod, long timeout, TimeUnit unit) {
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(true);
        }

        @Override
        public Future<Boolean> shutdown(long quietPeriod, long timeout, TimeUnit timeUnit) {
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(true);
        }
    }
}
