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
    void usageObjectsOfEveryShapeReadAsAParseReadsThem() {
        String[] usages = {
            "{}", "{ }", "{\"prompt_tokens\":0}", "{\"prompt_tokens\":-0}", "{\"prompt_tokens\":-3}", "{\"prompt_tokens\":007}",
            "{\"prompt_tokens\":12.0}", "{\"prompt_tokens\":1e3}", "{\"prompt_tokens\":123456789012345678}",
            "{\"prompt_tokens\":1234567890123456789}", "{\"prompt_tokens\":99999999999999999999}", "{\"prompt_tokens\":-}",
            "{\"prompt_tokens\":null,\"completion_tokens\":true,\"total_tokens\":\"7\"}", "{\"prompt_tokens\":nul}",
            "{\"prompt_tokens\":1,\"prompt_tokens\":2}", "{\"prompt_tokens\":1,\"prompt_tokens\":\"x\"}",
            "{\"input_tokens\":5,\"output_tokens\":6,\"total_tokens\":11}",
            "{ \"prompt_tokens\" : 19 ,\n \"completion_tokens\"\t:\r10, \"total_tokens\": 29 }",
            "{\"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":2,"
                    + "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}",
            "{\"input_tokens_details\":{},\"output_tokens_details\":{\"reasoning_tokens\":null}}",
            "{\"prompt_tokens_details\":null,\"completion_tokens_details\":7}", "{\"prompt_tokens_details\":[1]}",
            "{\"prompt_tokens_details\":{\"cached_tokens\":1,\"cached_tokens\":2}}", "{\"prompt_tokens_details\":{\"cached_tokens\":1},\"prompt_tokens_details\":{}}",
            "{\"prompt_tokens_details\":{\"cached_tokens\":1,\"deep\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}}}",
            "{\"other\":{\"a\":\"b\",\"c\":[1,2]},\"prompt_tokens\":3}", "{\"other\":\"caf\u00e9\",\"prompt_tokens\":3}",
            "{\"other\":\"café\",\"prompt_tokens\":3}", "{\"prompt\\u005ftokens\":3}", "{\"\":1,\"prompt_tokens\":3}",
            "{\"prompt_tokens\":3,}", "{\"prompt_tokens\" 3}", "{\"prompt_tokens\":3 \"total_tokens\":4}", "{\"prompt_tokens\":3]",
            "{\"prompt_tokens\":3x}", "{\"prompt_tokens\":+3}", "{\"cost\":0.25,\"prompt_tokens\":3}", "{\"prompt_tokens\":3,\"z\":false}",
        };
        for (String u : usages) {
            sameAsAParse("{\"choices\":[],\"usage\":" + u + "}");
            sameAsAParse("{\"id\":\"x\",\"usage\":" + u + ",\"tail\":1}");
        }
        assertThat(scan("{\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":4},\"completion_tokens_details\":{\"reasoning_tokens\":2}}}", true).usage())
                .isEqualTo(new Usage(19, 10, 29, 4, 2));
        // The common shapes are read without a parser; the rest is left to it.
        assertThat(plain("{\"prompt_tokens\":19,\"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0}}")).isEqualTo(new Usage(19, -1, -1, 4, -1));
        assertThat(plain("{\"prompt\\u005ftokens\":3}")).isNull();
        assertThat(plain("{\"prompt_tokens\":12.0}")).isNull();
    }

    private static Usage plain(String usage) {
        byte[] a = usage.getBytes(StandardCharsets.UTF_8);
        return new OpenAiUsage.PlainUsage(a, 0, a.length).read();
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
