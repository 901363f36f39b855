package dev.skiff.server;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;

/**
 * Where a passthrough request goes: {@code /p/{provider}/{rest}} names a configured provider and a
 * path relative to its configured base URL, query included. {@code rest} keeps its leading slash
 * and is never decoded: the provider receives the client's bytes.
 */
record PassthroughTarget(String provider, String rest) {
    static final String PREFIX = "/p/";

    /** How many rounds of percent-decoding are looked through: {@code %252e} is {@code %2e} to a server that decodes once more. */
    private static final int DECODING_ROUNDS = 3;

    /** Whether a request-target is a passthrough one; cheap, for the pipeline to decide on every request. */
    static boolean matches(String uri) {
        return uri.startsWith(PREFIX);
    }

    /** The target of a matching URI, or null when it names no provider. */
    static PassthroughTarget parse(String uri) {
        if (!matches(uri)) return null;
        int nameStart = PREFIX.length();
        int nameEnd = nameStart;
        while (nameEnd < uri.length() && uri.charAt(nameEnd) != '/' && uri.charAt(nameEnd) != '?') nameEnd++;
        if (nameEnd == nameStart) return null;
        String rest = uri.substring(nameEnd);
        if (rest.isEmpty() || rest.charAt(0) == '?') rest = "/" + rest;
        return new PassthroughTarget(uri.substring(nameStart, nameEnd), rest);
    }

    /**
     * Why the path may not be sent, or null when it may. The provider (or a proxy or server in front
     * of it) resolves the path its own way: dot segments, doubled or encoded slashes, backslashes and
     * {@code ;} path parameters are read differently by different servers, and some of those readings
     * leave the configured base path for another of the provider's APIs, or another host altogether
     * ({@code //host/...}). Skiff cannot know which reading the provider makes, so it refuses every
     * path that two servers could read differently, in the form sent and in every decoded form.
     */
    String problem() {
        int q = rest.indexOf('?');
        String path = q < 0 ? rest : rest.substring(0, q);
        if (path.indexOf('#') >= 0) return "it contains '#'";
        String raw = ambiguity(path);
        if (raw != null) return raw;
        String decoded = path;
        for (int round = 0; round < DECODING_ROUNDS && decoded.indexOf('%') >= 0; round++) {
            String next = percentDecode(decoded);
            if (next == null) {
                // Only the client's own encoding must be well formed; a later round may meet a literal '%'.
                if (round == 0) return "it has a malformed percent-encoding";
                break;
            }
            decoded = next;
            String problem = ambiguity(decoded);
            if (problem != null) return problem + " once percent-decoded";
        }
        return null;
    }

    /** What makes one form of the path ambiguous, or null. */
    private static String ambiguity(String path) {
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '\\') return "it contains a backslash";
            if (c < 0x20 || c == 0x7f) return "it contains a control character";
        }
        // The path starts with '/', so the first segment is the empty one before it.
        String[] segments = path.split("/", -1);
        for (int i = 1; i < segments.length; i++) {
            String s = segments[i];
            // An empty last segment is a trailing slash, which no server reads as another place.
            if (s.isEmpty() && i < segments.length - 1) return "it contains an empty segment ('//')";
            if (isDotSegment(s)) return "it contains a '.' or '..' segment";
        }
        return null;
    }

    private static boolean isDotSegment(String segment) {
        // Some servers (Tomcat, Jetty) drop ';' parameters before resolving, so '..;x' is '..' there.
        int semicolon = segment.indexOf(';');
        String s = semicolon < 0 ? segment : segment.substring(0, semicolon);
        if (s.equals(".") || s.equals("..")) return true;
        // Servers that normalize Unicode read a fullwidth '．' as '.'.
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                String n = Normalizer.normalize(s, Normalizer.Form.NFKC);
                return n.equals(".") || n.equals("..");
            }
        }
        return false;
    }

    /** One round of percent-decoding as UTF-8; null when an escape is malformed or the bytes are not UTF-8 (an overlong '.' included). */
    private static String percentDecode(String s) {
        byte[] in = s.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(in.length);
        for (int i = 0; i < in.length; i++) {
            if (in[i] != '%') {
                bytes.write(in[i]);
                continue;
            }
            if (i + 2 >= in.length) return null;
            int hi = Character.digit(in[i + 1], 16), lo = Character.digit(in[i + 2], 16);
            if (hi < 0 || lo < 0) return null;
            bytes.write(hi << 4 | lo);
            i += 2;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
