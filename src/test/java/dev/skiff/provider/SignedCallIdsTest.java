package dev.skiff.provider;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SignedCallIdsTest {
    static final String SIG = signature(300);

    /** A signature as Anthropic and Gemini send them: base64 of bytes that do not compress. */
    static String signature(int bytes) {
        byte[] b = new byte[bytes];
        new Random(7).nextBytes(b);
        return Base64.getEncoder().encodeToString(b);
    }

    @Test
    void thinkingAndRedactedThinkingComeBackExactly() {
        List<Part> reasoning = List.of(new Part.Thinking("Let me think about \"files\" — ünïcode.\n".repeat(20), SIG),
                new Part.RedactedThinking(signature(64)));
        String id = SignedCallIds.attach("toolu_01XyZ", SignedCallIds.Origin.ANTHROPIC, reasoning);
        assertThat(id).startsWith("toolu_01XyZ").matches("[A-Za-z0-9_-]+");
        SignedCallIds.Split split = SignedCallIds.split(id);
        assertThat(split.base()).isEqualTo("toolu_01XyZ");
        assertThat(split.origin()).isEqualTo(SignedCallIds.Origin.ANTHROPIC);
        assertThat(split.reasoning()).isEqualTo(reasoning);
        assertThat(SignedCallIds.base(id)).isEqualTo("toolu_01XyZ");
    }

    @Test
    void idsStayCompact() {
        String text = "The user wants the files listed; I will run ls in the project folder and report. ".repeat(10);
        String id = SignedCallIds.attach("toolu_1", SignedCallIds.Origin.ANTHROPIC, List.of(new Part.Thinking(text, SIG)));
        String naive = Base64.getUrlEncoder().withoutPadding().encodeToString((SIG + text).getBytes());
        // signatures travel as their bytes, repetitive thinking text deflated
        assertThat(id.length()).isLessThan(naive.length() * 2 / 3);
    }

    @Test
    void aSignatureThatIsNotBase64StillRoundTrips() {
        List<Part> reasoning = List.of(new Part.Thinking("t", "not base64 / at all=="));
        assertThat(SignedCallIds.split(SignedCallIds.attach("c", SignedCallIds.Origin.ANTHROPIC, reasoning)).reasoning()).isEqualTo(reasoning);
    }

    @Test
    void idsSkiffDidNotExtendAreTheirOwnBase() {
        for (String id : List.of("toolu_01A", "call_abc", "x__sk1", "x__sk1%%%", "x__sk1AAAA", "x__sk1" + "A".repeat(40))) {
            SignedCallIds.Split split = SignedCallIds.split(id);
            assertThat(split.base()).as(id).isEqualTo(id);
            assertThat(split.carries()).as(id).isFalse();
        }
        assertThat(SignedCallIds.attach("call_1", SignedCallIds.Origin.ANTHROPIC, List.of(new Part.Thinking("unsigned", null))))
                .isEqualTo("call_1");
    }

    @Test
    void reasoningIsCarriedByTheCallAfterItAndRestoredWhereTheProviderPutIt() {
        Part.Thinking first = new Part.Thinking("plan", SIG);
        Part.Thinking between = new Part.Thinking("next", signature(40));
        List<Part> answer = SignedCallIds.carryInCallIds(List.of(first, new Part.Text("Looking."),
                new Part.ToolCall("toolu_1", "Read", "{}"), between, new Part.ToolCall("toolu_2", "Bash", "{}")), SignedCallIds.Origin.ANTHROPIC);
        String id1 = ((Part.ToolCall) answer.get(2)).id();
        String id2 = ((Part.ToolCall) answer.get(4)).id();
        assertThat(answer.get(0)).isEqualTo(first); // still there for clients that echo reasoning

        // a chat client sends back its text and calls, no reasoning: the turn opens with its thinking again
        List<Message> back = SignedCallIds.restore(List.of(
                new Message(Message.Role.ASSISTANT, List.of(new Part.Text("Looking."), new Part.ToolCall(id1, "Read", "{}"),
                        new Part.ToolCall(id2, "Bash", "{}"))),
                new Message(Message.Role.USER, List.of(new Part.ToolResult(id1, List.of(new Part.Text("a")), false, null),
                        new Part.ToolResult(id2, List.of(new Part.Text("b")), false, null)))), SignedCallIds.Origin.ANTHROPIC);
        assertThat(back.get(0).parts()).containsExactly(first, new Part.Text("Looking."), new Part.ToolCall("toolu_1", "Read", "{}"),
                between, new Part.ToolCall("toolu_2", "Bash", "{}"));
        assertThat(back.get(1).parts()).extracting(p -> ((Part.ToolResult) p).callId()).containsExactly("toolu_1", "toolu_2");

        // a client that echoed the reasoning itself is taken at its word; Gemini's state is not Anthropic's
        List<Part> echoed = List.of(first, new Part.ToolCall(id1, "Read", "{}"));
        assertThat(SignedCallIds.restore(List.of(new Message(Message.Role.ASSISTANT, echoed)), SignedCallIds.Origin.ANTHROPIC)
                .get(0).parts()).containsExactly(first, new Part.ToolCall("toolu_1", "Read", "{}"));
        assertThat(SignedCallIds.restore(List.of(new Message(Message.Role.ASSISTANT, List.of(new Part.ToolCall(id1, "Read", "{}")))),
                SignedCallIds.Origin.GEMINI).get(0).parts()).containsExactly(new Part.ToolCall("toolu_1", "Read", "{}"));
    }
}
