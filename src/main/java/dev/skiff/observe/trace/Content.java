package dev.skiff.observe.trace;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.observe.Capped;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.audit.StreamAssembler;
import java.util.function.Supplier;

/**
 * Message content in spans, only when {@code OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true}:
 * {@code gen_ai.input.messages} (the request's messages or input, and system) and
 * {@code gen_ai.output.messages} (the answer, a stream reassembled) as JSON text, each at most
 * {@value #MAX_CHARS} characters. The bodies are the trail's captures; they are parsed on the
 * exporter's thread (the attribute values are suppliers until then), never on an event loop.
 */
final class Content {
    static final int MAX_CHARS = 16_384;

    private Content() {}

    static void add(Span s, RequestTrail t) {
        Capped in = t.requestBody();
        Capped out = t.clientResponseBody() != null ? t.clientResponseBody() : t.upstreamResponseBody(); // no tap without the audit log
        if (in != null) s.set("gen_ai.input.messages", (Supplier<String>) () -> input(in));
        if (out != null) s.set("gen_ai.output.messages", (Supplier<String>) () -> output(out));
    }

    private static String input(Capped c) {
        try {
            JsonNode body = OpenAiChat.JSON.readTree(c.text());
            var o = OpenAiChat.JSON.createObjectNode();
            for (String f : new String[] {"system", "instructions", "messages", "input", "contents"}) if (body.has(f)) o.set(f, body.get(f));
            return cap(o.toString());
        } catch (Exception e) {
            return cap(c.text());
        }
    }

    private static String output(Capped c) {
        String text = c.text();
        try {
            if (StreamAssembler.looksLikeSse(text)) {
                JsonNode a = StreamAssembler.assemble(OpenAiChat.JSON, text);
                return a == null ? cap(text) : cap(a.toString());
            }
            return cap(OpenAiChat.JSON.readTree(text).toString());
        } catch (Exception e) {
            return cap(text);
        }
    }

    private static String cap(String s) {
        return s.length() <= MAX_CHARS ? s : s.substring(0, MAX_CHARS) + "...";
    }
}
