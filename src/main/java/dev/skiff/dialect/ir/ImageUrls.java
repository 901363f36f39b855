package dev.skiff.dialect.ir;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Finds the images a request names by URL, and puts fetched bytes in their place. */
public final class ImageUrls {
    /** The fetched content of one URL. */
    public record Fetched(String mediaType, byte[] bytes) {}

    private ImageUrls() {}

    /**
     * The distinct http(s) image URLs of the conversation, in order of appearance. Other schemes
     * (Gemini's gs:// file URIs) are for the provider itself and stay as they are.
     */
    public static List<String> of(ChatRequest r) {
        Set<String> urls = new LinkedHashSet<>();
        for (Message m : r.messages()) collect(m.parts(), urls);
        return new ArrayList<>(urls);
    }

    private static void collect(List<Part> parts, Set<String> urls) {
        for (Part p : parts) {
            if (p instanceof Part.Image i && i.url() != null && (i.url().regionMatches(true, 0, "http://", 0, 7)
                    || i.url().regionMatches(true, 0, "https://", 0, 8))) urls.add(i.url());
            else if (p instanceof Part.ToolResult t && t.content() != null) collect(t.content(), urls);
        }
    }

    /** The same request with each URL image replaced by its bytes (base64), as providers without URL sources need. */
    public static ChatRequest inline(ChatRequest r, Map<String, Fetched> fetched) {
        List<Message> messages = new ArrayList<>(r.messages().size());
        for (Message m : r.messages()) messages.add(new Message(m.role(), replace(m.parts(), fetched)));
        return new ChatRequest(r.model(), r.system(), messages, r.tools(), r.toolChoice(), r.parallelToolCalls(), r.sampling(),
                r.responseFormat(), r.reasoning(), r.stream(), r.extras());
    }

    private static List<Part> replace(List<Part> parts, Map<String, Fetched> fetched) {
        List<Part> out = new ArrayList<>(parts.size());
        for (Part p : parts) {
            if (p instanceof Part.Image i && i.url() != null && fetched.containsKey(i.url())) {
                Fetched f = fetched.get(i.url());
                out.add(new Part.Image(null, f.mediaType(), Base64.getEncoder().encodeToString(f.bytes()), i.detail(), i.cacheControl()));
            } else if (p instanceof Part.ToolResult t && t.content() != null) {
                out.add(new Part.ToolResult(t.callId(), replace(t.content(), fetched), t.isError(), t.cacheControl()));
            } else {
                out.add(p);
            }
        }
        return out;
    }
}
