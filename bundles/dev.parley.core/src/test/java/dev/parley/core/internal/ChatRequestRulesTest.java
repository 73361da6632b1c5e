package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChatRequestRulesTest {

    private static final ToolSpec WEATHER = new ToolSpec("weather", null, "{\"type\":\"object\"}");
    private final ChatRequestRules rules = new ChatRequestRules(3, 16);

    private static ChatRequest request(List<ChatMessage> messages, List<ToolSpec> tools, ToolChoice choice,
            ResponseFormat format) {
        return new ChatRequest("m", messages, new ChatOptions(null, null, null, null, choice, format), tools);
    }

    private static ChatRequest request(List<ChatMessage> messages) {
        return request(messages, List.of(), null, null);
    }

    private ParleyException refused(ChatRequest request) {
        return catchThrowableOfType(ParleyException.class, () -> rules.check(request));
    }

    @Test
    void aToolRoundTripPasses() {
        assertThatCode(() -> rules.check(request(List.of(ChatMessage.user("weather?"),
                ChatMessage.assistant("", List.of(new ToolCall("c1", "weather", "{}"), new ToolCall("c2", "weather", "{}"))),
                ChatMessage.tool("c2", "rain"), ChatMessage.tool("c1", "sun"), ChatMessage.user("thanks")),
                List.of(WEATHER), ToolChoice.tool("weather"), null))).doesNotThrowAnyException();
    }

    @Test
    void aToolMessageMustAnswerAnEarlierOpenCall() {
        ParleyException orphan = refused(request(List.of(ChatMessage.user("x"), ChatMessage.tool("nope", "r"))));
        ParleyException twice = refused(request(List.of(ChatMessage.user("x"),
                ChatMessage.assistant("", List.of(new ToolCall("c1", "weather", "{}"))), ChatMessage.tool("c1", "a"),
                ChatMessage.tool("c1", "b"))));

        assertThat(orphan.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(orphan.param()).hasValue("messages[1].tool_call_id");
        assertThat(orphan.getMessage()).contains("nope");
        assertThat(twice.param()).hasValue("messages[3].tool_call_id");
    }

    @Test
    void everyToolCallIsAnsweredBeforeTheConversationGoesOn() {
        ParleyException next = refused(request(List.of(ChatMessage.user("x"),
                ChatMessage.assistant("", List.of(new ToolCall("c1", "weather", "{}"), new ToolCall("c2", "weather", "{}"))),
                ChatMessage.tool("c1", "a"), ChatMessage.user("and?"))));
        ParleyException atEnd = refused(request(List.of(ChatMessage.user("x"),
                ChatMessage.assistant("", List.of(new ToolCall("c1", "weather", "{}"))))));
        ParleyException noId = refused(request(List.of(ChatMessage.user("x"),
                ChatMessage.assistant("", List.of(new ToolCall(null, "weather", "{}"))))));

        assertThat(next.param()).hasValue("messages[1].tool_calls");
        assertThat(next.getMessage()).contains("c2").doesNotContain("c1,");
        assertThat(atEnd.param()).hasValue("messages[1].tool_calls");
        assertThat(noId.param()).hasValue("messages[1].tool_calls[0].id");
    }

    @Test
    void toolsAreBoundedNamedOnceAndHaveObjectSchemas() {
        List<ToolSpec> four = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            four.add(new ToolSpec("t" + i, null, null));
        }
        List<ChatMessage> hi = List.of(ChatMessage.user("hi"));

        assertThat(refused(request(hi, four, null, null)).param()).hasValue("tools");
        assertThat(refused(request(hi, List.of(WEATHER, WEATHER), null, null)).param())
                .hasValue("tools[1].function.name");
        assertThat(refused(request(hi, List.of(new ToolSpec("bad name!", null, null)), null, null)).param())
                .hasValue("tools[0].function.name");
        assertThat(refused(request(hi, List.of(new ToolSpec("t", null, "[\"not\",\"an object\"]")), null, null))
                .param()).hasValue("tools[0].function.parameters");
        assertThat(refused(request(hi, List.of(new ToolSpec("t", null, "{\"type\":")), null, null)).param())
                .hasValue("tools[0].function.parameters");
        assertThat(refused(request(hi, List.of(new ToolSpec("t", null, "{} {}")), null, null)).param())
                .hasValue("tools[0].function.parameters");
    }

    @Test
    void aToolChoiceNamesAToolOfTheRequest() {
        List<ChatMessage> hi = List.of(ChatMessage.user("hi"));

        assertThat(refused(request(hi, List.of(WEATHER), ToolChoice.tool("time"), null)).param()).hasValue("tool_choice");
        assertThat(refused(request(hi, List.of(), ToolChoice.REQUIRED, null)).param()).hasValue("tool_choice");
        assertThatCode(() -> rules.check(request(hi, List.of(), ToolChoice.NONE, null))).doesNotThrowAnyException();
    }

    @Test
    void imagesHaveAnAllowedTypeAndSizeAndComeFromUsers() {
        String sixteen = Base64.getEncoder().encodeToString(new byte[16]);
        String seventeen = Base64.getEncoder().encodeToString(new byte[17]);

        assertThatCode(() -> rules.check(request(List.of(ChatMessage.user(List.of(ContentPart.text("x"),
                ContentPart.imageBase64("image/png", sixteen))))))).doesNotThrowAnyException();
        ParleyException large = refused(request(List.of(ChatMessage.user(List.of(ContentPart.text("x"),
                ContentPart.imageBase64("image/png", seventeen))))));
        ParleyException type = refused(request(List.of(ChatMessage.user(List.of(
                ContentPart.imageBase64("image/svg+xml", sixteen))))));
        ParleyException notBase64 = refused(request(List.of(ChatMessage.user(List.of(
                ContentPart.imageBase64("image/png", "!!!!"))))));
        ParleyException scheme = refused(request(List.of(ChatMessage.user(List.of(
                ContentPart.imageUrl("file:///etc/passwd", null))))));

        assertThat(large.code()).isEqualTo(ErrorCode.TOO_LARGE);
        assertThat(large.param()).hasValue("messages[0].content[1]");
        assertThat(type.param()).hasValue("messages[0].content[0]");
        assertThat(type.getMessage()).contains("image/svg+xml");
        assertThat(notBase64.getMessage()).contains("base64");
        assertThat(scheme.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
    }

    @Test
    void base64SizeIsComputedWithoutDecoding() {
        for (int n = 1; n < 8; n++) {
            assertThat(ChatRequestRules.decodedLength(Base64.getEncoder().encodeToString(new byte[n]))).isEqualTo(n);
        }
        assertThat(ChatRequestRules.decodedLength("abc")).isEqualTo(-1);
        assertThat(ChatRequestRules.decodedLength("a=bc")).isEqualTo(-1);
        assertThat(ChatRequestRules.decodedLength("")).isEqualTo(-1);
    }

    @Test
    void aJsonSchemaFormatHasAnObjectSchemaAndAPlainName() {
        List<ChatMessage> hi = List.of(ChatMessage.user("hi"));

        assertThat(refused(request(hi, List.of(), null, ResponseFormat.jsonSchema("x", "\"string\"", false))).param())
                .hasValue("response_format.json_schema.schema");
        assertThat(refused(request(hi, List.of(), null, ResponseFormat.jsonSchema("a b", "{}", false))).param())
                .hasValue("response_format.json_schema.name");
        assertThatCode(() -> rules.check(request(hi, List.of(), null, ResponseFormat.jsonSchema("ok", "{}", true))))
                .doesNotThrowAnyException();
    }

    @Test
    void whatAModelDeclaresItLacksIsRefusedAndUndeclaredModelsGetEverything() {
        ModelDescriptor textOnlyTools = new ModelDescriptor("t", "p", null, 1000, 100, Set.of(ModelCapability.TOOLS));
        ModelDescriptor undeclared = new ModelDescriptor("u", "p", null, 1000, 100);
        ChatRequest image = request(List.of(ChatMessage.user(List.of(ContentPart.imageUrl("https://x/y.png", null)))));
        ChatRequest json = request(List.of(ChatMessage.user("x")), List.of(), null, ResponseFormat.JSON_OBJECT);

        ParleyException noVision = catchThrowableOfType(ParleyException.class, () -> rules.check(image, textOnlyTools));
        ParleyException noJson = catchThrowableOfType(ParleyException.class, () -> rules.check(json, textOnlyTools));

        assertThat(noVision.param()).hasValue("messages[0].content");
        assertThat(noVision.getMessage()).contains("does not accept images");
        assertThat(noJson.param()).hasValue("response_format");
        assertThatCode(() -> rules.check(image, undeclared)).doesNotThrowAnyException();
        assertThatCode(() -> rules.check(request(List.of(ChatMessage.user("x")), List.of(WEATHER), null, null),
                textOnlyTools)).doesNotThrowAnyException();
    }
}
