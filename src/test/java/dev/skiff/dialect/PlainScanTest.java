package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The parser-free reading of plain bodies against Jackson's, body by body: whatever it reads, it
 * reads as the parser does (same fields, same offsets), and whatever the parser would refuse it
 * leaves to the parser. Bodies of many shapes, and many thousands of random edits of them.
 */
class PlainScanTest {
    private static final JsonTypes.Table[] TABLES = {JsonTypes.NONE, JsonTypes.CHAT, JsonTypes.RESPONSES, JsonTypes.MESSAGES,
            JsonTypes.EMBEDDINGS, JsonTypes.COUNT_TOKENS};

    private static final String[] BODIES = {
            "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
            " \n{ \"model\" : \"gpt-4o-mini\" , \"stream\" : false , \"messages\" : [ ] } \r\n\t",
            "{\"messages\":[{\"role\":\"system\",\"content\":\"Be \\\"brief\\\".\\n\\u00e9\\/\"},{\"role\":\"user\",\"content\":\"héllo ✓ 😀\"}],"
                    + "\"model\":\"openai/gpt-4o\",\"temperature\":0.7,\"top_p\":1,\"n\":1,\"max_tokens\":256,\"user\":\"u-1\"}",
            "{\"model\":\"m\",\"stream\":true,\"max_completion_tokens\":-3,\"max_output_tokens\":null,\"safety_identifier\":\"s\",\"user\":\"u\"}",
            "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}],"
                    + "\"tool_choice\":\"auto\",\"seed\":42,\"stop\":[\"a\",\"b\"],\"logprobs\":false,\"response_format\":{\"type\":\"json_object\"}}",
            "{\"model\":\"m\",\"temperature\":\"hot\"}",
            "{\"model\":\"m\",\"max_tokens\":100.0}",
            "{\"model\":\"m\",\"max_tokens\":1e3,\"n\":2.5}",
            "{\"model\":\"m\",\"max_tokens\":123456789012345678901234567890}",
            "{\"model\":\"m\",\"stream_options\":{\"include_usage\":true}}",
            "{\"model\":\"m\",\"metadata\":{\"user_id\":\"x\"}}",
            "{\"model\":\"m\\u0041\"}",
            "{\"model\":\"\"}",
            "{\"model\":\"  \"}",
            "{\"model\":42}",
            "{\"messages\":[]}",
            "{}",
            "[]",
            "{\"model\":\"m\"} x",
            "{\"model\":\"m\",}",
            "{\"model\":\"m\" \"stream\":true}",
            "{\"model\":\"m\",\"x\":01}",
            "{\"model\":\"m\",\"x\":-}",
            "{\"model\":\"m\",\"x\":tru}",
            "{\"model\":\"m\",\"x\":\"a\tb\"}",
            "{\"model\":\"m\",\"x\":\"\\x\"}",
            "{\"model\":\"m\",\"x\":[1,2,,3]}",
            "{\"model\":\"m\",\"x\":{\"a\":1,\"a\":2}}",
            "{\"model\":\"m\",\"model\":\"n\"}",
            "{\"model\":\"m\",\"x\":\"\\ud83d\\ude00\",\"y\":[true,false,null,-0.5e-3,0,1E+2]}",
            "{\"mod\\u0065l\":\"m\"}",
            "{\"model\":\"m\",\"input\":\"text\",\"dimensions\":8,\"encoding_format\":\"float\"}",
    };

    @Test
    void readsWhatTheParserReadsOrLeavesTheBodyToIt() throws Exception {
        int plain = 0;
        for (String body : BODIES) {
            for (JsonTypes.Table t : TABLES) {
                if (check(body.getBytes(StandardCharsets.UTF_8), t)) plain++;
            }
        }
        assertThat(plain).isGreaterThan(BODIES.length); // most well-formed bodies are read without the parser
        // the common request reads without one
        assertThat(PlainScan.of(BODIES[0].getBytes(StandardCharsets.UTF_8), BODIES[0].length(), JsonTypes.CHAT)).isNotNull();
    }

    @Test
    void randomEditsOfBodiesAreReadAsTheParserReadsThemOrLeftToIt() throws Exception {
        Random r = new Random(12);
        byte[] alphabet = "{}[]\",:0123456789-+.eE tfnrulsa\\u/\n\t\u0001xmodel".getBytes(StandardCharsets.ISO_8859_1);
        int plain = 0;
        for (int round = 0; round < 40_000; round++) {
            byte[] b = BODIES[r.nextInt(BODIES.length)].getBytes(StandardCharsets.UTF_8);
            List<Byte> bytes = new ArrayList<>();
            for (byte x : b) bytes.add(x);
            for (int edits = 1 + r.nextInt(3); edits > 0 && !bytes.isEmpty(); edits--) {
                int at = r.nextInt(bytes.size());
                switch (r.nextInt(4)) {
                    case 0 -> bytes.remove(at);
                    case 1 -> bytes.add(at, alphabet[r.nextInt(alphabet.length)]);
                    case 2 -> bytes.set(at, alphabet[r.nextInt(alphabet.length)]);
                    default -> bytes.set(at, (byte) r.nextInt(256));
                }
            }
            byte[] edited = new byte[bytes.size()];
            for (int i = 0; i < edited.length; i++) edited[i] = bytes.get(i);
            if (check(edited, TABLES[r.nextInt(TABLES.length)])) plain++;
        }
        assertThat(plain).isGreaterThan(1_000);
    }

    /** Whether the plain reading took the body; when it did, it must equal the parser's. */
    private static boolean check(byte[] body, JsonTypes.Table types) throws Exception {
        // Read from a longer array, as from a thread's scratch copy: nothing past the length counts.
        byte[] padded = java.util.Arrays.copyOf(body, body.length + 7);
        java.util.Arrays.fill(padded, body.length, padded.length, (byte) '}');
        RequestScan plain = PlainScan.of(padded, body.length, types);
        if (plain == null) return false;
        RequestScan parsed;
        try {
            parsed = RequestScan.parsed(Unpooled.wrappedBuffer(body), body, types);
        } catch (BadRequestException e) {
            throw new AssertionError("read without the parser, refused by it (" + e.getMessage() + "): "
                    + new String(body, StandardCharsets.UTF_8), e);
        }
        assertThat(plain).as(new String(body, StandardCharsets.UTF_8)).isEqualTo(parsed);
        return true;
    }
}
