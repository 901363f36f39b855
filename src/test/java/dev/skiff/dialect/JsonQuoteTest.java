package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Json#quote}'s copy of plain values writes what Jackson's encoder writes for them. */
class JsonQuoteTest {
    @Test
    void quotesAsTheEncoderDoes() {
        for (String s : new String[] {"", "gpt-4o-mini", "openai/gpt-4o", "a b/c:d", "say \"hi\"", "back\\slash", "tab\there", "nl\n",
                "\u0000", "\u007f", "é", "模型", "😀", "~!@#$%^&*()_+`-={}[]|;':,.<>?"}) {
            assertThat(Json.quote(s)).as(s).isEqualTo(Json.encoded(s));
        }
        Random r = new Random(3);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int n = r.nextInt(12); n > 0; n--) b.append((char) (r.nextInt(10) == 0 ? r.nextInt(0x3000) : r.nextInt(0x80)));
            String s = b.toString();
            assertThat(Json.quote(s)).as(s).isEqualTo(Json.encoded(s));
        }
    }
}
