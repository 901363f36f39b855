package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BodyEditTest {
    private static final PooledByteBufAllocator POOLED = new PooledByteBufAllocator(true);
    private static final List<ByteBufAllocator> ALLOCATORS = List.of(POOLED, UnpooledByteBufAllocator.DEFAULT);

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ByteBuf body(ByteBufAllocator alloc, String s) {
        ByteBuf buf = alloc.buffer();
        buf.writeBytes(b(s));
        return buf;
    }

    /** Applies and returns the text, checking that releasing the result frees the original. */
    private static String applyAndRelease(BodyEdit edit, ByteBufAllocator alloc, ByteBuf body) {
        assertThat(body.refCnt()).isEqualTo(1);
        ByteBuf out = edit.apply(alloc, body);
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(out.readableBytes()).isEqualTo(b(text).length);
        assertThat(out.release()).isTrue();
        assertThat(out.refCnt()).isZero();
        assertThat(body.refCnt()).as("original buffer fully released").isZero();
        return text;
    }

    @Test
    void noEditsHandsBackTheSameBufferWithoutTouchingItsCount() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            ByteBuf body = body(alloc, "{\"model\":\"m\"}");
            BodyEdit edit = new BodyEdit();
            assertThat(edit.isEmpty()).isTrue();
            ByteBuf out = edit.apply(alloc, body);
            assertThat(out).isSameAs(body);
            assertThat(body.refCnt()).isEqualTo(1);
            out.release();
            assertThat(body.refCnt()).isZero();
        }
    }

    @Test
    void replaceInTheMiddle() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            BodyEdit edit = new BodyEdit().replace(2, 4, b("XYZ"));
            assertThat(edit.isEmpty()).isFalse();
            assertThat(applyAndRelease(edit, alloc, body(alloc, "abcdef"))).isEqualTo("abXYZef");
        }
    }

    @Test
    void insertAtStartMiddleAndEnd() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            assertThat(applyAndRelease(new BodyEdit().insert(0, "<"), alloc, body(alloc, "abc"))).isEqualTo("<abc");
            assertThat(applyAndRelease(new BodyEdit().insert(1, "-"), alloc, body(alloc, "abc"))).isEqualTo("a-bc");
            assertThat(applyAndRelease(new BodyEdit().insert(3, ">"), alloc, body(alloc, "abc"))).isEqualTo("abc>");
            assertThat(applyAndRelease(new BodyEdit().insert(0, "<").insert(3, ">"), alloc, body(alloc, "abc"))).isEqualTo("<abc>");
        }
    }

    @Test
    void editsGivenOutOfOrderAreAppliedByPosition() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            BodyEdit edit = new BodyEdit().replace(8, 9, b("I")).insert(0, "[").replace(2, 3, b("C")).insert(10, "]");
            assertThat(applyAndRelease(edit, alloc, body(alloc, "abcdefghij"))).isEqualTo("[abCdefghIj]");
        }
    }

    @Test
    void twoInsertsAtOnePositionKeepTheirOrder() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            BodyEdit edit = new BodyEdit().insert(1, "1").insert(1, "2").insert(1, "3");
            assertThat(applyAndRelease(edit, alloc, body(alloc, "ab"))).isEqualTo("a123b");
        }
    }

    @Test
    void adjacentReplacementsDeletionAndWholeBody() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            assertThat(applyAndRelease(new BodyEdit().replace(0, 2, b("X")).replace(2, 4, b("Y")), alloc, body(alloc, "abcdef")))
                    .isEqualTo("XYef");
            assertThat(applyAndRelease(new BodyEdit().replace(1, 5, new byte[0]), alloc, body(alloc, "abcdef"))).isEqualTo("af");
            assertThat(applyAndRelease(new BodyEdit().replace(0, 6, b("whole")), alloc, body(alloc, "abcdef"))).isEqualTo("whole");
        }
    }

    @Test
    void replacingTheWholeBodyReleasesTheOriginalAtOnce() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            ByteBuf body = body(alloc, "abcdef");
            ByteBuf out = new BodyEdit().replace(0, 6, b("new")).apply(alloc, body);
            assertThat(body.refCnt()).as("nothing of the original is kept").isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("new");
            out.release();
        }
    }

    @Test
    void resultKeepsTheOriginalAliveUntilReleased() {
        ByteBuf body = body(POOLED, "{\"model\":\"m\",\"messages\":[]}");
        ByteBuf out = new BodyEdit().replace(9, 12, Json.quote("other")).apply(POOLED, body);
        assertThat(body.refCnt()).as("shared slices hold the original").isPositive();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("{\"model\":\"other\",\"messages\":[]}");
        out.release();
        assertThat(body.refCnt()).isZero();
    }

    @Test
    void offsetsAreRelativeToTheReaderIndex() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            ByteBuf body = body(alloc, "HEAD:abcdef");
            body.readerIndex(5);
            assertThat(applyAndRelease(new BodyEdit().replace(0, 1, b("A")).insert(6, "!"), alloc, body)).isEqualTo("Abcdef!");
        }
    }

    @Test
    void callerHoldingAnExtraReferenceKeepsIt() {
        ByteBuf body = body(POOLED, "abcdef");
        body.retain(); // as the gateway does: it hands over one reference and keeps its own
        ByteBuf out = new BodyEdit().insert(3, "-").apply(POOLED, body);
        out.release();
        assertThat(body.refCnt()).isEqualTo(1);
        assertThat(body.toString(StandardCharsets.UTF_8)).isEqualTo("abcdef");
        body.release();
        assertThat(body.refCnt()).isZero();
    }

    /** What the gateway does to a streamed request: rewrite the model and ask for usage. */
    @ParameterizedTest
    @ValueSource(strings = {
            "{\"model\":\"openai/gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
            "{\"stream\":true,\"messages\":[],\"model\":\"openai/gpt-4o\"}",
            "  {  \"model\" : \"openai/gpt-4o\" , \"stream\" : true }  ",
    })
    void modelRewriteCombinedWithUsageInsertIsValidJson(String json) throws Exception {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            ByteBuf body = body(alloc, json);
            RequestScan s = RequestScan.of(body);
            BodyEdit edit = new BodyEdit()
                    .replace(s.modelStart(), s.modelEnd(), Json.quote("gpt-4o"))
                    .insert(s.rootStart() + 1, "\"stream_options\":{\"include_usage\":true},");
            String text = applyAndRelease(edit, alloc, body);
            JsonNode tree = new ObjectMapper().readTree(text);
            assertThat(tree.get("model").asText()).isEqualTo("gpt-4o");
            assertThat(tree.at("/stream_options/include_usage").asBoolean()).isTrue();
            assertThat(tree.get("stream").asBoolean()).isTrue();
        }
    }

    @Test
    void manySplicesStillProduceTheRightBytes() {
        // more components than the composite's initial maximum forces consolidation paths
        StringBuilder src = new StringBuilder();
        for (int i = 0; i < 200; i++) src.append((char) ('a' + i % 26));
        BodyEdit edit = new BodyEdit();
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            if (i % 3 == 0) {
                edit.replace(i, i + 1, b("<" + i + ">"));
                expected.append('<').append(i).append('>');
            } else {
                expected.append(src.charAt(i));
            }
        }
        for (ByteBufAllocator alloc : ALLOCATORS) {
            assertThat(applyAndRelease(edit, alloc, body(alloc, src.toString()))).isEqualTo(expected.toString());
        }
    }
}
