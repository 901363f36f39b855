package dev.skiff.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The {@code messages} array of APIs shaped like Anthropic's Messages (Anthropic, Bedrock Converse):
 * each message is rendered, those left with no blocks are skipped (conformance 25), neighbours of the
 * same role are merged since roles must alternate, and in a user turn the tool results come first,
 * in their order, because the provider wants them right after the calls they answer (conformance 5).
 */
public final class Turns {
    /** Renders one part as zero or more blocks of the target dialect. */
    @FunctionalInterface
    public interface PartRenderer {
        void render(Part part, ArrayNode blocks) throws BadRequestException;
    }

    private Turns() {}

    /**
     * @param isToolResult    which rendered blocks are tool results
     * @param staysWithResult blocks that belong to the tool result before them (Bedrock's cachePoint)
     */
    public static ArrayNode render(List<Message> messages, PartRenderer renderer, Predicate<JsonNode> isToolResult,
                                   Predicate<JsonNode> staysWithResult) throws BadRequestException {
        List<String> roles = new ArrayList<>();
        List<ArrayNode> contents = new ArrayList<>();
        if (messages != null) {
            for (Message m : messages) {
                ArrayNode blocks = OpenAiChat.JSON.createArrayNode();
                for (Part p : m.parts()) renderer.render(p, blocks);
                if (blocks.isEmpty()) continue;
                String role = m.role() == Message.Role.ASSISTANT ? "assistant" : "user";
                int last = roles.size() - 1;
                if (last >= 0 && roles.get(last).equals(role)) {
                    contents.get(last).addAll(blocks);
                } else {
                    roles.add(role);
                    contents.add(blocks);
                }
            }
        }
        ArrayNode out = OpenAiChat.JSON.createArrayNode();
        for (int i = 0; i < roles.size(); i++) {
            ArrayNode content = contents.get(i);
            if (roles.get(i).equals("user")) content = toolResultsFirst(content, isToolResult, staysWithResult);
            ObjectNode msg = out.addObject();
            msg.put("role", roles.get(i));
            msg.set("content", content);
        }
        return out;
    }

    /** Stable reorder: tool results (with the blocks that stay with them) before every other block. */
    private static ArrayNode toolResultsFirst(ArrayNode blocks, Predicate<JsonNode> isToolResult, Predicate<JsonNode> staysWithResult) {
        ArrayNode results = OpenAiChat.JSON.createArrayNode();
        ArrayNode others = OpenAiChat.JSON.createArrayNode();
        boolean previousWasResult = false;
        for (JsonNode b : blocks) {
            boolean result = isToolResult.test(b) || (previousWasResult && staysWithResult.test(b));
            (result ? results : others).add(b);
            previousWasResult = result;
        }
        if (results.isEmpty()) return blocks;
        results.addAll(others);
        return results;
    }
}
