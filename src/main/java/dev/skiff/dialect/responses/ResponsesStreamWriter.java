package dev.skiff.dialect.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A streamed answer as Responses events ({@code event: <type>} + {@code data: <json>}, each with a
 * {@code sequence_number} counting from 0). The stream opens with {@code response.created} and
 * {@code response.in_progress}; each output item then goes through its whole lifecycle (added, its
 * parts and deltas, done) before the next one is added, since clients index items by
 * {@code output_index} and expect them one at a time. It ends with {@code response.completed},
 * {@code response.incomplete} (length or content filter, conformance 19) or {@code response.failed},
 * each carrying the whole response object, which is also handed to {@code onFinal} exactly once so it
 * can be stored for {@code previous_response_id}.
 *
 * <p>Tool calls: the first call streams its argument fragments live. A call that starts while another
 * is open waits, its fragments buffered, and is written whole when the open one closes (at the end, or
 * when text or reasoning comes): fragments of several calls may interleave (conformance 1), so a call
 * is closed only when no more of its fragments can follow, and each {@code .done} carries the
 * complete arguments.
 */
public final class ResponsesStreamWriter implements ChatStreamWriter {
    private enum Kind { REASONING, MESSAGE, FUNCTION_CALL }

    /** The item being written: at most one at a time. */
    private static final class OpenItem {
        final Kind kind;
        final String id;
        final int outputIndex;
        final StringBuilder text = new StringBuilder();
        boolean partOpen;
        String signature;
        ToolCall call;

        OpenItem(Kind kind, String id, int outputIndex) {
            this.kind = kind;
            this.id = id;
            this.outputIndex = outputIndex;
        }
    }

    private static final class ToolCall {
        final String callId;
        final String name;
        final StringBuilder arguments = new StringBuilder();
        /** The item's done event went out: late fragments can only reach the final object. */
        ObjectNode doneItem;

        ToolCall(String callId, String name) {
            this.callId = callId;
            this.name = name;
        }
    }

    private final ResponseContext ctx;
    private final ResponsesEgress.Stored onFinal;
    private final ArrayNode output = OpenAiChat.JSON.createArrayNode();
    private final TreeMap<Integer, ToolCall> calls = new TreeMap<>();
    /** Calls started while another item was open, by index, waiting for their turn. */
    private final TreeMap<Integer, ToolCall> waiting = new TreeMap<>();
    private OpenItem open;
    private int sequence;
    private boolean started;
    private int itemsMade;
    private boolean ended;
    private Usage startUsage = Usage.NONE;

    /** Where the events of the current call are written; null until the first one. */
    private ByteBuf pending;
    private ByteBufAllocator alloc;

    public ResponsesStreamWriter(ResponseContext ctx, ResponsesEgress.Stored onFinal) {
        this.ctx = ctx;
        this.onFinal = onFinal;
    }

    @Override
    public ByteBuf start(ByteBufAllocator alloc, String id, Usage usage) {
        // The provider's id is not the response's: clients continue a conversation by Skiff's id.
        if (usage != null && usage != Usage.NONE && !ended) startUsage = usage;
        return write(alloc, () -> {});
    }

    @Override
    public ByteBuf text(ByteBufAllocator alloc, String text) {
        if (ended || text == null || text.isEmpty()) return null;
        return write(alloc, () -> {
            if (open == null || open.kind != Kind.MESSAGE) {
                openItem(Kind.MESSAGE, "msg_");
                emit(event("response.output_item.added").put("output_index", open.outputIndex)
                        .set("item", ResponseObject.messageItem(open.id, "in_progress")));
                emit(part("response.content_part.added", open, ResponseObject.outputText("")));
            }
            open.text.append(text);
            ObjectNode delta = event("response.output_text.delta").put("content_index", 0).put("delta", text)
                    .put("item_id", open.id);
            delta.putArray("logprobs");
            emit(delta.put("output_index", open.outputIndex));
        });
    }

    @Override
    public ByteBuf thinking(ByteBufAllocator alloc, String text) {
        if (ended || text == null || text.isEmpty()) return null;
        return write(alloc, () -> {
            openReasoning();
            if (!open.partOpen) {
                open.partOpen = true;
                emit(summaryEvent("response.reasoning_summary_part.added", open).set("part", ReasoningItems.summaryText("")));
            }
            open.text.append(text);
            emit(summaryEvent("response.reasoning_summary_text.delta", open).put("delta", text));
        });
    }

    /** The signature seals the reasoning it closes: the item is done, with the signature as its encrypted content. */
    @Override
    public ByteBuf thinkingSignature(ByteBufAllocator alloc, String signature) {
        if (ended) return null;
        return write(alloc, () -> {
            openReasoning();
            open.signature = signature;
            closeOpen("completed");
        });
    }

    @Override
    public ByteBuf redactedThinking(ByteBufAllocator alloc, String data) {
        if (ended) return null;
        return write(alloc, () -> {
            closeAll("completed");
            int index = output.size();
            ObjectNode item = ReasoningItems.item(itemId("rs_"), new Part.RedactedThinking(data));
            emit(event("response.output_item.added").put("output_index", index).set("item", item.deepCopy()));
            emit(event("response.output_item.done").put("output_index", index).set("item", item.deepCopy()));
            output.add(item);
        });
    }

    @Override
    public ByteBuf toolCall(ByteBufAllocator alloc, int index, String id, String name, String arguments) {
        if (ended) return null;
        return write(alloc, () -> {
            ToolCall call = new ToolCall(id, name);
            if (arguments != null) call.arguments.append(arguments);
            calls.put(index, call);
            if (open != null && open.kind == Kind.FUNCTION_CALL) {
                waiting.put(index, call);
            } else {
                closeAll("completed");
                openCall(call);
            }
        });
    }

    @Override
    public ByteBuf toolArguments(ByteBufAllocator alloc, int index, String fragment) {
        ToolCall call = calls.get(index);
        if (ended || call == null || fragment == null || fragment.isEmpty()) return null;
        call.arguments.append(fragment);
        if (call.doneItem != null) {
            // Closed when other content came between its fragments: too late for its events, but the
            // final object (the stored one) gets the whole arguments.
            call.doneItem.put("arguments", call.arguments.toString());
            return null;
        }
        if (open == null || open.call != call) return null; // waiting: written whole when its turn comes
        return write(alloc, () -> emit(event("response.function_call_arguments.delta").put("delta", fragment)
                .put("item_id", open.id).put("output_index", open.outputIndex)));
    }

    /** An SSE comment: clients skip it, proxies and idle timers see traffic (conformance 4). */
    @Override
    public ByteBuf keepAlive(ByteBufAllocator alloc) {
        ByteBuf b = alloc.buffer(8);
        b.writeCharSequence(": ping\n\n", StandardCharsets.US_ASCII);
        return b;
    }

    @Override
    public ByteBuf finish(ByteBufAllocator alloc, FinishReason reason, String rawReason, Usage usage) {
        if (ended) return null;
        ended = true;
        ResponseObject.Ending[] end = {null};
        ByteBuf out = write(alloc, () -> {
            boolean incomplete = ResponsesApi.isIncomplete(reason);
            closeAll(incomplete ? "incomplete" : "completed");
            end[0] = ResponseObject.Ending.finished(reason, usage == null || usage == Usage.NONE ? startUsage : usage,
                    Math.max(ctx.createdAt(), System.currentTimeMillis() / 1000));
            emit(event(incomplete ? "response.incomplete" : "response.completed").set("response", ResponseObject.tree(ctx, end[0], output)));
        });
        stored(end[0]);
        return out;
    }

    /**
     * {@code response.failed}, whose response carries the error: the terminal event clients and the
     * SDKs treat as the end of a failed stream. Items already done stay in its output; the open one is
     * left unfinished, as it was.
     */
    @Override
    public ByteBuf error(ByteBufAllocator alloc, String message, String code) {
        if (ended) return null;
        ended = true;
        ResponseObject.Ending end = ResponseObject.Ending.failed(code, message == null ? "The provider failed." : message, startUsage);
        ByteBuf out = write(alloc, () -> emit(event("response.failed").set("response", ResponseObject.tree(ctx, end, output))));
        stored(end);
        return out;
    }

    /** The final object to the store, as it keeps it (see {@link ResponsesEgress.Stored}), and the ids of its output items. */
    private void stored(ResponseObject.Ending end) {
        if (onFinal == null || end == null) return;
        List<String> ids = new ArrayList<>(output.size());
        for (JsonNode item : output) {
            if (item.path("id").isTextual()) ids.add(item.get("id").asText());
        }
        ResponseObject.Stored stored = ResponseObject.stored(ctx, end, output);
        onFinal.accept(stored.json(), stored.omitted(), ids);
    }

    // ---- items -----------------------------------------------------------------------------

    private void ensureStarted() {
        if (started) return;
        started = true;
        ObjectNode created = ResponseObject.tree(ctx, ResponseObject.Ending.inProgress(), List.of());
        emit(event("response.created").set("response", created));
        emit(event("response.in_progress").set("response", created.deepCopy()));
    }

    /** An output item's id, numbered by the items made so far (not by output index: a call may wait for its turn). */
    private String itemId(String prefix) {
        return ResponsesApi.itemId(prefix, ctx.responseId(), true, itemsMade++);
    }

    private void openItem(Kind kind, String idPrefix) {
        closeAll("completed");
        open = new OpenItem(kind, itemId(idPrefix), output.size());
    }

    /** The reasoning item thinking goes into: the open one unless it is already sealed by its signature. */
    private void openReasoning() {
        if (open != null && open.kind == Kind.REASONING) return;
        openItem(Kind.REASONING, "rs_");
        ObjectNode item = ReasoningItems.item(open.id, new Part.Thinking("", null));
        emit(event("response.output_item.added").put("output_index", open.outputIndex).set("item", item));
    }

    private void openCall(ToolCall call) {
        open = new OpenItem(Kind.FUNCTION_CALL, itemId("fc_"), output.size());
        open.call = call;
        emit(event("response.output_item.added").put("output_index", open.outputIndex)
                .set("item", ResponseObject.functionCallItem(open.id, "in_progress", call.callId, call.name, "")));
        if (!call.arguments.isEmpty()) {
            emit(event("response.function_call_arguments.delta").put("delta", call.arguments.toString())
                    .put("item_id", open.id).put("output_index", open.outputIndex));
        }
    }

    /** Closes the open item and writes every waiting call; {@code lastStatus} is the status of the last item closed. */
    private void closeAll(String lastStatus) {
        closeOpen(waiting.isEmpty() ? lastStatus : "completed");
        while (!waiting.isEmpty()) {
            openCall(waiting.pollFirstEntry().getValue());
            closeOpen(waiting.isEmpty() ? lastStatus : "completed");
        }
    }

    private void closeOpen(String status) {
        if (open == null) return;
        OpenItem item = open;
        open = null;
        ObjectNode done = switch (item.kind) {
            case MESSAGE -> {
                String text = item.text.toString();
                ObjectNode textDone = event("response.output_text.done").put("content_index", 0).put("item_id", item.id);
                textDone.putArray("logprobs");
                emit(textDone.put("output_index", item.outputIndex).put("text", text));
                emit(part("response.content_part.done", item, ResponseObject.outputText(text)));
                ObjectNode message = ResponseObject.messageItem(item.id, status);
                message.withArray("content").add(ResponseObject.outputText(text));
                yield message;
            }
            case REASONING -> {
                String text = item.text.toString();
                if (item.partOpen) {
                    emit(summaryEvent("response.reasoning_summary_text.done", item).put("text", text));
                    emit(summaryEvent("response.reasoning_summary_part.done", item).set("part", ReasoningItems.summaryText(text)));
                }
                yield ReasoningItems.item(item.id, new Part.Thinking(text, item.signature));
            }
            case FUNCTION_CALL -> {
                String arguments = item.call.arguments.toString();
                emit(event("response.function_call_arguments.done").put("arguments", arguments).put("item_id", item.id)
                        .put("name", item.call.name).put("output_index", item.outputIndex));
                ObjectNode call = ResponseObject.functionCallItem(item.id, status, item.call.callId, item.call.name, arguments);
                item.call.doneItem = call;
                yield call;
            }
        };
        emit(event("response.output_item.done").put("output_index", item.outputIndex).set("item", done.deepCopy()));
        output.add(done);
    }

    // ---- events ----------------------------------------------------------------------------

    private static ObjectNode event(String type) {
        return OpenAiChat.JSON.createObjectNode().put("type", type);
    }

    private static ObjectNode part(String type, OpenItem item, ObjectNode part) {
        ObjectNode e = event(type).put("content_index", 0).put("item_id", item.id).put("output_index", item.outputIndex);
        e.set("part", part);
        return e;
    }

    private static ObjectNode summaryEvent(String type, OpenItem item) {
        return event(type).put("item_id", item.id).put("output_index", item.outputIndex).put("summary_index", 0);
    }

    /**
     * Runs one call's writing, after the opening events if they are not out yet (content may come
     * before any start), and returns its events (null for none); a failure releases what was written.
     */
    private ByteBuf write(ByteBufAllocator alloc, Runnable writing) {
        this.alloc = alloc;
        try {
            ensureStarted();
            writing.run();
            return pending;
        } catch (RuntimeException e) {
            if (pending != null) pending.release();
            throw e;
        } finally {
            pending = null;
            this.alloc = null;
        }
    }

    /** {@code event: <type>\ndata: <json>\n\n}, numbered, appended to what this call returns. */
    private void emit(ObjectNode event) {
        event.put("sequence_number", sequence++);
        if (pending == null) pending = alloc.buffer(512);
        pending.writeCharSequence("event: ", StandardCharsets.US_ASCII);
        pending.writeCharSequence(event.get("type").asText(), StandardCharsets.US_ASCII);
        pending.writeCharSequence("\ndata: ", StandardCharsets.US_ASCII);
        OpenAiChat.writeTo(event, pending);
        pending.writeCharSequence("\n\n", StandardCharsets.US_ASCII);
    }
}
