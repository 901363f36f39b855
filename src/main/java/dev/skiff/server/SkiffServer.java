package dev.skiff.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;

/** The HTTP/1.1 listener: codec, body limit, then the gateway. */
public final class SkiffServer implements AutoCloseable {
    private final Channel channel;

    private SkiffServer(Channel channel) {
        this.channel = channel;
    }

    public static SkiffServer start(Transport transport, EventLoopGroup group, String host, int port, int maxBodyBytes,
                                    Gateway gateway) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 << 10, 256 << 10))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(
                                new HttpServerCodec(8192, 32768, 65536),
                                new BodyLimit(maxBodyBytes),
                                new ConnectionHandler(gateway, maxBodyBytes));
                    }
                });
        Channel ch = b.bind(host, port).sync().channel();
        return new SkiffServer(ch);
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
