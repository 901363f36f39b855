package dev.skiff.bench.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The bodies the benchmarks read: recorded from the bench's mock provider, plus a larger chat request. */
final class Payloads {
    private Payloads() {}

    static byte[] bytes(String name) {
        try (InputStream in = Payloads.class.getResourceAsStream("/payloads/" + name)) {
            if (in == null) throw new IllegalStateException("no payload " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A pooled direct buffer, as Netty hands Skiff a socket's bytes; the caller keeps it for the whole run. */
    static ByteBuf direct(String name) {
        byte[] b = bytes(name);
        return PooledByteBufAllocator.DEFAULT.directBuffer(b.length).writeBytes(b);
    }
}
