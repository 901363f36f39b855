package dev.skiff.dialect.ir;

import java.util.ArrayList;
import java.util.List;

/**
 * For targets whose conversation has no system turns (Gemini, Bedrock Converse, Anthropic without
 * its mid-conversation beta): system messages met in the conversation join the system instruction,
 * after what was already there and in their order. The instruction then no longer says where in the
 * conversation it was given, so the move is reported like a dropped field.
 */
public final class SystemTurns {
    /** The name under which the move is reported in {@code x-skiff-dropped-fields} (no comma: the header is a comma-separated list). */
    public static final String MOVED = "messages(role:system; moved into the system instruction)";

    private SystemTurns() {}

    public static ChatRequest fold(ChatRequest r, Dropped dropped) {
        if (r.messages() == null || r.messages().stream().noneMatch(m -> m.role() == Message.Role.SYSTEM)) return r;
        List<Part> system = new ArrayList<>(r.system() == null ? List.of() : r.system());
        List<Message> turns = new ArrayList<>(r.messages().size());
        for (Message m : r.messages()) {
            if (m.role() == Message.Role.SYSTEM) system.addAll(m.parts());
            else turns.add(m);
        }
        dropped.add(MOVED);
        return new ChatRequest(r.model(), system, turns, r.tools(), r.toolChoice(), r.parallelToolCalls(), r.sampling(),
                r.responseFormat(), r.reasoning(), r.stream(), r.extras());
    }
}
