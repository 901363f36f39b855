package dev.skiff.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The HTTP/1.1 listener: the connection cap, then per connection the codec, the gate, body limit and gateway. */
public final class SkiffServer implements AutoCloseable {
    /** What bounds each client and all of them together. */
    public record Limits(int maxBodyBytes, Duration headerTimeout, Duration keepAliveTimeout, int maxConnections) {}

    /** Fired on every client connection when Skiff shuts down: at the start of the drain, then at its deadline. */
    enum Drain { START, DEADLINE }

    private final Channel channel;
    private final Acceptor acceptor;

    private SkiffServer(Channel channel, Acceptor acceptor) {
        this.channel = channel;
        this.acceptor = acceptor;
    }

    public static SkiffServer start(Transport transport, EventLoopGroup group, String host, int port, Limits limits,
                                    Gateway gateway) throws InterruptedException {
        ClientGate.Settings gate = new ClientGate.Settings(gateway, gateway.auth(), gateway.identification(), limits.maxBodyBytes(),
                limits.headerTimeout().toNanos(), limits.keepAliveTimeout().toNanos());
        Acceptor acceptor = new Acceptor(limits.maxConnections());
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(acceptor)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 << 10, 256 << 10))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ClientGate g = new ClientGate(gate);
                        ch.pipeline().addLast(
                                g.new BytesWatch(),
                                new ServerCodec(8192, 32768, 65536, limits.maxBodyBytes()),
                                g,
                                new BodyLimit(limits.maxBodyBytes(), gateway.observers()));
                        // Only while the audit log is on: it sees every response written below it.
                        if (gateway.observers().capturesResponses()) ch.pipeline().addLast(new dev.skiff.observe.audit.AuditTap());
                        ch.pipeline().addLast(new ConnectionHandler(gateway, g, limits.maxBodyBytes()));
                    }
                });
        Channel ch = b.bind(host, port).sync().channel();
        return new SkiffServer(ch, acceptor);
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** Client connections open now. */
    public int connections() {
        return acceptor.open.get();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    /**
     * Stops accepting, lets every connection finish what it was doing for up to {@code timeout}
     * (idle ones close at once, busy ones after their last response), then ends what is left: a
     * stream with an error event, a request not answered yet with 503. Returns once every client
     * connection is closed, or a little after the deadline.
     */
    public void drain(Duration timeout) throws InterruptedException {
        channel.close().syncUninterruptibly();
        for (Channel c : acceptor.channels) c.pipeline().fireUserEventTriggered(Drain.START);
        if (awaitNoConnections(System.nanoTime() + timeout.toNanos())) return;
        for (Channel c : acceptor.channels) c.pipeline().fireUserEventTriggered(Drain.DEADLINE);
        // The last events are flushed before each connection closes; a client that reads none of it gets a little while.
        if (awaitNoConnections(System.nanoTime() + 2_000_000_000L)) return;
        for (Channel c : acceptor.channels) c.close();
    }

    private boolean awaitNoConnections(long deadlineNanos) throws InterruptedException {
        while (acceptor.open.get() > 0) {
            if (System.nanoTime() - deadlineNanos >= 0) return false;
            Thread.sleep(20);
        }
        return true;
    }

    /**
     * Counts client connections and closes those over the cap as they arrive, before anything is
     * read from them or any memory is given to them. An accept that fails (out of file descriptors,
     * most often) pauses accepting briefly instead of spinning on the error or giving up.
     */
    private static final class Acceptor extends ChannelInboundHandlerAdapter {
        private static final long ACCEPT_PAUSE_MS = 100;

        private final int max;
        final AtomicInteger open = new AtomicInteger();
        final Set<Channel> channels = ConcurrentHashMap.newKeySet();
        private long refused; // over the cap, since the last time it was reported
        private long lastReportNanos;

        Acceptor(int max) {
            this.max = max;
        }

        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel child = (Channel) msg;
            if (open.get() >= max) {
                // Not registered yet: closing it costs a close(2), and the client sees its connection end at once.
                child.unsafe().closeForcibly();
                refused++;
                report("refused " + refused + " connection(s) over SKIFF_MAX_CONNECTIONS=" + max);
                return;
            }
            open.incrementAndGet();
            channels.add(child);
            child.closeFuture().addListener(f -> {
                open.decrementAndGet();
                channels.remove(child);
            });
            ctx.fireChannelRead(child);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Accepting failed (EMFILE "Too many open files", ENFILE, ENOBUFS): the connection waits in
            // the backlog. Accepting again at once would only fail again in a tight loop.
            report("accepting a connection failed (" + cause + "); pausing " + ACCEPT_PAUSE_MS + " ms");
            var config = ctx.channel().config();
            if (config.isAutoRead()) {
                config.setAutoRead(false);
                ctx.executor().schedule(() -> config.setAutoRead(true), ACCEPT_PAUSE_MS, TimeUnit.MILLISECONDS);
            }
        }

        /** At most one line a second: a flood must not become a flood of log lines. */
        private void report(String line) {
            long now = System.nanoTime();
            if (lastReportNanos != 0 && now - lastReportNanos < 1_000_000_000L) return;
            lastReportNanos = now;
            refused = 0;
            System.err.println("skiff: " + line);
        }
    }
}
