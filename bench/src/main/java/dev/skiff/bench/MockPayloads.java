package dev.skiff.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The JSON bodies and SSE events the mock sends, in the shapes real providers use (see the
 * recordings under shared/fixtures/providers). A gateway parses, rewrites or translates these, so
 * their size and structure should look like real traffic, not like {@code {"ok":true}}.
 * Everything here runs once at startup; ids and timestamps are therefore fixed per process.
 */
final class MockPayloads {
    static final String MODEL = "gpt-4o-mini";
    private static final String[] WORDS = {
        "Hello", " from", " the", " mock", " provider", ":", " every", " token", " arrives", " on", " time", "."
    };
    private static final int PROMPT_TOKENS = 9;

    private final int chunks;
    private final long created = System.currentTimeMillis() / 1000;

    /** @param chunks how many content pieces a stream carries; the whole text has as many tokens */
    MockPayloads(int chunks) {
        if (chunks < 1) throw new IllegalArgumentException("--chunks must be at least 1");
        this.chunks = chunks;
    }

    private String token(int i) {
        return WORDS[i % WORDS.length];
    }

    private String fullText() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < chunks; i++) text.append(token(i));
        return text.toString();
    }

    // ---- OpenAI chat completions ----

    String chatCompletion() {
        return """
                {"id":"chatcmpl-mock000000000000000000000001","object":"chat.completion","created":%d,\
                "model":"%s","choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null,\
                "annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":%s,\
                "service_tier":"default","system_fingerprint":"fp_mock0001"}"""
                .formatted(created, MODEL, quote(fullText()), chatUsage());
    }

    private String chatUsage() {
        return """
                {"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,\
                "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},\
                "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,\
                "accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"""
                .formatted(PROMPT_TOKENS, chunks, PROMPT_TOKENS + chunks);
    }

    /**
     * Content chunks, a finish chunk, the optional usage chunk, then {@code [DONE]}. As OpenAI does
     * when {@code stream_options.include_usage} is set, every chunk then carries
     * {@code "usage":null} and one extra chunk with empty choices reports the usage.
     */
    List<SseEvent> chatStream(boolean includeUsage) {
        String prefix = """
                {"id":"chatcmpl-mock000000000000000000000002","object":"chat.completion.chunk","created":%d,\
                "model":"%s","service_tier":"default","system_fingerprint":"fp_mock0001","choices":"""
                .formatted(created, MODEL);
        String usageNull = includeUsage ? ",\"usage\":null" : "";
        List<SseEvent> events = new ArrayList<>();
        for (int i = 0; i < chunks; i++) {
            String delta = (i == 0 ? "{\"role\":\"assistant\",\"content\":" : "{\"content\":") + quote(token(i)) + "}";
            events.add(SseEvent.text(data(prefix + "[{\"index\":0,\"delta\":" + delta
                    + ",\"logprobs\":null,\"finish_reason\":null}]" + usageNull + "}")));
        }
        events.add(SseEvent.framing(data(prefix + "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]"
                + usageNull + "}")));
        if (includeUsage) events.add(SseEvent.framing(data(prefix + "[],\"usage\":" + chatUsage() + "}")));
        events.add(SseEvent.framing(data("[DONE]")));
        return events;
    }

    // ---- Anthropic messages ----

    String message() {
        return """
                {"id":"msg_mock0000000000000000000001","type":"message","role":"assistant","model":"%s",\
                "content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,\
                "usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,\
                "output_tokens":%d,"service_tier":"standard"}}"""
                .formatted(MODEL, quote(fullText()), PROMPT_TOKENS, chunks);
    }

    List<SseEvent> messageStream() {
        List<SseEvent> events = new ArrayList<>();
        events.add(SseEvent.framing(event("message_start", """
                {"type":"message_start","message":{"id":"msg_mock0000000000000000000002","type":"message",\
                "role":"assistant","model":"%s","content":[],"stop_reason":null,"stop_sequence":null,\
                "usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,\
                "output_tokens":1,"service_tier":"standard"}}}""".formatted(MODEL, PROMPT_TOKENS))));
        events.add(SseEvent.framing(event("content_block_start",
                "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")));
        for (int i = 0; i < chunks; i++) {
            events.add(SseEvent.text(event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
                    + "\"delta\":{\"type\":\"text_delta\",\"text\":" + quote(token(i)) + "}}")));
        }
        events.add(SseEvent.framing(event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")));
        events.add(SseEvent.framing(event("message_delta", """
                {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},\
                "usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,\
                "output_tokens":%d}}""".formatted(PROMPT_TOKENS, chunks))));
        events.add(SseEvent.framing(event("message_stop", "{\"type\":\"message_stop\"}")));
        return events;
    }

    // ---- OpenAI responses ----

    private static final String RESPONSE_ID = "resp_mock00000000000000000000000001";
    private static final String ITEM_ID = "msg_mock00000000000000000000000001";

    String response() {
        return responseObject("completed", outputItem("completed", fullText()), responsesUsage());
    }

    private String responseObject(String status, String output, String usage) {
        String completedAt = status.equals("completed") ? Long.toString(created) : "null";
        return """
                {"id":"%s","object":"response","created_at":%d,"status":"%s","background":false,\
                "completed_at":%s,"error":null,"incomplete_details":null,"instructions":null,\
                "max_output_tokens":null,"model":"%s","output":[%s],"parallel_tool_calls":true,\
                "previous_response_id":null,"reasoning":{"effort":null,"summary":null},"service_tier":"default",\
                "store":false,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},\
                "tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":%s,\
                "user":null,"metadata":{}}"""
                .formatted(RESPONSE_ID, created, status, completedAt, MODEL, output, usage);
    }

    private static String outputItem(String status, String text) {
        String content = text == null ? "" : outputText(text);
        return """
                {"id":"%s","type":"message","status":"%s","content":[%s],"role":"assistant"}"""
                .formatted(ITEM_ID, status, content);
    }

    private static String outputText(String text) {
        return "{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":" + quote(text) + "}";
    }

    private String responsesUsage() {
        return """
                {"input_tokens":%d,"input_tokens_details":{"cached_tokens":0},"output_tokens":%d,\
                "output_tokens_details":{"reasoning_tokens":0},"total_tokens":%d}"""
                .formatted(PROMPT_TOKENS, chunks, PROMPT_TOKENS + chunks);
    }

    List<SseEvent> responseStream() {
        List<SseEvent> events = new ArrayList<>();
        int seq = 0;
        String inProgress = responseObject("in_progress", "", "null");
        events.add(SseEvent.framing(event("response.created", "{\"type\":\"response.created\",\"response\":" + inProgress
                + ",\"sequence_number\":" + seq++ + "}")));
        events.add(SseEvent.framing(event("response.in_progress", "{\"type\":\"response.in_progress\",\"response\":" + inProgress
                + ",\"sequence_number\":" + seq++ + "}")));
        events.add(SseEvent.framing(event("response.output_item.added", "{\"type\":\"response.output_item.added\",\"item\":"
                + outputItem("in_progress", null) + ",\"output_index\":0,\"sequence_number\":" + seq++ + "}")));
        events.add(SseEvent.framing(event("response.content_part.added", "{\"type\":\"response.content_part.added\","
                + "\"content_index\":0,\"item_id\":\"" + ITEM_ID + "\",\"output_index\":0,\"part\":" + outputText("")
                + ",\"sequence_number\":" + seq++ + "}")));
        for (int i = 0; i < chunks; i++) {
            events.add(SseEvent.text(event("response.output_text.delta", "{\"type\":\"response.output_text.delta\","
                    + "\"content_index\":0,\"delta\":" + quote(token(i)) + ",\"item_id\":\"" + ITEM_ID
                    + "\",\"logprobs\":[],\"output_index\":0,\"sequence_number\":" + seq++ + "}")));
        }
        String text = fullText();
        events.add(SseEvent.framing(event("response.output_text.done", "{\"type\":\"response.output_text.done\","
                + "\"content_index\":0,\"item_id\":\"" + ITEM_ID + "\",\"logprobs\":[],\"output_index\":0,"
                + "\"sequence_number\":" + seq++ + ",\"text\":" + quote(text) + "}")));
        events.add(SseEvent.framing(event("response.content_part.done", "{\"type\":\"response.content_part.done\","
                + "\"content_index\":0,\"item_id\":\"" + ITEM_ID + "\",\"output_index\":0,\"part\":" + outputText(text)
                + ",\"sequence_number\":" + seq++ + "}")));
        events.add(SseEvent.framing(event("response.output_item.done", "{\"type\":\"response.output_item.done\",\"item\":"
                + outputItem("completed", text) + ",\"output_index\":0,\"sequence_number\":" + seq++ + "}")));
        events.add(SseEvent.framing(event("response.completed", "{\"type\":\"response.completed\",\"response\":" + response()
                + ",\"sequence_number\":" + seq + "}")));
        return events;
    }

    // ---- the rest of the surface ----

    /** One small, deterministic vector per input, so a gateway's response handling is exercised. */
    static String embeddings(int inputs) {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < inputs; i++) {
            if (i > 0) data.append(',');
            data.append("{\"object\":\"embedding\",\"index\":").append(i).append(",\"embedding\":[");
            for (int d = 0; d < 8; d++) {
                if (d > 0) data.append(',');
                data.append(String.format(Locale.ROOT, "%.6f", Math.sin(i * 8 + d + 1) / 10));
            }
            data.append("]}");
        }
        return """
                {"object":"list","data":[%s],"model":"text-embedding-3-small",\
                "usage":{"prompt_tokens":%d,"total_tokens":%d}}"""
                .formatted(data, inputs * 2, inputs * 2);
    }

    /** Anthropic's model list shape. */
    String anthropicModels() {
        return """
                {"data":[{"type":"model","id":"claude-bench","display_name":"Claude Bench",                "created_at":"2025-05-14T00:00:00Z"}],"has_more":false,"first_id":"claude-bench","last_id":"claude-bench"}""";
    }

    String models() {
        StringBuilder data = new StringBuilder();
        String[] ids = {MODEL, "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small"};
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) data.append(',');
            data.append("{\"id\":\"").append(ids[i]).append("\",\"object\":\"model\",\"created\":")
                    .append(created - 86_400L * (i + 1)).append(",\"owned_by\":\"mock\"}");
        }
        return "{\"object\":\"list\",\"data\":[" + data + "]}";
    }

    static String notFound() {
        return """
                {"error":{"message":"The mock provider does not serve this method and path.",\
                "type":"invalid_request_error","param":null,"code":"unknown_url"}}""";
    }

    // ---- SSE and JSON text ----

    private static String data(String json) {
        return "data: " + json + "\n\n";
    }

    private static String event(String name, String json) {
        return "event: " + name + "\n" + data(json);
    }

    /** A JSON string literal; the mock's texts are plain, but a wrong escape would be a silent bug. */
    static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        return out.append('"').toString();
    }
}
