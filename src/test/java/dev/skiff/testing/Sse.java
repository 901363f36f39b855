package dev.skiff.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/** Reading a Server-Sent Events body in tests: each event's name and its data as JSON. */
public final class Sse {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One event; {@code name} is null when the event has no {@code event:} line, {@code data} null for non-JSON data. */
    public record Event(String name, JsonNode data, String rawData) {}

    private Sse() {}

    public static List<Event> parse(String body) throws Exception {
        List<Event> out = new ArrayList<>();
        for (String block : body.replace("\r\n", "\n").split("\n\n")) {
            String name = null;
            StringBuilder data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("event:")) name = line.substring(6).strip();
                else if (line.startsWith("data:")) {
                    String d = line.substring(5);
                    if (d.startsWith(" ")) d = d.substring(1);
                    data = data == null ? new StringBuilder(d) : data.append('\n').append(d);
                }
            }
            if (name == null && data == null) continue; // comments, keep-alives
            String raw = data == null ? null : data.toString();
            JsonNode json = null;
            if (raw != null && !raw.equals("[DONE]")) json = JSON.readTree(raw);
            out.add(new Event(name, json, raw));
        }
        return out;
    }

    /** The event names in order. */
    public static List<String> names(List<Event> events) {
        return events.stream().map(Event::name).toList();
    }
}
