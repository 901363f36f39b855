package dev.skiff.control.keys;

import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Key secrets: {@code sk-skiff-} and the base62 form of 32 random bytes (256 bits). Only their SHA-256
 * is kept; the secret itself is shown once, when the key is made.
 */
public final class KeySecrets {
    public static final String PREFIX = "sk-skiff-";
    /** Characters of a secret shown in listings, so that people can tell their keys apart. */
    static final int DISPLAY_CHARS = PREFIX.length() + 6;
    private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * Per thread, a FastThreadLocal: a plain ThreadLocal on the event loops adds to their
     * ThreadLocalMap, and lookups there collide more the fuller it is, the JDK's own per write
     * (NIO's buffer cache) among them.
     */
    private static final FastThreadLocal<MessageDigest> SHA256 = new FastThreadLocal<>() {
        @Override
        protected MessageDigest initialValue() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    };

    private KeySecrets() {}

    /** A new secret. */
    public static String generate() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return PREFIX + base62(bytes);
    }

    /** The base62 digits of {@code bytes} read as one unsigned number: 43 characters for 32 bytes. */
    static String base62(byte[] bytes) {
        java.math.BigInteger n = new java.math.BigInteger(1, bytes);
        java.math.BigInteger base = java.math.BigInteger.valueOf(62);
        StringBuilder out = new StringBuilder(44);
        while (n.signum() > 0) {
            java.math.BigInteger[] qr = n.divideAndRemainder(base);
            out.append(BASE62[qr[1].intValue()]);
            n = qr[0];
        }
        while (out.length() < 43) out.append('0'); // fixed length whatever the leading bytes
        return out.reverse().toString();
    }

    /** SHA-256 of a presented secret. */
    public static byte[] hash(String secret) {
        return hash(secret.getBytes(StandardCharsets.UTF_8));
    }

    /** SHA-256 of a presented secret's UTF-8 bytes. */
    public static byte[] hash(byte[] secret) {
        MessageDigest md = SHA256.get();
        md.reset();
        return md.digest(secret);
    }

    public static String hex(byte[] hash) {
        return HexFormat.of().formatHex(hash);
    }

    /** What listings show of a secret: its prefix and first characters. */
    static String display(String secret) {
        return secret.substring(0, Math.min(secret.length(), DISPLAY_CHARS)) + "...";
    }
}
