package dev.skiff.dialect;

import io.netty.util.concurrent.FastThreadLocal;
import java.security.SecureRandom;

/**
 * Every id Skiff makes up: response, item, message, completion and tool-call ids, and request ids.
 * A stored response is read back by its id alone, so ids must not be guessable from one another: each
 * is 128 bits from a {@link SecureRandom} (80 for request ids, after the time), never from
 * {@code ThreadLocalRandom} (whose next value follows from one it gave out).
 *
 * <p>Ids are made on event loops, so the source must be cheap and never wait for entropy. Each
 * thread keeps its own buffer of 4 KB (256 ids of 128 bits, 409 request ids) filled from the shared generator, which on Linux
 * reads {@code /dev/urandom} and does not block once the kernel is seeded; one refill costs about as
 * much as a few ids from a lock-free source, and threads do not contend on the generator between
 * refills.
 */
public final class Ids {
    /** Random bytes behind each id: 128 bits. */
    public static final int BYTES = 16;
    private static final int BUFFER = 4096;
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private static final SecureRandom SOURCE = new SecureRandom();
    /** A FastThreadLocal: an index on the event loops, where a ThreadLocal also slows the others' lookups (KeySecrets). */
    private static final FastThreadLocal<Buffer> BUFFERS = new FastThreadLocal<>() {
        @Override
        protected Buffer initialValue() {
            return new Buffer();
        }
    };

    private Ids() {}

    /**
     * Makes the generator ready: its first use loads the security providers and seeds itself, some
     * 15-35 ms that would otherwise fall on the first request. Start-up calls it on a spare thread.
     */
    public static void warmUp() {
        hex("");
    }

    /** {@code prefix} followed by 32 lowercase hex digits (128 random bits). */
    public static String hex(String prefix) {
        Buffer buf = BUFFERS.get();
        byte[] b = buf.next(BYTES);
        int at = buf.at;
        char[] out = new char[prefix.length() + 2 * BYTES];
        prefix.getChars(0, prefix.length(), out, 0);
        int o = prefix.length();
        for (int i = at; i < at + BYTES; i++) {
            out[o++] = HEX[(b[i] >> 4) & 15];
            out[o++] = HEX[b[i] & 15];
        }
        return new String(out);
    }

    /**
     * {@code prefix}, 12 hex digits of the time in milliseconds, then 32 random hex digits (128 bits,
     * as {@link #hex}): as unguessable, and in order of creation. Stored ids are keys of the response
     * store's indexes, where random keys made every save write a page of its own per index (one
     * random leaf each, in the write-ahead log and again at checkpoints); keys in time order land on
     * the same last pages, which a batch writes once. The time disclosed is the response's own
     * {@code created_at}.
     */
    public static String ordered(String prefix) {
        return timed(prefix, BYTES);
    }

    /**
     * {@code prefix}, 12 hex digits of the time in milliseconds, then 20 random hex digits (80 bits):
     * the 32 hex digits of {@link #hex}, in order of creation. For request ids, whose format clients
     * already see and which key the audit store's {@code request_id} index: with random ids each row
     * landed on a random leaf of that index, and the audit writer spent most of its insert in page
     * reads and writes; ids in time order append to the last pages. 80 bits still cannot be guessed
     * (2^80 tries for one id), and two ids of the same millisecond differ in them.
     */
    public static String orderedCompact(String prefix) {
        return timed(prefix, COMPACT_RANDOM_BYTES);
    }

    private static final int COMPACT_RANDOM_BYTES = 10;

    /**
     * The milliseconds an id of {@link #orderedCompact}'s shape starts with, or -1 when {@code id} is not
     * {@code prefix} then 32 lower-case hex digits (an id someone else made, e.g. a client's request id).
     */
    public static long orderedCompactMillis(String id, String prefix) {
        if (id == null || id.length() != prefix.length() + 12 + 2 * COMPACT_RANDOM_BYTES || !id.startsWith(prefix)) return -1;
        long ms = 0;
        for (int i = prefix.length(); i < id.length(); i++) {
            char c = id.charAt(i);
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (v < 0) return -1;
            if (i < prefix.length() + 12) ms = ms << 4 | v;
        }
        return ms;
    }

    private static String timed(String prefix, int randomBytes) {
        long ms = System.currentTimeMillis();
        Buffer buf = BUFFERS.get();
        byte[] b = buf.next(randomBytes);
        int at = buf.at;
        char[] out = new char[prefix.length() + 12 + 2 * randomBytes];
        prefix.getChars(0, prefix.length(), out, 0);
        int o = prefix.length();
        for (int shift = 44; shift >= 0; shift -= 4) out[o++] = HEX[(int) (ms >>> shift) & 15];
        for (int i = at; i < at + randomBytes; i++) {
            out[o++] = HEX[(b[i] >> 4) & 15];
            out[o++] = HEX[b[i] & 15];
        }
        return new String(out);
    }

    /**
     * {@code prefix} followed by 22 characters of {@code [0-9A-Za-z]} (131 bits of choice, 128 of them
     * random), for the providers whose ids are alphanumeric (Anthropic's {@code msg_}, {@code toolu_}).
     */
    public static String alphanumeric(String prefix) {
        Buffer buf = BUFFERS.get();
        byte[] b = buf.next(BYTES);
        int at = buf.at;
        long hi = 0, lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = hi << 8 | (b[at + i] & 0xff);
            lo = lo << 8 | (b[at + 8 + i] & 0xff);
        }
        char[] out = new char[prefix.length() + 22];
        prefix.getChars(0, prefix.length(), out, 0);
        // 128 bits as 22 base-62 digits: divide the two halves as one 128-bit number.
        for (int i = out.length - 1; i >= prefix.length(); i--) {
            long rHi = Long.remainderUnsigned(hi, 62);
            hi = Long.divideUnsigned(hi, 62);
            // (rHi * 2^64 + lo) / 62, without 128-bit arithmetic: split lo into 32-bit halves.
            long mid = (rHi << 32) | (lo >>> 32);
            long qMid = Long.divideUnsigned(mid, 62);
            long rMid = Long.remainderUnsigned(mid, 62);
            long low = (rMid << 32) | (lo & 0xffffffffL);
            long qLow = Long.divideUnsigned(low, 62);
            int digit = (int) Long.remainderUnsigned(low, 62);
            lo = (qMid << 32) | qLow;
            out[i] = ALPHANUMERIC[digit];
        }
        return new String(out);
    }

    private static final char[] ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    /** A thread's random bytes; each id takes only as many as it uses (a request id 10), so refills come as seldom as they can. */
    private static final class Buffer {
        final byte[] bytes = new byte[BUFFER];
        int at; // where the bytes of the last next() start
        private int used = BUFFER; // bytes handed out since the last refill

        /** The buffer, with {@code n} bytes never handed out before from {@link #at} on. */
        byte[] next(int n) {
            if (used + n > BUFFER) {
                SOURCE.nextBytes(bytes);
                used = 0;
            }
            at = used;
            used += n;
            return bytes;
        }
    }
}
