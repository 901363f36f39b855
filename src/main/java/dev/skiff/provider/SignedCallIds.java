package dev.skiff.provider;

import dev.skiff.dialect.ir.Part;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Reasoning state carried inside the tool-call ids Skiff hands to OpenAI chat clients, which echo ids
 * verbatim but often not {@code reasoning_content} or {@code reasoning_signature} (the AI SDK's
 * {@code openai.chat}, for one). Providers want that state back on the next turn: Gemini the
 * {@code thoughtSignature} of each call, Anthropic (thinking enabled) the signed thinking blocks that
 * preceded the calls. Carrying it in the id keeps Skiff stateless.
 *
 * <pre>
 *   id      = base MARK base64url(payload), no padding          (only [A-Za-z0-9_-]: safe as any id)
 *   payload = 0 blocks | 1 deflate(blocks)                       (whichever is shorter)
 *   blocks  = origin, then per block: kind, fields
 *   field   = 0 varint(length) UTF-8 | 1 varint(length) bytes   (1: a base64 string, stored decoded)
 * </pre>
 * Kinds: thinking (signature, text), redacted thinking (data), thought signature (signature). The
 * origin says which provider issued the state, so a conversation that moves to another provider
 * never sends it one that is not its own. An id without the mark, or whose payload does not decode,
 * is not Skiff's and is left whole.
 */
public final class SignedCallIds {
    /** Between the base id and the payload; ids providers issue do not contain it. */
    static final String MARK = "__sk1";

    /**
     * Who issued the state. Claude on Bedrock is its own origin: its signatures go back to Bedrock,
     * not to Anthropic's API, since neither documents taking the other's. Ordinals are in the ids:
     * new origins go last.
     */
    public enum Origin { ANTHROPIC, GEMINI, BEDROCK }

    /** An id read back: the provider's own id and the reasoning state it carried (empty when none). */
    public record Split(String base, Origin origin, List<Part> reasoning) {
        public boolean carries() {
            return !reasoning.isEmpty();
        }
    }

    private static final byte THINKING = 1, REDACTED = 2, THOUGHT_SIGNATURE = 3;

    private SignedCallIds() {}

    /**
     * {@code base} carrying {@code reasoning}: {@link Part.Thinking} (with its signature) and
     * {@link Part.RedactedThinking} for Anthropic and Bedrock; for Gemini, {@link Part.Thinking}s whose signature
     * is the thought signature (their text is not kept). Other parts are ignored.
     */
    public static String attach(String base, Origin origin, List<Part> reasoning) {
        ByteArrayOutputStream blocks = new ByteArrayOutputStream();
        blocks.write(origin.ordinal());
        int n = 0;
        for (Part p : reasoning) {
            if (p instanceof Part.Thinking t && t.signature() != null) {
                if (origin == Origin.GEMINI) {
                    blocks.write(THOUGHT_SIGNATURE);
                    field(blocks, t.signature());
                } else {
                    blocks.write(THINKING);
                    field(blocks, t.signature());
                    utf8(blocks, t.text() == null ? "" : t.text());
                }
                n++;
            } else if (p instanceof Part.RedactedThinking r && origin != Origin.GEMINI) {
                blocks.write(REDACTED);
                field(blocks, r.data());
                n++;
            }
        }
        if (n == 0) return base;
        byte[] raw = blocks.toByteArray();
        byte[] packed = deflate(raw);
        byte[] payload;
        if (packed.length < raw.length) {
            payload = new byte[packed.length + 1];
            payload[0] = 1;
            System.arraycopy(packed, 0, payload, 1, packed.length);
        } else {
            payload = new byte[raw.length + 1];
            System.arraycopy(raw, 0, payload, 1, raw.length);
        }
        return base + MARK + Base64.getUrlEncoder().withoutPadding().encodeToString(payload);
    }

    /** Reads an id back; an id Skiff did not make this way is its own base and carries nothing. */
    public static Split split(String id) {
        if (id == null) return new Split(null, null, List.of());
        int mark = id.indexOf(MARK);
        if (mark < 0) return new Split(id, null, List.of());
        try {
            byte[] payload = Base64.getUrlDecoder().decode(id.substring(mark + MARK.length()));
            if (payload.length < 2) return new Split(id, null, List.of());
            byte[] raw = switch (payload[0]) {
                case 0 -> java.util.Arrays.copyOfRange(payload, 1, payload.length);
                case 1 -> inflate(payload, 1);
                default -> throw new IllegalArgumentException("unknown packing");
            };
            ByteBuffer in = ByteBuffer.wrap(raw);
            int o = in.get();
            if (o < 0 || o >= Origin.values().length) throw new IllegalArgumentException("unknown origin");
            Origin origin = Origin.values()[o];
            List<Part> parts = new ArrayList<>();
            while (in.hasRemaining()) {
                switch (in.get()) {
                    case THINKING -> {
                        String signature = field(in);
                        parts.add(new Part.Thinking(utf8(in), signature));
                    }
                    case REDACTED -> parts.add(new Part.RedactedThinking(field(in)));
                    case THOUGHT_SIGNATURE -> parts.add(new Part.Thinking(null, field(in)));
                    default -> throw new IllegalArgumentException("unknown block");
                }
            }
            return new Split(id.substring(0, mark), origin, List.copyOf(parts));
        } catch (RuntimeException | DataFormatException e) {
            return new Split(id, null, List.of()); // not ours: an id that merely contains the mark
        }
    }

    /**
     * An answer's parts with the reasoning that precedes each tool call carried in that call's id
     * (the reasoning parts stay where they are, for clients that do echo them).
     */
    public static List<Part> carryInCallIds(List<Part> parts, Origin origin) {
        List<Part> out = new ArrayList<>(parts.size());
        List<Part> pending = new ArrayList<>();
        for (Part p : parts) {
            if (p instanceof Part.Thinking t && t.signature() != null || p instanceof Part.RedactedThinking) {
                pending.add(p);
            } else if (p instanceof Part.ToolCall call && !pending.isEmpty()) {
                p = new Part.ToolCall(attach(call.id(), origin, pending), call.name(), call.arguments());
                pending.clear();
            }
            out.add(p);
        }
        return out;
    }

    /**
     * A conversation on its way back to the provider of {@code origin}: every call id is the
     * provider's own again, and an assistant turn that came back without its reasoning (the client did
     * not echo it) gets the reasoning its calls carried, where the provider had put it: what came
     * before the first call opens the turn, what came between calls goes before the next one. A turn
     * whose reasoning the client did echo is left as the client sent it.
     */
    public static List<dev.skiff.dialect.ir.Message> restore(List<dev.skiff.dialect.ir.Message> messages, Origin origin) {
        if (messages == null) return null;
        List<dev.skiff.dialect.ir.Message> out = new ArrayList<>(messages.size());
        for (dev.skiff.dialect.ir.Message m : messages) {
            List<Part> parts = new ArrayList<>(m.parts().size());
            boolean echoed = m.parts().stream().anyMatch(p -> p instanceof Part.Thinking t && t.signature() != null
                    || p instanceof Part.RedactedThinking);
            boolean firstCall = true;
            for (Part p : m.parts()) {
                if (p instanceof Part.ToolCall call) {
                    Split split = split(call.id());
                    if (!echoed && split.carries() && split.origin() == origin) {
                        if (firstCall) parts.addAll(0, split.reasoning());
                        else parts.addAll(split.reasoning());
                    }
                    firstCall = false;
                    parts.add(new Part.ToolCall(split.base(), call.name(), call.arguments()));
                } else if (p instanceof Part.ToolResult r) {
                    parts.add(new Part.ToolResult(base(r.callId()), r.content(), r.isError(), r.cacheControl()));
                } else {
                    parts.add(p);
                }
            }
            out.add(new dev.skiff.dialect.ir.Message(m.role(), parts));
        }
        return out;
    }

    /** The provider's own id inside {@code id} (all of it for ids Skiff did not extend). */
    public static String base(String id) {
        return id == null || !id.contains(MARK) ? id : split(id).base();
    }

    // Signatures and redacted data are base64: stored as their bytes they take a quarter less room.
    private static void field(ByteArrayOutputStream out, String s) {
        byte[] decoded = canonicalBase64(s);
        if (decoded != null) {
            out.write(1);
            varint(out, decoded.length);
            out.writeBytes(decoded);
        } else {
            out.write(0);
            utf8(out, s);
        }
    }

    private static String field(ByteBuffer in) {
        int kind = in.get();
        if (kind == 1) return Base64.getEncoder().encodeToString(bytes(in, varint(in)));
        if (kind == 0) return utf8(in);
        throw new IllegalArgumentException("unknown field");
    }

    /** The bytes of a standard base64 string that encodes back to exactly itself; null otherwise. */
    private static byte[] canonicalBase64(String s) {
        if (s.isEmpty()) return null;
        try {
            byte[] b = Base64.getDecoder().decode(s);
            return Base64.getEncoder().encodeToString(b).equals(s) ? b : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static void utf8(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        varint(out, b.length);
        out.writeBytes(b);
    }

    private static String utf8(ByteBuffer in) {
        return new String(bytes(in, varint(in)), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer in, int n) {
        if (n < 0 || n > in.remaining()) throw new IllegalArgumentException("truncated");
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private static void varint(ByteArrayOutputStream out, int v) {
        while ((v & ~0x7f) != 0) {
            out.write((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out.write(v);
    }

    private static int varint(ByteBuffer in) {
        int v = 0;
        for (int shift = 0; shift < 32; shift += 7) {
            byte b = in.get();
            v |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw new IllegalArgumentException("bad length");
    }

    private static byte[] deflate(byte[] raw) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        try {
            d.setInput(raw);
            d.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length);
            byte[] buf = new byte[4096];
            while (!d.finished()) out.write(buf, 0, d.deflate(buf));
            return out.toByteArray();
        } finally {
            d.end();
        }
    }

    /** Inflates at most 1 MB: an id is no place for more, and a crafted one must not cost memory. */
    private static byte[] inflate(byte[] payload, int offset) throws DataFormatException {
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(payload, offset, payload.length - offset);
            ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length * 3);
            byte[] buf = new byte[4096];
            while (!inf.finished()) {
                int n = inf.inflate(buf);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) throw new DataFormatException("truncated");
                out.write(buf, 0, n);
                if (out.size() > (1 << 20)) throw new DataFormatException("too large");
            }
            return out.toByteArray();
        } finally {
            inf.end();
        }
    }
}
