package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class StreamingModelScanTest {
    private static String scan(String json, int piece) {
        StreamingModelScan s = new StreamingModelScan();
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i += piece) {
            ByteBuf b = Unpooled.directBuffer().writeBytes(bytes, i, Math.min(piece, bytes.length - i));
            s.feed(b);
            b.release();
        }
        s.close();
        return s.model();
    }

    @Test
    void findsTheTopLevelModelWhereverItIsAndHoweverTheBodyIsCut() {
        String first = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        String last = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"model\":\"not-this\"}],\"stream\":true,\"model\":\"claude-sonnet-4\"}";
        for (int piece : new int[] {1, 3, 7, 1000}) {
            assertThat(scan(first, piece)).isEqualTo("gpt-4o-mini");
            assertThat(scan(last, piece)).isEqualTo("claude-sonnet-4");
        }
    }

    @Test
    void nothingWhenAbsentOrNotJson() {
        assertThat(scan("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}", 5)).isNull();
        assertThat(scan("[{\"model\":\"x\"}]", 5)).isNull();
        assertThat(scan("model=x&y=z", 5)).isNull();
        assertThat(scan("{\"model\":42}", 5)).isNull();
    }
}
