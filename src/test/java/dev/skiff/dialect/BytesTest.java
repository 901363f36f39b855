package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The byte search on heap, direct and composite buffers, around the edges of its copy window. */
class BytesTest {
    private static final byte[] NEEDLE = "\"usage\"".getBytes(StandardCharsets.US_ASCII);

    /** Every kind of buffer the gateway hands the search: heap, pooled direct, and a composite of two. */
    private static final java.util.List<Function<byte[], ByteBuf>> KINDS = java.util.List.of(
            Unpooled::wrappedBuffer,
            bytes -> Unpooled.directBuffer(bytes.length).writeBytes(bytes),
            bytes -> Unpooled.wrappedBuffer(
                    Unpooled.wrappedBuffer(bytes, 0, bytes.length / 2),
                    Unpooled.directBuffer().writeBytes(bytes, bytes.length / 2, bytes.length - bytes.length / 2)));

    /** {@code size} bytes of filler (quotes included, as in JSON) with the needle placed at {@code at}, or nowhere. */
    private static byte[] body(int size, int at) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) b[i] = (byte) (i % 7 == 0 ? '"' : 'u');
        if (at >= 0) System.arraycopy(NEEDLE, 0, b, at, NEEDLE.length);
        return b;
    }

    private static int search(Function<byte[], ByteBuf> kind, byte[] bytes, int from, int to) {
        ByteBuf buf = kind.apply(bytes);
        try {
            return Bytes.indexOf(buf, from, to, NEEDLE);
        } finally {
            buf.release();
        }
    }

    @Test
    void findsTheFirstQuoteOrBackslashAsAPlainSearchDoes() {
        java.util.Random random = new java.util.Random(7);
        byte[] kinds = {'a', '"', '\\', (byte) 0xa2, (byte) 0xdc, 0x21, 0x23, 0x5b, 0x5d, 0, (byte) 0xff};
        for (int run = 0; run < 2000; run++) {
            byte[] a = new byte[random.nextInt(40)];
            for (int i = 0; i < a.length; i++) a[i] = random.nextInt(4) == 0 ? kinds[random.nextInt(kinds.length)] : (byte) ('a' + random.nextInt(26));
            int from = a.length == 0 ? 0 : random.nextInt(a.length + 1), to = from + random.nextInt(a.length - from + 1);
            int plain = -1;
            for (int i = from; i < to && plain < 0; i++) if (a[i] == '"' || a[i] == '\\') plain = i;
            assertThat(Bytes.quoteOrBackslash(a, from, to)).as("%s [%d, %d)", java.util.Arrays.toString(a), from, to).isEqualTo(plain);
        }
    }

    @Test
    void findsMatchesOnEitherSideOfAndAcrossWindowBoundaries() {
        int w = Bytes.WINDOW;
        for (int at : new int[] {0, 1, w - NEEDLE.length, w - 3, w - 1, w, w + 1, 2 * w - 5, 3 * w - 2}) {
            byte[] bytes = body(4 * w, at);
            for (var kind : KINDS) assertThat(search(kind, bytes, 0, bytes.length)).as("needle at %d", at).isEqualTo(at);
        }
    }

    @Test
    void findsTheFirstOfSeveralMatches() {
        byte[] bytes = body(3 * Bytes.WINDOW, Bytes.WINDOW + 10);
        System.arraycopy(NEEDLE, 0, bytes, 2 * Bytes.WINDOW - 2, NEEDLE.length);
        for (var kind : KINDS) {
            assertThat(search(kind, bytes, 0, bytes.length)).isEqualTo(Bytes.WINDOW + 10);
            assertThat(search(kind, bytes, Bytes.WINDOW + 11, bytes.length)).isEqualTo(2 * Bytes.WINDOW - 2);
        }
    }

    @Test
    void findsNothingWhenThereIsNoMatch() {
        for (int size : new int[] {0, 3, NEEDLE.length, 100, Bytes.WINDOW, 5 * Bytes.WINDOW + 17}) {
            byte[] bytes = body(size, -1);
            for (var kind : KINDS) assertThat(search(kind, bytes, 0, bytes.length)).as("size %d", size).isEqualTo(-1);
        }
    }

    @Test
    void findsAMatchEndingExactlyAtTheEndAndNoneCutOffByIt() {
        for (int size : new int[] {NEEDLE.length, 50, Bytes.WINDOW, Bytes.WINDOW + 3, 3 * Bytes.WINDOW - 1}) {
            byte[] bytes = body(size, size - NEEDLE.length);
            for (var kind : KINDS) {
                assertThat(search(kind, bytes, 0, size)).as("size %d", size).isEqualTo(size - NEEDLE.length);
                assertThat(search(kind, bytes, 0, size - 1)).as("cut, size %d", size).isEqualTo(-1);
                assertThat(search(kind, bytes, size - NEEDLE.length + 1, size)).isEqualTo(-1);
            }
        }
    }

    @Test
    void searchesOnlyTheRangeAskedOfASliceWithAnOffset() {
        byte[] bytes = body(2 * Bytes.WINDOW, 40);
        ByteBuf slice = Unpooled.wrappedBuffer(bytes).slice(30, 100);
        assertThat(Bytes.indexOf(slice, 0, 100, NEEDLE)).isEqualTo(10);
        assertThat(Bytes.indexOf(slice, 11, 100, NEEDLE)).isEqualTo(-1);
        ByteBuf direct = Unpooled.directBuffer().writeBytes(bytes);
        try {
            assertThat(Bytes.indexOf(direct.slice(30, 100), 0, 100, NEEDLE)).isEqualTo(10);
        } finally {
            direct.release();
        }
    }

    @Test
    void findsANeedleLongerThanHalfTheWindow() {
        byte[] needle = new byte[Bytes.WINDOW];
        java.util.Arrays.fill(needle, (byte) 'x');
        byte[] bytes = body(3 * Bytes.WINDOW, -1);
        System.arraycopy(needle, 0, bytes, 1500, needle.length);
        ByteBuf buf = Unpooled.directBuffer().writeBytes(bytes);
        try {
            assertThat(Bytes.indexOf(buf, 0, bytes.length, needle)).isEqualTo(1500);
        } finally {
            buf.release();
        }
    }

    @Test
    void aNeedleFindsWhatTheFirstByteSearchFinds() {
        java.util.Random random = new java.util.Random(12);
        byte[] alphabet = "\"usage:ln ,{}".getBytes(StandardCharsets.US_ASCII);
        for (byte[] needle : new byte[][] {NEEDLE, "u".getBytes(StandardCharsets.US_ASCII), "\"\"".getBytes(StandardCharsets.US_ASCII),
                "\"model\":\"gpt-4o-mini\"".getBytes(StandardCharsets.US_ASCII)}) {
            Bytes.Needle n = new Bytes.Needle(needle);
            for (int round = 0; round < 20_000; round++) {
                byte[] a = new byte[random.nextInt(60)];
                for (int i = 0; i < a.length; i++) a[i] = alphabet[random.nextInt(alphabet.length)];
                if (a.length >= needle.length && random.nextBoolean()) {
                    System.arraycopy(needle, 0, a, random.nextInt(a.length - needle.length + 1), needle.length);
                }
                int from = a.length == 0 ? 0 : random.nextInt(a.length), to = from + random.nextInt(a.length - from + 1);
                assertThat(n.in(a, from, to)).as("%s in [%d, %d)", new String(a, StandardCharsets.US_ASCII), from, to)
                        .isEqualTo(Bytes.indexOf(a, from, to, needle));
            }
        }
    }

    @Test
    void aNeedleInABufferFindsWhatTheBytesFindAcrossWindowsAndInSlices() {
        java.util.Random random = new java.util.Random(5);
        byte[] needle = "\"model\"".getBytes(StandardCharsets.US_ASCII);
        Bytes.Needle n = new Bytes.Needle(needle);
        byte[] alphabet = "\"model:, {}".getBytes(StandardCharsets.US_ASCII);
        for (int round = 0; round < 2_000; round++) {
            byte[] a = new byte[random.nextInt(3 * Bytes.WINDOW)];
            for (int i = 0; i < a.length; i++) a[i] = alphabet[random.nextInt(alphabet.length)];
            // a match placed across the first windows' seam now and then
            int at = random.nextBoolean() ? Bytes.WINDOW - random.nextInt(needle.length) : random.nextInt(a.length + 1);
            if (at + needle.length <= a.length) System.arraycopy(needle, 0, a, at, needle.length);
            int from = a.length == 0 ? 0 : random.nextInt(Math.max(1, a.length / 4)), to = a.length - random.nextInt(Math.max(1, (a.length - from) / 4));
            ByteBuf direct = Unpooled.directBuffer(a.length + 1).writeBytes(a);
            ByteBuf heap = Unpooled.buffer(a.length + 3).writeZero(3).writeBytes(a).slice(3, a.length);
            try {
                int expected = Bytes.indexOf(a, from, to, needle);
                assertThat(Bytes.indexOf(direct, from, to, n)).isEqualTo(expected).isEqualTo(Bytes.indexOf(direct, from, to, needle));
                assertThat(Bytes.indexOf(heap, from, to, n)).isEqualTo(expected);
            } finally {
                direct.release();
                heap.release();
            }
        }
    }

    @Test
    void theByteSearchFindsTheFirstOccurrence() {
        java.util.Random random = new java.util.Random(7);
        for (int round = 0; round < 50_000; round++) {
            byte[] a = new byte[random.nextInt(40)];
            for (int i = 0; i < a.length; i++) a[i] = (byte) (random.nextInt(5) == 0 ? '\n' : random.nextInt(256));
            int from = a.length == 0 ? 0 : random.nextInt(a.length), to = from + random.nextInt(a.length - from + 1);
            byte b = random.nextBoolean() ? (byte) '\n' : (byte) random.nextInt(256);
            int expected = -1;
            for (int i = from; i < to; i++) {
                if (a[i] == b) {
                    expected = i;
                    break;
                }
            }
            assertThat(Bytes.indexOf(a, from, to, b)).isEqualTo(expected);
        }
    }
}
