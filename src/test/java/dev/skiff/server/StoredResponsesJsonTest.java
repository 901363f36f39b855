package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.responses.ResponsesApi;
import java.util.List;
import org.junit.jupiter.api.Test;

class StoredResponsesJsonTest {
    private static String both(ObjectNode request) throws Exception {
        String id = ResponsesApi.newId("resp_");
        List<ObjectNode> input = StoredResponses.withIds(ResponsesApi.inputItems(request), id);
        String direct = StoredResponses.json(request, input);
        assertThat(direct).isEqualTo(StoredResponses.json(input));
        return direct;
    }

    @Test
    void aStringInputsStoredItemIsWhatTheTreeGivesForEveryCharacter() throws Exception {
        StringBuilder all = new StringBuilder();
        for (int c = 0; c <= 0xFFFF; c++) {
            all.append((char) c);
            both(OpenAiChat.JSON.createObjectNode().put("model", "m").put("input", "a" + (char) c + "b"));
        }
        both(OpenAiChat.JSON.createObjectNode().put("input", all.toString()));
        both(OpenAiChat.JSON.createObjectNode().put("input", ""));
        assertThat(both(OpenAiChat.JSON.createObjectNode().put("input", "hi")))
                .matches("\\[\\{\"type\":\"message\",\"role\":\"user\",\"content\":\\[\\{\"type\":\"input_text\",\"text\":\"hi\"}],"
                        + "\"id\":\"msg_[0-9a-f]+\"}]");
    }

    @Test
    void otherInputsGoThroughTheTree() throws Exception {
        ObjectNode request = (ObjectNode) OpenAiChat.JSON.readTree("{\"input\":[{\"role\":\"user\",\"content\":\"q\"},"
                + "{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\",\"id\":\"fco_given\"}]}");
        both(request);
        both(OpenAiChat.JSON.createObjectNode());
    }
}
