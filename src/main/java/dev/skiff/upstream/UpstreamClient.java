package dev.skiff.upstream;

import dev.skiff.config.Timeouts;
import dev.skiff.provider.Provider;
import dev.skiff.server.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.proxy.HttpProxyHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.resolver.NoopAddressResolverGroup;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import javax.net.ssl.SSLException;

/**
 * The HTTP/1.1 client Skiff uses to reach providers: pooled keep-alive connections per provider and
 * per event loop, TLS with certificate and host-name verification, the outbound proxy from the
 * environment, and non-blocking name resolution.
 */
public final class UpstreamClient {
    /** Upstream read sizes: 64 bytes to 16 KB, starting at 2 KB (see where the bootstrap sets them). */
    private static final io.netty.channel.AdaptiveRecvByteBufAllocator READ_SIZES = new io.netty.channel.AdaptiveRecvByteBufAllocator(64, 2048, 16 << 10);
    private final Transport transport;
    private final Timeouts timeouts;
    private final ProxySettings proxy;
    private final CompletableFuture<SslContext> ssl;
    private final HostResolver resolver = new HostResolver();
    private final Map<Provider, ConnectionPool> pools = new IdentityHashMap<>();

    /**
     * @param caFile PEM bundle of certificate authorities to trust instead of the runtime's defaults
     *               (a private CA, or a corporate TLS-inspecting proxy), or null for the defaults
     */
    public UpstreamClient(Transport transport, Timeouts timeouts, ProxySettings proxy, Path caFile, List<Provider> providers) {
        this.transport = transport;
        this.timeouts = timeouts;
        this.proxy = proxy;
        // TLS set-up loads the key stores and crypto providers (a fifth of a second): it is done only
        // when a provider needs it, beside start-up rather than in front of it.
        if (providers.stream().anyMatch(Provider::tls)) {
            this.ssl = new CompletableFuture<>();
            Thread.ofPlatform().name("skiff-tls-init").daemon(true).start(() -> {
                try {
                    SslContextBuilder tls = SslContextBuilder.forClient().endpointIdentificationAlgorithm("HTTPS");
                    if (caFile != null) tls.trustManager(caFile.toFile());
                    ssl.complete(tls.build());
                } catch (SSLException | RuntimeException e) {
                    ssl.completeExceptionally(new SSLException("upstream TLS cannot be set up: " + e.getMessage(), e));
                }
            });
        } else {
            this.ssl = CompletableFuture.failedFuture(new SSLException("no provider uses TLS"));
        }
        for (Provider p : providers) pools.put(p, new ConnectionPool());
    }

    public Timeouts timeouts() {
        return timeouts;
    }

    /**
     * Sends {@code head} and {@code body} to {@code provider} from {@code loop}, which must be the
     * caller's loop. Takes ownership of {@code body}. Callbacks run on {@code loop}.
     */
    public Exchange send(Provider provider, EventLoop loop, HttpRequest head, ByteBuf body, ExchangeListener listener) {
        Exchange exchange = new Exchange(this, provider, loop, head, body, listener);
        exchange.start();
        return exchange;
    }

    /**
     * Sends {@code head} now and its body in pieces as the listener hands them to {@link
     * Exchange#writeBody}, once {@link ExchangeListener#onSendable} says the connection is ready. The
     * head must frame the body (content-length or chunked). The response is relayed undecoded.
     */
    public Exchange sendStreamed(Provider provider, EventLoop loop, HttpRequest head, ExchangeListener listener) {
        Exchange exchange = new Exchange(this, provider, loop, head, null, listener);
        exchange.start();
        return exchange;
    }

    /**
     * Sends {@code head} and the whole {@code body} as {@link #send} does (the body is kept for the one
     * retry on a stale pooled connection), but relays the response undecoded as {@link #sendStreamed}
     * does: for a passthrough request whose body had to be gathered (SigV4 signs its hash).
     */
    public Exchange sendRelayed(Provider provider, EventLoop loop, HttpRequest head, ByteBuf body, ExchangeListener listener) {
        Exchange exchange = new Exchange(this, provider, loop, head, body, listener, true);
        exchange.start();
        return exchange;
    }

    ConnectionPool pool(Provider p) {
        return pools.get(p);
    }

    /** Per provider name: connections opened, requests sent on a reused connection, idle connections now (for /metrics). */
    public java.util.Map<String, long[]> poolFigures() {
        java.util.Map<String, long[]> out = new java.util.TreeMap<>();
        pools.forEach((p, pool) -> out.put(p.name(), new long[] {pool.opened.sum(), pool.reused.sum(), pool.idleNow.sum()}));
        return out;
    }

    /** Opens a new connection on {@code loop}; {@code done} receives the channel or the failure. */
    void connect(Provider p, EventLoop loop, BiConsumer<Channel, Throwable> done) {
        if (p.tls() && !ssl.isDone()) { // only in the first moments after start-up
            ssl.whenComplete((ctx, error) -> loop.execute(() -> connect(p, loop, done)));
            return;
        }
        if (p.tls() && ssl.isCompletedExceptionally()) {
            done.accept(null, ssl.exceptionNow());
            return;
        }
        SslContext tls = p.tls() ? ssl.resultNow() : null;
        InetSocketAddress via = proxy.proxyFor(p.host(), p.tls());
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                // Read buffers of at most 16 KB: the default guess jumps from 2 KB to 32 KB after one full
                // read (a stream's burst of events), and a buffer past the allocator's largest size class
                // (~16.5 KB) is a fresh allocation of its own each time, not a pooled one.
                .option(ChannelOption.RCVBUF_ALLOCATOR, READ_SIZES)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeouts.connect().toMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline pl = ch.pipeline();
                        pool(p).opened.increment();
                        if (via != null) pl.addLast(new HttpProxyHandler(via));
                        if (tls != null) pl.addLast(tls.newHandler(ch.alloc(), p.host(), p.port()));
                        pl.addLast(new UpstreamCodec(4096, 16384, 16384));
                        // Skiff asks for identity bodies, but a provider that compresses anyway is
                        // decoded here: translation, usage and the client all need plain bytes
                        // (passthrough excepted, which relays them as they came).
                        pl.addLast(new ContentDecoding());
                        pl.addLast(new UpstreamHandler(pool(p), ch.eventLoop()));
                    }
                });
        if (via != null) {
            // The proxy resolves the target; we only hand it the name.
            b.resolver(NoopAddressResolverGroup.INSTANCE);
            whenConnected(b.connect(InetSocketAddress.createUnresolved(p.host(), p.port())), done);
            return;
        }
        resolver.resolve(p.host(), loop, (address, error) -> {
            if (error != null) done.accept(null, error);
            else whenConnected(b.connect(new InetSocketAddress(address, p.port())), done);
        });
    }

    private static void whenConnected(ChannelFuture f, BiConsumer<Channel, Throwable> done) {
        f.addListener((ChannelFuture cf) -> done.accept(cf.isSuccess() ? cf.channel() : null, cf.cause()));
    }

    /** The last handler of an upstream connection: routes what arrives to the exchange using it. */
    static final class UpstreamHandler extends ChannelInboundHandlerAdapter {
        private final ConnectionPool pool;
        Exchange current;
        final ConnectionTimer timer; // the deadlines of the exchanges this connection carries

        UpstreamHandler(ConnectionPool pool, io.netty.channel.EventLoop loop) {
            this.pool = pool;
            this.timer = new ConnectionTimer(loop, this);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Exchange e = current;
            if (e != null) {
                e.onMessage(msg);
            } else {
                // Nothing is expected on an idle connection; it is no longer safe to reuse.
                ReferenceCountUtil.release(msg);
                ctx.close();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            Exchange e = current;
            if (e != null) e.onReadComplete();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            timer.cancel();
            Exchange e = current;
            if (e != null) e.onBroken(null);
            else pool.remove(ctx.channel());
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            Exchange e = current;
            if (e != null) e.onWritabilityChanged();
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Exchange e = current;
            if (e != null) e.onBroken(cause);
            ctx.close();
        }
    }
}
