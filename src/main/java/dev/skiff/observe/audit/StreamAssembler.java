package dev.skiff.observe.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Reassembles a streamed answer into the one answer it adds up to, so that an audited stream reads
 * like a complete response: a {@code chat.completion} from Chat Completions chunks, a {@code message}
 * from Anthropic's events, the final {@code response} of the Responses API, Gemini's text from its
 * candidates. The format is told from the events themselves, so the provider's stream is assembled
 * as well as the client's. Runs on the audit writer's thread.
 */
public final class StreamAssembler {
    private StreamAssembler() {}

    /** The {@code data:} payloads of an SSE text, in order (comments, event names and [DONE] left out). */
    static List<String> dataOf(String sse) {
        List<String> out = new ArrayList<>();
        StringBuilder data = null;
        for (String line : sse.split("\r?\n", -1)) {
            if (line.isEmpty()) {
                if (data != null) out.add(data.toString());
                data = null;
                continue;
            }
            if (line.startsWith("data:")) {
                String v = line.substring(line.length() > 5 && line.charAt(5) == ' ' ? 6 : 5);
                if (data == null) data = new StringBuilder(v);
                else data.append('\n').append(v);
            }
        }
        if (data != null) out.add(data.toString());
        out.removeIf(d -> d.equals("[DONE]"));
        return out;
    }

    /** Whether a body looks like an SSE stream. */
    public static boolean looksLikeSse(String text) {
        String t = text.stripLeading();
        return t.startsWith("data:") || t.startsWith("event:") || t.startsWith(":");
    }

    /** The assembled answer, or null when the events are of no format known here. */
    public static ObjectNode assemble(ObjectMapper json, String sse) {
        List<JsonNode> events = new ArrayList<>();
        for (String d : dataOf(sse)) {
            try {
                events.add(json.readTree(d));
            } catch (Exception e) {
                // a cut or malformed event (the capture may end mid-event): skipped
            }
        }
        if (events.isEmpty()) return null;
        for (JsonNode e : events) {
            if (e.has("choices")) return chat(json, events);
            String type = e.path("type").asText("");
            if (type.startsWith("message_") || type.startsWith("content_block")) return messages(json, events);
            if (type.startsWith("response.")) return responses(events);
            if (e.has("candidates")) return gemini(json, events);
        }
        return null;
    }

    private static ObjectNode chat(ObjectMapper json, List<JsonNode> events) {
        ObjectNode out = json.createObjectNode();
        out.put("object", "chat.completion");
        TreeMap<Integer, StringBuilder> content = new TreeMap<>();
        TreeMap<Integer, StringBuilder> reasoning = new TreeMap<>();
        TreeMap<Integer, String> finish = new TreeMap<>();
        TreeMap<Integer, TreeMap<Integer, ObjectNode>> tools = new TreeMap<>();
        for (JsonNode e : events) {
            if (e.has("id") && !out.has("id")) out.put("id", e.get("id").asText());
            if (e.has("model") && !out.has("model")) out.put("model", e.get("model").asText());
            if (e.has("created") && !out.has("created")) out.set("created", e.get("created"));
            if (e.hasNonNull("usage")) out.set("usage", e.get("usage"));
            for (JsonNode c : e.path("choices")) {
                int i = c.path("index").asInt(0);
                JsonNode d = c.path("delta");
                if (d.path("content").isTextual()) content.computeIfAbsent(i, k -> new StringBuilder()).append(d.get("content").asText());
                for (String r : new String[] {"reasoning_content", "reasoning"}) {
                    if (d.path(r).isTextual()) reasoning.computeIfAbsent(i, k -> new StringBuilder()).append(d.get(r).asText());
                }
                for (JsonNode t : d.path("tool_calls")) {
                    ObjectNode call = tools.computeIfAbsent(i, k -> new TreeMap<>()).computeIfAbsent(t.path("index").asInt(0), k -> {
                        ObjectNode n = json.createObjectNode();
                        n.put("type", "function");
                        n.putObject("function").put("name", "").put("arguments", "");
                        return n;
                    });
                    if (t.hasNonNull("id")) call.put("id", t.get("id").asText());
                    ObjectNode f = (ObjectNode) call.get("function");
                    JsonNode tf = t.path("function");
                    if (tf.path("name").isTextual()) f.put("name", f.get("name").asText() + tf.get("name").asText());
                    if (tf.path("arguments").isTextual()) f.put("arguments", f.get("arguments").asText() + tf.get("arguments").asText());
                }
                if (c.hasNonNull("finish_reason")) finish.put(i, c.get("finish_reason").asText());
                content.putIfAbsent(i, new StringBuilder());
            }
        }
        ArrayNode choices = out.putArray("choices");
        for (int i : content.keySet()) {
            ObjectNode c = choices.addObject();
            c.put("index", i);
            ObjectNode m = c.putObject("message");
            m.put("role", "assistant");
            m.put("content", content.get(i).toString());
            if (reasoning.containsKey(i)) m.put("reasoning_content", reasoning.get(i).toString());
            if (tools.containsKey(i)) {
                ArrayNode calls = m.putArray("tool_calls");
                tools.get(i).values().forEach(calls::add);
            }
            c.put("finish_reason", finish.get(i));
        }
        return out;
    }

    private static ObjectNode messages(ObjectMapper json, List<JsonNode> events) {
        ObjectNode out = json.createObjectNode();
        TreeMap<Integer, ObjectNode> blocks = new TreeMap<>();
        TreeMap<Integer, StringBuilder> partialJson = new TreeMap<>();
        for (JsonNode e : events) {
            switch (e.path("type").asText("")) {
                case "message_start" -> {
                    if (e.path("message") instanceof ObjectNode m) out.setAll(m.deepCopy());
                }
                case "content_block_start" -> {
                    if (e.path("content_block") instanceof ObjectNode b) blocks.put(e.path("index").asInt(), b.deepCopy());
                }
                case "content_block_delta" -> {
                    int i = e.path("index").asInt();
                    ObjectNode b = blocks.computeIfAbsent(i, k -> json.createObjectNode());
                    JsonNode d = e.path("delta");
                    switch (d.path("type").asText("")) {
                        case "text_delta" -> b.put("text", b.path("text").asText("") + d.path("text").asText(""));
                        case "thinking_delta" -> b.put("thinking", b.path("thinking").asText("") + d.path("thinking").asText(""));
                        case "signature_delta" -> b.put("signature", b.path("signature").asText("") + d.path("signature").asText(""));
                        case "input_json_delta" -> partialJson.computeIfAbsent(i, k -> new StringBuilder()).append(d.path("partial_json").asText(""));
                        default -> {
                        }
                    }
                }
                case "message_delta" -> {
                    JsonNode d = e.path("delta");
                    if (d.has("stop_reason")) out.set("stop_reason", d.get("stop_reason"));
                    if (d.has("stop_sequence")) out.set("stop_sequence", d.get("stop_sequence"));
                    if (e.path("usage") instanceof ObjectNode u) {
                        ObjectNode usage = out.path("usage") instanceof ObjectNode existing ? existing : out.putObject("usage");
                        usage.setAll(u);
                    }
                }
                default -> {
                }
            }
        }
        partialJson.forEach((i, s) -> {
            ObjectNode b = blocks.get(i);
            try {
                b.set("input", s.isEmpty() ? json.createObjectNode() : json.readTree(s.toString()));
            } catch (Exception ex) {
                b.put("input", s.toString()); // cut short: kept as the text that came
            }
        });
        ArrayNode content = out.putArray("content");
        blocks.values().forEach(content::add);
        return out;
    }

    private static ObjectNode responses(List<JsonNode> events) {
        for (int i = events.size() - 1; i >= 0; i--) {
            JsonNode e = events.get(i);
            String type = e.path("type").asText("");
            if ((type.equals("response.completed") || type.equals("response.incomplete") || type.equals("response.failed"))
                    && e.path("response") instanceof ObjectNode r) {
                return r;
            }
        }
        // No final event (cut, or past the cap): the output text as far as it came.
        StringBuilder text = new StringBuilder();
        ObjectNode out = null;
        for (JsonNode e : events) {
            if (out == null && e.path("response") instanceof ObjectNode r) out = r.deepCopy();
            if (e.path("type").asText("").equals("response.output_text.delta")) text.append(e.path("delta").asText(""));
        }
        if (out == null) return null;
        out.put("output_text", text.toString());
        return out;
    }

    private static ObjectNode gemini(ObjectMapper json, List<JsonNode> events) {
        ObjectNode out = json.createObjectNode();
        StringBuilder text = new StringBuilder();
        for (JsonNode e : events) {
            for (JsonNode part : e.path("candidates").path(0).path("content").path("parts")) {
                if (part.path("text").isTextual()) text.append(part.get("text").asText());
            }
            if (e.hasNonNull("usageMetadata")) out.set("usageMetadata", e.get("usageMetadata"));
            if (e.path("candidates").path(0).hasNonNull("finishReason")) out.set("finishReason", e.path("candidates").path(0).get("finishReason"));
            if (e.hasNonNull("modelVersion")) out.set("modelVersion", e.get("modelVersion"));
        }
        out.put("text", text.toString());
        return out;
    }
}
