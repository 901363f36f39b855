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
    private boolean endedInError;

    private final int failuresFrom; // terminals from this index on end a stream that failed

    /**
     * @param terminals the names of the events that end a stream of the dialect (its {@code event:} and
     *                  its {@code "type"}), those of a failed one last, from {@code failuresFrom} on
     */
    private UsageRelay(int failuresFrom, String... terminals) {
        this.failuresFrom = failuresFrom;
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
        return new UsageRelay(1, "message_stop", "error");
    }

    /** Responses: the final response event in each of its outcomes, or an {@code error} event. */
    public static UsageRelay responses() {
        return new UsageRelay(2, "response.completed", "response.incomplete", "response.failed", "error");
    }

    @Override
    public ByteBuf filter(ByteBuf event, ByteBufAllocator alloc) {
        usage.event(event);
        if (!complete) {
            int terminal = terminal(event);
            complete = terminal >= 0;
            endedInError = terminal >= failuresFrom;
        }
        return event;
    }

    /**
     * Which of the terminals an event is, or -1: by its {@code event:} line, which both dialects
     * send first; by the quoted type in its data when a compatible server leaves that line out.
     */
    private int terminal(ByteBuf event) {
        int start = event.readerIndex(), end = event.writerIndex();
        int line = start;
        while (line < end) {
            int nl = event.indexOf(line, end, (byte) '\n');
            int lineEnd = nl < 0 ? end : nl;
            if (Bytes.startsWith(event, line, lineEnd, EVENT)) {
                int from = Bytes.skipWhitespace(event, line + EVENT.length, lineEnd);
                int to = lineEnd;
                while (to > from && (event.getByte(to - 1) == '\r' || event.getByte(to - 1) == ' ')) to--;
                for (int i = 0; i < terminalNames.length; i++) {
                    byte[] name = terminalNames[i];
                    if (to - from == name.length && Bytes.startsWith(event, from, to, name)) return i;
                }
                return -1;
            }
            if (nl < 0) break;
            line = nl + 1;
        }
        for (int i = 0; i < terminalTypes.length; i++) {
            if (Bytes.indexOf(event, start, end, terminalTypes[i]) >= 0) return i / 2;
        }
        return -1;
    }

    @Override
    public Usage usage() {
        return usage.usage();
    }

    @Override
    public boolean complete() {
        return complete;
    }

    @Override
    public boolean endedInError() {
        return endedInError;
    }
}
