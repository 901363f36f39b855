package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Json#quote}'s copy of plain values writes what Jackson's encoder writes for them. */
class JsonQuoteTest {
    private static byte[] encoder(String s) {
        byte[] inner = JsonStringEncoder.getInstance().quoteAsUTF8(s);
        byte[] out = new byte[inner.length + 2];
        out[0] = '"';
        System.arraycopy(inner, 0, out, 1, inner.length);
        out[out.length - 1] = '"';
        return out;
    }

    @Test
    void quotesAsTheEncoderDoes() {
        for (String s : new String[] {"", "gpt-4o-mini", "openai/gpt-4o", "a b/c:d", "say \"hi\"", "back\\slash", "tab\there", "nl\n",
                "\u0000", "\u007f", "é", "模型", "😀", "~!@#$%^&*()_+`-={}[]|;':,.<>?"}) {
            assertThat(Json.quote(s)).as(s).isEqualTo(encoder(s));
        }
        Random r = new Random(3);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int n = r.nextInt(12); n > 0; n--) b.append((char) (r.nextInt(10) == 0 ? r.nextInt(0x3000) : r.nextInt(0x80)));
            String s = b.toString();
            assertThat(Json.quote(s)).as(s).isEqualTo(encoder(s));
        }
    }
}
