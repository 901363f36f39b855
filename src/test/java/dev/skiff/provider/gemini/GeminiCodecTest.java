package dev.skiff.provider.gemini;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** GeminiCodec: OpenAI request -> IR -> Gemini body, and Gemini answers -> IR. */
class GeminiCodecTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static String fixture(String name) throws Exception {
        try (InputStream in = GeminiCodecTest.class.getResourceAsStream("/gemini/" + name)) {
            if (in == null) throw new AssertionError("fixture missing: gemini/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static JsonNode render(String openAiBody, Dropped dropped) throws Exception {
        ChatRequest ir = OpenAiChat.parseRequest(JSON.readTree(openAiBody), "gemini-2.5-flash");
        return GeminiCodec.renderRequest(ir, dropped);
    }

    static JsonNode render(String openAiBody) throws Exception {
        return render(openAiBody, new Dropped());
    }

    @Nested
    class Requests {
        @Test
        void conformance24_systemRolesAndSampling() throws Exception {
            Dropped dropped = new Dropped();
            JsonNode b = render("""
                    {"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},
                      {"role":"assistant","content":"hello"},{"role":"developer","content":"Answer in French."},{"role":"user","content":"again"}],
                     "temperature":0.2,"top_p":0.9,"top_k":40,"seed":7,"max_completion_tokens":100,"stop":["END"],
                     "presence_penalty":0.5,"frequency_penalty":0.25,"user":"u-1"}""", dropped);
            assertThat(b.at("/systemInstruction/parts/0/text").asText()).isEqualTo("Be brief.");
            assertThat(b.at("/systemInstruction/parts/1/text").asText()).isEqualTo("Answer in French.");
            assertThat(b.at("/contents/0/role").asText()).isEqualTo("user");
            assertThat(b.at("/contents/1/role").asText()).isEqualTo("model");
            assertThat(b.at("/contents/1/parts/0/text").asText()).isEqualTo("hello");
            assertThat(b.at("/contents/2/parts/0/text").asText()).isEqualTo("again");
            JsonNode g = b.get("generationConfig");
            assertThat(g.get("temperature").asDouble()).isEqualTo(0.2);
            assertThat(g.get("topP").asDouble()).isEqualTo(0.9);
            assertThat(g.get("topK").asInt()).isEqualTo(40);
            assertThat(g.get("seed").asInt()).isEqualTo(7);
            assertThat(g.get("maxOutputTokens").asInt()).isEqualTo(100);
            assertThat(g.at("/stopSequences/0").asText()).isEqualTo("END");
            assertThat(g.get("presencePenalty").asDouble()).isEqualTo(0.5);
            assertThat(g.get("frequencyPenalty").asDouble()).isEqualTo(0.25);
            assertThat(g.has("thinkingConfig")).isFalse();
            // the developer message was said mid-conversation; Gemini's instruction cannot say where
            assertThat(dropped.fields()).containsExactly("messages(role:system; moved into the system instruction)", "user");
            assertThat(b.has("model")).isFalse();
        }

        @Test
        void conformance26_images() throws Exception {
            Dropped dropped = new Dropped();
            JsonNode b = render("""
                    {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},
                      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
                      {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"high"}}]}]}""", dropped);
            JsonNode parts = b.at("/contents/0/parts");
            assertThat(parts.get(0).get("text").asText()).isEqualTo("What is this?");
            assertThat(parts.at("/1/inlineData/mimeType").asText()).isEqualTo("image/png");
            assertThat(parts.at("/1/inlineData/data").asText()).isEqualTo("iVBORw0KGgo=");
            assertThat(parts.at("/2/fileData/fileUri").asText()).isEqualTo("https://example.com/cat.jpg");
            assertThat(parts.at("/2/fileData/mimeType").asText()).isEqualTo("image/jpeg");
            assertThat(dropped.fields()).contains("image_url.detail");
        }

        @Test
        void conformance07_toolChoice() throws Exception {
            String tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}]";
            String base = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]," + tools;
            assertThat(render(base + ",\"tool_choice\":\"auto\"}").at("/toolConfig/functionCallingConfig/mode").asText()).isEqualTo("AUTO");
            assertThat(render(base + ",\"tool_choice\":\"none\"}").at("/toolConfig/functionCallingConfig/mode").asText()).isEqualTo("NONE");
            assertThat(render(base + ",\"tool_choice\":\"required\"}").at("/toolConfig/functionCallingConfig/mode").asText()).isEqualTo("ANY");
            JsonNode named = render(base + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}").at("/toolConfig/functionCallingConfig");
            assertThat(named.get("mode").asText()).isEqualTo("ANY");
            assertThat(named.at("/allowedFunctionNames/0").asText()).isEqualTo("f");
            assertThat(render(base + "}").has("toolConfig")).isFalse();
            Dropped dropped = new Dropped();
            render(base + ",\"parallel_tool_calls\":false}", dropped);
            assertThat(dropped.fields()).contains("parallel_tool_calls");
            // no tools: no toolConfig at all
            assertThat(render("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"required\"}").has("toolConfig")).isFalse();
        }

        @Test
        void conformance08_schemasAreCleanedForGemini() throws Exception {
            JsonNode b = render("""
                    {"model":"m","messages":[{"role":"user","content":"x"}],"tools":[
                     {"type":"function","function":{"name":"book","description":"Book a trip","parameters":{
                       "$schema":"http://json-schema.org/draft-07/schema#","title":"Booking","type":"object","additionalProperties":false,
                       "$defs":{"Place":{"type":"object","title":"Place","properties":{"city":{"type":"string","examples":["Paris"]}},"required":["city"]}},
                       "properties":{
                         "from":{"$ref":"#/$defs/Place","description":"origin"},
                         "to":{"$ref":"#/$defs/Place"},
                         "title":{"type":"string","default":"Mr"},
                         "kind":{"const":"flight"},
                         "note":{"type":["string","null"]},
                         "seats":{"anyOf":[{"type":"integer","minimum":1},{"type":"null"}]},
                         "tags":{"type":"array","items":{"type":"string","enum":["a","b"]}}
                       },"required":["from","to"]}}},
                     {"type":"function","function":{"name":"ping","parameters":{}}},
                     {"type":"function","function":{"name":"pong"}}]}""");
            JsonNode p = b.at("/tools/0/functionDeclarations/0/parameters");
            assertThat(b.at("/tools/0/functionDeclarations/0/description").asText()).isEqualTo("Book a trip");
            assertThat(p.has("$schema")).isFalse();
            assertThat(p.has("title")).isFalse();
            assertThat(p.has("additionalProperties")).isFalse();
            assertThat(p.has("$defs")).isFalse();
            assertThat(p.at("/properties/from/type").asText()).isEqualTo("object");
            assertThat(p.at("/properties/from/description").asText()).isEqualTo("origin");
            assertThat(p.at("/properties/from/properties/city/type").asText()).isEqualTo("string");
            assertThat(p.at("/properties/from/properties/city").has("examples")).isFalse();
            assertThat(p.at("/properties/from").has("title")).isFalse();
            assertThat(p.at("/properties/to/required/0").asText()).isEqualTo("city");
            // a property *named* title is data and stays; its default goes
            assertThat(p.at("/properties/title/type").asText()).isEqualTo("string");
            assertThat(p.at("/properties/title").has("default")).isFalse();
            assertThat(p.at("/properties/kind/enum/0").asText()).isEqualTo("flight");
            assertThat(p.at("/properties/kind").has("const")).isFalse();
            assertThat(p.at("/properties/note/type").asText()).isEqualTo("string");
            assertThat(p.at("/properties/note/nullable").asBoolean()).isTrue();
            assertThat(p.at("/properties/seats/type").asText()).isEqualTo("integer");
            assertThat(p.at("/properties/seats/minimum").asInt()).isEqualTo(1);
            assertThat(p.at("/properties/seats/nullable").asBoolean()).isTrue();
            assertThat(p.at("/properties/tags/items/enum/1").asText()).isEqualTo("b");
            assertThat(p.at("/required/1").asText()).isEqualTo("to");
            assertThat(b.toString()).doesNotContain("$ref");
            // empty parameters: none sent
            assertThat(b.at("/tools/0/functionDeclarations/1/name").asText()).isEqualTo("ping");
            assertThat(b.at("/tools/0/functionDeclarations/1").has("parameters")).isFalse();
            assertThat(b.at("/tools/0/functionDeclarations/2").has("parameters")).isFalse();
        }

        @Test
        void recursiveRefsEndInsteadOfLooping() {
            JsonNode s = GeminiCodec.cleanSchema(JSON.createObjectNode().put("$ref", "#/$defs/Node").set("$defs",
                    JSON.createObjectNode().set("Node", JSON.createObjectNode().put("type", "object").set("properties",
                            JSON.createObjectNode().set("next", JSON.createObjectNode().put("$ref", "#/$defs/Node"))))));
            assertThat(s.at("/properties/next/properties/next/type").asText()).isEqualTo("object");
        }

        @Test
        void conformance27_structuredOutput() throws Exception {
            JsonNode mode = render("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_object\"}}");
            assertThat(mode.at("/generationConfig/responseMimeType").asText()).isEqualTo("application/json");
            assertThat(mode.at("/generationConfig").has("responseSchema")).isFalse();
            JsonNode schema = render("""
                    {"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema",
                     "json_schema":{"name":"r","strict":true,"schema":{"type":"object","additionalProperties":false,
                       "properties":{"answer":{"type":"string"}},"required":["answer"]}}}}""");
            assertThat(schema.at("/generationConfig/responseMimeType").asText()).isEqualTo("application/json");
            assertThat(schema.at("/generationConfig/responseSchema/properties/answer/type").asText()).isEqualTo("string");
            assertThat(schema.at("/generationConfig/responseSchema").has("additionalProperties")).isFalse();
        }

        @Test
        void conformance14_reasoningEffortMapsToThinkingConfig() throws Exception {
            String base = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"%s\"}";
            assertThat(render(base.formatted("low")).at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(1024);
            assertThat(render(base.formatted("low")).at("/generationConfig/thinkingConfig/includeThoughts").asBoolean()).isTrue();
            assertThat(render(base.formatted("minimal")).at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(512);
            assertThat(render(base.formatted("medium")).at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(8192);
            assertThat(render(base.formatted("high")).at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(24576);
            JsonNode none = render(base.formatted("none")).at("/generationConfig/thinkingConfig");
            assertThat(none.get("thinkingBudget").asInt()).isZero();
            assertThat(none.has("includeThoughts")).isFalse();
            assertThat(GeminiCodec.thinkingConfig(new ChatRequest.Reasoning("medium", null), "gemini-3-pro-preview").get("thinkingLevel").asText())
                    .isEqualTo("high");
            assertThat(GeminiCodec.thinkingConfig(new ChatRequest.Reasoning("low", null), "gemini-3-flash").has("thinkingBudget")).isFalse();
            assertThat(GeminiCodec.thinkingConfig(new ChatRequest.Reasoning(null, 3000), "gemini-2.5-flash").get("thinkingBudget").asInt()).isEqualTo(3000);
        }

        @Test
        void unknownToolResultIdIsRefusedClearly() {
            assertThatThrownBy(() -> render("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"tool\",\"tool_call_id\":\"nope\",\"content\":\"1\"}]}"))
                    .isInstanceOf(BadRequestException.class).hasMessageContaining("nope");
        }
    }

    @Nested
    class ToolRoundTrip {
        @Test
        void conformance06_13_idsAreSynthesizedAndSignaturesComeBack() throws Exception {
            String answer = fixture("generate_content_tools.json");
            JsonNode tree = JSON.readTree(answer);
            ChatResponse r = GeminiCodec.parseResponse(tree);
            assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(r.rawFinishReason()).isEqualTo("STOP");
            Part.ToolCall c1 = (Part.ToolCall) r.content().get(0);
            Part.ToolCall c2 = (Part.ToolCall) r.content().get(1);
            assertThat(c1.id()).startsWith("call_").isNotEqualTo(c2.id());
            assertThat(c2.id()).matches("call_[0-9a-f]{12}"); // parallel calls: only the first carries a signature
            assertThat(c1.name()).isEqualTo("get_weather");
            assertThat(JSON.readTree(c1.arguments()).get("location").asText()).isEqualTo("Paris");
            // stable: the same answer gives the same ids
            assertThat(((Part.ToolCall) GeminiCodec.parseResponse(tree).content().get(0)).id()).isEqualTo(c1.id());

            String signature = tree.at("/candidates/0/content/parts/0/thoughtSignature").asText();
            String next = """
                    {"model":"m","messages":[{"role":"user","content":"Weather in Paris and London?"},
                     {"role":"assistant","content":null,"tool_calls":[
                       {"id":%s,"type":"function","function":{"name":"get_weather","arguments":%s}},
                       {"id":%s,"type":"function","function":{"name":"get_weather","arguments":%s}}]},
                     {"role":"tool","tool_call_id":%s,"content":"{\\"temp\\":18,\\"$ref\\":\\"data\\"}"},
                     {"role":"tool","tool_call_id":%s,"content":"rainy, 12C"},
                     {"role":"user","content":"Thanks"}]}""".formatted(JSON.writeValueAsString(c1.id()), JSON.writeValueAsString(c1.arguments()),
                    JSON.writeValueAsString(c2.id()), JSON.writeValueAsString(c2.arguments()),
                    JSON.writeValueAsString(c1.id()), JSON.writeValueAsString(c2.id()));
            JsonNode b = render(next);
            JsonNode model = b.at("/contents/1");
            assertThat(model.get("role").asText()).isEqualTo("model");
            assertThat(model.at("/parts/0/thoughtSignature").asText()).isEqualTo(signature); // byte-identical
            assertThat(model.at("/parts/0/functionCall/name").asText()).isEqualTo("get_weather");
            assertThat(model.at("/parts/0/functionCall/args/location").asText()).isEqualTo("Paris");
            assertThat(model.at("/parts/0/functionCall").has("id")).isFalse();
            assertThat(model.at("/parts/1").has("thoughtSignature")).isFalse();
            JsonNode results = b.at("/contents/2");
            assertThat(results.get("role").asText()).isEqualTo("user");
            assertThat(results.at("/parts/0/functionResponse/name").asText()).isEqualTo("get_weather");
            assertThat(results.at("/parts/0/functionResponse/response/temp").asInt()).isEqualTo(18);
            assertThat(results.at("/parts/0/functionResponse/response/$ref").asText()).isEqualTo("data"); // conformance 9
            assertThat(results.at("/parts/1/functionResponse/response/output").asText()).isEqualTo("rainy, 12C");
            assertThat(results.at("/parts/2/text").asText()).isEqualTo("Thanks");
            assertThat(b.get("contents").size()).isEqualTo(3);
        }

        @Test
        void nativeIdsGoBackAsIds() {
            String id = GeminiCodec.toolCallId("r", 0, "f", "{}", "abc123", "sig/+=");
            assertThat(id).startsWith("gid_abc123__sk1").matches("[A-Za-z0-9_-]+");
            GeminiCodec.CallId parsed = GeminiCodec.parseCallId(id);
            assertThat(parsed.nativeId()).isEqualTo("abc123");
            assertThat(parsed.signature()).isEqualTo("sig/+=");
            assertThat(GeminiCodec.parseCallId("toolu_01abc")).isEqualTo(new GeminiCodec.CallId(null, null));
            assertThat(GeminiCodec.parseCallId("x_ts_%%%")).isEqualTo(new GeminiCodec.CallId(null, null));
            assertThat(GeminiCodec.parseCallId("x__sk1%%%")).isEqualTo(new GeminiCodec.CallId(null, null));
            // ids made before the shared packing still give their signature back
            assertThat(GeminiCodec.parseCallId("gid_abc123_ts_c2lnLys9")).isEqualTo(new GeminiCodec.CallId("abc123", "sig/+="));
            // Anthropic's thinking carried by a chat client's id is not a thought signature
            String anthropic = dev.skiff.provider.SignedCallIds.attach("toolu_1", dev.skiff.provider.SignedCallIds.Origin.ANTHROPIC,
                    java.util.List.of(new Part.Thinking("t", "c2ln")));
            assertThat(GeminiCodec.parseCallId(anthropic)).isEqualTo(new GeminiCodec.CallId(null, null));
        }

        @Test
        void signatureOnALaterEmptyPartBelongsToTheCall() throws Exception {
            JsonNode body = JSON.readTree("""
                    {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}},
                      {"text":"","thoughtSignature":"U0lH"}]},"finishReason":"STOP"}]}""");
            Part.ToolCall c = (Part.ToolCall) GeminiCodec.parseResponse(body).content().getFirst();
            assertThat(GeminiCodec.parseCallId(c.id()).signature()).isEqualTo("U0lH");
        }
    }

    @Nested
    class Responses {
        @Test
        void textAndUsage() throws Exception {
            ChatResponse r = GeminiCodec.parseResponse(JSON.readTree(fixture("generate_content.json")));
            assertThat(r.id()).isEqualTo("chatcmpl-mBtGaNG0LaDCz7IP4LXy0Qo");
            assertThat(r.content()).containsExactly(new Part.Text("Hello! How can I help you today?"));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.usage()).isEqualTo(new Usage(5, 9, 14, -1, -1));
        }

        @Test
        void conformance22_thoughtsAndCacheAreCounted() throws Exception {
            ChatResponse r = GeminiCodec.parseResponse(JSON.readTree(fixture("generate_content_thinking.json")));
            assertThat(r.content().getFirst()).isInstanceOf(Part.Thinking.class);
            assertThat(((Part.Thinking) r.content().getFirst()).text()).startsWith("**Solving the equation**");
            assertThat(r.content().get(1)).isEqualTo(new Part.Text("x = 7, because 12 - 5 = 7."));
            Usage u = r.usage();
            assertThat(u.promptTokens()).isEqualTo(1210);
            assertThat(u.cachedTokens()).isEqualTo(1024);
            assertThat(u.completionTokens()).isEqualTo(14 + 98);
            assertThat(u.reasoningTokens()).isEqualTo(98);
            assertThat(u.totalTokens()).isEqualTo(1322);
        }

        @Test
        void conformance17_finishReasons() throws Exception {
            ChatResponse safety = GeminiCodec.parseResponse(JSON.readTree(fixture("generate_content_safety.json")));
            assertThat(safety.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
            assertThat(safety.rawFinishReason()).isEqualTo("SAFETY");
            assertThat(safety.content()).isEmpty();
            assertThat(GeminiCodec.finishReason("MAX_TOKENS", false)).isEqualTo(FinishReason.LENGTH);
            assertThat(GeminiCodec.finishReason("MAX_TOKENS", true)).isEqualTo(FinishReason.LENGTH);
            assertThat(GeminiCodec.finishReason("STOP", true)).isEqualTo(FinishReason.TOOL_CALLS);
            for (String r : new String[] {"RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}) {
                assertThat(GeminiCodec.finishReason(r, false)).as(r).isEqualTo(FinishReason.CONTENT_FILTER);
            }
            assertThat(GeminiCodec.finishReason("MALFORMED_FUNCTION_CALL", false)).isEqualTo(FinishReason.STOP);
            ChatResponse blocked = GeminiCodec.parseResponse(JSON.readTree(
                    "{\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},\"usageMetadata\":{\"promptTokenCount\":7,\"totalTokenCount\":7}}"));
            assertThat(blocked.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
            assertThat(blocked.rawFinishReason()).isEqualTo("PROHIBITED_CONTENT");
        }

        @Test
        void errors() {
            GeminiCodec.ErrorInfo e = GeminiCodec.parseError(400,
                    "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\"}}");
            assertThat(e.status()).isEqualTo("INVALID_ARGUMENT");
            assertThat(e.message()).startsWith("API key not valid");
            assertThat(GeminiCodec.parseError(503, "[{\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}]").message())
                    .isEqualTo("overloaded");
            assertThat(GeminiCodec.parseError(502, "<html>bad gateway</html>").message()).contains("bad gateway");
        }
    }
}
