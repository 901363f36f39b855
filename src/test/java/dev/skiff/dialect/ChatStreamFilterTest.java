package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChatStreamFilterTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final SseSplitterTest.TrackingAllocator alloc = new SseSplitterTest.TrackingAllocator();

    private static final String USAGE_ONLY = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            + "\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":4,\"total_tokens\":21,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":3,\"audio_tokens\":0},"
            + "\"completion_tokens_details\":{\"reasoning_tokens\":2,\"audio_tokens\":0}},\"obfuscation\":\"ab\"}\n\n";
    private static final Usage EXPECTED = new Usage(17, 4, 21, 3, 2);

    @AfterEach
    void everyBufferReleased() {
        alloc.assertAllReleased();
    }

    /** Filters one event and returns what the client gets (null when dropped), releasing buffers. */
    private String filter(ChatStreamFilter f, String event) {
        // The array form first, at an offset inside the array: what it makes must be what the buffer form makes
        // (the filter's state ends the same: an event seen twice sets the same usage and terminator).
        byte[] bytes = event.getBytes(StandardCharsets.UTF_8);
        byte[] a = new byte[bytes.length + 7];
        System.arraycopy(bytes, 0, a, 3, bytes.length);
        int end = f.filter(a, 3, 3 + bytes.length);
        String fromArray = end < 0 ? null : new String(a, 3, end - 3, StandardCharsets.UTF_8);
        String fromBuffer = filterBuffer(f, event);
        assertThat(fromArray).as("the array form").isEqualTo(fromBuffer);
        return fromBuffer;
    }

    private String filterBuffer(ChatStreamFilter f, String event) {
        ByteBuf in = alloc.of(event);
        ByteBuf out = f.filter(in, alloc);
        if (out == null) {
            assertThat(in.refCnt()).as("a dropped event is released").isZero();
            return null;
        }
        String text = out.toString(StandardCharsets.UTF_8);
        boolean replaced = out != in;
        out.release();
        // A replacement may share the event's memory (slices); once sent, nothing may hold it.
        if (replaced) assertThat(in.refCnt()).as("a replaced event is released with its replacement").isZero();
        return text;
    }

    private static String jsonOf(String event) {
        int data = event.indexOf("data:") + 5;
        return event.substring(data).strip();
    }

    @Test
    void usageOnlyChunkIsCapturedAndDroppedWhenSkiffAskedForIt() {
        ChatStreamFilter f = new ChatStreamFilter(true);
        assertThat(f.usage()).isEqualTo(Usage.NONE);
        assertThat(filter(f, USAGE_ONLY)).isNull();
        assertThat(f.usage()).isEqualTo(EXPECTED);
    }

    @Test
    void usageOnlyChunkIsKeptWhenTheClientAskedForIt() {
        ChatStreamFilter f = new ChatStreamFilter(false);
        ByteBuf in = alloc.of(USAGE_ONLY);
        ByteBuf out = f.filter(in, alloc);
        assertThat(out).isSameAs(in);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(USAGE_ONLY);
        out.release();
        assertThat(f.usage()).isEqualTo(EXPECTED);
    }

    @Test
    void usageOnlyChunkWithCrlfIsDropped() {
        ChatStreamFilter f = new ChatStreamFilter(true);
        assertThat(filter(f, USAGE_ONLY.replace("\n", "\r\n"))).isNull();
        assertThat(f.usage()).isEqualTo(EXPECTED);
    }

    @Test
    void usageOnAChunkWithChoicesIsCapturedButNeverDropped() {
        // Some servers put usage on the last content chunk; dropping it would lose content.
        String event = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\n";
        ChatStreamFilter f = new ChatStreamFilter(true);
        assertThat(filter(f, event)).isEqualTo(event);
        assertThat(f.usage()).isEqualTo(new Usage(5, 1, 6, -1, -1));
    }

    @Test
    void usageAfterEventAndIdLines() {
        ChatStreamFilter f = new ChatStreamFilter(true);
        assertThat(filter(f, "event: chunk\nid: 9\n" + USAGE_ONLY)).isNull();
        assertThat(f.usage()).isEqualTo(EXPECTED);
    }

    @Test
    void dataWithoutSpaceAfterColon() {
        ChatStreamFilter f = new ChatStreamFilter(true);
        assertThat(filter(f, USAGE_ONLY.replace("data: ", "data:"))).isNull();
        assertThat(f.usage()).isEqualTo(EXPECTED);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}",
            "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null,\"obfuscation\":\"xyz\"}",
            "{\"usage\":null,\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}",
            "{\"id\": \"c\", \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"Hi\"}}], \"usage\": null}",
            "{\"id\": \"c\", \"usage\" : null , \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"Hi\"}}]}",
            "{ \"usage\":\tnull ,\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}",
    })
    void usageNullMemberIsRemovedWhenSkiffAskedForUsage(String json) throws Exception {
        String event = "data: " + json + "\n\n";
        ChatStreamFilter f = new ChatStreamFilter(true);
        String out = filter(f, event);
        assertThat(out).startsWith("data: ").endsWith("\n\n").doesNotContain("usage");
        JsonNode got = MAPPER.readTree(jsonOf(out));
        JsonNode expected = MAPPER.readTree(json);
        ((com.fasterxml.jackson.databind.node.ObjectNode) expected).remove("usage");
        assertThat(got).isEqualTo(expected);
        assertThat(f.usage()).isEqualTo(Usage.NONE);
    }

    @Test
    void usageNullRemovalIsByteExactForOpenAiLayout() {
        String original = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],\"obfuscation\":\"x\"}\n\n";
        String withNull = original.replace("],\"obfuscation\"", "],\"usage\":null,\"obfuscation\"");
        assertThat(filter(new ChatStreamFilter(true), withNull)).isEqualTo(original);
    }

    @Test
    void usageNullIsKeptWhenTheClientAskedForUsage() {
        String event = "data: {\"id\":\"c\",\"choices\":[],\"usage\":null}\n\n";
        ChatStreamFilter f = new ChatStreamFilter(false);
        assertThat(filter(f, event)).isEqualTo(event);
    }

    @Test
    void theWordUsageInsideContentIsNotAMember() {
        String event = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"see \\\"usage\\\":null here\"}}]}\n\n";
        ChatStreamFilter f = new ChatStreamFilter(true);
        assertThat(filter(f, event)).isEqualTo(event);
    }

    /**
     * A delta whose content is exactly the token {@code usage} puts the bytes {@code "usage"} before
     * the real member; the member must still be removed.
     */
    @Test
    void usageNullRemovedEvenWhenTheContentIsTheWordUsage() throws Exception {
        String json = "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"usage\"}}],\"usage\":null}";
        ChatStreamFilter f = new ChatStreamFilter(true);
        String out = filter(f, "data: " + json + "\n\n");
        JsonNode got = MAPPER.readTree(jsonOf(out));
        assertThat(got.has("usage")).as("injected usage:null removed").isFalse();
        assertThat(got.at("/choices/0/delta/content").asText()).isEqualTo("usage");
    }

    @ParameterizedTest
    @ValueSource(strings = {"data: [DONE]\n\n", "data:[DONE]\n\n", "data: [DONE]\r\n\r\n"})
    void doneIsDetectedAndPassedOn(String event) {
        ChatStreamFilter f = new ChatStreamFilter(true);
        assertThat(f.sawDone()).isFalse();
        assertThat(filter(f, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n")).isNotNull();
        assertThat(f.sawDone()).isFalse();
        assertThat(filter(f, event)).isEqualTo(event);
        assertThat(f.sawDone()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            ": keep-alive\n\n",
            "\n",
            "\r\n",
            "event: ping\n\n",
            "id: 5\nretry: 1000\n\n",
            ": \"usage\":null\n\n",
            "event: usage\nid: \"usage\":{\"prompt_tokens\":1}\n\n",
    })
    void eventsWithoutDataAreUntouched(String event) {
        for (boolean hide : new boolean[] {true, false}) {
            ChatStreamFilter f = new ChatStreamFilter(hide);
            ByteBuf in = alloc.of(event);
            ByteBuf out = f.filter(in, alloc);
            assertThat(out).isSameAs(in);
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(event);
            out.release();
            assertThat(f.usage()).isEqualTo(Usage.NONE);
            assertThat(f.sawDone()).isFalse();
        }
    }

    @Test
    void ordinaryChunksPassAsTheSameBuffer() {
        String event = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n";
        ChatStreamFilter f = new ChatStreamFilter(true);
        ByteBuf in = alloc.of(event);
        ByteBuf out = f.filter(in, alloc);
        assertThat(out).isSameAs(in);
        out.release();
    }

    @Test
    void laterUsageReplacesEarlierAndMissingUsageDoesNotResetIt() {
        ChatStreamFilter f = new ChatStreamFilter(false);
        filter(f, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\n");
        filter(f, USAGE_ONLY);
        assertThat(f.usage()).isEqualTo(EXPECTED);
        filter(f, "data: {\"choices\":[],\"usage\":null}\n\n");
        filter(f, "data: {\"choices\":[{\"delta\":{}}]}\n\n");
        assertThat(f.usage()).isEqualTo(EXPECTED);
    }

    @Test
    void malformedUsageChunkPassesThrough() {
        String event = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":\n\n";
        ChatStreamFilter f = new ChatStreamFilter(true);
        assertThat(filter(f, event)).isEqualTo(event);
        assertThat(f.usage()).isEqualTo(Usage.NONE);
    }
}
