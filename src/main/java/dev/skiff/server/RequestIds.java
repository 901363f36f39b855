package dev.skiff.server;

import java.util.concurrent.ThreadLocalRandom;

/** Request ids: the client's when it sent a sane one, else a new random one. */
final class RequestIds {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestIds() {}

    static String accept(String fromClient) {
        if (fromClient != null && !fromClient.isEmpty() && fromClient.length() <= 128 && printable(fromClient)) return fromClient;
        return generate();
    }

    static String generate() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] out = new char[36];
        "req_".getChars(0, 4, out, 0);
        long a = r.nextLong(), b = r.nextLong();
        for (int i = 0; i < 16; i++) {
            out[4 + i] = HEX[(int) (a >>> (i * 4)) & 15];
            out[20 + i] = HEX[(int) (b >>> (i * 4)) & 15];
        }
        return new String(out);
    }

    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) return false;
        }
        return true;
    }
}
