package dev.skiff.server;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which headers cross a passthrough: everything end-to-end does, hop-by-hop headers (and those the
 * Connection header names) never do, and neither do the client's credentials, which are the
 * gateway's key and not the provider's.
 */
final class PassthroughHeaders {
    /** Hop-by-hop (RFC 9110 section 7.6.1), plus Host, which is the provider's. */
    private static final Set<AsciiString> HOP_BY_HOP = Set.of(
            AsciiString.cached("connection"), AsciiString.cached("keep-alive"), AsciiString.cached("te"),
            AsciiString.cached("trailer"), AsciiString.cached("transfer-encoding"), AsciiString.cached("upgrade"),
            AsciiString.cached("host"), AsciiString.cached("proxy-connection"), AsciiString.cached("proxy-authenticate"),
            AsciiString.cached("proxy-authorization"));
    private static final Set<AsciiString> CREDENTIALS = Set.of(
            AsciiString.cached("authorization"), AsciiString.cached("x-api-key"), AsciiString.cached("api-key"),
            AsciiString.cached("x-goog-api-key"));
    /** Answered by Skiff itself (it sends the 100 Continue); the provider gets the body regardless. */
    private static final AsciiString EXPECT = AsciiString.cached("expect");

    private PassthroughHeaders() {}

    /** The client's request headers minus what must not reach the provider. */
    static void stripForUpstream(HttpHeaders h) {
        strip(h);
        for (AsciiString name : CREDENTIALS) h.remove(name);
        h.remove(EXPECT);
    }

    /** The provider's response headers minus hop-by-hop ones. */
    static void stripForClient(HttpHeaders h) {
        strip(h);
    }

    private static void strip(HttpHeaders h) {
        // Headers the Connection header declares hop-by-hop go too.
        List<String> named = new ArrayList<>();
        for (String value : h.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : value.split(",")) {
                String t = token.strip();
                if (!t.isEmpty()) named.add(t);
            }
        }
        named.forEach(h::remove);
        for (AsciiString name : HOP_BY_HOP) h.remove(name);
        // Any other Proxy-* header is meant for a proxy, not the origin.
        List<String> proxy = new ArrayList<>();
        for (Map.Entry<String, String> e : h) {
            if (e.getKey().regionMatches(true, 0, "proxy-", 0, 6)) proxy.add(e.getKey());
        }
        proxy.forEach(h::remove);
    }
}
