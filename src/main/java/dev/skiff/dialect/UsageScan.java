package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Finds token usage in a provider's response without knowing its dialect beforehand, for relays
 * that forward bytes untouched (passthrough, same-dialect fast paths). Understood shapes:
 * <ul>
 *   <li>OpenAI chat: {@code usage.prompt_tokens / completion_tokens / total_tokens},
 *       {@code prompt_tokens_details.cached_tokens}, {@code completion_tokens_details.reasoning_tokens};
 *   <li>OpenAI Responses: {@code usage.input_tokens / output_tokens / total_tokens} with
 *       {@code input_tokens_details.cached_tokens} and {@code output_tokens_details.reasoning_tokens},
 *       also as {@code response.usage} in stream events such as {@code response.completed};
 *   <li>Anthropic: {@code usage.input_tokens / output_tokens / cache_read_input_tokens /
 *       cache_creation_input_tokens}, also {@code message.usage} in {@code message_start};
 *   <li>Bedrock Converse: {@code usage.inputTokens / outputTokens / cacheReadInputTokens /
 *       cacheWriteInputTokens};
 *   <li>Gemini: {@code usageMetadata.promptTokenCount / candidatesTokenCount / totalTokenCount /
 *       cachedContentTokenCount / thoughtsTokenCount / toolUsePromptTokenCount}.
 * </ul>
 * Only those members are decoded; everything else is tokenized and skipped, and a body that does
 * not contain the bytes {@code sage} (of "usage" and "usageMetadata") is not parsed at all. A body
 * that cannot be read yields {@link Usage#NONE}: usage is observed, never required.
 */
public final class UsageScan {
    private static final byte[] SAGE = "sage".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);

    private UsageScan() {}

    /** Usage of one complete JSON document (a response body, or one SSE event's data); does not consume it. */
    public static Usage of(ByteBuf json) {
        Counts c = read(json);
        return c == null ? Usage.NONE : c.toUsage();
    }

    /**
     * Usage over an event stream: fed each event (or each event's data), it merges what they report.
     * A later report of a count replaces the earlier one (providers send running or final totals, never
     * increments), and counts a later event leaves out keep their earlier value: Anthropic's
     * {@code message_start} gives the input, its {@code message_delta} the final output.
     */
    public static final class Accumulator {
        private final Counts counts = new Counts();
        private boolean found;

        /** One whole SSE event as {@link SseSplitter} cuts it (lines with their blank line); not consumed. */
        public void event(ByteBuf event) {
            int end = event.writerIndex();
            int start = event.readerIndex();
            if (Bytes.indexOf(event, start, end, SAGE) < 0) return; // the common case: a content delta
            int line = start;
            while (line < end) {
                int nl = event.indexOf(line, end, (byte) '\n');
                int lineEnd = nl < 0 ? end : nl;
                if (Bytes.startsWith(event, line, lineEnd, DATA)) {
                    int from = line + DATA.length;
                    if (from < lineEnd && event.getByte(from) == ' ') from++;
                    // The providers put each event's JSON on one data line; that line is the document.
                    data(event.slice(from, lineEnd - from));
                    return;
                }
                if (nl < 0) return;
                line = nl + 1;
            }
        }

        /** One event's data payload; not consumed. */
        public void data(ByteBuf json) {
            Counts c = read(json);
            if (c == null) return;
            counts.mergeLater(c);
            found = true;
        }

        public Usage usage() {
            return found ? counts.toUsage() : Usage.NONE;
        }
    }

    /** The counts one document reports, or null when it reports none. */
    static Counts read(ByteBuf json) {
        if (!mayReport(json, json.readerIndex(), json.writerIndex())) return null;
        try (InputStream in = new ByteBufInputStream(json.duplicate());
             JsonParser p = Json.FACTORY.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return null;
            Counts c = new Counts();
            boolean any = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    p.skipChildren(); // arrays are skipped whole; scalars and nulls need nothing
                    continue;
                }
                switch (name) {
                    case "usage" -> any |= readUsage(p, c);
                    case "usageMetadata" -> any |= readGemini(p, c);
                    // Responses stream events carry the response, Anthropic's message_start the message.
                    case "response", "message" -> any |= readNested(p, c);
                    default -> p.skipChildren();
                }
            }
            return any ? c : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static final byte[] USAGE_KEY = "\"usage".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] METADATA = "Metadata".getBytes(StandardCharsets.US_ASCII);

    /**
     * Whether the bytes hold a {@code "usage"} or {@code "usageMetadata"} member whose value is an
     * object: only such a member counts (see {@link #read}), so a document without one is not
     * parsed. Most stream events that mention usage say {@code "usage":null} (every chat chunk when
     * usage was asked for, a Responses stream's first events), and the word inside text is escaped.
     */
    static boolean mayReport(ByteBuf b, int from, int to) {
        for (int at = Bytes.indexOf(b, from, to, USAGE_KEY); at >= 0; at = Bytes.indexOf(b, at + 1, to, USAGE_KEY)) {
            int i = at + USAGE_KEY.length;
            if (Bytes.startsWith(b, i, to, METADATA)) i += METADATA.length;
            if (i >= to || b.getByte(i) != '"') continue;
            i = Bytes.skipWhitespace(b, i + 1, to);
            if (i >= to || b.getByte(i) != ':') continue;
            i = Bytes.skipWhitespace(b, i + 1, to);
            if (i < to && b.getByte(i) == '{') return true;
        }
        return false;
    }

    /** Inside {@code response} or {@code message}: only its own {@code usage} member counts. */
    private static boolean readNested(JsonParser p, Counts c) throws IOException {
        boolean any = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("usage") && v == JsonToken.START_OBJECT) any |= readUsage(p, c);
            else p.skipChildren();
        }
        return any;
    }

    private static boolean readUsage(JsonParser p, Counts c) throws IOException {
        boolean any = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            switch (name) {
                case "prompt_tokens" -> c.prompt = number(p, v);
                case "completion_tokens" -> c.completion = number(p, v);
                case "total_tokens", "totalTokens" -> c.total = number(p, v);
                case "input_tokens", "inputTokens" -> c.input = number(p, v);
                case "output_tokens", "outputTokens" -> c.output = number(p, v);
                case "cache_read_input_tokens", "cacheReadInputTokens" -> c.cacheRead = number(p, v);
                case "cache_creation_input_tokens", "cacheWriteInputTokens" -> c.cacheWrite = number(p, v);
                case "prompt_tokens_details", "input_tokens_details" -> c.cached = detail(p, v, "cached_tokens", c.cached);
                case "completion_tokens_details", "output_tokens_details" -> c.reasoning = detail(p, v, "reasoning_tokens", c.reasoning);
                default -> {
                    p.skipChildren();
                    continue;
                }
            }
            any = true;
        }
        return any;
    }

    private static boolean readGemini(JsonParser p, Counts c) throws IOException {
        boolean any = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            switch (name) {
                case "promptTokenCount" -> c.geminiPrompt = number(p, v);
                case "toolUsePromptTokenCount" -> c.geminiToolPrompt = number(p, v);
                case "candidatesTokenCount" -> c.geminiCandidates = number(p, v);
                case "thoughtsTokenCount" -> c.geminiThoughts = number(p, v);
                case "cachedContentTokenCount" -> c.geminiCached = number(p, v);
                case "totalTokenCount" -> c.geminiTotal = number(p, v);
                default -> {
                    p.skipChildren();
                    continue;
                }
            }
            any = true;
        }
        return any;
    }

    /** The number {@code field} inside the object that starts at {@code v}, else {@code current}; skips the rest. */
    static long detail(JsonParser p, JsonToken v, String field, long current) throws IOException {
        if (v != JsonToken.START_OBJECT) {
            p.skipChildren();
            return current;
        }
        long found = current;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken dv = p.nextToken();
            if (name.equals(field)) found = number(p, dv);
            else p.skipChildren();
        }
        return found;
    }

    /** An integer count, or -1 (not reported) for anything else, which is skipped. */
    static long number(JsonParser p, JsonToken v) throws IOException {
        if (v == JsonToken.VALUE_NUMBER_INT) return p.getLongValue();
        p.skipChildren();
        return -1;
    }

    /** Raw counts under their providers' meanings; -1 is "not reported". */
    static final class Counts {
        long prompt = -1, completion = -1, total = -1, cached = -1, reasoning = -1; // OpenAI chat (and details of Responses)
        long input = -1, output = -1, cacheRead = -1, cacheWrite = -1;             // Responses, Anthropic, Bedrock
        long geminiPrompt = -1, geminiToolPrompt = -1, geminiCandidates = -1, geminiThoughts = -1, geminiCached = -1, geminiTotal = -1;

        void mergeLater(Counts l) {
            prompt = later(prompt, l.prompt);
            completion = later(completion, l.completion);
            total = later(total, l.total);
            cached = later(cached, l.cached);
            reasoning = later(reasoning, l.reasoning);
            input = later(input, l.input);
            output = later(output, l.output);
            cacheRead = later(cacheRead, l.cacheRead);
            cacheWrite = later(cacheWrite, l.cacheWrite);
            geminiPrompt = later(geminiPrompt, l.geminiPrompt);
            geminiToolPrompt = later(geminiToolPrompt, l.geminiToolPrompt);
            geminiCandidates = later(geminiCandidates, l.geminiCandidates);
            geminiThoughts = later(geminiThoughts, l.geminiThoughts);
            geminiCached = later(geminiCached, l.geminiCached);
            geminiTotal = later(geminiTotal, l.geminiTotal);
        }

        private static long later(long earlier, long later) {
            return later >= 0 ? later : earlier;
        }

        Usage toUsage() {
            if (geminiPrompt >= 0 || geminiCandidates >= 0 || geminiTotal >= 0 || geminiThoughts >= 0 || geminiToolPrompt >= 0) {
                // Gemini's prompt count includes cached tokens; thoughts are output it does not count
                // as candidates, so completion = candidates + thoughts (as the Gemini translation does).
                long promptAll = geminiPrompt < 0 && geminiToolPrompt < 0 ? -1 : Math.max(geminiPrompt, 0) + Math.max(geminiToolPrompt, 0);
                long completionAll = geminiCandidates < 0 && geminiThoughts < 0 ? (promptAll >= 0 ? 0 : -1)
                        : Math.max(geminiCandidates, 0) + Math.max(geminiThoughts, 0);
                long totalAll = geminiTotal >= 0 ? geminiTotal : promptAll >= 0 ? promptAll + Math.max(completionAll, 0) : -1;
                return new Usage(promptAll, completionAll, totalAll, geminiCached, geminiThoughts);
            }
            if (prompt >= 0 || completion >= 0) return new Usage(prompt, completion, total, cached, reasoning);
            if (cacheRead >= 0 || cacheWrite >= 0) {
                // Anthropic and Bedrock count input without the cache reads and writes.
                return Usage.fromUncachedInput(input, cacheRead, cacheWrite, output);
            }
            if (input >= 0 || output >= 0) {
                // Responses (its input includes cached tokens), or Anthropic/Bedrock without caching,
                // where both readings give the same numbers.
                long t = total >= 0 ? total : input >= 0 && output >= 0 ? input + output : -1;
                return new Usage(input, output, t, cached, reasoning);
            }
            return Usage.NONE;
        }
    }
}
