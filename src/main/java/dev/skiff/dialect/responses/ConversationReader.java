package dev.skiff.dialect.responses;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads normalized input items into system parts and turns. The Responses API has no assistant
 * "message with tool calls": reasoning, assistant text and function calls are separate items. A run of
 * them becomes one assistant turn, in item order, so that a reasoning item stays with the text and calls
 * it preceded (Anthropic wants thinking at the head of the turn it belongs to). A run of
 * {@code function_call_output} items likewise becomes one user turn (conformance 5).
 */
final class ConversationReader {
    private final Dropped dropped;
    private final List<Part> system = new ArrayList<>();
    private final List<Message> turns = new ArrayList<>();
    private Message.Role openRole;
    private boolean openIsToolResults;
    private List<Part> open;

    ConversationReader(Dropped dropped) {
        this.dropped = dropped;
    }

    List<Part> system() {
        return system;
    }

    List<Message> turns() {
        closeTurn();
        return turns;
    }

    /** @param where the item's place in the request, for error messages */
    void read(JsonNode item, String where) throws BadRequestException {
        String type = item.path("type").asText("");
        switch (type) {
            case "message" -> message(item, where);
            case "function_call" -> {
                String callId = requiredText(item, "call_id", where);
                String name = requiredText(item, "name", where);
                JsonNode args = item.get("arguments");
                assistantSide().add(new Part.ToolCall(callId, name, args != null && args.isTextual() ? args.asText() : ""));
            }
            case "function_call_output" -> {
                String callId = requiredText(item, "call_id", where);
                toolResults().add(new Part.ToolResult(callId, toolOutput(item.get("output"), where), false, null));
            }
            case "reasoning" -> {
                Part p = ReasoningItems.part(item);
                if (p != null) assistantSide().add(p);
            }
            // Built-in tool calls and their outputs, item references (the lead resolves stored
            // conversations before this point): nothing a translated provider can be given.
            default -> dropped.add("input(" + (type.isEmpty() ? "untyped item" : type) + ")");
        }
    }

    private void message(JsonNode item, String where) throws BadRequestException {
        String role = item.path("role").asText("");
        JsonNode content = item.get("content");
        switch (role) {
            case "system", "developer" -> system.addAll(contentParts(content, where));
            case "user" -> {
                List<Part> parts = contentParts(content, where);
                closeTurn();
                if (!parts.isEmpty()) turns.add(new Message(Message.Role.USER, parts));
            }
            case "assistant" -> assistantSide().addAll(contentParts(content, where));
            default -> throw new BadRequestException(where + ".role '" + role + "' is not one of user, assistant, system, developer.",
                    where + ".role");
        }
    }

    /** Content of a normalized message: an array of typed parts. */
    private List<Part> contentParts(JsonNode content, String where) throws BadRequestException {
        List<Part> parts = new ArrayList<>();
        if (content == null || content.isNull()) return parts;
        if (!content.isArray()) throw new BadRequestException(where + ".content must be a string or an array.", where + ".content");
        for (int i = 0; i < content.size(); i++) {
            Part p = contentPart(content.get(i), where + ".content[" + i + "]");
            if (p != null) parts.add(p);
        }
        return parts;
    }

    private Part contentPart(JsonNode p, String where) throws BadRequestException {
        String type = p.path("type").asText("");
        return switch (type) {
            case "input_text", "output_text" -> {
                String text = p.path("text").asText("");
                yield text.isEmpty() ? null : new Part.Text(text);
            }
            // A refusal the client sends back is what the assistant said; providers know no other kind.
            case "refusal" -> new Part.Text(p.path("refusal").asText(""));
            case "input_image" -> image(p, where);
            case "input_file" -> {
                dropped.add("input_file");
                yield null;
            }
            default -> {
                dropped.add("content(" + (type.isEmpty() ? "untyped part" : type) + ")");
                yield null;
            }
        };
    }

    private Part image(JsonNode p, String where) throws BadRequestException {
        JsonNode urlNode = p.get("image_url");
        String detail = p.hasNonNull("detail") ? p.get("detail").asText() : null;
        if (urlNode == null || !urlNode.isTextual()) {
            // An uploaded file lives in OpenAI's storage, out of every other provider's reach.
            dropped.add(p.hasNonNull("file_id") ? "input_image.file_id" : "input_image(no image_url)");
            return null;
        }
        String url = urlNode.asText();
        if (url.startsWith("data:")) {
            int comma = url.indexOf(',');
            int semi = url.indexOf(';');
            if (comma < 0 || semi < 0 || semi > comma || !url.substring(semi, comma).equals(";base64")) {
                throw new BadRequestException(where + ": an image data URL must be data:<type>;base64,<data>.", where + ".image_url");
            }
            return new Part.Image(null, url.substring(5, semi), url.substring(comma + 1), detail, null);
        }
        if (url.isEmpty()) throw new BadRequestException(where + ".image_url is empty.", where + ".image_url");
        return new Part.Image(url, null, null, detail, null);
    }

    /** A function_call_output's {@code output}: a string, or an array of input content parts. */
    private List<Part> toolOutput(JsonNode output, String where) throws BadRequestException {
        if (output == null || output.isNull()) return List.of();
        if (output.isTextual()) return output.asText().isEmpty() ? List.of() : List.of(new Part.Text(output.asText()));
        return contentParts(output, where + ".output");
    }

    private List<Part> assistantSide() {
        if (openRole != Message.Role.ASSISTANT) {
            closeTurn();
            openRole = Message.Role.ASSISTANT;
            open = new ArrayList<>();
        }
        return open;
    }

    private List<Part> toolResults() {
        if (openRole != Message.Role.USER || !openIsToolResults) {
            closeTurn();
            openRole = Message.Role.USER;
            openIsToolResults = true;
            open = new ArrayList<>();
        }
        return open;
    }

    private void closeTurn() {
        if (open != null && !open.isEmpty()) turns.add(new Message(openRole, open));
        open = null;
        openRole = null;
        openIsToolResults = false;
    }

    private static String requiredText(JsonNode item, String field, String where) throws BadRequestException {
        JsonNode v = item.get(field);
        if (v == null || !v.isTextual()) throw new BadRequestException(where + "." + field + " is required.", where + "." + field);
        return v.asText();
    }
}
