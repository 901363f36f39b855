package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AnswerModelTest {
    private static final ByteBufAllocator ALLOC = new PooledByteBufAllocator(true);
    private final AnswerModel model = new AnswerModel("anthropic/claude-sonnet-4-5");

    private static ByteBuf buf(String s) {
        ByteBuf b = ALLOC.buffer();
        b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        return b;
    }

    private String body(String json) {
        ByteBuf out = model.body(buf(json), ALLOC);
        try {
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            assertThat(out.release()).as("the result owns every byte it holds").isTrue();
        }
    }

    private final AnswerModel arrayModel = new AnswerModel("anthropic/claude-sonnet-4-5"); // the same events, in arrays

    private String event(String sse) {
        // The array form, at an offset inside the array, must make what the buffer form makes.
        byte[] bytes = sse.getBytes(StandardCharsets.UTF_8);
        byte[] a = new byte[5 + bytes.length + arrayModel.growth()];
        System.arraycopy(bytes, 0, a, 5, bytes.length);
        int end = arrayModel.event(a, 5, 5 + bytes.length);
        ByteBuf out = model.event(buf(sse), ALLOC);
        try {
            String text = out.toString(StandardCharsets.UTF_8);
            assertThat(new String(a, 5, end - 5, StandardCharsets.UTF_8)).as("the array form").isEqualTo(text);
            assertThat(arrayModel.providerModel()).isEqualTo(model.providerModel());
            return text;
        } finally {
            assertThat(out.release()).isTrue();
        }
    }

    @Test
    void theProvidersModelIsNotedFromTheBytesSearchedAnyway() {
        assertThat(model.providerModel()).isNull();
        body("{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[]}");
        assertThat(model.providerModel()).isEqualTo("claude-sonnet-4-5-20250929");

        AnswerModel same = new AnswerModel("gpt-4o-mini");
        ByteBuf named = buf("{\"model\":\"gpt-4o-mini\",\"choices\":[]}");
        assertThat(same.body(named, ALLOC)).isSameAs(named); // no parse: every member already has the client's name
        named.release();
        assertThat(same.providerModel()).isEqualTo("gpt-4o-mini");

        AnswerModel none = new AnswerModel("gpt-4o-mini");
        none.body(buf("{\"data\":[{\"embedding\":[0.1]}]}"), ALLOC).release();
        assertThat(none.providerModel()).isNull();

        AnswerModel escaped = new AnswerModel("x");
        escaped.body(buf("{\"model\":\"a\\u002Fb\"}"), ALLOC).release();
        assertThat(escaped.providerModel()).isEqualTo("a/b");
    }

    @Test
    void aStreamsModelIsNotedFromItsFirstEventThatNamesOne() {
        AnswerModel m = new AnswerModel("gpt-4o-mini");
        m.event(buf("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"), ALLOC).release();
        assertThat(m.providerModel()).isNull();
        m.event(buf("data: {\"id\":\"c\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[]}\n\n"), ALLOC).release();
        m.event(buf("data: {\"id\":\"c\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[]}\n\n"), ALLOC).release();
        assertThat(m.providerModel()).isEqualTo("gpt-4o-mini-2024-07-18");
    }

    @Test
    void onlyTheTopLevelModelValueChanges() {
        String answer = "{\"id\":\"msg_1\",\"model\" : \"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":\"tool_use\","
                + "\"input\":{\"model\":\"gpt-4o\"}}],\"future\":{\"model\":\"x\"}}";
        assertThat(body(answer)).isEqualTo(answer.replace("\"claude-sonnet-4-5-20250929\"", "\"anthropic/claude-sonnet-4-5\""));
    }

    @Test
    void aModelAfterLargeContentIsStillFound() {
        String answer = "{\"output\":[{\"type\":\"message\",\"content\":[{\"text\":\"the \\\"model\\\":\\\"x\\\" text\"}]}],\"model\":\"gpt-4o\"}";
        assertThat(body(answer)).isEqualTo(answer.replace("\"gpt-4o\"", "\"anthropic/claude-sonnet-4-5\""));
    }

    @Test
    void anAnswerAlreadyNamingTheClientsModelOrNoneIsTheSameBuffer() {
        ByteBuf same = buf("{\"model\":\"anthropic/claude-sonnet-4-5\"}");
        assertThat(model.body(same, ALLOC)).isSameAs(same);
        same.release();
        ByteBuf none = buf("{\"data\":[{\"embedding\":[0.1]}]}");
        assertThat(model.body(none, ALLOC)).isSameAs(none);
        none.release();
        ByteBuf notJson = buf("<html>oops</html>");
        assertThat(model.body(notJson, ALLOC)).isSameAs(notJson);
        notJson.release();
    }

    @Test
    void messageStartAndResponseEventsAndChatChunks() {
        assertThat(event("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-sonnet-4-5\",\"content\":[]}}\n\n"))
                .isEqualTo("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"anthropic/claude-sonnet-4-5\",\"content\":[]}}\n\n");
        assertThat(event("event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"r\",\"model\":\"gpt-4o\"}}\n\n"))
                .contains("\"response\":{\"id\":\"r\",\"model\":\"anthropic/claude-sonnet-4-5\"}}");
        assertThat(event("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[]}\n\n"))
                .isEqualTo("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"anthropic/claude-sonnet-4-5\",\"choices\":[]}\n\n");
    }

    @Test
    void eventsWithoutAModelPassUntouched() {
        String delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"a \\\"model\\\": b\"}}\n\n";
        ByteBuf in = buf(delta);
        assertThat(model.event(in, ALLOC)).isSameAs(in);
        in.release();
        ByteBuf done = buf("data: [DONE]\n\n");
        assertThat(model.event(done, ALLOC)).isSameAs(done);
        done.release();
        // a tool's input that happens to hold a "model" member is data, not the answer's model
        String toolStart = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"content_block\":{\"input\":{\"model\":\"x\"}}}\n\n";
        assertThat(event(toolStart)).isEqualTo(toolStart);
    }

    @Test
    void laterChunksOfAStreamAreRenamedByTheMemberTheFirstOneHad() {
        AnswerModel stream = new AnswerModel("openai/gpt-4o");
        String first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\": \"gpt-4o-2024-08-06\",\"choices\":[]}\n\n";
        String later = "data: {\"id\":\"c\",\"model\": \"gpt-4o-2024-08-06\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n";
        String other = "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[]}\n\n";
        for (String in : new String[] {first, later, later, other, later}) {
            ByteBuf out = stream.event(buf(in), ALLOC);
            try {
                assertThat(out.toString(StandardCharsets.UTF_8))
                        .isEqualTo(in.replaceFirst("\"model\": ?\"[^\"]*\"", "\"model\": \"openai/gpt-4o\"".replace(": ", in.contains("\"model\": ") ? ": " : ":")));
            } finally {
                assertThat(out.release()).isTrue();
            }
        }
    }

    @Test
    void anAnswerIsLeftUnparsedOnlyWhenEveryModelMemberHasTheClientsName() {
        // a nested member with the client's name does not hide a top-level one to rename
        String nested = "{\"content\":[{\"input\":{\"model\":\"anthropic/claude-sonnet-4-5\"}}],\"model\":\"claude-x\"}";
        assertThat(body(nested)).isEqualTo(nested.replace("\"claude-x\"", "\"anthropic/claude-sonnet-4-5\""));
        // a longer name that starts with the client's is another name
        String longer = "{\"model\":\"anthropic/claude-sonnet-4-5-x\"}";
        assertThat(body(longer)).isEqualTo("{\"model\":\"anthropic/claude-sonnet-4-5\"}");
        // "model" as a value, and as text, is not a member
        ByteBuf same = buf("{\"object\":\"model\",\"model\" : \"anthropic/claude-sonnet-4-5\",\"t\":\"a \\\"model\\\": b\"}");
        assertThat(model.body(same, ALLOC)).isSameAs(same);
        same.release();
    }

    @Test
    void aStreamWhoseModelChangesIsRenamedEventByEvent() {
        for (String name : new String[] {"gpt-4o", "gpt-4o-2024-08-06", "gpt-4o", "anthropic/claude-sonnet-4-5", "x"}) {
            String sse = "data: {\"id\":\"c\",\"model\":\"" + name + "\",\"choices\":[{\"delta\":{\"content\":\"model\"}}]}\n\n";
            assertThat(event(sse)).isEqualTo(sse.replace("\"" + name + "\",\"choices", "\"anthropic/claude-sonnet-4-5\",\"choices"));
        }
        assertThat(model.providerModel()).isEqualTo("gpt-4o");
    }
}
