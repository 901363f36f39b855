package dev.skiff.dialect.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Bytes;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.SystemTurns;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code role:"system"} messages inside {@code messages}, for a Messages request that goes to Anthropic
 * as it came. Anthropic takes them only under the beta the client opts into with
 * {@code anthropic-beta: mid-conversation-system-...}; without it the request would be refused, so
 * they are moved into the top-level {@code system}, after the blocks already there, and the move is
 * named in {@code x-skiff-dropped-fields}.
 */
public final class MidConversationSystem {
    private static final byte[] ROLE = "\"role\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SYSTEM = "\"system\"".getBytes(StandardCharsets.US_ASCII);
    static final String BETA = "mid-conversation-system";

    private MidConversationSystem() {}

    /** Whether the client opted into Anthropic's mid-conversation system messages (any dated version). */
    public static boolean betaAllows(String anthropicBeta) {
        return anthropicBeta != null && anthropicBeta.contains(BETA);
    }

    /**
     * Whether the body may hold a system message: some {@code "role"} member's value is {@code "system"}.
     * A byte search, so that requests without one (nearly all) are not parsed; a false positive (the
     * bytes inside a tool's input) costs only the parse in {@link #fold}.
     */
    public static boolean mayHave(ByteBuf body) {
        int end = body.writerIndex();
        int at = body.readerIndex();
        while ((at = Bytes.indexOf(body, at, end, ROLE)) >= 0) {
            int colon = Bytes.skipWhitespace(body, at + ROLE.length, end);
            if (colon < end && body.getByte(colon) == ':') {
                int value = Bytes.skipWhitespace(body, colon + 1, end);
                if (Bytes.startsWith(body, value, end, SYSTEM)) return true;
            }
            at++;
        }
        return false;
    }

    /**
     * The request with its system messages moved into {@code system}, or null when it has none. Every
     * other member stays as the client wrote it (thinking blocks and their signatures are strings, so
     * they come out with the same value).
     */
    public static byte[] fold(ByteBuf body, Dropped dropped) throws IOException {
        JsonNode tree = OpenAiChat.read(body);
        if (tree == null || !tree.isObject() || !(tree.get("messages") instanceof ArrayNode messages)) return null;
        ArrayNode kept = OpenAiChat.JSON.createArrayNode();
        ArrayNode moved = OpenAiChat.JSON.createArrayNode();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (!"system".equals(m.path("role").asText())) {
                kept.add(m);
                continue;
            }
            JsonNode content = m.get("content");
            if (content != null && content.isTextual()) {
                if (!content.asText().isEmpty()) moved.addObject().put("type", "text").put("text", content.asText());
            } else if (content != null && content.isArray()) {
                moved.addAll((ArrayNode) content);
            }
            for (var e : m.properties()) {
                if (!e.getKey().equals("role") && !e.getKey().equals("content")) dropped.add("messages[" + i + "]." + e.getKey());
            }
        }
        if (kept.size() == messages.size()) return null;
        ObjectNode out = (ObjectNode) tree;
        JsonNode system = out.get("system");
        ArrayNode blocks = OpenAiChat.JSON.createArrayNode();
        if (system != null && system.isTextual()) {
            if (!system.asText().isEmpty()) blocks.addObject().put("type", "text").put("text", system.asText());
        } else if (system != null && system.isArray()) {
            blocks.addAll((ArrayNode) system);
        }
        blocks.addAll(moved);
        out.set("system", blocks);
        out.set("messages", kept); // neighbours of one role left side by side are joined by Anthropic itself
        dropped.add(SystemTurns.MOVED);
        return OpenAiChat.JSON.writeValueAsBytes(out);
    }
}
