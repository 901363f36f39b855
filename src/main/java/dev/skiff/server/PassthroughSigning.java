package dev.skiff.server;

import dev.skiff.config.ProviderType;
import dev.skiff.provider.Provider;
import dev.skiff.provider.bedrock.BedrockChatAdapter;
import dev.skiff.provider.bedrock.SigV4Signer;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * SigV4 for a passthrough request to Bedrock configured with AWS keys, signed as {@link
 * BedrockChatAdapter} signs its own requests: service "bedrock", the provider's region and
 * credentials, Host, X-Amz-Date, X-Amz-Content-Sha256 (the body's hash), X-Amz-Security-Token with
 * temporary credentials, and the headers content-type, accept and x-request-id, plus every
 * {@code x-amz-*} / {@code x-amzn-*} header the client sent (Bedrock's request options: guardrails,
 * trace, performance configuration), all sent unchanged.
 *
 * <p>The path is the client's as it came (already percent-encoded): {@link SigV4Signer} encodes each
 * segment once more for the canonical URI, so a model id sent as {@code v1%3A0} is signed as
 * {@code v1%253A0}, exactly as for the adapter's own requests. The query is parsed (percent escapes
 * and '+' decoded) and goes on the wire in its canonical form (pairs sorted, SigV4-encoded), so
 * that what Bedrock reads and what was signed are the same bytes.
 */
final class PassthroughSigning {
    /** What a client may have signed itself; the signer writes its own values. */
    private static final List<String> SIGNER_HEADERS = List.of("authorization", "x-amz-date", "x-amz-content-sha256",
            "x-amz-security-token");

    private final SigV4Signer signer;
    private final SigV4Signer.Credentials credentials;
    private final String path;
    private final List<Map.Entry<String, String>> query;

    private PassthroughSigning(SigV4Signer signer, SigV4Signer.Credentials credentials, String path, List<Map.Entry<String, String>> query) {
        this.signer = signer;
        this.credentials = credentials;
        this.path = path;
        this.query = query;
    }

    /** Whether requests to this provider are signed with SigV4 (a Bedrock provider without a Bedrock API key). */
    static boolean needed(Provider provider) {
        return provider.type() == ProviderType.BEDROCK && provider.apiKey() == null;
    }

    /**
     * For {@code pathAndQuery} (the upstream request-target as the client wrote it). Throws
     * {@link BadQuery} for a query with a malformed escape, IllegalArgumentException for credentials
     * that cannot sign.
     */
    static PassthroughSigning of(Provider provider, String pathAndQuery) {
        SigV4Signer.Credentials credentials = BedrockChatAdapter.credentials(provider);
        int q = pathAndQuery.indexOf('?');
        String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        List<Map.Entry<String, String>> query = new ArrayList<>();
        if (q >= 0) {
            for (String pair : pathAndQuery.substring(q + 1).split("&")) {
                if (pair.isEmpty()) continue;
                int eq = pair.indexOf('=');
                try {
                    query.add(Map.entry(QueryStringDecoder.decodeComponent(eq < 0 ? pair : pair.substring(0, eq)),
                            eq < 0 ? "" : QueryStringDecoder.decodeComponent(pair.substring(eq + 1))));
                } catch (IllegalArgumentException e) {
                    throw new BadQuery(e.getMessage());
                }
            }
        }
        return new PassthroughSigning(BedrockChatAdapter.signer(provider), credentials, path, List.copyOf(query));
    }

    /** The request-target to send: the path as it came, the query in canonical form. */
    String requestTarget() {
        String canonical = SigV4Signer.canonicalQueryString(query);
        return canonical.isEmpty() ? path : path + "?" + canonical;
    }

    /** Removes a signature the client made itself: the signer writes these (and the client's credential is not forwarded). */
    static void stripClientSignature(HttpHeaders h) {
        for (String name : SIGNER_HEADERS) h.remove(name);
    }

    /**
     * Adds Authorization and the X-Amz-* headers for this request, as of now. {@code h} must hold the
     * final headers (Host included); those signed must be sent unchanged. Hashes {@code body} on the
     * calling thread without copying it.
     */
    void sign(HttpMethod method, HttpHeaders h, ByteBuf body) {
        SigV4Signer.Builder b = SigV4Signer.Request.builder(method.name(), h.get(HttpHeaderNames.HOST), path)
                .payloadSha256Hex(sha256Hex(body));
        for (Map.Entry<String, String> q : query) b.query(q.getKey(), q.getValue());
        for (Map.Entry<String, String> e : h) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (name.equals("content-type") || name.equals("accept") || name.equals("x-request-id")
                    || name.startsWith("x-amz-") || name.startsWith("x-amzn-")) {
                b.header(name, e.getValue());
            }
        }
        signer.sign(b.build(), credentials).headers().forEach(h::set);
    }

    static String sha256Hex(ByteBuf body) {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
        // nioBuffers() are views: the body's own indexes do not move.
        for (ByteBuffer part : body.nioBuffers()) d.update(part);
        return HexFormat.of().formatHex(d.digest());
    }

    /** A query the gateway cannot read, so cannot sign. */
    static final class BadQuery extends RuntimeException {
        BadQuery(String message) {
            super(message, null, false, false);
        }
    }
}
