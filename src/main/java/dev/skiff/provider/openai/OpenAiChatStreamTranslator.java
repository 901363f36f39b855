package dev.skiff.provider.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.Ids;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.UnknownFinishReasonException;
import dev.skiff.dialect.openai.OpenAiChatCodec;
import dev.skiff.provider.JsonFields;
import dev.skiff.provider.SseStreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An OpenAI chat-completions stream (from OpenAI or a server copying it), read into the calls of a
 * {@link ChatStreamWriter} for the client's dialect.
 *
 * <p>Tool calls arrive as deltas keyed by {@code index}: the first usually carries the id and name,
 * later ones only argument fragments, and calls may interleave (conformance 1). A call starts for the
 * writer once its name is known, numbered from 0 in the order calls start whatever the provider's
 * indices; fragments that came before are handed over with the start.
 *
 * <p>The finish reason is remembered and written at {@code [DONE]}, after the usage chunk that comes
 * between them; a stream that ends after a finish reason but without {@code [DONE]} (some servers)
 * finishes at its end. One that ends without any finish reason ends with an error (conformance 18).
 */
public final class OpenAiChatStreamTranslator extends SseStreamTranslator {
    private final ChatStreamWriter out;

    /** One tool call as its deltas have described it so far. */
    private static final class CallState {
        String id;
        String name;
        final StringBuilder heldArguments = new StringBuilder();
        int index = -1; // the writer's index once started

        boolean started() {
            return index >= 0;
        }
    }

    private final Map<Integer, CallState> calls = new HashMap<>();
    /** In order of first appearance, so that calls still unnamed at the end start in that order. */
    private final List<CallState> order = new ArrayList<>();
    private CallState lastCall;
    private int nextIndex;
    private int unindexed = -1;

    private boolean started;
    private String rawFinish;
    private Usage usage = Usage.NONE;
    private boolean finished;
    private String error;

    public OpenAiChatStreamTranslator(ChatStreamWriter out) {
        this.out = out;
    }

    @Override
    protected ByteBuf onData(JsonNode data, ByteBufAllocator alloc) {
        if (finished || error != null) return null;
        // Comments (": keep-alive", OpenRouter's ": OPENROUTER PROCESSING") keep the client's stream alive too.
        if (data == null) return out.keepAlive(alloc);
        if (!data.isObject()) return null;
        JsonNode err = data.get("error");
        if (err != null && !err.isNull()) {
            error = OpenAiChatCodec.errorMessage(err);
            String code = err.isObject() ? firstText(err, "code", "type") : null;
            return out.error(alloc, error, code != null ? code : "upstream_error");
        }
        ByteBuf buf = alloc.buffer(256);
        if (!started) {
            started = true;
            write(buf, out.start(alloc, JsonFields.textOrNull(data, "id"), Usage.NONE));
        }
        // Usage comes on its own chunk (choices:[]) when asked for; some servers put it on the last
        // chunk, Groq under x_groq. Counts are totals: the latest replaces the earlier.
        JsonNode u = data.get("usage");
        if (u == null || !u.isObject()) u = data.path("x_groq").get("usage");
        if (u != null && u.isObject()) usage = OpenAiChatCodec.usage(u);

        for (JsonNode choice : data.path("choices")) {
            if (choice.path("index").asInt(0) != 0) continue; // one answer per client request
            JsonNode delta = choice.path("delta");
            String reasoning = OpenAiChatCodec.reasoningText(delta);
            if (reasoning != null && !reasoning.isEmpty()) write(buf, out.thinking(alloc, reasoning));
            // Fields Skiff itself writes for reasoning that must return intact: a Skiff upstream sends them.
            String signature = JsonFields.textOrNull(delta, "reasoning_signature");
            if (signature != null) write(buf, out.thinkingSignature(alloc, signature));
            for (JsonNode r : delta.path("redacted_reasoning")) write(buf, out.redactedThinking(alloc, r.asText()));
            String content = JsonFields.textOrNull(delta, "content");
            if (content != null && !content.isEmpty()) write(buf, out.text(alloc, content));
            String refusal = JsonFields.textOrNull(delta, "refusal");
            if (refusal != null && !refusal.isEmpty()) write(buf, out.text(alloc, refusal));
            for (JsonNode tc : delta.path("tool_calls")) toolCallDelta(tc, buf, alloc);
            String reason = JsonFields.textOrNull(choice, "finish_reason");
            if (reason != null) rawFinish = reason;
        }
        return readableOrNull(buf);
    }

    private void toolCallDelta(JsonNode tc, ByteBuf buf, ByteBufAllocator alloc) {
        String id = JsonFields.textOrNull(tc, "id");
        CallState call;
        if (tc.path("index").isIntegralNumber()) {
            call = calls.computeIfAbsent(tc.get("index").asInt(), k -> newCall());
        } else if ((id != null && !id.isEmpty()) || lastCall == null) {
            // Without an index, a delta with an id is a new call; one without continues the last.
            call = newCall();
            calls.put(unindexed--, call);
        } else {
            call = lastCall;
        }
        lastCall = call;
        if (call.id == null && id != null && !id.isEmpty()) call.id = id;
        JsonNode f = tc.path("function");
        String name = JsonFields.textOrNull(f, "name");
        if (call.name == null && name != null && !name.isEmpty()) call.name = name;
        String fragment = OpenAiChatCodec.arguments(f.get("arguments"));
        if (call.started()) {
            if (!fragment.isEmpty()) write(buf, out.toolArguments(alloc, call.index, fragment));
            return;
        }
        call.heldArguments.append(fragment);
        if (call.name != null) start(call, buf, alloc);
    }

    private CallState newCall() {
        CallState c = new CallState();
        order.add(c);
        return c;
    }

    private void start(CallState call, ByteBuf buf, ByteBufAllocator alloc) {
        call.index = nextIndex++;
        // A call must have an id for its result to name; a server that gave none gets one made up.
        if (call.id == null) call.id = Ids.alphanumeric("call_");
        write(buf, out.toolCall(alloc, call.index, call.id, call.name == null ? "" : call.name, call.heldArguments.toString()));
        call.heldArguments.setLength(0);
    }

    @Override
    protected ByteBuf onDone(ByteBufAllocator alloc) {
        if (finished || error != null) return null;
        return end(alloc);
    }

    @Override
    public ByteBuf onEnd(ByteBufAllocator alloc) {
        ByteBuf tail = finished || error != null ? null : finishPartialEvent(alloc);
        release();
        if (finished || error != null) return tail;
        ByteBuf buf = tail != null ? tail : alloc.buffer(256);
        write(buf, end(alloc));
        return readableOrNull(buf);
    }

    /** The end of the answer, at [DONE] or at the end of the body: a finish, or the error of a stream cut short. */
    private ByteBuf end(ByteBufAllocator alloc) {
        if (rawFinish == null) {
            error = "the provider's stream ended before finish_reason";
            return out.error(alloc, error, "upstream_incomplete_stream");
        }
        FinishReason reason;
        try {
            reason = OpenAiChatCodec.finishReason(rawFinish, !calls.isEmpty());
        } catch (UnknownFinishReasonException e) {
            error = e.getMessage();
            return out.error(alloc, error, "upstream_unknown_finish_reason");
        }
        finished = true;
        ByteBuf buf = alloc.buffer(256);
        // A call whose name never came is still a call: it goes out rather than vanish.
        for (CallState c : order) if (!c.started()) start(c, buf, alloc);
        write(buf, out.finish(alloc, reason, rawFinish, usage));
        return buf;
    }

    @Override
    public ByteBuf onFailure(ByteBufAllocator alloc, String message, String code) {
        if (error == null) error = message;
        return out.error(alloc, message, code);
    }

    @Override
    public Usage usage() {
        return usage;
    }

    @Override
    public boolean ended() {
        return finished || error != null;
    }

    @Override
    public String error() {
        return error;
    }

    private static String firstText(JsonNode n, String... fields) {
        for (String f : fields) {
            JsonNode v = n.get(f);
            if (v != null && (v.isTextual() || v.isNumber())) return v.asText();
        }
        return null;
    }

    private static ByteBuf readableOrNull(ByteBuf buf) {
        if (buf.isReadable()) return buf;
        buf.release();
        return null;
    }

    private static void write(ByteBuf buf, ByteBuf piece) {
        if (piece == null) return;
        buf.writeBytes(piece);
        piece.release();
    }
}
