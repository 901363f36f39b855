package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * A same-dialect stream other than OpenAI chat (Anthropic Messages, Responses): every event goes to
 * the client unchanged, the usage the provider reports in it is taken on the way, and the event that
 * ends the stream is looked for, so that one that never came is not mistaken for a finished stream.
 */
public final class UsageRelay implements StreamRelay {
    private static final byte[] EVENT = "event:".getBytes(StandardCharsets.US_ASCII);

    private final UsageScan.Accumulator usage = new UsageScan.Accumulator();
    private final byte[][] terminalNames;
    private final byte[][] terminalTypes;
    private boolean complete;

    /** @param terminals the names of the events that end a stream of the dialect (its {@code event:} and its {@code "type"}) */
    private UsageRelay(String... terminals) {
        terminalNames = new byte[terminals.length][];
        terminalTypes = new byte[terminals.length * 2][];
        for (int i = 0; i < terminals.length; i++) {
            terminalNames[i] = terminals[i].getBytes(StandardCharsets.US_ASCII);
            // The member itself, not the word: "error" alone is also the key of a null error in every response object.
            terminalTypes[2 * i] = ("\"type\":\"" + terminals[i] + "\"").getBytes(StandardCharsets.US_ASCII);
            terminalTypes[2 * i + 1] = ("\"type\": \"" + terminals[i] + "\"").getBytes(StandardCharsets.US_ASCII);
        }
    }

    /** Anthropic Messages: {@code message_stop}, or the {@code error} event a provider ends a failed stream with. */
    public static UsageRelay messages() {
        return new UsageRelay("message_stop", "error");
    }

    /** Responses: the final response event in each of its outcomes, or an {@code error} event. */
    public static UsageRelay responses() {
        return new UsageRelay("response.completed", "response.incomplete", "response.failed", "error");
    }

    @Override
    public ByteBuf filter(ByteBuf event, ByteBufAllocator alloc) {
        usage.event(event);
        if (!complete) complete = isTerminal(event);
        return event;
    }

    /**
     * Whether an event is one of the terminals: by its {@code event:} line, which both dialects
     * send first; by the quoted type in its data when a compatible server leaves that line out.
     */
    private boolean isTerminal(ByteBuf event) {
        int start = event.readerIndex(), end = event.writerIndex();
        int line = start;
        while (line < end) {
            int nl = event.indexOf(line, end, (byte) '\n');
            int lineEnd = nl < 0 ? end : nl;
            if (Bytes.startsWith(event, line, lineEnd, EVENT)) {
                int from = Bytes.skipWhitespace(event, line + EVENT.length, lineEnd);
                int to = lineEnd;
                while (to > from && (event.getByte(to - 1) == '\r' || event.getByte(to - 1) == ' ')) to--;
                for (byte[] name : terminalNames) {
                    if (to - from == name.length && Bytes.startsWith(event, from, to, name)) return true;
                }
                return false;
            }
            if (nl < 0) break;
            line = nl + 1;
        }
        for (byte[] type : terminalTypes) {
            if (Bytes.indexOf(event, start, end, type) >= 0) return true;
        }
        return false;
    }

    @Override
    public Usage usage() {
        return usage.usage();
    }

    @Override
    public boolean complete() {
        return complete;
    }
}
