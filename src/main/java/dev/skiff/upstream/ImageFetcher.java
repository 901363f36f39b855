package dev.skiff.upstream;

import dev.skiff.server.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Fetches an image a client named by URL, for providers that only take image bytes. Guarded the way
 * a server-side fetch of a client-supplied URL must be: http(s) only; the name is resolved once and
 * the connection goes to that very address, which must not be private, loopback, link-local or
 * otherwise internal (unless the operator allows it); redirects are followed a few times, each
 * checked again; the body is bounded in size and time; it must be an image.
 */
public final class ImageFetcher {
    /** A fetched image. */
    public record Image(String mediaType, byte[] bytes) {}

    private static final int MAX_REDIRECTS = 3;
    private static final long TIMEOUT_MS = 10_000;

    private final Transport transport;
    private final int maxBytes;
    private final boolean allowPrivate;
    private final HostResolver resolver = new HostResolver();
    private final Path caFile;
    private volatile CompletableFuture<SslContext> ssl;

    public ImageFetcher(Transport transport, int maxBytes, boolean allowPrivate, Path caFile) {
        this.transport = transport;
        this.maxBytes = maxBytes;
        this.allowPrivate = allowPrivate;
        this.caFile = caFile;
    }

    /** The largest image fetched. */
    public int maxBytes() {
        return maxBytes;
    }

    /** Fetches {@code url}; {@code done} runs on {@code loop} with the image, or with a message saying why not. */
    public void fetch(String url, EventLoop loop, BiConsumer<Image, String> done) {
        fetch(url, loop, 0, done);
    }

    private void fetch(String url, EventLoop loop, int redirects, BiConsumer<Image, String> done) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            done.accept(null, "'" + abbreviate(url) + "' is not a URL");
            return;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            done.accept(null, "only http(s) image URLs can be fetched");
            return;
        }
        boolean tls = scheme.equals("https");
        int port = uri.getPort() != -1 ? uri.getPort() : tls ? 443 : 80;
        String host = uri.getHost();
        resolver.resolve(host, loop, (address, error) -> {
            if (error != null) {
                done.accept(null, "the image host " + host + " does not resolve");
                return;
            }
            if (!allowPrivate && isInternal(address)) {
                done.accept(null, "the image URL points to a private or internal address, which Skiff does not fetch");
                return;
            }
            if (!tls) {
                connect(uri, host, port, address, null, loop, redirects, done);
                return;
            }
            sslContext().whenComplete((ctx, e) -> loop.execute(() -> {
                if (e != null) done.accept(null, "TLS is not available: " + e.getMessage());
                else connect(uri, host, port, address, ctx, loop, redirects, done);
            }));
        });
    }

    private void connect(URI uri, String host, int port, InetAddress address, SslContext tls, EventLoop loop, int redirects,
                         BiConsumer<Image, String> done) {
        boolean[] answered = {false};
        BiConsumer<Image, String> once = (image, error) -> {
            if (answered[0]) return;
            answered[0] = true;
            done.accept(image, error);
        };
        Bootstrap b = new Bootstrap().group(loop).channel(transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) TIMEOUT_MS)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) ch.pipeline().addLast(tls.newHandler(ch.alloc(), host, port));
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpContentDecompressor(0), new HttpObjectAggregator(maxBytes),
                                new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                        if (answered[0]) return;
                                        answered[0] = true; // the answer (or the redirect's) goes to done itself
                                        ctx.close();
                                        answer(uri, r, loop, redirects, done);
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        ctx.close();
                                        once.accept(null, cause instanceof io.netty.handler.codec.TooLongFrameException
                                                ? "the image is larger than " + maxBytes + " bytes" : "the image could not be fetched: " + cause.getMessage());
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext ctx) {
                                        once.accept(null, "the image server closed the connection");
                                    }
                                });
                    }
                });
        // The checked address itself, never the name again: a second lookup could answer otherwise.
        b.connect(new InetSocketAddress(address, port)).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                once.accept(null, "the image host cannot be reached");
                return;
            }
            Channel ch = f.channel();
            loop.schedule(() -> {
                if (ch.isActive()) {
                    ch.close();
                    once.accept(null, "fetching the image took longer than " + TIMEOUT_MS + " ms");
                }
            }, TIMEOUT_MS, TimeUnit.MILLISECONDS);
            String target = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                    + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, target);
            req.headers().set(HttpHeaderNames.HOST, uri.getPort() == -1 ? host : host + ":" + port)
                    .set(HttpHeaderNames.ACCEPT, "image/*").set(HttpHeaderNames.USER_AGENT, "skiff")
                    .set(HttpHeaderNames.CONNECTION, "close");
            ch.writeAndFlush(req);
        });
    }

    private void answer(URI uri, FullHttpResponse r, EventLoop loop, int redirects, BiConsumer<Image, String> done) {
        int status = r.status().code();
        String location = r.headers().get(HttpHeaderNames.LOCATION);
        if (status / 100 == 3 && location != null) {
            if (redirects >= MAX_REDIRECTS) {
                done.accept(null, "the image URL redirects too many times");
            } else {
                fetch(uri.resolve(location).toString(), loop, redirects + 1, done); // checked again, from scratch
            }
            return;
        }
        if (status != 200) {
            done.accept(null, "the image URL answered HTTP " + status);
            return;
        }
        String type = r.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
        String mediaType = type.split(";")[0].strip().toLowerCase(Locale.ROOT);
        if (!mediaType.startsWith("image/")) {
            done.accept(null, "the image URL did not answer with an image (" + (type.isEmpty() ? "no content type" : type) + ")");
            return;
        }
        done.accept(new Image(mediaType, ByteBufUtil.getBytes(r.content())), null);
    }

    /**
     * Loopback, private, link-local (cloud metadata), unspecified, multicast, shared, reserved or
     * unique-local addresses; and IPv6 addresses that carry an IPv4 address a host's stack or a
     * gateway would connect to (mapped, NAT64, 6to4, Teredo) when that IPv4 address is internal.
     */
    static boolean isInternal(InetAddress a) {
        if (a.isLoopbackAddress() || a.isSiteLocalAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress()
                || a.isMulticastAddress()) return true;
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            int first = b[0] & 0xff, second = b[1] & 0xff;
            return first == 0 || first == 127 || first == 10 // this network, loopback, private (for v4 carried in v6 too)
                    || (first == 172 && (second & 0xf0) == 16) || (first == 192 && second == 168)
                    || (first == 169 && second == 254)
                    || (first == 100 && second >= 64 && second < 128) // shared address space (CGNAT)
                    || (first == 192 && second == 0 && (b[2] & 0xff) == 0) // IETF protocol assignments
                    || (first == 198 && (second & 0xfe) == 18) // benchmarking, often wired to lab networks
                    || first >= 224; // multicast, reserved, broadcast
        }
        if (!(a instanceof Inet6Address)) return true; // no other kind exists; refuse what cannot be judged
        int w0 = word(b, 0), w1 = word(b, 2);
        if ((b[0] & 0xfe) == 0xfc) return true; // unique local fc00::/7
        if ((b[0] & 0xff) == 0xfe && (b[1] & 0xc0) == 0xc0) return true; // deprecated site-local fec0::/10
        if (zeros(b, 0, 12)) return true; // ::/96, IPv4-compatible (deprecated; no public host has one), :: and ::1 included
        if (zeros(b, 0, 10) && word(b, 10) == 0xffff) return isInternalV4(b, 12); // ::ffff:0:0/96, IPv4-mapped
        if (zeros(b, 0, 8) && word(b, 8) == 0xffff && word(b, 10) == 0) return isInternalV4(b, 12); // ::ffff:0:0:0/96, IPv4-translated
        if (w0 == 0x64 && w1 == 0xff9b) {
            if (zeros(b, 4, 12)) return isInternalV4(b, 12); // 64:ff9b::/96, well-known NAT64 prefix
            if (word(b, 4) == 1) return true; // 64:ff9b:1::/48, local-use NAT64: translated inside the network
        }
        if (w0 == 0x2002) return isInternalV4(b, 2); // 6to4 2002::/16: the relay is the embedded IPv4 address
        if (w0 == 0x2001 && w1 == 0) { // Teredo 2001::/32: server address, and the client's inverted
            byte[] client = new byte[4];
            for (int i = 0; i < 4; i++) client[i] = (byte) ~b[12 + i];
            return isInternalV4(b, 4) || isInternalV4(client, 0);
        }
        if (w0 == 0x2001 && w1 == 0x0db8) return true; // documentation 2001:db8::/32: never a real host
        if (w0 == 0x0100 && zeros(b, 2, 8)) return true; // discard-only 100::/64
        return false;
    }

    private static boolean isInternalV4(byte[] b, int from) {
        try {
            return isInternal(InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, from, from + 4)));
        } catch (java.net.UnknownHostException e) {
            return true; // four bytes always make an address; refuse if that ever changes
        }
    }

    private static int word(byte[] b, int i) {
        return (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
    }

    private static boolean zeros(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) if (b[i] != 0) return false;
        return true;
    }

    private CompletableFuture<SslContext> sslContext() {
        CompletableFuture<SslContext> f = ssl;
        if (f != null) return f;
        synchronized (this) {
            if (ssl == null) {
                CompletableFuture<SslContext> created = new CompletableFuture<>();
                ssl = created;
                Thread.ofPlatform().name("skiff-tls-init").daemon(true).start(() -> {
                    try {
                        SslContextBuilder b = SslContextBuilder.forClient().endpointIdentificationAlgorithm("HTTPS");
                        if (caFile != null) b.trustManager(caFile.toFile());
                        created.complete(b.build());
                    } catch (Exception e) {
                        created.completeExceptionally(e);
                    }
                });
            }
            return ssl;
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 100 ? s.substring(0, 100) + "..." : s;
    }
}
