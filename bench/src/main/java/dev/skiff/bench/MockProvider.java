package dev.skiff.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpRequestDecoder;
import java.net.InetSocketAddress;
import java.util.Set;

/**
 * An instant LLM provider for benchmarks: OpenAI chat completions, Responses, embeddings and
 * models, and Anthropic messages, streamed or not, answered from bytes prepared at startup.
 * Run a gateway in front of it and the gateway's own cost is what remains.
 *
 * <pre>
 * java -cp skiff-bench.jar dev.skiff.bench.MockProvider [--port 0] [--host 127.0.0.1] [--threads 1]
 *      [--delay-ms 0] [--chunks 10] [--chunk-delay-ms 0]
 * </pre>
 *
 * The first line on stdout is {@code listening on PORT}, for scripts that start it on port 0.
 */
public final class MockProvider {
    private MockProvider() {}

    public static void main(String[] argv) throws InterruptedException {
        Args args;
        try {
            args = Args.parse(argv, Set.of("port", "host", "threads", "delay-ms", "chunks", "chunk-delay-ms", "fail-rate"),
                    Set.of("help"));
        } catch (IllegalArgumentException e) {
            System.err.println("MockProvider: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (args.flag("help")) {
            System.out.println("MockProvider [--port 0] [--host 127.0.0.1] [--threads 1] [--delay-ms 0]"
                    + " [--chunks 10] [--chunk-delay-ms 0] [--fail-rate 0.0]");
            return;
        }
        MockResponses responses = new MockResponses(
                args.integer("chunks", 10), args.integer("delay-ms", 0), args.integer("chunk-delay-ms", 0));
        // A share of the generating requests answered 503, for failover measurements.
        double failRate = Double.parseDouble(args.string("fail-rate", "0"));
        EventLoopGroup group = Transports.group(args.integer("threads", 1), "mock");
        try {
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(Transports.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpRequestDecoder(), new MockHandler(responses, failRate));
                        }
                    })
                    .bind(args.string("host", "127.0.0.1"), args.integer("port", 0))
                    .sync()
                    .channel();
            System.out.println("listening on " + ((InetSocketAddress) server.localAddress()).getPort());
            System.out.flush();
            System.err.println("mock provider: " + Transports.name() + ", " + args.integer("threads", 1)
                    + " thread(s), delay " + args.integer("delay-ms", 0) + " ms, "
                    + args.integer("chunks", 10) + " chunks every " + args.integer("chunk-delay-ms", 0) + " ms");
            server.closeFuture().sync();
        } finally {
            group.shutdownGracefully();
        }
    }
}
