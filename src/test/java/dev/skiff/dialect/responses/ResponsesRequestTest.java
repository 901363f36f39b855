package dev.skiff.dialect.responses;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Message.Role;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ResponsesRequestTest {
    private static final String MODEL = "claude-sonnet-4-5";

    static JsonNode json(String s) {
        try {
            return OpenAiChat.JSON.readTree(s.replace('\'', '"'));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static ChatRequest parse(String body, Dropped dropped) throws BadRequestException {
        return ResponsesApi.parseRequest(json(body), List.of(), MODEL, dropped);
    }

    private static ChatRequest parse(String body) throws BadRequestException {
        return parse(body, new Dropped());
    }

    // ---- inputItems -------------------------------------------------------------------------

    @Test
    void itemsAreStoredAsTheTextOfTheirArray() throws Exception {
        // the store's text of input items is what an array node of them gives, whatever they hold
        JsonNode request = OpenAiChat.JSON.readTree("{\"input\":[{\"role\":\"user\",\"content\":\"h\u00e9 \\\"q\\\" \\n \u2603 \\u0001\"},"
                + "{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":null,\"n\":[1.50,-0,2e3,12345678901234567890],"
                + "\"o\":{},\"a\":[],\"t\":true}]}");
        List<ObjectNode> items = ResponsesApi.inputItems(request);
        com.fasterxml.jackson.databind.node.ArrayNode array = OpenAiChat.JSON.createArrayNode();
        items.forEach(array::add);
        assertThat(ResponsesApi.itemsJson(items)).isEqualTo(array.toString());
        assertThat(ResponsesApi.itemsJson(List.of())).isEqualTo("[]");
    }

    @Test
    void itemsJsonWrittenWithoutTheGeneratorIsJacksonsTextForEveryCharacterAndValue() throws Exception {
        // every UTF-16 unit, in values and in member names, alone and among plain text
        StringBuilder all = new StringBuilder();
        for (char c = 0; c < 0xFFFF; c++) all.append(c);
        all.append((char) 0xFFFF);
        List<ObjectNode> items = new java.util.ArrayList<>();
        for (int c = 0; c <= 0xFFFF; c += 97) {
            items.add(OpenAiChat.JSON.createObjectNode().put("type", "message").put("t" + (char) c, "a" + (char) c + "b"));
        }
        items.add(OpenAiChat.JSON.createObjectNode().put("all", all.toString()).put(all.substring(0, 300), "k"));
        assertThat(ResponsesApi.itemsJson(items)).isEqualTo(ResponsesApi.generatedItemsJson(items));
        for (int c = 0; c <= 0xFFFF; c++) {
            List<ObjectNode> one = List.of(OpenAiChat.JSON.createObjectNode().put("text", String.valueOf((char) c)));
            assertThat(ResponsesApi.itemsJson(one)).isEqualTo(ResponsesApi.generatedItemsJson(one));
        }
        // nesting, booleans, nulls, empty containers; numbers (left to the generator) anywhere
        String mixed = "[{'type':'message','role':'user','content':[{'type':'input_text','text':'hi \\\\ \\'q\\' \\n\\t'}],'id':'msg_1'},"
                + "{'type':'function_call','arguments':'{}','ok':true,'no':false,'nothing':null,'a':[],'o':{},'deep':[[{'x':[null,true]}]]},"
                + "{'type':'x','n':1,'f':1.50,'big':12345678901234567890123}]";
        List<ObjectNode> trees = StoredItems.of(json(mixed));
        assertThat(ResponsesApi.itemsJson(trees)).isEqualTo(ResponsesApi.generatedItemsJson(trees));
        assertThat(ResponsesApi.itemsJson(trees.subList(0, 2))).isEqualTo(ResponsesApi.generatedItemsJson(trees.subList(0, 2)));
        ObjectNode deep = OpenAiChat.JSON.createObjectNode();
        ObjectNode at = deep;
        for (int i = 0; i < 100; i++) at = at.putObject("d");
        assertThat(ResponsesApi.itemsJson(List.of(deep))).isEqualTo(ResponsesApi.generatedItemsJson(List.of(deep)));
    }

    /** The objects of a JSON array. */
    private static final class StoredItems {
        static List<ObjectNode> of(JsonNode array) {
            List<ObjectNode> out = new java.util.ArrayList<>();
            for (JsonNode n : array) out.add((ObjectNode) n);
            return out;
        }
    }

    @Test
    void stringInputIsOneUserMessageWithInputText() throws Exception {
        List<ObjectNode> items = ResponsesApi.inputItems(json("{'model':'m','input':'hi there'}"));
        assertThat(items).hasSize(1);
        assertThat(items.get(0)).isEqualTo(json("{'type':'message','role':'user','content':[{'type':'input_text','text':'hi there'}]}"));
    }

    @Test
    void shorthandAndStringContentAreNormalizedWithoutInventingIds() throws Exception {
        JsonNode req = json("{'input':[{'role':'user','content':'q'},{'role':'assistant','content':'a'},"
                + "{'type':'message','role':'developer','content':'be brief'},{'type':'function_call_output','call_id':'c','output':'x'}]}");
        List<ObjectNode> items = ResponsesApi.inputItems(req);
        assertThat(items.get(0)).isEqualTo(json("{'role':'user','content':[{'type':'input_text','text':'q'}],'type':'message'}"));
        assertThat(items.get(1)).isEqualTo(json("{'role':'assistant','content':[{'type':'output_text','annotations':[],'text':'a'}],'type':'message'}"));
        assertThat(items.get(2).get("content").get(0).get("type").asText()).isEqualTo("input_text");
        assertThat(items.get(3)).isEqualTo(req.get("input").get(3));
        assertThat(items).allSatisfy(i -> assertThat(i.has("id")).isFalse());
        // copies: the request itself is untouched
        assertThat(req.get("input").get(0).get("content").isTextual()).isTrue();
    }

    @Test
    void structurallyBrokenInputIsABadRequestWithItsParam() {
        assertThatThrownBy(() -> ResponsesApi.inputItems(json("{'input':42}")))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).isEqualTo("input"));
        assertThatThrownBy(() -> ResponsesApi.inputItems(json("{'input':['hi']}")))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).isEqualTo("input[0]"));
        assertThatThrownBy(() -> ResponsesApi.inputItems(json("{'input':[{'role':'user','content':7}]}")))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).isEqualTo("input[0].content"));
        assertThatThrownBy(() -> parse("{'input':[{'type':'message','role':'tool','content':'x'}]}"))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).isEqualTo("input[0].role"));
        assertThatThrownBy(() -> parse("{'input':[{'type':'function_call','name':'f','arguments':'{}'}]}"))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).isEqualTo("input[0].call_id"));
    }

    // ---- messages and content ---------------------------------------------------------------

    @Test
    void stringInputBecomesAUserTextTurn() throws Exception {
        ChatRequest r = parse("{'model':'gpt-4o','input':'hello','stream':true}");
        assertThat(r.model()).isEqualTo(MODEL);
        assertThat(r.messages()).containsExactly(new Message(Role.USER, List.of(new Part.Text("hello"))));
        assertThat(r.stream()).isTrue();
    }

    @Test
    void messageItemsWithEveryContentType() throws Exception {
        Dropped dropped = new Dropped();
        ChatRequest r = parse("{'input':[{'type':'message','role':'user','content':["
                + "{'type':'input_text','text':'look'},"
                + "{'type':'input_image','image_url':'https://example.com/a.png','detail':'high'},"
                + "{'type':'input_image','image_url':'data:image/png;base64,iVBORw0KGgo=','detail':'auto'},"
                + "{'type':'input_image','file_id':'file-123','detail':'auto'},"
                + "{'type':'input_file','file_id':'file-456'}]},"
                + "{'type':'message','role':'assistant','content':[{'type':'output_text','text':'seen','annotations':[]},"
                + "{'type':'refusal','refusal':'but I will not say more'}]}]}", dropped);
        assertThat(r.messages()).containsExactly(
                new Message(Role.USER, List.of(new Part.Text("look"),
                        new Part.Image("https://example.com/a.png", null, null, "high", null),
                        new Part.Image(null, "image/png", "iVBORw0KGgo=", "auto", null))),
                new Message(Role.ASSISTANT, List.of(new Part.Text("seen"), new Part.Text("but I will not say more"))));
        assertThat(dropped.fields()).containsExactly("input_image.file_id", "input_file");
    }

    @Test
    @DisplayName("conformance 24: instructions and system/developer messages become system, in order")
    void case24_instructionsAndSystemMessages() throws Exception {
        ChatRequest r = parse("{'instructions':'You are terse.','input':[{'role':'developer','content':'Use metric units.'},"
                + "{'role':'user','content':'How far?'},{'role':'system','content':[{'type':'input_text','text':'No emoji.'}]}]}");
        assertThat(r.system()).containsExactly(new Part.Text("You are terse."), new Part.Text("Use metric units."), new Part.Text("No emoji."));
        assertThat(r.messages()).containsExactly(new Message(Role.USER, List.of(new Part.Text("How far?"))));
    }

    @Test
    @DisplayName("conformance 5: function_call and function_call_output items round trip; consecutive outputs form one user turn")
    void case5_functionCallsAndOutputs() throws Exception {
        ChatRequest r = parse("{'input':[{'role':'user','content':'weather in Paris and Rome?'},"
                + "{'type':'function_call','id':'fc_1','call_id':'call_a','name':'weather','arguments':'{\\'city\\':\\'Paris\\'}','status':'completed'},"
                + "{'type':'function_call','id':'fc_2','call_id':'call_b','name':'weather','arguments':'{\\'city\\':\\'Rome\\'}','status':'completed'},"
                + "{'type':'function_call_output','call_id':'call_a','output':'18C'},"
                + "{'type':'function_call_output','call_id':'call_b','output':[{'type':'input_text','text':'21C'}]},"
                + "{'role':'user','content':'thanks'}]}");
        assertThat(r.messages()).containsExactly(
                new Message(Role.USER, List.of(new Part.Text("weather in Paris and Rome?"))),
                new Message(Role.ASSISTANT, List.of(new Part.ToolCall("call_a", "weather", "{\"city\":\"Paris\"}"),
                        new Part.ToolCall("call_b", "weather", "{\"city\":\"Rome\"}"))),
                new Message(Role.USER, List.of(new Part.ToolResult("call_a", List.of(new Part.Text("18C")), false, null),
                        new Part.ToolResult("call_b", List.of(new Part.Text("21C")), false, null))),
                new Message(Role.USER, List.of(new Part.Text("thanks"))));
    }

    @Test
    @DisplayName("conformance 10: another provider's encrypted reasoning is never taken for a thinking signature")
    void case10_foreignEncryptedReasoningIsUnsigned() throws Exception {
        ChatRequest r = parse("{'input':[{'role':'user','content':'q'},"
                + "{'type':'reasoning','id':'rs_o','summary':[{'type':'summary_text','text':'OpenAI thought.'}],'encrypted_content':'gAAAAABo=='},"
                + "{'type':'message','role':'assistant','content':[{'type':'output_text','text':'a','annotations':[]}]}]}");
        assertThat(r.messages().get(1).parts().getFirst()).isEqualTo(new Part.Thinking("OpenAI thought.", null));
    }

    @Test
    @DisplayName("conformance 10: reasoning items carry signature and redacted data, and stay in the assistant turn they precede")
    void case10_reasoningItemsStayWithTheirTurn() throws Exception {
        ChatRequest r = parse("{'input':[{'role':'user','content':'q'},"
                + "{'type':'reasoning','id':'rs_1','summary':[{'type':'summary_text','text':'Let me think.'}],'encrypted_content':'skiff-signature:sig+/=='},"
                + "{'type':'reasoning','id':'rs_2','summary':[],'encrypted_content':'skiff-redacted:EncRyPtEd=='},"
                + "{'type':'function_call','call_id':'c1','name':'f','arguments':'{}'},"
                + "{'type':'function_call_output','call_id':'c1','output':'ok'},"
                + "{'type':'reasoning','id':'rs_3','summary':[{'type':'summary_text','text':'Now answer.'}],'encrypted_content':'skiff-signature:sig2'},"
                + "{'type':'message','role':'assistant','content':[{'type':'output_text','text':'done','annotations':[]}]}]}");
        assertThat(r.messages()).containsExactly(
                new Message(Role.USER, List.of(new Part.Text("q"))),
                new Message(Role.ASSISTANT, List.of(new Part.Thinking("Let me think.", "sig+/=="), new Part.RedactedThinking("EncRyPtEd=="),
                        new Part.ToolCall("c1", "f", "{}"))),
                new Message(Role.USER, List.of(new Part.ToolResult("c1", List.of(new Part.Text("ok")), false, null))),
                new Message(Role.ASSISTANT, List.of(new Part.Thinking("Now answer.", "sig2"), new Part.Text("done"))));
    }

    @Test
    void openAiReasoningPrefersFullContentToSummaryAndSkipsEmptyItems() throws Exception {
        ChatRequest r = parse("{'input':[{'role':'user','content':'q'},"
                + "{'type':'reasoning','summary':[{'type':'summary_text','text':'short'}],'content':[{'type':'reasoning_text','text':'long form'}]},"
                + "{'type':'reasoning','summary':[]},"
                + "{'type':'reasoning','summary':[{'type':'summary_text','text':'a'},{'type':'summary_text','text':'b'}]}]}");
        assertThat(r.messages().get(1).parts()).containsExactly(new Part.Thinking("long form", null), new Part.Thinking("a\n\nb", null));
    }

    @Test
    void unknownItemTypesAreDroppedNotRefused() throws Exception {
        Dropped dropped = new Dropped();
        ChatRequest r = parse("{'input':[{'type':'item_reference','id':'msg_1'},{'type':'web_search_call','id':'ws_1','status':'completed'},"
                + "{'role':'user','content':'hi'}]}", dropped);
        assertThat(r.messages()).containsExactly(new Message(Role.USER, List.of(new Part.Text("hi"))));
        assertThat(dropped.fields()).containsExactly("input(item_reference)", "input(web_search_call)");
    }

    @Test
    void historyComesFirstAndItsInstructionsDoNotCarryOver() throws Exception {
        // The lead stores a response's input items and output items; the next turn passes them as history.
        JsonNode first = json("{'instructions':'old instructions','input':'What is 2+2?'}");
        List<ObjectNode> history = new java.util.ArrayList<>(ResponsesApi.inputItems(first));
        history.addAll(ResponsesApi.outputItems(json("{'output':[{'id':'msg_1','type':'message','status':'completed','role':'assistant',"
                + "'content':[{'type':'output_text','annotations':[],'logprobs':[],'text':'4'}]}]}")));
        ChatRequest r = ResponsesApi.parseRequest(json("{'instructions':'new instructions','previous_response_id':'resp_1','input':'And 3+3?'}"),
                history, MODEL, new Dropped());
        assertThat(r.system()).containsExactly(new Part.Text("new instructions"));
        assertThat(r.messages()).containsExactly(
                new Message(Role.USER, List.of(new Part.Text("What is 2+2?"))),
                new Message(Role.ASSISTANT, List.of(new Part.Text("4"))),
                new Message(Role.USER, List.of(new Part.Text("And 3+3?"))));
        assertThat(r.extras()).doesNotContainKey("previous_response_id");
    }

    // ---- parameters -------------------------------------------------------------------------

    @Test
    void functionToolsKeptAndBuiltInToolsDroppedVisibly() throws Exception {
        Dropped dropped = new Dropped();
        ChatRequest r = parse("{'input':'hi','tools':[{'type':'function','name':'weather','description':'Weather now',"
                + "'parameters':{'type':'object','properties':{'city':{'type':'string'}}},'strict':true},"
                + "{'type':'web_search'},{'type':'function','name':'time','parameters':{'type':'object'}}],"
                + "'tool_choice':{'type':'function','name':'weather'},'parallel_tool_calls':false}", dropped);
        assertThat(r.tools()).extracting(ChatRequest.Tool::name).containsExactly("weather", "time");
        assertThat(r.tools().get(0).description()).isEqualTo("Weather now");
        assertThat(r.tools().get(0).parameters()).isEqualTo(json("{'type':'object','properties':{'city':{'type':'string'}}}"));
        assertThat(r.tools().get(0).strict()).isTrue();
        assertThat(r.tools().get(1).strict()).isNull();
        assertThat(r.toolChoice()).isEqualTo(new ChatRequest.ToolChoice.Named("weather"));
        assertThat(r.parallelToolCalls()).isFalse();
        assertThat(dropped.fields()).containsExactly("tools[1] (web_search)");
    }

    @Test
    @DisplayName("conformance 7: tool_choice strings map to the representation's choices")
    void case7_toolChoiceStrings() throws Exception {
        assertThat(parse("{'input':'x','tool_choice':'auto'}").toolChoice()).isEqualTo(new ChatRequest.ToolChoice.Auto());
        assertThat(parse("{'input':'x','tool_choice':'none'}").toolChoice()).isEqualTo(new ChatRequest.ToolChoice.None());
        assertThat(parse("{'input':'x','tool_choice':'required'}").toolChoice()).isEqualTo(new ChatRequest.ToolChoice.Required());
        assertThatThrownBy(() -> parse("{'input':'x','tool_choice':'sometimes'}")).isInstanceOf(BadRequestException.class);
    }

    @Test
    @DisplayName("conformance 27: text.format json_schema becomes the response format")
    void case27_textFormatJsonSchema() throws Exception {
        ChatRequest r = parse("{'input':'x','text':{'format':{'type':'json_schema','name':'person','strict':true,"
                + "'schema':{'type':'object','properties':{'age':{'type':'number','minimum':1.50}}}},'verbosity':'low'}}");
        assertThat(r.responseFormat()).isEqualTo(new ChatRequest.ResponseFormat("json_schema", "person",
                json("{'type':'object','properties':{'age':{'type':'number','minimum':1.50}}}"), true));
        // exact decimals survive the trip through the tree
        assertThat(r.responseFormat().schema().toString()).contains("1.50");
        assertThat(r.extras()).containsEntry("verbosity", json("'low'"));
        assertThat(parse("{'input':'x','text':{'format':{'type':'json_object'}}}").responseFormat())
                .isEqualTo(new ChatRequest.ResponseFormat("json_object", null, null, null));
        assertThat(parse("{'input':'x','text':{'format':{'type':'text'}}}").responseFormat()).isNull();
    }

    @Test
    @DisplayName("conformance 28 and 14: max_output_tokens, sampling and reasoning.effort")
    void case28_maxOutputTokensSamplingAndEffort() throws Exception {
        ChatRequest r = parse("{'input':'x','max_output_tokens':512,'temperature':0.2,'top_p':0.9,"
                + "'reasoning':{'effort':'high','summary':'auto'}}");
        assertThat(r.sampling().maxTokens()).isEqualTo(512);
        assertThat(r.sampling().temperature()).isEqualTo(0.2);
        assertThat(r.sampling().topP()).isEqualTo(0.9);
        assertThat(r.reasoning()).isEqualTo(new ChatRequest.Reasoning("high", null));
        assertThat(parse("{'input':'x'}").reasoning()).isNull();
        assertThat(parse("{'input':'x'}").sampling().maxTokens()).isNull();
    }

    @Test
    @DisplayName("conformance 29: Skiff-side fields are neither extras nor dropped; user, metadata and unknown fields are extras")
    void case29_skiffSideFieldsAndExtras() throws Exception {
        Dropped dropped = new Dropped();
        ChatRequest r = parse("{'model':'m','input':'x','store':false,'previous_response_id':'resp_1','metadata':{'k':'v'},"
                + "'user':'u','truncation':'auto','include':['reasoning.encrypted_content'],'background':false,"
                + "'service_tier':'flex','prompt_cache_key':'pk','top_logprobs':2}", dropped);
        assertThat(r.extras()).containsOnlyKeys("metadata", "user", "service_tier", "prompt_cache_key", "top_logprobs");
        assertThat(dropped.isEmpty()).isTrue();
    }
}
