package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.NotFoundException;
import com.anthropic.errors.PermissionDeniedException;
import com.anthropic.errors.RateLimitException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.testsupport.FakeOpenAiServer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Anthropic-compatible Messages API on the exported server, run as a process and driven by the official Anthropic
 * Java SDK, with an OpenAI-compatible model server (a local fake speaking that wire protocol) answering behind it: the
 * SDK talks Anthropic's protocol to Parley, Parley talks OpenAI's to the upstream.
 */
class AnthropicMessagesIT {
    @TempDir
    static Path temp;
    static FakeOpenAiServer upstream;
    static ParleyProcess parley;
    /** An API key as a program holds it: made through the keys API, scoped to chat. */
    static String key;

    @BeforeAll
    static void start() throws Exception {
        upstream = FakeOpenAiServer.start("sk-upstream");
        parley = ParleyProcess.start(temp.resolve("data"), Map.of(
                "OPENAI_API_KEY", "sk-upstream",
                "OPENAI_BASE_URL", upstream.baseUrl(),
                "OPENAI_MODELS", "fake-model"));
        key = parley.newApiKey("anthropic-sdk", "chat", "models:read");
    }

    @AfterAll
    static void stop() throws Exception {
        if (parley != null) {
            parley.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    static AnthropicClient sdk() {
        return sdk(key);
    }

    static AnthropicClient sdk(String apiKey) {
        return AnthropicOkHttpClient.builder().baseUrl(parley.uri("").toString()).apiKey(apiKey).maxRetries(0).build();
    }

    static MessageCreateParams.Builder ask(String text) {
        return MessageCreateParams.builder().model("fake-model").maxTokens(256L).system("Be brief.").addUserMessage(text);
    }

    @Test
    void theSdkSendsItsKeyAsXApiKeyAndAWrongOrNarrowKeyIsRefusedInAnthropicsShape() throws Exception {
        assertThat(sdk().messages().create(ask("Hello").build()).content()).isNotEmpty();
        assertThatThrownBy(() -> sdk("pk-parley-not-a-real-key").messages().create(ask("Hello").build()))
                .isInstanceOfSatisfying(UnauthorizedException.class, e -> assertThat(e.getMessage())
                        .doesNotContain("pk-parley-not-a-real-key"));
        String modelsOnly = parley.newApiKey("anthropic-models-only", "models:read");
        assertThatThrownBy(() -> sdk(modelsOnly).messages().create(ask("Hello").build()))
                .isInstanceOf(PermissionDeniedException.class).hasMessageContaining("'chat'");
    }

    @Test
    void theOfficialAnthropicSdkGetsAMessage() {
        Message message = sdk().messages().create(ask("what is parley").build());

        assertThat(message.content()).hasSize(1);
        assertThat(message.content().get(0).text()).hasValueSatisfying(
                t -> assertThat(t.text()).contains("echo: what is parley"));
        assertThat(message.stopReason()).contains(StopReason.END_TURN);
        assertThat(message.usage().outputTokens()).isPositive();
        assertThat(message.usage().inputTokens()).isPositive();
        // Asked for no stream, so neither did Parley; the system prompt went first.
        JsonNode sent = lastUpstreamRequest();
        assertThat(sent.path("stream").asBoolean()).isFalse();
        assertThat(sent.path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(sent.path("max_tokens").asInt(sent.path("max_completion_tokens").asInt())).isEqualTo(256);
    }

    @Test
    void theOfficialAnthropicSdkStreamsAMessage() {
        MessageAccumulator accumulator = MessageAccumulator.create();
        int deltas = 0;
        try (var stream = sdk().messages().createStreaming(ask("stream me three words").build())) {
            for (RawMessageStreamEvent event : (Iterable<RawMessageStreamEvent>) stream.stream()::iterator) {
                accumulator.accumulate(event);
                if (event.isContentBlockDelta()) {
                    deltas++;
                }
            }
        }
        Message message = accumulator.message();
        assertThat(deltas).isGreaterThan(3);
        assertThat(message.content()).singleElement().satisfies(
                b -> assertThat(b.text().orElseThrow().text()).isEqualTo("echo: stream me three words"));
        assertThat(message.stopReason()).contains(StopReason.END_TURN);
        assertThat(message.usage().outputTokens()).isPositive();
        assertThat(lastUpstreamRequest().path("stream").asBoolean()).isTrue();
    }

    @Test
    void toolsGoUpstreamAndToolCallsComeBackAsToolUseBlocksAndResultsGoBackUp() {
        upstream.toolCall("call_7", "get_weather", "{\"city\":\"Paris\"}");
        Tool weather = Tool.builder().name("get_weather").description("Weather in a city")
                .inputSchema(Tool.InputSchema.builder()
                        .properties(JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .required(List.of("city")).build())
                .build();
        MessageCreateParams first = ask("weather in Paris?").addTool(weather).build();
        Message answer = sdk().messages().create(first);

        assertThat(answer.stopReason()).contains(StopReason.TOOL_USE);
        ToolUseBlock call = answer.content().stream().filter(ContentBlock::isToolUse).map(ContentBlock::asToolUse)
                .findFirst().orElseThrow();
        assertThat(call.id()).isEqualTo("call_7");
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(call._input().toString()).contains("Paris");
        JsonNode sent = lastUpstreamRequest();
        assertThat(sent.path("tools").get(0).path("function").path("name").asText()).isEqualTo("get_weather");

        // The tool's result goes back as a tool message answering call_7.
        MessageCreateParams second = ask("weather in Paris?").addTool(weather)
                .addMessage(answer)
                .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(ToolResultBlockParam.builder()
                        .toolUseId("call_7").content("18 degrees and sunny").build())))
                .build();
        Message done = sdk().messages().create(second);
        assertThat(done.content().get(0).text()).isPresent();
        JsonNode followUp = lastUpstreamRequest();
        JsonNode messages = followUp.path("messages");
        JsonNode toolMessage = messages.get(messages.size() - 1);
        assertThat(toolMessage.path("role").asText()).isEqualTo("tool");
        assertThat(toolMessage.path("tool_call_id").asText()).isEqualTo("call_7");
        assertThat(toolMessage.path("content").asText()).isEqualTo("18 degrees and sunny");
        assertThat(messages.get(messages.size() - 2).path("tool_calls").get(0).path("id").asText()).isEqualTo("call_7");
    }

    @Test
    void theSdkAccumulatesStreamedParallelToolUseBlocks() {
        upstream.enqueue(dev.parley.testsupport.Behaviour.toolCalls(
                new dev.parley.testsupport.Behaviour.Call("call_a", "get_weather", "{\"city\":\"Oslo\"}"),
                new dev.parley.testsupport.Behaviour.Call("call_b", "get_weather", "{\"city\":\"Bergen\"}")));
        Tool weather = Tool.builder().name("get_weather").description("Weather in a city")
                .inputSchema(Tool.InputSchema.builder()
                        .properties(JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .required(List.of("city")).build())
                .build();
        MessageAccumulator accumulator = MessageAccumulator.create();
        List<Long> blockStarts = new java.util.ArrayList<>();
        try (var stream = sdk().messages().createStreaming(ask("streamed weather in Oslo and Bergen?").addTool(weather)
                .build())) {
            for (RawMessageStreamEvent event : (Iterable<RawMessageStreamEvent>) stream.stream()::iterator) {
                accumulator.accumulate(event);
                event.contentBlockStart().ifPresent(start -> blockStarts.add(start.index()));
            }
        }

        Message message = accumulator.message();
        assertThat(message.stopReason()).contains(StopReason.TOOL_USE);
        List<ToolUseBlock> calls = message.content().stream().filter(ContentBlock::isToolUse)
                .map(ContentBlock::asToolUse).toList();
        assertThat(calls).extracting(ToolUseBlock::id).containsExactly("call_a", "call_b");
        assertThat(calls).extracting(ToolUseBlock::name).containsOnly("get_weather");
        // The accumulator parsed each block's joined input_json_delta pieces.
        assertThat(calls.get(0)._input().convert(Map.class)).isEqualTo(Map.of("city", "Oslo"));
        assertThat(calls.get(1)._input().convert(Map.class)).isEqualTo(Map.of("city", "Bergen"));
        // Each block started once, indexed in the order they started.
        assertThat(blockStarts).doesNotHaveDuplicates().isSorted().startsWith(0L);
        assertThat(blockStarts).hasSize(message.content().size());
    }

    @Test
    void countsTokensWithoutAskingTheModel() {
        int before = upstream.chatRequests().size();
        long tokens = sdk().messages().countTokens(MessageCountTokensParams.builder().model("fake-model")
                .addUserMessage("how many tokens is this sentence?").build()).inputTokens();
        assertThat(tokens).isBetween(3L, 40L);
        assertThat(upstream.chatRequests()).hasSize(before);
    }

    @Test
    void theSdkSeesParleysErrorsAsAnthropicWouldReportThem() {
        upstream.rateLimit(7);
        assertThatThrownBy(() -> sdk().messages().create(ask("hi").build()))
                .isInstanceOfSatisfying(RateLimitException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(429);
                    assertThat(e.headers().values("Retry-After")).containsExactly("7");
                });
        assertThatThrownBy(() -> sdk().messages().create(ask("hi").model("no-such-model").build()))
                .isInstanceOf(NotFoundException.class);
        // A tool result that answers no tool call: refused before any model is asked.
        int before = upstream.chatRequests().size();
        assertThatThrownBy(() -> sdk().messages().create(ask("hi").addUserMessageOfContentBlockParams(List.of(
                ContentBlockParam.ofToolResult(ToolResultBlockParam.builder().toolUseId("toolu_nope").content("x")
                        .build()))).build()))
                .isInstanceOfSatisfying(BadRequestException.class,
                        e -> assertThat(e.getMessage()).contains("toolu_nope"));
        assertThat(upstream.chatRequests()).hasSize(before);
    }

    static JsonNode lastUpstreamRequest() {
        return upstream.lastChatRequest().body();
    }
}
