package dev.parley.pluginhost.agent.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WireCodecTest {
    final ObjectMapper json = new ObjectMapper();
    final WireCodec codec = new WireCodec(json);

    @Test
    void aRequestWithEveryKindOfContentCrossesUnchanged() throws Exception {
        ChatRequest request = new ChatRequest("m-1", List.of(
                ChatMessage.system("be brief"),
                ChatMessage.user(List.of(ContentPart.text("what is this?"), ContentPart.imageBase64("image/png", "iVBO"),
                        ContentPart.imageUrl("https://example.com/a.png", null))),
                ChatMessage.assistant("", List.of(new ToolCall("call-1", "lookup", "{\"q\":\"x\"}"))),
                ChatMessage.tool("call-1", "42")),
                new ChatOptions(0.5, 0.9, 100, List.of("END"), ToolChoice.tool("lookup"),
                        ResponseFormat.jsonSchema("answer", "{\"type\":\"object\"}", true)),
                List.of(new ToolSpec("lookup", "looks up", "{\"type\":\"object\"}")));

        byte[] wire = json.writeValueAsBytes(codec.request(request));
        assertThat(codec.request(json.readTree(wire))).isEqualTo(request);
    }

    @Test
    void defaultsStayDefaults() throws Exception {
        ChatRequest request = new ChatRequest("m", List.of(ChatMessage.user("hi")), null, null);
        assertThat(codec.request(json.readTree(json.writeValueAsBytes(codec.request(request))))).isEqualTo(request);
    }

    @Test
    void modelsAnswersAndErrorsCrossUnchanged() throws Exception {
        List<ModelDescriptor> models = List.of(new ModelDescriptor("a", "p", "A", 8192, 1024,
                Set.of(ModelCapability.TOOLS, ModelCapability.VISION)), new ModelDescriptor("b", "p", null, 10, 5));
        assertThat(codec.models(json.readTree(json.writeValueAsBytes(codec.models(models))))).isEqualTo(models);

        ChatResponse response = new ChatResponse("done", List.of(new ToolCall("c", "f", "{}")), FinishReason.TOOL_CALLS,
                new Usage(3, 4, 1), "a");
        assertThat(codec.response(json.readTree(json.writeValueAsBytes(codec.response(response))))).isEqualTo(response);

        ObjectNode delta = json.createObjectNode();
        codec.toolCallDelta(delta, new ToolCallDelta(1, "c", "f", "{\"a\""));
        assertThat(codec.toolCallDelta(delta)).isEqualTo(new ToolCallDelta(1, "c", "f", "{\"a\""));

        ObjectNode error = json.createObjectNode();
        codec.error(error, new ParleyException(ErrorCode.RATE_LIMITED, "slow down", Duration.ofSeconds(3), null, "x"));
        ParleyException back = codec.error(json.readTree(json.writeValueAsBytes(error)));
        assertThat(back.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(back.getMessage()).isEqualTo("slow down");
        assertThat(back.retryAfter()).contains(Duration.ofSeconds(3));
        assertThat(back.param()).contains("x");
    }

    @Test
    void embeddingsCrossExactly() throws Exception {
        List<EmbeddingModel> models = List.of(new EmbeddingModel("e", "p", 3, 512, 16, true));
        assertThat(codec.embeddingModels(json.readTree(json.writeValueAsBytes(codec.embeddingModels(models)))))
                .isEqualTo(models);
        EmbeddingRequest request = new EmbeddingRequest("e", List.of("a", "b c"), 2);
        assertThat(codec.embeddingRequest(json.readTree(json.writeValueAsBytes(codec.embeddingRequest(request)))))
                .isEqualTo(request);

        float[] odd = {Float.MIN_VALUE, -0.0f, 1.0e-30f, 0.1f, Float.MAX_VALUE, (float) Math.PI};
        EmbeddingResponse response = new EmbeddingResponse("e", List.of(new Embedding(0, odd),
                new Embedding(1, new float[] {1, 2, 3})), 7);
        EmbeddingResponse back = codec.embeddingResponse(json.readTree(json.writeValueAsBytes(
                codec.embeddingResponse(response))));
        assertThat(back.model()).isEqualTo("e");
        assertThat(back.promptTokens()).isEqualTo(7);
        assertThat(back.embeddings()).hasSize(2);
        assertThat(back.embeddings().get(0).vector()).containsExactly(odd);
        assertThat(back.embeddings().get(1).index()).isEqualTo(1);
        assertThat(back.embeddings().get(1).vector()).containsExactly(1, 2, 3);
    }

    @Test
    void anUnknownErrorCodeIsAnUpstreamFailureAndAMalformedRequestFails() throws Exception {
        assertThat(codec.error(json.readTree("{\"code\":\"from-the-future\",\"message\":\"m\"}")).code())
                .isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThatThrownBy(() -> codec.request(json.readTree("{\"messages\":[]}")))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> codec.request(json.readTree("{\"model\":\"m\",\"messages\":[{\"role\":\"KING\"}]}")))
                .isInstanceOf(IllegalArgumentException.class);
    }
    @Test
    void configurationPropertiesCrossWithTheirTypes() throws Exception {
        java.util.Map<String, Object> props = new java.util.LinkedHashMap<>();
        props.put("service.pid", "x.y");
        props.put("baseUrl", "https://api.example.com");
        props.put(".apiKey", "sk-1");
        props.put("timeout", 30L);
        props.put("retries", 3);
        props.put("small", (short) 2);
        props.put("tiny", (byte) 1);
        props.put("ratio", 0.5d);
        props.put("f", 1.5f);
        props.put("on", true);
        props.put("c", 'z');
        props.put("hosts", new String[] {"a", "b"});
        props.put("ports", new int[] {80, 443});
        props.put("list", List.of(1L, 2L));
        props.put("empty", List.of());

        var back = codec.properties(json.readTree(codec.properties(props).toString()));

        assertThat(back).doesNotContainKey("service.pid");
        assertThat(back.get("baseUrl")).isEqualTo("https://api.example.com");
        assertThat(back.get(".apiKey")).isEqualTo("sk-1");
        assertThat(back.get("timeout")).isEqualTo(30L);
        assertThat(back.get("retries")).isEqualTo(3);
        assertThat(back.get("small")).isEqualTo((short) 2);
        assertThat(back.get("tiny")).isEqualTo((byte) 1);
        assertThat(back.get("ratio")).isEqualTo(0.5d);
        assertThat(back.get("f")).isEqualTo(1.5f);
        assertThat(back.get("on")).isEqualTo(true);
        assertThat(back.get("c")).isEqualTo('z');
        assertThat((String[]) back.get("hosts")).containsExactly("a", "b");
        assertThat((Integer[]) back.get("ports")).containsExactly(80, 443);
        assertThat((Long[]) back.get("list")).containsExactly(1L, 2L);
        assertThat((String[]) back.get("empty")).isEmpty();
    }

    @Test
    void configurationPropertiesAreBoundedAndTyped() throws Exception {
        java.util.Map<String, Object> many = new java.util.HashMap<>();
        for (int i = 0; i < WireCodec.MAX_PROPERTIES + 10; i++) {
            many.put("k" + i, "v");
        }
        assertThatThrownBy(() -> codec.properties(many)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> codec.properties(java.util.Map.of("x", new Object())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("java.lang.Object");
        assertThatThrownBy(() -> codec.properties(java.util.Map.of("x", List.of("a", 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mixed");
        assertThatThrownBy(() -> codec.properties(json.readTree("{\"x\":{\"t\":\"Long\",\"v\":\"5\"}}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a Long");
        assertThatThrownBy(() -> codec.properties(json.readTree("{\"x\":{\"t\":\"Thread\",\"v\":1}}")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> codec.properties(json.readTree("{\"x\":{\"v\":1}}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no type");
        ObjectNode tooMany = json.createObjectNode();
        for (int i = 0; i <= WireCodec.MAX_PROPERTIES; i++) {
            tooMany.putObject("k" + i).put("t", "String").put("v", "v");
        }
        assertThatThrownBy(() -> codec.properties(tooMany)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void messagesOfAnEstimateCross() throws Exception {
        List<ChatMessage> messages = List.of(ChatMessage.system("s"), ChatMessage.user("hello"));
        assertThat(codec.messages(json.readTree(codec.messages(messages).toString()))).isEqualTo(messages);
    }

}
