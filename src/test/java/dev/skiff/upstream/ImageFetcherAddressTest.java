package dev.skiff.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which addresses the image fetcher refuses to connect to: one case per range, and public neighbours that pass. */
class ImageFetcherAddressTest {
    /**
     * The address as the resolver could hand it over. Java's own parser turns {@code ::ffff:a.b.c.d}
     * into an IPv4 address; a resolver answering AAAA need not, so the sixteen bytes are kept.
     */
    static InetAddress address(String text) throws Exception {
        InetAddress a = InetAddress.getByName(text);
        if (!text.contains(":")) return a;
        byte[] b;
        if (a instanceof Inet4Address) {
            b = new byte[16];
            b[10] = b[11] = (byte) 0xff;
            System.arraycopy(a.getAddress(), 0, b, 12, 4);
        } else {
            b = a.getAddress();
        }
        return Inet6Address.getByAddress(null, b, -1);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            // IPv4
            "0.0.0.0", "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1",
            "169.254.169.254", "100.64.0.1", "100.127.255.255", "192.0.0.8", "198.18.0.1", "198.19.255.1",
            "224.0.0.1", "240.0.0.1", "255.255.255.255",
            // IPv6 of its own
            "::", "::1", "fe80::1", "fec0::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1", "100::1",
            // ::/96, IPv4-compatible
            "::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::93.184.216.34",
            // ::ffff:0:0/96, IPv4-mapped
            "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:192.168.0.1",
            // ::ffff:0:0:0/96, IPv4-translated
            "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe",
            // 64:ff9b::/96, NAT64
            "64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:101",
            // 64:ff9b:1::/48, local-use NAT64
            "64:ff9b:1::5db8:d822",
            // 2002::/16, 6to4
            "2002:7f00:1::", "2002:a00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:101::",
            // 2001::/32, Teredo: internal server, or internal client (stored inverted)
            "2001:0:7f00:1::1", "2001:0:5db8:d822:0:0:80ff:fffe",
    })
    void internalAddressesAreRefused(String text) throws Exception {
        assertThat(ImageFetcher.isInternal(address(text))).as(text).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "198.20.0.1", "223.255.255.254",
            "2606:4700::1111", "2a00:1450:4001:80b::200e",
            "::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1",
            "2001:0:5db8:d822:0:0:a247:27dd", // Teredo: public server, public client 93.184.216.34 inverted
    })
    void publicAddressesPass(String text) throws Exception {
        assertThat(ImageFetcher.isInternal(address(text))).as(text).isFalse();
    }
}
