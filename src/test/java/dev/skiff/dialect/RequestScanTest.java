package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RequestScanTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static ByteBuf buf(String s) {
        return Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.UTF_8));
    }

    private static RequestScan scan(String json) throws BadRequestException {
        ByteBuf b = buf(json);
        try {
            return RequestScan.of(b);
        } finally {
            b.release();
        }
    }

    /** The bytes {@code [start, end)} of {@code body}, decoded. */
    private static String slice(String body, int start, int end) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return new String(bytes, start, end - start, StandardCharsets.UTF_8);
    }

    /** Rewrites the model the way the gateway does and returns the edited body as text. */
    private static String rewriteModel(String body, String newModel) throws Exception {
        ByteBuf b = buf(body);
        RequestScan s = RequestScan.of(b);
        ByteBuf out = new BodyEdit().replace(s.modelStart(), s.modelEnd(), Json.quote(newModel)).apply(ByteBufAllocator.DEFAULT, b);
        try {
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            out.release();
            assertThat(b.refCnt()).isZero();
        }
    }

    private static JsonNode parse(String json) throws Exception {
        return MAPPER.readTree(json);
    }

    // ---- model and its offsets ------------------------------------------------------------

    @Test
    void findsModelAndItsExactValueOffsets() throws Exception {
        String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        RequestScan s = scan(body);
        assertThat(s.model()).isEqualTo("gpt-4o");
        assertThat(s.rootStart()).isZero();
        assertThat(slice(body, s.modelStart(), s.modelEnd())).isEqualTo("\"gpt-4o\"");
        assertThat(s.stream()).isFalse();
        assertThat(s.streamOptionsStart()).isEqualTo(-1);
        assertThat(s.includeUsage()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"model\":\"m\"}",
            "{ \"model\" : \"m\" }",
            "\n\t {\n  \"messages\": [ {\"role\":\"user\",\"content\":\"a, \\\"model\\\": \\\"x\\\"\"} ],\n  \"model\"  :\t\"m\"\n}\n",
            "{\"temperature\":0.5,\"model\":\"m\",\"stream\":false}",
            "{\"nested\":{\"model\":\"not-this\"},\"model\":\"m\"}",
    })
    void rewritingTheModelYieldsValidJson(String body) throws Exception {
        RequestScan s = scan(body);
        assertThat(s.model()).isEqualTo("m");
        assertThat(slice(body, s.modelStart(), s.modelEnd())).isEqualTo("\"m\"");

        String rewritten = rewriteModel(body, "provider-model-\"quoted\"");
        JsonNode tree = parse(rewritten);
        assertThat(tree.get("model").asText()).isEqualTo("provider-model-\"quoted\"");
        // everything else is as it was
        JsonNode before = parse(body);
        ((com.fasterxml.jackson.databind.node.ObjectNode) before).put("model", "provider-model-\"quoted\"");
        assertThat(tree).isEqualTo(before);
    }

    @Test
    void offsetsAreBytesNotCharsWhenNonAsciiPrecedesTheModel() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"héllo 世界 😀 ünïcödé\"}],\"model\":\"gpt-4o\"}";
        RequestScan s = scan(body);
        assertThat(s.model()).isEqualTo("gpt-4o");
        assertThat(slice(body, s.modelStart(), s.modelEnd())).isEqualTo("\"gpt-4o\"");
        assertThat(parse(rewriteModel(body, "other")).get("model").asText()).isEqualTo("other");
        assertThat(parse(rewriteModel(body, "other")).at("/messages/0/content").asText()).isEqualTo("héllo 世界 😀 ünïcödé");
    }

    @Test
    void unicodeModelName() throws Exception {
        String body = "{\"model\":\"模型-ü-😀\",\"messages\":[]}";
        RequestScan s = scan(body);
        assertThat(s.model()).isEqualTo("模型-ü-😀");
        assertThat(slice(body, s.modelStart(), s.modelEnd())).isEqualTo("\"模型-ü-😀\"");
        assertThat(parse(rewriteModel(body, "ascii")).get("model").asText()).isEqualTo("ascii");
        assertThat(parse(rewriteModel("{\"model\":\"a\"}", "模型-😀")).get("model").asText()).isEqualTo("模型-😀");
    }

    @Test
    void escapedModelNameIsDecodedAndItsWholeLiteralIsCovered() throws Exception {
        String literal = "\"gpt\\u002d4\\\"x\\\\ \\u00e9\\/\"";
        String body = "{\"model\":" + literal + ",\"n\":1}";
        RequestScan s = scan(body);
        assertThat(s.model()).isEqualTo("gpt-4\"x\\ é/");
        assertThat(slice(body, s.modelStart(), s.modelEnd())).isEqualTo(literal);
        JsonNode tree = parse(rewriteModel(body, "m2"));
        assertThat(tree.get("model").asText()).isEqualTo("m2");
        assertThat(tree.get("n").asInt()).isEqualTo(1);
    }

    @Test
    void offsetsStayExactAcrossTheParsersInputBufferBoundaries() throws Exception {
        // Jackson reads an InputStream in blocks of a few KB: put the model value across every
        // position around the first block boundaries.
        for (int pad = 3950; pad < 4050; pad++) {
            for (int base : new int[] {0, 4000, 12000}) {
                String padding = "x".repeat(pad + base);
                String body = "{\"p\":\"" + padding + "\",\"model\":\"some-model-name\",\"q\":2}";
                RequestScan s = scan(body);
                assertThat(slice(body, s.modelStart(), s.modelEnd())).as("pad %d", pad + base).isEqualTo("\"some-model-name\"");
            }
        }
    }

    @Test
    void offsetsAreRelativeToTheReaderIndex() throws Exception {
        byte[] json = "{\"model\":\"m\",\"stream\":true}".getBytes(StandardCharsets.UTF_8);
        ByteBuf b = Unpooled.buffer();
        b.writeBytes("GARBAGE".getBytes(StandardCharsets.US_ASCII)).writeBytes(json);
        b.readerIndex(7);
        RequestScan s = RequestScan.of(b);
        assertThat(s.rootStart()).isZero();
        assertThat(s.modelStart()).isEqualTo(9);
        ByteBuf out = new BodyEdit().replace(s.modelStart(), s.modelEnd(), Json.quote("other"))
                .insert(s.rootStart() + 1, "\"stream_options\":{\"include_usage\":true},")
                .apply(ByteBufAllocator.DEFAULT, b);
        String text = out.toString(StandardCharsets.UTF_8);
        out.release();
        assertThat(b.refCnt()).isZero();
        JsonNode tree = parse(text);
        assertThat(tree.get("model").asText()).isEqualTo("other");
        assertThat(tree.at("/stream_options/include_usage").asBoolean()).isTrue();
    }

    @Test
    void scansACompositeBodySplitInsideTheModelValue() throws Exception {
        String body = "{\"messages\":[],\"model\":\"split-model\"}";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        for (int cut = 1; cut < bytes.length; cut++) {
            CompositeByteBuf c = Unpooled.compositeBuffer();
            c.addComponent(true, Unpooled.wrappedBuffer(bytes, 0, cut));
            c.addComponent(true, Unpooled.wrappedBuffer(bytes, cut, bytes.length - cut));
            RequestScan s = RequestScan.of(c);
            assertThat(s.model()).isEqualTo("split-model");
            assertThat(slice(body, s.modelStart(), s.modelEnd())).isEqualTo("\"split-model\"");
            c.release();
        }
    }

    @Test
    void leadingWhitespaceMovesTheRootStart() throws Exception {
        String body = " \r\n\t{\"model\":\"m\",\"stream\":true}";
        RequestScan s = scan(body);
        assertThat(s.rootStart()).isEqualTo(4);
        ByteBuf b = buf(body);
        ByteBuf out = new BodyEdit().insert(s.rootStart() + 1, "\"stream_options\":{\"include_usage\":true},").apply(ByteBufAllocator.DEFAULT, b);
        JsonNode tree = parse(out.toString(StandardCharsets.UTF_8));
        out.release();
        assertThat(tree.at("/stream_options/include_usage").asBoolean()).isTrue();
        assertThat(tree.get("stream").asBoolean()).isTrue();
    }

    // ---- stream and stream_options ---------------------------------------------------------

    @Test
    void streamFlag() throws Exception {
        assertThat(scan("{\"model\":\"m\",\"stream\":true}").stream()).isTrue();
        assertThat(scan("{\"model\":\"m\",\"stream\":false}").stream()).isFalse();
        assertThat(scan("{\"model\":\"m\",\"stream\":null}").stream()).isFalse();
        assertThat(scan("{\"model\":\"m\"}").stream()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"true\"", "1", "{}", "[]"})
    void nonBooleanStreamIsRejectedNamingStream(String value) {
        assertThatThrownBy(() -> scan("{\"model\":\"m\",\"stream\":" + value + "}"))
                .isInstanceOf(BadRequestException.class)
                .satisfies(e -> assertThat(((BadRequestException) e).param()).isEqualTo("stream"));
    }

    @Test
    void includeUsageOffsetsCoverTheLiteral() throws Exception {
        String t = "{\"model\":\"m\",\"stream\":true,\"stream_options\": { \"include_usage\" : true }}";
        RequestScan st = scan(t);
        assertThat(st.includeUsage()).isTrue();
        assertThat(slice(t, st.includeUsageStart(), st.includeUsageEnd())).isEqualTo("true");
        assertThat(st.streamOptionsIsObject()).isTrue();
        assertThat(st.streamOptionsEmpty()).isFalse();
        assertThat(slice(t, st.streamOptionsStart(), st.streamOptionsEnd())).isEqualTo("{ \"include_usage\" : true }");

        String f = "{\"model\":\"m\",\"stream_options\":{\"x\":[1,{\"y\":2}],\"include_usage\":false},\"stream\":true}";
        RequestScan sf = scan(f);
        assertThat(sf.includeUsage()).isFalse();
        assertThat(slice(f, sf.includeUsageStart(), sf.includeUsageEnd())).isEqualTo("false");
        assertThat(slice(f, sf.streamOptionsStart(), sf.streamOptionsEnd())).isEqualTo("{\"x\":[1,{\"y\":2}],\"include_usage\":false}");
        ByteBuf b = buf(f);
        ByteBuf out = new BodyEdit().replace(sf.includeUsageStart(), sf.includeUsageEnd(), "true".getBytes(StandardCharsets.US_ASCII))
                .apply(ByteBufAllocator.DEFAULT, b);
        JsonNode tree = parse(out.toString(StandardCharsets.UTF_8));
        out.release();
        assertThat(tree.at("/stream_options/include_usage").asBoolean()).isTrue();
        assertThat(tree.at("/stream_options/x/1/y").asInt()).isEqualTo(2);
    }

    @Test
    void emptyAndNonEmptyStreamOptionsObjects() throws Exception {
        String empty = "{\"model\":\"m\",\"stream_options\":{ }}";
        RequestScan e = scan(empty);
        assertThat(e.streamOptionsIsObject()).isTrue();
        assertThat(e.streamOptionsEmpty()).isTrue();
        assertThat(e.includeUsage()).isNull();
        assertThat(slice(empty, e.streamOptionsStart(), e.streamOptionsEnd())).isEqualTo("{ }");

        String other = "{\"model\":\"m\",\"stream_options\":{\"include_obfuscation\":false}}";
        RequestScan o = scan(other);
        assertThat(o.streamOptionsEmpty()).isFalse();
        assertThat(o.includeUsage()).isNull();
        assertThat(o.includeUsageStart()).isEqualTo(-1);
    }

    /**
     * A {@code stream_options} that is not an object is replaced whole by the gateway, so its span
     * must cover exactly the value.
     */
    @ParameterizedTest
    @ValueSource(strings = {"null", "true", "12345", "-1.5e3", "[1, 2, {\"a\": 3}]"})
    void nonObjectStreamOptionsSpanCoversTheWholeValue(String value) throws Exception {
        assertStreamOptionsSpanIsReplaceable(value);
    }

    /**
     * Jackson reads strings lazily: after {@code skipChildren()} on a string the parser still sits
     * just past the opening quote, so the recorded end is wrong and the gateway's replacement of
     * {@code stream_options} leaves the rest of the string behind (invalid JSON goes upstream).
     */
    @Test
    void stringStreamOptionsSpanCoversTheWholeValue() throws Exception {
        assertStreamOptionsSpanIsReplaceable("\"a string\"");
    }

    private static void assertStreamOptionsSpanIsReplaceable(String value) throws Exception {
        String body = "{\"model\":\"m\",\"stream\":true,\"stream_options\":" + value + ",\"n\":1}";
        RequestScan s = scan(body);
        assertThat(s.streamOptionsIsObject()).isFalse();
        assertThat(slice(body, s.streamOptionsStart(), s.streamOptionsEnd())).isEqualTo(value);
        ByteBuf b = buf(body);
        ByteBuf out = new BodyEdit().replace(s.streamOptionsStart(), s.streamOptionsEnd(),
                "{\"include_usage\":true}".getBytes(StandardCharsets.US_ASCII)).apply(ByteBufAllocator.DEFAULT, b);
        String text = out.toString(StandardCharsets.UTF_8);
        out.release();
        JsonNode tree = parse(text);
        assertThat(tree.at("/stream_options/include_usage").asBoolean()).isTrue();
        assertThat(tree.get("n").asInt()).isEqualTo(1);
    }

    // ---- what the client must fix ------------------------------------------------------------

    private static BadRequestException rejected(String body) {
        try {
            scan(body);
        } catch (BadRequestException e) {
            return e;
        }
        throw new AssertionError("accepted: " + body);
    }

    @Test
    void missingModelNamesModel() {
        BadRequestException e = rejected("{\"messages\":[]}");
        assertThat(e.param()).isEqualTo("model");
        assertThat(e.getMessage()).contains("model");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "null", "true", "{}", "[\"m\"]", "\"\"", "\"   \""})
    void nonStringOrBlankModelNamesModel(String value) {
        BadRequestException e = rejected("{\"model\":" + value + ",\"messages\":[]}");
        assertThat(e.param()).isEqualTo("model");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"model\":",
            "{\"model\":\"m\"",
            "{\"model\":\"m\",}",
            "{model:\"m\"}",
            "{\"model\":\"m\" \"x\":1}",
            "{\"model\":\"unterminated}",
    })
    void malformedJsonIsABadRequestWithoutParam(String body) {
        BadRequestException e = rejected(body);
        assertThat(e.param()).isNull();
        assertThat(e.getMessage()).isNotBlank();
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"model\":\"m\"} x", "{\"model\":\"m\"}{}", "{\"model\":\"m\"} [1]", "{\"model\":\"m\"}\"s\"", "{\"model\":\"m\"}}"})
    void trailingGarbageIsRejected(String body) {
        BadRequestException e = rejected(body);
        assertThat(e.param()).isNull();
    }

    @Test
    void trailingWhitespaceIsFine() throws Exception {
        assertThat(scan("{\"model\":\"m\"} \r\n\t ").model()).isEqualTo("m");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[]", "[{\"model\":\"m\"}]", "\"m\"", "1", "null", "true"})
    void nonObjectRootIsRejected(String body) {
        BadRequestException e = rejected(body);
        assertThat(e.param()).isNull();
        assertThat(e.getMessage()).containsIgnoringCase("object");
    }

    @Test
    void emptyBodyIsRejected() {
        assertThatThrownBy(() -> RequestScan.of(Unpooled.EMPTY_BUFFER)).isInstanceOf(BadRequestException.class);
        assertThat(rejected("   ").param()).isNull();
    }

    @Test
    void theLargestAnswerAskedForIsKeptForLimits() throws Exception {
        assertThat(scan("{\"model\":\"m\"}").maxTokens()).isEqualTo(-1);
        assertThat(scan("{\"model\":\"m\",\"max_tokens\":512}").maxTokens()).isEqualTo(512);
        assertThat(scan("{\"max_completion_tokens\":64,\"model\":\"m\",\"max_tokens\":32}").maxTokens()).isEqualTo(64);
        assertThat(scan("{\"model\":\"m\",\"max_output_tokens\":\"lots\"}").maxTokens()).isEqualTo(-1);
    }

    @Test
    void endUserIsTakenFromSafetyIdentifierThenUserThenMetadata() throws Exception {
        assertThat(scan("{\"model\":\"m\",\"user\":\"u1\",\"safety_identifier\":\"s1\"}").endUser()).isEqualTo("s1");
        assertThat(scan("{\"model\":\"m\",\"user\":\"u1\",\"metadata\":{\"user_id\":\"m1\"}}").endUser()).isEqualTo("u1");
        assertThat(scan("{\"metadata\":{\"a\":{\"user_id\":\"deep\"},\"user_id\":\"m1\"},\"model\":\"m\"}").endUser()).isEqualTo("m1");
        assertThat(scan("{\"model\":\"m\",\"user\":5,\"metadata\":{\"user_id\":null}}").endUser()).isNull();
        assertThat(scan("{\"model\":\"m\",\"messages\":[{\"user\":\"not top-level\"}]}").endUser()).isNull();
    }
}
