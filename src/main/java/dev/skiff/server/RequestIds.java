package dev.skiff.server;

import dev.skiff.dialect.Ids;

/** Request ids: the client's when it sent a sane one, else a new random one. */
final class RequestIds {
    private RequestIds() {}

    static String accept(String fromClient) {
        if (fromClient != null && !fromClient.isEmpty() && fromClient.length() <= 128 && printable(fromClient)) return fromClient;
        return generate();
    }

    /** Unguessable like every id Skiff makes: a request id seen on /health says nothing of the next response id. */
    static String generate() {
        return Ids.hex("req_");
    }

    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) return false;
        }
        return true;
    }
}
