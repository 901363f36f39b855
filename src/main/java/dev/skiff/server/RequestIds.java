package dev.skiff.server;

import dev.skiff.dialect.Ids;

/** Request ids: the client's when it sent a sane one, else a new unguessable one in time order. */
final class RequestIds {
    private RequestIds() {}

    static String accept(String fromClient) {
        if (fromClient != null && !fromClient.isEmpty() && fromClient.length() <= 128 && printable(fromClient)) return fromClient;
        return generate();
    }

    /**
     * {@code req_} and 32 hex digits as before, now the time (12 digits of milliseconds) then 80 random
     * bits ({@link Ids#orderedCompact}). Unguessable like every id Skiff makes: a request id seen on
     * /health says nothing of the next one. In time order because the audit store indexes request_id:
     * random ids put each row on a random page of that index, which made the audit writer's inserts
     * cost most of its CPU; ordered ones append. Ids clients send stay as they are.
     */
    static String generate() {
        return Ids.orderedCompact("req_");
    }

    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) return false;
        }
        return true;
    }
}
