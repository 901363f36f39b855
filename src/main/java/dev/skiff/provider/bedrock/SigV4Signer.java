package dev.skiff.provider.bedrock;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 request signing (header-based, {@code AWS4-HMAC-SHA256}), written from
 * the AWS specification so the gateway does not need the AWS SDK.
 *
 * <p>The signer never touches the network request itself: it is given what will be sent (method,
 * host, the path as it appears on the wire, query parameters, the headers to sign, the body or its
 * hash) and returns the headers to add. The caller must then send exactly what was signed: the same
 * {@code Host} value (with the port when it is not the scheme's default), the same path bytes, the
 * query string from {@link #canonicalQueryString} and the signed headers unchanged.
 *
 * <p>Why the path is encoded again: for every service but S3, SigV4's canonical URI is the
 * wire path URI-encoded once more. Bedrock model ids contain ':' (and inference profile ARNs '/' and
 * ':'), which the wire path carries as {@code %3A} / {@code %2F}; the canonical URI therefore holds
 * {@code %253A} / {@code %252F}. Getting this wrong is the classic "signature does not match" on
 * Bedrock. Use {@link #encodePathSegment} to build the wire path from a raw model id.
 *
 * <p>Instances are immutable and thread-safe. The clock is injectable so tests can pin the
 * signing instant.
 */
public final class SigV4Signer {
    public static final String ALGORITHM = "AWS4-HMAC-SHA256";
    /** SHA-256 of the empty string: the payload hash of a request without a body. */
    public static final String EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static final DateTimeFormatter AMZ_DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final HexFormat HEX = HexFormat.of();
    private static final String UPPER_HEX = "0123456789ABCDEF";
    /**
     * Headers the signer writes itself. Accepting them from the caller as well would mean two values
     * on the wire, or a signature over a value that is not sent.
     */
    private static final Set<String> OWN_HEADERS =
            Set.of("host", "authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token");

    private final String region;
    private final String service;
    private final Clock clock;
    private final boolean signContentSha256;
    private final boolean encodePathAgain;

    /** A signer for {@code region} and {@code service} (e.g. "bedrock") using the system UTC clock. */
    public SigV4Signer(String region, String service) {
        this(region, service, Clock.systemUTC());
    }

    public SigV4Signer(String region, String service, Clock clock) {
        // S3 is the one service whose canonical URI is the wire path as it is; everyone else, Bedrock
        // included, encodes it again.
        this(region, service, clock, true, !"s3".equals(service));
    }

    private SigV4Signer(String region, String service, Clock clock, boolean signContentSha256, boolean encodePathAgain) {
        this.region = requireText(region, "region");
        this.service = requireText(service, "service");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.signContentSha256 = signContentSha256;
        this.encodePathAgain = encodePathAgain;
    }

    /**
     * A copy that neither sends nor signs {@code X-Amz-Content-Sha256}. Bedrock accepts the header
     * (and it makes a body mismatch fail loudly), but AWS's published test vectors were produced
     * without it, so the tests need a way to leave it out.
     */
    public SigV4Signer withoutContentSha256Header() {
        return new SigV4Signer(region, service, clock, false, encodePathAgain);
    }

    /** Signs at the clock's current instant. */
    public Signed sign(Request request, Credentials credentials) {
        return sign(request, credentials, clock.instant());
    }

    /** Signs as of {@code at}; AWS rejects requests whose date is more than a few minutes off. */
    public Signed sign(Request request, Credentials credentials, Instant at) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(credentials, "credentials");
        String amzDate = AMZ_DATE.format(at);
        String date = amzDate.substring(0, 8);

        // The headers the signer adds, in the order they are returned.
        Map<String, String> added = new LinkedHashMap<>();
        added.put("X-Amz-Date", amzDate);
        if (signContentSha256) added.put("X-Amz-Content-Sha256", request.payloadSha256Hex());
        if (credentials.sessionToken() != null) added.put("X-Amz-Security-Token", credentials.sessionToken());

        // Canonical headers: lower-case names, sorted; values trimmed with inner runs of spaces
        // collapsed; repeated names joined with ',' in the order given.
        TreeMap<String, List<String>> canonical = new TreeMap<>();
        canonical.computeIfAbsent("host", k -> new ArrayList<>()).add(request.host());
        for (Map.Entry<String, String> h : request.headers()) {
            String name = h.getKey().toLowerCase(Locale.ROOT);
            if (OWN_HEADERS.contains(name)) {
                throw new IllegalArgumentException("header " + h.getKey() + " is set by the signer, not the caller");
            }
            canonical.computeIfAbsent(name, k -> new ArrayList<>()).add(trimAll(h.getValue()));
        }
        for (Map.Entry<String, String> h : added.entrySet()) {
            canonical.computeIfAbsent(h.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(h.getValue());
        }
        StringBuilder headerBlock = new StringBuilder();
        for (Map.Entry<String, List<String>> h : canonical.entrySet()) {
            headerBlock.append(h.getKey()).append(':').append(String.join(",", h.getValue())).append('\n');
        }
        String signedHeaders = String.join(";", canonical.keySet());

        String canonicalRequest = request.method() + '\n'
                + canonicalUri(request.path()) + '\n'
                + canonicalQueryString(request.query()) + '\n'
                + headerBlock + '\n'
                + signedHeaders + '\n'
                + request.payloadSha256Hex();

        String scope = date + '/' + region + '/' + service + "/aws4_request";
        String stringToSign = ALGORITHM + '\n' + amzDate + '\n' + scope + '\n' + sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));

        byte[] key = signingKey(credentials.secretAccessKey(), date, region, service);
        String signature = HEX.formatHex(hmacSha256(key, stringToSign));

        String authorization = ALGORITHM + " Credential=" + credentials.accessKeyId() + '/' + scope
                + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature;
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Authorization", authorization);
        headers.putAll(added);
        return new Signed(Collections.unmodifiableMap(headers), canonicalRequest, stringToSign, signedHeaders, signature);
    }

    /**
     * The canonical URI for a wire path: for non-S3 services each segment is URI-encoded again
     * ('%' becomes %25, so %3A becomes %253A); for S3 the path is used as it is. Empty segments are
     * kept (no path normalisation: Bedrock paths contain neither "." nor ".." nor "//").
     */
    String canonicalUri(String path) {
        if (path.isEmpty()) return "/";
        if (!encodePathAgain) return path;
        String[] segments = path.split("/", -1);
        StringBuilder out = new StringBuilder(path.length() + 16);
        for (int i = 0; i < segments.length; i++) {
            if (i > 0) out.append('/');
            out.append(uriEncode(segments[i]));
        }
        return out.toString();
    }

    /**
     * The canonical query string: names and values URI-encoded, pairs sorted by encoded name then
     * encoded value, joined with '&'. It is also the right string to put on the wire, so the sent
     * query matches the signed one byte for byte.
     */
    public static String canonicalQueryString(List<Map.Entry<String, String>> query) {
        if (query.isEmpty()) return "";
        List<String[]> pairs = new ArrayList<>(query.size());
        for (Map.Entry<String, String> q : query) {
            pairs.add(new String[] {uriEncode(q.getKey()), uriEncode(q.getValue() == null ? "" : q.getValue())});
        }
        pairs.sort((a, b) -> {
            int byName = a[0].compareTo(b[0]);
            return byName != 0 ? byName : a[1].compareTo(b[1]);
        });
        StringBuilder out = new StringBuilder();
        for (String[] p : pairs) {
            if (!out.isEmpty()) out.append('&');
            out.append(p[0]).append('=').append(p[1]);
        }
        return out.toString();
    }

    /**
     * Encodes one raw path segment (e.g. a model id or an inference profile ARN) for the wire path:
     * everything but the unreserved characters is percent-encoded, '/' and ':' included.
     */
    public static String encodePathSegment(String raw) {
        return uriEncode(raw);
    }

    /**
     * SigV4's URI encoding: UTF-8 bytes, the unreserved characters A-Z a-z 0-9 '-' '.' '_' '~' kept,
     * every other byte written as %XX with upper-case hex. (Unlike URLEncoder, a space is %20, not
     * '+', and '~' and '*' follow RFC 3986.)
     */
    static String uriEncode(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            if (!isUnreserved(s.charAt(i))) {
                out = new StringBuilder(s.length() + 16).append(s, 0, i);
                byte[] rest = s.substring(i).getBytes(StandardCharsets.UTF_8);
                for (byte b : rest) {
                    char c = (char) (b & 0xff);
                    if (isUnreserved(c)) {
                        out.append(c);
                    } else {
                        out.append('%').append(UPPER_HEX.charAt(c >> 4)).append(UPPER_HEX.charAt(c & 0xf));
                    }
                }
                break;
            }
        }
        return out == null ? s : out.toString();
    }

    private static boolean isUnreserved(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~';
    }

    /** Trims the value and collapses each run of spaces inside it to one, as SigV4 requires. */
    static String trimAll(String value) {
        String v = value.strip();
        if (v.indexOf("  ") < 0) return v;
        StringBuilder out = new StringBuilder(v.length());
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == ' ' && out.length() > 0 && out.charAt(out.length() - 1) == ' ') continue;
            out.append(c);
        }
        return out.toString();
    }

    /** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
    static byte[] signingKey(String secretAccessKey, String date, String region, String service) {
        byte[] kDate = hmacSha256(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), date);
        byte[] kRegion = hmacSha256(kDate, region);
        byte[] kService = hmacSha256(kRegion, service);
        return hmacSha256(kService, "aws4_request");
    }

    static byte[] hmacSha256(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is required of every Java runtime", e);
        }
    }

    /** Lower-case hex SHA-256, the form SigV4 uses for payload and canonical-request hashes. */
    public static String sha256Hex(byte[] data) {
        try {
            return HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    private static String requireText(String value, String what) {
        if (value == null || value.isBlank()) throw new IllegalArgumentException(what + " is required");
        return value;
    }

    /** Long-term (session token null) or temporary (STS) credentials. */
    public record Credentials(String accessKeyId, String secretAccessKey, String sessionToken) {
        public Credentials {
            requireText(accessKeyId, "access key id");
            requireText(secretAccessKey, "secret access key");
            if (sessionToken != null && sessionToken.isBlank()) sessionToken = null;
        }

        public Credentials(String accessKeyId, String secretAccessKey) {
            this(accessKeyId, secretAccessKey, null);
        }

        /** Never prints the secret or the token: credentials end up in logs through toString. */
        @Override
        public String toString() {
            return "Credentials[accessKeyId=" + accessKeyId + ", secretAccessKey=***"
                    + (sessionToken == null ? "" : ", sessionToken=***") + "]";
        }
    }

    /**
     * What will be sent. {@code path} is the path exactly as on the wire (already percent-encoded,
     * starting with '/', no query); query parameters are given decoded; every header given is
     * signed, so give only those that will be sent unchanged (typically content-type).
     */
    public record Request(String method, String host, String path, List<Map.Entry<String, String>> query,
                          List<Map.Entry<String, String>> headers, String payloadSha256Hex) {
        public Request {
            method = requireText(method, "method").toUpperCase(Locale.ROOT);
            host = requireText(host, "host");
            Objects.requireNonNull(path, "path");
            if (!path.isEmpty() && !path.startsWith("/")) throw new IllegalArgumentException("path must start with '/': " + path);
            if (path.indexOf('?') >= 0) throw new IllegalArgumentException("pass query parameters separately, not in the path");
            query = List.copyOf(query);
            headers = List.copyOf(headers);
            payloadSha256Hex = requireText(payloadSha256Hex, "payload hash");
        }

        public static Builder builder(String method, String host, String path) {
            return new Builder(method, host, path);
        }
    }

    public static final class Builder {
        private final String method;
        private final String host;
        private final String path;
        private final List<Map.Entry<String, String>> query = new ArrayList<>();
        private final List<Map.Entry<String, String>> headers = new ArrayList<>();
        private String payloadSha256Hex = EMPTY_PAYLOAD_SHA256;

        private Builder(String method, String host, String path) {
            this.method = method;
            this.host = host;
            this.path = path;
        }

        public Builder query(String name, String value) {
            query.add(Map.entry(name, value));
            return this;
        }

        public Builder header(String name, String value) {
            headers.add(Map.entry(name, value));
            return this;
        }

        /** The body; its SHA-256 is what gets signed. */
        public Builder body(byte[] body) {
            this.payloadSha256Hex = sha256Hex(body);
            return this;
        }

        /** The body's SHA-256 in lower-case hex, when the caller already has it. */
        public Builder payloadSha256Hex(String hex) {
            this.payloadSha256Hex = hex;
            return this;
        }

        public Request build() {
            return new Request(method, host, path, query, headers, payloadSha256Hex);
        }
    }

    /**
     * The result: {@link #headers()} are the ones to add to the request (Authorization, X-Amz-Date,
     * X-Amz-Content-Sha256 unless disabled, X-Amz-Security-Token with temporary credentials). The
     * intermediate strings are kept for tests and for diagnosing a rejected signature.
     */
    public record Signed(Map<String, String> headers, String canonicalRequest, String stringToSign,
                         String signedHeaders, String signature) {
        public String authorization() {
            return headers.get("Authorization");
        }

        /** Leaves out the canonical request and header values: they can carry the session token. */
        @Override
        public String toString() {
            return "Signed[signedHeaders=" + signedHeaders + ", signature=" + signature + "]";
        }
    }
}
