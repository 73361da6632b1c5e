package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tool calls streamed piece by piece and the answering model, as each API's clients get them over real HTTP: the
 * exact frames, the pieces joined per call equal to the whole calls, and nothing sent twice.
 */
class StreamedToolCallsApiTest {
    private static final String ASK = "\"messages\":[{\"role\":\"user\",\"content\":\"weather and time?\"}]";
    private static final List<ToolCall> WHOLE = List.of(new ToolCall("call_a", "weather", "{\"city\":\"Oslo\"}"),
            new ToolCall("call_b", "time", "{\"tz\":\"CET\"}"));

    private final ScriptedChatService chat = new ScriptedChatService();
    private RestServer server;

    @BeforeEach
    void start() {
        server = new RestServer(chat, new StubHealthChecks());
        chat.answeringModel = "answering-model";
    }

    @AfterEach
    void stop() {
        server.close();
        chat.close();
    }

    private static ToolCallDelta first(int index, String id, String name, String args) {
        return new ToolCallDelta(index, id, name, args);
    }

    private static ToolCallDelta more(int index, String args) {
        return new ToolCallDelta(index, null, null, args);
    }

    /** Two calls one after the other between text, arguments split inside a key, a string and after a colon. */
    private void sequentialPieces() {
        chat.pieces = List.of("Let me ", first(0, "call_a", "weather", ""), more(0, "{\"ci"), more(0, "ty\":\"Os"),
                more(0, "lo\"}"), first(1, "call_b", "time", "{\"tz\":"), more(1, "\"CET\"}"), "Done.");
        chat.toolCalls = WHOLE;
    }

    private List<SseReader.Event> stream(String path, String body) throws Exception {
        HttpResponse<InputStream> r = server.client.send(server.request(path).header("Content-Type", "application/json")
                .header("Accept", "text/event-stream").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        List<SseReader.Event> events = new ArrayList<>();
        try (SseReader sse = new SseReader(r.body())) {
            for (SseReader.Event e = sse.next(); e != null; e = sse.next()) {
                events.add(e);
            }
        }
        return events;
    }

    private JsonNode json(SseReader.Event e) {
        try {
            return server.json.readTree(e.data());
        } catch (java.io.IOException x) {
            throw new java.io.UncheckedIOException(x);
        }
    }

    // ---- /v1/chat/completions ------------------------------------------------------------------------------------

    private List<JsonNode> chunks(String body) throws Exception {
        return stream("v1/chat/completions", body).stream().filter(e -> !e.data().equals("[DONE]")).map(this::json)
                .toList();
    }

    /** One line per chunk: what its delta holds. */
    private static String describe(JsonNode chunk) {
        JsonNode delta = chunk.at("/choices/0/delta");
        if (delta.has("role")) {
            return "role";
        }
        if (delta.has("content")) {
            return "text " + delta.get("content").asText();
        }
        if (delta.has("tool_calls")) {
            assertThat(delta.get("tool_calls")).hasSize(1);
            JsonNode c = delta.get("tool_calls").get(0);
            return "tool " + c.get("index").asInt() + (c.has("id") ? " id=" + c.get("id").asText() : "")
                    + (c.has("type") ? " type=" + c.get("type").asText() : "")
                    + (c.get("function").has("name") ? " name=" + c.at("/function/name").asText() : "")
                    + " args=" + c.at("/function/arguments").asText();
        }
        if (chunk.has("usage")) {
            return "usage";
        }
        return "finish " + chunk.at("/choices/0/finish_reason").asText();
    }

    /** The calls as a client joins them: per index, the id and name of the first chunk and all argument pieces. */
    private static List<ToolCall> joined(List<JsonNode> chunks) {
        Map<Integer, String[]> calls = new LinkedHashMap<>();
        for (JsonNode chunk : chunks) {
            for (JsonNode c : chunk.at("/choices/0/delta/tool_calls")) {
                String[] call = calls.computeIfAbsent(c.get("index").asInt(), i -> new String[] { null, null, "" });
                if (c.has("id")) {
                    assertThat(call[0]).as("a call's id is sent once").isNull();
                    call[0] = c.get("id").asText();
                    call[1] = c.at("/function/name").asText();
                }
                call[2] += c.at("/function/arguments").asText();
            }
        }
        return calls.values().stream().map(c -> new ToolCall(c[0], c[1], c[2])).toList();
    }

    @Test
    void chatCompletionChunksCarryToolCallPiecesInterleavedWithTextAsOpenAiStreamsThem() throws Exception {
        // OpenAI's chunks may interleave the pieces of parallel calls: each carries its index.
        chat.pieces = List.of("Let me ", first(0, "call_a", "weather", ""), more(0, "{\"ci"), "check ",
                more(0, "ty\":\"Os"), first(1, "call_b", "time", "{\"tz\":"), more(0, "lo\"}"), more(1, "\"CET\"}"));
        chat.toolCalls = WHOLE;

        List<JsonNode> chunks = chunks("{\"model\":\"test-model\",\"stream\":true,\"stream_options\":{\"include_usage\":true}," + ASK + "}");

        assertThat(chunks).extracting(StreamedToolCallsApiTest::describe).containsExactly(
                "role",
                "text Let me ",
                "tool 0 id=call_a type=function name=weather args=",
                "tool 0 args={\"ci",
                "text check ",
                "tool 0 args=ty\":\"Os",
                "tool 1 id=call_b type=function name=time args={\"tz\":",
                "tool 0 args=lo\"}",
                "tool 1 args=\"CET\"}",
                "finish tool_calls",
                "usage");
        assertThat(joined(chunks)).isEqualTo(WHOLE);
        // The opening chunk goes out before core knows who answers; every later one names the answering model.
        assertThat(chunks.get(0).get("model").asText()).isEqualTo(ScriptedChatService.DEFAULT_MODEL);
        assertThat(chunks.subList(1, chunks.size() - 1)).allSatisfy(
                c -> assertThat(c.get("model").asText()).isEqualTo("answering-model"));
    }

    @Test
    void callsAProviderDidNotStreamInPiecesComeWholeAtTheEndAndStreamedOnesAreNotRepeated() throws Exception {
        chat.pieces = List.of(first(0, "call_a", "weather", "{\"city\":\"Oslo\"}"));
        chat.toolCalls = WHOLE;

        List<JsonNode> chunks = chunks("{\"model\":\"test-model\",\"stream\":true," + ASK + "}");

        assertThat(chunks).extracting(StreamedToolCallsApiTest::describe).containsExactly(
                "role",
                "tool 0 id=call_a type=function name=weather args={\"city\":\"Oslo\"}",
                "tool 1 id=call_b type=function name=time args=",
                "tool 1 args={\"tz\":\"CET\"}",
                "finish tool_calls");
        assertThat(joined(chunks)).isEqualTo(WHOLE);
    }

    @Test
    void aPieceForACallThatNeverStartedIsNotRendered() throws Exception {
        // Core ends such an answer as a protocol error; the edge does not render what it could not have passed.
        chat.pieces = List.of(more(0, "{\"x\":1}"), first(1, "call_b", "time", "{}"), "ok");
        chat.toolCalls = List.of();

        List<JsonNode> chunks = chunks("{\"model\":\"test-model\",\"stream\":true," + ASK + "}");

        assertThat(chunks).extracting(StreamedToolCallsApiTest::describe).containsExactly("role", "text ok",
                "finish stop");
    }

    // ---- /v1/responses ----------------------------------------------------------------------------------------------

    /** One line per event: its type and what identifies it. */
    private static String describeResponseEvent(JsonNode e) {
        String type = e.get("type").asText();
        return switch (type) {
            case "response.output_item.added", "response.output_item.done" -> type + " " + e.get("output_index").asInt()
                    + " " + e.at("/item/type").asText()
                    + (e.at("/item/type").asText().equals("function_call") ? " " + e.at("/item/call_id").asText() + " "
                            + e.at("/item/name").asText() + " " + e.at("/item/arguments").asText() : "");
            case "response.function_call_arguments.delta" -> type + " " + e.get("output_index").asInt() + " "
                    + e.get("delta").asText();
            case "response.function_call_arguments.done" -> type + " " + e.get("output_index").asInt() + " "
                    + e.get("arguments").asText();
            case "response.output_text.delta" -> type + " " + e.get("delta").asText();
            default -> type;
        };
    }

    @Test
    void responsesStreamFunctionCallItemsAsTheResponsesApiDocumentsThem() throws Exception {
        sequentialPieces();

        List<JsonNode> events = stream("v1/responses", "{\"model\":\"test-model\",\"stream\":true,\"input\":\"weather and time?\"}").stream()
                .map(this::json).toList();

        assertThat(events).extracting(StreamedToolCallsApiTest::describeResponseEvent).containsExactly(
                "response.created",
                "response.in_progress",
                "response.output_item.added 0 message",
                "response.content_part.added",
                "response.output_text.delta Let me ",
                "response.output_item.added 1 function_call call_a weather ",
                "response.function_call_arguments.delta 1 {\"ci",
                "response.function_call_arguments.delta 1 ty\":\"Os",
                "response.function_call_arguments.delta 1 lo\"}",
                "response.function_call_arguments.done 1 {\"city\":\"Oslo\"}",
                "response.output_item.done 1 function_call call_a weather {\"city\":\"Oslo\"}",
                "response.output_item.added 2 function_call call_b time ",
                "response.function_call_arguments.delta 2 {\"tz\":",
                "response.function_call_arguments.delta 2 \"CET\"}",
                "response.output_text.delta Done.",
                "response.function_call_arguments.done 2 {\"tz\":\"CET\"}",
                "response.output_item.done 2 function_call call_b time {\"tz\":\"CET\"}",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done 0 message",
                "response.completed");
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).get("sequence_number").asInt()).isEqualTo(i);
        }
        // Item ids: the same item from added to done, one per call.
        assertThat(events.get(6).get("item_id").asText()).isEqualTo(events.get(5).at("/item/id").asText())
                .isEqualTo(events.get(10).at("/item/id").asText()).isNotEqualTo(events.get(11).at("/item/id").asText());
        JsonNode completed = events.get(events.size() - 1).get("response");
        assertThat(completed.get("model").asText()).isEqualTo(ScriptedChatService.DEFAULT_MODEL);
        assertThat(completed.get("output")).extracting(o -> o.get("type").asText() + " " + o.path("call_id").asText()
                + " " + o.path("arguments").asText()).containsExactly("message  ",
                        "function_call call_a {\"city\":\"Oslo\"}", "function_call call_b {\"tz\":\"CET\"}");
        assertThat(completed.at("/output/1/id").asText()).isEqualTo(events.get(5).at("/item/id").asText());
    }

    @Test
    void aResponsesStreamNamesTheAnsweringModelOnceKnown() throws Exception {
        chat.tokens = List.of("Hi");
        chat.failAfterTokens = new dev.parley.api.error.ParleyException(dev.parley.api.error.ErrorCode.OVERLOADED,
                "busy");

        List<JsonNode> events = stream("v1/responses", "{\"model\":\"test-model\",\"stream\":true,\"input\":\"hi\"}").stream().map(this::json)
                .toList();

        assertThat(events.get(0).at("/response/model").asText()).isEqualTo(ScriptedChatService.DEFAULT_MODEL);
        JsonNode failed = events.get(events.size() - 1);
        assertThat(failed.get("type").asText()).isEqualTo("response.failed");
        assertThat(failed.at("/response/model").asText()).isEqualTo("answering-model");
    }

    @Test
    void aPieceOfADoneFunctionCallItemEndsTheResponseWithAnError() throws Exception {
        chat.pieces = List.of(first(0, "call_a", "weather", "{"), first(1, "call_b", "time", "{}"), more(0, "}"),
                "never");

        List<JsonNode> events = stream("v1/responses", "{\"model\":\"test-model\",\"stream\":true,\"input\":\"x\"}").stream().map(this::json)
                .toList();

        JsonNode last = events.get(events.size() - 1);
        assertThat(last.get("type").asText()).isEqualTo("response.failed");
        assertThat(last.at("/response/error/code").asText()).isEqualTo("upstream_protocol");
        assertThat(events).extracting(e -> e.get("type").asText()).doesNotContain("response.output_text.delta");
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.cancels.get() == 1);
    }

    // ---- /v1/messages -----------------------------------------------------------------------------------------------

    /** One line per event: its type, block index and what it carries. */
    private static String describeMessageEvent(SseReader.Event event, JsonNode e) {
        String name = event.name();
        return switch (name) {
            case "content_block_start" -> name + " " + e.get("index").asInt() + " " + e.at("/content_block/type").asText()
                    + (e.at("/content_block/type").asText().equals("tool_use") ? " " + e.at("/content_block/id").asText()
                            + " " + e.at("/content_block/name").asText() + " " + e.at("/content_block/input") : "");
            case "content_block_delta" -> name + " " + e.get("index").asInt() + " " + e.at("/delta/type").asText() + " "
                    + (e.at("/delta/type").asText().equals("text_delta") ? e.at("/delta/text").asText()
                            : e.at("/delta/partial_json").asText());
            case "content_block_stop" -> name + " " + e.get("index").asInt();
            case "message_delta" -> name + " " + e.at("/delta/stop_reason").asText();
            case "message_start" -> name + " " + e.at("/message/model").asText();
            default -> name;
        };
    }

    @Test
    void messagesStreamToolUseBlocksWithIncreasingIndexesAsAnthropicDoes() throws Exception {
        sequentialPieces();

        List<SseReader.Event> raw = stream("v1/messages", "{\"model\":\"test-model\",\"max_tokens\":100,\"stream\":true,"
                + ASK + "}");

        assertThat(raw).extracting(e -> describeMessageEvent(e, json(e))).containsExactly(
                "message_start test-model",
                "ping",
                "content_block_start 0 text",
                "content_block_delta 0 text_delta Let me ",
                "content_block_stop 0",
                "content_block_start 1 tool_use call_a weather {}",
                "content_block_delta 1 input_json_delta {\"ci",
                "content_block_delta 1 input_json_delta ty\":\"Os",
                "content_block_delta 1 input_json_delta lo\"}",
                "content_block_stop 1",
                "content_block_start 2 tool_use call_b time {}",
                "content_block_delta 2 input_json_delta {\"tz\":",
                "content_block_delta 2 input_json_delta \"CET\"}",
                "content_block_stop 2",
                "content_block_start 3 text",
                "content_block_delta 3 text_delta Done.",
                "content_block_stop 3",
                "message_delta tool_use",
                "message_stop");
    }

    @Test
    void messagesStreamCallsNotStreamedInPiecesAsWholeBlocksAfterTheStreamedOnes() throws Exception {
        chat.pieces = List.of("Hm", first(0, "call_a", "weather", "{\"city\":\"Oslo\"}"));
        chat.toolCalls = WHOLE;

        List<SseReader.Event> raw = stream("v1/messages", "{\"model\":\"test-model\",\"max_tokens\":100,\"stream\":true,"
                + ASK + "}");

        assertThat(raw).extracting(e -> describeMessageEvent(e, json(e))).containsExactly(
                "message_start test-model",
                "ping",
                "content_block_start 0 text",
                "content_block_delta 0 text_delta Hm",
                "content_block_stop 0",
                "content_block_start 1 tool_use call_a weather {}",
                "content_block_delta 1 input_json_delta {\"city\":\"Oslo\"}",
                "content_block_stop 1",
                "content_block_start 2 tool_use call_b time {}",
                "content_block_delta 2 input_json_delta {\"tz\":\"CET\"}",
                "content_block_stop 2",
                "message_delta tool_use",
                "message_stop");
    }

    @Test
    void aPieceOfAStoppedToolUseBlockEndsTheMessageWithAnError() throws Exception {
        chat.pieces = List.of(first(0, "call_a", "weather", "{"), first(1, "call_b", "time", "{}"), more(0, "}"),
                "never");

        List<SseReader.Event> raw = stream("v1/messages", "{\"model\":\"test-model\",\"max_tokens\":100,\"stream\":true,"
                + ASK + "}");

        SseReader.Event last = raw.get(raw.size() - 1);
        assertThat(last.name()).isEqualTo("error");
        assertThat(json(last).at("/error/type").asText()).isEqualTo("api_error");
        assertThat(json(last).at("/error/message").asText()).contains("tool call 0");
        assertThat(raw).extracting(SseReader.Event::name).doesNotContain("message_stop");
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.cancels.get() == 1);
    }

    // ---- native turn SSE ------------------------------------------------------------------------------------------

    @Test
    void aTurnStreamNamesTheAnsweringModelAndCarriesToolCallPieces() throws Exception {
        sequentialPieces();
        String conversation = server.parse(server.postJson("api/v1/conversations", "{}")).get("id").asText();

        List<SseReader.Event> raw = stream("api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"weather and time?\"}");

        assertThat(raw).extracting(e -> e.name().equals("accepted") || e.name().equals("done") ? e.name()
                : e.name() + " " + e.data()).containsExactly(
                "accepted",
                "answering {\"provider\":\"scripted\",\"model\":\"answering-model\"}",
                "token {\"delta\":\"Let me \"}",
                "tool_call {\"index\":0,\"callId\":\"call_a\",\"name\":\"weather\",\"argumentsDelta\":\"\"}",
                "tool_call {\"index\":0,\"argumentsDelta\":\"{\\\"ci\"}",
                "tool_call {\"index\":0,\"argumentsDelta\":\"ty\\\":\\\"Os\"}",
                "tool_call {\"index\":0,\"argumentsDelta\":\"lo\\\"}\"}",
                "tool_call {\"index\":1,\"callId\":\"call_b\",\"name\":\"time\",\"argumentsDelta\":\"{\\\"tz\\\":\"}",
                "tool_call {\"index\":1,\"argumentsDelta\":\"\\\"CET\\\"}\"}",
                "token {\"delta\":\"Done.\"}",
                "done");
    }
}
