package dev.skiff.bench;

/**
 * One server-sent event as it goes on the wire ({@code event:}/{@code data:} lines and the blank
 * line), and whether it carries generated text: only those are spaced by the mock's
 * {@code --chunk-delay-ms}, as a real model streams tokens slowly but its framing events at once.
 */
record SseEvent(String wire, boolean carriesText) {
    static SseEvent text(String wire) {
        return new SseEvent(wire, true);
    }

    static SseEvent framing(String wire) {
        return new SseEvent(wire, false);
    }
}
