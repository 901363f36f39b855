package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.testing.Recorded;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The scan that finds a chat answer's usage without parsing its choices reads what a full parse reads. */
class OpenAiUsageTest {
    private static OpenAiUsage.Found scan(String json, boolean direct) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        ByteBuf b = direct ? Unpooled.directBuffer(bytes.length).writeBytes(bytes) : Unpooled.wrappedBuffer(bytes);
        try {
            return OpenAiUsage.scan(b);
        } finally {
            b.release();
        }
    }

    private static OpenAiUsage.Found parsed(String json) {
        ByteBuf b = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
        try {
            return OpenAiUsage.tokenized(b);
        } finally {
            b.release();
        }
    }

    private static void sameAsAParse(String json) {
        OpenAiUsage.Found expected = parsed(json);
        assertThat(scan(json, false)).as(json).isEqualTo(expected);
        assertThat(scan(json, true)).as(json).isEqualTo(expected);
    }

    @Test
    void recordedAnswersAndStreamChunksReadAsAParseReadsThem() throws Exception {
        List<String> docs = new ArrayList<>();
        try (Stream<Path> files = Files.list(Recorded.ROOT.resolve("openai"))) {
            for (Path p : files.sorted().toList()) {
                String text = Files.readString(p);
                if (p.toString().endsWith(".json")) docs.add(text);
                for (String line : text.split("\n")) if (line.startsWith("data: {")) docs.add(line.substring(6));
            }
        }
        assertThat(docs).hasSizeGreaterThan(10);
        for (String d : docs) sameAsAParse(d);
        assertThat(scan(Files.readString(Recorded.ROOT.resolve("openai/chat_completion.json")), true).usage().promptTokens()).isEqualTo(17);
    }

    @Test
    void onlyTheTopLevelUsageCountsAndTheLastOfTwo() {
        sameAsAParse("{\"choices\":[{\"usage\":{\"prompt_tokens\":99}}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}");
        sameAsAParse("{\"usage\":{\"prompt_tokens\":1},\"x\":{\"usage\":{\"prompt_tokens\":5}},\"usage\":{\"prompt_tokens\":3}}");
        sameAsAParse("{\"usage\":{\"prompt_tokens\":1},\"usage\":null}");
        sameAsAParse("{\"note\":\"usage\",\"text\":\"say \\\"usage\\\": {\\\"prompt_tokens\\\": 7}\",\"usage\":{\"total_tokens\":4}}");
        sameAsAParse("{\"nested\":{\"a\":[\"usage\",{\"usage\":{\"prompt_tokens\":8}}]},\"usage\" : { \"prompt_tokens\" : 6 } }");
        assertThat(scan("{\"x\":[{\"usage\":{\"prompt_tokens\":99}}]}", true).usage()).isEqualTo(Usage.NONE);
    }

    @Test
    void emptyChoicesAreToldApartFromFullOnes() {
        sameAsAParse("{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}");
        sameAsAParse("{\"choices\":[ ],\"usage\":null}");
        sameAsAParse("{\"choices\":[{\"index\":0}]}");
        sameAsAParse("{\"choices\":null}");
        assertThat(scan("{\"choices\": [\n],\"usage\":{\"prompt_tokens\":1}}", false).choicesEmpty()).isTrue();
    }

    @Test
    void whatIsNotOneCompleteObjectIsLeftToTheParse() {
        for (String s : new String[] {"", "[]", "42", "{\"usage\":{\"prompt_tokens\":1}", "{\"usage\":{\"prompt_tokens\":1}} trailing",
                "{\"usage\":{\"prompt_tokens\":1}} {}", "{\"a\":\"unterminated", "  {\"usage\":{\"prompt_tokens\":2}}  \n", "{\"usage\":{\"prompt_tokens\":x}}"}) {
            sameAsAParse(s);
        }
    }

    @Test
    void aBodyLargerThanTheCopyIsParsedWhereItLies() {
        String big = "{\"choices\":[{\"message\":{\"content\":\"" + "x".repeat(Bytes.MAX_COPY) + "\"}}],\"usage\":{\"prompt_tokens\":3}}";
        assertThat(scan(big, true).usage().promptTokens()).isEqualTo(3);
        assertThat(scan(big, false).usage().promptTokens()).isEqualTo(3);
    }
}
