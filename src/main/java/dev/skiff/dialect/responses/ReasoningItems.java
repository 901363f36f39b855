package dev.skiff.dialect.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;

/**
 * How another provider's reasoning travels through a Responses client and back. Anthropic (and
 * Bedrock) refuse a later turn whose thinking was altered (conformance 10), so everything they need
 * must survive in fields a Responses client returns untouched with the item:
 * <ul>
 *   <li>{@link Part.Thinking}: a reasoning item whose one {@code summary_text} part is the whole
 *       thinking text (empty thinking: no part) and whose {@code encrypted_content} is
 *       {@value #SIGNATURE_PREFIX} + the signature, as it came (absent signature: null).</li>
 *   <li>{@link Part.RedactedThinking}: a reasoning item with no summary and {@code encrypted_content}
 *       = {@value #REDACTED_PREFIX} + the data.</li>
 * </ul>
 * The prefixes cannot begin OpenAI's own encrypted content (base64 has no ':'), so the kinds never
 * mix: a client that switches a conversation from an OpenAI model to Claude sends OpenAI's
 * reasoning back, and that must not reach Anthropic as if it were a thinking signature (Anthropic
 * would refuse the whole request). Such reasoning is read as unsigned thinking, which targets that
 * need a signature leave out visibly. Reading accepts OpenAI's own items as well: {@code content}
 * reasoning text is preferred to the summary when both are present, since it is the full text.
 */
final class ReasoningItems {
    static final String REDACTED_PREFIX = "skiff-redacted:";
    static final String SIGNATURE_PREFIX = "skiff-signature:";

    private ReasoningItems() {}

    static String encryptedContent(Part.RedactedThinking redacted) {
        return REDACTED_PREFIX + redacted.data();
    }

    /** The output item for a thinking or redacted-thinking part. */
    static ObjectNode item(String id, Part reasoning) {
        ObjectNode item = OpenAiChat.JSON.createObjectNode();
        item.put("id", id);
        item.put("type", "reasoning");
        var summary = item.putArray("summary");
        switch (reasoning) {
            case Part.Thinking t -> {
                if (t.text() != null && !t.text().isEmpty()) summary.add(summaryText(t.text()));
                item.put("encrypted_content", t.signature() == null ? null : SIGNATURE_PREFIX + t.signature());
            }
            case Part.RedactedThinking r -> item.put("encrypted_content", encryptedContent(r));
            default -> throw new IllegalArgumentException("not reasoning: " + reasoning.getClass().getSimpleName());
        }
        return item;
    }

    static ObjectNode summaryText(String text) {
        return OpenAiChat.JSON.createObjectNode().put("type", "summary_text").put("text", text);
    }

    /** The part a reasoning input item stands for, or null when it carries nothing (no text, no encrypted content). */
    static Part part(JsonNode item) {
        JsonNode enc = item.get("encrypted_content");
        String encrypted = enc != null && enc.isTextual() ? enc.asText() : null;
        if (encrypted != null && encrypted.startsWith(REDACTED_PREFIX)) {
            return new Part.RedactedThinking(encrypted.substring(REDACTED_PREFIX.length()));
        }
        String text = joined(item.get("content"), "reasoning_text");
        if (text == null) text = joined(item.get("summary"), "summary_text");
        if (text == null && encrypted == null) return null;
        String signature = encrypted != null && encrypted.startsWith(SIGNATURE_PREFIX) ? encrypted.substring(SIGNATURE_PREFIX.length()) : null;
        return new Part.Thinking(text == null ? "" : text, signature);
    }

    /** The texts of the array's parts of one type, joined by blank lines; null when there are none. */
    private static String joined(JsonNode parts, String type) {
        if (parts == null || !parts.isArray()) return null;
        StringBuilder text = null;
        for (JsonNode p : parts) {
            if (!type.equals(p.path("type").asText()) || !p.path("text").isTextual()) continue;
            if (text == null) text = new StringBuilder();
            else text.append("\n\n");
            text.append(p.get("text").asText());
        }
        return text == null ? null : text.toString();
    }
}
